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
are measured alternately so that both see the same load from other work.

``--exact``: the exact paths (:mod:`clarify_engine.explain._exact`) against shap's
``TreeExplainer(model, data=baseline, feature_perturbation="interventional")`` (the same
interventional values, for the margin) and against our Kernel SHAP with the default budget, on
the same model and baseline (issue 18's setting: M=30, 2,000 rows, K=10).

``--accuracy``: relative L1 error ``sum|phi - exact| / sum|exact|`` against the exact values, at
equal model calls per explained row (budgets ``2M + 2048``, 4x and 16x that), for ours,
``shap.KernelExplainer`` (``l1_reg=False``, ``nsamples=budget``) and ``shap.PermutationExplainer``
(``max_evals=budget + 2``); several seeds, mean error. Run::

    python benchmarks/shap_throughput.py            # full table
    python benchmarks/shap_throughput.py --quick    # small smoke run
    python benchmarks/shap_throughput.py --exact
    python benchmarks/shap_throughput.py --accuracy
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


def _exact_models(m, seed=0, n_train=3000):
    """Models whose explained output is additive (so their exact values are known): a 100-tree
    depth-3 GBM's margin (``decision_function``), a random forest's probability, a logistic
    regression's margin, and, when lightgbm is installed, a 100-tree LGBMClassifier's margin
    (``raw_score``). Returns {name: (estimator, score function, X)}."""
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples=n_train, n_features=m, n_informative=min(m - 2, 8), random_state=seed)
    gbm = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed).fit(X, y)
    rf = RandomForestClassifier(n_estimators=50, max_depth=6, random_state=seed, n_jobs=1).fit(X, y)
    lr = LogisticRegression(max_iter=1000).fit(X, y)
    models = {
        "gbm margin": (gbm, lambda rows: gbm.decision_function(rows)[:, None], X),
        "rf proba": (rf, lambda rows: rf.predict_proba(rows)[:, 1:], X),
        "logreg margin": (lr, lambda rows: lr.decision_function(rows)[:, None], X),
    }
    try:
        import lightgbm
    except ImportError:
        return models
    lgbm = lightgbm.LGBMClassifier(n_estimators=100, num_leaves=8, random_state=seed, n_jobs=1, verbose=-1).fit(X, y)
    models["lgbm margin"] = (lgbm, lambda rows: lgbm.predict(rows, raw_score=True)[:, None], X)
    return models


def _exact_values(est, X, baseline, margin=None):
    """Our exact path on ``est``'s explained output here (its margin, or a forest's probability):
    a function rows -> KernelShapResult."""
    import dataclasses

    from clarify_engine.explain._exact import EXACT_LINEAR, EXACT_TREE, ExactChoice, choose_exact, exact_shap
    from clarify_engine.explain._exact_linear import linear_model
    from clarify_engine.explain._exact_tree import tree_ensemble

    names = [f"f{j}" for j in range(X.shape[1])]
    choice = choose_exact(est, features=names, link="identity", X=X[:16], baseline=baseline)
    if choice.method not in (EXACT_TREE, EXACT_LINEAR):
        # the margin (decision_function) is additive: read the model and explain that
        read, method = tree_ensemble(est), EXACT_TREE
        if isinstance(read, str):
            read, method = linear_model(est), EXACT_LINEAR
        read = dataclasses.replace(read, output="additive")
        if method == EXACT_TREE:
            gap = margin(X[:64]).reshape(64, -1) - read.margin(X[:64])
            read = dataclasses.replace(read, intercept=read.intercept + np.median(gap, axis=0))
        assert np.allclose(read.margin(X[:200]), margin(X[:200]).reshape(200, -1), atol=1e-9)
        choice = ExactChoice(method, "margin", read, tuple(range(X.shape[1])), "identity")
    return lambda rows, workers=1: exact_shap(choice, rows, baseline, workers=workers)


def run_exact(m, k, n_rows, n_kernel, repeat, workers=1, n_train=3000, models=None):
    """Rows/s of the exact path, shap's TreeExplainer and our Kernel SHAP on each model."""
    import shap

    print(f"\nExact paths, M={m}, K={k}: rows/s (best of {repeat})")
    print("| model | exact rows/s | shap Tree/LinearExplainer rows/s | Kernel SHAP rows/s | exact / shap | "
          "exact / Kernel SHAP | max abs diff vs shap |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for name, (est, f, X) in _exact_models(m, n_train=n_train).items():
        if models and name.split()[0] not in models:
            continue
        rng = np.random.default_rng(1)
        baseline = X[rng.choice(X.shape[0], k, replace=False)]
        rows = np.ascontiguousarray(X[rng.choice(X.shape[0], n_rows, replace=n_rows > X.shape[0])])
        exact = _exact_values(est, X, baseline, f)
        exact(rows[:2])  # compile
        t_exact = _best(lambda: exact(rows, workers), repeat)
        ours = exact(rows).values[:, :, 0]
        if name.startswith("logreg"):
            explainer = shap.LinearExplainer(est, baseline)
            t_shap = _best(lambda: explainer.shap_values(rows), repeat)
            theirs = explainer.shap_values(rows)
        else:
            explainer = shap.TreeExplainer(est, data=baseline, feature_perturbation="interventional",
                                           model_output="raw")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_shap = _best(lambda: explainer.shap_values(rows, check_additivity=False), repeat)
                theirs = np.asarray(explainer.shap_values(rows, check_additivity=False))
            if theirs.ndim == 3:  # (n, M, classes): the positive class
                theirs = theirs[:, :, 1]
        diff = float(np.abs(ours - theirs).max())
        kernel_shap(f, rows[:2], baseline, seed=0)
        t_kernel = _best(lambda: kernel_shap(f, rows[:n_kernel], baseline, seed=0, max_rows_per_call=BATCH,
                                             workers=workers), 1)
        r_exact, r_shap, r_kernel = n_rows / t_exact, n_rows / t_shap, n_kernel / t_kernel
        print(f"| {name} | {r_exact:,.0f} | {r_shap:,.0f} | {r_kernel:,.1f} | {r_exact / r_shap:.2f}x | "
              f"{r_exact / r_kernel:,.0f}x | {diff:.1e} |", flush=True)


def _rel_l1(phi, exact):
    return float(np.abs(phi - exact).sum() / np.abs(exact).sum())


def run_accuracy(m, k, n_rows, factors, seeds, with_shap=True, models=None, n_train=3000):
    """Relative L1 error at equal model calls: ours, KernelExplainer, PermutationExplainer."""
    import shap

    print(f"\nAccuracy per model call, M={m}, K={k}, {n_rows} rows, mean ± sd over {seeds} seeds "
          "(relative L1 error against the exact values)")
    print("| model | budget | ours | ours, plain Kernel SHAP | KernelExplainer | PermutationExplainer | "
          "ours / Kernel | ours / Permutation |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")

    def spread(errs):
        return f"{np.mean(errs):.4f} ± {np.std(errs):.4f}"

    for name, (est, f, X) in _exact_models(m, n_train=n_train).items():
        if models and name.split()[0] not in models:
            continue
        rng = np.random.default_rng(1)
        baseline = X[rng.choice(X.shape[0], k, replace=False)]
        rows = np.ascontiguousarray(X[rng.choice(X.shape[0], n_rows, replace=False)])
        exact = _exact_values(est, X, baseline, f)(rows).values[:, :, 0]
        base_budget = 2 * m + 2048
        for factor in factors:
            budget = base_budget * factor
            ours, plain = ([_rel_l1(kernel_shap(f, rows, baseline, num_samples=budget, seed=s,
                                                regression_adjusted=adjusted).values[:, :, 0], exact)
                            for s in range(seeds)] for adjusted in (True, False))
            errs_k, errs_p = [float("nan")], [float("nan")]
            if with_shap:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    errs_k, errs_p = [], []
                    for s in range(seeds):
                        np.random.seed(s)
                        ke = shap.KernelExplainer(f, baseline)
                        errs_k.append(_rel_l1(np.asarray(ke.shap_values(rows, nsamples=budget, l1_reg=False,
                                                                         silent=True)).reshape(n_rows, m), exact))
                        np.random.seed(s)
                        pe = shap.PermutationExplainer(lambda r: f(r)[:, 0], shap.maskers.Independent(baseline))
                        errs_p.append(_rel_l1(pe(rows, max_evals=budget + 2, silent=True).values, exact))
            print(f"| {name} | {budget:,} | {spread(ours)} | {spread(plain)} | {spread(errs_k)} | {spread(errs_p)} | "
                  f"{np.mean(ours) / np.mean(errs_k):.2f} | {np.mean(ours) / np.mean(errs_p):.2f} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run: M=10,20, few rows")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-shap", action="store_true", help="skip shap.KernelExplainer")
    parser.add_argument("--workers", type=int, default=1, help="kernel_shap workers (2 pipelines synthesis)")
    parser.add_argument("--models", default="gbm,logreg",
                        help="comma-separated subset of gbm,logreg (--exact / --accuracy: gbm,rf,logreg,lgbm)")
    parser.add_argument("--ms", default=None, help="comma-separated feature counts (default 10,20,50)")
    parser.add_argument("--ks", default="1,10", help="comma-separated baseline sizes")
    parser.add_argument("--exact", action="store_true", help="exact paths vs shap's TreeExplainer and Kernel SHAP")
    parser.add_argument("--accuracy", action="store_true", help="error at equal model calls vs shap's explainers")
    parser.add_argument("--rows", type=int, default=None, help="rows for --exact / --accuracy")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for --accuracy")
    parser.add_argument("--factors", default="1,4,16", help="budget multiples of 2M+2048 for --accuracy")
    args = parser.parse_args(argv)
    if args.exact or args.accuracy:
        m = int(args.ms.split(",")[0]) if args.ms else 30
        k = int(args.ks.split(",")[0]) if args.ks != "1,10" else 10
        if args.exact:
            run_exact(m, k, args.rows or 2000, 20 if not args.quick else 4, args.repeat, args.workers,
                      n_train=600 if args.quick else 3000,
                      models=args.models.split(",") if args.models != "gbm,logreg" else None)
        if args.accuracy:
            run_accuracy(m, k, args.rows or 20, [int(v) for v in args.factors.split(",")], args.seeds,
                         with_shap=not args.no_shap, models=args.models.split(",") if args.models != "gbm,logreg"
                         else None, n_train=600 if args.quick else 3000)
        return
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
