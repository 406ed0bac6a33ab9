"""Every SDK-written config loads and round-trips byte for byte."""

from __future__ import annotations

import json

import pytest

from clarify_engine.config import AnalysisConfig, load_config, json_schema
from tests.config._cases import FIXTURE_FILES


def test_fixtures_found():
    assert len(FIXTURE_FILES) >= 12


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_round_trips_byte_for_byte(path):
    raw = path.read_text(encoding="utf-8")
    cfg = load_config(json.loads(raw))
    assert isinstance(cfg, AnalysisConfig)
    assert json.dumps(cfg.to_dict()) == raw


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_loads_from_path_and_text(path):
    from_path = load_config(path)
    from_str_path = load_config(str(path))
    from_text = load_config(path.read_text())
    assert from_path == from_str_path == from_text
    assert from_path.to_dict() == json.loads(path.read_text())


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_valid_against_generated_schema(path):
    import jsonschema
    jsonschema.Draft202012Validator(json_schema()).validate(json.loads(path.read_text()))


def test_typed_attributes_of_fixture_02():
    cfg = load_config(FIXTURE_FILES[1])
    assert cfg.headers == ("Target", "Age", "Gender", "Income", "Occupation")
    assert [f.name_or_index for f in cfg.facet] == ["Gender", "Age", "Occupation"]
    assert cfg.facet[2].value_or_threshold == (1, 2)
    assert cfg.methods.pre_training_bias.resolved_methods() == ("CI", "DPL", "JS", "KL", "KS", "LP", "TVD")
    assert cfg.methods.report.name == "report"
    assert cfg.predictor is None and cfg.group_variable is None
