"""Kernel SHAP throughput: clarify-engine vs shap.KernelExplainer vs the model-call floor.

For each model (GBM, logistic regression), feature count M and baseline size K:

* **ours**: :func:`clarify_engine.explain._kernel_shap.kernel_shap` with the default budget
  (``min(2M + 2048, 2^M - 2)``), ``max_rows_per_call=100_000``, ``--workers`` (default 1);
* **shap**: ``shap.KernelExplainer(f, baseline).shap_values(X, nsamples=<same>, l1_reg=False)``
  on fewer rows (it is slow);
* **floor**: the bare model predicting the same synthetic rows (explained rows x budget x K:
  for each row, each coalition of the plan, each baseline row, in that order) in batches of
  100,000 rows built before the clock starts: what any implementation that sends every
  synthetic row to the model must pay. (Tree models predict much faster on repeated or
  sorted rows, branch prediction, so the floor must use the real synthetic rows.)

Rows/s = explained rows per second of wall time, best of ``--repeat`` runs; ours and the floor
are measured alternately so that both see the same load from other work. Run::

    python benchmarks/shap_throughput.py            # full table
    python benchmarks/shap_throughput.py --quick    # small smoke run
"""

from __future__ import annotations

import os

# Single-threaded BLAS, set before numpy loads: the logistic regression's predict is a BLAS
# product whose threads make the floor swing 5x on a shared machine; shap's own measurements
# (spec kernel-shap.md §3) were taken the same way.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import GradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from clarify_engine.explain._coalitions import coalition_plan  # noqa: E402
from clarify_engine.explain._kernel_shap import default_num_samples, kernel_shap  # noqa: E402

BATCH = 100_000


def _best(fn, repeat):
    """Best wall time of ``repeat`` calls of ``fn``."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _model(kind, m, seed=0):
    """A fitted model on M features and its score function (positive-class probability)."""
    X, y = make_classification(n_samples=3000, n_features=m, n_informative=min(m, 8), random_state=seed)
    if kind == "gbm":
        est = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed).fit(X, y)
    else:
        est = LogisticRegression(max_iter=1000).fit(X, y)
    return X, (lambda rows: est.predict_proba(rows)[:, 1:])


def run_cell(kind, m, k, n_ours, n_shap, repeat, with_shap=True, workers=1):
    """Measure one (model, M, K) cell; returns a dict of rows/s and ratios."""
    X, f = _model(kind, m)
    rng = np.random.default_rng(1)
    baseline = X.mean(axis=0, keepdims=True) if k == 1 else X[rng.choice(X.shape[0], k, replace=False)]
    rows = np.ascontiguousarray(X[rng.choice(X.shape[0], n_ours, replace=False)])
    budget = default_num_samples(m)
    kernel_shap(f, rows[:2], baseline, seed=0)  # compile / warm up

    def ours():
        kernel_shap(f, rows, baseline, seed=0, max_rows_per_call=BATCH, workers=workers)

    # The very rows shap would send, in its order: each coalition's baseline block per row.
    masks = coalition_plan(m, budget, 0).masks.astype(bool)  # (C, M)
    synthetic = np.concatenate([
        np.where(masks[:, None, :], x[None, None, :], baseline[None, :, :]).reshape(-1, m) for x in rows])

    def floor():
        for lo in range(0, synthetic.shape[0], BATCH):
            f(synthetic[lo: lo + BATCH])

    # Alternate the two so that both see the same load from other work on the machine.
    t_ours, t_floor = np.inf, np.inf
    for _ in range(repeat):
        t_ours = min(t_ours, _best(ours, 1))
        t_floor = min(t_floor, _best(floor, 1))
    out = {"model": kind, "M": m, "K": k, "budget": budget,
           "ours": n_ours / t_ours, "floor": n_ours / t_floor}
    if with_shap:
        import shap

        explainer = shap.KernelExplainer(f, baseline)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_shap = _best(lambda: explainer.shap_values(rows[:n_shap], nsamples=budget, l1_reg=False, silent=True), 1)
        out["shap"] = n_shap / t_shap
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run: M=10,20, few rows")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-shap", action="store_true", help="skip shap.KernelExplainer")
    parser.add_argument("--workers", type=int, default=1, help="kernel_shap workers (2 pipelines synthesis)")
    parser.add_argument("--models", default="gbm,logreg", help="comma-separated subset of gbm,logreg")
    parser.add_argument("--ms", default=None, help="comma-separated feature counts (default 10,20,50)")
    parser.add_argument("--ks", default="1,10", help="comma-separated baseline sizes")
    args = parser.parse_args(argv)
    if args.quick:
        ms, sizes = (10, 20), {"gbm": (20, 3), "logreg": (100, 5)}
    else:
        ms, sizes = (10, 20, 50), {"gbm": (200, 10), "logreg": (1000, 20)}
    if args.ms:
        ms = tuple(int(v) for v in args.ms.split(","))
    print("| model | M | K | budget | ours rows/s | floor rows/s | shap rows/s | ours/floor time | speed-up vs shap |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for kind in args.models.split(","):
        for m in ms:
            for k in (int(v) for v in args.ks.split(",")):
                n_ours, n_shap = sizes[kind]
                if kind == "gbm" and k == 10:
                    n_ours = max(n_ours // 4, 5)
                    n_shap = max(n_shap // 2, 2)
                r = run_cell(kind, m, k, n_ours, n_shap, args.repeat, with_shap=not args.no_shap,
                             workers=args.workers)
                shap_rate = r.get("shap", float("nan"))
                print(f"| {kind} | {m} | {k} | {r['budget']} | {r['ours']:,.1f} | {r['floor']:,.1f} | "
                      f"{shap_rate:,.2f} | {r['floor'] / r['ours']:.2f}x | {r['ours'] / shap_rate:,.1f}x |",
                      flush=True)


if __name__ == "__main__":
    main()
