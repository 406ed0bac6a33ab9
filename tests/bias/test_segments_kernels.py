"""The segment kernel against its plain twin, and the batch metrics against the scalar ones."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from clarify_engine.bias._batch_metrics import BATCH_METRICS
from clarify_engine.bias._grouped import count_metric
from clarify_engine.bias._segment_kernels import _interval_bits, closed_bounds
from clarify_engine.bias._table import FacetCounts
from clarify_engine.errors import MetricError
from tests.bias import naive

EDGES = [-math.inf, -2.0, 0.0, 0.5, 1.0, 3.0, math.inf]


@st.composite
def intervals(draw):
    n_listed = draw(st.integers(1, 4))
    out = []
    for segment in range(n_listed):
        for _ in range(draw(st.integers(1, 2))):
            left, right = sorted(draw(st.lists(st.sampled_from(EDGES), min_size=2, max_size=2)))
            out.append((left, right, draw(st.booleans()), draw(st.booleans()), segment))
    return out, n_listed


@settings(max_examples=200, deadline=None)
@given(intervals(), st.lists(st.sampled_from(EDGES[1:-1] + [0.25, -5.0, 7.0, math.nan, 1 - 1e-16]), max_size=40))
def test_interval_bits_equal_the_plain_twin(spec, values):
    parts, n_listed = spec
    bounds = np.array([closed_bounds(lo, hi, lc, rc) for lo, hi, lc, rc, _ in parts], dtype=np.float64)
    got = _interval_bits(np.array(values, dtype=np.float64), np.ascontiguousarray(bounds[:, 0]),
                         np.ascontiguousarray(bounds[:, 1]), np.array([p[4] for p in parts], dtype=np.int64),
                         n_listed)
    assert got.tolist() == naive.interval_bits(values, parts, n_listed)


cells = hnp.arrays(np.int64, st.tuples(st.integers(1, 6), st.integers(1, 3), st.just(2), st.just(2)),
                   elements=st.sampled_from([0, 0, 0, 1, 2, 5, 40]))


@settings(max_examples=300, deadline=None)
@given(cells, cells, st.booleans())
def test_batch_metrics_equal_the_scalar_ones(d, a, has_groups):
    b = min(d.shape[0], a.shape[0])
    g = min(d.shape[1], a.shape[1])
    d, a = d[:b, :g], a[:b, :g]
    for name, batch in BATCH_METRICS.items():
        got = batch(d, a, has_groups)
        for i in range(b):
            try:
                want = count_metric(name)(FacetCounts(d[i], a[i], has_groups))
            except MetricError:
                assert math.isnan(got[i]), (name, d[i], a[i], got[i])
                continue
            if math.isinf(want):
                assert got[i] == want, (name, d[i], a[i], got[i], want)
            else:
                assert math.isclose(got[i], want, rel_tol=1e-12, abs_tol=1e-12), (name, d[i], a[i], got[i], want)


def test_every_count_metric_has_a_batch_twin():
    from clarify_engine.bias import POSTTRAINING_METRICS, PRETRAINING_METRICS

    assert set(BATCH_METRICS) == (set(PRETRAINING_METRICS) | set(POSTTRAINING_METRICS)) - {"FT"}
