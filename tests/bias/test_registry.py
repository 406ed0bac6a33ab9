"""The metric catalogue: one source for every list of names, honest about its inputs, light to import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clarify_engine.bias as bias
from clarify_engine.bias import _metrics, count_table
from clarify_engine.bias._registry import (
    FEATURES, GROUP, LABEL, METRICS, POST_TRAINING, PRE_TRAINING, PREDICTED_LABEL, resolve_methods, stage_metrics,
)  # fmt: skip
from clarify_engine.config import _constants
from clarify_engine.errors import ClarifyError, MetricError


def test_bias_package_exports():
    assert bias.__all__ == [
        "AD", "BiasReport", "BiasSpec", "CDDL", "CDDPL", "CI", "CountTable", "DAR", "DCA", "DCR", "DI", "DPL", "DPPL", "DRR",
        "FT", "FacetCounts", "FacetEntry", "FacetReport", "FacetSpec", "GE", "JS", "KL", "KS", "LP", "METRICS",
        "Metric", "MetricError", "MetricResult", "POSTTRAINING_METRICS", "PRETRAINING_METRICS", "RD", "SD", "TE",
        "TVD", "bias_metrics", "bias_report", "bias_section", "count_table",
    ]  # fmt: skip
    assert set(bias.__all__) == set(bias._LAZY)  # every export is imported on first use
    for name in bias.__all__:
        assert getattr(bias, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'MetricFailure'"):
        bias.MetricFailure  # noqa: B018 - the old name is gone


def test_every_metric_function_is_exported_and_is_the_catalogue_function():
    for name, metric in METRICS.items():
        assert getattr(bias, name) is metric.fn
        assert metric.fn.__name__ == name


def test_catalogue_order_and_stages():
    assert list(METRICS) == [*bias.PRETRAINING_METRICS, *bias.POSTTRAINING_METRICS]
    assert bias.PRETRAINING_METRICS == ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")
    assert stage_metrics(PRE_TRAINING) == tuple(sorted(stage_metrics(PRE_TRAINING)))
    assert stage_metrics(POST_TRAINING) == tuple(sorted(stage_metrics(POST_TRAINING)))
    assert all(METRICS[n].stage == PRE_TRAINING for n in stage_metrics(PRE_TRAINING))
    assert all(METRICS[n].stage == POST_TRAINING for n in stage_metrics(POST_TRAINING))
    assert [n for n, m in METRICS.items() if m.needs_features] == ["FT"]
    # the module of counts metrics lists exactly the catalogue's counts metrics
    assert set(_metrics.__all__) - {"divide"} == {n for n, m in METRICS.items() if not m.needs_features}


def test_config_method_lists_are_the_catalogue():
    assert _constants.BIAS_PRETRAINING_METHODS is bias.PRETRAINING_METRICS
    assert _constants.BIAS_POSTTRAINING_METHODS is bias.POSTTRAINING_METRICS


def test_config_and_catalogue_import_without_numpy():
    code = ("import sys, clarify_engine.config, clarify_engine.bias._registry as r; "
            "assert len(r.METRICS) == 21; "
            "heavy = sorted(m for m in ('numpy', 'pandas', 'numba', 'sklearn') if m in sys.modules); "
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_metric_error_is_in_the_clarify_tree():
    assert issubclass(MetricError, ClarifyError) and issubclass(MetricError, ValueError)
    assert bias.MetricError is MetricError


@pytest.mark.parametrize(
    "methods, allowed, kwargs, message",
    [
        (["CI", "XYZ"], stage_metrics(PRE_TRAINING), {"kind": "pre_training"},
         r"^methods: unknown pre_training metric\(s\) \['XYZ'\]; expected names from \['CDDL', "),
        (["DPPL", "dppl"], METRICS, {"argument": "metrics"}, r"^metrics: unknown metric\(s\) \['dppl'\]"),
        ("CI", METRICS, {}, r"^methods must be 'all' or a list of metric names; found 'CI'$"),
        ([1], METRICS, {"argument": "metrics"}, r"^metrics must be 'all' or a list of metric names; found \[1\]$"),
    ],
)
def test_resolve_methods_errors(methods, allowed, kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_methods(methods, allowed, **kwargs)


def test_resolve_methods_catalogue_order_each_once():
    assert resolve_methods(["TE", "DI", "TE", "AD"], METRICS) == ("AD", "DI", "TE")
    assert resolve_methods("all", stage_metrics(PRE_TRAINING)) == stage_metrics(PRE_TRAINING)
    assert resolve_methods(None, METRICS) == tuple(METRICS)


def test_unknown_stage():
    with pytest.raises(ValueError, match="^stage must be 'pre_training' or 'post_training'; found 'training'$"):
        stage_metrics("training")


def _outcome(name, table, sensitive):
    try:
        return METRICS[name].fn(table.collapse(sensitive))
    except MetricError as exc:
        return str(exc)


rows = st.integers(1, 30).flatmap(lambda n: st.tuples(
    *[st.lists(st.booleans(), min_size=n, max_size=n)] * 5,
    *[st.lists(st.integers(-1, 2), min_size=n, max_size=n)] * 2))


@settings(max_examples=80, deadline=None)
@given(rows)
def test_needs_are_honest(data):
    """A metric that does not declare an input gives the same outcome whatever that input holds."""
    d, y, y2, p, p2, g, g2 = (np.asarray(x) for x in data)
    codes = d.astype(np.int64)
    sensitive = np.array([False, True])
    base = count_table(codes, 2, y, p, g, 3)
    variants = {
        LABEL: count_table(codes, 2, y2, p, g, 3),
        PREDICTED_LABEL: count_table(codes, 2, y, p2, g, 3),
        GROUP: count_table(codes, 2, y, p, g2, 3),
    }
    for name, metric in METRICS.items():
        if FEATURES in metric.needs:
            continue
        for need, table in variants.items():
            if need not in metric.needs:
                assert _outcome(name, table, sensitive) == _outcome(name, base, sensitive), (name, need)


def test_evaluate_turns_failures_into_entries_and_needs_ft_rows():
    from clarify_engine.bias._evaluate import evaluate

    counts = count_table(np.array([0, 0, 1]), 2, np.array([1, 0, 1], bool), np.array([1, 0, 0], bool)).collapse(
        np.array([False, True]))
    results = evaluate(["CI", "DPPL", "FT"], counts, flip_test=lambda: 0.5)
    assert [(r.name, r.value, r.error) for r in results] == [("CI", 1 / 3, None), ("DPPL", 0.5, None), ("FT", 0.5, None)]
    (failed,) = evaluate(["FT"], counts, flip_test=lambda: bias.FT(np.zeros((3, 1)), np.zeros(3, bool), np.zeros(3, bool)))
    assert (failed.value, failed.error, failed.ok) == (None, "Facet set is empty", False)
    with pytest.raises(ValueError, match="^FT needs the feature rows; pass flip_test$"):
        evaluate(["FT"], counts)
