"""Time the demo's mitigation sweep on Adult against the same points fitted with fairlearn.

Run: ``make bench-mitigation`` (or ``python benchmarks/bench_mitigation.py``).

fairtrail: :func:`audit.mitigation.run_sweep` with the demo's plan (9 points and the
baseline, two worker processes, each point audited with 500 bootstrap replicates). The peer,
measured in the same run: the same nine operating points fitted and predicted one after the
other with fairlearn's own classes (what a notebook does), without any audit. Target of
issue #4: the sweep in at most 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(".bench/mitigation-results.json"))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from fairlearn.postprocessing import ThresholdOptimizer
    from fairlearn.preprocessing import CorrelationRemover
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient, GridSearch
    from sklearn.base import clone

    from audit.datasets import load_adult
    from fairtrail.demo import DEMO_DATASETS, DEMO_MITIGATION, _fit, _mitigate, _split

    ds = DEMO_DATASETS["adult"]
    train, test = _split(load_adult().dropna().reset_index(drop=True), ds, 0)
    model = _fit(train, ds)
    start = time.perf_counter()
    sweep, _ = _mitigate(model, train, test, ds, seed=0)
    ours = time.perf_counter() - start

    from fairtrail.demo import _as_object, _features

    numeric, categorical = _features(train, ds)
    x = np.asarray(model[:-1].transform(_as_object(train, numeric, categorical)), np.float64)
    xt = np.asarray(model[:-1].transform(_as_object(test, numeric, categorical)), np.float64)
    y = (train[ds.target] == ds.pos_label).to_numpy().astype(int)
    s, st = train["sex"].to_numpy(), test["sex"].to_numpy()
    lr = model[-1]
    start = time.perf_counter()
    for bound in DEMO_MITIGATION.difference_bounds:
        eg = ExponentiatedGradient(clone(lr), DemographicParity(difference_bound=bound))
        eg.fit(x, y, sensitive_features=s)
        eg.predict(xt, random_state=0)
    gs = GridSearch(clone(lr), DemographicParity(), grid_size=DEMO_MITIGATION.grid_size)
    gs.fit(x, y, sensitive_features=s)
    gs.predict(xt)
    for tol in DEMO_MITIGATION.tolerances:
        for _ in range(2):  # fairlearn's ThresholdOptimizer stands in for both post-processors
            to = ThresholdOptimizer(
                estimator=lr, prefit=True, tol=tol or None, predict_method="predict_proba"
            )
            to.fit(x, y, sensitive_features=s)
            to.predict(xt, sensitive_features=st, random_state=0)
    for alpha in DEMO_MITIGATION.alphas:
        cr = CorrelationRemover(sensitive_feature_ids=["sex"], alpha=alpha)
        import pandas as pd

        frame = pd.DataFrame(x).assign(sex=(s == "Male").astype(float))
        frame.columns = frame.columns.astype(str)
        clone(lr).fit(cr.fit_transform(frame), y)
    peer = time.perf_counter() - start
    points = len(sweep.tradeoff.candidates) - 1
    result = {
        "points": points,
        "fairtrail_sweep_seconds": round(ours, 2),
        "fairlearn_sequential_seconds": round(peer, 2),
        "ratio": round(peer / ours, 2),
        "fit_seconds": {c.name: round(c.fit_seconds, 2) for c in sweep.tradeoff.candidates},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Demo sweep on Adult: {points} points + baseline, each audited (500 replicates)")
    print(f"  fairtrail run_sweep, 2 workers     {ours:6.1f} s   (target <= 60 s)")
    print(f"  fairlearn, same points, sequential {peer:6.1f} s   (no audits)")
    print(f"  ratio fairlearn / fairtrail        {peer / ours:6.2f}x")
    for name, sec in result["fit_seconds"].items():
        print(f"    {name:24s} fit {sec} s")


if __name__ == "__main__":
    main()
