"""The container entrypoint stays inside its job: no /opt/ml on a host, no reads outside its inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clarify_engine.config import load_config
from clarify_engine.container import ProcessingLayout, check_locations
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA
from clarify_engine.errors import ConfigError
from tests.helpers import run_cli
from tests.test_entrypoints import _layout

REFUSAL = ("clarify-engine container: refusing to run: /opt/ml/processing/input/config does not exist, so this is "
           "not a processing container and nothing was read or written; set CLARIFY_PROCESSING_ROOT to a folder "
           "holding opt/ml/processing/input/config/analysis_config.json, or run clarify-engine analyze")


def test_outside_a_container_it_refuses_and_creates_nothing(tmp_path):
    if Path("/opt/ml").exists():
        pytest.skip("/opt/ml exists on this machine: the test cannot tell whether the job created it")
    env = {k: v for k, v in os.environ.items() if k != "CLARIFY_PROCESSING_ROOT"}
    proc = subprocess.run([sys.executable, "-m", "clarify_engine.cli", "container"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip() == REFUSAL
    assert not Path("/opt/ml").exists()


def _pre_training_config(**keys) -> dict:
    config = json.loads(DEMO_CONFIG.read_text())
    config["methods"] = {"pre_training_bias": {"methods": ["CI", "DPL"]}}
    del config["predictor"]
    config.update(keys)
    return config


def _refusal(key: str, location: str, layout: ProcessingLayout) -> str:
    return (f"{key}: {location!r} is outside the processing job's inputs: the container reads only s3:// URIs "
            f"and files under {layout.input_dir}; give an s3:// URI or the path of a ProcessingInput, or set "
            "CLARIFY_ALLOW_ANY_URI=1 to allow any location")


@pytest.fixture
def layout(tmp_path, monkeypatch):
    monkeypatch.delenv("CLARIFY_ALLOW_ANY_URI", raising=False)
    root = _layout(tmp_path / "root", _pre_training_config(), {"loans.csv": DEMO_DATA})
    return ProcessingLayout(root)


@pytest.mark.parametrize("key", ["dataset_uri", "facet_dataset_uri", "predicted_label_dataset_uri"])
@pytest.mark.parametrize("location", ["/etc/passwd", "../../../../etc/passwd", "https://example.com/data.csv",
                                      "file:///etc/passwd", "gs://bucket/data.csv"])
def test_locations_outside_the_inputs_are_refused(layout, key, location):
    keys = {key: location}
    if key == "facet_dataset_uri":
        keys["facet_headers"] = ["Gender"]
    config = load_config(_pre_training_config(**keys))
    with pytest.raises(ConfigError) as info:
        check_locations(config, layout)
    assert str(info.value) == _refusal(key, location, layout)


def test_a_baseline_file_outside_the_inputs_is_refused(layout):
    config = _pre_training_config()
    config["methods"]["shap"] = {"baseline": "/etc/passwd"}
    with pytest.raises(ConfigError, match=r"^methods\.shap\.baseline: '/etc/passwd' is outside"):
        check_locations(load_config(config), layout)


def test_a_link_out_of_the_inputs_is_refused(layout, tmp_path):
    (layout.data_dir / "escape.csv").symlink_to(DEMO_DATA)
    with pytest.raises(ConfigError, match="'escape.csv' is outside the processing job's inputs"):
        check_locations(load_config(_pre_training_config(dataset_uri="escape.csv")), layout)


@pytest.mark.parametrize("location", ["s3://bucket/prefix/train.csv", "S3://bucket/train.csv", "loans.csv",
                                      "{input}/data/loans.csv", "{input}/other-input/part.csv"])
def test_s3_and_the_inputs_are_allowed(layout, location):
    location = location.format(input=layout.input_dir)
    config = _pre_training_config(dataset_uri=location)
    config["methods"]["shap"] = {"baseline": location}
    check_locations(load_config(config), layout)


def test_the_flag_allows_any_location(layout, monkeypatch):
    monkeypatch.setenv("CLARIFY_ALLOW_ANY_URI", "1")
    check_locations(load_config(_pre_training_config(dataset_uri="/etc/passwd")), layout)


def test_container_refuses_a_dataset_outside_its_inputs_unless_allowed(tmp_path):
    root = _layout(tmp_path, _pre_training_config(dataset_uri=str(DEMO_DATA)), {})
    env = {"CLARIFY_PROCESSING_ROOT": str(root)}
    proc = run_cli("container", env=env)
    assert proc.returncode == 1
    message = (root / "opt/ml/output/message").read_text()
    assert message == ("Analysis configuration schema validation error. "
                       + _refusal("dataset_uri", str(DEMO_DATA), ProcessingLayout(root)))
    assert not (root / "opt/ml/processing/output/analysis.json").exists()
    proc = run_cli("container", env={**env, "CLARIFY_ALLOW_ANY_URI": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pre_training_bias_metrics" in json.loads((root / "opt/ml/processing/output/analysis.json").read_text())


def test_cli_and_python_api_still_read_any_local_path(tmp_path):
    import clarify_engine

    result = clarify_engine.analyze(_pre_training_config(dataset_uri=str(DEMO_DATA)))
    assert "pre_training_bias_metrics" in result.to_dict()
