"""data.iter_chunks: the loader's frame, cut into chunks, read by pyarrow's streaming readers."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clarify_engine.data import ChunkedDataset, DataSpec, FacetKey, iter_chunks, load_dataset
from clarify_engine.errors import DataError, NotSupportedError
from tests.data.conftest import write

HEADERS = ("Target", "Age", "Gender", "Income", "Name")


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(size=n).round(3)
    income[rng.random(n) < 0.1] = np.nan
    names = np.array(["ann", "bob", "cy d", "é"], dtype=object)[rng.integers(0, 4, n)]
    return pd.DataFrame({"Target": rng.integers(0, 2, n), "Age": rng.integers(18, 90, n),
                         "Gender": rng.integers(0, 3, n), "Income": income, "Name": names})


def _spec(kind: str, uri, **keys) -> DataSpec:
    keys.setdefault("headers", HEADERS)
    keys.setdefault("label", "Target")
    keys.setdefault("facet", (FacetKey("Gender", (1,)),))
    return DataSpec(dataset_type=kind, dataset_uri=str(uri), **keys)


def _assert_same(chunked: ChunkedDataset, spec: DataSpec, chunk_rows: int) -> list[pd.DataFrame]:
    dataset = load_dataset(spec)
    chunks = list(chunked)
    assert all(len(c) == chunk_rows for c in chunks[:-1]) and 0 < len(chunks[-1]) <= chunk_rows
    whole = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(whole, dataset.frame)
    for role in ("label", "predicted_label", "features", "facets", "group_variable", "joinsource", "source_files"):
        assert getattr(chunked, role) == getattr(dataset, role), role
    assert list(chunked.columns) == list(dataset.frame.columns)
    assert chunked.stats.rows == len(dataset.frame) and chunked.stats.chunks == len(chunks)
    assert chunked.stats.read_report == dataset.read_report
    return chunks


def _write_parts(tmp_path, frame: pd.DataFrame, kind: str, parts: int, gz: bool) -> None:
    for i, part in enumerate(np.array_split(np.arange(len(frame)), parts)):
        sub = frame.iloc[part]
        if kind == "text/csv":
            text = sub.to_csv(index=False, header=(i == 0))
            write(tmp_path / "data" / f"part-{i}.csv", text, gz=gz)
        elif kind == "application/x-parquet":
            buffer = io.BytesIO()
            pq.write_table(pa.Table.from_pandas(sub, preserve_index=False), buffer, row_group_size=7)
            write(tmp_path / "data" / f"part-{i}.parquet", buffer.getvalue(), gz=gz)
        else:
            lines = "".join(json.dumps({"f": [int(r.Age), int(r.Gender)], "y": int(r.Target)}) + "\n"
                            for r in sub.itertuples())
            write(tmp_path / "data" / f"part-{i}.jsonl", lines, gz=gz)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["text/csv", "application/x-parquet", "application/jsonlines"]),
       n=st.integers(1, 60), parts=st.integers(1, 3), chunk_rows=st.integers(1, 70), gz=st.booleans())
def test_chunks_are_the_loaders_frame(tmp_path_factory, kind, n, parts, chunk_rows, gz):
    tmp_path = tmp_path_factory.mktemp("stream")
    frame = _frame(n)
    _write_parts(tmp_path, frame, kind, min(parts, n), gz)
    if kind == "application/jsonlines":
        spec = DataSpec(dataset_type=kind, dataset_uri=str(tmp_path / "data"), headers=("Age", "Gender", "Target"),
                        features="f", label="y", facet=(FacetKey("Gender", (1,)),))
    else:
        spec = _spec(kind, tmp_path / "data")
    _assert_same(iter_chunks(spec, chunk_rows=chunk_rows), spec, chunk_rows)


def test_a_small_dataset_is_one_chunk_and_each_pass_reads_it_again(tmp_path):
    path = write(tmp_path / "d.csv", _frame(20).to_csv(index=False))
    chunked = iter_chunks(_spec("text/csv", path), chunk_rows=20)
    assert [len(c) for c in chunked] == [20]
    assert [len(c) for c in chunked] == [20]
    assert chunked.stats.passes == 2


def test_csv_column_widened_in_a_later_block_keeps_every_row_once(tmp_path):
    # integers for far more than one block, then a fraction, then text in another column
    n = 30_000
    frame = pd.DataFrame({"Target": np.arange(n) % 2, "Age": np.arange(n), "Gender": np.arange(n) % 3,
                          "Income": np.arange(n), "Name": np.arange(n).astype(str)})
    text = frame.to_csv(index=False) + "1,2.5,1,7,x\n"
    spec = _spec("text/csv", write(tmp_path / "d.csv", text))
    chunked = iter_chunks(spec, chunk_rows=1000)
    chunks = list(chunked)
    whole = pd.concat(chunks, ignore_index=True)
    loaded = load_dataset(spec).frame
    assert len(whole) == n + 1 and chunked.stats.rows == n + 1
    assert whole["Age"].dtype == np.float64 and loaded["Age"].dtype == np.float64
    np.testing.assert_array_equal(whole["Age"].to_numpy(), loaded["Age"].to_numpy())
    assert chunks[0]["Age"].dtype == np.int64  # the first chunks kept the type of the first block
    assert list(whole["Name"].astype(str)) == list(loaded["Name"].astype(str))


def test_dates_stay_text_as_the_loader_reads_them(tmp_path):
    path = write(tmp_path / "d.csv", "Target,Age,Gender,Income,Name\n1,3,0,1.5,2020-01-01\n0,4,1,2.5,2021-02-03\n")
    spec = _spec("text/csv", path)
    _assert_same(iter_chunks(spec, chunk_rows=1), spec, 1)


@pytest.mark.parametrize("text, chunk_rows", [
    ("Target,Age,Gender,Income,Name\n1,3,0,1.5,a\n0,4,1\n", 1),  # short row: file and line named
    ("1,3,0\n", 5),  # header count
    ("target,age,gender,income,name\n1,3,0,1.5,a\n", 5),  # header-like first row
])
def test_refusals_are_the_loaders(tmp_path, text, chunk_rows):
    spec = _spec("text/csv", write(tmp_path / "d.csv", text))
    with pytest.raises(DataError) as expected:
        load_dataset(spec)
    with pytest.raises(DataError) as found:
        list(iter_chunks(spec, chunk_rows=chunk_rows))
    assert str(found.value) == str(expected.value)


def test_files_with_other_columns_are_refused(tmp_path):
    write(tmp_path / "data" / "a.csv", "Target,Age\n1,2\n")
    write(tmp_path / "data" / "b.csv", "Target,Size\n1,2\n")
    spec = DataSpec(dataset_type="text/csv", dataset_uri=str(tmp_path / "data"), label="Target")
    with pytest.raises(DataError, match="b.csv has columns .*'Size'.* every file of a dataset must have the same"):
        list(iter_chunks(spec, chunk_rows=1))


def test_too_many_cells_names_the_line(tmp_path):
    rows = "1,3,0,1.5,a\n" * 70  # beyond the rows the layout check samples
    spec = _spec("text/csv", write(tmp_path / "d.csv", "Target,Age,Gender,Income,Name\n" + rows + "0,4,1,2,b,9\n"))
    with pytest.raises(DataError, match=r"d.csv: line 72 has 6 cells, but the dataset has 5 columns"):
        list(iter_chunks(spec, chunk_rows=1))


def test_roles_are_resolved_on_the_schema_before_any_row(tmp_path):
    path = write(tmp_path / "d.csv", "Target,Age\n1,2\n")
    with pytest.raises(DataError, match='facet\\[0\\].name_or_index: column "Gender" not found in dataset'):
        iter_chunks(DataSpec(dataset_type="text/csv", dataset_uri=str(path), label="Target",
                             facet=(FacetKey("Gender"),)), chunk_rows=1)


def test_in_memory_table_and_joins_are_cut(tmp_path):
    frame = _frame(10)
    spec = _spec("text/csv", None, headers=None)
    chunked = iter_chunks(spec, frame, chunk_rows=4)
    assert [len(c) for c in chunked] == [4, 4, 2]
    pd.testing.assert_frame_equal(pd.concat(list(chunked), ignore_index=True), frame)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="chunk_rows must be a positive integer; found 0"):
        iter_chunks(_spec("text/csv", tmp_path), chunk_rows=0)
    with pytest.raises(NotSupportedError, match="Image datasets are not streamed"):
        iter_chunks(DataSpec(dataset_type="application/x-image", dataset_uri=str(tmp_path)), chunk_rows=1)


def test_gzip_is_decompressed_as_it_is_read(tmp_path):
    spec = _spec("text/csv", write(tmp_path / "d.csv", gzip.compress(b"1,3,0,1.5,a\n")[:-6]))
    with pytest.raises(DataError, match="d.csv"):
        list(iter_chunks(spec, chunk_rows=1))
