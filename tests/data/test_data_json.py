"""JSON Lines and JSON datasets with the SDK fixture configs' shapes (10, 12)."""

from __future__ import annotations

import json

import pytest

from tests.data._spec import load_dataset
from clarify_engine.errors import ConfigError, DataError
from tests.data.conftest import sdk_config, write

JSONL = "\n".join(
    json.dumps({"Features": f, "Label": y})
    for f, y in [([30, 0, 2500.5, "a"], 1), ([41, 1, 2600.0, "b"], 0), ([25, 1, 2700.25, "c"], 1)]
) + "\n\n"


def test_jsonlines_fixture_10_headers_name_features_then_label(tmp_path):
    config = sdk_config("10")
    ds = load_dataset(config, write(tmp_path / "d.jsonl", JSONL))
    assert list(ds.frame.columns) == ["Age", "Gender", "Income", "Occupation", "Target"]
    assert ds.label == "Target"
    assert ds.predicted_label is None
    assert ds.features == ["Age", "Gender", "Income", "Occupation"]
    assert ds.facets == [("Gender", [0])]
    assert ds.frame["Target"].tolist() == [1, 0, 1]
    assert [str(t) for t in ds.frame.dtypes] == ["int64", "int64", "float64", "str", "int64"]


def test_jsonlines_without_headers_gets_default_names(tmp_path):
    config = {"dataset_type": "application/jsonlines", "features": "Features", "label": "Label",
              "predicted_label": "Label"}
    ds = load_dataset(config, write(tmp_path / "d.jsonl", JSONL))
    assert list(ds.frame.columns) == ["column_0", "column_1", "column_2", "column_3", "label", "predicted_label"]
    assert ds.label == "label" and ds.predicted_label == "predicted_label"


def test_jsonlines_headers_for_features_only_default_the_label(tmp_path):
    config = {**sdk_config("10"), "headers": ["Age", "Gender", "Income", "Occupation"]}
    ds = load_dataset(config, write(tmp_path / "d.jsonl", JSONL))
    assert ds.label == "label"


def test_jsonlines_without_features_path_takes_the_line_as_features(tmp_path):
    ds = load_dataset({"dataset_type": "application/jsonlines"}, write(tmp_path / "d.jsonl", "[1, 2]\n[3, 4]\n"))
    assert ds.frame.values.tolist() == [[1, 2], [3, 4]]


def test_jsonlines_missing_values_stay_nan(tmp_path):
    text = '{"f": [1, null], "y": 1}\n{"f": [2, 3.5], "y": 0}\n'
    ds = load_dataset({"dataset_type": "application/jsonlines", "features": "f", "label": "y"},
                      write(tmp_path / "d.jsonl", text))
    assert ds.frame["column_1"].isna().tolist() == [True, False]


def test_jsonlines_gzip_folder(tmp_path):
    config = sdk_config("10")
    lines = JSONL.strip().split("\n")
    write(tmp_path / "p" / "part-0.jsonl.gz", lines[0] + "\n", gz=True)
    write(tmp_path / "p" / "part-1.jsonl", "\n".join(lines[1:]))
    ds = load_dataset(config, tmp_path / "p")
    assert ds.frame["Age"].tolist() == [30, 41, 25]
    assert len(ds.source_files) == 2


def _json_doc(n=3):
    return json.dumps({"data": [{"features": [20 + i, i % 2, 1000.0 * i, i], "label": i % 2} for i in range(n)]})


def test_json_fixture_12_whole_document(tmp_path):
    config = sdk_config("12")
    ds = load_dataset(config, write(tmp_path / "d.json", _json_doc()))
    assert list(ds.frame.columns) == ["Age", "Gender", "Income", "Occupation", "label"]
    assert ds.label == "label"
    assert ds.frame["Age"].tolist() == [20, 21, 22]
    assert ds.features == ["Age", "Gender", "Income", "Occupation"]
    assert ds.facets == [("Gender", [0])]


def test_json_several_files_concatenate(tmp_path):
    config = sdk_config("12")
    write(tmp_path / "p" / "a.json", _json_doc(2))
    write(tmp_path / "p" / "b.json.gz", _json_doc(3), gz=True)
    assert len(load_dataset(config, tmp_path / "p").frame) == 5


def test_json_label_length_mismatch(tmp_path):
    doc = {"features": [[1, 2, 3, 4], [1, 2, 3, 4]], "labels": [1]}
    config = {**sdk_config("12"), "features": "features", "label": "labels"}
    with pytest.raises(DataError, match=r"label path 'labels' yielded 1 values, but features path "
                                        r"'features' yielded 2 records; the lengths must match"):
        load_dataset(config, write(tmp_path / "d.json", json.dumps(doc)))


def test_json_record_without_label_is_named_not_shifted(tmp_path):
    # JMESPath's projection would drop record 1's label and pair record 2's with record 1.
    doc = {"data": [{"features": [1, 2, 3, 4], "label": 1}, {"features": [1, 2, 3, 4]},
                    {"features": [5, 6, 7, 8], "label": 0}]}
    path = write(tmp_path / "d.json", json.dumps(doc))
    with pytest.raises(DataError) as info:
        load_dataset(sdk_config("12"), path)
    assert str(info.value) == (f"{path} record 1: label path 'data[*].label' found nothing; without it the label "
                               "values would shift against the features. Give record 1 its label, or remove the "
                               "whole record.")


def test_json_null_features_and_null_label_in_other_records_are_not_a_shift(tmp_path):
    records = [{"features": [i, i % 2, 0, 1], "label": i % 2} for i in range(200)]
    records[3]["features"] = None
    records[150]["label"] = None
    path = write(tmp_path / "d.json", json.dumps({"data": records}))
    with pytest.raises(DataError) as info:
        load_dataset(sdk_config("12"), path)
    assert str(info.value) == (f"{path} record 3: features path 'data[*].features' found nothing; without it the "
                               "record's label would pair with the next record's features. Give record 3 its "
                               "features, or remove the whole record.")
    records[3]["features"] = [3, 1, 0, 1]
    write(tmp_path / "d.json", json.dumps({"data": records}))
    with pytest.raises(DataError, match=r".*record 150: label path 'data\[\*\]\.label' found nothing"):
        load_dataset(sdk_config("12"), path)
    records[150]["label"] = 0
    write(tmp_path / "d.json", json.dumps({"data": records}))
    ds = load_dataset(sdk_config("12"), path)
    assert len(ds.frame) == 200
    assert ds.frame[ds.label].tolist() == [r["label"] for r in records]
    assert ds.read_report["dataset"]["files"] == [{"file": str(path), "rows": 200}]


def test_json_features_not_2d(tmp_path):
    with pytest.raises(DataError, match=r"record 0: features path 'data\[\*\]\.features' yielded int 5"):
        load_dataset(sdk_config("12"), write(tmp_path / "d.json", json.dumps({"data": [{"features": 5, "label": 1}]})))


def test_json_invalid_document(tmp_path):
    with pytest.raises(DataError, match=r"d\.json: not valid JSON \(.* at line 2 column"):
        load_dataset(sdk_config("12"), write(tmp_path / "d.json", '{"data":\n [,]}'))


def test_jsonlines_bad_line_names_file_and_line(tmp_path):
    text = JSONL.strip().split("\n")
    text.insert(2, '{"Features": [1, 2, 3, 4], "Label": ')
    path = write(tmp_path / "d.jsonl", "\n".join(text))
    with pytest.raises(DataError, match=r"d\.jsonl line 3: not valid JSON"):
        load_dataset(sdk_config("10"), path)


def test_jsonlines_path_finds_nothing(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"Features": [1, 2, 3, 4], "Label": 1}\n{"Label": 0}\n')
    with pytest.raises(DataError, match=r"d\.jsonl line 2: features path 'Features' found nothing in \{\"Label\": 0\}"):
        load_dataset(sdk_config("10"), path)
    path = write(tmp_path / "e.jsonl", '{"Features": [1, 2, 3, 4], "Label": 1}\n{"Features": [1, 2, 3, 4]}\n')
    with pytest.raises(DataError, match=r"e\.jsonl line 2: label path 'Label' found nothing"):
        load_dataset(sdk_config("10"), path)


def test_jsonlines_ragged_feature_lists(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"Features": [1, 2, 3, 4], "Label": 1}\n{"Features": [1, 2], "Label": 0}\n')
    with pytest.raises(DataError, match=r"line 2: 2 features, but earlier records have 4"):
        load_dataset(sdk_config("10"), path)


def test_jsonlines_header_count_mismatch(tmp_path):
    config = {**sdk_config("10"), "headers": ["a", "b"]}
    with pytest.raises(DataError, match=r"^Headers in config do not match with the number of columns in the "
                                        r"dataset\. File .*d\.jsonl: 2 headers in config, 4 features per record"):
        load_dataset(config, write(tmp_path / "d.jsonl", JSONL))


def test_jsonlines_label_must_be_jmespath(tmp_path):
    with pytest.raises(ConfigError, match=r"^label: expected a JMESPath string .* found 0"):
        load_dataset({**sdk_config("10"), "label": 0}, write(tmp_path / "d.jsonl", JSONL))
    with pytest.raises(ConfigError, match=r"^features: expected a valid JMESPath expression, found 'a\[\['"):
        load_dataset({**sdk_config("10"), "features": "a[["}, write(tmp_path / "d.jsonl", JSONL))


@pytest.mark.parametrize("path", ["a", "a.b", "a.b.c", '"x y"', "a[0]", "a.b[*]", "a || b", "c"])
def test_field_chain_fast_path_agrees_with_jmespath(path):
    import jmespath

    from clarify_engine.data._json import JsonColumns

    columns = JsonColumns(path, None, None)
    for document in [{"a": {"b": {"c": [1]}}}, {"a": [1, 2]}, {"a": 1}, {"x y": [3]}, {"b": [4]}, [1], 5, {}]:
        assert columns.search("features", document) == jmespath.search(path, document)


def test_jsonlines_with_predicted_label_dataset(tmp_path):
    config = {**sdk_config("10"), "predicted_label": "Pred", "predicted_label_headers": ["Pred"],
              "predicted_label_dataset_uri": str(write(tmp_path / "p.csv", "1\n1\n0\n"))}
    ds = load_dataset(config, write(tmp_path / "d.jsonl", JSONL))
    assert ds.predicted_label == "Pred"
    assert list(ds.frame.columns) == ["Age", "Gender", "Income", "Occupation", "Target", "Pred"]
    assert ds.frame["Pred"].tolist() == [1, 1, 0]
    assert ds.features == ["Age", "Gender", "Income", "Occupation"]
