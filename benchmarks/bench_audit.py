"""Benchmark fairtrail's audit against the counting floor, DuckDB, fairlearn and aequitas.

Usage (from the repository root, with the project's venv)::

    python benchmarks/bench_audit.py [--sizes 1000000 10000000] [--repeats 3] [--out .bench/]
    python benchmarks/bench_audit.py --quick          # 100k rows, 1 repeat: a smoke test

Synthetic data: 3 text sensitive features (sex × race × age_band = 3 × 4 × 5 = 60 cells),
0/1 ``y_true``/``y_pred`` and a probability ``y_score``, with group-dependent base rates,
score separation and decision thresholds. It is written once per size to ``--out`` as Parquet
and CSV (pyarrow) and reused while the generator version and seed match.

Every measured item runs in a fresh subprocess (one per repeat), so one item's memory never
pollutes another's: the child times only the measured work (imports and, for in-memory
items, loading the DataFrame happen before the clock starts). Just before the work it resets
its peak RSS (``/proc/self/clear_refs``) and afterwards reports its own peak RSS (``VmHWM``,
the whole process: interpreter, imports, resident data and the work) and the RSS it had
before the work.

fairlearn's MetricFrame is far too slow to run at 1M/10M rows within the time budget, so it is
measured on a subsample (``--mf-sizes``) and extrapolated linearly (proportionally) to the
benchmark sizes; extrapolated numbers are labelled as such everywhere. aequitas needs
pandas < 3, so it runs from a separate venv given by ``--aequitas-python`` (``make bench``
creates it); when that interpreter is missing it is reported as not measured.

Results are printed as a table and written to ``--out/results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_jobs import (
    GENERATOR_VERSION,
    LABELS,
    ROOT,
    SEED,
    WORKERS,
    data_stem,
    generate,
    spec_raw,
)

DEFAULT_AEQUITAS_PYTHON = str(ROOT / ".bench" / "aequitas-venv" / "bin" / "python")
MiB = 1024 * 1024

# Targets (from the project plan), checked against the numbers measured in this run.
TARGET_FLOOR_RATIO = 3.0  # in-memory audit ≤ 3 × the bincount floor
TARGET_DUCKDB_RATIO = 1.2  # audit from the 10M-row CSV ≤ 1.2 × DuckDB GROUP BY on the file
TARGET_CSV_RSS_MIB = 400.0  # peak RSS of the audit from the 10M-row CSV
TARGET_MF_SPEEDUP = 1000.0  # in-memory audit ≥ 1000 × faster than MetricFrame
TARGET_1M_SECONDS = 0.2  # a full audit of 1M rows in memory (issue 19)


def _maxrss_bytes() -> int:
    """This process's peak RSS: ``VmHWM`` (the high-water mark of its own address space).

    ``ru_maxrss`` of a freshly exec'd child is floored at the RSS its parent had when it
    forked (the kernel carries the old address space's peak over exec), so a driver that has
    imported numpy would inflate every child's figure; ``VmHWM`` does not carry over.
    ``ru_maxrss`` is the fallback where /proc is unavailable.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _rss_now_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> bool:
    """Reset this process's peak RSS (Linux ≥ 4.0: ``echo 5 > /proc/self/clear_refs``), so
    ``VmHWM`` afterwards is the peak reached by the measured work alone (on top of what is
    already resident), not by loading the input before it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def run_worker(item: str, stem: Path, rows: int, profile: str | None) -> None:
    job = WORKERS[item](stem, rows)
    gc.collect()
    setup_peak = _maxrss_bytes()
    before = _rss_now_bytes()
    reset = _reset_peak()
    if profile:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        t0 = time.perf_counter()
        check = prof.runcall(job)
        seconds = time.perf_counter() - t0
        prof.dump_stats(profile)
        text = io.StringIO()
        stats = pstats.Stats(prof, stream=text).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        Path(profile).with_suffix(".txt").write_text(text.getvalue())
    else:
        t0 = time.perf_counter()
        check = job()
        seconds = time.perf_counter() - t0
    peak = _maxrss_bytes()
    print(
        "RESULT "
        + json.dumps(
            {
                "seconds": seconds,
                "peak_rss": peak,  # peak during the work (whole process, resident included)
                "rss_before": before,  # resident just before the measured work
                "setup_peak_rss": setup_peak,  # peak while importing / loading, before the work
                "peak_reset": reset,
                "check": check,
            }
        ),
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def measure(
    item: str, stem: Path, rows: int, python: str, timeout: float, profile: str | None = None
) -> dict[str, Any]:
    cmd = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        item,
        "--stem",
        str(stem),
        "--rows",
        str(rows),
    ]
    if profile:
        cmd += ["--profile-to", profile]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {tail[:300]}"}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0]["error"] if runs else "not run", "runs": runs}
    times = [r["seconds"] for r in ok]
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "n_runs": len(ok),
        "times_s": times,
        # Memory: the largest over the runs (conservative).
        "peak_rss_mib": max(r["peak_rss"] for r in ok) / MiB,
        "rss_before_mib": max(r["rss_before"] for r in ok) / MiB,
        "added_mib": max(r["peak_rss"] - r["rss_before"] for r in ok) / MiB,
        "setup_peak_rss_mib": max(r["setup_peak_rss"] for r in ok) / MiB,
        "peak_reset": all(r["peak_reset"] for r in ok),
        "check": ok[0]["check"],
        "checks": [r["check"] for r in ok],
        "errors": [r["error"] for r in runs if "error" in r],
    }


def extrapolate(measured: dict[int, float], n: int) -> dict[str, Any]:
    """MetricFrame's time at ``n`` rows: measured, or a least-squares line t = a + b·rows
    through the measured sizes (proportional scaling when only one size was measured)."""
    if n in measured:
        return {"seconds": measured[n], "extrapolated": False, "method": "measured"}
    xs = sorted(measured)
    shown = ", ".join(f"{x:,}" for x in xs)
    if len(xs) >= 2:
        mx = statistics.fmean(xs)
        my = statistics.fmean(measured[x] for x in xs)
        b = sum((x - mx) * (measured[x] - my) for x in xs) / sum((x - mx) ** 2 for x in xs)
        a = my - b * mx
        if b > 0:
            return {
                "seconds": a + b * n,
                "extrapolated": True,
                "from_rows": xs,
                "method": f"linear fit t = {a:.2f} s + {b * 1e6:.1f} µs × rows through the "
                f"measured {shown} rows",
            }
    base = xs[-1]
    return {
        "seconds": measured[base] * n / base,
        "extrapolated": True,
        "from_rows": xs,
        "method": f"proportional to the time measured at {base:,} rows",
    }


def fmt_s(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:.2f}"
    if x >= 0.01:
        return f"{x:.3f}"
    return f"{x:.4f}"


def fmt_ratio(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:,.0f}×" if x >= 100 else f"{x:.2f}×" if x < 10 else f"{x:.1f}×"


def fmt_load(load: Any) -> str:
    return " / ".join(f"{x:.2f}" for x in load)


def machine() -> dict[str, Any]:
    versions = {}
    for mod in ("numpy", "pandas", "pyarrow", "duckdb", "fairlearn", "sklearn", "scipy"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception as exc:  # pragma: no cover - reporting only
            versions[mod] = f"unavailable: {exc}"
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import hashlib

    digest = hashlib.sha256()
    for f in sorted((ROOT / "audit").glob("*.py")):
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return {
        "audit_sources_sha256": digest.hexdigest()[:16],
        "load_average": os.getloadavg(),
        "cores": os.cpu_count(),
        "memory_gib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def aequitas_status(python: str) -> tuple[bool, str]:
    if not Path(python).is_file():
        return False, (
            f"no aequitas interpreter at {python}: `make bench` creates that venv "
            "(aequitas 1.1.0 needs pandas < 3, so it cannot share the project venv)"
        )
    probe = subprocess.run(
        [python, "-c", "import aequitas, pandas; print(pandas.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        tail = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return False, f"aequitas does not import in {python}: {tail[:200]}"
    return True, f"separate venv {python} (pandas {probe.stdout.strip()})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--large-repeats",
        type=int,
        default=None,
        help="repeats at sizes ≥ 5M rows (default: --repeats)",
    )
    p.add_argument("--out", type=Path, default=ROOT / ".bench")
    p.add_argument(
        "--mf-sizes",
        type=int,
        nargs="+",
        default=[100_000, 200_000],
        help="subsample sizes at which MetricFrame is measured",
    )
    p.add_argument("--aequitas-python", default=DEFAULT_AEQUITAS_PYTHON)
    p.add_argument(
        "--aequitas-max-rows",
        type=int,
        default=10_000_000,
        help="measure aequitas at benchmark sizes up to this many rows",
    )
    p.add_argument("--timeout", type=float, default=900.0, help="per measured run, seconds")
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile the fairtrail items at the largest size with cProfile",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 100k rows, 1 repeat, MetricFrame on 20k rows",
    )
    # Internal: run one measured item in this (fresh) process.
    p.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--stem", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    p.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        run_worker(args.worker, args.stem, args.rows, args.profile_to)
        return 0

    if args.quick:
        args.sizes, args.repeats, args.mf_sizes = [100_000], 1, [20_000]
    sizes = sorted(set(args.sizes))
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    machine_start = machine()
    py = sys.executable
    log = print

    # Data: the benchmark sizes; MetricFrame subsamples are the head of the smallest file.
    meta = {}
    for n in sizes:
        log(f"data: {n:,} rows … ", end="", flush=True)
        meta[n] = generate(out, n)
        m = meta[n]
        log(
            ("reused" if m["reused"] else f"generated in {m['generate_seconds']} s")
            + f" (CSV {m['csv_bytes'] / MiB:,.0f} MiB, Parquet {m['parquet_bytes'] / MiB:,.0f} MiB)"
        )
    mf_sizes = sorted(s for s in set(args.mf_sizes) if s <= max(sizes))
    mf_stem = data_stem(out, min(n for n in sizes if n >= max(mf_sizes))) if mf_sizes else None

    aeq_ok, aeq_note = aequitas_status(args.aequitas_python)
    items = [
        "fairtrail_memory",
        "fairtrail_parquet",
        "fairtrail_csv",
        "fairtrail_points",
        "floor_bincount",
        "floor_encode",
        "floor_scores",
        "duckdb_parquet",
        "duckdb_csv",
    ]
    results: dict[str, dict[int, dict[str, Any]]] = {k: {} for k in WORKERS}

    def run_item(item: str, stem: Path, rows: int, repeats: int, python: str = py) -> None:
        runs = []
        for i in range(repeats):
            log(f"  {item:<18} {rows:>11,} rows  run {i + 1}/{repeats} … ", end="", flush=True)
            r = measure(item, stem, rows, python, args.timeout)
            runs.append(r)
            log(
                r["error"]
                if "error" in r
                else f"{r['seconds']:.3f} s, peak RSS {r['peak_rss'] / MiB:,.0f} MiB"
            )
        results[item][rows] = summarise(runs)

    for n in sizes:
        repeats = (
            args.repeats if n < 5_000_000 or args.large_repeats is None else args.large_repeats
        )
        log(f"size {n:,}: {repeats} repeat(s) per item, each in a fresh process")
        for item in items:
            run_item(item, data_stem(out, n), n, repeats)
        if aeq_ok and n <= args.aequitas_max_rows:
            run_item("aequitas", data_stem(out, n), n, repeats, args.aequitas_python)
    for m in mf_sizes:
        assert mf_stem is not None
        log(f"MetricFrame subsample {m:,} rows (and fairtrail in-memory at the same size)")
        run_item("metricframe", mf_stem, m, 1)
        for item in ("fairtrail_memory", "fairtrail_points"):
            if m not in results[item]:
                run_item(item, mf_stem, m, args.repeats)

    profiles = {}
    if args.profile:
        n = max(sizes)
        for item in ("fairtrail_memory", "fairtrail_csv"):
            target = out / f"profile_{item}_{n}.prof"
            log(f"  profiling {item} at {n:,} rows → {target}")
            r = measure(item, data_stem(out, n), n, py, args.timeout, str(target))
            profiles[item] = {
                "seconds_under_profiler": r.get("seconds"),
                "stats": str(target),
                "text": str(target.with_suffix(".txt")),
                "error": r.get("error"),
            }

    # MetricFrame at the benchmark sizes: measured when a subsample size equals the size,
    # otherwise extrapolated from the measured subsample sizes (labelled so everywhere).
    mf_measured = {m: s["median_s"] for m, s in results["metricframe"].items() if "median_s" in s}
    mf_at = {n: extrapolate(mf_measured, n) for n in sizes} if mf_measured else {}
    machine_end = machine()

    def med(item: str, n: int) -> float | None:
        s = results[item].get(n)
        return s.get("median_s") if s else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    # ------------------------------------------------------------------ table
    lines = [
        f"fairtrail benchmark — {dt.date.today().isoformat()}, {os.cpu_count()} cores, "
        f"{machine_end['memory_gib']} GiB RAM, Python {platform.python_version()}; "
        "exact/analytic intervals, 3 features (60 cells), y_score; median of fresh-process runs",
        f"load average (1/5/15 min) at start {fmt_load(machine_start['load_average'])}, at end "
        f"{fmt_load(machine_end['load_average'])} (other processes on the machine add noise)",
        "",
    ]
    w_item = 40
    cell_w = 42
    header = f"{'item':<{w_item}}" + "".join(f" | {f'{n:,} rows':^{cell_w}}" for n in sizes)
    sub = f"{'':<{w_item}}" + "".join(
        f" | {'median s':>9} {'peak MiB':>8} {'+MiB':>6} {'× floor':>8} {'runs':>6}" for _ in sizes
    )
    lines += [header, sub, "-" * len(sub)]
    for item in [*items, "aequitas", "metricframe"]:
        row = f"{LABELS[item]:<{w_item}}"
        for n in sizes:
            if item == "metricframe":
                e = mf_at.get(n)
                if e is None:
                    row += f" | {'not measured':>{cell_w}}"
                    continue
                tag = "EXTRAP" if e["extrapolated"] else "1"
                row += (
                    f" | {fmt_s(e['seconds']):>9} {'—':>8} {'—':>6} "
                    f"{fmt_ratio(ratio(e['seconds'], med('floor_bincount', n))):>8} "
                    f"{tag:>6}"
                )
                continue
            if item == "aequitas" and not aeq_ok:
                row += f" | {'not measured':>{cell_w}}"
                continue
            s = results[item].get(n)
            if not s:
                row += f" | {'not run':>{cell_w}}"
                continue
            if "error" in s:
                row += f" | {'error (see results.json)':>{cell_w}}"
                continue
            row += (
                f" | {fmt_s(s['median_s']):>9} {s['peak_rss_mib']:>8,.0f} "
                f"{s['added_mib']:>6,.0f} "
                f"{fmt_ratio(ratio(s['median_s'], med('floor_bincount', n))):>8} "
                f"{s['n_runs']:>6}"
            )
        lines.append(row)
    lines += [
        "",
        "peak MiB: peak RSS of the fresh process during the measured work (interpreter, imports",
        "and, for in-memory items, the loaded DataFrame included); +MiB: that peak minus the RSS",
        "just before the work. × floor: median time / the np.bincount floor's median, same size.",
    ]
    for n in sizes:
        fl = results["floor_bincount"].get(n, {}).get("checks") or []
        if fl:
            ids = statistics.median(c["id_s"] for c in fl)
            bcs = statistics.median(c["bincount_s"] for c in fl)
            lines.append(
                f"floor @ {n:,}: computing the (cell, y_true, y_pred) id {fmt_s(ids)} s "
                f"+ np.bincount {fmt_s(bcs)} s (first touch of fresh memory included)"
            )
    lines.append("")
    for m in mf_sizes:
        s, f = results["metricframe"].get(m, {}), results["fairtrail_memory"].get(m, {})
        if "median_s" in s:
            lines.append(
                f"MetricFrame MEASURED at {m:,} rows: {fmt_s(s['median_s'])} s (peak RSS "
                f"{s['peak_rss_mib']:,.0f} MiB); fairtrail in-memory full audit at {m:,} rows: "
                f"{fmt_s(f.get('median_s'))} s → MetricFrame / fairtrail = "
                f"{fmt_ratio(ratio(s['median_s'], f.get('median_s')))}"
            )
        else:
            lines.append(f"MetricFrame at {m:,} rows: {s.get('error', 'not run')}")
    for n, e in mf_at.items():
        if e["extrapolated"]:
            lines.append(f"MetricFrame at {n:,} rows is EXTRAPOLATED, not measured: {e['method']}.")
    lines.append(
        f"aequitas: measured in {aeq_note}" if aeq_ok else f"aequitas: not measured ({aeq_note})"
    )

    # ------------------------------------------------------------------ targets
    big = max(sizes)
    stated = "" if big == 10_000_000 else f"; stated for 10M rows, largest here {big:,}"
    targets: list[dict[str, Any]] = []

    def target(name: str, value: float | None, goal: str, met: bool | None, note: str) -> None:
        targets.append({"target": name, "value": value, "goal": goal, "met": met, "note": note})

    if 1_000_000 in sizes:
        t = med("fairtrail_memory", 1_000_000)
        target(
            "full in-memory audit @ 1,000,000 (seconds)",
            t,
            f"≤ {TARGET_1M_SECONDS:g} s",
            None if t is None else t <= TARGET_1M_SECONDS,
            f"points only: {fmt_s(med('fairtrail_points', 1_000_000))} s; "
            f"from Parquet: {fmt_s(med('fairtrail_parquet', 1_000_000))} s",
        )
    for n in sizes:
        r = ratio(med("fairtrail_memory", n), med("floor_bincount", n))
        enc = (med("floor_bincount", n) or 0.0) + (med("floor_encode", n) or 0.0)
        target(
            f"in-memory audit / bincount floor @ {n:,}",
            r,
            f"≤ {TARGET_FLOOR_RATIO:g}×",
            None if r is None else r <= TARGET_FLOOR_RATIO,
            f"vs floor + factorize: {fmt_ratio(ratio(med('fairtrail_memory', n), enc))}; "
            f"vs floor + score histograms: "
            f"{fmt_ratio(ratio(med('fairtrail_memory', n), med('floor_scores', n)))}",
        )
    for n in sizes:
        r = ratio(med("fairtrail_csv", n), med("duckdb_csv", n))
        target(
            f"CSV audit / DuckDB GROUP BY (same CSV) @ {n:,}",
            r,
            f"≤ {TARGET_DUCKDB_RATIO:g}×",
            None if r is None else r <= TARGET_DUCKDB_RATIO,
            ("the target" + stated) if n == big else "informative (target is for 10M)",
        )
    for n in sizes:
        r = ratio(med("fairtrail_parquet", n), med("duckdb_parquet", n))
        target(
            f"Parquet audit / DuckDB GROUP BY (same Parquet) @ {n:,}",
            r,
            "(no target)",
            None,
            "informative",
        )
    s = results["fairtrail_csv"].get(big, {})
    rss = s.get("peak_rss_mib")
    target(
        f"peak RSS, audit from CSV @ {big:,}",
        rss,
        f"≤ {TARGET_CSV_RSS_MIB:g} MiB",
        None if rss is None else rss <= TARGET_CSV_RSS_MIB,
        f"resident before reading (interpreter + imports): "
        f"{s.get('rss_before_mib', math.nan):,.0f} MiB{stated}",
    )
    for m in mf_sizes:
        r = ratio(med("metricframe", m), med("fairtrail_memory", m))
        target(
            f"MetricFrame / in-memory audit @ {m:,} (MEASURED)",
            r,
            f"≥ {TARGET_MF_SPEEDUP:g}×",
            None if r is None else r >= TARGET_MF_SPEEDUP,
            "MetricFrame: point estimates only; fairtrail: + exact/analytic CIs",
        )
        r = ratio(med("metricframe", m), med("fairtrail_points", m))
        target(
            f"MetricFrame / points-only audit @ {m:,} (MEASURED)",
            r,
            f"≥ {TARGET_MF_SPEEDUP:g}×",
            None if r is None else r >= TARGET_MF_SPEEDUP,
            "like for like: both point estimates only",
        )
    for n, e in mf_at.items():
        r = ratio(e["seconds"], med("fairtrail_points", n))
        label = "EXTRAPOLATED" if e["extrapolated"] else "MEASURED"
        target(
            f"MetricFrame / points-only audit @ {n:,} ({label})",
            r,
            f"≥ {TARGET_MF_SPEEDUP:g}×",
            None if r is None else r >= TARGET_MF_SPEEDUP,
            "MetricFrame time extrapolated" if e["extrapolated"] else "measured",
        )
    lines += ["", "Targets (medians and their ratios, measured in this run):"]
    for t in targets:
        v = t["value"]
        if v is None:
            shown = "—"
        elif "MiB" in t["goal"]:
            shown = f"{v:,.0f} MiB"
        elif t["goal"].endswith(" s"):
            shown = f"{fmt_s(v)} s"
        else:
            shown = fmt_ratio(v)
        verdict = {
            True: "MET",
            False: "MISSED",
            None: "n/a" if "no target" in t["goal"] else "NOT MEASURED",
        }[t["met"]]
        lines.append(
            f"  {t['target']:<56} {shown:>9}  goal {t['goal']:<12} {verdict:<7} {t['note']}"
        )
    tp = {
        item: per[big]["check"]["tp"]
        for item, per in results.items()
        if "check" in per.get(big, {}) and "tp" in per[big]["check"]
    }
    agree = len(set(tp.values())) == 1
    lines += [
        "",
        f"Cross-check @ {big:,} rows: true-positive counts "
        + ("agree" if agree else "DISAGREE")
        + f" across items: {tp}",
    ]
    elapsed = time.perf_counter() - started
    lines.append(f"Wall time of the whole benchmark: {elapsed / 60:.1f} min")
    report = "\n".join(lines)
    print()
    print(report)
    for item, info in profiles.items():
        print(
            f"\ncProfile of {item} @ {max(sizes):,} rows "
            f"({fmt_s(info['seconds_under_profiler'])} s under the profiler), by own time:"
        )
        text = Path(info["text"])
        if text.is_file():
            body = text.read_text().split("Ordered by: internal time")[1]
            print("\n".join(body.splitlines()[3:22]))

    payload = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_end,
        "machine_at_start": machine_start,
        "config": {
            "sizes": sizes,
            "repeats": args.repeats,
            "large_repeats": args.large_repeats,
            "mf_sizes": mf_sizes,
            "intervals": "exact or analytic",
            "quick": args.quick,
            "spec": spec_raw("<data.path>"),
            "seed": SEED,
            "generator_version": GENERATOR_VERSION,
        },
        "data": {str(k): v for k, v in meta.items()},
        "results": {item: {str(n): s for n, s in per.items()} for item, per in results.items()},
        "metricframe_at_sizes": {str(n): e for n, e in mf_at.items()},
        "aequitas": {"measured": aeq_ok, "note": aeq_note},
        "targets": targets,
        "profiles": profiles,
        "table": report,
        "wall_seconds": elapsed,
    }
    (out / "results.json").write_text(json.dumps(payload, indent=2, default=str))
    print(f"\nresults: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
