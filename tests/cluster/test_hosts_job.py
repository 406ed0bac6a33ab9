"""A multi-host job gives the single-process job's bytes; the part-file layout; the leader killed.

Hosts are real ``clarify-engine container`` processes on 127.0.0.1 with generated
``resourceconfig.json`` files; the model is the project's server behind the SageMaker runtime
API (boto3 pointed at it), as a real subprocess.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from tests.cluster.hosts_helpers import finish, free_port, host_env, host_names, kill_group, layout, start_host
from tests.helpers import DUMMY_AWS_CREDENTIALS, ServerProcess

ROWS = 160


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
    root = layout(tmp_path / "single", "algo-1", ["algo-1"], config, {data.name: data})
    code, log, message = finish(start_host(root, env), root)
    assert code == 0, log
    return root


@pytest.fixture(scope="module")
def single(tmp_path_factory, server, data) -> dict[str, bytes]:
    """The outputs of the one-host job (no resourceconfig.json host list but its own)."""
    env = host_env(["algo-1"], free_port(), extra=_aws(server.url))
    return _outputs(_single(tmp_path_factory.mktemp("single"), data, env, _config()))


def test_one_host_with_the_part_file_flag_writes_the_folder_and_warns_about_joinsource(tmp_path, server, data, single):
    env = host_env(["algo-1"], free_port(), extra=_aws(server.url))
    root = layout(tmp_path / "parts", "algo-1", ["algo-1"], _config(), {"loans.csv": data})
    code, log, _ = finish(start_host(root, {**env, "CLARIFY_SHAP_PART_FILES": "1"}), root)
    assert code == 0, log
    assert "This host is algo-1." in log and "Number of hosts in the cluster is 1." in log
    assert "joinsource_name_or_index not set: local SHAP part files cannot be mapped back to input rows" in log
    folder = root / "opt/ml/processing/output/explanations_shap/out.csv"
    assert folder.is_dir() and (folder / "_SUCCESS").read_bytes() == b""
    parts = sorted(folder.glob("part-*-c000.csv"))
    assert len(parts) == 1
    assert parts[0].read_bytes() == single["explanations_shap/out.csv"]
    assert (root / "opt/ml/processing/output/analysis.json").read_bytes() == single["analysis.json"]


@pytest.mark.parametrize("count", [2, pytest.param(3, marks=pytest.mark.slow)])
def test_hosts_give_the_single_process_bytes_with_bias_ft_shap_and_pdp(tmp_path, server, data, single, count):
    """Every output file of the leader equals the one-host run's, byte for byte; workers exit 0."""
    expected = dict(single)
    hosts = host_names(count)
    env = host_env(hosts, free_port(), extra={**_aws(server.url), "CLARIFY_SHAP_PART_FILES": "1"})
    roots = {h: layout(tmp_path / h, h, hosts, _config(), {"loans.csv": data}) for h in hosts}
    procs = {h: start_host(roots[h], env) for h in reversed(hosts)}  # workers first: they wait for the leader
    try:
        for host in hosts:
            code, log, message = finish(procs[host], roots[host])
            assert code == 0, log
            assert message == ""
        got = _outputs(roots["algo-1"])
        parts = sorted(k for k in got if k.startswith("explanations_shap/out.csv/part-"))
        assert len(parts) == count and "explanations_shap/out.csv/_SUCCESS" in got
        single = expected.pop("explanations_shap/out.csv")
        header = single.split(b"\n", 1)[0] + b"\n"
        assert all(got[p].startswith(header) for p in parts)
        assert header + b"".join(got[p][len(header):] for p in parts) == single
        assert {k: v for k, v in got.items() if "/out.csv/" not in k and k != "run_manifest.json"} == \
            {k: v for k, v in expected.items() if k != "run_manifest.json"}
        for host in hosts[1:]:
            assert _outputs(roots[host]) == {}, f"{host} wrote outputs"
        assert len(json.loads(got["run_manifest.json"])["cluster"]["workers"]) == count, "one worker per host"
    finally:
        for proc in procs.values():
            kill_group(proc)


class _SlowModel(http.server.BaseHTTPRequestHandler):
    """A SageMaker runtime that takes its time: the job is still running when the leader is killed."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(120)

    def log_message(self, *args):
        pass


@pytest.fixture
def mid_job(tmp_path, data):
    """Two hosts whose job waits on a slow model: (roots, processes) once the leader is calling it."""
    model = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowModel)
    model.daemon_threads = True
    threading.Thread(target=model.serve_forever, daemon=True).start()
    hosts = host_names(2)
    env = host_env(hosts, free_port(), extra=_aws(f"http://127.0.0.1:{model.server_address[1]}"))
    roots = {h: layout(tmp_path / h, h, hosts, _config(), {"loans.csv": data}) for h in hosts}
    procs = {h: start_host(roots[h], env) for h in hosts}
    try:
        deadline = time.monotonic() + 180
        while "Getting predictions" not in (roots["algo-1"] / "host.log").read_text():
            assert procs["algo-1"].poll() is None, (roots["algo-1"] / "host.log").read_text()
            assert time.monotonic() < deadline, "the job never reached the model"
            time.sleep(0.2)
        time.sleep(1)
        yield roots, procs
    finally:
        for proc in procs.values():
            kill_group(proc)
        model.shutdown()


def test_the_leader_killed_mid_job_fails_the_workers_and_leaves_no_output(mid_job):
    roots, procs = mid_job
    kill_group(procs["algo-1"])  # the leader's instance is lost, with its dask worker
    code, log, message = finish(procs["algo-2"], roots["algo-2"], timeout=120)
    assert code == 1, log
    assert message.startswith("The leader algo-1 (tcp://127.0.0.1:"), message
    assert "went away before the job completed" in message and "this host (algo-2) wrote nothing" in message
    for root in roots.values():
        assert _outputs(root) == {}, f"{root.name} left output files"


def test_sigterm_stops_every_host_with_143(mid_job):
    """StopProcessingJob: each host gets SIGTERM, each exits 143 with the stop message."""
    roots, procs = mid_job
    for proc in procs.values():
        os.killpg(proc.pid, signal.SIGTERM)
    for host, proc in procs.items():
        code, log, message = finish(proc, roots[host], timeout=120)
        assert code == 143, log
        assert message.startswith("Signal 15 received"), message
    for root in roots.values():
        assert _outputs(root) == {}, f"{root.name} left output files"


@pytest.mark.slow
def test_a_job_the_cluster_does_not_run_runs_on_the_leader_alone(tmp_path):
    """Text explanations do not run on a Dask cluster: the leader runs the job itself, the same bytes."""
    import joblib

    from clarify_engine.demo._text import make_reviews, train_text_model

    joblib.dump(train_text_model(make_reviews(300, seed=1)), tmp_path / "model.joblib")
    reviews = tmp_path / "reviews.csv"
    make_reviews(12, seed=7).to_csv(reviews, index=False, header=False)
    config = json.loads((Path(__file__).parents[1] / "fixtures/text/sdk_token_english.json").read_text())
    del config["methods"]["report"]
    config["methods"]["shap"]["seed"] = 5
    config["predictor"]["endpoint_name"] = "text-endpoint"
    model = ServerProcess(tmp_path / "model.joblib")
    try:
        env = host_env(["algo-1"], free_port(), extra=_aws(model.url))
        expected = _outputs(_single(tmp_path, reviews, env, config))
        hosts = host_names(2)
        env = host_env(hosts, free_port(), extra=_aws(model.url))
        roots = {h: layout(tmp_path / h, h, hosts, config, {"reviews.csv": reviews}) for h in hosts}
        procs = {h: start_host(roots[h], env) for h in hosts}
        try:
            code, log, _ = finish(procs["algo-1"], roots["algo-1"])
            assert code == 0, log
            assert "This job does not run on the Dask cluster (methods.shap.text_config:" in log
            assert finish(procs["algo-2"], roots["algo-2"])[0] == 0
        finally:
            for proc in procs.values():
                kill_group(proc)
        got = _outputs(roots["algo-1"])
        assert got.pop("analysis.json") == expected.pop("analysis.json")
        assert got["explanations_shap/out.jsonl"] == expected["explanations_shap/out.jsonl"]
    finally:
        model.stop()
