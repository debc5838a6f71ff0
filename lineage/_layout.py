"""Drawing the lineage graph: a layered layout, SVG, Graphviz DOT and plain text.

Everything here is pure Python; no Graphviz binary is needed (:func:`to_dot` only writes the
text Graphviz reads). The layout is layered (Sugiyama-style), left to right, and deterministic:
ties are broken by node id, never by hash order, so the same events give the same bytes.

1. **Cycle breaking.** A depth-first search from the nodes in sorted order; every edge that
   points back to a node on the search stack is reversed for the layout (and drawn the
   original way round).
2. **Layering.** Longest path from the sources, so every edge points to a later layer; then
   each source moves right to sit just before its nearest successor (shorter edges).
3. **Long edges** are split by dummy nodes, one per layer they cross.
4. **Ordering.** Barycentre sweeps, down and up the layers; the ordering with the fewest
   crossings seen is kept.
5. **Coordinates.** Layer ``i`` at ``x = i * column``; within a layer nodes ``row`` apart,
   each layer centred on the tallest.

References
----------
K. Sugiyama, S. Tagawa and M. Toda, "Methods for visual understanding of hierarchical system
structures", IEEE Trans. SMC 11(2), 1981.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from lineage._graph import UNVERSIONED, DatasetNode, JobNode, LineageGraph

__all__ = ["Layout", "format_text", "layered_layout", "layering", "to_dot", "to_svg"]

#: Dummy node ids start with a NUL character, which no node id from an event contains.
DUMMY = "\0"
_Pair = tuple[str, str]


@dataclass(frozen=True)
class Layout:
    """Where each node sits, and the chain of nodes each edge passes through.

    Attributes
    ----------
    layers : tuple of tuple of str
        Node ids per layer, in drawing order; dummy ids start with ``DUMMY``.
    positions : mapping of str to (float, float)
        Centre of every node, dummies included.
    chains : mapping of (str, str) to tuple of str
        For each edge ``(source, target)``: the nodes it passes through, from source to
        target (dummies in between).
    width, height : float
        The extent of the centres (add the node size and a margin to draw).
    """

    layers: tuple[tuple[str, ...], ...]
    positions: Mapping[str, tuple[float, float]]
    chains: Mapping[tuple[str, str], tuple[str, ...]]
    width: float
    height: float


def _clean(nodes: Iterable[str], edges: Iterable[_Pair]) -> tuple[list[str], list[_Pair]]:
    known = sorted(set(nodes))
    names = set(known)
    kept = sorted({(s, t) for s, t in edges if s != t and s in names and t in names})
    return known, kept


def _back_edges(nodes: list[str], edges: list[_Pair]) -> set[_Pair]:
    """Edges that close a cycle, found by an iterative depth-first search in sorted order."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for s, t in edges:
        succ[s].append(t)
    state = dict.fromkeys(nodes, 0)  # 0 new, 1 on the stack, 2 done
    back: set[_Pair] = set()
    for root in nodes:
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if state[child] == 1:
                    back.add((node, child))
                elif state[child] == 0:
                    state[child] = 1
                    stack.append((child, iter(succ[child])))
                    break
            else:
                state[node] = 2
                stack.pop()
    return back


def layering(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """The layer of each node: every edge goes to a later layer, cycles broken first.

    Parameters
    ----------
    nodes : iterable of str
        Node ids.
    edges : iterable of (str, str)
        ``(source, target)`` pairs; self-loops and edges to unknown nodes are ignored.

    Returns
    -------
    dict of str to int
        Layer numbers from 0, in topological order of the (cycle-broken) graph.

    Examples
    --------
    >>> layering(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "a")])
    {'a': 0, 'b': 1, 'c': 2}
    >>> layering(["x", "y", "z"], [("x", "z"), ("y", "z")])
    {'x': 0, 'y': 0, 'z': 1}
    """
    known, kept = _clean(nodes, edges)
    back = _back_edges(known, kept)
    dag = sorted((t, s) if (s, t) in back else (s, t) for s, t in kept)
    preds: dict[str, list[str]] = {n: [] for n in known}
    succs: dict[str, list[str]] = {n: [] for n in known}
    for s, t in dag:
        preds[t].append(s)
        succs[s].append(t)
    waiting = {n: len(preds[n]) for n in known}
    ready = [n for n in known if not waiting[n]]
    heapq.heapify(ready)
    layer: dict[str, int] = {}
    while ready:
        node = heapq.heappop(ready)
        layer[node] = max((layer[p] + 1 for p in preds[node]), default=0)
        for child in succs[node]:
            waiting[child] -= 1
            if not waiting[child]:
                heapq.heappush(ready, child)
    for node in known:  # sources move right, next to their nearest successor
        if not preds[node] and succs[node]:
            layer[node] = min(layer[c] for c in succs[node]) - 1
    return dict(sorted(layer.items(), key=lambda item: (item[1], item[0])))


def _crossings(upper: list[str], lower: list[str], links: list[_Pair]) -> int:
    top = {n: i for i, n in enumerate(upper)}
    bottom = {n: i for i, n in enumerate(lower)}
    pairs = sorted((top[s], bottom[t]) for s, t in links if s in top and t in bottom)
    return sum(1 for i, (a, b) in enumerate(pairs) for c, d in pairs[i + 1 :] if c > a and d < b)


def _sweep(order: list[list[str]], links: list[_Pair], downward: bool) -> None:
    neighbours: dict[str, list[str]] = {}
    for s, t in links:
        a, b = (t, s) if downward else (s, t)
        neighbours.setdefault(a, []).append(b)
    indices = range(1, len(order)) if downward else range(len(order) - 2, -1, -1)
    for i in indices:
        fixed = order[i - 1] if downward else order[i + 1]
        where = {n: p for p, n in enumerate(fixed)}
        current = order[i]

        def key(item: tuple[int, str], where: dict[str, int] = where) -> float:
            position, node = item
            seen = [where[n] for n in neighbours.get(node, ()) if n in where]
            return sum(seen) / len(seen) if seen else float(position)

        order[i] = [n for _, n in sorted(enumerate(current), key=key)]


def layered_layout(
    nodes: Iterable[str],
    edges: Iterable[tuple[str, str]],
    *,
    column: float = 280.0,
    row: float = 70.0,
    sweeps: int = 4,
) -> Layout:
    """Lay a directed graph out in layers, left to right.

    Parameters
    ----------
    nodes : iterable of str
        Node ids (must not start with NUL).
    edges : iterable of (str, str)
        ``(source, target)`` pairs; self-loops and edges to unknown nodes are ignored.
    column, row : float
        Distance between layers, and between neighbours in a layer.
    sweeps : int
        Rounds of barycentre ordering (each one down and one up).

    Returns
    -------
    Layout

    Examples
    --------
    >>> layout = layered_layout(["a", "b", "c"], [("a", "b"), ("a", "c"), ("b", "c")])
    >>> layout.positions["a"], layout.positions["c"]
    ((0.0, 35.0), (560.0, 35.0))
    >>> [len(chain) for chain in layout.chains.values()]  # a → c passes a dummy
    [2, 3, 2]
    """
    known, kept = _clean(nodes, edges)
    layer = layering(known, kept)
    back = _back_edges(known, kept)
    depth = max(layer.values(), default=-1) + 1
    order: list[list[str]] = [[] for _ in range(depth)]
    for node, i in layer.items():
        order[i].append(node)
    links: list[_Pair] = []  # edges between neighbouring layers, dummies included
    chains: dict[_Pair, tuple[str, ...]] = {}
    for number, (s, t) in enumerate(kept):
        a, b = (t, s) if (s, t) in back else (s, t)
        chain = [a]
        for i in range(layer[a] + 1, layer[b]):
            dummy = f"{DUMMY}{number}:{i}"
            order[i].append(dummy)
            chain.append(dummy)
        chain.append(b)
        links += itertools.pairwise(chain)
        chains[(s, t)] = tuple(chain if (s, t) not in back else reversed(chain))

    def total(candidate: list[list[str]]) -> int:
        return sum(_crossings(u, v, links) for u, v in itertools.pairwise(candidate))

    best, fewest = [list(layer_) for layer_ in order], total(order)
    for _ in range(sweeps):
        for downward in (True, False):
            _sweep(order, links, downward)
            count = total(order)
            if count < fewest:
                best, fewest = [list(layer_) for layer_ in order], count
    tallest = max((len(layer_) for layer_ in best), default=0)
    positions: dict[str, tuple[float, float]] = {}
    for i, layer_ in enumerate(best):
        offset = (tallest - len(layer_)) * row / 2
        for j, node in enumerate(layer_):
            positions[node] = (i * column, offset + j * row)
    return Layout(
        layers=tuple(tuple(layer_) for layer_ in best),
        positions=positions,
        chains=chains,
        width=max(depth - 1, 0) * column,
        height=max(tallest - 1, 0) * row,
    )


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

#: Characters XML 1.0 cannot carry at all, not even as a character reference.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f\ud800-\udfff]")
_NODE_W, _NODE_H, _MARGIN, _LABEL_CHARS = 200.0, 44.0, 24.0, 24
_STROKE = {"COMPLETE": "#1a73e8", "FAIL": "#c5221f", "ABORT": "#c5221f"}


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_version(version: str) -> str:
    if version == UNVERSIONED:
        return version
    if version.startswith("schema:"):
        return version[:15]
    return version[:12]


def _pairs(graph: LineageGraph) -> list[tuple[str, str]]:
    return [(e.source, e.target) for e in graph.edges]


def _ids(graph: LineageGraph) -> list[str]:
    return [n.id for n in graph.nodes]


def _dot(text: str) -> str:
    r"""A DOT quoted string: quotes and backslashes escaped, line breaks as ``\n``."""
    text = _CONTROL.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def to_dot(graph: LineageGraph) -> str:
    r"""The graph in Graphviz DOT, left to right: jobs as boxes, datasets as cylinders.

    Node ids are the Marquez ids; every id, label and tooltip is a quoted, escaped string
    (``\`` and ``"`` escaped, line breaks as ``\n``), so names from the events can neither end a
    string nor start an HTML label. Jobs whose latest run failed or aborted are red.

    Parameters
    ----------
    graph : LineageGraph

    Returns
    -------
    str

    Examples
    --------
    >>> from lineage._graph import Edge
    >>> job = JobNode('job:n:a"b', "n", 'a"b')
    >>> data = DatasetNode("dataset:n:<i>", "n", "<i>")
    >>> print(to_dot(LineageGraph((job,), (data,), (Edge(data.id, job.id),))))
    digraph lineage {
      rankdir=LR;
      node [fontname="Helvetica", fontsize=10];
      "job:n:a\"b" [shape=box, style=rounded, label="a\"b", tooltip="job:n:a\"b"];
      "dataset:n:<i>" [shape=cylinder, label="<i>", tooltip="dataset:n:<i>"];
      "dataset:n:<i>" -> "job:n:a\"b";
    }
    """
    lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    for job in graph.jobs:
        color = ", color=red" if job.state in ("FAIL", "ABORT") else ""
        lines.append(
            f"  {_dot(job.id)} [shape=box, style=rounded, label={_dot(job.name)}, "
            f"tooltip={_dot(job.id)}{color}];"
        )
    for ds in graph.datasets:
        lines.append(
            f"  {_dot(ds.id)} [shape=cylinder, label={_dot(ds.name)}, tooltip={_dot(ds.id)}];"
        )
    lines += [f"  {_dot(s)} -> {_dot(t)};" for s, t in _pairs(graph)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _xml(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text), {"\r": "&#13;"})


def _attr(text: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", text))


def _num(value: float) -> str:
    return f"{value:.1f}"


def _tooltip(node: JobNode | DatasetNode) -> str:
    if isinstance(node, JobNode):
        states = Counter(run.state for run in node.runs)
        detail = ", ".join(f"{n} {state}" for state, n in sorted(states.items())) or "no runs"
        parent = f"\nparent: {node.parent}" if node.parent else ""
        return f"{node.id}\n{detail}{parent}"
    return f"{node.id}\n{len(node.versions)} version(s)"


def to_svg(
    graph: LineageGraph,
    *,
    vertical: bool = False,
    font_family: str = "Helvetica, Arial, sans-serif",
) -> str:
    """The graph as a standalone SVG document, laid out by :func:`layered_layout`.

    Jobs are blue rounded boxes (red when their latest run failed or aborted, grey and dashed
    when it has not finished); datasets are yellow pills. Edges are cubic Béziers with
    arrowheads. Labels longer than 24 characters end in an ellipsis; each node's ``<title>``
    (its tooltip) holds the full id. All text is XML-escaped; characters XML cannot carry at
    all become U+FFFD. The same graph always gives the same bytes.

    Parameters
    ----------
    graph : LineageGraph
    vertical : bool, default False
        Layers top to bottom instead of left to right (a long chain of steps fits a
        portrait page).
    font_family : str
        The labels' font (a report passes the font it ships).

    Returns
    -------
    str

    Examples
    --------
    >>> import xml.etree.ElementTree as ET
    >>> graph = LineageGraph((JobNode("job:ns:a&b", "ns", "a&b"),), (), ())
    >>> root = ET.fromstring(to_svg(graph))
    >>> [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    ['a&b', 'ns']
    """
    if vertical:  # layers are rows; a layer's nodes side by side
        layout = layered_layout(_ids(graph), _pairs(graph), column=_NODE_H + 36, row=_NODE_W + 16)
        width = layout.height + _NODE_W + 2 * _MARGIN
        height = layout.width + _NODE_H + 2 * _MARGIN
    else:
        layout = layered_layout(_ids(graph), _pairs(graph))
        width = layout.width + _NODE_W + 2 * _MARGIN
        height = layout.height + _NODE_H + 2 * _MARGIN
    nodes: dict[str, JobNode | DatasetNode] = {n.id: n for n in graph.nodes}

    def at(node_id: str) -> tuple[float, float]:
        x, y = layout.positions[node_id]
        if vertical:
            x, y = y, x
        return x + _MARGIN + _NODE_W / 2, y + _MARGIN + _NODE_H / 2

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" '
        f'height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}" '
        f"font-family={_attr(font_family)}>",
        "<title>Lineage graph</title>",
        '<g class="edges" fill="none" stroke="#80868b" stroke-width="1.5">',
    ]
    for (source, target), chain in sorted(layout.chains.items()):
        path, tip, sign = "", (0.0, 0.0), 1.0
        for a, b in itertools.pairwise(chain):
            (ax, ay), (bx, by) = at(a), at(b)
            if vertical:  # from the bottom of a to the top of b
                sign = 1.0 if by > ay else -1.0
                ay += sign * (_NODE_H / 2 if a in nodes else 0.0)
                by -= sign * (_NODE_H / 2 if b in nodes else 0.0)
                mid = (ay + by) / 2
                path += "" if path else f"M{_num(ax)},{_num(ay)}"
                path += f" C{_num(ax)},{_num(mid)} {_num(bx)},{_num(mid)} {_num(bx)},{_num(by)}"
            else:
                sign = 1.0 if bx > ax else -1.0
                ax += sign * (_NODE_W / 2 if a in nodes else 0.0)
                bx -= sign * (_NODE_W / 2 if b in nodes else 0.0)
                mid = (ax + bx) / 2
                path += "" if path else f"M{_num(ax)},{_num(ay)}"
                path += f" C{_num(mid)},{_num(ay)} {_num(mid)},{_num(by)} {_num(bx)},{_num(by)}"
            tip = (bx, by)
        x, y = tip
        if vertical:
            arrow = f"{_num(x)},{_num(y)} {_num(x - 4.5)},{_num(y - sign * 9)} "
            arrow += f"{_num(x + 4.5)},{_num(y - sign * 9)}"
        else:
            arrow = f"{_num(x)},{_num(y)} {_num(x - sign * 9)},{_num(y - 4.5)} "
            arrow += f"{_num(x - sign * 9)},{_num(y + 4.5)}"
        out.append(
            f"<g data-source={_attr(source)} data-target={_attr(target)}>"
            f'<path d="{path}"/><polygon points="{arrow}" fill="#80868b"/></g>'
        )
    out.append("</g>")
    for node_id, node in sorted(nodes.items()):
        cx, cy = at(node_id)
        is_job = isinstance(node, JobNode)
        if isinstance(node, JobNode):
            style = f'fill="#e8f0fe" stroke="{_STROKE.get(node.state or "", "#80868b")}" rx="6"'
            style += "" if node.state in _STROKE else ' stroke-dasharray="4 3"'
        else:
            style = f'fill="#fef7e0" stroke="#b06000" rx="{_num(_NODE_H / 2)}"'
        out += [
            f'<g class="{"job" if is_job else "dataset"}" data-node={_attr(node_id)}>',
            f"<title>{_xml(_tooltip(node))}</title>",
            f'<rect x="{_num(cx - _NODE_W / 2)}" y="{_num(cy - _NODE_H / 2)}" '
            f'width="{_num(_NODE_W)}" height="{_num(_NODE_H)}" {style} stroke-width="1.5"/>',
            f'<text x="{_num(cx)}" y="{_num(cy - 2)}" text-anchor="middle" font-size="12" '
            f'font-weight="bold">{_xml(_short(node.name))}</text>',
            f'<text x="{_num(cx)}" y="{_num(cy + 13)}" text-anchor="middle" font-size="10" '
            f'fill="#5f6368">{_xml(_short(node.namespace, 34))}</text>',
            "</g>",
        ]
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _printable(text: str) -> str:
    """Control characters (ANSI escapes among them) shown as escapes, not sent to a terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "?"


def format_text(graph: LineageGraph) -> str:
    """A plain-text account of the graph for a terminal.

    Jobs in topological order (cycles broken as in :func:`layering`), each with the datasets
    its runs read and wrote, the versions (short digests) and every run's state and times;
    then datasets no run touched; then a summary line ``N jobs, M datasets, K runs``.
    Control characters in names are shown escaped.

    Parameters
    ----------
    graph : LineageGraph

    Returns
    -------
    str

    Examples
    --------
    >>> from lineage._graph import build_graph
    >>> events = [{"eventType": "COMPLETE", "eventTime": "2024-05-01T12:00:00+02:00",
    ...            "run": {"runId": "01a20fb5-843b-7e66-b751-3ec38af0fa8a"},
    ...            "job": {"namespace": "ns", "name": "fit"},
    ...            "inputs": [{"namespace": "file", "name": "train.csv", "facets": {
    ...                "version": {"datasetVersion": "3b1f0c9a2e7d44aa"}}}]}]
    >>> print(format_text(build_graph(events)))
    job ns:fit
      reads  file:train.csv @ 3b1f0c9a2e7d
      run 3ec38af0fa8a COMPLETE 2024-05-01 10:00:00Z → 2024-05-01 10:00:00Z
    1 jobs, 1 datasets, 1 runs
    """
    layer = layering(_ids(graph), _pairs(graph))
    lines: list[str] = []
    touched: set[str] = set()
    for job in sorted(graph.jobs, key=lambda j: (layer.get(j.id, 0), j.id)):
        head = f"job {_printable(job.namespace)}:{_printable(job.name)}"
        lines.append(head + (f"  (parent {_printable(job.parent)})" if job.parent else ""))
        for verb, place in (("reads ", "inputs"), ("writes", "outputs")):
            seen: dict[str, list[str]] = {}
            for run in job.runs:
                for ds, version in getattr(run, place):
                    versions = seen.setdefault(ds, [])
                    if version not in versions:
                        versions.append(version)
            touched |= set(seen)
            for ds, versions in sorted(seen.items()):
                shown = ", ".join(_short_version(v) for v in versions)
                lines.append(f"  {verb} {_printable(ds.removeprefix('dataset:'))} @ {shown}")
        for run in job.runs:
            # UUIDv7 ids start with the time (alike within a run): show the distinct tail.
            line = f"  run {_printable(run.run_id[-12:])} {run.state} {_when(run.started_at)}"
            line += f" → {_when(run.ended_at)}" if run.ended_at else ""
            lines.append(line + (f"  error: {_printable(run.error)}" if run.error else ""))
    lonely = [ds for ds in graph.datasets if ds.id not in touched]
    lines += [
        f"dataset {_printable(ds.namespace)}:{_printable(ds.name)} (no runs)" for ds in lonely
    ]
    n_runs = sum(len(job.runs) for job in graph.jobs)
    lines.append(f"{len(graph.jobs)} jobs, {len(graph.datasets)} datasets, {n_runs} runs")
    return "\n".join(lines)
