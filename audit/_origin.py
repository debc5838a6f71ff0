"""The guard against other distributions' packages named ``audit``, ``lineage`` or ``reports``.

PyPI holds unrelated distributions with those names. Installed into the same folder, pip
silently overwrites one's files with the other's; earlier on the import path (a folder on
``PYTHONPATH``, a ``lineage/`` or ``audit.py`` in the current folder), one hides the other.

This module checks, when it is imported, that the three packages are fairtrail's: each is a
regular package in the folder that holds this one (``site-packages`` for an installed wheel,
the checkout for an editable install), and no other distribution installed in that folder
claims it. Otherwise it raises an :class:`ImportError` that names the clash. ``audit``
imports it first thing, and ``lineage`` and ``reports`` import ``audit`` first thing, so
importing any of the three checks all three. (A foreign ``audit`` hides this module too: the
``fairtrail`` front door checks where ``audit`` is before it imports it.)

The check is cheap: finding a package does not import it, and the folder's
``*.dist-info/RECORD`` files are each searched with one regular expression (measured: 0.3 ms
in a checkout, 2.2 ms in a ``site-packages`` of 96 distributions).
``importlib.metadata.packages_distributions()`` would cost ~100 ms on every import, and it
does not know an editable install's packages.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HOME", "PACKAGES", "Clash", "check_origin", "claims", "clash_message", "origin"]

#: The top-level packages the fairtrail distribution installs besides ``fairtrail``.
PACKAGES = ("audit", "lineage", "reports")
#: The folder that holds fairtrail's packages: this package's parent.
HOME = Path(__file__).parent.parent

# A RECORD line installing one of the packages: `audit/...`, or a top-level `audit.py` or
# extension module (a line may be quoted when its path holds a comma). Searched in the text
# after a newline: a pattern that starts with a literal is searched ~7x faster than `^`.
_CLAIM = re.compile(rb'\n"?(audit|lineage|reports)(?:/|\.py,|\.[^/,\n]*\.(?:so|pyd),)')


def origin(name: str) -> str | None:
    """Where the top-level module ``name`` is imported from, without importing it.

    Parameters
    ----------
    name : str
        A top-level module name.

    Returns
    -------
    str or None
        Its ``__init__.py`` (a regular package), its file (a module), its first folder (a
        namespace package: a folder without ``__init__.py``); None when there is none.

    Examples
    --------
    >>> origin("audit") == str(HOME / "audit" / "__init__.py")
    True
    >>> origin("no_such_module_anywhere") is None
    True
    """
    module = sys.modules.get(name)
    if module is not None:
        spec = module.__spec__
        if spec is None:  # put in sys.modules by hand: only its file can say where it is
            file = getattr(module, "__file__", None)
            return file if isinstance(file, str) else None
    else:
        spec = importlib.util.find_spec(name)
        if spec is None:
            return None
    if spec.origin is not None and spec.has_location:
        return spec.origin
    folders = list(spec.submodule_search_locations or ())
    return folders[0] if folders else spec.origin


def _project(entry: str) -> str:
    """The project name of a ``.dist-info`` or ``.egg-info`` folder's name, lower case."""
    return entry.rsplit(".", 1)[0].partition("-")[0].lower()


def claims(folder: Path) -> dict[str, list[Path]]:
    """The other distributions installed in ``folder`` that claim one of :data:`PACKAGES`.

    A ``*.dist-info`` claims the packages its ``RECORD`` installs files into; an
    ``*.egg-info`` those its ``top_level.txt`` names. fairtrail's own are skipped.

    Parameters
    ----------
    folder : Path
        A folder on the import path (``site-packages``, a ``--target`` folder, a checkout).

    Returns
    -------
    dict of str to list of Path
        Package name → the metadata folders of the distributions that claim it.

    Examples
    --------
    >>> import tempfile
    >>> site = Path(tempfile.mkdtemp())
    >>> (site / "lineage-0.3.dist-info").mkdir()
    >>> _ = (site / "lineage-0.3.dist-info" / "RECORD").write_text("lineage/__init__.py,,")
    >>> {name: [p.name for p in paths] for name, paths in claims(site).items()}
    {'lineage': ['lineage-0.3.dist-info']}
    """
    found: dict[str, list[Path]] = {}
    try:
        entries = sorted(os.listdir(folder))
    except OSError:  # not a folder (a zip file on the path), or gone
        return found
    for entry in entries:
        if entry.endswith(".dist-info"):
            listing = "RECORD"
        elif entry.endswith(".egg-info"):
            listing = "top_level.txt"
        else:
            continue
        if _project(entry) == "fairtrail":
            continue
        try:
            with open(os.path.join(folder, entry, listing), "rb") as file:
                text = file.read()
        except OSError:  # no such file, or an old single-file .egg-info
            continue
        if listing == "RECORD":
            names = {match.group(1).decode() for match in _CLAIM.finditer(b"\n" + text)}
        else:
            names = set(text.decode("utf-8", "replace").split()) & set(PACKAGES)
        for name in sorted(names):
            found.setdefault(name, []).append(folder / entry)
    return found


def _distribution(path: Path) -> str:
    """``'name version'`` of the distribution whose metadata folder is ``path``."""
    from importlib import metadata  # ~30 ms to import: only when there is a clash to name

    distribution = metadata.PathDistribution(path)
    if distribution.read_text("METADATA") or distribution.read_text("PKG-INFO"):
        fields = distribution.metadata
        if "Name" in fields and "Version" in fields:
            return f"{fields['Name']} {fields['Version']}"
    return path.name.rsplit(".", 1)[0].replace("-", " ", 1)  # the folder's name is all there is


@dataclass(frozen=True)
class Clash:
    """A package named like one of fairtrail's that is not (only) fairtrail's.

    Attributes
    ----------
    name : str
        ``"audit"``, ``"lineage"`` or ``"reports"``.
    path : Path
        What Python imports under that name: a package's folder or a module's file.
    owners : tuple of str
        The other distributions that installed it (``"name version"``); may be empty.
    shared : bool
        True: it is in fairtrail's folder, and another distribution installed files into it
        too, or removed its ``__init__.py``. False: it hides fairtrail's from elsewhere.
    """

    name: str
    path: Path
    owners: tuple[str, ...]
    shared: bool

    def describe(self) -> str:
        """One clause: which package, where, and whose it is."""
        owners = ", ".join(f"'{owner}'" for owner in self.owners)
        plural = "s" if len(self.owners) > 1 else ""
        if not self.shared:
            why = (
                f"it belongs to the distribution{plural} {owners}"
                if owners
                else "no installed distribution claims it, and it comes first on the import path"
            )
            return f"the '{self.name}' package at {self.path} is not fairtrail's ({why})"
        if owners:
            why = f"the distribution{plural} {owners} installed files into it too"
        else:
            why = "its __init__.py is missing: uninstalling another distribution removes it"
        return f"the '{self.name}' package at {self.path} is not fairtrail's alone ({why})"


def clash_message(clashes: Sequence[Clash], home: Path = HOME) -> str:
    """The ImportError's message: each clash, where fairtrail's packages are, what to do.

    Examples
    --------
    >>> site = Path("/x/site-packages")
    >>> print(clash_message([Clash("audit", Path("/y/audit"), ("audit 0.1",), False)], site))
    the 'audit' package at /y/audit is not fairtrail's (it belongs to the distribution
    'audit 0.1'); fairtrail installs packages named audit, lineage and reports (in
    /x/site-packages): uninstall the other distribution or use a separate virtual environment.
    """
    if any(clash.shared for clash in clashes):
        advice = (
            "uninstall the other distribution, then reinstall fairtrail (pip overwrote the "
            "files they share), or use a separate virtual environment"
        )
    elif all(clash.owners for clash in clashes):
        advice = "uninstall the other distribution or use a separate virtual environment"
    else:
        advice = "rename or remove the other package, or use a separate virtual environment"
    return (
        "; ".join(clash.describe() for clash in clashes)
        + f"; fairtrail installs packages named {', '.join(PACKAGES[:-1])} and {PACKAGES[-1]}"
        + f" (in {home}): {advice}."
    )


def _same(first: str | Path, second: str | Path) -> bool:
    return str(first) == str(second) or os.path.realpath(first) == os.path.realpath(second)


def check_origin(home: Path = HOME, where: Callable[[str], str | None] = origin) -> None:
    """Check that ``audit``, ``lineage`` and ``reports`` are fairtrail's own packages.

    Each must be imported from ``home/<name>/__init__.py``, and no other distribution
    installed in ``home`` may claim it (see :func:`claims`). A package that is not installed
    at all is left to fail when it is imported.

    Parameters
    ----------
    home : Path
        The folder that holds fairtrail's packages.
    where : callable
        Name → where it is imported from (see :func:`origin`).

    Raises
    ------
    ImportError
        Naming each package that clashes, where it is, the distribution it belongs to, and
        what to do (see :func:`clash_message`).

    Examples
    --------
    >>> check_origin()  # this checkout or installation is fine
    """
    claimed: Mapping[str, Sequence[Path]] = claims(home)
    clashes = []
    for name in PACKAGES:
        found = where(name)
        if found is None:
            continue
        path = Path(found)
        if path.name == "__init__.py":
            path = path.parent
        at_home = _same(found, home / name / "__init__.py")
        if at_home and name not in claimed:
            continue
        shared = at_home or _same(path.parent, home)
        owners = claimed.get(name, ()) if shared else claims(path.parent).get(name, ())
        clashes.append(Clash(name, path, tuple(_distribution(o) for o in owners), shared))
    if clashes:
        raise ImportError(clash_message(clashes, home), name=clashes[0].name)


check_origin()
