"""JSON text the engine refuses before validating keys: NaN/Infinity literals, numbers no
64-bit float holds, integers too long to read, nesting too deep. Each names the key or the
line and column, and the fix."""

from __future__ import annotations

import json

import pytest

from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError
from tests.config._cases import BIAS

PREFIX = "Unable to load analysis configuration as JSON. "


def _text(**changes) -> str:
    return json.dumps({**BIAS, **changes}, indent=1)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_name_the_key(literal, tmp_path):
    path = tmp_path / "analysis_config.json"
    path.write_text(_text(probability_threshold=0.5).replace("0.5", literal))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (f"{PREFIX}{path}: {literal} is not valid JSON (at probability_threshold); "
                               "write a finite number")


def test_number_beyond_float_range_names_the_key():
    text = _text(label_values_or_threshold=[7]).replace("7", "-1e400")
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert str(info.value) == (f"{PREFIX}the given JSON text: the number -1e400 is out of the range of a 64-bit "
                               "float (at label_values_or_threshold[0]); write a number of magnitude at most 1.8e+308")


def test_integer_too_long_to_read_names_the_key():
    text = _text(facet=[{"name_or_index": 7}]).replace(": 7", ": " + "9" * 5000)
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert str(info.value) == (f"{PREFIX}the given JSON text: an integer of 5000 digits is out of range "
                               "(at facet[0].name_or_index); write a number of magnitude at most 1.8e+308")


def test_integer_of_309_digits_is_refused_by_its_bound():
    text = _text(label=3).replace('"label": 3', '"label": ' + "1" + "0" * 400)
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert str(info.value) == "label: expected a string or an integer in [0, 2147483647], found an integer of 401 digits (int)"


def test_deep_nesting_names_line_and_column():
    text = '{"dataset_type": "text/csv",\n "methods": ' + "[" * 150 + "]" * 150 + "}"
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert info.value.path == ""
    assert str(info.value) == (f"{PREFIX}the given JSON text: nested more than 100 levels deep at line 2, column "
                               "112; an analysis configuration needs far fewer levels")


def test_brackets_inside_strings_do_not_count_as_nesting():
    cfg = load_config(_text(headers=BIAS["headers"], label=BIAS["label"], dataset_uri="s3://b/" + "[{" * 200 + '\\"'))
    assert cfg.dataset_uri.startswith("s3://b/[{[{")


def test_nesting_of_a_free_form_object_is_bounded_when_given_as_a_dict():
    deep: dict = {}
    node = deep
    for _ in range(150):
        node["k"] = {}
        node = node["k"]
    doc = {**BIAS, "methods": {"shap": {"baseline": deep}}, "predictor": {"endpoint_name": "e"}}
    with pytest.raises(ConfigError, match=r"^methods\.shap\.baseline(\.k)+: expected JSON nested at most 100 levels "
                                          r"deep, found deeper nesting$"):
        load_config(doc)
