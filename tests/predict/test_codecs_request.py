"""Request codecs: CSV lines, JSON Lines and JSON templates, sizes, and every config error."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.errors import ConfigError, DataError
from clarify_engine.predict.codecs import request_codec


@dataclass(frozen=True)
class Expect:
    input: object
    output: object
    id: str


@dataclass(frozen=True)
class ExpectFail:
    input: object
    error: type
    message: str
    id: str


def body(codec, rows) -> str:
    return codec.join(codec.encode_records(rows)).decode()


# --------------------------------------------------------------------------- CSV

CSV_CASES = [
    Expect([[1, 2, 3, 4], [5, 6, 7, 8]], "1,2,3,4\n5,6,7,8", "ints"),
    Expect([["This is a good product", 5, 0, 0]], '"This is a good product",5,0,0', "text quoted"),
    Expect([['say "hi", ok', 1, 2, 3]], '"say ""hi"", ok",1,2,3', "embedded quote and comma"),
    Expect([["", 1, 2, 3]], '"",1,2,3', "empty string is not missing"),
    Expect([[float("nan"), None, pd.NA, 1.5]], ",,,1.5", "missing values are empty fields"),
    Expect([[0.1, 1e16, 1e-7, 2.0]], "0.1,1e+16,1e-7,2", "shortest float text, integral without .0"),
    Expect([[math.inf, -math.inf, -0.0, 123456789.125]], "inf,-inf,-0,123456789.125", "infinities"),
    Expect([[True, False, np.True_, np.int8(-3)]], "1,0,1,-3", "booleans and numpy scalars"),
    Expect([[2**63 - 1, 2**60 + 1, 7, 1]], f"{2**63 - 1},{2**60 + 1},7,1", "big ints exact"),
    Expect([["naïve ☃", "日本", 1, 2]], '"naïve ☃","日本",1,2', "unicode"),
    Expect([], "", "no records"),
]


@pytest.mark.parametrize("case", CSV_CASES, ids=lambda c: c.id)
def test_csv_lines(case):
    codec = request_codec("text/csv", feature_names=["A", "B", "C", "D"])
    assert body(codec, case.input) == case.output


def test_csv_numpy_blocks_and_frames_agree():
    rng = np.random.default_rng(0)
    block = rng.normal(size=(50, 4))
    block[::7, 1] = np.nan
    block[:, 2] = np.round(block[:, 2] * 100)
    codec = request_codec("text/csv", feature_names=list("ABCD"))
    from_array = body(codec, block)
    from_frame = body(codec, pd.DataFrame(block, columns=list("ABCD")))
    from_lists = body(codec, block.tolist())
    from_float32 = body(codec, block.astype(np.float32))
    assert from_array == from_frame == from_lists
    back = pd.read_csv(io.StringIO(from_array), header=None).to_numpy()
    np.testing.assert_array_equal(back, block)
    back32 = pd.read_csv(io.StringIO(from_float32), header=None).to_numpy()
    np.testing.assert_array_equal(back32.astype(np.float32), block.astype(np.float32))
    # integral floats lose ".0"; a record's text does not depend on its batch
    assert "." not in from_array.split("\n")[0].split(",")[2]
    assert body(codec, block[:1]) == from_array.split("\n")[0]


def test_csv_integral_column_widened_by_missing_value():
    frame = pd.DataFrame({"age": [35, None, 41], "income": [1.5, 2.25, 3.0]})
    assert frame["age"].dtype == np.float64
    codec = request_codec("text/csv", feature_names=["age", "income"])
    assert body(codec, frame) == "35,1.5\n,2.25\n41,3"


def test_csv_mixed_frame_with_pandas_str_and_nullable_columns():
    frame = pd.DataFrame(
        {
            "text": pd.array(["a,b", None, "c"], dtype="str"),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "flag": [True, False, True],
            "x": [0.5, np.inf, np.nan],
        }
    )
    codec = request_codec("text/csv", feature_names=list(frame.columns))
    assert body(codec, frame) == '"a,b",1,1,0.5\n,,0,inf\n"c",3,1,'


def test_csv_object_array_columns():
    rows = np.array([["x", 1, 0.5], ["y", 2, np.nan]], dtype=object)
    codec = request_codec("text/csv", feature_names=["s", "i", "f"])
    assert body(codec, rows) == '"x",1,0.5\n"y",2,'


@pytest.mark.parametrize(
    "rows, message",
    [
        ([[1, 2], [3]], "record 1 has 1 values, expected 2"),
        (np.zeros((2, 3)), "each record has 3 values, expected 2"),
        (pd.DataFrame({"a": [1]}), "each record has 1 values, expected 2"),
        (np.zeros(4), "2-D array"),
    ],
    ids=["ragged list", "wide array", "narrow frame", "1-D array"],
)
def test_record_width_errors(rows, message):
    codec = request_codec("text/csv", feature_names=["a", "b"])
    with pytest.raises(DataError, match=message):
        codec.encode_records(rows)


def test_csv_single_missing_feature_is_not_a_blank_line():
    codec = request_codec("text/csv", feature_names=["x"])
    text = body(codec, [[np.nan], [1.5], [None]])
    assert text == '""\n1.5\n""'
    assert pd.read_csv(io.StringIO(text), header=None)[0].tolist()[1] == 1.5
    assert len(pd.read_csv(io.StringIO(text), header=None)) == 3


def test_csv_sizes():
    codec = request_codec("text/csv", feature_names=["a", "b"])
    pieces = codec.encode_records([[1, 2], [3, 4], [5, 6]])
    assert codec.max_records is None and codec.content_type == "text/csv"
    assert len(codec.join(pieces)) == sum(map(len, pieces)) + codec.overhead() + len(codec.separator) * 2


# --------------------------------------------------------------------------- property: CSV round trip

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=12
).filter(lambda s: s != "")


@st.composite
def _table(draw):
    kinds = draw(st.lists(st.sampled_from(["float", "int", "str"]), min_size=1, max_size=5))
    n = draw(st.integers(1, 8))
    columns = []
    for kind in kinds:
        if kind == "float":
            columns.append(draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n)))
        elif kind == "int":
            columns.append(draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)))
        else:
            columns.append(draw(st.lists(_text, min_size=n, max_size=n)))
    container = draw(st.sampled_from(["frame", "lists", "objects"]))
    return kinds, columns, container


@settings(max_examples=300, deadline=None)
@given(_table())
def test_csv_round_trips_through_pandas(table):
    kinds, columns, container = table
    names = [f"f{j}" for j in range(len(kinds))]
    rows = [list(r) for r in zip(*columns)]
    if container == "frame":
        data = pd.DataFrame({name: col for name, col in zip(names, columns)})
    elif container == "objects":
        data = np.empty((len(rows), len(names)), dtype=object)
        data[:, :] = rows
    else:
        data = rows
    codec = request_codec("text/csv", feature_names=names)
    text = body(codec, data)
    dtypes = {j: {"float": "float64", "int": "int64", "str": "str"}[k] for j, k in enumerate(kinds)}
    back = pd.read_csv(
        io.StringIO(text), header=None, dtype=dtypes, keep_default_na=False,
        na_values={j: [""] for j, k in enumerate(kinds) if k == "float"},
    )
    assert back.shape == (len(rows), len(kinds))
    for j, kind in enumerate(kinds):
        got = back.iloc[:, j].tolist()
        if kind == "float":
            np.testing.assert_array_equal(np.array(got, dtype=float), np.array(columns[j], dtype=float))
        else:
            assert got == columns[j]


# --------------------------------------------------------------------------- JSON Lines

def test_jsonlines_features_array():
    codec = request_codec(
        "application/jsonlines", feature_names=["a", "b", "c"], content_template='{"data":{"features":$features}}'
    )
    rows = [[1, 2.5, "x"], [np.nan, 1e999, "ü\"q"]]
    pieces = codec.encode_records(rows)
    assert pieces[0] == b'{"data":{"features":[1,2.5,"x"]}}'
    assert [json.loads(p) for p in pieces][1] == {"data": {"features": [None, math.inf, 'ü"q']}}
    assert codec.join(pieces) == pieces[0] + b"\n" + pieces[1]
    assert codec.max_records is None and codec.overhead() == 0


def test_jsonlines_feature_names_and_numeric_fast_path():
    codec = request_codec(
        "application/jsonlines", feature_names=["a", "b"], content_template='{"f":$features,"n":$feature_names}'
    )
    block = np.array([[1.0, 0.25], [3.0, np.nan]])
    assert codec.join(codec.encode_records(block)) == (
        b'{"f":[1,0.25],"n":["a","b"]}\n{"f":[3,null],"n":["a","b"]}'
    )


def test_jsonlines_booleans_are_json_booleans():
    codec = request_codec("application/jsonlines", feature_names=["a", "b"], content_template="$features")
    assert codec.encode_records(np.array([[True, False]])) == [b"[true,false]"]


# --------------------------------------------------------------------------- JSON

FRAME = pd.DataFrame({"A": [0, 3], "B": [1.5, np.nan], "C": ["x", "y"]})

JSON_CASES = [
    Expect(("$records", "$features_kvp"),
           [{"A": 0, "B": 1.5, "C": "x"}, {"A": 3, "B": None, "C": "y"}], "records of kvp"),
    Expect(('{"instances":$records,"feature_names":$feature_names}', "$features"),
           {"instances": [[0, 1.5, "x"], [3, None, "y"]], "feature_names": ["A", "B", "C"]}, "SDK example 1"),
    Expect(("$records", '{"A": "${A}", "C": "${C}"}'),
           [{"A": 0, "C": "x"}, {"A": 3, "C": "y"}], "per-feature placeholders"),
    Expect(('{"x":$records}', '{"f":$features,"n":$feature_names}'),
           {"x": [{"f": [0, 1.5, "x"], "n": ["A", "B", "C"]}, {"f": [3, None, "y"], "n": ["A", "B", "C"]}]},
           "names in record template"),
    Expect(('{"instances":$records}', '{"data":$features_kvp,"id":"${C}"}'),
           {"instances": [{"data": {"A": 0, "B": 1.5, "C": "x"}, "id": "x"},
                          {"data": {"A": 3, "B": None, "C": "y"}, "id": "y"}]}, "kvp with a placeholder"),
]


@pytest.mark.parametrize("case", JSON_CASES, ids=lambda c: c.id)
def test_json_records(case):
    content, record = case.input
    codec = request_codec("application/json", feature_names=list(FRAME.columns),
                          content_template=content, record_template=record)
    pieces = codec.encode_records(FRAME)
    payload = codec.join(pieces)
    assert json.loads(payload) == case.output
    assert codec.max_records is None
    assert len(payload) == sum(map(len, pieces)) + codec.overhead() + len(codec.separator) * (len(pieces) - 1)


def test_json_single_record_template():
    codec = request_codec("application/json", feature_names=["A", "B"],
                          content_template='{"instance":$record}', record_template="$features_kvp")
    assert codec.max_records == 1
    piece = codec.encode_records([[0, 1]])
    assert codec.join(piece) == b'{"instance":{"A":0,"B":1}}'
    assert len(codec.join(piece)) == len(piece[0]) + codec.overhead()
    with pytest.raises(ValueError, match="one record per request, got 2"):
        codec.join(codec.encode_records([[0, 1], [2, 3]]))


def test_json_feature_names_escaped_and_unicode():
    names = ['a"b', "prix €"]
    codec = request_codec("application/json", feature_names=names,
                          content_template="$records", record_template="$features_kvp")
    assert json.loads(codec.join(codec.encode_records([[1, "é"]]))) == [{'a"b': 1, "prix €": "é"}]


def test_json_matches_stdlib_for_mixed_rows():
    rows = [[1, 0.1, "a", True, None], [-(2**62), 1e-300, "", False, 2.5]]
    names = list("abcde")
    codec = request_codec("application/json", feature_names=names,
                          content_template="$records", record_template="$features")
    assert json.loads(codec.join(codec.encode_records(rows))) == rows


# --------------------------------------------------------------------------- errors

J = "application/json"
L = "application/jsonlines"
ERROR_CASES = [
    ExpectFail(("text/xml", {}), ConfigError, r"predictor.content_type: expected one of .* found 'text/xml'", "unknown type"),
    ExpectFail((L, {}), ConfigError, "predictor.content_template: required for content_type application/jsonlines", "jsonlines no template"),
    ExpectFail((L, {"content_template": '{"x":1}'}), ConfigError, "exactly once, found it 0 times", "jsonlines no features"),
    ExpectFail((L, {"content_template": "[$features,$features]"}), ConfigError, "found it 2 times", "jsonlines twice"),
    ExpectFail((L, {"content_template": '{"x":$features_kvp}'}), ConfigError, r"\$features_kvp is not allowed", "jsonlines kvp"),
    ExpectFail((L, {"content_template": '{"x":$features'}), ConfigError, "does not give valid JSON", "jsonlines bad json"),
    ExpectFail((J, {"content_template": "$records"}), ConfigError, "predictor.record_template: content_template and record_template are required", "json no record template"),
    ExpectFail((J, {"record_template": "$features"}), ConfigError, "predictor.content_template: content_template and record_template are required", "json no content template"),
    ExpectFail((J, {"content_template": '{"x":1}', "record_template": "$features"}), ConfigError, r"exactly one placeholder \$records or \$record, found 0", "no records"),
    ExpectFail((J, {"content_template": "[$records,$record]", "record_template": "$features"}), ConfigError, r"found 1 \$records and 1 \$record", "both"),
    ExpectFail((J, {"content_template": '{"a":$records,"b":$features}', "record_template": "$features"}), ConfigError, r"\$features belongs in record_template", "features in content"),
    ExpectFail((J, {"content_template": "$records", "record_template": '{"a":1}'}), ConfigError, "found none in", "no placeholders"),
    ExpectFail((J, {"content_template": "$records", "record_template": "[$features_kvp,$features_kvp]"}), ConfigError, "only once, found it 2 times", "kvp twice"),
    ExpectFail((J, {"content_template": "$records", "record_template": '{"z":"${Z}"}'}), ConfigError, r'"\$\{Z\}" names no feature; expected one of \[\'A\', \'B\'\]', "unknown name"),
    ExpectFail((J, {"content_template": "$records", "record_template": "{$features}"}), ConfigError, "predictor.record_template: the template does not give valid JSON", "record bad json"),
    ExpectFail((J, {"content_template": "{$records}", "record_template": "$features"}), ConfigError, "predictor.content_template: the template does not give valid JSON", "content bad json"),
    ExpectFail((J, {"content_template": "", "record_template": "$features"}), ConfigError, "expected a non-empty template string", "empty"),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.id)
def test_request_codec_errors(case):
    content_type, templates = case.input
    with pytest.raises(case.error, match=case.message):
        request_codec(content_type, feature_names=["A", "B"], **templates)


def test_no_features_is_a_config_error():
    with pytest.raises(ConfigError, match="no feature columns"):
        request_codec("text/csv", feature_names=[])


def test_content_type_parameters_ignored():
    assert request_codec("Text/CSV; charset=utf-8", feature_names=["a"]).content_type == "text/csv"


@pytest.mark.parametrize("content_type, templates", [
    ("text/csv", {}),
    ("application/jsonlines", {"content_template": "$features"}),
    ("application/json", {"content_template": "$records", "record_template": "$features_kvp"}),
])
def test_record_text_does_not_depend_on_its_batch(content_type, templates):
    """The fast block path and the value-by-value path write a value the same way."""
    record = [1e-5, 1e16, 0.1, 35.0, -0.0, 2.5e-300]
    names = [f"f{j}" for j in range(len(record))]
    codec = request_codec(content_type, feature_names=names, **templates)
    alone = codec.encode_records(np.array([record]))[0]
    with_inf = codec.encode_records(np.array([record, [np.inf] * len(record)]))[0]  # column path
    with_text = codec.encode_records([record, ["x"] * len(record)])[0]  # object columns, per value
    as_objects = codec.encode_records(np.array([record], dtype=object))[0]
    assert alone == with_inf == with_text == as_objects
