"""A whole job with a shadow endpoint: the container subprocess creates an endpoint from
``predictor.model_name`` on a SageMaker control plane (moto in server mode), sends the rows
through the SageMaker runtime (the project's model server, reached by boto3 through
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``), and deletes the endpoint and its config afterwards,
also when the job fails."""

from __future__ import annotations

import json

import boto3
import pytest

import clarify_engine
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from tests.helpers import ServerProcess, moto_server_url, run_cli
from tests.test_entrypoints import _layout


AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def control_plane():
    servers = moto_server_url()
    url = next(servers)
    client = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_model(ModelName="loans-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
                        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/loans:1"})
    yield url, client
    servers.close()


@pytest.fixture(scope="module")
def runtime():
    server = ServerProcess(DEMO_MODEL)
    yield server
    server.stop()


def _shadow_config(prefix: str) -> dict:
    config = json.loads(DEMO_CONFIG.read_text())
    config["predictor"].update({"model_name": "loans-model", "instance_type": "ml.m5.large",
                                "initial_instance_count": 1, "endpoint_name_prefix": prefix})
    return config


def _endpoints(client) -> tuple[list, list]:
    return ([e["EndpointName"] for e in client.list_endpoints()["Endpoints"]],
            [c["EndpointConfigName"] for c in client.list_endpoint_configs()["EndpointConfigs"]])


def test_container_job_with_a_shadow_endpoint(tmp_path, control_plane, runtime):
    url, client = control_plane
    root = _layout(tmp_path, _shadow_config("clarify-demo"), {"loans.csv": DEMO_DATA})
    env = {"CLARIFY_PROCESSING_ROOT": str(root), "AWS_ENDPOINT_URL_SAGEMAKER": url,
           "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime.url, **AWS}
    proc = run_cli("container", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "shadow endpoint clarify-demo-" in proc.stdout
    analysis = json.loads((root / "opt/ml/processing/output/analysis.json").read_text())
    expected = clarify_engine.analyze(json.loads(DEMO_CONFIG.read_text()), data=DEMO_DATA, model=DEMO_MODEL)
    assert analysis == expected.to_dict()
    assert _endpoints(client) == ([], []), "the shadow endpoint must be deleted after the job"


def test_shadow_endpoint_deleted_when_the_job_fails(tmp_path, control_plane):
    url, client = control_plane
    root = _layout(tmp_path, _shadow_config("clarify-fail"), {"loans.csv": DEMO_DATA})
    env = {"CLARIFY_PROCESSING_ROOT": str(root), "AWS_ENDPOINT_URL_SAGEMAKER": url,
           # nothing listens here: every request fails, the job fails
           "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://127.0.0.1:9", **AWS}
    proc = run_cli("container", env=env)
    assert proc.returncode == 1
    assert "clarify-fail-" in (root / "opt/ml/output/message").read_text()
    assert _endpoints(client) == ([], [])


# -- stops and kills in every window of the endpoint's life -----------------------------------
class _HoldingProxy:
    """A real HTTP proxy in front of moto that can hold one SageMaker operation.

    ``hold("CreateEndpoint", before=True)`` keeps that request from reaching moto until
    :meth:`release`; ``before=False`` lets moto act, then keeps the reply. :attr:`arrived` is
    set when the held request comes in.
    """

    def __init__(self, target_url: str):
        import http.server
        import threading
        import urllib.request

        proxy = self
        self.target_url = target_url
        self.arrived = threading.Event()
        self.released = threading.Event()
        self.operation: str | None = None
        self.before = True

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                held = operation == proxy.operation
                if held and proxy.before:
                    proxy.arrived.set()
                    proxy.released.wait(60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(proxy.target_url + self.path, data=body, headers=headers,
                                                 method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=60) as reply:
                        status, reply_headers, data = reply.status, reply.getheaders(), reply.read()
                except urllib.error.HTTPError as error:
                    status, reply_headers, data = error.code, error.headers.items(), error.read()
                if held and not proxy.before:
                    proxy.arrived.set()
                    proxy.released.wait(60)
                self.send_response(status)
                for key, value in reply_headers:
                    if key.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hold(self, operation: str, before: bool) -> None:
        self.operation, self.before = operation, before
        self.arrived.clear()
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(control_plane):
    url, _ = control_plane
    holding = _HoldingProxy(url)
    yield holding
    holding.close()


def _start_container(root, control_url: str, runtime_url: str):
    import os
    import subprocess
    import sys

    env = {**os.environ, "CLARIFY_PROCESSING_ROOT": str(root), "AWS_ENDPOINT_URL_SAGEMAKER": control_url,
           "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime_url, **AWS}
    return subprocess.Popen([sys.executable, "-m", "clarify_engine.cli", "container"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_line(proc, text: str) -> str:
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"the job ended before logging {text!r}:\n{''.join(seen)}")


def _ours(client, prefix: str) -> tuple[list, list]:
    endpoints, configs = _endpoints(client)
    return [e for e in endpoints if e.startswith(prefix)], [c for c in configs if c.startswith(prefix)]


@pytest.mark.parametrize("operation, before", [("CreateEndpoint", True), ("CreateEndpoint", False),
                                               ("CreateEndpointConfig", False)],
                         ids=["after-CreateEndpointConfig", "during-CreateEndpoint", "during-CreateEndpointConfig"])
def test_a_stop_while_the_endpoint_is_created_leaves_nothing(tmp_path, control_plane, runtime, proxy, operation,
                                                            before):
    """Before the stop flag, SIGTERM raised inside the boto3 call: AWS created the resource, the
    job never recorded it, and it leaked."""
    import signal
    import time

    from clarify_engine._stop import STOP_MESSAGE

    _, client = control_plane
    prefix = f"win-{'b' if before else 'a'}-{operation[-6:].lower()}"
    root = _layout(tmp_path, _shadow_config(prefix), {"loans.csv": DEMO_DATA})
    proxy.hold(operation, before)
    proc = _start_container(root, proxy.url, runtime.url)
    try:
        assert proxy.arrived.wait(120), "the job never called " + operation
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # the signal is handled while the call is still in flight
        proxy.release()
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, out
    assert (root / "opt/ml/output/message").read_text() == STOP_MESSAGE
    assert _ours(client, prefix) == ([], []), out


def test_a_stop_while_in_service_deletes_the_endpoint(tmp_path, control_plane, runtime):
    import signal

    from clarify_engine._stop import STOP_MESSAGE

    url, client = control_plane
    root = _layout(tmp_path, _shadow_config("win-in-service"), {"loans.csv": DEMO_DATA})
    proc = _start_container(root, url, runtime.url)
    try:
        _wait_for_line(proc, "is InService")
        assert len(_ours(client, "win-in-service")[0]) == 1
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, out
    assert (root / "opt/ml/output/message").read_text() == STOP_MESSAGE
    assert _ours(client, "win-in-service") == ([], [])


def _killed_job(tmp_path, control_plane, runtime, prefix: str) -> str:
    """A job SIGKILLed while its endpoint is InService; returns the endpoint's name."""
    import signal

    url, client = control_plane
    root = _layout(tmp_path, _shadow_config(prefix), {"loans.csv": DEMO_DATA})
    proc = _start_container(root, url, runtime.url)
    try:
        _wait_for_line(proc, "is InService")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
    endpoints, configs = _ours(client, prefix)
    assert len(endpoints) == 1 and configs == endpoints, "SIGKILL cannot clean up: the endpoint is left"
    tags = {t["Key"]: t["Value"] for t in client.list_tags(
        ResourceArn=client.describe_endpoint(EndpointName=endpoints[0])["EndpointArn"])["Tags"]}
    assert tags["clarify-engine:job"] == endpoints[0]
    assert tags["clarify-engine:owner"].endswith(f":{proc.pid}")
    assert tags["clarify-engine:created"].endswith("Z")
    return endpoints[0]


def test_cleanup_deletes_what_a_killed_job_left(tmp_path, control_plane, runtime):
    url, client = control_plane
    name = _killed_job(tmp_path / "job", control_plane, runtime, "win-killed")
    env = {"AWS_ENDPOINT_URL_SAGEMAKER": url, **AWS}
    dry = run_cli("cleanup", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"would delete: endpoint {name} (job {name}): its job's process " in dry.stdout
    assert "2 would delete, 0 kept, 0 failed (dry run: nothing deleted)" in dry.stdout
    assert _ours(client, "win-killed") == ([name], [name])
    proc = run_cli("cleanup", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"deleted: endpoint {name} (job {name}): its job's process " in proc.stdout
    assert f"deleted: endpoint-config {name} (job {name})" in proc.stdout
    assert "2 deleted, 0 kept, 0 failed" in proc.stdout
    assert _ours(client, "win-killed") == ([], [])


def test_cleanup_keeps_endpoints_of_running_jobs_and_untagged_ones(control_plane):
    """Only tagged resources are touched, and only once their owner is gone or they are old."""
    import datetime as dt

    from clarify_engine.predict.transports._shadow import ShadowEndpoint, cleanup_leftovers

    url, client = control_plane
    client.create_endpoint_config(EndpointConfigName="not-ours", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "loans-model", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    try:
        with ShadowEndpoint("loans-model", "ml.m5.large", 1, endpoint_name_prefix="win-running",
                            sagemaker_client=client, poll_interval=0) as name:
            report = cleanup_leftovers(client)
            assert [(r.kind, r.name, r.action) for r in report] == [("endpoint", name, "kept"),
                                                                     ("endpoint-config", name, "kept")]
            later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
            old = cleanup_leftovers(client, now=later, dry_run=True)
            assert [r.action for r in old] == ["would delete", "would delete"]
            assert old[0].reason.endswith("more than 86400 s ago")
            assert _ours(client, "win-running") == ([name], [name])
    finally:
        client.delete_endpoint_config(EndpointConfigName="not-ours")
    assert _ours(client, "win-running") == ([], [])


def test_the_next_run_deletes_what_a_killed_job_left(tmp_path, control_plane, runtime):
    url, client = control_plane
    name = _killed_job(tmp_path / "killed", control_plane, runtime, "win-next")
    config = _shadow_config("win-next")
    del config["methods"]["shap"], config["methods"]["pdp"]
    root = _layout(tmp_path / "next", config, {"loans.csv": DEMO_DATA})
    env = {"CLARIFY_PROCESSING_ROOT": str(root), "AWS_ENDPOINT_URL_SAGEMAKER": url,
           "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime.url, **AWS}
    proc = run_cli("container", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Cleanup: deleted endpoint {name} left by job {name}" in proc.stdout
    assert _ours(client, "win-next") == ([], [])


def test_cli_analyze_stopped_while_in_service_deletes_the_endpoint(tmp_path, control_plane, runtime):
    import os
    import signal
    import subprocess
    import sys

    url, client = control_plane
    config_file = tmp_path / "analysis_config.json"
    config_file.write_text(json.dumps(_shadow_config("win-cli")))
    env = {**os.environ, "AWS_ENDPOINT_URL_SAGEMAKER": url, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime.url, **AWS}
    proc = subprocess.Popen([sys.executable, "-m", "clarify_engine.cli", "analyze", "--config", str(config_file),
                             "--data", str(DEMO_DATA), "--output", str(tmp_path / "out")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_line(proc, "is InService")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert "clarify-engine analyze: Signal 15 received, cleaning up." in err
    assert _ours(client, "win-cli") == ([], [])


def test_the_local_session_deletes_what_its_killed_job_left(tmp_path, control_plane):
    """A job that ignores SIGTERM is SIGKILLed by the session after the grace period; the session
    then deletes the shadow endpoint that job created (and only it)."""
    import time

    from clarify_engine.client import LocalSession, ScriptProcessor

    url, client = control_plane
    script = tmp_path / "stuck.py"
    script.write_text(
        "import signal, time\n"
        "from clarify_engine.predict.transports._shadow import ShadowEndpoint\n"
        "name = ShadowEndpoint('loans-model', 'ml.m5.large', 1, endpoint_name_prefix='win-local',\n"
        "                      poll_interval=0).__enter__()\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('in service', name, flush=True)\n"
        "time.sleep(300)\n")
    session = LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05, stop_grace_seconds=1)
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session,
                                env={"AWS_ENDPOINT_URL_SAGEMAKER": url, **AWS})
    processor.run(code=str(script), wait=False, logs=False)
    job = processor.latest_job
    local = session._job(job.job_name)
    deadline = time.monotonic() + 120
    while not any("in service" in line for line in local.log_lines()) and time.monotonic() < deadline:
        time.sleep(0.05)
    name = next(line for line in local.log_lines() if "in service" in line).split()[-1]
    assert _ours(client, "win-local") == ([name], [name])
    job.stop()
    job.wait(logs=False)
    assert job.describe()["ProcessingJobStatus"] == "Stopped"
    lines = local.log_lines()
    assert any(f"Cleanup after the killed job: deleted: endpoint {name}" in line for line in lines), lines
    assert _ours(client, "win-local") == ([], [])
