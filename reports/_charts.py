"""Charts for the sign-off report: forest plot, intersectional heat map, trade-off frontier.

Plain data in, a standalone SVG document out, to inline in the report's HTML (WeasyPrint
draws it). Standard library only; the same input gives the same bytes (coordinates with one
decimal, no ids, no randomness).

- **Safe.** Every text from the data is XML-escaped (characters XML cannot carry become
  U+FFFD) and nothing refers outside the drawing: no links, ``url()``, images or stylesheets.
  Hatching is drawn as lines, not as a ``<pattern>``.
- **Readable in greyscale.** Meaning is carried by shape and text as well as tone: verdicts by
  marker (pass ●, fail ✕, inconclusive ◇), small groups by a dagger, undefined cells by
  hatching and "n/a".
- **Lean.** WeasyPrint's SVG drawing time grows with the number of elements: marks that share a
  style are merged into one ``<path>``.
- **Undefined is not zero.** ``None``, NaN and infinite values are never drawn; the word
  "undefined" (and the reason, when given) stands in their place.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape

__all__ = [
    "REPORT_FONT",
    "ForestRow",
    "TradeoffPoint",
    "forest_plot",
    "heat_map",
    "nice_ticks",
    "tradeoff_chart",
]

_NS = "http://www.w3.org/2000/svg"
#: The report's own font (its @font-face family), then fallbacks for use outside a report.
REPORT_FONT = "'Fairtrail Sans', 'DejaVu Sans', sans-serif"
_FONT = REPORT_FONT
_CHAR = 0.58  # average advance of DejaVu Sans in em: text widths are estimated, not measured
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_VERDICTS = ("pass", "fail", "inconclusive")
_INK = {"pass": "#1b7837", "fail": "#b2182b", "inconclusive": "#4d4d4d"}
_SHAPE = {"pass": "disc", "fail": "cross", "inconclusive": "diamond"}
_SHADE = "#e8e8e8"
_ROW = 22.0
#: A five-pointed star of radius 1 (outer) and 0.45 (inner), first point up; rounded so that
#: the bytes do not depend on the platform's last-ulp cos/sin.
_STAR = tuple(
    (round(math.cos(a) * r, 4), round(math.sin(a) * r, 4))
    for i in range(10)
    for a, r in [(math.pi * (i / 5 - 0.5), 1.0 if i % 2 == 0 else 0.45)]
)


@dataclass(frozen=True)
class ForestRow:
    """One row of :func:`forest_plot`: a policy criterion on one attribute.

    Attributes
    ----------
    label : str
        What the row measures, e.g. ``"selection rate difference × race"``.
    value, lower, upper : float or None
        The estimate and its interval; ``None`` or NaN when undefined.
    threshold : float
        The policy's limit (finite).
    bound : {"max", "min"}
        ``"max"``: the estimate must stay at or below ``threshold`` (differences); ``"min"``:
        at or above (ratios).
    verdict : {"pass", "fail", "inconclusive"}
    note : str or None
        Why the estimate is undefined; shown in place of the mark when it is.

    Raises
    ------
    ValueError
        When ``bound`` or ``verdict`` is not one of the values above, or ``threshold`` is not
        finite.

    Examples
    --------
    >>> ForestRow("tpr diff", 0.02, 0.0, 0.05, 0.1, "max", "passed")
    Traceback (most recent call last):
    ...
    ValueError: The 'verdict' of ForestRow 'tpr diff' must be one of ['pass', ...]. Got 'passed'.
    """

    label: str
    value: float | None
    lower: float | None
    upper: float | None
    threshold: float
    bound: Literal["max", "min"]
    verdict: str
    note: str | None = None

    def __post_init__(self) -> None:
        where = f"ForestRow {self.label!r}"
        if str(self.bound) not in ("max", "min"):  # str(): callers need not be type-checked
            raise ValueError(f"The 'bound' of {where} must be 'max' or 'min'. Got {self.bound!r}.")
        if self.verdict not in _VERDICTS:
            raise ValueError(
                f"The 'verdict' of {where} must be one of {list(_VERDICTS)}. Got {self.verdict!r}."
            )
        if not math.isfinite(self.threshold):
            raise ValueError(f"The 'threshold' of {where} must be finite. Got {self.threshold!r}.")


@dataclass(frozen=True)
class TradeoffPoint:
    """One candidate of :func:`tradeoff_chart`.

    Attributes
    ----------
    name : str
    performance, performance_lower, performance_upper : float or None
        The performance estimate and its interval (y); ``None`` or NaN when undefined.
    disparity, disparity_lower, disparity_upper : float or None
        The disparity estimate and its interval (x, lower is better).
    pareto : bool
        Whether no other candidate is at least as good on both axes and better on one.
    chosen, baseline : bool
        The candidate picked by the policy; the unmitigated model.

    Examples
    --------
    >>> TradeoffPoint("base", 0.85, 0.83, 0.87, 0.17, 0.12, 0.22, baseline=True).pareto
    False
    """

    name: str
    performance: float | None
    performance_lower: float | None
    performance_upper: float | None
    disparity: float | None
    disparity_lower: float | None
    disparity_upper: float | None
    pareto: bool = False
    chosen: bool = False
    baseline: bool = False


# ---- text and numbers ---------------------------------------------------------------------


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text


def _val(value: float | None) -> float:
    """``None`` as NaN: one test, :func:`math.isfinite`, then covers every undefined value."""
    return math.nan if value is None else float(value)


def _defined(value: float | None) -> bool:
    return math.isfinite(_val(value))


def _short(text: str, pixels: float, size: float = 10) -> str:
    limit = max(int(pixels / (_CHAR * size) + 1e-6), 2)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(
    x: float, y: float, text: str, *, size: int = 10, anchor: str = "start", extra: str = ""
) -> str:
    """The one place text enters the SVG: escaped here, always."""
    attrs = "" if anchor == "start" else f' text-anchor="{anchor}"'
    attrs += "" if size == 10 else f' font-size="{size}"'
    safe = escape(_NOT_XML.sub("\ufffd", text), {"\r": "&#13;"})
    return f'<text x="{_num(x)}" y="{_num(y)}"{attrs}{extra}>{safe}</text>'


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    w, h = _num(width), _num(height)
    head = (
        f'<svg xmlns="{_NS}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family="{_FONT}" font-size="10">'
    )
    heading = _text(8, 18, title, size=12, extra=' font-weight="bold"')
    return "\n".join([head, heading, *body, "</svg>"]) + "\n"


def _no_data(title: str, width: float, details: Sequence[str] = ()) -> str:
    body = [_text(width / 2, 52, "No data", size=12, anchor="middle")]
    body += [_text(width / 2, 72 + 14 * i, line, anchor="middle") for i, line in enumerate(details)]
    return _svg(width, 84 + 14 * len(details), title, body)


# ---- axes -----------------------------------------------------------------------------------


def _step(low: float, high: float, count: int) -> tuple[int, int]:
    """The tick step ``mantissa × 10**exponent`` (mantissa 1, 2 or 5) nearest span / count."""
    raw = (high - low) / count
    exponent = math.floor(math.log10(raw))
    fraction = raw / 10.0**exponent  # in [1, 10): round on a log scale, cut at √2, √10, √50
    cuts = ((1, 2**0.5), (2, 10**0.5), (5, 50**0.5), (10, math.inf))
    mantissa = next(m for m, cut in cuts if fraction < cut)
    return (1, exponent + 1) if mantissa == 10 else (mantissa, exponent)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values within ``[low, high]``, ``step = m × 10**k`` with ``m`` in 1, 2, 5.

    The step is the such number nearest ``(high - low) / count`` on a log scale (as d3's
    ``tickStep``), so there are about ``count`` ticks. Ticks are computed as an integer
    divided by a power of ten, so ``0.3`` is the float nearest to 0.3, not ``3 * 0.1``.

    Parameters
    ----------
    low, high : float
        The axis range, finite, ``low < high``.
    count : int
        About how many intervals (at least 1).

    Returns
    -------
    list of float
        The multiples of the step in ``[low, high]``, ascending.

    Raises
    ------
    ValueError
        When the range is empty or not finite, or ``count < 1``.

    Examples
    --------
    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(-0.01, 0.21)
    [0.0, 0.05, 0.1, 0.15, 0.2]
    >>> nice_ticks(0.79, 1.26)
    [0.8, 0.9, 1.0, 1.1, 1.2]
    >>> nice_ticks(-3, 1000)
    [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]
    """
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"nice_ticks needs finite low < high. Got low={low!r}, high={high!r}.")
    if count < 1:
        raise ValueError(f"The 'count' parameter of nice_ticks must be at least 1. Got {count!r}.")
    mantissa, exponent = _step(low, high, count)
    step = mantissa * 10.0**exponent
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    scale = 10.0 ** max(exponent, 0)
    power = 10 ** max(-exponent, 0)
    return [n * mantissa * scale / power for n in range(first, last + 1)]


@dataclass(frozen=True)
class _Axis:
    """A linear map from ``[low, high]`` to the pixels ``[start, end]``, with its ticks."""

    low: float
    high: float
    start: float
    end: float
    ticks: tuple[float, ...]
    decimals: int

    def at(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)

    def label(self, value: float) -> str:
        return _fixed(value, self.decimals)


def _axis(values: Sequence[float], start: float, end: float, count: int = 5) -> _Axis:
    """The data range of ``values`` padded by 5 % on each side, mapped to ``[start, end]``."""
    low, high = min(values), max(values)
    if low == high:
        low, high = low - (abs(low) / 2 or 1.0), high + (abs(high) / 2 or 1.0)
    pad = 0.05 * (high - low)
    low, high = low - pad, high + pad
    _, exponent = _step(low, high, count)
    return _Axis(low, high, start, end, tuple(nice_ticks(low, high, count)), max(-exponent, 0))


def _axis_marks(axis: _Axis, *, vertical: bool, base: float, far: float) -> list[str]:
    """Grid lines from ``base`` to ``far``, the axis line at ``base``, tick marks and labels."""
    b, f = _num(base), _num(far)
    grid, marks, labels = "", "", []
    for value in axis.ticks:
        p = _num(axis.at(value))
        if vertical:
            grid += f"M{b} {p}H{f}"
            marks += f"M{b} {p}h-4"
            labels.append(_text(base - 6, axis.at(value) + 3.5, axis.label(value), anchor="end"))
        else:
            grid += f"M{p} {f}V{b}"
            marks += f"M{p} {b}v4"
            labels.append(_text(axis.at(value), base + 15, axis.label(value), anchor="middle"))
    s, e = _num(axis.start), _num(axis.end)
    line = f"M{b} {s}V{e}" if vertical else f"M{s} {b}H{e}"
    return [
        f'<path class="grid" d="{grid}" fill="none" stroke="#d0d0d0" stroke-width="0.5"/>',
        f'<path class="axis" d="{line}{marks}" fill="none" stroke="#333"/>',
        *labels,
    ]


# ---- marks ----------------------------------------------------------------------------------


def _marker(shape: str, x: float, y: float, r: float, ink: str) -> str:
    """A point mark: disc, ring, cross, diamond (hollow), square or star, centred on (x, y)."""
    cls = 'class="marker"'
    if shape in ("disc", "ring"):
        fill = ink if shape == "disc" else "#fff"
        return (
            f'<circle {cls} cx="{_num(x)}" cy="{_num(y)}" r="{_num(r)}" fill="{fill}" '
            f'stroke="{ink}" stroke-width="1.5"/>'
        )
    if shape == "cross":
        a, b, c, d = _num(x - r), _num(x + r), _num(y - r), _num(y + r)
        d_attr = f"M{a} {c}L{b} {d}M{a} {d}L{b} {c}"
        return f'<path {cls} d="{d_attr}" fill="none" stroke="{ink}" stroke-width="2"/>'
    if shape == "square":
        q = r * 0.85
        return (
            f'<rect {cls} x="{_num(x - q)}" y="{_num(y - q)}" width="{_num(2 * q)}" '
            f'height="{_num(2 * q)}" fill="{ink}" stroke="{ink}"/>'
        )
    if shape == "diamond":
        corners = [(0.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0)]
        fill, width = "#fff", "1.5"
    else:
        corners, fill, width = list(_STAR), ink, "1"
    points = " ".join(f"{_num(x + dx * r)},{_num(y + dy * r)}" for dx, dy in corners)
    return f'<polygon {cls} points="{points}" fill="{fill}" stroke="{ink}" stroke-width="{width}"/>'


def _legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    """A row of (mark, words) legend items; ``mark`` is an SVG element drawn around (0, 0)."""
    out = []
    for mark, words in items:
        out.append(f'<g transform="translate({_num(x)} {_num(y)})">{mark}</g>')
        out.append(_text(x + 9, y + 3.5, words))
        x += 24 + len(words) * _CHAR * 10
    return out


def _hatch(x: float, y: float, w: float, h: float, step: float = 6.0) -> str:
    """Path data for '/' lines spaced ``step`` apart, clipped by hand to the rectangle."""
    d, s = "", step
    while s < w + h:
        x1, y1 = x + min(s, w), y + max(0.0, s - w)
        x2, y2 = x + max(0.0, s - h), y + min(s, h)
        d += f"M{_num(x1)} {_num(y1)}L{_num(x2)} {_num(y2)}"
        s += step
    return d


# ---- the charts -----------------------------------------------------------------------------


def forest_plot(rows: Sequence[ForestRow], *, title: str, width: float = 640) -> str:
    """A forest plot of the policy criteria: one row per criterion × attribute.

    Each row draws the interval as a line with caps, the estimate as its verdict's marker
    (pass: filled circle, fail: cross, inconclusive: hollow diamond), the threshold as a
    dashed tick, and shades the side of the threshold the policy does not allow (right of it
    for ``bound="max"``, left for ``"min"``). All rows share one x-axis spanning 0, every
    threshold, estimate and interval end, padded by 5 % of the span on both sides, with
    :func:`nice_ticks`. On the left the labels; on the right the estimate and interval (3
    decimals) and the verdict. Undefined estimates are not drawn: "undefined" and the row's
    note stand in their place.

    Parameters
    ----------
    rows : sequence of ForestRow
    title : str
    width : float
        Pixels, at least 480; the height follows from the number of rows.

    Returns
    -------
    str
        A standalone SVG document; a small "No data" one when ``rows`` is empty.

    Raises
    ------
    ValueError
        When ``width`` is below 480.

    Examples
    --------
    >>> import xml.etree.ElementTree as ET
    >>> row = ForestRow("selection rate diff. × sex", 0.04, 0.01, 0.07, 0.1, "max", "pass")
    >>> svg = forest_plot([row], title="Policy")
    >>> [t.text for t in ET.fromstring(svg).findall("{*}g[@class='row pass']/{*}text")]
    ['selection rate diff. × sex', '0.040 [0.010, 0.070]', 'pass']
    """
    if width < 480:
        raise ValueError(f"The 'width' parameter of forest_plot must be at least 480. Got {width}.")
    if not rows:
        return _no_data(title, width)
    label_w = min(max(60.0, max(len(r.label) for r in rows) * _CHAR * 10), 0.3 * width)
    x0, x1 = 8 + label_w + 12, width - 220
    top = 44.0
    bottom = top + len(rows) * _ROW
    values = [0.0]
    for r in rows:
        values += [r.threshold, _val(r.value), _val(r.lower), _val(r.upper)]
    axis = _axis([v for v in values if math.isfinite(v)], x0, x1)
    body = [
        _text(8, 36, "criterion", extra=' font-weight="bold"'),
        _text(x1 + 12, 36, "estimate [interval]", extra=' font-weight="bold"'),
        _text(x1 + 140, 36, "verdict", extra=' font-weight="bold"'),
        f'<g class="not-allowed" fill="{_SHADE}">',
    ]
    for i, r in enumerate(rows):
        t = axis.at(r.threshold)
        left, right = (t, x1) if r.bound == "max" else (x0, t)
        body.append(
            f'<rect x="{_num(left)}" y="{_num(top + i * _ROW + 2)}" '
            f'width="{_num(right - left)}" height="{_num(_ROW - 4)}"/>'
        )
    body += ["</g>", *_axis_marks(axis, vertical=False, base=bottom, far=top)]
    z = _num(axis.at(0.0))
    body.append(f'<path class="zero" d="M{z} {_num(top)}V{_num(bottom)}" stroke="#777"/>')
    for i, r in enumerate(rows):
        y = top + i * _ROW + _ROW / 2
        ink, tick = _INK[r.verdict], _num(axis.at(r.threshold))
        body += [
            f'<g class="row {r.verdict}">',
            _text(8, y + 3.5, _short(r.label, label_w)),
            f'<path class="threshold" d="M{tick} {_num(y - 8)}V{_num(y + 8)}" stroke="#000" '
            'stroke-width="1.5" stroke-dasharray="2 2"/>',
        ]
        value, lower, upper = _val(r.value), _val(r.lower), _val(r.upper)
        shown = "undefined"
        if math.isfinite(value):
            shown = _fixed(value, 3)
            if math.isfinite(lower + upper):
                a, b = _num(axis.at(lower)), _num(axis.at(upper))
                c, d = _num(y - 4), _num(y + 4)
                body.append(
                    f'<path class="interval" d="M{a} {_num(y)}H{b}M{a} {c}V{d}M{b} {c}V{d}" '
                    f'fill="none" stroke="{ink}" stroke-width="1.5"/>'
                )
                shown += f" [{_fixed(lower, 3)}, {_fixed(upper, 3)}]"
            else:
                shown += " [undefined]"
            body.append(_marker(_SHAPE[r.verdict], axis.at(value), y, 4.5, ink))
        else:
            words = "undefined" + (f" ({r.note})" if r.note else "")
            extra = ' font-style="italic" fill="#4d4d4d"'
            body.append(_text(x0 + 4, y + 3.5, _short(words, x1 - x0 - 8), extra=extra))
        body += [
            _text(x1 + 12, y + 3.5, shown),
            _text(x1 + 140, y + 3.5, r.verdict, extra=f' fill="{ink}"'),
            "</g>",
        ]
    dash = '<path d="M0 -7V7" stroke="#000" stroke-width="1.5" stroke-dasharray="2 2"/>'
    shade = f'<rect x="-6" y="-6" width="12" height="12" fill="{_SHADE}"/>'
    items = [(_marker(_SHAPE[v], 0, 0, 4.5, _INK[v]), v) for v in _VERDICTS]
    items += [(dash, "threshold"), (shade, "not allowed")]
    body += _legend(14, bottom + 40, items)
    return _svg(width, bottom + 54, title, body)


def _check_grid(name: str, grid: Sequence[Sequence[object]], n_rows: int, n_cols: int) -> None:
    lengths = [len(row) for row in grid]
    if lengths != [n_cols] * n_rows:
        raise ValueError(
            f"The {name!r} parameter of heat_map must have {n_rows} rows of {n_cols} cells "
            f"(one per row and column label). Got row lengths {lengths}."
        )


def _grey(t: float) -> tuple[str, str]:
    """Fill (light at 0, dark at 1) and the text colour with the better contrast on it."""
    level = round(245 - t * 200)
    # Black and white text contrast equally at relative luminance 0.179, sRGB level ≈ 118.
    return f"#{level:02x}{level:02x}{level:02x}", "#fff" if level < 118 else "#000"


def heat_map(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    counts: Sequence[Sequence[int | None]] | None = None,
    small: Sequence[Sequence[bool]] | None = None,
    small_note: str = "fewer rows than the policy's minimum group size",
    value_format: str = "{:.3f}",
    low_is_good: bool | None = None,
) -> str:
    """An intersectional table in grey: one cell per row label × column label.

    The fill goes from light (the smallest defined value) to dark (the largest), linearly;
    text turns white on dark cells. Undefined values (``None``, NaN, infinite) are hatched and
    read "n/a"; cell sizes, when given, are printed small under the value; small cells get a
    dagger, explained under the table. A five-step legend bar shows the minimum and maximum.

    Parameters
    ----------
    row_labels : sequence of str, length R
    column_labels : sequence of str, length C
    values : R × C nested sequence of float or None
    title : str
    counts : R × C nested sequence of int or None, optional
        Rows per cell.
    small : R × C nested sequence of bool, optional
        Cells too small to trust, marked "†".
    small_note : str
        The legend's words after "†".
    value_format : str
        A :meth:`str.format` pattern for the values.
    low_is_good : bool or None
        Says in the legend whether darker (higher) is worse (``True``) or better (``False``);
        ``None`` says neither. The fill is the same.

    Returns
    -------
    str
        A standalone SVG document; a small "No data" one without rows or columns.

    Raises
    ------
    ValueError
        When ``values``, ``counts`` or ``small`` is not R × C.

    Examples
    --------
    >>> import xml.etree.ElementTree as ET
    >>> svg = heat_map(["female", "male"], ["a", "b"], [[0.1, None], [0.3, 0.2]],
    ...                title="Selection rate", counts=[[40, 0], [35, 12]])
    >>> root = ET.fromstring(svg)
    >>> [[t.text for t in cell.findall("{*}text")] for cell in root.iterfind("{*}g[@class]")]
    [['0.100', 'n = 40'], ['n/a', 'n = 0'], ['0.300', 'n = 35'], ['0.200', 'n = 12']]
    """
    n_rows, n_cols = len(row_labels), len(column_labels)
    for name, grid in (("values", values), ("counts", counts), ("small", small)):
        if grid is not None:
            _check_grid(name, grid, n_rows, n_cols)
    if not n_rows or not n_cols:
        return _no_data(title, 320)
    defined = [_val(v) for row in values for v in row if _defined(v)]
    low, high = (min(defined), max(defined)) if defined else (0.0, 0.0)
    cell_w = min(max(64.0, max(len(c) for c in column_labels) * _CHAR * 10 + 12), 120.0)
    cell_h = 36.0 if counts is not None else 26.0
    row_w = min(max(40.0, max(len(r) for r in row_labels) * _CHAR * 10 + 12), 180.0)
    x0, y0 = 8 + row_w, 48.0
    body = []
    for j, label in enumerate(column_labels):
        text = _short(label, cell_w - 4)
        body.append(_text(x0 + (j + 0.5) * cell_w, y0 - 8, text, anchor="middle"))
    for i, label in enumerate(row_labels):
        body.append(_text(8, y0 + (i + 0.5) * cell_h + 3.5, _short(label, row_w - 8)))
    for i, row in enumerate(values):
        for j, cell_value in enumerate(row):
            value = _val(cell_value)
            x, y = x0 + j * cell_w, y0 + i * cell_h
            mark = "†" if small is not None and small[i][j] else ""
            rect = f'x="{_num(x)}" y="{_num(y)}" width="{_num(cell_w)}" height="{_num(cell_h)}"'
            rect += ' stroke="#fff" stroke-width="2"'
            if math.isfinite(value):
                t = (value - low) / (high - low) if high > low else 0.5
                fill, ink = _grey(t)
                cell = [f'<g class="cell" fill="{ink}">', f'<rect {rect} fill="{fill}"/>']
                words = value_format.format(value)
            else:
                hatch = _hatch(x, y, cell_w, cell_h)
                ink, words = "#000", "n/a"
                cell = [
                    f'<g class="cell undefined" fill="{ink}">',
                    f'<rect {rect} fill="#fff"/>',
                    f'<path d="{hatch}" fill="none" stroke="#b0b0b0" stroke-width="0.75"/>',
                ]
            size = counts[i][j] if counts is not None else None
            cy = y + cell_h / 2 + (-1.0 if counts is not None else 3.5)
            cell.append(_text(x + cell_w / 2, cy, words + mark, anchor="middle"))
            if size is not None:
                cell.append(_text(x + cell_w / 2, cy + 13, f"n = {size}", size=9, anchor="middle"))
            body += [*cell, "</g>"]
    y = y0 + n_rows * cell_h + 20
    if defined:
        for k in range(5):
            fill, _ = _grey(k / 4)
            body.append(
                f'<rect x="{_num(8 + k * 24)}" y="{_num(y)}" width="24" height="10" '
                f'fill="{fill}" stroke="{fill}"/>'
            )
        direction = {None: "", True: " (worse)", False: " (better)"}[low_is_good]
        body += [
            f'<rect x="8" y="{_num(y)}" width="120" height="10" fill="none" stroke="#777"/>',
            _text(8, y + 22, "min " + value_format.format(low), size=9),
            _text(128, y + 22, "max " + value_format.format(high), size=9, anchor="end"),
            _text(140, y + 9, f"lighter = lower, darker = higher{direction}"),
        ]
        y += 34
    items = []
    if len(defined) < n_rows * n_cols:
        box = '<rect x="-6" y="-6" width="12" height="12" fill="#fff" stroke="#777"/>'
        box += f'<path d="{_hatch(-6, -6, 12, 12, 4)}" stroke="#b0b0b0" stroke-width="0.75"/>'
        items.append((box, "n/a: undefined"))
    if small is not None and any(any(row) for row in small):
        items.append(('<text x="0" y="4" text-anchor="middle">†</text>', small_note))
    body += _legend(14, y + 4, items)
    width = max(x0 + n_cols * cell_w + 8, 360.0)
    return _svg(width, y + (20 if items else 0), title, body)


def tradeoff_chart(
    points: Sequence[TradeoffPoint],
    *,
    x_label: str,
    y_label: str,
    higher_is_better: bool = True,
    title: str,
    width: float = 640,
    height: float = 400,
) -> str:
    """The mitigation frontier: disparity (x, lower is better) against performance (y).

    Every candidate has error bars on both axes (where its interval is defined). Pareto-
    efficient candidates are filled and joined by a line in order of disparity, dominated ones
    hollow; the chosen candidate is a larger star with its name in bold, the baseline a
    square. Labels that would overlap an earlier one move down a line. Candidates with an
    undefined estimate are not drawn and are listed under the chart, which grows by one line
    per line of that list.

    Parameters
    ----------
    points : sequence of TradeoffPoint
        At most one chosen.
    x_label, y_label : str
        Axis titles; the y title says "higher is better" or "lower is better".
    higher_is_better : bool
        Whether higher performance is better (a score) or worse (an error or loss).
    title : str
    width, height : float
        Pixels, at least 400 × 240.

    Returns
    -------
    str
        A standalone SVG document; a small "No data" one when nothing can be drawn.

    Raises
    ------
    ValueError
        When more than one point is chosen, or the size is too small.

    Examples
    --------
    >>> import xml.etree.ElementTree as ET
    >>> points = [TradeoffPoint("base", 0.85, 0.84, 0.86, 0.17, 0.15, 0.19, True, False, True),
    ...           TradeoffPoint("fair", 0.83, 0.82, 0.84, 0.04, 0.02, 0.06, True, True, False),
    ...           TradeoffPoint("odd", None, None, None, 0.1, 0.08, 0.12)]
    >>> root = ET.fromstring(tradeoff_chart(points, x_label="DP difference",
    ...                                     y_label="accuracy", title="Frontier"))
    >>> chosen = root.find("{*}g[@class='point chosen']")
    >>> chosen[0].tag, chosen[1].text, chosen[1].get("font-weight")
    ('{http://www.w3.org/2000/svg}polygon', 'fair', 'bold')
    >>> root.findall("{*}text")[-1].text
    'not drawn: odd (undefined)'
    """
    if width < 400 or height < 240:
        raise ValueError(
            f"The size of tradeoff_chart must be at least 400 × 240. Got {width} × {height}."
        )
    if sum(p.chosen for p in points) > 1:
        names = [p.name for p in points if p.chosen]
        raise ValueError(f"At most one point of tradeoff_chart may be chosen. Got {names}.")
    ok = [_defined(p.performance) and _defined(p.disparity) for p in points]
    drawn = [p for p, keep in zip(points, ok, strict=True) if keep]
    skipped = [f"{p.name} (undefined)" for p, keep in zip(points, ok, strict=True) if not keep]
    chars = int((width - 16) / (_CHAR * 10))
    notes = textwrap.wrap("not drawn: " + ", ".join(skipped), chars) if skipped else []
    if not drawn:
        return _no_data(title, width, notes)
    left, right, top, bottom = 64.0, width - 16, 48.0, height - 70
    xs = [_val(v) for p in drawn for v in (p.disparity, p.disparity_lower, p.disparity_upper)]
    ys = [_val(v) for p in drawn for v in (p.performance, p.performance_lower, p.performance_upper)]
    xa = _axis([v for v in xs if math.isfinite(v)], left, right)
    ya = _axis([v for v in ys if math.isfinite(v)], bottom, top)
    better = "higher" if higher_is_better else "lower"
    body = [
        *_axis_marks(xa, vertical=False, base=bottom, far=top),
        *_axis_marks(ya, vertical=True, base=left, far=right),
        _text((left + right) / 2, bottom + 32, f"{x_label} (lower is better)", anchor="middle"),
        _text(8, top - 14, f"{y_label} ({better} is better)"),
    ]
    at = [(xa.at(_val(p.disparity)), ya.at(_val(p.performance))) for p in drawn]
    bars = ""
    for p, (x, y) in zip(drawn, at, strict=True):
        a, b = xa.at(_val(p.disparity_lower)), xa.at(_val(p.disparity_upper))
        if math.isfinite(a + b):
            bars += f"M{_num(a)} {_num(y)}H{_num(b)}"
            bars += "".join(f"M{_num(e)} {_num(y - 3)}v6" for e in (a, b))
        c, d = ya.at(_val(p.performance_lower)), ya.at(_val(p.performance_upper))
        if math.isfinite(c + d):
            bars += f"M{_num(x)} {_num(c)}V{_num(d)}"
            bars += "".join(f"M{_num(x - 3)} {_num(e)}h6" for e in (c, d))
    body.append(f'<path class="error-bars" d="{bars}" fill="none" stroke="#888"/>')
    front = sorted(xy for p, xy in zip(drawn, at, strict=True) if p.pareto)
    if len(front) > 1:
        line = " ".join(f"{_num(x)},{_num(y)}" for x, y in front)
        body.append(f'<polyline class="frontier" points="{line}" fill="none" stroke="#333"/>')
    placed: list[tuple[float, float, float, float]] = []  # label boxes: x0, y0, x1, y1
    kinds = {"frontier"} if len(front) > 1 else set()
    for p, (x, y) in zip(drawn, at, strict=True):
        kind = "pareto" if p.pareto else "dominated"
        kind = "chosen" if p.chosen else "baseline" if p.baseline else kind
        shape = {"chosen": "star", "baseline": "square", "pareto": "disc"}.get(kind, "ring")
        kinds.add(kind)
        name_w = len(p.name) * _CHAR * 10 * (1.1 if p.chosen else 1.0)
        lx, anchor = (x + 11, "start") if x + 11 + name_w < width - 4 else (x - 11, "end")
        x0 = lx if anchor == "start" else lx - name_w
        ly = y - 6
        while any(
            x0 < c and a < x0 + name_w and ly - 9 < d and b < ly + 2 for a, b, c, d in placed
        ):
            ly += 12
        placed.append((x0, ly - 9, x0 + name_w, ly + 2))
        bold = ' font-weight="bold"' if p.chosen else ""
        body += [
            f'<g class="point {kind}">',
            _marker(shape, x, y, 9.0 if p.chosen else 4.5, "#000"),
            _text(lx, ly, p.name, anchor=anchor, extra=bold),
            "</g>",
        ]
    legend = [
        ("chosen", _marker("star", 0, 0, 6, "#000"), "chosen"),
        ("baseline", _marker("square", 0, 0, 4.5, "#000"), "baseline"),
        ("pareto", _marker("disc", 0, 0, 4.5, "#000"), "Pareto-efficient"),
        ("dominated", _marker("ring", 0, 0, 4.5, "#000"), "dominated"),
        ("frontier", '<path d="M-7 0H7" stroke="#333"/>', "Pareto frontier"),
    ]
    body += _legend(14, height - 14, [(m, words) for k, m, words in legend if k in kinds])
    body += [_text(8, height + 4 + 14 * i, line) for i, line in enumerate(notes)]
    return _svg(width, height + 14 * len(notes) + (6 if notes else 0), title, body)
