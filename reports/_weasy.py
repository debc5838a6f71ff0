"""WeasyPrint, imported on first use, and the one folder a render may read.

Shared by the renderer (:mod:`reports._pdf`) and its URL fetcher (:mod:`reports._fetcher`),
which therefore need not import each other.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

__all__ = ["ASSETS", "weasyprint_module"]

#: The folder of the report's stylesheet and fonts (the only files a render may read).
ASSETS = Path(__file__).resolve().parent / "assets"


def weasyprint_module() -> Any:
    """WeasyPrint, imported on first use (``import reports`` stays light).

    Its import warns that HarfBuzz's subsetter will be required in a later version when the
    system lacks ``libharfbuzz-subset``; fontTools subsets the fonts meanwhile (and
    ``SOURCE_DATE_EPOCH`` keeps that reproducible), so the warning is not the caller's concern.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*HarfBuzz-Subset", category=DeprecationWarning)
        import weasyprint

    return weasyprint
