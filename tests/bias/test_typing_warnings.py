"""Typing accidents are loud, "column_typing": "intent" types by the user's intent, scores are thresholded.

Issue 10 item 1 and issue 9 items 4 and 7: one missing cell or ``1.0/0.0`` floats make a
0/1 column continuous, so ``[1]`` becomes the threshold ``> 1``; Clarify's numbers stay
the default, but every such case is a warning with the fix.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from clarify_engine import _warnings
from clarify_engine.bias import FacetSpec, bias_section
from clarify_engine.bias import _columns as C
from clarify_engine.errors import DataError

INTENT_FIX = ('set "column_typing": "intent" at the top level of analysis_config.json to treat [1] as a value '
              "(missing cells are then excluded and counted), or fill or drop the 1 missing cell(s) so that "
              "Clarify types the column as categorical.")


def loans(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.3 + 0.15 * g).astype(int)
    return pd.DataFrame({"Target": y, "Age": rng.integers(18, 80, n), "Gender": g, "x": rng.normal(size=n)})


def dpl(df, label="Target", facet="Gender", value=0):
    """DPL by hand with pandas: positive rate of the rest minus that of the sensitive group."""
    df = df.dropna(subset=[label, facet])
    d = df[facet] == value
    return (df[label] == 1)[~d].mean() - (df[label] == 1)[d].mean()


def section(df, typing="clarify", label_values=(1,), facet_values=(0,), methods=("CI", "DPL")):
    with _warnings.collect() as found:
        out = bias_section(df, label="Target", label_values=list(label_values),
                           facets=[FacetSpec("Gender", None if facet_values is None else list(facet_values))],
                           stage="pre_training", methods=list(methods), column_typing=typing)
    entries = out["facets"]["Gender"]
    return out, {m["name"]: m["value"] for m in entries[0]["metrics"]}, found


def with_missing(df, column, row=5):
    df = df.astype({column: float})
    df.loc[row, column] = np.nan
    return df


def codes(found):
    return [w.code for w in found]


# ------------------------------------------------------------------- Clarify typing, loudly


def test_one_missing_label_cell_makes_1_a_threshold_and_says_so():
    df = with_missing(loans(), "Target")
    out, values, found = section(df)
    assert out["label_value_or_threshold"] == ""  # Clarify's number: (1, 1] selects nothing
    assert values["DPL"] == 0.0
    assert dpl(df) == pytest.approx(0.2086, abs=1e-4)  # what was meant
    assert codes(found) == ["values_became_threshold", "no_positive_label"]
    typing = found[0]
    assert typing.where == "label column 'Target'"
    assert typing.message == (
        "label_values_or_threshold [1] became the threshold > 1 because the column has 1 missing cell(s) in 1000 "
        "rows, so its values are stored as floats, and Clarify types every float column as continuous: no row is "
        "positive (the threshold is the column's maximum), not the rows equal to 1.")
    assert typing.fix == INTENT_FIX
    assert found[1].fix == ("give label_values_or_threshold values that occur in column 'Target', "
                            "or a threshold below its maximum.")


def test_labels_written_as_floats_make_1_a_threshold_and_say_so():
    df = loans().astype({"Target": float})
    out, values, found = section(df)
    assert values["DPL"] == 0.0
    assert codes(found) == ["values_became_threshold", "no_positive_label"]
    assert "holds whole numbers written as floats (such as 1.0/0.0)" in found[0].message
    assert found[0].fix.endswith("or write the column as integers (1, not 1.0) so that Clarify types the column as "
                                 "categorical.")


def test_one_missing_facet_cell_inverts_the_group_and_says_so():
    clean = loans()
    df = with_missing(clean, "Gender")
    _, clean_values, clean_found = section(clean)
    out, values, found = section(df)
    assert clean_found == []
    assert out["facets"]["Gender"][0]["value_or_threshold"] == "(0.0, 1.0]"
    assert values["CI"] == pytest.approx(-clean_values["CI"], abs=0.01)  # the group is inverted
    assert codes(found) == ["values_became_threshold"]
    assert found[0].where == "facet column 'Gender'"
    assert found[0].message.startswith("value_or_threshold [0] became the threshold > 0 because the column has 1 "
                                       "missing cell(s)")
    assert "the rows in (0.0, 1.0] are in the sensitive group, not the rows equal to 0." in found[0].message


def test_a_real_threshold_on_a_continuous_column_is_not_a_warning():
    df = loans()
    df["Age"] = df["Age"] + 0.5
    with _warnings.collect() as found:
        out = bias_section(df, label="Target", label_values=[1], facets=[FacetSpec("Age", [40])],
                           stage="pre_training", methods=["CI"])
    assert out["facets"]["Age"][0]["value_or_threshold"] == "(40.0, 79.5]"
    assert found == []


def test_facet_value_in_no_row_is_a_warning_naming_the_values():
    df = loans().assign(Sex=lambda f: np.where(f["Gender"] == 1, "M", "F"))
    with _warnings.collect() as found:
        out = bias_section(df, label="Target", label_values=[1], facets=[FacetSpec("Sex", ["X"])],
                           stage="pre_training", methods=["CI"])
    assert out["facets"]["Sex"][0]["metrics"][0]["value"] is None  # Clarify: "facet set is empty"
    assert codes(found) == ["value_absent", "facet_group_empty"]
    first = df["Sex"].iloc[0]
    other = "M" if first == "F" else "F"
    assert found[0].message == f"value_or_threshold ['X'] occur(s) in no row; the column's values are ['{first}', '{other}']."
    assert found[0].fix == ("give value_or_threshold values that occur in the column, spelled and typed as in the data "
                            "(1 and '1' differ when another given value matches).")


def test_one_of_two_facet_values_absent_is_a_warning_though_the_group_is_not_empty():
    df = loans()
    with _warnings.collect() as found:
        bias_section(df, label="Target", label_values=[1], facets=[FacetSpec("Gender", [0, 7])],
                     stage="pre_training", methods=["CI"])
    assert codes(found) == ["value_absent"]
    assert found[0].message.startswith("value_or_threshold [7] occur(s) in no row")


def test_every_row_sensitive_is_a_warning():
    with _warnings.collect() as found:
        bias_section(loans(), label="Target", label_values=[1], facets=[FacetSpec("Gender", [0, 1])],
                     stage="pre_training", methods=["CI"])
    assert codes(found) == ["facet_rest_empty"]


def test_warnings_are_logged_at_warning_with_the_fix():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("clarify_engine")
    logger.addHandler(handler)
    try:
        section(with_missing(loans(), "Target"))
    finally:
        logger.removeHandler(handler)
    typing = [r for r in records if "became the threshold" in r.getMessage()]
    assert len(typing) == 1 and typing[0].levelno == logging.WARNING
    assert typing[0].getMessage().endswith("Fix: " + INTENT_FIX)


# ------------------------------------------------------------------- intent typing


@pytest.mark.parametrize("broken", ["missing label", "float label", "missing facet"])
def test_intent_typing_gives_the_numbers_of_the_clean_rows(broken):
    clean = loans()
    df = {"missing label": lambda: with_missing(clean, "Target"),
          "float label": lambda: clean.astype({"Target": float}),
          "missing facet": lambda: with_missing(clean, "Gender")}[broken]()
    out, values, found = section(df, typing="intent")
    assert out["label_value_or_threshold"] == "1"
    assert out["facets"]["Gender"][0]["value_or_threshold"] == "0"
    assert values["DPL"] == pytest.approx(dpl(df), abs=1e-12)
    kept = df.dropna(subset=["Target", "Gender"])
    assert values["CI"] == pytest.approx(((kept["Gender"] != 0).sum() - (kept["Gender"] == 0).sum()) / len(kept))
    if broken == "float label":
        assert found == []
    else:
        assert codes(found) == ["rows_excluded"]
        column = "Target" if broken == "missing label" else "Gender"
        assert found[0].message == (f"1 of 1000 rows have a missing cell in '{column}' and were excluded from these "
                                    "metrics (column_typing 'intent').")
        assert found[0].fix == "fill or drop the missing cells to include those rows."


def test_intent_typing_keeps_thresholds_of_continuous_columns():
    df = loans()
    _, _, found = section(df, typing="intent")
    with _warnings.collect():
        out = bias_section(df.astype({"Age": float}), label="Target", label_values=[1],
                           facets=[FacetSpec("Age", [40])], stage="pre_training", methods=["CI"],
                           column_typing="intent")
    assert out["facets"]["Age"][0]["value_or_threshold"] == "(40, 79]"  # 62 whole-number ages: still a threshold, shown as written


def test_intent_typing_of_a_tiny_binary_label():
    df = loans(n=30, seed=3)
    clarify, _, found = section(df)
    intent, values, _ = section(df, typing="intent")
    assert clarify["label_value_or_threshold"] == ""  # 2 values in 30 rows: Clarify says continuous
    assert "has 2 distinct values in 30 rows (6.7% >= 5%)" in found[0].message
    assert intent["label_value_or_threshold"] == "1"
    assert values["DPL"] == pytest.approx(dpl(df))


@pytest.mark.parametrize("values, given, kind", [
    ([0.0, 1.0, np.nan, 1.0], [1], C.CATEGORICAL),
    ([0.0, 1.0, 1.0], [0.5], C.CONTINUOUS),  # a value not in the column: a threshold
    ([0.0, 1.0] * 500, [0.5], C.CONTINUOUS),
    ([0, 1, 2] * 500, [5], C.CONTINUOUS),
    ([0.5, 1.0, 0.25], [1], C.CONTINUOUS),
    (["1", "0", None], [1], C.CATEGORICAL),
    (["a", "b"], ["a"], C.CATEGORICAL),
    ([True, False], [True], C.CATEGORICAL),
    (list(range(100)), [40], C.CONTINUOUS),
    (list(range(3)) * 100, [2], C.CATEGORICAL),  # 3 values in 300 rows: Clarify's fraction rule
    (list(range(3)) * 10, [2], C.CONTINUOUS),
    ([0, 1, 2], [1, 2], C.CATEGORICAL),
])
def test_intent_kind(values, given, kind):
    assert C.intent_kind(pd.Series(values), given) == kind


def test_unknown_column_typing_is_refused():
    with pytest.raises(ValueError, match=r"column_typing must be one of \('clarify', 'intent'\); found 'x'"):
        section(loans(), typing="x")


# ------------------------------------------------------------------- predicted labels


def post(df, predicted="p", threshold=None, typing="clarify"):
    with _warnings.collect():
        out = bias_section(df, label="Target", label_values=[1], facets=[FacetSpec("Gender", [0])],
                           stage="post_training", methods=["DPPL"], predicted_label=predicted,
                           probability_threshold=threshold, column_typing=typing)
    return out["facets"]["Gender"][0]["metrics"][0]["value"]


def test_probability_threshold_turns_predicted_scores_into_labels():
    df = loans()
    df["p"] = np.random.default_rng(1).random(len(df))
    labels = (df["p"] > 0.8).astype(int)
    d = df["Gender"] == 0
    assert post(df, threshold=0.8) == pytest.approx(labels[~d].mean() - labels[d].mean(), abs=1e-12)
    assert post(df.assign(p=labels), threshold=None) == pytest.approx(labels[~d].mean() - labels[d].mean(), abs=1e-12)


def test_predicted_scores_without_probability_threshold_fail_naming_the_fix():
    df = loans()
    df["p"] = np.random.default_rng(1).random(len(df))
    with pytest.raises(DataError) as info:
        post(df)
    assert str(info.value) == (
        "Predicted Label Column series datatype is not the same as Label Column series (label is categorical, "
        "predicted label 'p' is continuous). The predicted labels are fractional numbers (float64) and label "
        "'Target' is categorical (int64): if they are scores between 0 and 1, set probability_threshold (e.g. 0.5) "
        "at the top level of analysis_config.json so that a score above it predicts 1; otherwise give predicted "
        "labels with the label's values.")


def test_float_predicted_labels_against_integer_labels():
    df = loans()
    df["p"] = df["Target"].astype(float)
    with pytest.raises(DataError) as info:
        post(df)
    assert str(info.value).endswith(
        "The predicted labels are whole numbers written as floats (float64) and label 'Target' is categorical "
        "(int64): write the predicted labels as integers (1, not 1.0), or set \"column_typing\": \"intent\" in "
        "analysis_config.json.")
    expected = post(df.astype({"p": int}))
    assert post(df, threshold=0.5) == expected  # Clarify: a 0.0/1.0 score is thresholded
    assert post(df, typing="intent") == expected


def test_facet_without_values_made_continuous_by_a_missing_cell_says_how_to_compare_its_values():
    df = with_missing(loans(), "Gender")
    with pytest.raises(DataError) as info:
        section(df, facet_values=None)
    assert str(info.value) == (
        "facet 'Gender': Threshold values must be provided for continuous features; the column is typed continuous, "
        "give value_or_threshold=[threshold] (the column has 1 missing cell(s) in 1000 rows, so its values are stored "
        "as floats, and Clarify types every float column as continuous; to compare each of its values with the rest, "
        "set \"column_typing\": \"intent\" at the top level of analysis_config.json)")
    out, _, found = section(df, typing="intent", facet_values=None)
    first = int(df["Gender"].dropna().iloc[0])
    assert [e["value_or_threshold"] for e in out["facets"]["Gender"]] == [str(first), str(1 - first)]
    assert codes(found) == ["rows_excluded"]


def test_text_label_values_against_integer_predictions_name_the_values_to_give():
    df = loans().assign(Target=lambda f: np.where(f["Target"] == 1, "yes", "no"), p=lambda f: f["Gender"])
    with pytest.raises(DataError) as info:
        with _warnings.collect():
            bias_section(df, label="Target", label_values=["yes"], facets=[FacetSpec("Gender", [0])],
                         stage="post_training", methods=["DPPL"], predicted_label="p")
    assert str(info.value) == (
        "predicted label column 'p': none of the values ['yes'] occurs in the column, and they cannot be converted "
        "to the type of its values (int64): invalid literal for int() with base 10: 'yes'. Give values that occur in "
        f"the column (its values include {[int(df['p'].iloc[0]), 1 - int(df['p'].iloc[0])]!r}).")


def test_a_non_numeric_threshold_keeps_smclarifys_words_first():
    # smclarify: "Facet/label value provided must be a single numeric threshold for continuous data"
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"y": rng.integers(0, 2, 200), "age": rng.uniform(18, 80, 200)})
    with pytest.raises(DataError) as info:
        bias_section(frame, label="y", label_values=[1], facets=[FacetSpec("age", ["old"])], stage="pre_training",
                     methods=["CI"])
    assert str(info.value) == (
        "Facet/label value provided must be a single numeric threshold for continuous data (facet 'age': the column "
        "is continuous and 'old' is not a number; give one numeric threshold, or several values to treat the "
        "column as categorical)")


def test_missing_facet_cells_counted_with_the_rest_are_said():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"y": rng.integers(0, 2, 100), "sex": rng.choice(["F", "M"], 100)})
    frame.loc[7, "sex"] = None
    with _warnings.collect() as found:
        bias_section(frame, label="y", label_values=[1], facets=[FacetSpec("sex", ["F"])], stage="pre_training",
                     methods=["CI"])
    (warning,) = [w for w in found if w.code == "facet_cells_missing"]
    assert warning.message == ("1 of 100 rows have no facet value; they are counted with the rows outside "
                               "value_or_threshold ['F'], as Clarify counts them.")
    assert warning.fix.startswith('fill or drop the missing facet cells, or set "column_typing": "intent"')
    with _warnings.collect() as found:
        bias_section(frame.dropna(), label="y", label_values=[1], facets=[FacetSpec("sex", ["F"])],
                     stage="pre_training", methods=["CI"])
    assert not [w for w in found if w.code == "facet_cells_missing"]
