"""The ``fairtrail`` command line: ``fairtrail run``, ``fairtrail demo``, ``fairtrail show``.

The packages do the work (``audit``, ``lineage``, ``reports``); this package only parses
arguments, calls them and prints.
"""

from importlib import metadata

try:
    __version__ = metadata.version("fairtrail")
except metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

__all__ = ["__version__"]
