"""Bootstrap intervals on resampled count tables: coverage by simulation, seeding, failures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clarify_engine.bias import FacetSpec
from clarify_engine.bias import _metrics as M
from clarify_engine.bias._bootstrap import BootstrapSpec, replicate_counts, with_intervals
from clarify_engine.bias._extensions import bias_extensions
from clarify_engine.bias._grouped import BiasResult, FacetEntry, grouped_bias, metric_entry
from clarify_engine.bias._table import FacetCounts
from clarify_engine.report._segments_json import extensions_dict
from tests.bias.segment_helpers import stage_spec

#: Seed of the coverage simulation (documented in docs/segments.md).
COVERAGE_SEED = 20261128


def cell_probabilities(p_d=0.3, pos={"d": 0.45, "a": 0.6}, accuracy=0.8):
    """P(side, label, predicted label) of a population where the model is right with ``accuracy``."""
    probs = {}
    for side, p_side in (("d", p_d), ("a", 1 - p_d)):
        for y in (0, 1):
            for p in (0, 1):
                probs[side, y, p] = p_side * (pos[side] if y else 1 - pos[side]) * (accuracy if p == y else 1 - accuracy)
    return probs


def true_values(probs, p_d=0.3):
    q_a = sum(probs["a", y, 1] for y in (0, 1)) / (1 - p_d)
    q_d = sum(probs["d", y, 1] for y in (0, 1)) / p_d
    l_a = sum(probs["a", 1, p] for p in (0, 1)) / (1 - p_d)
    l_d = sum(probs["d", 1, p] for p in (0, 1)) / p_d
    return {"CI": 1 - 2 * p_d, "DPL": l_a - l_d, "DPPL": q_a - q_d, "DI": q_d / q_a}


def counts_from(cells, keys):
    d = np.zeros((1, 2, 2), np.int64)
    a = np.zeros((1, 2, 2), np.int64)
    for (side, y, p), c in zip(keys, cells):
        (d if side == "d" else a)[0, y, p] = c
    return FacetCounts(d, a)


def test_coverage_by_simulation():
    """95% percentile intervals (200 replicates, the default) of CI, DPL and DPPL cover the truth
    93-97% of 500 datasets of 400 rows (measured: 95.4%, 94.2%, 94.4%)."""
    probs = cell_probabilities()
    keys = list(probs)
    truth = true_values(probs)
    truth.pop("DI")
    spec = BootstrapSpec(n_boot=200, level=0.95, seed=7)
    rng = np.random.default_rng(COVERAGE_SEED)
    n_datasets = 500
    covered = dict.fromkeys(truth, 0)
    for i in range(n_datasets):
        counts = counts_from(rng.multinomial(400, [probs[k] for k in keys]), keys)
        reps = replicate_counts(counts, spec, np.random.default_rng([spec.seed, i]))
        for name in truth:
            values = np.array([getattr(M, name)(r) for r in reps], dtype=float)
            lower, upper = np.quantile(values, [0.025, 0.975])
            covered[name] += lower <= truth[name] <= upper
    coverage = {k: v / n_datasets for k, v in covered.items()}
    assert all(abs(c - 0.95) <= 0.02 for c in coverage.values()), coverage


def test_multinomial_replicates_keep_the_row_count_and_poisson_ones_average_to_it():
    counts = FacetCounts(np.array([[[30, 5], [7, 20]]]), np.array([[[100, 12], [9, 60]]]))
    multi = replicate_counts(counts, BootstrapSpec(n_boot=300), np.random.default_rng(0))
    assert {r.n_a + r.n_d for r in multi} == {243}
    mean = np.mean([np.concatenate([r.d.ravel(), r.a.ravel()]) for r in multi], axis=0)
    assert np.allclose(mean, np.concatenate([counts.d.ravel(), counts.a.ravel()]), rtol=0.1)
    poisson = replicate_counts(counts, BootstrapSpec(n_boot=2000, weights="poisson"), np.random.default_rng(0))
    sizes = [r.n_a + r.n_d for r in poisson]
    assert len(set(sizes)) > 10 and np.mean(sizes) == pytest.approx(243, rel=0.01)


def test_table_bootstrap_matches_a_row_bootstrap():
    """The spread of DPL over table replicates equals the spread over row resamples."""
    rng = np.random.default_rng(3)
    n = 500
    df = pd.DataFrame({"y": rng.integers(0, 2, n), "f": rng.integers(0, 2, n)})
    req = stage_spec("y", (1,), (FacetSpec("f", [1]),), "pre_training", ("DPL",))
    counts = grouped_bias(df, req, np.zeros(n, np.int64), 1, [np.array([True])])[0].facets[0][1][0].counts
    table_sd = np.std([M.DPL(r) for r in replicate_counts(counts, BootstrapSpec(n_boot=2000), rng)])
    y, f = df.y.to_numpy(), df.f.to_numpy()
    rows = rng.integers(0, n, (2000, n))
    yb, fb = y[rows], f[rows]
    rows_sd = np.std((yb * (fb == 0)).sum(1) / (fb == 0).sum(1) - (yb * (fb == 1)).sum(1) / (fb == 1).sum(1))
    assert table_sd == pytest.approx(rows_sd, rel=0.08)


def small_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n), "race": rng.integers(0, 3, n),
                         "g": rng.integers(0, 4, n), "x": rng.normal(size=n)})


def requests():
    return [stage_spec("y", (1,), (FacetSpec("race", [1]),), "pre_training", ("CDDL", "CI", "DPL", "KL")),
            stage_spec("y", (1,), (FacetSpec("race", [1]),), "post_training", ("DI", "DPPL", "FT"),
                        predicted_label="p", group_variable="g")]


def test_intervals_are_seeded_and_bracket_the_estimate():
    df = small_frame()
    spec = BootstrapSpec(n_boot=100, seed=11)
    one = bias_extensions(df, requests(), bootstrap=spec)
    two = bias_extensions(df, requests(), bootstrap=spec)
    other = bias_extensions(df, requests(), bootstrap=BootstrapSpec(n_boot=100, seed=12))
    assert extensions_dict(one) == extensions_dict(two) != extensions_dict(other)
    for section in one.whole:
        for m in section.facets[0][1][0].metrics:
            if m.name == "FT" or m.value is None:
                assert m.interval is None  # FT reads rows; CDDL without a group variable has no value
            else:
                assert m.interval.lower <= m.value <= m.interval.upper, m


def test_failed_replicates_are_counted_and_too_many_give_no_interval():
    # one sensitive row (empty in 37% of replicates) and one predicted positive among the rest (none
    # in 37%: DI is infinite): about 60% of replicates fail
    counts = FacetCounts(np.array([[[0, 1], [0, 0]]]), np.array([[[199, 1], [199, 0]]]))
    entry = FacetEntry("1", (metric_entry("DI", lambda: M.DI(counts)),), counts)
    result = with_intervals(BiasResult("y", "1", (("f", (entry,)),)), BootstrapSpec(n_boot=200, seed=0))
    iv = result.facets[0][1][0].metrics[0].interval
    assert iv.lower is None and iv.failed > 100
    assert iv.error == f"the metric failed or was infinite in {iv.failed} of 200 replicates"


def test_interval_json_is_its_own_key():
    out = extensions_dict(bias_extensions(small_frame(), requests(), bootstrap=BootstrapSpec(n_boot=50)))
    assert list(out) == ["bias_confidence_intervals"]
    ci = out["bias_confidence_intervals"]
    assert {k: ci[k] for k in ("method", "weights", "n_boot", "level", "seed")} == {
        "method": "bootstrap_percentile", "weights": "multinomial", "n_boot": 50, "level": 0.95, "seed": 0}
    pre = ci["pre_training_bias_metrics"]["facets"]["race"][0]
    assert pre["value_or_threshold"] == "1"
    assert [m["name"] for m in pre["metrics"]] == ["CI", "DPL", "KL"]
    assert set(pre["metrics"][0]) == {"name", "lower", "upper", "failed_replicates"}
    post = ci["post_training_bias_metrics"]["facets"]["race"][0]
    assert [m["name"] for m in post["metrics"]] == ["DI", "DPPL"]


@pytest.mark.parametrize("kwargs, message", [
    ({"n_boot": 1}, "n_boot must be an integer >= 2; found 1"),
    ({"level": 1.0}, "level must lie strictly between 0 and 1"),
    ({"weights": "bayes"}, "weights must be one of ('multinomial', 'poisson'); found 'bayes'"),
])  # fmt: skip
def test_spec_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        BootstrapSpec(**kwargs)
