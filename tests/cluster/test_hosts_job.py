"""A multi-host job gives the single-process job's bytes; the part-file layout; the leader killed.

Hosts are real ``clarify-engine container`` processes on 127.0.0.1 with generated
``resourceconfig.json`` files; the model is the project's server behind the SageMaker runtime
API (boto3 pointed at it), as a real subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from tests.cluster.hosts_helpers import finish, free_port, host_env, layout, start_host
from tests.helpers import DUMMY_AWS_CREDENTIALS, ServerProcess

ROWS = 300


@pytest.fixture(scope="module")
def server():
    proc = ServerProcess(DEMO_MODEL)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """The demo dataset's first rows: bias with FT, SHAP and PDP in seconds."""
    path = tmp_path_factory.mktemp("data") / "loans.csv"
    lines = DEMO_DATA.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:ROWS + 1]))
    return path


def _config() -> dict:
    config = json.loads(DEMO_CONFIG.read_text())
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    return config


def _aws(url: str) -> dict:
    return {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": url, "AWS_DEFAULT_REGION": "us-west-2", **DUMMY_AWS_CREDENTIALS}


def _outputs(root: Path) -> dict[str, bytes]:
    folder = root / "opt/ml/processing/output"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _single(tmp_path: Path, data: Path, env: dict, config: dict) -> Path:
    root = layout(tmp_path / "single", "algo-1", ["algo-1"], config, {"loans.csv": data})
    code, log, message = finish(start_host(root, env), root)
    assert code == 0, log
    return root


def test_one_host_with_the_part_file_flag_writes_the_folder_and_warns_about_joinsource(tmp_path, server, data):
    env = host_env(["algo-1"], free_port(), extra=_aws(server.url))
    plain = _single(tmp_path, data, env, _config())
    root = layout(tmp_path / "parts", "algo-1", ["algo-1"], _config(), {"loans.csv": data})
    code, log, _ = finish(start_host(root, {**env, "CLARIFY_SHAP_PART_FILES": "1"}), root)
    assert code == 0, log
    assert "This host is algo-1." in log and "Number of hosts in the cluster is 1." in log
    assert "joinsource_name_or_index not set: local SHAP part files cannot be mapped back to input rows" in log
    folder = root / "opt/ml/processing/output/explanations_shap/out.csv"
    assert folder.is_dir() and (folder / "_SUCCESS").read_bytes() == b""
    parts = sorted(folder.glob("part-*-c000.csv"))
    assert len(parts) == 1
    single = (plain / "opt/ml/processing/output/explanations_shap/out.csv").read_bytes()
    assert parts[0].read_bytes() == single
    assert (root / "opt/ml/processing/output/analysis.json").read_bytes() == \
        (plain / "opt/ml/processing/output/analysis.json").read_bytes()
