"""CSV reading: header rules, dtypes, gzip, folders of part files, column roles."""

from __future__ import annotations

import pandas as pd
import pytest

from clarify_engine.data import Dataset
from tests.data._spec import load_dataset
from clarify_engine.errors import DataError
from tests.data.conftest import sdk_config, write

ROWS = "1,30,0,2500.5\n0,41,1,\n1,25,1,3100.0\n"


def test_header_row_equal_to_headers_is_skipped(tmp_path, csv_config):
    path = write(tmp_path / "d.csv", "Target,Age,Gender,Income\n" + ROWS)
    ds = load_dataset(csv_config, path)
    assert list(ds.frame.columns) == ["Target", "Age", "Gender", "Income"]
    assert len(ds.frame) == 3
    assert ds.label == "Target"
    assert ds.features == ["Age", "Gender", "Income"]
    assert ds.facets == [("Gender", [0])]
    assert ds.source_files == [str(path)]


def test_first_row_unlike_headers_is_data(tmp_path, csv_config):
    path = write(tmp_path / "d.csv", ROWS)
    ds = load_dataset(csv_config, path)
    assert len(ds.frame) == 3
    assert ds.frame["Age"].tolist() == [30, 41, 25]


def test_header_comparison_ignores_surrounding_spaces(tmp_path, csv_config):
    path = write(tmp_path / "d.csv", "Target, Age ,Gender,Income\n" + ROWS)
    assert len(load_dataset(csv_config, path).frame) == 3


@pytest.mark.parametrize("sep_header", [True, False])
def test_dtypes_are_exactly_those_of_read_csv(tmp_path, csv_config, sep_header):
    text = ("Target,Age,Gender,Income\n" if sep_header else "") + "yes,30,a,1.5\nno,41,b,\n"
    path = write(tmp_path / "d.csv", text)
    ds = load_dataset(csv_config, path)
    expected = pd.read_csv(path, header=0 if sep_header else None, names=csv_config["headers"])
    pd.testing.assert_frame_equal(ds.frame, expected)
    assert ds.frame["Income"].isna().tolist() == [False, True]


def test_no_headers_and_textual_first_row_is_header(tmp_path):
    path = write(tmp_path / "d.csv", "y,age,sex\n1,30,m\n0,41,f\n")
    ds = load_dataset({"dataset_type": "text/csv", "label": "y"}, path)
    assert list(ds.frame.columns) == ["y", "age", "sex"]
    assert ds.features == ["age", "sex"]


def test_no_headers_and_numeric_first_row_gives_default_names(tmp_path):
    # Fixture 04: header-less CSV, label and facets by index, facets without values.
    config = sdk_config("04")
    path = write(tmp_path / "d.csv", "yes,30,0,1,2\nno,41,1,0,3\n")
    ds = load_dataset(config, path)
    assert list(ds.frame.columns) == [f"column_{i}" for i in range(5)]
    assert ds.label == "column_0"
    assert ds.facets == [("column_2", None), ("column_4", None)]
    assert ds.features == ["column_1", "column_2", "column_3", "column_4"]


def test_no_headers_first_row_with_empty_cell_is_data(tmp_path):
    path = write(tmp_path / "d.csv", "a,,c\nd,e,f\n")
    ds = load_dataset({"dataset_type": "text/csv"}, path)
    assert list(ds.frame.columns) == ["column_0", "column_1", "column_2"]
    assert len(ds.frame) == 2


def test_gzip_by_magic_bytes_and_suffix(tmp_path, csv_config):
    plain = load_dataset(csv_config, write(tmp_path / "d.csv", ROWS)).frame
    for name in ("d.csv.gz", "part-0000"):
        ds = load_dataset(csv_config, write(tmp_path / "gz" / name, ROWS, gz=True))
        pd.testing.assert_frame_equal(ds.frame, plain)


def test_folder_of_parts_read_in_path_order_skipping_markers(tmp_path, csv_config):
    folder = tmp_path / "prefix"
    write(folder / "b" / "part-1.csv", "1,50,0,10\n")
    write(folder / "a" / "part-0.csv.gz", "Target,Age,Gender,Income\n0,20,1,30\n", gz=True)
    write(folder / "a" / "part-2.csv", "1,60,1,40\n")
    write(folder / "_SUCCESS", "")
    write(folder / ".part-1.csv.crc", "garbage,that,would,fail,to,parse")
    write(folder / "_temporary" / "x.csv", "not,a,part")
    ds = load_dataset(csv_config, folder)
    assert ds.frame["Age"].tolist() == [20, 60, 50]
    assert ds.frame["Age"].dtype == "int64"
    assert [p.split("prefix/")[1] for p in ds.source_files] == ["a/part-0.csv.gz", "a/part-2.csv", "b/part-1.csv"]


def test_folder_part_with_other_columns_names_the_file(tmp_path):
    folder = tmp_path / "parts"
    write(folder / "p0.csv", "a,b\n1,2\n")
    write(folder / "p1.csv", "a,c\n3,4\n")
    with pytest.raises(DataError, match=r"p1\.csv has columns \['a', 'c'\].*p0\.csv has \['a', 'b'\]"):
        load_dataset({"dataset_type": "text/csv"}, folder)


def test_empty_part_files_are_skipped(tmp_path, csv_config):
    folder = tmp_path / "parts"
    write(folder / "p0.csv", "")
    write(folder / "p1.csv", ROWS)
    assert len(load_dataset(csv_config, folder).frame) == 3


def test_dataset_uri_used_when_no_source_and_resolved_against_base_dir(tmp_path, csv_config):
    write(tmp_path / "in" / "d.csv", ROWS)
    ds = load_dataset({**csv_config, "dataset_uri": "in/d.csv"}, base_dir=tmp_path)
    assert len(ds.frame) == 3


def test_explicit_source_wins_over_dataset_uri(tmp_path, csv_config):
    path = write(tmp_path / "d.csv", ROWS)
    ds = load_dataset({**csv_config, "dataset_uri": str(tmp_path / "missing.csv")}, str(path))
    assert ds.source_files == [str(path)]


def test_excluded_columns_joinsource_and_group_variable(tmp_path):
    # Fixture 18 shape: joinsource also excluded; group variable by index.
    config = {**sdk_config("18"), "group_variable": 2}
    path = write(tmp_path / "d.csv", "1,30,0,2500,3,id-1\n0,41,1,2600,4,id-2\n")
    ds = load_dataset(config, path)
    assert ds.joinsource == "RecordId"
    assert ds.group_variable == "Gender"
    assert ds.features == ["Age", "Gender", "Income", "Occupation"]


def test_excluded_column_by_index_and_predicted_label_in_data(tmp_path, csv_config):
    config = {**csv_config, "headers": [*csv_config["headers"], "Pred"], "predicted_label": 4,
              "excluded_columns": [1]}
    path = write(tmp_path / "d.csv", "1,30,0,2500,1\n0,41,1,2600,0\n")
    ds = load_dataset(config, path)
    assert ds.predicted_label == "Pred"
    assert ds.features == ["Gender", "Income"]


def test_in_memory_dataframe_and_arrow_table(csv_config):
    import pyarrow as pa

    frame = pd.DataFrame([[1, 30, 0, 2.5], [0, 40, 1, 3.5]])
    ds = load_dataset(csv_config, frame)
    assert isinstance(ds, Dataset)
    assert list(ds.frame.columns) == csv_config["headers"]
    assert list(frame.columns) == [0, 1, 2, 3]  # the caller's frame is untouched
    named = pd.DataFrame({"y": [1, 0], "x": ["a", "b"]})
    ds = load_dataset({"dataset_type": "application/x-parquet", "label": "y"}, pa.Table.from_pandas(named))
    assert ds.features == ["x"]
    assert ds.frame["y"].dtype == "int64"
    ds = load_dataset({"dataset_type": "text/csv", "label": 0}, frame)
    assert list(ds.frame.columns) == ["column_0", "column_1", "column_2", "column_3"]


def test_file_url_folder(tmp_path, csv_config):
    write(tmp_path / "p" / "a.csv", ROWS)
    write(tmp_path / "p" / "b.csv.gz", ROWS, gz=True)
    ds = load_dataset(csv_config, f"file://{tmp_path}/p/")
    assert len(ds.frame) == 6
    assert ds.source_files == [f"file://{tmp_path}/p/a.csv", f"file://{tmp_path}/p/b.csv.gz"]
