"""Every user-facing loader error, as a table of named cases."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

import clarify_engine.data as data
from tests.data._spec import load_dataset
from clarify_engine.errors import ConfigError, DataError, NotSupportedError
from tests.data.conftest import write

BASE = {"dataset_type": "text/csv", "headers": ["Target", "Age", "Gender"], "label": "Target"}
ROWS = "1,30,0\n0,41,1\n"
COLUMNS = "columns are: 'Target', 'Age', 'Gender'."


@dataclass(frozen=True)
class ExpectFail:
    config: dict
    error: type
    message: str  # regular expression matched from the start of the message
    id: str
    text: str = ROWS
    files: dict = field(default_factory=dict)  # extra files written next to the data


CASES = [
    ExpectFail({**BASE, "facet": [{"name_or_index": "Sex"}]}, DataError,
               r'facet\[0\]\.name_or_index: column "Sex" not found in dataset; ' + re.escape(COLUMNS), "facet-name"),
    ExpectFail({**BASE, "facet": [{"name_or_index": "Age"}, {"name_or_index": 3}]}, DataError,
               r"facet\[1\]\.name_or_index: column index 3 is out of range; the dataset has 3 columns "
               r"\(indices 0 to 2\): 'Target', 'Age', 'Gender'\.", "facet-index"),
    ExpectFail({**BASE, "label": "y"}, DataError, r'label: column "y" not found in dataset; ' + re.escape(COLUMNS),
               "label-name"),
    ExpectFail({**BASE, "label": -1}, DataError, r"label: column index -1 is out of range", "label-negative"),
    ExpectFail({**BASE, "label": True}, DataError, r"label: expected a column name or a 0-based column index, "
               r"found True", "label-bool"),
    ExpectFail({**BASE, "predicted_label": "p"}, DataError, r'predicted_label: column "p" not found', "pred-name"),
    ExpectFail({**BASE, "group_variable": "g"}, DataError, r'group_variable: column "g" not found', "group"),
    ExpectFail({**BASE, "excluded_columns": ["Age", "Zip"]}, DataError,
               r'excluded_columns\[1\]: column "Zip" not found', "excluded"),
    ExpectFail({**BASE, "joinsource_name_or_index": 9}, DataError,
               r"joinsource_name_or_index: column index 9 is out of range", "joinsource"),
    ExpectFail({**BASE, "facet_dataset_uri": "f.csv", "facet_headers": ["s"], "facet": [{"name_or_index": "Age"}]},
               DataError, r"facet\[0\]\.name_or_index: column \"Age\" not found in facet dataset; columns are: 's'\.",
               "facet-not-in-facet-dataset", files={"f.csv": "1\n0\n"}),
    ExpectFail({**BASE, "headers": ["Target", "Age"]}, DataError,
               r"Headers in config do not match with the number of columns in the dataset\. File .*d\.csv: "
               r"2 headers in config, 3 columns in the first row\.", "header-count"),
    ExpectFail({**BASE, "facet_dataset_uri": "f.csv", "facet_headers": ["a", "b"]}, DataError,
               r"Headers in config do not match with the number of columns in the dataset\. File .*f\.csv: "
               r"2 headers in config, 1 columns", "facet-header-count", files={"f.csv": "1\n0\n"}),
    ExpectFail(BASE, DataError, r"Cannot parse CSV file .*d\.csv: .*Expected 3 fields in line 2, saw 4", "ragged",
               text="1,30,0\n0,41,1,5\n"),
]


#: Keys the config door checks before the loader runs (``clarify_engine.load_dataset`` of a whole
#: config): the loader takes the planner's DataSpec and never sees them unchecked.
WHOLE = {**BASE, "facet": [{"name_or_index": "Gender"}], "label_values_or_threshold": [1],
         "methods": {"pre_training_bias": {"methods": "all"}}}
DOOR_CASES = [
    ExpectFail({**WHOLE, "headers": ["Target", "Age", "Age"]}, ConfigError,
               r"headers\[2\]: column name 'Age' appears twice; names must be unique", "duplicate-headers"),
    ExpectFail({**WHOLE, "headers": ["Target", 1, "Age"]}, ConfigError, r"headers\[1\]: expected a string, found 1",
               "non-string-header"),
    ExpectFail({**WHOLE, "headers": "Target"}, ConfigError, r"headers: expected a list", "headers-str"),
    ExpectFail({**WHOLE, "dataset_type": "text/tsv"}, ConfigError, r'dataset_type: expected one of "text/csv", .*'
               r'found "text/tsv"', "dataset-type"),
    ExpectFail({k: v for k, v in WHOLE.items() if k != "dataset_type"}, ConfigError,
               r"dataset_type: required key is missing", "dataset-type-missing"),
    ExpectFail({**WHOLE, "dataset_type": "application/x-image"}, ConfigError,
               r"methods.pre_training_bias: not supported for dataset_type application/x-image", "image"),
    ExpectFail({**WHOLE, "dataset_type": "application/sagemakercapturejson"}, NotSupportedError,
               r"dataset_type 'application/sagemakercapturejson' .* is not supported", "capture"),
    ExpectFail({**WHOLE, "facet": [{"value_or_threshold": [1]}]}, ConfigError,
               r"facet\[0\]\.name_or_index: required key is missing", "facet-no-name"),
]


@pytest.mark.parametrize("case", DOOR_CASES, ids=[c.id for c in DOOR_CASES])
def test_errors_at_the_config_door(tmp_path, case):
    import clarify_engine

    path = write(tmp_path / "d.csv", case.text)
    with pytest.raises(case.error) as info:
        clarify_engine.load_dataset(case.config, path)
    assert re.match(case.message, str(info.value)), str(info.value)


def test_loader_takes_only_a_data_spec(tmp_path):
    path = write(tmp_path / "d.csv", ROWS)
    with pytest.raises(TypeError, match=r"load_dataset expects a DataSpec \(clarify_engine.job.plan_data\(config\)\)"):
        data.load_dataset(BASE, path)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_messages(tmp_path, case):
    for name, text in case.files.items():
        write(tmp_path / name, text)
    path = write(tmp_path / "d.csv", case.text)
    with pytest.raises(case.error) as info:
        load_dataset(case.config, path, base_dir=tmp_path)
    assert re.match(case.message, str(info.value)), str(info.value)


def test_upper_case_dataset_type_is_accepted(tmp_path):
    assert load_dataset({**BASE, "dataset_type": "TEXT/CSV"}, write(tmp_path / "d.csv", ROWS)).label == "Target"


def test_no_location_at_all():
    with pytest.raises(ConfigError, match=r"^dataset_uri: expected a dataset location, found none"):
        load_dataset(BASE)


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match=r"^Dataset location .*nope\.csv does not exist"):
        load_dataset(BASE, tmp_path / "nope.csv")


def test_folder_with_only_markers(tmp_path):
    write(tmp_path / "p" / "_SUCCESS", "")
    with pytest.raises(DataError, match=r"^Dataset folder .*p holds no data files"):
        load_dataset(BASE, tmp_path / "p")


def test_empty_file_without_headers(tmp_path):
    with pytest.raises(DataError, match=r"^Dataset is empty: no rows in .*d\.csv"):
        load_dataset({"dataset_type": "text/csv"}, write(tmp_path / "d.csv", ""))


def test_empty_file_with_headers_gives_empty_frame(tmp_path):
    ds = load_dataset(BASE, write(tmp_path / "d.csv", ""))
    assert list(ds.frame.columns) == BASE["headers"] and len(ds.frame) == 0


def test_bad_gzip(tmp_path):
    path = write(tmp_path / "d.csv.gz", b"\x1f\x8b" + b"not really gzip")
    with pytest.raises(DataError, match=r"^Cannot decompress gzip file .*d\.csv\.gz"):
        load_dataset(BASE, path)


def test_unsupported_source_type():
    with pytest.raises(DataError, match=r"^Cannot load a dataset from list; expected a path, URL"):
        load_dataset(BASE, [[1, 2, 3]])


def test_unknown_url_scheme():
    with pytest.raises(DataError, match=r"^Cannot read nosuchscheme://bucket/key.csv: Protocol not known: nosuchscheme"):
        load_dataset(BASE, "nosuchscheme://bucket/key.csv")


def test_data_spec_built_directly(tmp_path):
    """Library users describe a dataset with a DataSpec of their own: indices and values as in a config."""
    spec = data.DataSpec(dataset_type="text/csv", headers=("Target", "Age", "Gender"), label=0,
                         facet=(data.FacetKey(2, (1,)),))
    ds = data.load_dataset(spec, write(tmp_path / "d.csv", ROWS))
    assert ds.label == "Target" and ds.facets == [("Gender", [1])]


def test_public_names():
    assert sorted(data.__all__) == ["ChunkedDataset", "DataSpec", "Dataset", "FacetKey", "iter_chunks", "load_dataset",
                                   "read_table"]


def test_planner_reads_the_sdk_configs_dataset_keys():
    """Every SDK fixture's dataset keys reach the DataSpec unchanged (lists as tuples, facets as FacetKeys)."""
    import json

    from clarify_engine.job import plan_data
    from tests.data._spec import as_spec
    from tests.helpers import sdk_config_files

    import clarify_engine.config as config
    files = sdk_config_files()
    assert files
    for path in files:
        cfg = config.load_config(str(path))
        if cfg.dataset_type.lower() in ("application/x-image", "application/sagemakercapturejson"):
            continue
        assert plan_data(cfg) == as_spec(json.loads(path.read_text())), path.name
