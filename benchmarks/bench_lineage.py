"""What recording lineage costs a ``fairtrail run``, and what each part of it costs.

Usage (from the repository root, with the project's venv)::

    python benchmarks/bench_lineage.py [--sizes 1000000 10000000] [--repeats 3]
    python benchmarks/bench_lineage.py --quick      # 100k rows, 1 repeat: a smoke test

Same synthetic data as ``bench_audit.py`` (generated once under ``--out/data``). Items:

- ``audit + bundle``: :func:`audit.run_audit` from the Parquet file and
  :func:`audit.write_bundle`, without lineage: the baseline;
- ``audit + bundle + lineage``: what ``fairtrail run`` does, through
  :func:`fairtrail._provenance.audit_with_lineage` (the predictions described as an input, the
  result as an output, events in the bundle), with row digests on (the default) and off;
- the parts of describing the predictions, on the frame the audit loaded (the columns it
  uses, sensitive features categorical), as ``fairtrail run`` does: the file sha256, the row
  digest, the ``dataQualityMetrics`` facet (nulls, distincts, min/max/sum per column) and the
  group composition (rows per group and per intersectional cell);
- peers for the row digest: ``pandas.util.hash_pandas_object(frame).sum()`` (a common frame
  fingerprint; unlike the row digest it changes when the same rows are re-encoded, e.g.
  int → float through CSV) and the sha256 of the Parquet file's bytes.

Each item runs ``--repeats`` times in this process (garbage collected in between); the table
shows the median and the ratio to the baseline audit or to the pandas fingerprint.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_jobs import FEATURES, ROOT, data_stem, generate, spec_raw

sys.path.insert(0, str(ROOT))


def _median_seconds(job: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        job()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(stem: Path, repeats: int) -> dict[str, float]:
    """Median seconds of every item on the data at ``stem``."""
    import pandas as pd

    from audit import parse_spec, run_audit, write_bundle
    from fairtrail._provenance import audit_with_lineage
    from lineage._digest import file_sha256, row_digest
    from lineage._facets import quality_facet
    from lineage._groups import composition

    parquet = stem.with_suffix(".parquet")
    raw = spec_raw(str(parquet))
    plain = parse_spec(raw)
    with_digests = parse_spec({**raw, "lineage": {"namespace": "bench"}})
    without_digests = parse_spec({**raw, "lineage": {"namespace": "bench", "row_digests": False}})
    out = Path(tempfile.mkdtemp(prefix="fairtrail-bench-lineage-"))

    def baseline() -> None:
        result = run_audit(plain)
        write_bundle(result, out / "plain")

    def recorded(spec: Any) -> Callable[[], None]:
        return lambda: audit_with_lineage(spec, lambda _: out / "recorded")

    loaded: list[pd.DataFrame] = []  # the frame `fairtrail run` describes: the audit's own
    run_audit(parse_spec(spec_raw(str(parquet), 0)), on_data=loaded.append)
    frame = loaded[0]
    items: dict[str, Callable[[], Any]] = {
        "audit + bundle (baseline)": baseline,
        "audit + bundle + lineage": recorded(with_digests),
        "audit + bundle + lineage, row_digests = false": recorded(without_digests),
        "part: file sha256": lambda: file_sha256(parquet),
        "part: row digest": lambda: row_digest(frame),
        "part: dataQualityMetrics facet": lambda: quality_facet(frame),
        "part: group composition": lambda: composition(frame, FEATURES),
        "peer: pandas hash_pandas_object().sum()": lambda: pd.util.hash_pandas_object(
            frame, index=False
        ).sum(),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: _median_seconds(job, repeats) for name, job in items.items()}


def report(sizes: list[int], results: dict[int, dict[str, float]]) -> str:
    names = list(results[sizes[0]])
    header = f"{'item':<48}" + "".join(f" | {f'{n:,} rows':>22}" for n in sizes)
    sub = f"{'':<48}" + "".join(f" | {'median s':>10} {'ratio':>11}" for _ in sizes)
    lines = [header, sub, "-" * len(header)]
    for name in names:
        row = f"{name:<48}"
        for n in sizes:
            r = results[n]
            base = (
                r["peer: pandas hash_pandas_object().sum()"]
                if name == "part: row digest"
                else r["audit + bundle (baseline)"]
            )
            ratio = "" if name.startswith("peer") or name.endswith("(baseline)") else r[name] / base
            shown = f"{ratio:.2f}×" if ratio != "" else ""
            shown += " peer" if name == "part: row digest" else ""
            row += f" | {r[name]:>10.2f} {shown:>11}"
        lines.append(row)
    lines.append(
        "ratio: to the baseline audit; for the row digest, to the pandas fingerprint (peer)."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench")
    parser.add_argument("--quick", action="store_true", help="100k rows, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeats = [100_000], 1
    results = {}
    for n in args.sizes:
        generate(args.out, n)
        print(f"measuring {n:,} rows ×{args.repeats} …", file=sys.stderr, flush=True)
        results[n] = measure(data_stem(args.out, n), args.repeats)
    print(
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, median of {args.repeats}"
    )
    print(report(args.sizes, results))
    path = args.out / "lineage-results.json"
    path.write_text(json.dumps({str(n): r for n, r in results.items()}, indent=2))
    print(f"written: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
