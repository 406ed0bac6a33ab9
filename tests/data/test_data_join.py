"""Facet and predicted-label datasets, joined by key or by row position."""

from __future__ import annotations

import logging

import pytest

from tests.data._spec import load_dataset
from clarify_engine.errors import DataError
from tests.data.conftest import sdk_config, write

MAIN = "Target,Age,Gender,Income,Occupation,RecordId\n1,30,0,2500,3,7\n0,41,1,2600,4,8\n1,25,1,2700,5,9\n"


def test_fixture_07_predicted_label_dataset_joined_on_record_id(tmp_path):
    config = {**sdk_config("07"), "predicted_label_dataset_uri": "predictions/"}
    main = write(tmp_path / "main.csv", MAIN)
    write(tmp_path / "predictions" / "part-0.csv", "9,0\n7,1\n")
    write(tmp_path / "predictions" / "part-1.csv", "RecordId,PredictedTarget\n8,1\n")
    ds = load_dataset(config, main, base_dir=tmp_path)
    assert ds.predicted_label == "PredictedTarget"
    assert ds.joinsource == "RecordId"
    assert ds.frame["PredictedTarget"].tolist() == [1, 1, 0]  # in main-row order
    assert ds.frame["RecordId"].tolist() == [7, 8, 9]
    assert ds.features == ["Age", "Gender", "Income", "Occupation"]
    assert ds.frame["PredictedTarget"].dtype == "int64"
    assert [p.rsplit("/", 2)[-2:] for p in ds.source_files] == [
        [str(tmp_path).rsplit("/", 1)[-1], "main.csv"], ["predictions", "part-0.csv"], ["predictions", "part-1.csv"]]


def test_facet_dataset_by_position_and_facet_index_into_it(tmp_path):
    config = {"dataset_type": "text/csv", "headers": ["Target", "Age"], "label": "Target",
              "facet_dataset_uri": str(write(tmp_path / "facets.csv", "0,a\n1,b\n1,c\n")),
              "facet_headers": ["Sex", "Race"], "facet": [{"name_or_index": 1}, {"name_or_index": "Sex"}]}
    ds = load_dataset(config, write(tmp_path / "main.csv", "1,30\n0,41\n1,25\n"))
    assert list(ds.frame.columns) == ["Target", "Age", "Sex", "Race"]
    assert ds.facets == [("Race", None), ("Sex", None)]
    assert ds.features == ["Age"]  # facet-dataset columns are never model inputs
    assert ds.frame["Race"].tolist() == ["a", "b", "c"]


def test_facet_dataset_joined_on_key_drops_unmatched_main_rows(tmp_path, caplog):
    config = {"dataset_type": "text/csv", "headers": ["Target", "Age", "Gender", "Income", "Occupation", "RecordId"],
              "label": "Target", "joinsource_name_or_index": "RecordId", "facet_dataset_uri": "f.csv",
              "facet_headers": ["RecordId", "Race"], "facet": [{"name_or_index": "Race", "value_or_threshold": ["x"]}],
              "group_variable": "Race"}
    write(tmp_path / "f.csv", "RecordId,Race\n9,x\n7,y\n")
    with caplog.at_level(logging.WARNING, logger="clarify_engine"):
        ds = load_dataset(config, write(tmp_path / "main.csv", MAIN), base_dir=str(tmp_path))
    assert ds.frame["RecordId"].tolist() == [7, 9]
    assert ds.frame["Race"].tolist() == ["y", "x"]
    assert ds.facets == [("Race", ["x"])]
    assert ds.group_variable == "Race"
    assert "dropped 1 of 3 main rows" in caplog.text
    (warning,) = ds.warnings  # goes to the manifest and analysis.json's "warnings"
    assert warning.code == "join_dropped_rows"
    assert warning.message.startswith("the inner join with the facet dataset on 'RecordId' dropped 1 of 3 main rows")
    assert warning.fix == "add those keys to the facet dataset, or remove those rows from the main dataset."


def test_joinsource_by_index_addresses_each_dataset(tmp_path):
    config = {"dataset_type": "text/csv", "label": 0, "joinsource_name_or_index": 2, "predicted_label": 1,
              "predicted_label_dataset_uri": str(write(tmp_path / "p.csv", "0.9,1,b,\n0.1,0,a,\n")),
              "predicted_label_headers": ["score", "pred", "id", "note"]}
    ds = load_dataset(config, write(tmp_path / "m.csv", "1,30,a\n0,40,b\n"))
    assert ds.joinsource == "column_2"
    assert ds.predicted_label == "pred"
    assert ds.frame["pred"].tolist() == [0, 1]
    assert list(ds.frame.columns) == ["column_0", "column_1", "column_2", "pred"]
    assert ds.features == ["column_1"]


def test_predicted_label_by_index_into_predicted_label_dataset(tmp_path):
    config = {"dataset_type": "text/csv", "headers": ["y", "x"], "label": "y", "predicted_label": 1,
              "predicted_label_dataset_uri": str(write(tmp_path / "p.csv", "score,pred\n0.9,1\n0.2,0\n"))}
    ds = load_dataset(config, write(tmp_path / "m.csv", "1,3\n0,4\n"))
    assert ds.predicted_label == "pred"
    assert list(ds.frame.columns) == ["y", "x", "pred"]


def test_predicted_label_default_name_column(tmp_path):
    config = {"dataset_type": "text/csv", "label": "y",
              "predicted_label_dataset_uri": str(write(tmp_path / "p.csv", "score,predicted_label\n0.9,1\n0.2,0\n"))}
    ds = load_dataset(config, write(tmp_path / "m.csv", "y,x\n1,3\n0,4\n"))
    assert ds.frame["predicted_label"].tolist() == [1, 0]
    assert "score" not in ds.frame.columns


def test_predicted_label_dataset_without_usable_column(tmp_path):
    config = {"dataset_type": "text/csv", "label": "y",
              "predicted_label_dataset_uri": str(write(tmp_path / "p.csv", "a,b\n0.9,1\n0.2,0\n"))}
    with pytest.raises(DataError, match=r"^predicted_label: not set, and the predicted label dataset has no column "
                                        r"'predicted_label' nor a single non-key column; columns are: 'a', 'b'"):
        load_dataset(config, write(tmp_path / "m.csv", "y,x\n1,3\n0,4\n"))


def test_positional_join_row_count_mismatch(tmp_path):
    config = {"dataset_type": "text/csv", "label": "y", "facet_dataset_uri": "f.csv", "facet_headers": ["s"]}
    write(tmp_path / "f.csv", "1\n0\n1\n")
    with pytest.raises(DataError, match=r"^The facet dataset has 3 rows but the main dataset has 2; without "
                                        r"joinsource_name_or_index rows are matched by position"):
        load_dataset(config, write(tmp_path / "m.csv", "y,x\n1,3\n0,4\n"), base_dir=tmp_path)


def test_duplicate_key_in_side_dataset(tmp_path):
    config = {**sdk_config("07"), "predicted_label_dataset_uri": str(write(tmp_path / "p.csv", "7,1\n7,0\n8,1\n9,1\n"))}
    with pytest.raises(DataError, match=r"predicted label dataset has duplicate values in join column 'RecordId' \(7\)"):
        load_dataset(config, write(tmp_path / "m.csv", MAIN))


def test_no_matching_keys(tmp_path):
    config = {**sdk_config("07"), "predicted_label_dataset_uri": str(write(tmp_path / "p.csv", "17,1\n18,1\n"))}
    with pytest.raises(DataError, match=r"^No row of the main dataset has a join key \('RecordId'\) that the predicted "
                                        r"label dataset has .*\(main int64, predicted label dataset int64\)"):
        load_dataset(config, write(tmp_path / "m.csv", MAIN))


def test_join_key_dtype_mismatch(tmp_path):
    config = {**sdk_config("07"), "predicted_label_dataset_uri": str(write(tmp_path / "p.csv", "x7,1\nx8,1\n"))}
    with pytest.raises(DataError, match=r"^Cannot join the predicted label dataset on 'RecordId': .*\(main key dtype "
                                        r"int64, predicted label dataset key dtype str\)"):
        load_dataset(config, write(tmp_path / "m.csv", MAIN))


def test_side_dataset_missing_join_column(tmp_path):
    config = {**sdk_config("07"), "predicted_label_headers": ["Id", "PredictedTarget"],
              "predicted_label_dataset_uri": str(write(tmp_path / "p.csv", "7,1\n"))}
    with pytest.raises(DataError, match=r'^joinsource_name_or_index: column "RecordId" not found in predicted label '
                                        r"dataset; columns are: 'Id', 'PredictedTarget'\. Add column \"RecordId\" to the predicted label "
                                        r"dataset, or set joinsource_name_or_index to one of these columns\.$"):
        load_dataset(config, write(tmp_path / "m.csv", MAIN))


def test_side_column_clashing_with_main_column(tmp_path):
    config = {"dataset_type": "text/csv", "label": "y", "facet_dataset_uri": str(write(tmp_path / "f.csv", "x\n1\n"))}
    with pytest.raises(DataError, match=r"^The facet dataset has columns \['x'\] that the main dataset also has"):
        load_dataset(config, write(tmp_path / "m.csv", "y,x\n1,3\n"))
