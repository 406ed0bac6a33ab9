"""The text engine: exact Shapley values for short texts, additivity, mixed rows, bad records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clarify_engine import _warnings
from clarify_engine.errors import DataError
from clarify_engine.explain.text import TextSpec, explain_text, pipeline, split_texts
from tests.explain.text.naive import exact_text_shapley

WORDS = {"love": 1.3, "bad": -1.7, "dress": 0.4, "not": -0.6, "[MASK]": 0.05}


def model(frame: pd.DataFrame) -> np.ndarray:
    """A non-additive two-output model of a text column, a numeric and a categorical one."""
    text = frame["Comments"].astype(str)
    s = sum(w * text.str.count(rf"(?<!\w){w_re}(?!\w)") for w, w_re in
            ((WORDS[k], k.replace("[", r"\[").replace("]", r"\]")) for k in WORDS))
    s = s + 0.3 * text.str.len().clip(upper=40) / 40 - 0.8 * text.str.contains("not love", regex=False)
    s = s + 0.2 * frame["Rating"].astype(float) + np.where(frame["Colour"] == "red", 0.5, -0.1)
    p = 1.0 / (1.0 + np.exp(-s.to_numpy(dtype=float)))
    return np.c_[1.0 - p, p]


FRAME = pd.DataFrame({
    "Rating": [5, 1, 3, 4],
    "Colour": ["red", "blue", "red", "blue"],
    "Comments": ["I love this dress!", "bad, not love", "ok.  Good dress", "not bad"],
})
FEATURES = ("Rating", "Colour", "Comments")


def _spec(baseline, weights=None, **kw):
    return TextSpec(granularity=kw.pop("granularity", "token"), language="en", features=FEATURES,
                    text_columns=("Comments",), baseline=tuple(baseline),
                    baseline_weights=tuple(weights or [1.0] * len(baseline)), **kw)


def _naive(i, spec):
    record = FRAME.iloc[i].to_dict()
    (u,) = split_texts([record["Comments"]], spec.granularity, pipeline("en"))
    starts, ends, text = u.starts.tolist(), u.ends.tolist(), u.text
    gaps = [text[:starts[0]]] + [text[ends[j]:starts[j + 1]] for j in range(len(starts) - 1)] + [text[ends[-1]:]]
    base = [dict(zip(FEATURES, row)) for row in spec.baseline]
    return exact_text_shapley(record, ["Rating", "Colour"], ["Comments"], {"Comments": (u.units, gaps)}, base,
                              np.asarray(spec.baseline_weights), model, list(FEATURES))


@pytest.mark.parametrize("baseline, weights", [
    ([(4, "blue", "[MASK]")], None),
    ([(4, "blue", "")], None),
    ([(4, "blue", "<PAD>"), (2, "red", "")], [3.0, 1.0]),
])
def test_exact_shapley_values_by_enumeration(baseline, weights):
    spec = _spec(baseline, weights)
    result = explain_text(FRAME, spec, model)
    assert all(r.exact for r in result.records)
    assert result.stats["records_exact"] == len(FRAME)
    for rec in result.records:
        got = np.concatenate([f.values for f in rec.features[:2]] + [rec.features[2].values])
        np.testing.assert_allclose(got, _naive(rec.row, spec), atol=1e-8, rtol=0)
        np.testing.assert_allclose(got.sum(axis=0), rec.fx - rec.reference, atol=1e-10)


def test_sentence_and_paragraph_granularity_exact():
    frame = FRAME.assign(Comments=["I love it. Not bad!\n\nA dress.", "bad. bad.", "Fine.", "not love. dress."])
    for granularity in ("sentence", "paragraph"):
        spec = _spec([(4, "blue", "")], granularity=granularity)
        result = explain_text(frame, spec, model)
        for rec in result.records:
            assert rec.exact
            text = rec.features[2]
            assert [frame.Comments[rec.row][s:s + len(u)] for u, s in zip(text.units, text.starts)] == list(text.units)
            total = sum(f.values.sum(axis=0) for f in rec.features)
            np.testing.assert_allclose(total, rec.fx - rec.reference, atol=1e-10)


def test_sampled_records_stay_additive_and_report_budget():
    long = " ".join(["love bad dress not"] * 5)  # 20 units: 22 features, not enumerable
    frame = FRAME.assign(Comments=[long, "bad dress", long + " love", "not"])
    spec = _spec([(4, "blue", "[MASK]")], num_samples=300, seed=3)
    result = explain_text(frame, spec, model)
    assert [r.exact for r in result.records] == [False, True, False, True]
    assert result.stats["records_exact"] == 2
    groups = result.stats["problems_by_feature_count"]
    assert groups["22"] == {"records": 1, "coalitions": 300, "exact": False}
    for rec in result.records:
        total = sum(f.values.sum(axis=0) for f in rec.features)
        np.testing.assert_allclose(total, rec.fx - rec.reference, atol=1e-9)
    again = explain_text(frame, spec, model)
    assert all(np.array_equal(a.features[2].values, b.features[2].values)
               for a, b in zip(result.records, again.records))


def test_identical_synthetic_records_are_never_scored_twice():
    seen = []

    def recording(frame):
        seen.extend(map(tuple, frame.astype(str).to_numpy().tolist()))
        return model(frame)

    # empty baseline: dropping either "bad" of "bad bad love" gives the same text; records 0 and
    # 1 are identical; every record's empty coalition with the baseline's tabular values is the
    # baseline row itself
    frame = pd.DataFrame({"Rating": [5, 5, 4, 4], "Colour": ["red", "red", "blue", "red"],
                          "Comments": ["bad bad love", "bad bad love", "dress dress", "not"]})
    result = explain_text(frame, _spec([(4, "blue", "")]), recording)
    assert len(seen) == len(set(seen)) == result.stats["model_rows_sent"]
    assert ("4", "blue", "") in seen
    a, b = result.records[0], result.records[1]
    assert np.array_equal(a.features[2].values, b.features[2].values)
    assert a.features[2].values[0, 1] == pytest.approx(a.features[2].values[1, 1], abs=1e-12)


def test_empty_texts_warn_and_are_explained_on_their_other_features():
    frame = FRAME.assign(Comments=["love", "", None, "   "])
    with _warnings.collect() as found:
        result = explain_text(frame, _spec([(4, "blue", "[MASK]")]), model)
    assert [w.code for w in found] == ["text_empty"]
    assert "3 record(s) have an empty text (rows [1, 2, 3])" in found[0].message
    assert result.stats["records_with_empty_text"] == 3
    rec = result.records[1]
    assert rec.features[2].units == () and rec.features[2].values.shape == (0, 2)
    np.testing.assert_allclose(sum(f.values.sum(axis=0) for f in rec.features), rec.fx - rec.reference, atol=1e-10)


def test_a_text_column_holding_a_number_names_row_and_column():
    frame = FRAME.assign(Comments=["love", "bad", 3.5, "x y"])
    with pytest.raises(DataError, match=r"row 2, text column 'Comments' holds 3.5 \(float\), not a string"):
        explain_text(frame, _spec([(4, "blue", "")]), model)


def test_a_record_over_the_payload_limit_fails_alone():
    frame = FRAME.assign(Comments=["love", "bad " * 200, "dress", "not"])
    result = explain_text(frame, _spec([(4, "blue", "[MASK]")], max_record_bytes=300), model)
    assert result.records[1].error.startswith("row 1: its text can make a model request of up to ")
    assert "more than the 300-byte payload limit" in result.records[1].error
    assert result.stats["records_failed"] == 1 and result.stats["records_explained"] == 3
    assert all(r.error is None and r.features for i, r in enumerate(result.records) if i != 1)


def test_text_only_and_logit_link():
    frame = FRAME[["Comments"]]
    spec = TextSpec(granularity="token", language="en", features=("Comments",), text_columns=("Comments",),
                    baseline=(("",),), baseline_weights=(1.0,), link="logit")

    def text_model(f):
        return model(f.assign(Rating=3, Colour="blue"))[:, 1]

    result = explain_text(frame, spec, text_model)
    assert result.data_types == (("Comments", "free_text"),)
    p = text_model(pd.DataFrame({"Comments": [""]}))
    np.testing.assert_allclose(result.expected_value, np.log(p / (1 - p)), atol=1e-12)
    for rec in result.records:
        np.testing.assert_allclose(rec.features[0].values.sum(axis=0), rec.fx - rec.reference, atol=1e-9)
