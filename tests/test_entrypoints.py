"""The three entry points end to end: container (subprocess), CLI (subprocess), Python API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import clarify_engine
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from tests.helpers import ServerProcess, run_cli, sdk_config_files


def _layout(root: Path, config: dict | str, data_files: dict[str, str | Path]) -> Path:
    """Lay out a processing job under ``root`` like SageMaker does."""
    cfg_dir = root / "opt/ml/processing/input/config"
    data_dir = root / "opt/ml/processing/input/data"
    cfg_dir.mkdir(parents=True)
    data_dir.mkdir(parents=True)
    text = config if isinstance(config, str) else json.dumps(config)
    (cfg_dir / "analysis_config.json").write_text(text)
    for name, source in data_files.items():
        target = data_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copy(source, target)
        else:
            target.write_text(source)
    return root


def _demo_config() -> dict:
    return json.loads(DEMO_CONFIG.read_text())


@pytest.fixture(scope="module")
def demo_server():
    """The project's model server, serving the demo model, as a real subprocess."""
    server = ServerProcess(DEMO_MODEL)
    yield server
    server.stop()


def _aws_env(server) -> dict:
    """boto3 settings pointing the SageMaker runtime at ``server``, with dummy credentials."""
    return {
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-west-2",
    }


def test_python_api_matches_cli_and_container(tmp_path, demo_server):
    """In-process model, HTTP model server, CLI --model and the container against a
    SageMaker runtime endpoint (boto3 to the project's server) all give the same analysis."""
    api = clarify_engine.analyze(_demo_config(), data=DEMO_DATA, model=DEMO_MODEL).to_dict()
    assert set(api) == {"version", "pre_training_bias_metrics", "post_training_bias_metrics", "explanations"}
    assert set(api["explanations"]["kernel_shap"]["label0"]["global_shap_values"]) == {
        "Age", "Gender", "Income", "Occupation", "YearsEmployed", "CreditScore"}

    over_http = clarify_engine.analyze(_demo_config(), data=DEMO_DATA, model=demo_server.url).to_dict()
    assert over_http == api

    out = tmp_path / "cli-out"
    proc = run_cli("analyze", "--config", str(DEMO_CONFIG), "--data", str(DEMO_DATA), "--output", str(out),
                   "--model", str(DEMO_MODEL))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "analysis.json").read_text()) == api

    config = _demo_config()
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    root = _layout(tmp_path / "root", config, {"loans.csv": DEMO_DATA})
    proc = run_cli("container", env={"CLARIFY_PROCESSING_ROOT": str(root), **_aws_env(demo_server)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((root / "opt/ml/processing/output/analysis.json").read_text()) == api
    assert not (root / "opt/ml/output/message").exists()
    assert "SageMaker endpoint loans-endpoint" in proc.stdout
    local = pd.read_csv(root / "opt/ml/processing/output/explanations_shap/out.csv")
    assert local.shape == (5000, 6) and list(local.columns)[0] == "Age_label0"
    # timestamped log lines on stdout
    first = proc.stdout.splitlines()[0]
    assert first[:4].isdigit() and "T" in first[:20], first


def _labelled_demo():
    """The demo data with the demo model's predicted labels as a column, and a bias-only config
    that reads them (no predictor), with the demo model."""
    import joblib

    frame = pd.read_csv(DEMO_DATA)
    model = joblib.load(DEMO_MODEL)
    frame["Predicted"] = model.predict(frame.drop(columns=["Target"]).to_numpy(dtype=float))
    config = _demo_config()
    config["headers"] = list(frame.columns)
    config["predicted_label"] = "Predicted"
    del config["predictor"], config["methods"]["shap"], config["methods"]["pdp"]
    return frame, config, model


def test_predicted_labels_in_data_need_no_model(tmp_path):
    """The same post-training metrics from a predicted-label column as from the model itself."""
    frame, config, model = _labelled_demo()
    from_column = clarify_engine.analyze(config, data=frame).to_dict()
    from_model = clarify_engine.analyze(_demo_config(), data=DEMO_DATA, model=model).to_dict()
    assert from_column["post_training_bias_metrics"]["facets"] == from_model["post_training_bias_metrics"]["facets"]


def test_container_fails_clearly_when_the_endpoint_is_down(tmp_path):
    config = _demo_config()
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    root = _layout(tmp_path, config, {"loans.csv": DEMO_DATA})
    env = {"CLARIFY_PROCESSING_ROOT": str(root), "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://127.0.0.1:9",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-west-2"}
    proc = run_cli("container", env=env, timeout=300)
    assert proc.returncode == 1
    message = (root / "opt/ml/output/message").read_text()
    assert "loans-endpoint" in message or "127.0.0.1:9" in message, message


def test_python_api_accepts_frames_and_arrow_tables(tmp_path):
    frame = pd.read_csv(DEMO_DATA)
    from_path = clarify_engine.analyze(_demo_config(), data=DEMO_DATA, model=DEMO_MODEL).to_dict()
    from_frame = clarify_engine.analyze(_demo_config(), data=frame, model=DEMO_MODEL).to_dict()
    from_arrow = clarify_engine.analyze(_demo_config(), data=pa.Table.from_pandas(frame), model=DEMO_MODEL).to_dict()
    assert from_frame == from_path
    assert from_arrow == from_path


def test_python_api_writes_the_outputs_and_the_report(tmp_path):
    config = _demo_config()
    config["methods"]["report"] = {"name": "report", "title": "Analysis Report"}
    result = clarify_engine.analyze(config, data=DEMO_DATA, model=DEMO_MODEL, output_dir=tmp_path)
    assert result.not_run == []
    assert manifest_model(tmp_path)["description"].startswith("in-process model")
    manifest = json.loads((tmp_path / "run_manifest.json").read_text())
    assert manifest["not_run"] == []
    assert manifest["report"]["files"] == ["report.html", "report.ipynb", "report.pdf"]
    assert all((tmp_path / name).is_file() for name in manifest["report"]["files"])
    assert json.loads((tmp_path / "analysis.json").read_text()) == result.to_dict()


def manifest_model(output_dir: Path) -> dict:
    return json.loads((output_dir / "run_manifest.json").read_text())["model"]


def test_a_model_is_required_when_predictions_are_not_in_the_data():
    config = _demo_config()
    del config["predictor"], config["methods"]["shap"], config["methods"]["pdp"]
    with pytest.raises(clarify_engine.ConfigError, match="predictor") as info:
        clarify_engine.analyze(config, data=DEMO_DATA)
    assert "post_training_bias" in str(info.value)
    # pre-training alone needs no model
    del config["methods"]["post_training_bias"]
    assert set(clarify_engine.analyze(config, data=DEMO_DATA).to_dict()) == {"version", "pre_training_bias_metrics"}


@pytest.mark.parametrize(
    "config_text, data, expected",
    [
        pytest.param("{not json", "a,b\n1,2\n", "Unable to load analysis configuration as JSON.", id="bad-json"),
        pytest.param(
            json.dumps({"dataset_type": "text/csv", "label": "a", "label_values_or_threshold": [1],
                        "facet": [{"name_or_index": "b"}], "methods": {"pre_training_bias": {"methods": "all"}},
                        "colour": "blue"}),
            "a,b\n1,2\n",
            "Analysis configuration schema validation error.",
            id="unknown-key",
        ),
        pytest.param(
            json.dumps({"dataset_type": "text/csv", "label": "a", "label_values_or_threshold": [1],
                        "facet": [{"name_or_index": "Sex"}], "methods": {"pre_training_bias": {"methods": "all"}}}),
            "a,b\n1,2\n0,3\n",
            "Sex",
            id="missing-facet-column",
        ),
    ],
)
def test_container_failure_writes_the_reason(tmp_path, config_text, data, expected):
    root = _layout(tmp_path, config_text, {"train.csv": data})
    proc = run_cli("container", env={"CLARIFY_PROCESSING_ROOT": str(root)})
    assert proc.returncode != 0
    message = (root / "opt/ml/output/message").read_text()
    assert expected in message, message
    assert len(message.encode()) <= 1024
    assert not (root / "opt/ml/processing/output/analysis.json").exists()


def test_container_names_the_unknown_key_in_the_message(tmp_path):
    config = _demo_config()
    del config["methods"]["post_training_bias"]
    config["methods"]["pre_training_bias"]["metods"] = "all"
    root = _layout(tmp_path, config, {"loans.csv": DEMO_DATA})
    proc = run_cli("container", env={"CLARIFY_PROCESSING_ROOT": str(root)})
    assert proc.returncode == 1
    assert "methods.pre_training_bias.metods" in (root / "opt/ml/output/message").read_text()


def test_cli_validate(tmp_path):
    config = _demo_config()
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(config))
    # validate builds the endpoint's client as analyze would (without calling it): it needs a region
    ok = run_cli("validate", str(path), "--data", str(DEMO_DATA), env={"AWS_DEFAULT_REGION": "us-east-1"})
    assert ok.returncode == 0, ok.stderr
    assert "would run: pre_training_bias, post_training_bias" in ok.stdout
    no_model = run_cli("validate", str(DEMO_CONFIG), "--data", str(DEMO_DATA))
    assert no_model.returncode != 0 and "predictor" in no_model.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dataset_type": "text/xml", "methods": {"pre_training_bias": {"methods": "all"}}}))
    proc = run_cli("validate", str(bad))
    assert proc.returncode != 0
    assert "dataset_type" in proc.stderr


@pytest.mark.parametrize("path", sdk_config_files(), ids=lambda p: p.stem)
def test_cli_validate_accepts_every_sdk_config(path, capsys):
    from clarify_engine.cli import main

    code = main(["-q", "validate", str(path)])
    assert code == 0, capsys.readouterr().err  # text and image configs included: every SDK config runs


def test_cli_demo(tmp_path):
    proc = run_cli("demo", "--output", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    analysis = json.loads((tmp_path / "demo" / "analysis.json").read_text())
    facets = analysis["post_training_bias_metrics"]["facets"]
    assert set(facets) == {"Gender", "Occupation"}
    assert len(facets["Occupation"]) == 6  # one-vs-rest: one entry per occupation
    assert "DI" in proc.stdout
    assert "predictions from model server http://127.0.0.1" in proc.stdout
    assert "kernel_shap label0 (expected value" in proc.stdout
    assert [e["feature_name"] for e in analysis["explanations"]["pdp"]] == ["CreditScore", "Income", "YearsEmployed"]
    assert (tmp_path / "demo" / "explanations_shap" / "out.csv").exists()
    for name in ("report.html", "report.ipynb", "report.pdf"):
        assert (tmp_path / "demo" / name).is_file()
        assert f"{tmp_path / 'demo'}/{name}" in proc.stdout


class _SlowModelHandler(__import__("http.server").server.BaseHTTPRequestHandler):
    """Accepts requests and never answers in time: a model stuck on a slow reply."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        import time as _time

        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _time.sleep(30)

    def log_message(self, *args):
        pass


def test_container_stops_promptly_on_sigterm_while_waiting_for_the_model(tmp_path):
    import http.server
    import signal
    import subprocess
    import sys
    import threading
    import time

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowModelHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = _demo_config()
        del config["methods"]["shap"], config["methods"]["pdp"]
        config["predictor"]["endpoint_name"] = "slow-endpoint"
        root = _layout(tmp_path, config, {"loans.csv": DEMO_DATA})
        env = {**__import__("os").environ, "CLARIFY_PROCESSING_ROOT": str(root),
               "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://127.0.0.1:{server.server_address[1]}",
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-west-2"}
        proc = subprocess.Popen([sys.executable, "-m", "clarify_engine.cli", "container"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:  # wait until requests are in flight
            if "Sending 5000 rows" in line:
                break
        time.sleep(0.5)
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=20)
        assert proc.returncode == 143, rest
        assert time.monotonic() - stopped_at < 10, "the job must not sit out the model's reply"
        assert "Signal 15 received" in (root / "opt/ml/output/message").read_text()
    finally:
        server.shutdown()


def test_text_explanations_on_a_dataset_without_text_name_every_column():
    config = _demo_config()
    config["methods"]["shap"]["text_config"] = {"granularity": "token", "language": "english"}
    with pytest.raises(clarify_engine.DataError) as info:
        clarify_engine.analyze(config, data=DEMO_DATA, model=DEMO_MODEL)
    assert "no feature column holds free text ('Age' is numerical;" in str(info.value)


def test_container_streams_the_dataset_when_clarify_chunk_rows_is_set(tmp_path):
    """A processing job streams through the environment (what an SDK processor's ``env`` sets):
    the same analysis.json as the loaded run, and the manifest says it streamed."""
    frame, config, _ = _labelled_demo()
    config["methods"].pop("report", None)
    data = tmp_path / "loans.csv"
    frame.to_csv(data, index=False)
    outputs = {}
    for name, extra in (("loaded", {}), ("streamed", {"CLARIFY_CHUNK_ROWS": "700"})):
        root = _layout(tmp_path / name, config, {"loans.csv": data})
        proc = run_cli("container", env={"CLARIFY_PROCESSING_ROOT": str(root), **extra})
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        outputs[name] = root / "opt/ml/processing/output"
    assert (outputs["streamed"] / "analysis.json").read_text() == (outputs["loaded"] / "analysis.json").read_text()
    streaming = json.loads((outputs["streamed"] / "run_manifest.json").read_text())["streaming"]
    assert streaming["chunk_rows"] == 700 and streaming["chunks"] == -(-len(frame) // 700)
    assert "streaming" not in json.loads((outputs["loaded"] / "run_manifest.json").read_text())


def test_container_names_a_bad_clarify_chunk_rows_and_the_fix(tmp_path):
    root = _layout(tmp_path, _demo_config(), {"loans.csv": DEMO_DATA})
    proc = run_cli("container", env={"CLARIFY_PROCESSING_ROOT": str(root), "CLARIFY_CHUNK_ROWS": "many"})
    assert proc.returncode == 1
    assert (root / "opt/ml/output/message").read_text() == (
        "The environment variable CLARIFY_CHUNK_ROWS='many' is not a positive number of rows; set it to the rows "
        "per chunk (e.g. 1000000) to stream the dataset, or leave it unset to load the dataset whole")
    assert not (root / "opt/ml/processing/output/analysis.json").exists()
