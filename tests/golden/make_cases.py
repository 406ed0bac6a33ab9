"""Write the golden-suite cases: one small CSV dataset and one analysis_config.json each.

Runs unchanged in the project venv (numpy 2 / pandas 3) and in the pinned smclarify venv
(numpy 1.26 / pandas 1.5) and writes the same bytes in both: random numbers come from
the frozen legacy ``numpy.random.RandomState`` stream, the datasets bundled with
scikit-learn are read from their packaged files (no network) and rounded to 8 decimals
(scikit-learn 1.3 and 1.9 parse a few of diabetes' values one ulp apart), and the CSV text is
formatted here (``repr`` of floats, ``True``/``False``, empty cell for a missing value)
instead of by pandas.

File convention
---------------
A case's ``data.csv`` has a header row **if and only if** its config has no ``headers``
key. When the config has ``headers``, the file holds data rows only and ``headers``
names every column in order (this is how SageMaker's own examples write header-less
CSVs).

Usage::

    python tests/golden/make_cases.py                 # writes tests/golden/cases/<id>/
    python tests/golden/make_cases.py --out DIR       # somewhere else (determinism check)
    python tests/golden/make_cases.py --table         # print the README coverage table
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

CASES_DIR = Path(__file__).resolve().parent / "cases"

PRE = {"pre_training_bias": {"methods": "all"}}
PRE_POST = {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}


@dataclass
class Case:
    """One golden case: columns in file order, the config, and what it covers."""

    case_id: str
    covers: str
    columns: dict[str, list[Any]]
    config: dict[str, Any]
    header_row: bool = field(init=False)

    def __post_init__(self):
        self.header_row = "headers" not in self.config
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"case {self.case_id}: columns have different lengths {sorted(lengths)}")


_REGISTRY: list[Callable[[], Case]] = []


def case(fn: Callable[[], Case]) -> Callable[[], Case]:
    """Register a case builder; cases are written in registration order."""
    _REGISTRY.append(fn)
    return fn


def _config(
    label,
    label_values,
    facets,
    *,
    headers=None,
    predicted_label=None,
    group_variable=None,
) -> dict[str, Any]:
    """Build a Clarify analysis config in the key order the SageMaker SDK writes."""
    cfg: dict[str, Any] = {"dataset_type": "text/csv"}
    if headers is not None:
        cfg["headers"] = list(headers)
    cfg["label"] = label
    if predicted_label is not None:
        cfg["predicted_label"] = predicted_label
    cfg["label_values_or_threshold"] = label_values
    cfg["facet"] = facets
    if group_variable is not None:
        cfg["group_variable"] = group_variable
    cfg["methods"] = dict(PRE_POST if predicted_label is not None else PRE)
    return cfg


def _facet(name_or_index, values=None) -> dict[str, Any]:
    out: dict[str, Any] = {"name_or_index": name_or_index}
    if values is not None:
        out["value_or_threshold"] = values
    return out


# ----------------------------------------------------------------------------- helpers
def _r(x, nd=4) -> list[float]:
    """Round an array to ``nd`` decimals as Python floats (short, exact CSV text)."""
    return [round(float(v), nd) for v in np.asarray(x, dtype=float)]


def _ints(x) -> list[int]:
    return [int(v) for v in np.asarray(x)]


def _flip(rng: np.random.RandomState, y, rate: float) -> np.ndarray:
    """Flip a 0/1 vector with probability ``rate`` per element."""
    y = np.asarray(y, dtype=int)
    return np.where(rng.uniform(size=y.size) < rate, 1 - y, y)


def _logistic(z) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def _with_missing(rng: np.random.RandomState, values: list, rate: float) -> list:
    mask = rng.uniform(size=len(values)) < rate
    return [None if m else v for v, m in zip(values, mask)]


def _pick(rng: np.random.RandomState, choices: list, n: int, p=None) -> list:
    idx = rng.choice(len(choices), size=n, p=p)
    return [choices[i] for i in idx]


# ----------------------------------------------------------------------------- cases
@case
def binary_basic() -> Case:
    rng = np.random.RandomState(101)
    n = 1000
    gender = rng.binomial(1, 0.4, n)
    age = rng.randint(18, 81, n)
    income = rng.normal(50_000, 15_000, n)
    occupation = rng.randint(0, 6, n)
    z = -0.5 + 0.03 * (age - 45) + (income - 50_000) / 20_000 + 0.6 * gender
    target = rng.binomial(1, _logistic(z))
    pred = _flip(rng, target, 0.15)
    headers = ["Target", "Age", "Gender", "Income", "Occupation", "PredictedTarget"]
    cols = dict(zip(headers, [_ints(target), _ints(age), _ints(gender), _r(income, 2), _ints(occupation), _ints(pred)]))
    cfg = _config("Target", [1], [_facet("Gender", [0])], headers=headers, predicted_label="PredictedTarget")
    return Case("binary_basic", "header-less CSV + `headers`; binary int label `[1]`; int 0/1 facet `[0]`; "
                "predicted label; FT on numeric features", cols, cfg)


@case
def multiclass_string_one_vs_rest() -> Case:
    rng = np.random.RandomState(102)
    n = 1200
    race = _pick(rng, ["w", "b", "a", "h", "o"], n, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    hours = rng.gamma(4.0, 2.5, n)
    age = rng.randint(17, 70, n)
    shift = np.array([{"w": 0.3, "b": -0.2, "a": 0.4, "h": -0.1, "o": 0.0}[r] for r in race])
    score = 0.1 * hours + shift + rng.normal(0, 1, n)
    grade = np.select([score > 1.8, score > 1.0, score > 0.3], ["A", "B", "C"], "D")
    pred_score = score + rng.normal(0, 0.6, n)
    pred = np.select([pred_score > 1.8, pred_score > 1.0, pred_score > 0.3], ["A", "B", "C"], "D")
    cols = {"grade": list(grade), "race": race, "hours": _r(hours, 3), "age": _ints(age), "pred_grade": list(pred)}
    cfg = _config("grade", ["A", "B"], [_facet("race")], predicted_label="pred_grade")
    return Case("multiclass_string_one_vs_rest", "header row; 4-class string label with value list `[A, B]`; "
                "string facet without values (one-vs-rest, 5 entries); string predicted label", cols, cfg)


@case
def continuous_label_threshold() -> Case:
    rng = np.random.RandomState(103)
    n = 800
    age = rng.randint(18, 91, n)
    income = rng.lognormal(10.8, 0.5, n)
    region = rng.randint(1, 5, n)
    score = _logistic(0.02 * (age - 50) + (np.log(income) - 10.8) + 0.2 * (region - 2.5) + rng.normal(0, 0.7, n))
    pred = np.clip(score + rng.normal(0, 0.08, n), 0, 1)
    cols = {"score": _r(score, 4), "age": _ints(age), "income": _r(income, 2), "region": _ints(region),
            "pred_score": _r(pred, 4)}
    cfg = _config("score", [0.6], [_facet("age", [40]), _facet("income", [50000.0])], predicted_label="pred_score",
                  group_variable="region")
    return Case("continuous_label_threshold", "float label with threshold `[0.6]`; float predicted score; "
                "int facet typed continuous (`(40, 90]`); float facet threshold; int group variable", cols, cfg)


@case
def multi_facet_mixed() -> Case:
    rng = np.random.RandomState(104)
    n = 1500
    gender = _pick(rng, ["M", "F"], n, p=[0.55, 0.45])
    race = _pick(rng, ["A", "B", "C", "D", "E"], n, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    age = rng.randint(20, 76, n)
    months = rng.randint(0, 400, n)
    zone = rng.randint(1, 4, n)
    dept = _pick(rng, ["sales", "eng", "ops"], n)
    city = _pick(rng, ["Paris", "Lyon", "Nice"], n)
    income = rng.normal(3000, 800, n)
    z = (income - 3000) / 800 - 0.4 * np.array([g == "F" for g in gender]) + 0.3 * (zone == 2) \
        - 0.3 * np.array([r in ("D", "E") for r in race])
    approved = rng.binomial(1, _logistic(z))
    pred = _flip(rng, approved, 0.2)
    yn = lambda v: ["yes" if x else "no" for x in v]  # noqa: E731
    headers = ["approved", "gender", "race", "age", "months", "zone", "dept", "city", "income", "approved_pred"]
    cols = dict(zip(headers, [yn(approved), gender, race, _ints(age), _ints(months), _ints(zone), dept, city,
                              _r(income, 2), yn(pred)]))
    facets = [_facet("gender", ["F"]), _facet("race", ["D", "E"]), _facet("months", [120]), _facet("zone")]
    cfg = _config("approved", ["yes"], facets, headers=headers, predicted_label="approved_pred",
                  group_variable="dept")
    return Case("multi_facet_mixed", "4 facets: string value, multi-value `[D, E]`, int continuous threshold `[120]`, "
                "int one-vs-rest; string group variable; FT errors (non-numeric columns)", cols, cfg)


@case
def index_addressing() -> Case:
    rng = np.random.RandomState(105)
    n = 600
    grp = rng.randint(0, 3, n)
    tier = rng.randint(1, 4, n)
    x = rng.normal(0, 1, n)
    ratio = rng.beta(2, 5, n)
    y = rng.binomial(1, _logistic(x + 0.5 * (tier == 1) - ratio))
    pred = _flip(rng, y, 0.1)
    headers = ["grp", "tier", "x", "y", "ratio", "y_hat"]
    cols = dict(zip(headers, [_ints(grp), _ints(tier), _r(x), _ints(y), _r(ratio), _ints(pred)]))
    cfg = _config(3, [1], [_facet(1), _facet(4, [0.3])], headers=headers, predicted_label=5, group_variable=0)
    return Case("index_addressing", "label, facets, group variable and predicted label given by 0-based column "
                "index; int facet one-vs-rest; float facet threshold", cols, cfg)


@case
def tiny_dataset_typing() -> Case:
    rng = np.random.RandomState(106)
    n = 30
    sex = rng.binomial(1, 0.5, n)
    grp = _pick(rng, ["x", "y"], n)
    feat = rng.normal(0, 1, n)
    y = rng.binomial(1, 0.5, n)
    pred = _flip(rng, y, 0.2)
    cols = {"y": _ints(y), "sex": _ints(sex), "grp": grp, "feat": _r(feat), "pred": _ints(pred)}
    cfg = _config("y", [0], [_facet("sex", [1]), _facet("grp", ["x"])], predicted_label="pred")
    return Case("tiny_dataset_typing", "30 rows: 0/1 int label and facet type as continuous (uniqueness >= 5%): "
                "label `[0]` becomes `(0, 1]`, facet `[1]` is t == max (empty facet, `\"\"`)",
                cols, cfg)


@case
def degenerate_groups() -> Case:
    rng = np.random.RandomState(107)
    n = 500
    site = _pick(rng, ["S1", "S2", "S3", "S4"], n, p=[0.2, 0.25, 0.2, 0.35])
    cohort = rng.randint(1, 4, n)
    f1 = rng.normal(0, 1, n)
    f2 = rng.uniform(0, 10, n)
    y = rng.binomial(1, _logistic(f1))
    pred = _flip(rng, y, 0.15)
    site_arr = np.array(site)
    y = np.where(site_arr == "S1", 1, y)          # all-positive group
    y = np.where(site_arr == "S3", 0, y)          # all-negative group
    pred = np.where(site_arr == "S2", 0, pred)    # no predicted positives in a group
    pred = np.where(site_arr == "S1", 1, pred)    # all predicted positive
    cols = {"site": site, "cohort": _ints(cohort), "f1": _r(f1), "f2": _r(f2), "label": _ints(y), "pred": _ints(pred)}
    cfg = _config("label", [1], [_facet("site")], predicted_label="pred", group_variable="cohort")
    return Case("degenerate_groups", "one-vs-rest facet with an all-positive group (S1), no predicted positives "
                "(S2), an all-negative group (S3); infinities, 0/0, KL on a single common value", cols, cfg)


@case
def empty_facet_group() -> Case:
    rng = np.random.RandomState(108)
    n = 400
    country = _pick(rng, ["FR", "DE", "IT"], n)
    level = rng.randint(1, 5, n)
    tier = rng.randint(1, 4, n)
    a = rng.normal(0, 1, n)
    y = rng.binomial(1, _logistic(a + 0.2 * level))
    pred = _flip(rng, y, 0.1)
    headers = ["country", "level", "tier", "a", "y", "p"]
    cols = dict(zip(headers, [country, _ints(level), _ints(tier), _r(a), _ints(y), _ints(pred)]))
    facets = [_facet("country", ["ZZ"]), _facet("level", [9]), _facet("tier", ["2"])]
    cfg = _config("y", [1], facets, headers=headers, predicted_label="p")
    return Case("empty_facet_group", "facet values absent from the data (string `[ZZ]`, int `[9]`: every metric "
                "errors); string value `[\"2\"]` on an int column (converted to 2)", cols, cfg)


@case
def threshold_edges() -> Case:
    rng = np.random.RandomState(109)
    n = 300
    at_max = rng.uniform(0, 10, n)
    neg = -rng.uniform(1, 5, n)
    above = rng.normal(100, 5, n)
    wide = rng.randint(0, 1000, n)
    y = rng.uniform(0, 1, n)
    pred = np.clip(y + rng.normal(0, 0.1, n), 0, 1)
    at_max_r = _r(at_max, 3)
    neg_r = _r(neg, 3)
    above_r = _r(above, 3)
    cols = {"y": _r(y), "at_max": at_max_r, "neg": neg_r, "above": above_r, "wide": _ints(wide), "y_pred": _r(pred)}
    facets = [
        _facet("at_max", [max(at_max_r)]),         # t == max: empty interval list, ""
        _facet("neg", [abs(max(neg_r))]),          # |max| is the threshold: max is not added
        _facet("above", [max(above_r) + 1.0]),      # t > max: interval (max, t], selects nothing
        _facet("wide", [int(min(wide)) - 1]),       # every row sensitive: negated facet empty
    ]
    cfg = _config("y", [0.5], facets, predicted_label="y_pred")
    return Case("threshold_edges", "continuous facets with t == max, t == abs(max) of an all-negative column, "
                "t > max, t < min (all rows sensitive)", cols, cfg)


@case
def label_threshold_eq_max() -> Case:
    rng = np.random.RandomState(110)
    n = 250
    y = rng.randint(0, 200, n)
    g = _pick(rng, ["u", "v"], n)
    k = rng.normal(0, 1, n)
    cols = {"y": _ints(y), "g": g, "k": _r(k)}
    cfg = _config("y", [int(max(y))], [_facet("g", ["u"])], group_variable="g")
    return Case("label_threshold_eq_max", "int label typed continuous with threshold == max: label string `\"\"`, "
                "no positive label anywhere (pre-training only)", cols, cfg)


@case
def missing_values_categorical() -> Case:
    rng = np.random.RandomState(111)
    n = 700
    eth = _with_missing(rng, _pick(rng, ["e1", "e2", "e3"], n, p=[0.5, 0.3, 0.2]), 0.05)
    score = _with_missing(rng, _r(rng.uniform(0, 1, n), 3), 0.04)
    income = _with_missing(rng, _r(rng.normal(40, 10, n), 2), 0.03)
    region = _pick(rng, ["north", "south"], n)
    z = np.array([0.0 if v is None else v for v in score]) * 2 - 1 + rng.normal(0, 1, n)
    y = ["yes" if v > 0 else "no" for v in z]
    y = _with_missing(rng, y, 0.05)
    pred = ["yes" if v > 0.2 else "no" for v in z + rng.normal(0, 0.5, n)]
    cols = {"outcome": y, "ethnicity": eth, "score": score, "income": income, "region": region, "outcome_pred": pred}
    cfg = _config("outcome", ["yes"], [_facet("ethnicity"), _facet("score", [0.5])], predicted_label="outcome_pred",
                  group_variable="region")
    return Case("missing_values_categorical", "missing label (string), missing facet values (one-vs-rest gives a "
                "`nan` entry), missing values in a float facet and in a feature (FT error)", cols, cfg)


@case
def missing_binary_label_float() -> Case:
    rng = np.random.RandomState(112)
    n = 400
    y = _with_missing(rng, _ints(rng.binomial(1, 0.4, n)), 0.03)
    flag = _with_missing(rng, _ints(rng.binomial(1, 0.5, n)), 0.03)
    g = rng.randint(1, 3, n)
    v = rng.normal(0, 1, n)
    cols = {"y": y, "flag": flag, "g": _ints(g), "v": _r(v)}
    cfg = _config("y", [1], [_facet("flag", [0]), _facet("g", [2])])
    return Case("missing_binary_label_float", "0/1 label and facet with a missing value are read as float, so "
                "continuous: label `[1]` selects nothing, facet `[0]` becomes `(0.0, 1.0]`", cols, cfg)


@case
def string_label_bool_facet() -> Case:
    rng = np.random.RandomState(113)
    n = 900
    member = rng.binomial(1, 0.3, n).astype(bool)
    has_car = rng.binomial(1, 0.6, n).astype(bool)
    spend = rng.exponential(200, n)
    z = 0.5 * member + (spend - 200) / 200 + rng.normal(0, 1, n)
    y = ["good" if v > 0 else "bad" for v in z]
    pred = ["good" if v > 0.1 else "bad" for v in z + rng.normal(0, 0.7, n)]
    cols = {"risk": y, "is_member": [bool(b) for b in member], "has_car": [bool(b) for b in has_car],
            "spend": _r(spend, 2), "risk_pred": pred}
    cfg = _config("risk", ["good"], [_facet("is_member", [True]), _facet("has_car", ["False"])],
                  predicted_label="risk_pred")
    return Case("string_label_bool_facet", "string label `[good]`; bool facet `[true]`; bool facet given the string "
                "`[\"False\"]` (converted with `bool(\"False\")`, i.e. True); bool features (FT accepts bool)", cols, cfg)


@case
def breast_cancer() -> Case:
    from sklearn.datasets import load_breast_cancer

    ds = load_breast_cancer()
    rng = np.random.RandomState(114)
    X = ds.data
    n = X.shape[0]
    names = [str(c) for c in ds.feature_names]
    clinic = rng.randint(1, 4, n)
    radius = X[:, names.index("mean radius")]
    concav = X[:, names.index("worst concave points")]
    pred = ((radius + 40 * concav + rng.normal(0, 1.0, n)) < 20.5).astype(int)   # 1 = benign
    cols = {name: _r(X[:, j], 8) for j, name in enumerate(names)}
    cols["clinic"] = _ints(clinic)
    cols["target"] = _ints(ds.target)
    cols["predicted"] = _ints(pred)
    cfg = _config("target", [1], [_facet("mean radius", [14.0]), _facet("clinic")], predicted_label="predicted")
    return Case("breast_cancer", "scikit-learn breast cancer (569 rows, 30 float features); float facet "
                "threshold; synthetic int facet one-vs-rest; rule-based predictions; FT on 30+ features", cols, cfg)


@case
def iris_multiclass() -> Case:
    from sklearn.datasets import load_iris

    ds = load_iris()
    rng = np.random.RandomState(115)
    X = ds.data
    n = X.shape[0]
    species = [str(ds.target_names[t]) for t in ds.target]
    garden = rng.randint(1, 3, n)
    batch = rng.randint(1, 4, n)
    pw = X[:, 3] + rng.normal(0, 0.25, n)
    pred = [("setosa" if v < 0.8 else "versicolor" if v < 1.7 else "virginica") for v in pw]
    cols = {str(c): _r(X[:, j], 8) for j, c in enumerate(ds.feature_names)}
    cols["garden"] = _ints(garden)
    cols["batch"] = _ints(batch)
    cols["species"] = species
    cols["species_pred"] = pred
    cfg = _config("species", ["versicolor", "virginica"], [_facet("petal length (cm)", [4.0]), _facet("garden", [2])],
                  predicted_label="species_pred", group_variable="batch")
    return Case("iris_multiclass", "scikit-learn iris (150 rows); 3-class string label with value list; float "
                "facet threshold; synthetic int facet; group variable", cols, cfg)


@case
def wine_int_multiclass() -> Case:
    from sklearn.datasets import load_wine

    ds = load_wine()
    rng = np.random.RandomState(116)
    X = ds.data
    n = X.shape[0]
    names = [str(c) for c in ds.feature_names]
    region = rng.randint(1, 4, n)
    vintage = rng.randint(2001, 2004, n)
    flav = X[:, names.index("flavanoids")] + rng.normal(0, 0.4, n)
    pred = np.select([flav > 2.3, flav > 1.4], [0, 1], 2)
    cols = {name: _r(X[:, j], 8) for j, name in enumerate(names)}
    cols["region"] = _ints(region)
    cols["vintage"] = _ints(vintage)
    cols["class"] = _ints(ds.target)
    cols["class_pred"] = _ints(pred)
    headers = list(cols)
    cfg = _config("class", [0, 2], [_facet("alcohol", [13.0]), _facet("region")], headers=headers,
                  predicted_label="class_pred", group_variable="vintage")
    return Case("wine_int_multiclass", "scikit-learn wine (178 rows) header-less; 3-class int label with value "
                "list `[0, 2]`; float facet threshold; int facet one-vs-rest; group variable", cols, cfg)


@case
def diabetes_regression() -> Case:
    from sklearn.datasets import load_diabetes

    ds = load_diabetes(scaled=False)
    rng = np.random.RandomState(117)
    X = ds.data
    n = X.shape[0]
    names = [str(c) for c in ds.feature_names]
    bmi = X[:, names.index("bmi")]
    band = np.digitize(bmi, [22.0, 27.0, 32.0])
    pred = ds.target + rng.normal(0, 40, n)
    cols = {name: _r(X[:, j], 8) for j, name in enumerate(names)}
    cols["bmi_band"] = _ints(band)
    cols["target"] = _r(ds.target, 8)
    cols["predicted_target"] = _r(pred, 1)
    cfg = _config("target", [140.0], [_facet("sex", [1]), _facet("age", [50])], predicted_label="predicted_target",
                  group_variable="bmi_band")
    return Case("diabetes_regression", "scikit-learn diabetes (442 rows, unscaled); continuous label threshold; "
                "float 1.0/2.0 facet `sex` typed continuous (`(1.0, 2.0]`); float age threshold", cols, cfg)


@case
def predicted_type_mismatch() -> Case:
    rng = np.random.RandomState(118)
    n = 500
    g = _pick(rng, ["a", "b"], n)
    x = rng.normal(0, 1, n)
    y = rng.binomial(1, _logistic(x))
    proba = _logistic(x + rng.normal(0, 0.5, n))
    cols = {"g": g, "x": _r(x), "y": _ints(y), "proba": _r(proba)}
    cfg = _config("y", [1], [_facet("g", ["b"])], predicted_label="proba")
    return Case("predicted_type_mismatch", "categorical int label, float predicted column (continuous): "
                "post-training fails as a whole", cols, cfg)


@case
def no_predicted_positives() -> Case:
    rng = np.random.RandomState(119)
    n = 300
    g = _pick(rng, ["a", "b", "c"], n)
    x = rng.normal(0, 1, n)
    y = rng.binomial(1, _logistic(x))
    cols = {"g": g, "x": _r(x), "y": _ints(y), "y_pred": [0] * n}
    cfg = _config("y", [1], [_facet("g")], predicted_label="y_pred")
    return Case("no_predicted_positives", "predicted label never positive: post-training fails as a whole", cols, cfg)


@case
def ft_small_advantaged_group() -> Case:
    rng = np.random.RandomState(120)
    n = 60
    g9 = [0] * 8 + [1] * (n - 8)
    g10 = [0] * 10 + [1] * (n - 10)
    perm = rng.permutation(n)
    g9 = [g9[i] for i in perm]
    g10 = [g10[i] for i in rng.permutation(n)]
    x1 = rng.normal(0, 1, n)
    x2 = rng.uniform(-1, 1, n)
    y = rng.binomial(1, _logistic(x1 + x2))
    pred = _flip(rng, (x1 + x2 > 0).astype(int), 0.1)
    cols = {"g9": g9, "g10": g10, "x1": _r(x1, 5), "x2": _r(x2, 5), "y": _ints(y), "pred": _ints(pred)}
    cfg = _config("y", [1], [_facet("g9", [1]), _facet("g10", [1])], predicted_label="pred")
    return Case("ft_small_advantaged_group", "60 rows; int 0/1 facets (categorical: 2 values in 60 rows) whose "
                "advantaged group has 8 rows (FT k = 1) and 10 rows (k = 5)", cols, cfg)


@case
def int_facet_categorical_by_uniqueness() -> Case:
    rng = np.random.RandomState(121)
    n = 3000
    age = rng.randint(18, 80, n)
    w = rng.normal(0, 1, n)
    y = rng.binomial(1, _logistic(0.02 * (age - 45) + w))
    pred = _flip(rng, y, 0.12)
    cols = {"age": _ints(age), "w": _r(w), "y": _ints(y), "pred": _ints(pred)}
    cfg = _config("y", [1], [_facet("age", [40])], predicted_label="pred")
    return Case("int_facet_categorical_by_uniqueness", "3000 rows, int age with 62 values (< 5% unique) is "
                "categorical: `[40]` means age == 40", cols, cfg)


@case
def continuous_facet_without_threshold() -> Case:
    rng = np.random.RandomState(122)
    n = 200
    h = rng.normal(170, 10, n)
    y = rng.binomial(1, 0.5, n)
    pred = _flip(rng, y, 0.2)
    cols = {"height": _r(h, 1), "y": _ints(y), "pred": _ints(pred)}
    cfg = _config("y", [1], [_facet("height")], predicted_label="pred")
    return Case("continuous_facet_without_threshold", "float facet without threshold: the facet (so each stage) "
                "fails", cols, cfg)


@case
def label_value_unconvertible() -> Case:
    rng = np.random.RandomState(123)
    n = 200
    g = _pick(rng, ["a", "b"], n)
    y = rng.binomial(1, 0.5, n)
    cols = {"g": g, "y": _ints(y), "z": _r(rng.normal(0, 1, n))}
    cfg = _config("y", ["yes"], [_facet("g", ["a"])])
    return Case("label_value_unconvertible", "int label with value `[\"yes\"]`: conversion to the column type fails, "
                "pre-training fails as a whole", cols, cfg)


@case
def facet_value_unconvertible() -> Case:
    rng = np.random.RandomState(124)
    n = 200
    k = rng.randint(1, 4, n)
    y = rng.binomial(1, 0.5, n)
    cols = {"k": _ints(k), "y": _ints(y), "z": _r(rng.normal(0, 1, n))}
    cfg = _config("y", [1], [_facet("k", ["abc"])])
    return Case("facet_value_unconvertible", "int facet with value `[\"abc\"]`: smclarify's error path itself fails "
                "(UnboundLocalError), so the stage fails", cols, cfg)


@case
def cdd_simpson() -> Case:
    rng = np.random.RandomState(125)
    rows = []
    # (department, sex, admitted-rate, size): women apply to the harder departments
    spec = [("A", "M", 0.62, 160), ("A", "F", 0.82, 20), ("B", "M", 0.63, 110), ("B", "F", 0.68, 10),
            ("C", "M", 0.37, 60), ("C", "F", 0.34, 120), ("D", "M", 0.0, 40), ("D", "F", 0.0, 50),
            ("E", "M", 1.0, 15), ("E", "F", 1.0, 5)]
    for dept, sex, rate, size in spec:
        adm = rng.binomial(1, rate, size)
        for a in adm:
            rows.append((dept, sex, int(a)))
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    dept = [r[0] for r in rows]
    sex = [r[1] for r in rows]
    adm = np.array([r[2] for r in rows])
    gpa = rng.normal(3.0, 0.4, len(rows))
    pred = _flip(rng, adm, 0.1)
    cols = {"dept": dept, "sex": sex, "gpa": _r(gpa, 3), "admitted": _ints(adm), "admitted_pred": _ints(pred)}
    cfg = _config("admitted", [1], [_facet("sex", ["F"])], predicted_label="admitted_pred", group_variable="dept")
    return Case("cdd_simpson", "Simpson's paradox admissions data: CDDL/CDDPL by department, with a group that has "
                "no positives (D) and one with no negatives (E)", cols, cfg)


@case
def group_variable_missing_str() -> Case:
    rng = np.random.RandomState(126)
    n = 400
    g = _pick(rng, ["m", "f"], n)
    team = _with_missing(rng, _pick(rng, ["red", "blue", "green"], n), 0.05)
    x = rng.normal(0, 1, n)
    y = rng.binomial(1, _logistic(x))
    pred = _flip(rng, y, 0.1)
    cols = {"g": g, "team": team, "x": _r(x), "y": _ints(y), "pred": _ints(pred)}
    cfg = _config("y", [1], [_facet("g", ["f"])], predicted_label="pred", group_variable="team")
    return Case("group_variable_missing_str", "string group variable with missing values: CDDL/CDDPL fail "
                "(sorting str and float), other metrics unaffected", cols, cfg)


@case
def group_variable_missing_float() -> Case:
    rng = np.random.RandomState(127)
    n = 400
    g = _pick(rng, ["m", "f"], n)
    band = _with_missing(rng, _ints(rng.randint(1, 4, n)), 0.05)
    x = rng.normal(0, 1, n)
    y = rng.binomial(1, _logistic(x + 0.3 * np.array([v == "f" for v in g])))
    pred = _flip(rng, y, 0.1)
    cols = {"g": g, "band": band, "x": _r(x), "y": _ints(y), "pred": _ints(pred)}
    cfg = _config("y", [1], [_facet("g", ["f"])], predicted_label="pred", group_variable="band")
    return Case("group_variable_missing_float", "int group variable with missing values (read as float): rows "
                "with a missing group count in no group; FT error from scikit-learn on NaN feature", cols, cfg)


@case
def label_int_pred_float_continuous() -> Case:
    rng = np.random.RandomState(128)
    n = 500
    g = _pick(rng, ["p", "q"], n)
    y = rng.randint(0, 201, n)
    pred = y + rng.normal(0, 15, n)
    pred[:12] = 100.0 + rng.uniform(0.01, 0.99, 12)   # above the threshold, but not once truncated to int
    cols = {"g": g, "y": _ints(y), "y_pred": _r(pred, 2), "x": _r(rng.normal(0, 1, n))}
    cfg = _config("y", [100], [_facet("g", ["q"])], predicted_label="y_pred")
    return Case("label_int_pred_float_continuous", "int label typed continuous, float predictions: smclarify casts "
                "the predictions to the label's int dtype (truncation) before applying the threshold", cols, cfg)


# ----------------------------------------------------------------------------- writing
def _cell(v: Any) -> str:
    """Format one value as CSV text: missing -> empty, floats by ``repr``."""
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        return repr(float(v))
    if isinstance(v, str):
        return v
    raise TypeError(f"unsupported cell value {v!r} of type {type(v).__name__}")


def csv_text(c: Case) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(c.columns)
    if c.header_row:
        w.writerow(names)
    for row in zip(*c.columns.values()):
        w.writerow([_cell(v) for v in row])
    return buf.getvalue()


def config_text(c: Case) -> str:
    if not c.header_row and c.config["headers"] != list(c.columns):
        raise ValueError(f"case {c.case_id}: headers do not match the column order")
    return json.dumps(c.config, indent=2) + "\n"


def build_cases() -> list[Case]:
    cases = [fn() for fn in _REGISTRY]
    ids = [c.case_id for c in cases]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate case ids in {ids}")
    return cases


def write_cases(out_dir: Path) -> list[str]:
    """Write every case under ``out_dir``; return the case ids."""
    ids = []
    for c in build_cases():
        d = out_dir / c.case_id
        d.mkdir(parents=True, exist_ok=True)
        (d / "data.csv").write_text(csv_text(c), encoding="utf-8")
        (d / "analysis_config.json").write_text(config_text(c), encoding="utf-8")
        ids.append(c.case_id)
    return ids


def coverage_table() -> str:
    lines = ["| case | rows | header row | stages | covers |", "| --- | --- | --- | --- | --- |"]
    for c in build_cases():
        n = len(next(iter(c.columns.values())))
        stages = "pre + post" if "post_training_bias" in c.config["methods"] else "pre"
        lines.append(f"| `{c.case_id}` | {n} | {'yes' if c.header_row else 'no (`headers`)'} | {stages} | {c.covers} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=CASES_DIR, help="directory to write the cases into")
    p.add_argument("--table", action="store_true", help="print the README coverage table and exit")
    args = p.parse_args(argv)
    if args.table:
        print(coverage_table())
        return
    ids = write_cases(args.out)
    print(f"wrote {len(ids)} cases to {args.out}")


if __name__ == "__main__":
    main()
