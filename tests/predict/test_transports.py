"""HTTP and SageMaker-runtime transports against real servers.

* The project's model server as a subprocess: happy paths, boto3 pointed at it through
  ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``.
* A tiny misbehaving server in this file: 429, 503, 500, a SageMaker ModelError reply,
  a dropped connection, a reply slower than the timeout. Each case checks the
  ``TransportError`` status and code, and that exactly one request was sent (no hidden retries).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from clarify_engine.errors import ModelError
from clarify_engine.predict._base import Transport, TransportError
from clarify_engine.predict.transports._http import HttpTransport, ping
from clarify_engine.predict.transports._sagemaker import SageMakerRuntimeTransport
from tests.helpers import REPO, serve_in_thread
from tests.predict.test_serve import ServerProcess, csv_body, models  # noqa: F401 - fixture

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture
def aws_env(monkeypatch):
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"):
        monkeypatch.delenv(key, raising=False)
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


@pytest.fixture(scope="module")
def server(models):  # noqa: F811
    proc = ServerProcess(models.paths["binary"], "--endpoint-name", "loans")
    yield proc
    proc.stop()


# -- a misbehaving server -----------------------------------------------------------------
class Misbehaving(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _MisbehavingHandler)
        self.hits: dict[str, int] = {}
        self.sick = False
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _MisbehavingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        sick = self.server.sick and self.path == "/ping"
        self._send(503 if sick else 200, b"warming up" if sick else b"")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        # /invocations/<case> or /endpoints/<case>/invocations
        parts = [p for p in self.path.split("/") if p and p not in ("invocations", "endpoints")]
        case = parts[0] if parts else "ok"
        with self.server.lock:
            self.server.hits[case] = self.server.hits.get(case, 0) + 1
        amzn = lambda code: {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.coral.service/",  # noqa: E731
                             "Content-Type": "application/json"}
        if case == "ok":
            self._send(200, b"0.5\n", {"Content-Type": "text/csv"})
        elif case == "throttle":
            self._send(429, b'{"message": "Rate exceeded"}', {**amzn("ThrottlingException"), "Retry-After": "2"})
        elif case == "unavailable":
            self._send(503, b'{"message": "Service Unavailable"}', amzn("ServiceUnavailable"))
        elif case == "internal":
            self._send(500, b"Traceback: model exploded")
        elif case == "modelerror":
            body = {"ErrorCode": "ModelError", "OriginalStatusCode": 503, "OriginalMessage": "model busy",
                    "LogStreamArn": "arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/Endpoints/x",
                    "message": 'Received server error (503) from primary with message "model busy".'}
            self._send(424, json.dumps(body).encode(), amzn("ModelError"))
        elif case == "validation":
            self._send(400, b'{"message": "Endpoint validation not found."}', amzn("ValidationError"))
        elif case == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif case == "slow":
            time.sleep(6)
            try:
                self._send(200, b"0.5\n")
            except OSError:  # the client gave up, as intended
                self.close_connection = True


@pytest.fixture(scope="module")
def bad_server():
    yield from serve_in_thread(Misbehaving())


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- HttpTransport --------------------------------------------------------------------------
def test_transports_satisfy_the_protocol(aws_env):
    assert isinstance(HttpTransport("http://127.0.0.1:1/invocations"), Transport)
    assert isinstance(SageMakerRuntimeTransport("x"), Transport)


def test_http_transport_round_trip_on_both_routes(server, models):  # noqa: F811
    X = models.X.head(10)
    want = models.binary.predict_proba(X)[:, 1]
    for path in ("/invocations", "/endpoints/loans/invocations"):
        with HttpTransport(server.url + path) as transport:
            transport.ping()
            reply = transport.send(csv_body(X), content_type="text/csv", accept="text/csv")
            np.testing.assert_allclose(np.loadtxt(reply.decode().splitlines()), want, atol=1e-15)


def test_http_transport_sends_extra_headers(server, models):  # noqa: F811
    transport = HttpTransport(server.url + "/invocations", headers={"X-Clarify-Output": "label"})
    reply = transport.send(csv_body(models.X.head(3)), content_type="text/csv", accept="text/csv")
    assert reply.decode().split() == [str(v) for v in models.binary.predict(models.X.head(3))]


@pytest.mark.parametrize(
    "case, status, code, fragment, retry_after",
    [
        ("throttle", 429, "ThrottlingException", "Rate exceeded", 2.0),
        ("unavailable", 503, "ServiceUnavailable", "Service Unavailable", None),
        ("internal", 500, None, "model exploded", None),
        ("modelerror", 503, "ModelError", "the model answered HTTP 503: model busy", None),
        ("validation", 400, "ValidationError", "not found", None),
    ],
)
def test_http_error_statuses(bad_server, case, status, code, fragment, retry_after):
    transport = HttpTransport(f"{bad_server.url}/invocations/{case}", timeout=5)
    before = bad_server.hits.get(case, 0)
    with pytest.raises(TransportError) as info:
        transport.send(b"1,2", content_type="text/csv", accept="text/csv")
    err = info.value
    assert (err.status, err.code, err.retry_after) == (status, code, retry_after)
    assert fragment in str(err) and f"HTTP {status}" in str(err)
    assert isinstance(err, ModelError)
    assert err.__cause__ is None  # an answer, not an exception, caused it
    assert bad_server.hits[case] == before + 1


def test_http_dropped_connection(bad_server):
    transport = HttpTransport(f"{bad_server.url}/invocations/drop", timeout=5)
    with pytest.raises(TransportError) as info:
        transport.send(b"1,2", content_type="text/csv", accept="text/csv")
    assert (info.value.status, info.value.code) == (None, "ConnectionError")


def test_http_timeout(bad_server):
    transport = HttpTransport(f"{bad_server.url}/invocations/slow", timeout=0.3)
    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        transport.send(b"1,2", content_type="text/csv", accept="text/csv")
    assert time.monotonic() - started < 4  # gave up long before the 6 s reply (not a speed bound)
    assert (info.value.status, info.value.code) == (None, "Timeout")
    assert "within 0.3 s" in str(info.value)


def test_http_connection_refused():
    transport = HttpTransport(f"http://127.0.0.1:{_closed_port()}/invocations", timeout=2)
    with pytest.raises(TransportError) as info:
        transport.send(b"1,2", content_type="text/csv", accept="text/csv")
    assert (info.value.status, info.value.code) == (None, "ConnectionError")


def test_http_recovers_after_a_dropped_connection(bad_server):
    transport = HttpTransport(f"{bad_server.url}/invocations/ok", pool_size=1)
    assert transport.send(b"1", content_type="text/csv", accept="text/csv") == b"0.5\n"
    dropper = HttpTransport(f"{bad_server.url}/invocations/drop", pool_size=1)
    with pytest.raises(TransportError):
        dropper.send(b"1", content_type="text/csv", accept="text/csv")
    assert transport.send(b"1", content_type="text/csv", accept="text/csv") == b"0.5\n"


def test_ping_ok_unhealthy_and_down(bad_server):
    ping(bad_server.url + "/invocations")  # any path: /ping on that server is asked
    bad_server.sick = True
    try:
        with pytest.raises(TransportError) as info:
            ping(bad_server.url)
        assert info.value.status == 503 and "warming up" in str(info.value)
    finally:
        bad_server.sick = False
    with pytest.raises(TransportError) as info:
        ping(f"http://127.0.0.1:{_closed_port()}")
    assert info.value.code == "ConnectionError"


@pytest.mark.parametrize("kwargs, fragment", [
    ({"url": "localhost:8080/invocations"}, "http:// or https://"),
    ({"url": "http://h/invocations", "timeout": 0}, "timeout"),
    ({"url": "http://h/invocations", "pool_size": 0}, "pool_size"),
])
def test_http_constructor_checks(kwargs, fragment):
    url = kwargs.pop("url")
    with pytest.raises(ValueError, match=fragment):
        HttpTransport(url, **kwargs)


# -- SageMakerRuntimeTransport ------------------------------------------------------------
def test_sagemaker_runtime_against_the_model_server(server, models, aws_env):  # noqa: F811
    aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
    X = models.X.head(12)
    transport = SageMakerRuntimeTransport("loans", custom_attributes="clarify-output=label,probability")
    reply = transport.send(csv_body(X), content_type="text/csv", accept="text/csv")
    rows = np.loadtxt(reply.decode().splitlines(), delimiter=",")
    np.testing.assert_array_equal(rows[:, 0], models.binary.predict(X))
    np.testing.assert_allclose(rows[:, 1], models.binary.predict_proba(X)[:, 1], atol=1e-15)
    reply = SageMakerRuntimeTransport("loans").send(csv_body(X), content_type="text/csv", accept="application/jsonlines")
    assert [json.loads(line)["predicted_label"] for line in reply.decode().splitlines()] == models.binary.predict(X).tolist()
    transport.close()


def test_sagemaker_runtime_general_endpoint_url_and_model_error(server, aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL", server.url)
    transport = SageMakerRuntimeTransport("loans")
    with pytest.raises(TransportError) as info:
        transport.send(b"1,2\n", content_type="text/csv", accept="text/csv")
    err = info.value
    assert (err.status, err.code) == (400, "ModelError")
    assert "the model answered HTTP 400: records have 2 feature values" in str(err)
    with pytest.raises(TransportError) as info:
        SageMakerRuntimeTransport("nope").send(b"1,2,3,4\n", content_type="text/csv", accept="text/csv")
    assert (info.value.status, info.value.code) == (400, "ValidationError")


def test_sagemaker_runtime_sends_target_model(bad_server, aws_env):
    """TargetModel and CustomAttributes go out as SageMaker's headers."""
    seen = {}

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.update(path=self.path, headers=dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    echo = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    try:
        aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{echo.server_address[1]}")
        transport = SageMakerRuntimeTransport("mme", target_model="model-a.tar.gz", custom_attributes="k=v")
        assert transport.send(b"1,2", content_type="text/csv", accept="application/json") == b"ok"
    finally:
        echo.shutdown()
        echo.server_close()
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert seen["path"] == "/endpoints/mme/invocations"
    assert headers["content-type"] == "text/csv" and headers["accept"] == "application/json"
    assert headers["x-amzn-sagemaker-target-model"] == "model-a.tar.gz"
    assert headers["x-amzn-sagemaker-custom-attributes"] == "k=v"


@pytest.mark.parametrize(
    "case, status, code, fragment, retry_after",
    [
        ("throttle", 429, "ThrottlingException", "Rate exceeded", 2.0),
        ("unavailable", 503, "ServiceUnavailable", "Service Unavailable", None),
        ("modelerror", 503, "ModelError", "the model answered HTTP 503: model busy (logs: arn:aws:logs", None),
        ("validation", 400, "ValidationError", "not found", None),
    ],
)
def test_sagemaker_runtime_error_mapping_without_botocore_retries(bad_server, aws_env, case, status, code, fragment,
                                                                  retry_after):
    aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", bad_server.url)
    transport = SageMakerRuntimeTransport(case)
    before = bad_server.hits.get(case, 0)
    with pytest.raises(TransportError) as info:
        transport.send(b"1,2", content_type="text/csv", accept="text/csv")
    assert (info.value.status, info.value.code, info.value.retry_after) == (status, code, retry_after)
    assert fragment in str(info.value)
    assert bad_server.hits[case] == before + 1, "botocore retried"


def test_sagemaker_runtime_server_error_without_a_code(bad_server, aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", bad_server.url)
    with pytest.raises(TransportError) as info:
        SageMakerRuntimeTransport("internal").send(b"1,2", content_type="text/csv", accept="text/csv")
    assert (info.value.status, info.value.code) == (500, None)
    assert str(info.value) == "endpoint internal: HTTP 500: Traceback: model exploded"


def test_sagemaker_runtime_dropped_connection_and_timeout(bad_server, aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", bad_server.url)
    with pytest.raises(TransportError) as info:
        SageMakerRuntimeTransport("drop").send(b"1,2", content_type="text/csv", accept="text/csv")
    assert (info.value.status, info.value.code) == (None, "ConnectionError")
    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        SageMakerRuntimeTransport("slow", timeout=0.3).send(b"1,2", content_type="text/csv", accept="text/csv")
    assert time.monotonic() - started < 4  # gave up long before the 6 s reply (not a speed bound)
    assert (info.value.status, info.value.code) == (None, "Timeout")


def test_sagemaker_runtime_connection_refused(aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(TransportError) as info:
        SageMakerRuntimeTransport("x", timeout=2).send(b"1,2", content_type="text/csv", accept="text/csv")
    assert (info.value.status, info.value.code) == (None, "ConnectionError")


def test_sagemaker_runtime_region_from_aws_region_and_clear_error_without_one(tmp_path):
    """SageMaker jobs set AWS_REGION; without any region the error says what to set."""
    script = (
        "from clarify_engine.predict.transports._sagemaker import SageMakerRuntimeTransport as T\n"
        "import os\n"
        "if os.environ.get('AWS_REGION'):\n"
        "    print(T('x').client.meta.region_name)\n"
        "else:\n"
        "    try:\n        T('x')\n"
        "    except Exception as e:\n        print(type(e).__name__, e.code, e)\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update(AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b", AWS_CONFIG_FILE=str(tmp_path / "none"))
    out = subprocess.run([sys.executable, "-c", script], env={**base, "AWS_REGION": "eu-west-3"},
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "eu-west-3", out.stderr
    out = subprocess.run([sys.executable, "-c", script], env=base, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("TransportError NoRegionError"), out.stderr
    assert "set AWS_REGION" in out.stdout


def test_sagemaker_client_config_turns_retries_off(aws_env):
    client = SageMakerRuntimeTransport("x", pool_size=24, timeout=30).client
    assert client.meta.config.retries["total_max_attempts"] == 1
    assert client.meta.config.max_pool_connections == 24
    assert client.meta.config.read_timeout == 30


def test_an_idle_connection_closed_by_the_server_is_not_reused():
    """The server closes each connection after replying, without saying so: the next request
    must go out on a fresh connection, not fail on the dead one (and nothing is sent twice)."""
    import http.server
    import threading
    import time

    seen = []

    class CloseAfterReply(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server's naming
            seen.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"0.5")
            self.close_connection = True  # keep-alive promised, then the socket is closed

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CloseAfterReply)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        transport = HttpTransport(f"http://127.0.0.1:{server.server_address[1]}/invocations", pool_size=1)
        for i in range(3):
            assert transport.send(b"%d" % i, content_type="text/csv", accept="text/csv") == b"0.5"
            time.sleep(0.05)  # let the server's close arrive
        assert seen == [b"0", b"1", b"2"]
        assert transport._connections.opened == 3
        transport.close()
    finally:
        server.shutdown()
