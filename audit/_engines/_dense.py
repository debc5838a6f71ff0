"""The Spark engine's dense counter: the ``GROUP BY`` of the groups, counted into arrays.

Spark's hash aggregation into a million groups (cells × labels × 10,000 score bins) is three
to four times slower than into a few hundred: its hash map outgrows the caches. The class
``fairtrail.spark.DenseGroupBy`` (``java/DenseGroupBy.java``) splits the key into a prefix
(cell and labels) and a slot (the score bin) and counts into one block of arrays per prefix.
It runs inside Spark, on the same projection the SQL would aggregate, and gives the same
columns: counts exactly, ``MIN``/``MAX`` exactly (Spark's order of doubles), sums of doubles
up to their rounding (the order of additions differs, as it does between Spark runs); a sum
of only NULLs is 0 where SQL says NULL (:func:`~audit._engines._base.numbers` reads both as
0). An aggregate marked ``per_cell`` (the checks, missing values) is aggregated per prefix and
given once, at the prefix's first group (0 or NULL at its others): its totals per cell are
the SQL's, and a weighted audit's blocks stay small.

The class is compiled once with ``javac`` against the running PySpark's jars and cached under
``$FAIRTRAIL_CACHE`` (default ``~/.cache/fairtrail``); a Spark session that fairtrail starts
puts it on the driver's class path. Without a JDK, in a session started elsewhere without the
jar (``spark.driver.extraClassPath`` and ``spark.executor.extraClassPath``, see
:func:`dense_jar`), over Spark Connect, or when the blocks would need more memory than
:data:`MAX_BYTES`, the engine runs the ``GROUP BY`` as SQL: same result, slower.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from audit._engines._base import Aggregate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["MAX_BYTES", "DenseRefused", "dense_groups", "dense_jar"]

SOURCE = Path(__file__).with_name("java") / "DenseGroupBy.java"
CLASS = "fairtrail.spark.DenseGroupBy"
#: The most memory one task's blocks may take (bytes); more, and the SQL ``GROUP BY`` runs.
MAX_BYTES = 256 << 20
_KINDS = {"SUM": "s", "COUNT_IF": "s", "MIN": "n", "MAX": "x"}
_INTEGRAL = ("TINYINT", "SMALLINT", "INT", "BIGINT")
_NUMBER = (*_INTEGRAL, "FLOAT", "DOUBLE")


class DenseRefused(Exception):
    """The dense counter cannot run here; the reason says why (the SQL runs instead)."""


def _cache_dir() -> Path:
    if os.environ.get("FAIRTRAIL_CACHE"):
        return Path(os.environ["FAIRTRAIL_CACHE"]) / "spark"
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder (a service user): the temporary folder
            base = tempfile.gettempdir()
    return Path(base) / "fairtrail" / "spark"


def _spark_jars() -> Path:
    import pyspark

    home = os.environ.get("SPARK_HOME")
    for jars in (Path(pyspark.__file__).parent / "jars", Path(home or "/nonexistent") / "jars"):
        if jars.is_dir():
            return jars
    raise DenseRefused("PySpark's jars folder was not found")


def _javac() -> str:
    home = os.environ.get("JAVA_HOME")
    beside = Path(home) / "bin" / "javac" if home else None
    if beside is not None and beside.is_file():
        return str(beside)
    found = shutil.which("javac")
    if found is None:
        raise DenseRefused("javac (a JDK) was not found")
    return found


def dense_jar() -> Path:
    """The dense counter's jar, compiled on first use for the installed PySpark.

    To use it in a Spark session started outside fairtrail, start the session with
    ``spark.driver.extraClassPath`` (and, on a cluster, ``spark.jars``) set to this path.

    Returns
    -------
    pathlib.Path
        The jar, in the cache (``$FAIRTRAIL_CACHE/spark`` or ``~/.cache/fairtrail/spark``).

    Raises
    ------
    DenseRefused
        No JDK, no PySpark jars, ``javac`` failed or the cache cannot be written; the reason
        is the message.

    Examples
    --------
    The first call compiles the class (about 2 s); later ones find the jar in the cache:

    >>> jar = dense_jar()
    >>> jar.name.startswith("fairtrail-dense-"), jar.suffix, dense_jar() == jar
    (True, '.jar', True)
    """
    import pyspark

    jars = _spark_jars()
    source = SOURCE.read_bytes()
    tag = hashlib.sha256(source + pyspark.__version__.encode() + str(jars).encode()).hexdigest()
    target = _cache_dir() / f"fairtrail-dense-{tag[:16]}.jar"
    if target.is_file():
        return target
    javac = _javac()
    try:
        _compile(javac, jars, target)
    except (OSError, subprocess.SubprocessError) as exc:  # a cache that cannot be written
        raise DenseRefused(f"the jar could not be built in {target.parent}: {exc}") from None
    return target


def _compile(javac: str, jars: Path, target: Path) -> None:
    """Compile :data:`SOURCE` against ``jars`` into the jar ``target``, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fairtrail-javac-") as tmp:
        classes = Path(tmp) / "classes"
        done = subprocess.run(
            [javac, "-nowarn", "-cp", str(jars / "*"), "-d", str(classes), str(SOURCE)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise DenseRefused(f"javac failed: {detail[0] if detail else done.returncode}")
        partial = Path(tmp) / "dense.jar"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        # Atomic: a concurrent process sees no jar or a whole one.
        staged = target.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(partial, staged)
        os.replace(staged, target)


def dense_groups(
    spark: SparkSession,
    view: str,
    key_sql: str,
    aggregates: Sequence[Aggregate | str],
    tail: int,
) -> pa.Table:
    """The groups of ``SELECT key AS k, aggregates … FROM view GROUP BY 1``, counted densely.

    ``tail`` is the number of slots of a key's last part (the score bins): a key is
    ``prefix * tail + slot``.

    Raises
    ------
    DenseRefused
        The counter is not loaded in this session, an aggregate is not one it computes, or the
        blocks would need more than :data:`MAX_BYTES`: run the SQL instead.
    """
    jvm = getattr(spark, "_jvm", None)  # None over Spark Connect
    counter = jvm.fairtrail.spark.DenseGroupBy if jvm is not None else None
    if counter is None or type(counter).__name__ != "JavaClass":
        raise DenseRefused("the dense counter is not on this session's class path")
    kept: list[Aggregate] = []
    for a in aggregates:
        if not isinstance(a, Aggregate) or (a.func not in _KINDS and str(a) != "COUNT(*) AS n"):
            raise DenseRefused(f"it does not compute {a}")
        if a.func in _KINDS:
            kept.append(a)
    if not kept:
        raise DenseRefused("there is nothing but rows to count")
    values = [f"({a.arg}) AS v{i}" for i, a in enumerate(kept)]
    raw: DataFrame = spark.sql(f"SELECT {key_sql} AS k, {', '.join(values)} FROM {view}")
    types = [f.dataType.simpleString().upper() for f in raw.schema.fields[1:]]
    for a, t in zip(kept, types, strict=True):
        if a.func != "COUNT_IF" and t not in _NUMBER:
            raise DenseRefused(f"{a.alias} is of type {t}")
    numbers = [
        f"CASE WHEN v{i} THEN 1.0D ELSE 0.0D END" if a.func == "COUNT_IF" else f"DOUBLE(v{i})"
        for i, a in enumerate(kept)
    ]
    projected = raw.selectExpr("CAST(k AS BIGINT) AS k", *numbers)
    # Upper case: per block (cell and labels), for the aggregates read only per cell.
    kinds = "".join(_KINDS[a.func].upper() if a.per_cell else _KINDS[a.func] for a in kept)
    tasks = max(1, int(spark.sparkContext.defaultParallelism))
    with tempfile.TemporaryDirectory(prefix="fairtrail-dense-") as scratch:
        out = Path(scratch) / "groups.bin"
        try:
            # The driver writes the result to a file beside Python: Py4J would copy it as text.
            counter.aggregate(projected._jdf, tail, kinds, tasks, MAX_BYTES, str(out))
        except Exception as exc:
            too_large = _too_large(exc)
            if too_large is None:
                raise
            raise DenseRefused(f"too many groups for dense blocks ({too_large})") from None
        encoded = out.read_bytes()
    return _decode(bytes(encoded), kept, types)


def _too_large(exc: BaseException) -> str | None:
    """The message of the counter's ``TooLarge`` among a Py4J error's Java causes, if any."""
    java = getattr(exc, "java_exception", None)
    while java is not None:
        if java.getClass().getName() == f"{CLASS}$TooLarge":
            return str(java.getMessage())
        java = java.getCause()
    return None


def _decode(buf: bytes, kept: Sequence[Aggregate], types: Sequence[str]) -> pa.Table:
    """The Java side's little-endian arrays as the SQL's result table."""
    used = int(np.frombuffer(buf, "<i8", 1, 0)[0])
    at = 8

    def take(dtype: str, size: int) -> np.ndarray:
        nonlocal at
        out = np.frombuffer(buf, dtype, used, at)
        at += used * size
        return out

    columns: dict[str, pa.Array] = {"k": pa.array(take("<i8", 8)), "n": pa.array(take("<i8", 8))}
    sums = [take("<f8", 8) for _ in kept]
    for a, t, v in zip(kept, types, sums, strict=True):
        if a.func == "COUNT_IF" or (a.func == "SUM" and t in _INTEGRAL):
            columns[a.alias] = pa.array(np.rint(v).astype(np.int64))
        elif a.func == "SUM":
            columns[a.alias] = pa.array(v)
    for a, t, v in zip(kept, types, sums, strict=True):
        if a.func in ("MIN", "MAX"):
            seen = take("u1", 1).astype(bool)
            values = np.rint(v).astype(np.int64) if t in _INTEGRAL else v
            columns[a.alias] = pa.array(values, mask=~seen)
    return pa.table({name: columns[name] for name in ["k", "n", *(a.alias for a in kept)]})
