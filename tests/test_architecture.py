"""The seams: no import circle between files, no reaching into another package's privates,
and a module map in DEVELOPERS.md that matches the tree.

The imports are read from the source with :mod:`ast` (those inside functions too: a circle
hidden in a function is still a circle), so the test needs nothing installed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("audit", "lineage", "reports", "fairtrail")


def modules() -> dict[str, Path]:
    """Every module of the project, by dotted name (``app`` for app.py)."""
    found = {"app": ROOT / "app.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The project modules ``name`` imports, anywhere in the file (``a.b`` for ``from a import b``
    when ``a.b`` is a module, else ``a``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {  # `if TYPE_CHECKING:` imports are for the type checker, not run
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: set(imports(name, path, known)) for name, path in found.items()}


def test_no_import_circle_between_files() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif state.get(nxt, 0) == 0:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if state.get(node, 0) == 0:
            visit(node, [])
    assert circles == []


def private_imports() -> list[tuple[str, str]]:
    out = []
    for name, targets in graph().items():
        top = name.split(".")[0]
        for target in targets:
            parts = target.split(".")
            if parts[0] == top:
                continue
            if any(p.startswith("_") for p in parts[1:]):
                out.append((name, target))
    return sorted(out)


def test_no_module_reaches_into_another_packages_private_modules() -> None:
    assert private_imports() == []


def test_the_module_map_names_every_module() -> None:
    text = (ROOT / "DEVELOPERS.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    mentioned: set[str] = set()
    for row in rows:
        folder = ""
        for token in re.findall(r"`([^`]+)`", row):
            if "/" in token:
                token = token.rstrip("/")
                folder = token if not token.endswith(".py") else token.rpartition("/")[0]
                if token.endswith(".py"):
                    mentioned.add(token)
            elif token.endswith(".py") and folder:
                mentioned.add(f"{folder}/{token}")
    missing = [
        str(path.relative_to(ROOT))
        for name, path in modules().items()
        if path.name != "__init__.py"
        and str(path.relative_to(ROOT)) not in mentioned
        and name != "app"
    ]
    assert missing == []
