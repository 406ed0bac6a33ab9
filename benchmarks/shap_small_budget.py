"""Kernel SHAP error against the budget, small budgets included (docs/explainability.md, "Budgets").

For M features (default 14), 20 records and a one-row baseline, all N(0, 1), and a model with
a linear part and interactions of order 2 to 4, the RMS error against the exact Shapley values
(every coalition enumerated) of:

* **ours**: :func:`clarify_engine.explain._kernel_shap.kernel_shap` (10 seeds);
* **shap's sampler**: the same solver on a plan drawn as shap draws it (sizes at random by
  kernel mass below the budget that enumerates the first class, ``2M / mass[0]``), 10 seeds;
* **shap**: ``shap.KernelExplainer(...).shap_values(nsamples=budget)`` with ``l1_reg=False``
  and with its default ``l1_reg`` (5 seeds of ``np.random``).

Also: the share of our standard errors that are ``inf``, and the RMS of ``error / standard
error`` over the finite ones (1 = calibrated). Run::

    python benchmarks/shap_small_budget.py --m 14 --budgets 1,5,10,15,20,25,27,28,40,60,83,150,400
"""

from __future__ import annotations

import argparse
import logging
import warnings

import numpy as np

from clarify_engine.explain import _coalitions as C
from clarify_engine.explain import _kernel_shap as KS


def shap_share_plan(m, budget, seed=None):
    """The plan shap's KernelExplainer draws: whole size classes only while the budget's share
    covers them, the rest drawn in complement pairs with sizes by kernel mass."""
    if budget >= 2**m - 2:
        return C._full_plan(m)
    mass = C.size_class_mass(m)
    blocks, weights, left, remaining, n_full = [], [], budget, mass.copy(), 0
    for s in range(1, mass.shape[0] + 1):
        count = C._class_count(m, s)
        if left * remaining[s - 1] / count < 1.0 - 1e-8:
            break
        block = C._enumerate_class(m, s)
        blocks.append(block)
        weights.append(np.full(block.shape[0], mass[s - 1] / count))
        left -= count
        n_full += 1
        if remaining[s - 1] < 1.0:
            remaining = remaining / (1.0 - remaining[s - 1])
        remaining[s - 1] = 0.0
    n_enum = int(sum(b.shape[0] for b in blocks))
    counts, partner = np.zeros(n_enum), np.full(n_enum, -2, dtype=np.int64)
    if n_full < mass.shape[0] and left > 0:
        drawn, drawn_counts = C._sample_pairs(m, mass[n_full:], n_full, left, np.random.default_rng(seed))
        blocks.append(drawn)
        weights.append(drawn_counts * (mass[n_full:].sum() / drawn_counts.sum()))
        counts = np.concatenate([counts, drawn_counts])
        partner = np.concatenate([partner, n_enum + C._complements(drawn)])
    partner[partner < -2] = -1
    w = np.concatenate(weights)
    return C.CoalitionPlan(masks=np.concatenate(blocks), weights=w / w.sum(), n_enumerated=n_enum,
                           exact=False, counts=counts, partner=partner)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=14)
    parser.add_argument("--budgets", default="1,5,10,15,20,25,27,28,40,60,83,150,400")
    parser.add_argument("--no-shap", action="store_true")
    args = parser.parse_args()
    m = args.m
    if m < 10:
        parser.error(f"--m must be at least 10 (the model uses features 0..9); found {m}")

    def model(r):
        return (r @ np.linspace(-1, 1, r.shape[1]) + r[:, 0] * r[:, 1] * r[:, 2] + np.sin(r[:, 3] * r[:, 4])
                + r[:, 5] ** 2 * r[:, 6] + np.tanh(r[:, 7] * r[:, 8] * r[:, 9]) + r[:, m - 2] * r[:, m - 1] * r[:, 0])

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, m))
    B = rng.normal(size=(1, m))
    exact = KS.kernel_shap(model, X, B, num_samples=2**m).values[:, :, 0]
    print(f"M = {m}, RMS of the exact values {np.sqrt(np.mean(exact ** 2)):.3f}")
    print("| budget | ours | shap's sampler, our solver | shap l1_reg=False | shap default l1_reg "
          "| share of inf SE | RMS error/SE (finite) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    if not args.no_shap:
        import shap

        logging.getLogger("shap").setLevel(logging.ERROR)
    for budget in [int(b) for b in args.budgets.split(",")]:
        cells = []
        for plan_fn in (C.coalition_plan, shap_share_plan):
            errors, inf_share, z = [], [], []
            KS.coalition_plan = plan_fn
            try:
                for seed in range(10):
                    res = KS.kernel_shap(model, X, B, num_samples=budget, seed=seed)
                    v, se = res.values[:, :, 0], res.standard_errors[:, :, 0]
                    errors.append(np.mean((v - exact) ** 2))
                    inf_share.append(np.mean(np.isinf(se)))
                    ok = np.isfinite(se) & (se > 0)
                    z.append(((v - exact)[ok] / se[ok]))
            finally:
                KS.coalition_plan = C.coalition_plan
            cells.append(np.sqrt(np.mean(errors)))
            if plan_fn is C.coalition_plan:
                zs = np.concatenate(z)
                ours_inf, ours_z = np.mean(inf_share), (np.sqrt(np.mean(zs**2)) if zs.size else float("nan"))
        for l1 in ((False, "num_features(10)") if not args.no_shap else ()):
            errors = []
            for seed in range(5):
                np.random.seed(seed)
                explainer = shap.KernelExplainer(model, B)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    v = np.asarray(explainer.shap_values(X, nsamples=budget, l1_reg=l1, silent=True))
                errors.append(np.mean((v - exact) ** 2))
            cells.append(np.sqrt(np.mean(errors)))
        text = " | ".join(f"{c:.3g}" for c in cells)
        print(f"| {budget} | {text} | {ours_inf:.2f} | {ours_z:.2f} |")


if __name__ == "__main__":
    main()
