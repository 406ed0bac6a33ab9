"""What one request may cost, and what a URL may reveal: both transports against a faulty server.

A real HTTP server on loopback (stdlib ``http.server`` in a thread) stands in for a model
server and, through ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``, for the SageMaker runtime. It
answers, per path:

* ``huge`` / ``huge-chunked``: 20 MB, announced by ``Content-Length`` or sent in chunks
  without one (the audit's reply that drove the client to 7.6 GB);
* ``drip`` / ``drip-headers``: the body (or the status line and headers) one byte at a time,
  each byte well within the per-read timeout, so only a total deadline ends the request;
* ``cut``: promises 100 bytes and closes the connection after 8 (the first ``cut_first``
  requests; later ones are answered in full);
* ``auth``: 401 unless HTTP Basic credentials ``clarify:p@ss word`` come with the request.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.predict import ClientOptions, ModelSpec, make_predictor, redact_url
from clarify_engine.predict._base import TransportError
from clarify_engine.predict._batching import Batcher
from clarify_engine.predict._http import HttpTransport, ping
from clarify_engine.predict._retry import RetryPolicy
from clarify_engine.predict._sagemaker import SageMakerRuntimeTransport
from tests.predict.test_batching import CsvRequest, CsvScores

pytestmark = pytest.mark.timeout(120)

HUGE = 20_000_000
SECRET = "p@ss word"
AUTH = "Basic " + base64.b64encode(f"clarify:{SECRET}".encode()).decode()


class Faulty(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.cut_first = 1
        self.sent: dict[str, int] = {}  # bytes of body written per case before the client left

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _head(self, status: int, headers: dict):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _write(self, case: str, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up, as intended
            self.close_connection = True
            return False
        with self.server.lock:
            self.server.sent[case] = self.server.sent.get(case, 0) + len(data)
        return True

    def do_GET(self):
        ok = self.headers.get("Authorization") == AUTH
        self._head(200 if ok else 401, {"Content-Length": "0"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = [p for p in self.path.split("/") if p and p not in ("invocations", "endpoints")]
        case = parts[0] if parts else "ok"
        with self.server.lock:
            call = self.server.hits.get(case, 0)
            self.server.hits[case] = call + 1
        if case == "huge":
            self._head(200, {"Content-Length": str(HUGE)})
            for _ in range(HUGE // 1_000_000):
                if not self._write(case, b"0.5\n" * 250_000):
                    return
        elif case == "huge-chunked":
            self._head(200, {"Transfer-Encoding": "chunked"})
            for _ in range(HUGE // 1_000_000):
                if not self._write(case, b"%x\r\n%s\r\n" % (1_000_000, b"0.5\n" * 250_000)):
                    return
            self._write(case, b"0\r\n\r\n")
        elif case == "drip":
            self._head(200, {"Content-Length": "40"})
            for _ in range(40):
                if not self._write(case, b"1"):
                    return
                time.sleep(0.25)
        elif case == "drip-headers":
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 40:
                if not self._write(case, bytes([byte])):
                    return
                time.sleep(0.25)
            self._write(case, b"\r\nContent-Length: 4\r\n\r\n0.5\n")
        elif case == "cut":
            records = body.decode().count("\n") + 1
            reply = b"\n".join([b"0.25"] * records)
            if call < self.server.cut_first:
                self._head(200, {"Content-Length": str(len(reply) + 100)})
                self._write(case, reply[:8])
                self.close_connection = True
            else:
                self._head(200, {"Content-Length": str(len(reply))})
                self._write(case, reply)
        elif case == "auth":
            if self.headers.get("Authorization") != AUTH:
                self._head(401, {"Content-Length": "12"})
                self._write(case, b"unauthorized")
            else:
                self._head(500, {"Content-Length": "14"})
                self._write(case, b"model exploded")
        else:
            self._head(200, {"Content-Length": "4"})
            self._write(case, b"0.5\n")


@pytest.fixture
def faulty():
    server = Faulty()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def runtime(faulty, monkeypatch):
    """boto3's sagemaker-runtime pointed at the faulty server, with dummy credentials."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", faulty.url)
    return faulty


def _http(server, case, **kwargs):
    return HttpTransport(f"{server.url}/invocations/{case}", **kwargs)


def _boto(case, **kwargs):
    return SageMakerRuntimeTransport(case, **kwargs)


TRANSPORTS = {"http": lambda srv, case, **kw: _http(srv, case, **kw),
              "boto3": lambda srv, case, **kw: _boto(case, **kw)}


def _send(transport) -> bytes:
    try:
        return transport.send(b"1,2", content_type="text/csv", accept="text/csv")
    finally:
        transport.close()


# -- replies over the size limit --------------------------------------------------------------
@pytest.mark.parametrize("kind", ["http", "boto3"])
@pytest.mark.parametrize("case", ["huge", "huge-chunked"])
def test_a_reply_over_the_limit_fails_its_request_naming_the_limit(runtime, kind, case):
    transport = TRANSPORTS[kind](runtime, case, max_reply_bytes=1_000_000, timeout=10)
    with pytest.raises(TransportError) as info:
        _send(transport)
    err = info.value
    assert (err.status, err.code) == (None, "ReplyTooLarge")
    found = f"is {HUGE} bytes, over" if case == "huge" else "runs past"
    assert (f"the reply {found} the 1000000-byte limit on a reply; raise the limit (--max-reply-mb, "
            "ClientOptions.max_reply_bytes) if the model really answers that much, or send fewer records per "
            "request (--max-records)") in str(err)


def test_an_announced_reply_over_the_limit_is_not_read_at_all(faulty):
    """The Content-Length is enough to refuse: the client closes before the body is read."""
    with pytest.raises(TransportError, match="ReplyTooLarge|limit on a reply"):
        _send(_http(faulty, "huge", max_reply_bytes=1_000_000))
    with pytest.raises(TransportError) as info:
        _send(_http(faulty, "huge"))  # the default limit, 8 MB
    assert "the reply is 20000000 bytes, over the 8000000-byte limit" in str(info.value)


def test_a_reply_within_the_limit_is_read(faulty):
    assert _send(_http(faulty, "huge", max_reply_bytes=HUGE)) == b"0.5\n" * (HUGE // 4)
    assert _send(_http(faulty, "huge-chunked", max_reply_bytes=HUGE)) == b"0.5\n" * (HUGE // 4)


def test_a_batch_whose_reply_is_too_large_is_split_until_the_replies_fit(faulty):
    """A reply over the limit is the batch's size: halves get shorter replies."""

    class Sized(BaseHTTPRequestHandler):  # 100 bytes of reply per record
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            lines = self.rfile.read(int(self.headers["Content-Length"])).decode().split("\n")
            reply = "\n".join(("0.25" + " " * 95) for _ in lines).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sized)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with HttpTransport(f"http://127.0.0.1:{server.server_address[1]}/invocations",
                           max_reply_bytes=1000) as transport:
            batcher = Batcher(transport, CsvRequest(), CsvScores(), max_records=40, concurrency=1)
            scores = batcher.predict(np.arange(80.0).reshape(40, 2)).scores
    finally:
        server.shutdown()
        server.server_close()
    np.testing.assert_array_equal(scores, np.full((40, 1), 0.25))
    assert batcher.stats.splits >= 3  # 40 -> 20 -> 10 records, whose 1000-byte reply fits


# -- a reply that never ends ----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["http", "boto3"])
def test_a_dripping_reply_ends_at_the_request_deadline(runtime, kind):
    """One byte every 0.25 s (40 in all): the 1 s per-read timeout never fires, the 1.5 s deadline does."""
    transport = TRANSPORTS[kind](runtime, "drip", timeout=1.0, deadline=1.5)
    with pytest.raises(TransportError) as info:
        _send(transport)
    err = info.value
    assert (err.status, err.code) == (None, "Timeout")
    assert ("the request did not complete within the 1.5 s request deadline (--request-deadline, "
            "ClientOptions.request_deadline)") in str(err)
    assert runtime.sent["drip"] < 40


def test_headers_dripping_in_end_at_the_request_deadline(faulty):
    with pytest.raises(TransportError) as info:
        _send(_http(faulty, "drip-headers", timeout=1.0, deadline=1.5))
    assert info.value.code == "Timeout" and "1.5 s request deadline" in str(info.value)
    assert faulty.sent["drip-headers"] < 55


def test_the_deadline_defaults_to_twice_the_timeout_and_leaves_connections_reusable(faulty):
    transport = _http(faulty, "ok", timeout=3.0, pool_size=1)
    assert transport.deadline == 6.0
    for _ in range(3):
        assert transport.send(b"1", content_type="text/csv", accept="text/csv") == b"0.5\n"
    assert transport._connections.opened == 1
    transport.close()
    assert transport.send(b"1", content_type="text/csv", accept="text/csv") == b"0.5\n"  # usable after close
    transport.close()


def test_the_watchdog_thread_ends_when_idle_and_comes_back_for_the_next_request(faulty, monkeypatch):
    import clarify_engine.predict._http as http_module

    monkeypatch.setattr(http_module, "_IDLE_SECONDS", 0.05)
    transport = _http(faulty, "ok", timeout=1.0, deadline=1.5)
    assert transport.send(b"1", content_type="text/csv", accept="text/csv") == b"0.5\n"
    thread = transport._watchdog._thread
    assert thread is not None
    thread.join(timeout=30)
    assert not thread.is_alive() and transport._watchdog._thread is None
    transport.url = f"{faulty.url}/invocations/drip"  # for the message only
    transport._path = "/invocations/drip"
    with pytest.raises(TransportError, match="1.5 s request deadline"):  # a new thread enforces it
        transport.send(b"1", content_type="text/csv", accept="text/csv")
    transport.close()


def test_client_options_carry_the_limits_to_both_transports(runtime):
    config = ModelSpec(endpoint_name="ok", content_type="text/csv", accept_type="text/csv")
    options = ClientOptions(timeout=4.0, max_reply_bytes=1234, request_deadline=5.0)
    with make_predictor(config, ["a", "b"], f"{runtime.url}/invocations/ok", options) as predictor:
        transport = predictor.batcher.transport
        assert (transport.timeout, transport.deadline, transport.max_reply_bytes) == (4.0, 5.0, 1234)
    with make_predictor(config, ["a", "b"], None, ClientOptions(timeout=4.0)) as predictor:
        transport = predictor.batcher.transport
        assert (transport.deadline, transport.max_reply_bytes) == (8.0, 8_000_000)
        assert transport.client.meta.config.read_timeout == 4.0


@pytest.mark.parametrize("kwargs, message", [
    ({"max_reply_bytes": 0}, "ClientOptions.max_reply_bytes: expected an int >= 1 (bytes; --max-reply-mb in MB on "
                             "the command line), found 0"),
    ({"request_deadline": 0}, "ClientOptions.request_deadline: expected seconds > 0 (--request-deadline), or None "
                              "for twice the timeout; found 0"),
    ({"timeout": -1}, "ClientOptions.timeout: expected seconds > 0 (--timeout), found -1"),
])
def test_client_options_reject_bad_limits(kwargs, message):
    with pytest.raises(ConfigError) as info:
        ClientOptions(**kwargs)
    assert str(info.value) == message


# -- a reply cut off mid-body -------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["http", "boto3"])
def test_a_reply_cut_off_mid_body_is_a_connection_error_on_both_paths(runtime, kind):
    with pytest.raises(TransportError) as info:
        _send(TRANSPORTS[kind](runtime, "cut", timeout=5))
    assert (info.value.status, info.value.code) == (None, "ConnectionError")
    assert RetryPolicy().should_retry(info.value, attempt=1)


@pytest.mark.parametrize("kind", ["http", "boto3"])
def test_the_batcher_retries_a_cut_off_reply_on_both_paths(runtime, kind):
    runtime.cut_first = 2
    transport = TRANSPORTS[kind](runtime, "cut", timeout=5)
    try:
        batcher = Batcher(transport, CsvRequest(), CsvScores(), max_records=10, concurrency=1,
                          retry=RetryPolicy(base=0.01, cap=0.02))
        scores = batcher.predict(np.arange(20.0).reshape(10, 2)).scores
    finally:
        transport.close()
    np.testing.assert_array_equal(scores, np.full((10, 1), 0.25))
    assert (batcher.stats.retries, batcher.stats.splits) == (2, 0)
    assert runtime.hits["cut"] == 3


# -- credentials in the URL -------------------------------------------------------------------
CREDENTIALED = "http://clarify:p%40ss%20word@127.0.0.1:{port}"


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown(faulty):
    url = CREDENTIALED.format(port=faulty.server_address[1]) + "/invocations/auth"
    transport = HttpTransport(url, timeout=5)
    with pytest.raises(TransportError) as info:  # authorised: the model itself fails (500)
        _send(transport)
    assert info.value.status == 500 and "model exploded" in str(info.value)
    shown = f"http://***@127.0.0.1:{faulty.server_address[1]}/invocations/auth"
    assert transport.url == shown and shown in str(info.value) and shown in repr(transport)
    for text in (str(info.value), repr(transport)):
        assert "p%40ss" not in text and "clarify:" not in text
    transport.ping()  # /ping gets the credentials too
    with pytest.raises(TransportError) as info:  # without them, the server refuses
        _send(_http(faulty, "auth", timeout=5))
    assert info.value.status == 401


def test_connection_errors_and_pings_do_not_show_credentials(faulty):
    with pytest.raises(TransportError) as info:
        ping(CREDENTIALED.format(port=faulty.server_address[1]).replace("clarify:", "wrong:"))
    assert info.value.status == 401 and "***@127.0.0.1" in str(info.value) and "p%40ss" not in str(info.value)
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()
    with pytest.raises(TransportError) as info:
        _send(HttpTransport(CREDENTIALED.format(port=port) + "/invocations", timeout=2))
    assert info.value.code == "ConnectionError"
    assert "***@127.0.0.1" in str(info.value) and "p%40ss" not in str(info.value)
    with pytest.raises(ValueError) as info:
        HttpTransport("ftp://clarify:p%40ss@host/invocations")
    assert "ftp://***@host/invocations" in str(info.value) and "p%40ss" not in str(info.value)


@pytest.mark.parametrize("url, shown", [
    ("http://u:p@h:1/x?q=1", "http://***@h:1/x?q=1"),
    ("https://token@h/x", "https://***@h/x"),
    ("http://u:p@ss@h/x", "http://***@h/x"),
    ("http://h:1/x", "http://h:1/x"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_botocore_messages_naming_a_credentialed_endpoint_url_are_redacted(runtime, monkeypatch):
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", CREDENTIALED.format(port=port))
    with pytest.raises(TransportError) as info:
        _send(_boto("x", timeout=2))
    assert info.value.code == "ConnectionError"
    assert str(info.value) == (f'endpoint x: connection failed: Could not connect to the endpoint URL: '
                               f'"http://***@127.0.0.1:{port}/endpoints/x/invocations"')


@pytest.mark.parametrize("text, shown", [
    ('failed: "http://u:p@h:1/x" and https://t@h2/y.', 'failed: "http://***@h:1/x" and https://***@h2/y.'),
    ("no URL, a mail: someone@example.com", "no URL, a mail: someone@example.com"),
])
def test_transport_errors_redact_any_url_in_their_message(text, shown):
    assert str(TransportError(text)) == shown


def test_make_predictor_describes_the_server_without_credentials(faulty):
    config = ModelSpec(content_type="text/csv", accept_type="text/csv")
    url = CREDENTIALED.format(port=faulty.server_address[1]) + "/invocations/auth"
    with make_predictor(config, ["a"], url) as predictor:
        assert predictor.description == f"model server http://***@127.0.0.1:{faulty.server_address[1]}/invocations/auth"
        predictor.batcher.retry = RetryPolicy(max_attempts=2, base=0.01, cap=0.01)
        with pytest.raises(ModelError) as info:  # authorised, then the model fails: HTTP 500
            predictor.predict(np.zeros((1, 1)))
    assert "***@" in str(info.value) and "p%40ss" not in str(info.value) and "clarify:" not in str(info.value)
    assert json.dumps(predictor.description).count("***") == 1


# -- the command line -------------------------------------------------------------------------
def _small_job(tmp_path, rows: int = 2):
    data = tmp_path / "data.csv"
    data.write_text("y,a\n" + "".join(f"{i % 2},{i}\n" for i in range(rows)))
    config = tmp_path / "analysis_config.json"
    config.write_text(json.dumps({
        "dataset_type": "text/csv", "headers": ["y", "a"], "label": "y", "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "a", "value_or_threshold": [0]}],
        "methods": {"post_training_bias": {"methods": ["DPPL"]}},
        "predictor": {"content_type": "text/csv", "accept_type": "text/csv"},
    }))
    return ["--config", str(config), "--data", str(data), "--output", str(tmp_path / "out")]


def test_cli_request_deadline_flag(faulty, tmp_path):
    from tests.helpers import run_cli

    proc = run_cli("analyze", *_small_job(tmp_path), "--model", f"{faulty.url}/invocations/drip",
                   "--timeout", "5", "--request-deadline", "0.5", "--max-records", "1")
    assert proc.returncode == 1, proc.stderr
    assert "the request did not complete within the 0.5 s request deadline (--request-deadline" in proc.stderr


def test_cli_max_reply_flag(faulty, tmp_path, capsys):
    from clarify_engine.cli import main
    from tests.helpers import run_cli

    proc = run_cli("analyze", *_small_job(tmp_path), "--model", f"{faulty.url}/invocations/ok",
                   "--max-reply-mb", "0.000002")
    assert proc.returncode == 1, proc.stderr
    assert ("The model failed on row 0 (1 attempt, its request split down to this record): ReplyTooLarge: "
            f"{faulty.url}/invocations/ok: the reply is 4 bytes, over the 2-byte limit on a reply") in proc.stderr
    assert main(["analyze", *_small_job(tmp_path), "--model", f"{faulty.url}/invocations/ok",
                 "--max-reply-mb", "0"]) == 1
    assert ("clarify-engine analyze: error: ClientOptions.max_reply_bytes: expected an int >= 1 (bytes; "
            "--max-reply-mb in MB on the command line), found 0") in capsys.readouterr().err


def test_analyze_takes_the_limits_in_client_options(faulty, tmp_path):
    import clarify_engine

    args = _small_job(tmp_path)
    config, data = args[1], args[3]
    with pytest.raises(ModelError) as info:
        clarify_engine.analyze(config, data=data, model=f"{faulty.url}/invocations/ok",
                               options=ClientOptions(max_reply_bytes=2))
    assert "the reply is 4 bytes, over the 2-byte limit on a reply" in str(info.value)
    with pytest.raises(ModelError) as info:
        clarify_engine.analyze(config, data=data, model=f"{faulty.url}/invocations/drip",
                               options=ClientOptions(timeout=5, request_deadline=0.5, max_records=1))
    assert "the request did not complete within the 0.5 s request deadline" in str(info.value)


def test_cli_never_shows_the_model_urls_credentials(tmp_path):
    """Logs, the run manifest and the model description show ***@ where the credentials were."""
    from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
    from tests.helpers import ServerProcess, run_cli

    config = json.loads(DEMO_CONFIG.read_text())
    config["methods"] = {"post_training_bias": {"methods": ["DPPL"]}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    server = ServerProcess(DEMO_MODEL)
    try:
        model = server.url.replace("http://", "http://clarify:s3cret-token@")
        proc = run_cli("analyze", "--config", str(tmp_path / "config.json"), "--data", str(DEMO_DATA),
                       "--output", str(tmp_path / "out"), "--model", model)
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr
    manifest = (tmp_path / "out" / "run_manifest.json").read_text()
    for text in (proc.stdout, proc.stderr, manifest):
        assert "s3cret" not in text and "clarify:" not in text
    shown = server.url.replace("http://", "http://***@") + "/invocations"
    assert json.loads(manifest)["model"]["description"] == f"model server {shown}"
    assert f"Model: model server {shown}" in proc.stdout + proc.stderr
