"""Benchmark the out-of-core counting engines (DuckDB, Spark) against the in-memory one.

Usage (from the repository root, with the project's venv)::

    python benchmarks/bench_engines.py                  # Parquet 1M, 10M, 100M; CSV 10M
    python benchmarks/bench_engines.py --quick          # Parquet 1M, CSV 2M, 1 run: ~1 minute
    python benchmarks/bench_engines.py --sizes 1M,10M --csv-sizes none --engines duckdb,memory
    python benchmarks/bench_engines.py --generate-only  # only write (or reuse) the data files

Data: synthetic predictions with 3 text sensitive features, sex (2) × race (5) × age band
(6) = 60 cells, 0/1 ``y_true``/``y_pred`` (int8) and a probability ``y_score`` with 6 decimals
(hundreds of thousands of distinct values, so the engines bin it into 10,000 equal-width bins;
DuckDB lists the scores around the first rows' median in its GROUP BY, Spark fetches the
median's bin with a second query); ``--weights`` adds a ``sample_weight``.
Base rates, score separation and thresholds depend on the group, as in ``bench_jobs.py``.
The rows are generated in chunks of ``--chunk-rows`` (1M) with one seeded generator per
chunk, and written chunk by chunk with pyarrow (Parquet row groups of one chunk), so
generation never holds more than one chunk: the first 1M rows of every file are the same
rows, and the 10M CSV holds the 10M Parquet's rows. Files are cached under ``--out``
(``.bench/engines/``) and reused while their parameters match.

Every measurement runs in a fresh process, started by a small wrapper process that waits
for it with ``os.wait4``: the wall time is the whole process's (interpreter, imports, the
work) and the peak RSS is that process's own ``ru_maxrss`` (the wrapper is small, so the
exec'd worker's figure is not floored at a large parent's). For Spark, the JVM is a child
of the worker that the worker never reaps; the worker adds the JVM's own peak (``VmHWM``,
read just before the session stops), so Spark's figure is Python's peak + the JVM's peak.

Items per dataset: the full audit (``run_audit`` from the file, with intervals) with engine
``duckdb`` (``memory_limit`` 1GB), ``spark`` (``local[2]``; the session start-up is timed
separately) and ``memory`` (only up to ``--memory-max-rows``), and the peer: DuckDB's
``SELECT sex, race, age_band, y_true, y_pred, COUNT(*) … GROUP BY ALL`` over the same file,
in the same kind of process, with the same ``memory_limit``. "counting" is the time from the
call of ``run_audit`` until its bootstrap step starts: reading, validating and counting the
rows (for DuckDB and Spark, the engine's queries and the assembly of their aggregates).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import importlib.util
import itertools
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench_jobs import FEATURES, ROOT, spec_raw

SEED = 20_251_126
GENERATOR_VERSION = 1
SEX = ("Female", "Male")
RACE = ("Asian", "Black", "Hispanic", "White", "Other")
AGE = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
N_CELLS = len(SEX) * len(RACE) * len(AGE)
MiB = 1 << 20
GiB = 1 << 30
ENGINES = ("duckdb", "spark", "memory")
PEER = "peer"
# Targets from the issue, checked against the figures measured in this run.
TARGET_ROWS = 100_000_000
TARGET_DUCKDB_SECONDS = 10.0
TARGET_DUCKDB_RSS_MIB = 1024.0
TARGET_SPARK_RATIO = 5.0
# Peak RSS per row of the in-memory audit from a file, when this run measured none (the
# 10M-row Parquet audit peaked at 1,194 MiB in benchmarks/README.md).
MEMORY_BYTES_PER_ROW = 125.0

#: The wrapper: runs the worker command, waits for it with os.wait4 and prints the wall time
#: and the worker's own rusage. It imports nothing large, so the worker's ru_maxrss (which
#: starts from the RSS of the process that exec'd it) is the worker's own.
WRAPPER = """
import json, os, subprocess, sys, time
log, cmd = sys.argv[1], sys.argv[2:]
with open(log, "wb") as fh:
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
child.returncode = os.waitstatus_to_exitcode(status)
print(json.dumps({"wall": wall, "maxrss_kib": usage.ru_maxrss, "rc": child.returncode,
                  "user": usage.ru_utime, "sys": usage.ru_stime}))
"""


# ---------------------------------------------------------------------------------------------
# Sizes and names
# ---------------------------------------------------------------------------------------------


def parse_rows(text: str) -> int:
    """``1M`` → 1,000,000; also ``250k``, ``1e6`` and plain integers."""
    t = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000, "b": 1_000_000_000}
    if t and t[-1] in scale:
        return round(float(t[:-1]) * scale[t[-1]])
    return int(float(t))


def rows_label(n: int) -> str:
    for unit, size in (("G", 1_000_000_000), ("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def parse_list(text: str, parse: Callable[[str], Any]) -> list[Any]:
    if text.strip().lower() in ("", "none", "0"):
        return []
    return [parse(x) for x in text.split(",") if x.strip()]


# ---------------------------------------------------------------------------------------------
# Data: generated chunk by chunk, written chunk by chunk
# ---------------------------------------------------------------------------------------------


def data_path(out: Path, fmt: str, rows: int, weights: bool) -> Path:
    return out / f"rows_{rows_label(rows)}{'_w' if weights else ''}.{fmt}"


def _chunk(index: int, rows: int, weights: bool) -> Any:
    """Chunk ``index`` of the data: ``rows`` rows from its own seeded generator."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng([SEED, index])
    sex = rng.choice(len(SEX), size=rows, p=[0.5, 0.5])
    race = rng.choice(len(RACE), size=rows, p=[0.08, 0.13, 0.17, 0.57, 0.05])
    age = rng.choice(len(AGE), size=rows, p=[0.13, 0.20, 0.19, 0.18, 0.17, 0.13])
    logit = (
        -0.7
        + np.array([-0.15, 0.15])[sex]
        + np.array([0.2, -0.35, -0.2, 0.1, 0.0])[race]
        + np.array([-0.6, -0.1, 0.2, 0.3, 0.25, 0.0])[age]
    )
    y_true = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
    separation = 1.2 + np.array([0.0, 0.2, -0.3, 0.3, 0.1])[race] + 0.1 * age
    z = 0.6 * logit + separation * (2.0 * y_true - 1.0) + rng.normal(0.0, 1.0, rows)
    y_score = np.round(1.0 / (1.0 + np.exp(-z)), 6)
    threshold = 0.5 + np.array([0.03, -0.02])[sex] + np.array([0.0, 0.05, 0.02, -0.02, 0.01])[race]
    y_pred = (y_score >= threshold).astype(np.int8)

    def text(values: tuple[str, ...], codes: Any) -> Any:
        return pc.take(pa.array(values, pa.string()), pa.array(codes.astype(np.int8)))

    columns = {
        "sex": text(SEX, sex),
        "race": text(RACE, race),
        "age_band": text(AGE, age),
        "y_true": pa.array(y_true),
        "y_pred": pa.array(y_pred),
        "y_score": pa.array(y_score),
    }
    if weights:
        columns["sample_weight"] = pa.array(np.round(rng.gamma(2.0, 0.5, rows), 3))
    return pa.table(columns)


def generate(out: Path, fmt: str, rows: int, chunk_rows: int, weights: bool) -> dict[str, Any]:
    """Write (or reuse) one data file; returns its metadata (bytes, seconds, reused)."""
    path = data_path(out, fmt, rows, weights)
    meta_path = path.with_name(path.name + ".json")
    want = {
        "rows": rows,
        "format": fmt,
        "seed": SEED,
        "generator_version": GENERATOR_VERSION,
        "chunk_rows": chunk_rows,
        "weights": weights,
    }
    if meta_path.is_file() and path.is_file():
        meta = json.loads(meta_path.read_text())
        if all(meta.get(k) == v for k, v in want.items()) and meta.get("bytes") == (
            path.stat().st_size
        ):
            return {**meta, "reused": True}
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    t0 = time.perf_counter()
    writer: Any = None
    peak_chunk = 0
    try:
        for index, start in enumerate(range(0, rows, chunk_rows)):
            table = _chunk(index, min(chunk_rows, rows - start), weights)
            peak_chunk = max(peak_chunk, table.nbytes)
            if writer is None:
                writer = (
                    pq.ParquetWriter(partial, table.schema)
                    if fmt == "parquet"
                    else pacsv.CSVWriter(partial, table.schema)
                )
            if fmt == "parquet":
                writer.write_table(table, row_group_size=chunk_rows)
            else:
                writer.write_table(table)
            del table
    finally:
        if writer is not None:
            writer.close()
    partial.replace(path)
    meta = {
        **want,
        "bytes": path.stat().st_size,
        "chunk_bytes": peak_chunk,
        "generate_seconds": round(time.perf_counter() - t0, 2),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return {**meta, "reused": False}


# ---------------------------------------------------------------------------------------------
# Workers: one measurement each, in a fresh process; the result goes to a JSON file.
# ---------------------------------------------------------------------------------------------


def _vmhwm_kib(pid: int | str = "self") -> int:
    """A process's peak RSS (``VmHWM``) in KiB; 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(root: int) -> list[int]:
    """The live descendants of ``root`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _audit_check(result: Any) -> dict[str, Any]:
    return {
        "rows": int(result.data.n_rows),
        "tp": int(sum(c.tp for c in result.cells)),
        "cells": len(result.cells),
        "status": str(result.status),
    }


def worker_audit(engine: str, path: Path, memory_limit: str, weights: bool) -> dict:
    """The full audit of ``path`` with ``engine``; counting = until the bootstrap step."""
    import warnings

    t_import = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from audit import parse_spec, run_audit

    raw = spec_raw(str(path))
    raw["audit"]["engine"] = engine
    if engine == "duckdb" and memory_limit:
        raw["audit"]["memory_limit"] = memory_limit
    if weights:
        raw["data"]["sample_weight"] = "sample_weight"
    spec = parse_spec(raw)
    extra: dict[str, Any] = {}
    session = None
    if engine == "spark":
        from audit._engines._spark import spark_session

        t0 = time.perf_counter()
        session = spark_session()  # local[2] unless a session exists; run_audit reuses it
        extra["startup_s"] = time.perf_counter() - t0
        extra["master"] = str(session.sparkContext.master)
    extra["import_s"] = time.perf_counter() - t_import - extra.get("startup_s", 0.0)

    marks: list[tuple[str, float]] = []  # (phase, when it started)
    queries: dict[str, float] = {}

    def on_step(step: str, text: str) -> None:
        # The count step says which query runs ("guard: …", "groups: …", "median: …").
        name = text.split(":")[0] if step == "count" and ":" in text else step
        marks.append((name, time.perf_counter()))

    def on_files(_inputs: Any, counted: Any) -> None:
        queries.update(counted.queries)

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_audit(spec, on_step=on_step, on_files=on_files)
    t1 = time.perf_counter()
    phases: dict[str, float] = {}
    ends = [t for _, t in marks[1:]] + [t1]
    for (name, start), end in zip(marks, ends, strict=True):
        phases[name] = phases.get(name, 0.0) + end - start
    counting = next((t for name, t in marks if name == "bootstrap"), t1) - t0
    if session is not None:
        jvm = sum(_vmhwm_kib(pid) for pid in _descendants(os.getpid()))
        extra["jvm_hwm_kib"] = jvm
        session.stop()
    return {
        **extra,
        "audit_s": t1 - t0,
        "counting_s": counting,
        "queries": queries,
        "phases": phases,
        "engine_used": result.options.engine,
        "self_hwm_kib": _vmhwm_kib(),
        "check": _audit_check(result),
    }


def worker_peer(path: Path, fmt: str, memory_limit: str) -> dict:
    """DuckDB's own GROUP BY over the file: the counting step with nothing else."""
    t_import = time.perf_counter()
    import duckdb

    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    quoted = str(path).replace("'", "''")
    query = (
        f"SELECT {', '.join(FEATURES)}, y_true, y_pred, COUNT(*) AS n "
        f"FROM {reader}('{quoted}') GROUP BY ALL"
    )
    config = {"memory_limit": memory_limit} if memory_limit else {}
    con = duckdb.connect(config=config)
    import_s = time.perf_counter() - t_import
    t0 = time.perf_counter()
    rows = con.execute(query).fetchall()
    seconds = time.perf_counter() - t0
    con.close()
    return {
        "import_s": import_s,
        "audit_s": seconds,
        "counting_s": seconds,
        "self_hwm_kib": _vmhwm_kib(),
        "check": {
            "rows": int(sum(r[-1] for r in rows)),
            "tp": int(sum(r[-1] for r in rows if int(r[3]) == 1 and int(r[4]) == 1)),
            "groups": len(rows),
        },
    }


def run_worker(args: argparse.Namespace) -> int:
    path = Path(args.path)
    try:
        if args.worker == PEER:
            out = worker_peer(path, args.format, args.memory_limit)
        else:
            out = worker_audit(args.worker, path, args.memory_limit, args.weights)
    except BaseException as exc:  # reported by the driver, with the log's tail
        Path(args.result).write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        raise
    Path(args.result).write_text(json.dumps(out))
    return 0


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def measure(
    kind: str, path: Path, fmt: str, args: argparse.Namespace, scratch: Path
) -> dict[str, Any]:
    """One measurement of ``kind`` in a fresh worker process, started through the wrapper."""
    fd, result_name = tempfile.mkstemp(suffix=".json", dir=scratch)
    os.close(fd)
    result_file, log_file = Path(result_name), Path(result_name).with_suffix(".log")
    worker = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        "--path",
        str(path),
        "--format",
        fmt,
        "--memory-limit",
        args.memory_limit,
        "--result",
        str(result_file),
    ]
    if args.weights:
        worker.append("--weights")
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", WRAPPER, str(log_file), *worker],
            capture_output=True,
            text=True,
            timeout=args.timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout:.0f} s"}
    try:
        outer = json.loads(proc.stdout.strip().splitlines()[-1])
        inner = json.loads(result_file.read_text() or "{}")
    except (IndexError, json.JSONDecodeError, OSError):
        return {"error": f"wrapper failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"}
    if outer["rc"] != 0 or "error" in inner or "check" not in inner:
        tail = [ln for ln in log_file.read_text(errors="replace").splitlines() if ln.strip()]
        why = inner.get("error") or (tail[-1] if tail else f"exit {outer['rc']}")
        return {"error": why.strip().splitlines()[0][:300], "log": str(log_file)}
    result_file.unlink()
    log_file.unlink()
    peak_kib = max(outer["maxrss_kib"], inner.get("self_hwm_kib", 0))
    return {
        **inner,
        "wall_s": outer["wall"],
        "cpu_s": outer["user"] + outer["sys"],
        "maxrss_kib": outer["maxrss_kib"],
        "peak_mib": (peak_kib + inner.get("jvm_hwm_kib", 0)) / 1024,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0]["error"] if runs else "not run", "runs": runs}

    def med(key: str) -> float | None:
        values = [r[key] for r in ok if key in r]
        return statistics.median(values) if values else None

    def medians(key: str) -> dict[str, float]:
        names = list(dict.fromkeys(q for r in ok for q in r.get(key, {})))  # in run order
        return {q: statistics.median(r[key][q] for r in ok if q in r.get(key, {})) for q in names}

    return {
        "wall_s": med("wall_s"),
        "audit_s": med("audit_s"),
        "counting_s": med("counting_s"),
        "import_s": med("import_s"),
        "startup_s": med("startup_s"),
        "cpu_s": med("cpu_s"),
        "queries": medians("queries"),
        "phases": medians("phases"),
        "peak_mib": max(r["peak_mib"] for r in ok),  # the largest over the runs
        "jvm_mib": max(r.get("jvm_hwm_kib", 0) for r in ok) / 1024,
        "master": ok[0].get("master"),
        "runs": len(ok),
        "wall_all_s": [r["wall_s"] for r in ok],
        "check": ok[0]["check"],
        "checks": [r["check"] for r in ok],
        "errors": [r["error"] for r in runs if "error" in r],
    }


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GiB


def spark_unavailable() -> str | None:
    """Why Spark cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark not installed"
    if not (ROOT / "audit" / "_engines" / "_spark.py").is_file():
        return "audit/_engines/_spark.py is not there (the Spark engine is not in this checkout)"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "no Java runtime (java not on PATH, JAVA_HOME unset)"
    return None


def fmt_s(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:,.0f}" if x >= 100 else f"{x:.2f}" if x >= 1 else f"{x:.3f}"


def fmt_ratio(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:,.0f}×" if x >= 100 else f"{x:.1f}×" if x >= 10 else f"{x:.2f}×"


def fmt_bytes(n: float) -> str:
    return f"{n / GiB:,.2f} GiB" if n >= GiB else f"{n / MiB:,.0f} MiB"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def memory_estimate(measured: list[tuple[int, float]], n: int) -> float:
    """GiB the in-memory audit of ``n`` rows needs: a line through the two largest measured
    (rows, peak MiB) of this run, proportional to one, or ``MEMORY_BYTES_PER_ROW``."""
    points = sorted(set(measured))[-2:]
    if len(points) == 2 and points[1][0] > points[0][0]:
        (n0, m0), (n1, m1) = points
        slope = (m1 - m0) / (n1 - n0)
        return (m1 + slope * (n - n1)) * MiB / GiB
    if points:
        return points[-1][1] * MiB * n / points[-1][0] / GiB
    return MEMORY_BYTES_PER_ROW * n / GiB


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sizes", default="1M,10M,100M", help="Parquet sizes (default 1M,10M,100M)")
    p.add_argument("--csv-sizes", default="10M", help="CSV sizes (default 10M; 'none' for none)")
    p.add_argument("--engines", default=",".join(ENGINES), help="default duckdb,spark,memory")
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per item, median shown (default 3; 1 at 50M rows and more)",
    )
    p.add_argument("--quick", action="store_true", help="Parquet 1M and CSV 2M, 1 run each")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB's memory_limit (engine, peer)")
    p.add_argument(
        "--memory-max-rows",
        default="10M",
        help="run the in-memory engine up to this many rows (default 10M)",
    )
    p.add_argument("--weights", action="store_true", help="add and audit a sample_weight column")
    p.add_argument("--chunk-rows", default="1M", help="rows per generated chunk and row group")
    p.add_argument("--out", type=Path, default=ROOT / ".bench" / "engines")
    p.add_argument("--timeout", type=float, default=3600.0, help="per measured run, seconds")
    p.add_argument(
        "--generate-only", action="store_true", help="write (or reuse) the data files and stop"
    )
    # Internal: one measurement (a worker) or the generation of one file, in this process.
    p.add_argument("--worker", choices=[*ENGINES, PEER], help=argparse.SUPPRESS)
    p.add_argument("--generate", choices=["parquet", "csv"], help=argparse.SUPPRESS)
    p.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    p.add_argument("--path", help=argparse.SUPPRESS)
    p.add_argument("--format", default="parquet", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        return run_worker(args)
    chunk_rows = parse_rows(args.chunk_rows)
    out: Path = args.out.resolve()
    if args.generate:
        meta = generate(out, args.generate, args.rows, chunk_rows, args.weights)
        print("META " + json.dumps(meta))
        return 0

    if args.quick:
        args.sizes, args.csv_sizes = "1M", "2M"
        args.repeat = args.repeat or 1
    sizes = sorted(set(parse_list(args.sizes, parse_rows)))
    csv_sizes = sorted(set(parse_list(args.csv_sizes, parse_rows)))
    engines = parse_list(args.engines, str.strip)
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        p.error(f"--engines: unknown {unknown}; choose from {list(ENGINES)}")
    memory_max_rows = parse_rows(args.memory_max_rows)
    datasets = [("parquet", n) for n in sizes] + [("csv", n) for n in csv_sizes]
    say = print

    say(
        f"fairtrail engines benchmark — {dt.datetime.now().isoformat(timespec='minutes')}, "
        f"{os.cpu_count()} cores, {memory_gib():.1f} GiB RAM, Python {platform.python_version()}"
    )
    say(
        "versions: "
        + ", ".join(
            f"{n} {version(n)}" for n in ("duckdb", "pyspark", "numpy", "pyarrow", "pandas")
        )
    )
    say(f"load average (1/5/15 min) at start: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # ---------------------------------------------------------------- data
    say(f"\ndata: {out} (chunks and row groups of {chunk_rows:,} rows, seed {SEED})")
    files: dict[tuple[str, int], Path] = {}
    gen_meta: dict[str, Any] = {}
    for fmt, n in datasets:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--generate",
                fmt,
                "--rows",
                str(n),
                "--chunk-rows",
                str(chunk_rows),
                "--out",
                str(out),
                *(["--weights"] if args.weights else []),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("META ")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            say(f"  {fmt:<7} {n:>13,} rows: generation failed: {tail}")
            return 1
        meta = json.loads(lines[-1][5:])
        path = data_path(out, fmt, n, args.weights)
        files[(fmt, n)] = path
        gen_meta[path.name] = meta
        how = (
            "reused"
            if meta["reused"]
            else f"generated in {meta['generate_seconds']:.1f} s "
            f"({meta['generate_seconds'] / n * 1e7:.1f} s per 10M rows; "
            f"process wall {time.perf_counter() - t0:.1f} s)"
        )
        say(
            f"  {path.name:<22} {n:>13,} rows  {fmt_bytes(meta['bytes']):>10}  "
            f"({meta['bytes'] / n:.1f} B/row)  {how}"
        )
    if args.generate_only:
        return 0

    # ---------------------------------------------------------------- runs
    skip: dict[str, str] = {}
    if "spark" in engines:
        why = spark_unavailable()
        if why:
            skip["spark"] = why
    scratch = Path(tempfile.mkdtemp(prefix="bench-engines-", dir=out))
    results: dict[str, dict[str, dict[str, Any]]] = {}
    memory_needed: dict[str, float] = {}
    measured_memory: list[tuple[int, float]] = []
    started = time.perf_counter()
    for fmt, n in datasets:
        path = files[(fmt, n)]
        key = f"{fmt} {rows_label(n)}"
        repeat = args.repeat or (1 if n >= 50_000_000 else 3)
        kinds = [PEER] + [e for e in engines if e not in skip]
        if "memory" in kinds and n > memory_max_rows:
            kinds.remove("memory")
            memory_needed[key] = memory_estimate(measured_memory, n)
        say(f"\n{key} ({n:,} rows, {path.name}): {repeat} run(s) per item, fresh processes")
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        for i in range(repeat):  # interleaved, so drifting load hits every item alike
            for kind in kinds:
                say(f"  {kind:<7} run {i + 1}/{repeat} … ", end="", flush=True)
                r = measure(kind, path, fmt, args, scratch)
                runs[kind].append(r)
                if "error" in r:
                    say(f"ERROR: {r['error']}" + (f" (log: {r['log']})" if "log" in r else ""))
                else:
                    extra = f", start-up {r['startup_s']:.2f} s" if "startup_s" in r else ""
                    say(
                        f"wall {r['wall_s']:.2f} s, counting {r['counting_s']:.2f} s{extra}, "
                        f"peak RSS {r['peak_mib']:,.0f} MiB"
                    )
        results[key] = {k: summarise(v) for k, v in runs.items()}
        mem = results[key].get("memory", {})
        if "peak_mib" in mem:
            measured_memory.append((n, mem["peak_mib"]))
    elapsed = time.perf_counter() - started
    with contextlib.suppress(OSError):  # left in place when a failed run's log is in it
        scratch.rmdir()

    # ---------------------------------------------------------------- report
    say("")
    say("=" * 104)
    say(
        f"fairtrail engines — {dt.date.today().isoformat()}, {os.cpu_count()} cores, "
        f"{memory_gib():.1f} GiB RAM; "
        + ", ".join(f"{n} {version(n)}" for n in ("duckdb", "pyspark", "numpy"))
    )
    say(
        "full audit (run_audit from the file, with intervals, 60 cells, y_score binned) "
        f"vs DuckDB GROUP BY ALL; DuckDB memory_limit={args.memory_limit or 'default'} "
        "(engine and peer)"
    )
    say(
        "wall = the fresh process (interpreter, imports, work); audit = run_audit; counting = "
        "run_audit until bootstrap;\npeak RSS = the process's ru_maxrss (Spark: + the JVM's "
        "VmHWM); × peer = wall / the peer's wall in this run; medians"
    )
    say(
        "phases (from run_audit's steps): read/validate = reading the file (memory) or opening "
        "it and its schema (duckdb, spark);\nguard (the first rows), groups, median = each step "
        "and the Python work after it until the next one; bootstrap = intervals, disparities, "
        "verdicts"
    )
    say(f"load average at end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    header = (
        f"{'engine':<24} {'wall s':>8} {'audit s':>8} {'counting s':>10} {'start-up s':>10} "
        f"{'peak RSS MiB':>12} {'× peer':>8} {'count × peer':>12} {'runs':>4}"
    )
    labels = {
        PEER: "peer: DuckDB GROUP BY",
        "duckdb": "duckdb",
        "spark": "spark local[2]",
        "memory": "memory",
    }
    for key, items in results.items():
        say(f"\n{key}")
        say(header)
        say("-" * len(header))
        peer = items.get(PEER, {})
        for kind in [PEER, *engines]:
            label = labels[kind]
            if kind in skip:
                say(f"{label:<24} skipped: {skip[kind]}")
                continue
            if kind == "memory" and key in memory_needed:
                say(
                    f"{label:<24} skipped: needs ~{memory_needed[key]:.1f} GiB "
                    f"(runs up to --memory-max-rows {rows_label(memory_max_rows)})"
                )
                continue
            s = items.get(kind)
            if s is None:
                continue
            if "error" in s:
                say(f"{label:<24} ERROR: {s['error']}")
                continue
            say(
                f"{label:<24} {fmt_s(s['wall_s']):>8} {fmt_s(s['audit_s']):>8} "
                f"{fmt_s(s['counting_s']):>10} {fmt_s(s['startup_s']):>10} "
                f"{s['peak_mib']:>12,.0f} "
                f"{fmt_ratio(ratio(s['wall_s'], peer.get('wall_s'))):>8} "
                f"{fmt_ratio(ratio(s['counting_s'], peer.get('counting_s'))):>12} "
                f"{s['runs']:>4}"
            )
        for kind in engines:
            s = items.get(kind, {})
            if s.get("phases"):
                parts = ", ".join(f"{q} {t:.2f}" for q, t in s["phases"].items())
                say(f"  {kind} phases, s: {parts}")
            if s.get("queries"):
                parts = ", ".join(f"{q} {t:.2f}" for q, t in s["queries"].items())
                rest = s["counting_s"] - sum(s["queries"].values())
                say(
                    f"  {kind} queries alone, s: {parts}; counting outside them (connect, schema, "
                    f"assembling the aggregates in Python): {rest:.2f}"
                )
            if s.get("jvm_mib"):
                say(f"  spark: master {s['master']}, JVM peak {s['jvm_mib']:,.0f} MiB (in RSS)")

    # Cost curve: seconds per 10M rows of the DuckDB engine at each Parquet size.
    curve = [
        (n, results[f"parquet {rows_label(n)}"].get("duckdb", {}))
        for n in sizes
        if "wall_s" in results[f"parquet {rows_label(n)}"].get("duckdb", {})
    ]
    if curve:
        say("\ncost curve, duckdb engine on Parquet (seconds per 10M rows; flat = linear growth):")
        for what in ("audit_s", "counting_s"):
            points = "  ".join(f"{rows_label(n)}: {s[what] / n * 1e7:.2f}" for n, s in curve)
            slopes = [
                math.log(b[1][what] / a[1][what]) / math.log(b[0] / a[0])
                for a, b in itertools.pairwise(curve)
                if a[1][what] > 0 and b[1][what] > 0
            ]
            growth = (
                "; growth exponent "
                + ", ".join(f"{x:.2f}" for x in slopes)
                + " (1 = linear, < 1 = fixed costs still dominate)"
                if slopes
                else ""
            )
            say(f"  {what.replace('_s', ''):<9} {points}{growth}")

    # Targets (issue): 100M Parquet with DuckDB ≤ 10 s and ≤ 1 GiB; Spark ≤ 5× DuckDB.
    if sizes:
        n = max(sizes)
        items = results[f"parquet {rows_label(n)}"]
        d, s = items.get("duckdb", {}), items.get("spark", {})
        at = f"@ {n:,}" + ("" if n >= TARGET_ROWS else f" (target is for {TARGET_ROWS:,})")
        say(f"\ntargets (issue), Parquet {at}:")

        def verdict(ok: bool) -> str:
            return "MET" if ok else "MISSED"

        if "audit_s" in d:
            fast = d["audit_s"] <= TARGET_DUCKDB_SECONDS
            say(
                f"  duckdb audit time        {d['audit_s']:>8.2f} s    goal ≤ "
                f"{TARGET_DUCKDB_SECONDS:.0f} s      {verdict(fast)}"
                f"   (process wall {d['wall_s']:.2f} s)"
            )
            say(
                f"  duckdb peak RSS          {d['peak_mib']:>8,.0f} MiB  goal ≤ "
                f"{TARGET_DUCKDB_RSS_MIB:,.0f} MiB  "
                f"{verdict(d['peak_mib'] <= TARGET_DUCKDB_RSS_MIB)}"
            )
        else:
            say("  duckdb: not measured")
        if "audit_s" in s and "audit_s" in d:
            with_start = (s["audit_s"] + (s["startup_s"] or 0.0)) / d["audit_s"]
            without = s["audit_s"] / d["audit_s"]
            say(
                f"  spark / duckdb audit     {without:>8.2f}×     goal ≤ {TARGET_SPARK_RATIO:.0f}×"
                f"          {verdict(without <= TARGET_SPARK_RATIO)}   "
                f"(with session start-up: {with_start:.2f}× "
                f"{verdict(with_start <= TARGET_SPARK_RATIO)}; "
                f"walls {s['wall_s']:.2f} / {d['wall_s']:.2f} s)"
            )
        else:
            say(f"  spark: not measured ({skip.get('spark') or s.get('error') or 'not asked'})")

    # Cross-check: every item counts the same rows and true positives on a dataset.
    say("\ncross-check (rows and true positives, every run of every item on a dataset):")
    all_ok = True
    for key, items in results.items():
        seen = {(c["rows"], c["tp"]) for s in items.values() if "checks" in s for c in s["checks"]}
        ok = len(seen) == 1
        all_ok &= ok
        shown = ", ".join(f"{r:,} rows / {tp:,} TP" for r, tp in sorted(seen)) or "nothing ran"
        say(f"  {key:<12} {'agree' if ok else 'DISAGREE'}: {shown}")
    say(f"\nmeasuring took {elapsed:.0f} s")

    report = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib(), 1),
        "python": platform.python_version(),
        "versions": {n: version(n) for n in ("duckdb", "pyspark", "numpy", "pyarrow", "pandas")},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "data": gen_meta,
        "skipped": skip,
        "memory_needed_gib": memory_needed,
        "results": results,
    }
    (out / "results.json").write_text(json.dumps(report, indent=2))
    say(f"results: {out / 'results.json'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
