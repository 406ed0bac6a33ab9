"""No row is lost or misread without a word: header-like rows, unclosed quotes, links, the read report.

Issue 10 items 2 and 3, issue 9 item 7 (a DataFrame missing the label).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

import clarify_engine
from tests.data._spec import load_dataset
from clarify_engine.errors import DataError
from tests.data.conftest import write

CONFIG = {"dataset_type": "text/csv", "headers": ["Target", "Age", "Gender"], "label": "Target"}
FIX = ("Make headers equal the file's header row (same spelling and case), or remove the header row from the file.")


# ------------------------------------------------------------------- header-like first rows


def test_header_row_in_other_case_is_refused_with_both_lists(tmp_path):
    path = write(tmp_path / "d.csv", "target,age,gender\n1,30,0\n0,50,1\n")
    with pytest.raises(DataError) as info:
        load_dataset(CONFIG, path)
    assert str(info.value) == (
        f"Dataset file {path}: the first row looks like a header row (it equals headers except for upper/lower "
        "case) but differs from headers in the config, so it would be read as a row of data. First row: "
        "['target', 'age', 'gender']; headers: ['Target', 'Age', 'Gender']. " + FIX)


def test_renamed_header_above_numbers_is_refused(tmp_path):
    # Read as data, 'Years' would turn Age into text, and a facet Age > 40 into Age == "40".
    path = write(tmp_path / "d.csv", "y,Years,sex\n1,30,0\n0,50,1\n")
    with pytest.raises(DataError, match=r"the first row looks like a header row \(column 'Target' holds numbers "
                                        r"below it, but the first row has 'y'\)"):
        load_dataset(CONFIG, path)


def test_stray_csv_with_a_header_in_a_data_folder_is_refused(tmp_path):
    write(tmp_path / "data" / "part-0.csv", "1,30,0\n0,50,1\n")
    stray = write(tmp_path / "data" / "summary.csv", "label,age_years,is_female\n1,44,0\n")
    with pytest.raises(DataError, match="^Dataset file " + str(stray).replace("\\", "\\\\") + ": the first row looks like"):
        load_dataset(CONFIG, tmp_path / "data")


@pytest.mark.parametrize("text", ["1,30,0\n0,50,1\n", "yes,old,f\nno,young,m\n", "a,30,0\nb,,1\n"])
def test_data_first_rows_are_still_data(tmp_path, text):
    ds = load_dataset(CONFIG, write(tmp_path / "d.csv", text))
    assert len(ds.frame) == 2


# ------------------------------------------------------------------- quotes


def _quoted_rows(n=200, broken=130):
    rows = [f'{i % 2},{20 + i},"{i % 3}"' for i in range(n)]
    rows[broken] = '1,55,"2'
    return "\n".join(rows) + "\n"


def test_unclosed_quote_is_refused_naming_the_line(tmp_path):
    path = write(tmp_path / "d.csv", _quoted_rows())
    assert len(pd.read_csv(path, header=None)) == 199  # what a plain read silently does
    with pytest.raises(DataError) as info:
        load_dataset(CONFIG, path)
    assert str(info.value) == (
        f"Cannot parse CSV file {path}: line 131 opens a quote that is never closed before the line ends, so the "
        "cell of column 'Gender' swallows 1 more line(s) (it begins '2'); 199 rows were read from 200 lines. "
        "Close the quote on line 131, or write a quote inside a cell as two quotes (\"\").")


def test_unclosed_quote_below_a_header_row_names_its_line(tmp_path):
    path = write(tmp_path / "d.csv", "Target,Age,Gender\n\n" + _quoted_rows(20, 4))
    with pytest.raises(DataError, match="line 7 opens a quote"):
        load_dataset(CONFIG, path)


def test_quoted_cells_spanning_lines_without_rows_inside_are_kept(tmp_path):
    path = write(tmp_path / "d.csv", 'Target,Age,Gender\n1,30,"first line\nsecond, line"\n0,50,m\n')
    ds = load_dataset(CONFIG, path)
    assert ds.frame["Gender"].tolist() == ["first line\nsecond, line", "m"]


# ------------------------------------------------------------------- folders and the read report


def test_symlinked_sub_folder_is_read(tmp_path):
    write(tmp_path / "data" / "a.csv", "1,30,0\n")
    write(tmp_path / "elsewhere" / "b.csv", "0,40,1\n0,41,1\n")
    os.symlink(tmp_path / "elsewhere", tmp_path / "data" / "more")
    ds = load_dataset(CONFIG, tmp_path / "data")
    assert len(ds.frame) == 3
    assert ds.source_files == [str(tmp_path / "data" / "a.csv"), str(tmp_path / "data" / "more" / "b.csv")]


def test_link_back_to_a_folder_being_read_is_skipped_and_reported(tmp_path):
    write(tmp_path / "data" / "a.csv", "1,30,0\n")
    os.symlink(tmp_path / "data", tmp_path / "data" / "loop")
    ds = load_dataset(CONFIG, tmp_path / "data")
    assert len(ds.frame) == 1
    assert ds.read_report["dataset"]["files_skipped"] == [
        {"file": str(tmp_path / "data" / "loop") + "/",
         "reason": f"link to a folder already read ({os.path.realpath(tmp_path / 'data')})"}]


def test_read_report_counts_rows_per_file_and_every_skipped_entry(tmp_path):
    write(tmp_path / "data" / "part-0.csv", "1,30,0\n0,41,1\n")
    write(tmp_path / "data" / "part-1.csv", "1,50,0\n")
    write(tmp_path / "data" / "part-2.csv", "")
    write(tmp_path / "data" / "_SUCCESS", "")
    write(tmp_path / "data" / ".part-0.csv.crc", "x")
    ds = load_dataset(CONFIG, tmp_path / "data")
    folder = tmp_path / "data"
    assert ds.read_report == {"dataset": {
        "rows_read": 3, "files_read": 2,
        "files": [{"file": str(folder / "part-0.csv"), "rows": 2}, {"file": str(folder / "part-1.csv"), "rows": 1}],
        "files_skipped": [
            {"file": str(folder / ".part-0.csv.crc"), "reason": "hidden or marker name (starts with '.' or '_')"},
            {"file": str(folder / "_SUCCESS"), "reason": "hidden or marker name (starts with '.' or '_')"},
            {"file": str(folder / "part-2.csv"), "reason": "empty file"},
        ]}}


def test_read_report_goes_to_the_manifest(tmp_path):
    write(tmp_path / "data" / "part-0.csv", "1,30,0\n0,41,1\n1,33,1\n")
    write(tmp_path / "data" / "_SUCCESS", "")
    config = {**CONFIG, "label_values_or_threshold": [1], "facet": [{"name_or_index": "Gender", "value_or_threshold": [0]}],
              "methods": {"pre_training_bias": {"methods": ["CI"]}}}
    clarify_engine.analyze(config, data=tmp_path / "data", output_dir=tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "run_manifest.json").read_text())
    read = manifest["dataset"]["read"]["dataset"]
    assert read["rows_read"] == 3 and read["files_read"] == 1
    assert read["files_skipped"][0]["file"].endswith("_SUCCESS")


# ------------------------------------------------------------------- in-memory tables


def test_dataframe_missing_the_label_names_it():
    frame = pd.DataFrame({"Age": [30, 40], "Gender": [0, 1]})
    with pytest.raises(DataError) as info:
        load_dataset(CONFIG, frame)
    assert str(info.value) == (
        "Headers in config do not match with the number of columns in the dataset. Dataset: the table lacks "
        "column(s) ['Target'] named in headers; its columns are 'Age', 'Gender'. Add the missing columns to the "
        "table (a label column is needed for bias metrics), or make headers list exactly the table's columns.")
    with pytest.raises(DataError) as info:
        load_dataset({k: v for k, v in CONFIG.items() if k != "headers"}, frame)
    assert str(info.value) == ('label: column "Target" not found in dataset; columns are: \'Age\', \'Gender\'. '
                               'Add column "Target" to the dataset, or set label to one of these columns.')


def test_reordered_dataframe_is_matched_by_name_not_renamed_by_position():
    frame = pd.DataFrame({"Age": [30, 40], "Target": [1, 0], "Gender": [0, 1]})
    ds = load_dataset(CONFIG, frame)
    assert list(ds.frame.columns) == ["Target", "Age", "Gender"]
    assert ds.frame["Target"].tolist() == [1, 0]
    assert ds.frame["Age"].tolist() == [30, 40]


def test_missing_markers_in_the_first_row_are_not_a_header(tmp_path):
    ds = load_dataset(CONFIG, write(tmp_path / "d.csv", "1,NA,0\n0,50,1\n1,33,0\n"))
    assert ds.frame["Age"].isna().tolist() == [True, False, False]


def test_short_row_is_refused_naming_its_line(tmp_path):
    path = write(tmp_path / "d.csv", "Target,Age,Gender\n1,30,0\n\n0,50\n1,33,\n")
    with pytest.raises(DataError) as info:
        load_dataset(CONFIG, path)
    assert str(info.value) == (
        f"Cannot parse CSV file {path}: line 4 has 2 cells, but the dataset has 3 columns (Target, Age, Gender), "
        "so its values would sit in the wrong columns. Add the missing cells (an empty cell is nothing between two "
        "commas, as in '1,,0').")


def test_empty_last_cells_are_missing_values(tmp_path):
    ds = load_dataset(CONFIG, write(tmp_path / "d.csv", '1,30,\n0,"50",\n1,"x\ny",1\n'))
    assert ds.frame["Gender"].isna().tolist() == [True, True, False]


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_short_row_check_agrees_with_a_plain_csv_reader(tmp_path, quoted, ending):
    import csv
    import random

    rnd = random.Random(7)
    lines = []
    for i in range(300):
        cells = [str(i % 2), str(20 + i), "" if rnd.random() < 0.3 else str(i % 3)]
        if quoted:
            cells[1] = f'"{cells[1]}"'
        if rnd.random() < 0.05:
            lines.append("")
        lines.append(",".join(cells[:2] if i in (150, 260) else cells))
    path = write(tmp_path / "d.csv", ending.join(lines) + ending)
    with pytest.raises(DataError) as info:
        load_dataset(CONFIG, path)
    with open(path, newline="") as f:
        reader = csv.reader(f)
        want = next(reader.line_num for row in reader if row and len(row) < 3)
    assert f"line {want} has 2 cells" in str(info.value)


def test_dataframe_in_order_is_used_without_copying_and_stays_untouched():
    frame = pd.DataFrame({"Target": [1, 0, 1], "Age": [30.5, 40.0, 50.0], "Gender": [0, 1, 1]})
    ds = load_dataset(CONFIG, frame)
    for column in frame.columns:  # the dataset reads the caller's columns, no copy
        assert np.shares_memory(ds.frame[column].to_numpy(), frame[column].to_numpy())
    ds.frame.columns = ["a", "b", "c"]
    ds.frame.loc[0, "b"] = -1.0  # written through the dataset: the caller's frame is unchanged
    assert list(frame.columns) == ["Target", "Age", "Gender"] and frame["Age"].tolist() == [30.5, 40.0, 50.0]
