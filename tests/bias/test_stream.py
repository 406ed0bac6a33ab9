"""Bias out of core: the report of a ChunkedDataset equals the in-memory report, whatever the chunks."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine import _warnings
from clarify_engine.bias import BiasSpec, FacetSpec, bias_report
from clarify_engine.bias._compress import Compressor, compress_part, reducible_cuts
from clarify_engine.bias._stream import merged_report, role_columns, stream_reports
from clarify_engine.data import DataSpec, iter_chunks, load_dataset
from clarify_engine.errors import ClarifyError, NotSupportedError
from clarify_engine.report._bias_json import bias_json


def _chunked(frame: pd.DataFrame, chunk_rows: int):
    return iter_chunks(DataSpec(dataset_type="text/csv"), frame, chunk_rows=chunk_rows)


def _outcome(run):
    """The report as analysis.json text and the warnings, or the error's kind and message."""
    with _warnings.collect() as found:
        try:
            result = run()
        except ClarifyError as exc:
            return ("error", type(exc).__name__, str(exc))
    texts = [json.dumps(bias_json(r), sort_keys=True) for r in (result if isinstance(result, list) else [result])]
    return texts, [(w.code, w.message) for w in found]


@st.composite
def cases(draw):
    n = draw(st.integers(1, 80))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    label_kind = draw(st.sampled_from(["int01", "float", "str"]))
    label = {"int01": rng.integers(0, 2, n), "float": rng.normal(size=n).round(2),
             "str": np.array(["yes", "no"], dtype=object)[rng.integers(0, 2, n)]}[label_kind]
    facet_kind = draw(st.sampled_from(["int", "float", "str", "floatnan", "intwide", "float_late"]))
    facet = {"int": rng.integers(0, 3, n).astype(np.int64), "float": rng.normal(40, 10, n),
             "str": np.array(["a", "b", "c"], dtype=object)[rng.integers(0, 3, n)],
             "floatnan": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 2, n)).astype(float),
             "intwide": rng.integers(0, 1000, n),
             # whole numbers first, a fraction later: reduced to bins after rows were kept as values
             "float_late": np.where(np.arange(n) < n // 2, rng.integers(30, 50, n), rng.normal(40, 10, n))}[facet_kind]
    scores = draw(st.sampled_from(["same", "rolled", "scores"])) if label_kind == "int01" else "same"
    predicted = {"same": label, "rolled": np.roll(label, 1), "scores": rng.random(n)}[scores]
    frame = pd.DataFrame({"y": label, "f": facet, "g": rng.integers(0, 3, n),
                          "p": predicted,
                          "x0": rng.normal(size=n), "x1": rng.normal(size=n)})
    label_values = {"int01": [1], "float": [0.1], "str": ["yes"]}[label_kind]
    facet_values = draw(st.sampled_from({
        "int": [None, [1], [0, 2]], "float": [[40], [35.5], None], "str": [None, ["a"], ["a", "c"]],
        "floatnan": [None, [1]], "intwide": [[500], None, [3, 4]], "float_late": [[40], [41]]}[facet_kind]))
    typing = draw(st.sampled_from(["clarify", "intent"]))
    methods = draw(st.sampled_from(["all", ["DPL", "CI", "CDDL"]]))
    stage = draw(st.sampled_from(["pre_training", "post_training"]))
    if stage == "post_training" and methods != "all":
        methods = ["DPPL", "DI", "CDDPL", "FT"]
    spec = BiasSpec.resolve(label="y", label_values=label_values, facets=[FacetSpec("f", facet_values)],
                            stage=stage, methods=methods, predicted_label="p" if stage == "post_training" else None,
                            group_variable="g", column_typing=typing,
                            probability_threshold=0.5 if scores == "scores" else None)
    return frame, spec, draw(st.integers(1, 90))


@settings(max_examples=80, deadline=None)
@given(cases())
def test_chunked_report_equals_in_memory_report(case):
    frame, spec, chunk_rows = case
    expected = _outcome(lambda: bias_report(frame, spec))
    assert _outcome(lambda: bias_report(_chunked(frame, chunk_rows), spec)) == expected


def _ft_frame(n: int, seed: int, sensitive_share: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    facet = (rng.random(n) < sensitive_share).astype(np.int64)
    y = (x[:, 0] + rng.logistic(size=n) > 0).astype(np.int64)
    p = (x[:, 0] + 0.3 * x[:, 1] - 0.5 * facet > 0).astype(np.int64)
    return pd.DataFrame({"y": y, "f": facet, "p": p, "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2]})


@pytest.mark.parametrize("n, chunk_rows, query_rows, gather_rows", [
    (4000, 700, 1 << 20, 0), (4000, 1000, 333, 0), (300, 37, 50, 0), (60, 7, 4, 0),
    (4000, 300, 1000, 1000), (300, 37, 50, 100),  # trees over blocks of several chunks
    (4000, 300, 1 << 20, None),  # the advantaged rows gathered: one tree, the in-memory FT
])
def test_streamed_flip_test_equals_in_memory(n, chunk_rows, query_rows, gather_rows):
    frame = _ft_frame(n, seed=n)
    spec = BiasSpec.resolve(label="y", label_values=[1], facets=[FacetSpec("f", None)], stage="post_training",
                            methods=["FT", "DPPL"], predicted_label="p")
    expected = json.dumps(bias_json(bias_report(frame, spec)), sort_keys=True)
    (report,) = stream_reports(_chunked(frame, chunk_rows), [spec], gather_rows=gather_rows, query_rows=query_rows)
    assert json.dumps(bias_json(report), sort_keys=True) == expected
    assert "FT" in expected and '"value": null' not in expected


def test_streamed_flip_test_gathers_in_one_pass_and_decides_ties_as_in_memory():
    # the tie the block path refuses (next test): with the advantaged rows gathered, scikit-learn
    # picks among the tied rows exactly as in memory; counts and FT take one pass each
    frame = pd.DataFrame({"y": [1, 0, 1, 1], "f": [1, 0, 0, 0], "p": [1, 1, 0, 1], "x0": [0.0, 1.0, -1.0, 5.0]})
    spec = BiasSpec.resolve(label="y", label_values=[1], facets=[FacetSpec("f", [1])], stage="post_training",
                            methods=["FT"], predicted_label="p", column_typing="intent")
    data = _chunked(frame, 2)
    (report,) = stream_reports(data, [spec])
    assert json.dumps(bias_json(report), sort_keys=True) == json.dumps(bias_json(bias_report(frame, spec)),
                                                                        sort_keys=True)
    assert report.facets[0].entries[0].metrics[0].value is not None
    assert data.stats.passes == 2


def test_streamed_flip_test_refuses_a_tie_it_cannot_decide():
    # one sensitive row with two advantaged rows at the same distance and different predictions, k = 1
    frame = pd.DataFrame({"y": [1, 0, 1, 1], "f": [1, 0, 0, 0], "p": [1, 1, 0, 1], "x0": [0.0, 1.0, -1.0, 5.0]})
    spec = BiasSpec.resolve(label="y", label_values=[1], facets=[FacetSpec("f", [1])], stage="post_training",
                            methods=["FT"], predicted_label="p", column_typing="intent")
    (report,) = stream_reports(_chunked(frame, 2), [spec], gather_rows=0)
    (metric,) = report.facets[0].entries[0].metrics
    assert metric.value is None
    assert metric.error.startswith("FlipTest (streamed): 1 sensitive row(s) have equally distant nearest neighbours")


def test_streamed_flip_test_keeps_scikit_learns_messages():
    frame = _ft_frame(50, seed=3)
    frame.loc[7, "x1"] = np.nan
    spec = BiasSpec.resolve(label="y", label_values=[1], facets=[FacetSpec("f", [1])], stage="post_training",
                            methods=["FT"], predicted_label="p")
    expected = bias_report(frame, spec).facets[0].entries[0].metrics[0].error
    (report,) = stream_reports(_chunked(frame, 9), [spec], gather_rows=0)
    assert report.facets[0].entries[0].metrics[0].error == expected and "NaN" in expected


def test_a_fractional_column_is_kept_as_bins():
    rng = np.random.default_rng(0)
    n = 5000
    frame = pd.DataFrame({"y": rng.normal(size=n), "f": rng.uniform(18, 90, n), "p": rng.normal(size=n),
                          "x": rng.normal(size=n)})
    spec = BiasSpec.resolve(label="y", label_values=[0.2], facets=[FacetSpec("f", [40])], stage="post_training",
                            methods="all", predicted_label="p")
    compressor = Compressor(["y", "f", "p"], reducible_cuts([spec]))
    for chunk in _chunked(frame, 512):
        compressor.add(chunk)
    assert len(compressor.result().frame) < 100
    expected = _outcome(lambda: bias_report(frame, spec))
    assert _outcome(lambda: bias_report(_chunked(frame, 512), spec)) == expected


def test_too_many_distinct_rows_are_refused_not_approximated():
    frame = pd.DataFrame({"y": np.arange(100) % 2, "f": np.arange(100)})
    spec = BiasSpec.resolve(label="y", label_values=[1], facets=[FacetSpec("f", [50])], stage="pre_training")
    with pytest.raises(NotSupportedError, match=r"more than 10 distinct rows \(distinct values per column: "
                                                r"\{'y': 2, 'f': \d+\}\)"):
        stream_reports(_chunked(frame, 30), [spec], max_rows=10)


def test_missing_columns_are_refused_on_the_schema():
    frame = pd.DataFrame({"y": [1, 0], "f": [0, 1]})
    spec = BiasSpec.resolve(label="y", label_values=[1], facets=[FacetSpec("g", None)], stage="pre_training")
    with pytest.raises(ClarifyError) as expected:
        bias_report(frame, spec)
    with pytest.raises(ClarifyError) as found:
        bias_report(_chunked(frame, 1), spec)
    assert str(found.value) == str(expected.value)


@settings(max_examples=40, deadline=None)
@given(cases(), st.sampled_from(["text/csv", "application/x-parquet"]), st.integers(1, 40))
def test_a_file_streamed_as_arrow_pieces_gives_the_in_memory_report(case, kind, group_rows):
    # CSV record batches and Parquet row groups are coded from their Arrow arrays (no pandas
    # frame per chunk): the report, warnings and errors are those of the loaded frame
    frame, spec, chunk_rows = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data"
        if kind == "text/csv":
            frame.to_csv(path, index=False)
        else:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=group_rows)
        data_spec = DataSpec(dataset_type=kind, dataset_uri=str(path), headers=tuple(frame.columns), label="y")
        loaded = load_dataset(data_spec).frame
        chunked = iter_chunks(data_spec, chunk_rows=chunk_rows)
        pieces = list(chunked.arrow_pieces())
        assert all(isinstance(p, pa.Table) for p in pieces)
        assert all(p.num_rows >= chunk_rows for p in pieces[:-1])
        assert chunked.stats.rows == len(frame) and chunked.stats.chunks == -(-len(frame) // chunk_rows)
        expected = _outcome(lambda: bias_report(loaded, spec))
        assert _outcome(lambda: bias_report(chunked, spec)) == expected


@settings(max_examples=60, deadline=None)
@given(cases(), st.lists(st.floats(0, 1), max_size=3))
def test_partition_compressors_merged_in_row_order_give_the_in_memory_report(case, cut_points):
    # what the Dask executor does: each contiguous partition reduced on its own, merged on the client
    frame, spec, _ = case
    cuts = sorted({int(c * len(frame)) for c in cut_points} - {0, len(frame)})
    parts = [frame.iloc[a:b] for a, b in zip([0, *cuts], [*cuts, len(frame)])]
    columns = [c for c in role_columns([spec]) if c is not None]
    compressors = [compress_part(part, columns, reducible_cuts([spec])) for part in parts]
    sequential = Compressor(columns, reducible_cuts([spec]))
    for part in parts:
        sequential.add(part)
    merged = Compressor(columns, reducible_cuts([spec]))
    for part in compressors:
        merged.merge(part)
    want, got = sequential.result(), merged.result()
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert got.weights.tolist() == want.weights.tolist() and got.rows == want.rows == len(frame)
    expected = _outcome(lambda: bias_report(frame, spec))
    assert _outcome(lambda: merged_report(frame, spec, compressors)) == expected


def test_arrow_pieces_of_a_csv_column_widened_mid_file_give_the_in_memory_report(tmp_path):
    # whole numbers in the first blocks, then a fraction: the reader widens the column and reads
    # the file again; the pieces before and after keep their own types and are coded apart
    rng = np.random.default_rng(2)
    n = 3000
    facet = rng.integers(30, 50, n).astype(object)
    facet[2500:] = rng.normal(40, 10, n - 2500).round(2)
    frame = pd.DataFrame({"y": rng.integers(0, 2, n), "f": facet, "g": rng.integers(0, 3, n)})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    data_spec = DataSpec(dataset_type="text/csv", dataset_uri=str(path), headers=("y", "f", "g"), label="y")
    chunked = iter_chunks(data_spec, chunk_rows=100)
    types = {str(p.schema.field("f").type) for p in chunked.arrow_pieces()}
    assert types == {"int64", "double"}
    spec = BiasSpec.resolve(label="y", label_values=[1], facets=[FacetSpec("f", [40])], stage="pre_training",
                            group_variable="g")
    expected = _outcome(lambda: bias_report(load_dataset(data_spec).frame, spec))
    assert _outcome(lambda: bias_report(chunked, spec)) == expected
