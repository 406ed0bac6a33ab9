"""Parquet files and folders of part files."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.data._spec import load_dataset
from clarify_engine.errors import DataError
from tests.data.conftest import sdk_config, write


def _part(path, **columns):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_file_fixture_14_headers(tmp_path):
    config = sdk_config("14")
    path = _part(tmp_path / "d.parquet", Target=[1, 0], Age=[30, 41], Gender=[0, 1],
                 Income=[2500.5, None], Occupation=["a", None])
    ds = load_dataset(config, path)
    assert ds.label == "Target"
    assert ds.features == ["Age", "Gender", "Income", "Occupation"]
    assert [str(t) for t in ds.frame.dtypes] == ["int64", "int64", "int64", "float64", "str"]
    assert ds.frame["Income"].isna().tolist() == [False, True]


def test_parquet_headers_rename_by_position(tmp_path):
    path = _part(tmp_path / "d.parquet", a=[1], b=[2])
    ds = load_dataset({"dataset_type": "application/x-parquet", "headers": ["y", "x"], "label": "y"}, path)
    assert list(ds.frame.columns) == ["y", "x"]


def test_parquet_folder_of_parts_promotes_types(tmp_path):
    folder = tmp_path / "out"
    _part(folder / "part-00000.parquet", y=[1, 0], x=[1, 2])
    _part(folder / "part-00001.parquet", y=[1], x=pa.array([None], pa.int64()))
    write(folder / "_SUCCESS", "")
    ds = load_dataset({"dataset_type": "application/x-parquet", "label": "y"}, folder)
    assert ds.frame["y"].dtype == "int64"
    assert ds.frame["x"].dtype == "float64"  # integers with nulls convert to float64, as read_csv does
    assert ds.frame["x"].tolist()[:2] == [1.0, 2.0]
    assert len(ds.source_files) == 2


def test_parquet_gzip_wrapped(tmp_path):
    buffer = pa.BufferOutputStream()
    pq.write_table(pa.table({"y": [1, 0]}), buffer)
    path = write(tmp_path / "d.parquet.gz", buffer.getvalue().to_pybytes(), gz=True)
    assert load_dataset({"dataset_type": "application/x-parquet"}, path).frame["y"].tolist() == [1, 0]


def test_parquet_part_with_other_columns(tmp_path):
    _part(tmp_path / "p" / "a.parquet", y=[1])
    _part(tmp_path / "p" / "b.parquet", z=[1])
    with pytest.raises(DataError, match=r"b\.parquet has columns \['z'\], but .*a\.parquet has \['y'\]"):
        load_dataset({"dataset_type": "application/x-parquet"}, tmp_path / "p")


def test_parquet_header_count_mismatch(tmp_path):
    path = _part(tmp_path / "d.parquet", a=[1], b=[2])
    with pytest.raises(DataError, match=r"^Headers in config do not match with the number of columns in the "
                                        r"dataset\. Dataset: 3 headers in config, 2 columns in the data\."):
        load_dataset({"dataset_type": "application/x-parquet", "headers": ["a", "b", "c"]}, path)


def test_not_a_parquet_file(tmp_path):
    path = write(tmp_path / "d.parquet", "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"Cannot read Parquet file .*d\.parquet"):
        load_dataset({"dataset_type": "application/x-parquet"}, path)


def test_parquet_matches_pandas_reader(tmp_path):
    frame = pd.DataFrame({"y": [1, 0, 1], "s": ["a", "b", None], "f": [0.5, None, 2.0]})
    path = tmp_path / "d.parquet"
    frame.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(load_dataset({"dataset_type": "application/x-parquet"}, path).frame,
                                  pd.read_parquet(path))
