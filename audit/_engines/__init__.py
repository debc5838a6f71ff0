"""Engines for the counting step: in memory (numpy), DuckDB (out of core) and Spark.

The counting step is the only one that sees rows; an engine replaces only it. Every other
step — intervals, disparities, verdicts — runs on the statistics it returns, unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from audit._engines._base import Counted, Roles
from audit._engines._files import InputFiles, find_files
from audit._engines._sql import count_with_sql
from audit._exceptions import SpecError

__all__ = [
    "ENGINES",
    "Counted",
    "InputFiles",
    "Roles",
    "choose_engine",
    "count_files",
    "find_files",
]

#: The engines a spec may name (``auto`` chooses one per input).
ENGINES = ("memory", "duckdb", "spark", "auto")
#: ``auto`` counts inputs larger than this share of the machine's memory with DuckDB.
AUTO_SHARE = 0.1


def _memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 8 GiB
        return 8 << 30


def choose_engine(engine: str, inputs: InputFiles | None) -> str:
    """The engine that counts ``inputs`` (``auto`` resolved).

    ``auto`` → DuckDB for a folder, a glob, or files larger than a tenth of the memory; the
    in-memory engine otherwise.

    Examples
    --------
    >>> choose_engine("duckdb", None)
    'duckdb'
    """
    if engine not in ENGINES:
        raise SpecError(f"audit.engine must be one of {list(ENGINES)}; got {engine!r}.")
    if engine != "auto":
        return engine
    if inputs is None:
        return "memory"
    several = len(inputs.files) > 1 or Path(inputs.spec).is_dir()
    return "duckdb" if several or inputs.size > AUTO_SHARE * _memory_bytes() else "memory"


def count_files(
    inputs: InputFiles,
    roles: Roles,
    engine: str,
    *,
    memory_limit: str | None = None,
    on_step: Callable[[str], None] | None = None,
    on_progress: Callable[[str, float], None] | None = None,
) -> Counted:
    """Count predictions files with an out-of-core engine (``duckdb`` or ``spark``)."""
    if engine == "duckdb":
        from audit._engines._duckdb import DuckDBSource

        source = DuckDBSource(inputs, roles, memory_limit=memory_limit, on_progress=on_progress)
        try:
            counted = count_with_sql(source, roles, on_step=on_step)
        finally:
            source.close()
        return Counted(**{**counted.__dict__, "queries": dict(source.timings)})
    if engine == "spark":
        from audit._engines._spark import SparkSource, spark_session

        spark_source = SparkSource.from_files(spark_session(), inputs, roles)
        counted = count_with_sql(spark_source, roles, on_step=on_step)
        return Counted(**{**counted.__dict__, "queries": dict(spark_source.timings)})
    raise SpecError(f"count_files counts with 'duckdb' or 'spark'; got {engine!r}.")
