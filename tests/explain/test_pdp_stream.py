"""Streamed PDP (explain/_pdp_stream.py): exact grids from a profile pass, averages summed in row order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clarify_engine.errors import NotSupportedError
from clarify_engine.explain import PdpSpec, run_pdp
from clarify_engine.explain._pdp_stream import stream_pdp
from clarify_engine.report._explanations import pdp_entries, pdp_manifest


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array(["red apple", "big green tree", "old house", "blue sky today", "fast car"])
    frame = pd.DataFrame({
        "x": rng.normal(size=n),                                  # float: numerical
        "age": rng.integers(0, 10_000, n),                        # int, many values: numerical
        "level": rng.integers(1, 4, n),                           # int, few values: categorical
        "colour": rng.choice(["red", "green", "blue"], n),        # text: categorical
        "flag": rng.integers(0, 2, n).astype(bool),               # bool: categorical
        "note": [f"{w} {i}" for i, w in enumerate(rng.choice(words, n))],  # free text: an error entry
        "const": np.full(n, 2.5),                                 # one grid value
    })
    frame.loc[rng.random(n) < 0.1, "x"] = np.nan
    frame.loc[rng.random(n) < 0.1, "colour"] = None
    frame.loc[3, "x"] = np.inf
    return frame


FEATURES = ["x", "age", "level", "colour", "flag", "note", "const"]


def _model(outputs: int):
    """Per-row scores (no batch arithmetic)."""
    def score(frame: pd.DataFrame) -> np.ndarray:
        x = frame["x"].to_numpy(dtype=float)
        z = (np.nan_to_num(np.clip(x, -5, 5)) + frame["age"].to_numpy(dtype=float) / 5000
             - frame["level"].to_numpy(dtype=float) * 0.3 + (frame["colour"].to_numpy() == "red") * 0.8
             + frame["flag"].to_numpy(dtype=float) * 0.2 + frame["const"].to_numpy(dtype=float) * 0.1)
        p = 1 / (1 + np.exp(-z))
        return np.stack([p, 1 - p, p * p][:outputs], axis=1)
    return score


def _chunks(frame: pd.DataFrame, rows: int):
    return lambda: (frame.iloc[i:i + rows] for i in range(0, len(frame), rows))


@pytest.mark.parametrize("chunk_rows", [1, 17, 100, 300])
def test_streamed_pdp_equals_the_in_memory_pdp(chunk_rows):
    frame = _frame()
    spec = PdpSpec(features=tuple(FEATURES), grid_resolution=6)
    score = _model(3)  # two or more outputs: numpy's mean sums in row order, so the bits are the same
    expected = run_pdp(frame, spec, score)
    found = stream_pdp(_chunks(frame, chunk_rows), FEATURES, spec, score)
    assert pdp_entries(found) == pdp_entries(expected)
    kinds = {entry["feature_name"]: entry["data_type"] for entry in pdp_entries(found)}
    assert kinds == {"x": "numerical", "age": "numerical", "level": "categorical", "colour": "categorical",
                     "flag": "categorical", "note": "free_text", "const": "numerical"}
    assert pdp_manifest(found, _Calls())["per_feature"] == pdp_manifest(expected, _Calls())["per_feature"]


class _Calls:
    rows = calls = 0
    seconds = 0.0


def test_one_output_does_not_depend_on_the_chunk_size():
    frame = _frame(seed=2)
    spec = PdpSpec(features=("x", "level"), grid_resolution=4)
    score = _model(1)
    runs = [pdp_entries(stream_pdp(_chunks(frame, rows), FEATURES, spec, score)) for rows in (1, 7, 300)]
    assert runs[0] == runs[1] == runs[2] == pdp_entries(run_pdp(frame, spec, score))
    # the in-memory PDP cutting a grid value's rows across calls sums in the same order
    assert pdp_entries(run_pdp(frame, spec, score, max_rows_per_call=7)) == runs[0]


def test_a_column_with_too_many_categories_is_refused_with_the_count():
    frame = _frame()
    frame["colour"] = [f"c{i}" for i in range(len(frame))]  # one word each: categorical, 300 categories
    spec = PdpSpec(features=("colour",), grid_resolution=4)
    with pytest.raises(NotSupportedError) as info:
        stream_pdp(_chunks(frame, 50), FEATURES, spec, _model(1), max_categories=100)
    assert str(info.value) == ("methods.pdp: column 'colour' has more than 100 distinct values in 300 rows; the "
                               "streamed PDP needs them all to list its categories. Run without --chunk-rows "
                               "(chunk_rows=None), or bin the column first")
    # an integer column with more distinct values than kept but >= 5 % of the rows is numerical, exactly
    frame["age"] = np.arange(len(frame))
    found = stream_pdp(_chunks(frame, 50), FEATURES, PdpSpec(features=("age",), grid_resolution=4), _model(3),
                       max_categories=100)
    assert pdp_entries(found) == pdp_entries(run_pdp(frame, PdpSpec(features=("age",), grid_resolution=4),
                                                     _model(3)))


def test_top_k_from_a_ranking_and_no_records():
    frame = _frame()

    class Ranking:
        def ranking(self, among):
            return {"x": 0.5, "level": 0.9, "age": 0.1}

    found = stream_pdp(_chunks(frame, 64), FEATURES, PdpSpec(features=None, top_k_features=2), _model(1),
                       ranking=Ranking())
    assert [c.feature for c in found.curves] == ["level", "x"]
    empty = stream_pdp(lambda: iter([frame.iloc[:0]]), FEATURES, PdpSpec(features=("x",)), _model(1))
    assert empty.curves[0].error == "Column 'x' has no finite numerical value; PDP needs at least one"
