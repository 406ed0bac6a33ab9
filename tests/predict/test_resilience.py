"""End to end: Batcher + HttpTransport against a real model server that misbehaves on purpose.

The server is written here, independent of the project's own (stdlib ``http.server`` in a
thread, on 127.0.0.1, HTTP/1.1 keep-alive). It computes score = sigmoid(sum of features) for
each CSV line and, per test, answers bursts of 429/503, sleeps beyond the client's timeout,
drops connections without replying, answers the wrong number of records, refuses bodies
above a byte limit with 413, or fails on one poisoned record.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from clarify_engine.errors import ModelError
from clarify_engine.predict.batching._batcher import FALLBACK_MESSAGE, Batcher
from clarify_engine.predict.codecs import request_codec, response_codec
from clarify_engine.predict.transports._http import HttpTransport
from clarify_engine.predict.batching._retry import RetryPolicy
from tests.predict.test_batching import CsvRequest, CsvScores

pytestmark = pytest.mark.timeout(60)


@dataclass
class Behaviour:
    """How the server misbehaves. Counters count POST requests from 0."""

    burst: int = 0  # the first `burst` requests answer 429 / 503 alternately
    slow: int = 0  # the first `slow` requests sleep `slow_seconds` before answering
    slow_seconds: float = 0.0
    drop: int = 0  # the first `drop` requests get their connection closed, no reply
    short_above: int | None = None  # requests of more records than this lose their last answer
    max_bytes: int | None = None  # bodies above this get 413
    poison: str | None = None  # a request holding this line gets 400
    poison_reply: str | None = None  # ... with this message (default: a float conversion error)
    features: int | None = None  # a request whose lines hold another number of values gets 400
    refuse: str | None = None  # every request gets 400 with this message
    always: int | None = None  # every request answers this status
    retry_after: str | None = None  # the burst's replies carry this Retry-After header
    admit: int | None = None  # requests beyond this many in flight get 429 ThrottlingException
    in_flight: int = 0
    refused: int = 0  # requests refused for being beyond `admit`
    calls: int = 0
    arrivals: list = field(default_factory=list)  # perf_counter() of every POST
    sizes: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def sigmoid_sum(line: str) -> float:
    return 1.0 / (1.0 + math.exp(-sum(float(v) for v in line.split(","))))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, no delayed-ACK stalls
    wbufsize = 1 << 16

    def log_message(self, *args):  # keep test output quiet
        pass

    def reply(self, status: int, text: str, headers: dict | None = None):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, "")

    def do_POST(self):
        b: Behaviour = self.server.behaviour
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with b.lock:
            call = b.calls
            b.calls += 1
            b.arrivals.append(time.perf_counter())
            b.in_flight += 1
            crowded = b.admit is not None and b.in_flight > b.admit
            b.refused += crowded
        try:
            if crowded:
                return self.reply(429, '{"code": "ThrottlingException", "message": "Rate exceeded"}')
            return self.answer(b, call, body)
        finally:
            with b.lock:
                b.in_flight -= 1

    def answer(self, b: "Behaviour", call: int, body: bytes):
        if call < b.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if call < b.slow:
            time.sleep(b.slow_seconds)
        if b.always is not None:
            wait = {"Retry-After": b.retry_after} if b.retry_after is not None else None
            return self.reply(b.always, f"the model is unwell (status {b.always})", wait)
        if call < b.burst:
            wait = {"Retry-After": b.retry_after} if b.retry_after is not None else None
            if call % 2:
                return self.reply(503, "Service Unavailable: try later", wait)
            return self.reply(429, '{"code": "ThrottlingException", "message": "Rate exceeded"}', wait)
        if b.max_bytes is not None and len(body) > b.max_bytes:
            return self.reply(413, f"payload of {len(body)} bytes is over {b.max_bytes}")
        lines = body.decode().split("\n")
        if b.poison is not None and b.poison in lines:
            return self.reply(400, b.poison_reply or f"could not convert string to float: {b.poison!r}")
        if b.refuse is not None:
            return self.reply(400, b.refuse)
        if b.features is not None and lines[0].count(",") + 1 != b.features:
            return self.reply(400, f"X has {lines[0].count(',') + 1} features, but LogisticRegression is "
                                   f"expecting {b.features} features as input.")
        jsonlines = self.headers["Content-Type"] == "application/jsonlines"
        try:
            if jsonlines:  # {"features": [...]} per line -> {"score": p} per line
                scores = [
                    json.dumps({"score": sigmoid_sum(",".join(map(repr, json.loads(line)["features"])))})
                    for line in lines
                ]
            else:
                scores = [repr(sigmoid_sum(line)) for line in lines]
        except (ValueError, KeyError, TypeError) as exc:
            return self.reply(400, f"{type(exc).__name__}: {exc}")
        if b.short_above is not None and len(lines) > b.short_above:
            scores = scores[:-1]
        else:
            with b.lock:
                b.sizes.append(len(lines))  # requests answered in full
        self.reply(200, "\n".join(scores))


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    httpd.behaviour = Behaviour()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def url(httpd) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/invocations"


ROWS = (np.random.default_rng(7).integers(-4, 5, size=(600, 4)) + np.arange(600)[:, None] * 0.001)
ROWS[::7] = ROWS[3]  # some repeated rows
EXPECTED = 1.0 / (1.0 + np.exp(-ROWS.sum(axis=1)))


def run(httpd, *, timeout=5.0, **kwargs) -> tuple[np.ndarray, Batcher]:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=5, base=0.01, cap=0.1))
    kwargs.setdefault("max_records", 50)
    with HttpTransport(url(httpd), timeout=timeout, pool_size=8) as transport:
        batcher = Batcher(transport, CsvRequest(), CsvScores(), **kwargs)
        output = batcher.predict(ROWS)
    return output.scores[:, 0], batcher


def test_well_behaved(server):
    started = time.perf_counter()
    scores, batcher = run(server)
    np.testing.assert_allclose(scores, EXPECTED, rtol=0, atol=1e-15)
    assert server.behaviour.calls == batcher.stats.planned_requests
    assert sum(server.behaviour.sizes) == batcher.stats.unique_rows < len(ROWS)
    assert time.perf_counter() - started < 10


def test_bursts_of_429_and_503_are_retried(server):
    server.behaviour.burst = 6
    baseline = EXPECTED
    scores, batcher = run(server, concurrency=2)
    np.testing.assert_array_equal(scores, run_clean_scores(baseline))
    assert batcher.stats.retries == 6
    assert batcher.stats.splits == 0


def test_retry_after_is_waited_out(server):
    """429 then 503, each saying Retry-After: 0.4 s; the backoff alone would wait under 0.1 s."""
    server.behaviour.burst = 2
    server.behaviour.retry_after = "0.4"
    scores, batcher = run(server, concurrency=1)
    np.testing.assert_array_equal(scores, run_clean_scores(EXPECTED))
    arrivals = server.behaviour.arrivals
    assert batcher.stats.retries == 2
    assert arrivals[1] - arrivals[0] >= 0.4 and arrivals[2] - arrivals[1] >= 0.4


@pytest.mark.parametrize("admit", [1, 2])
def test_throttling_lowers_the_concurrency_to_what_the_endpoint_admits(server, admit, caplog):
    """An endpoint that serves `admit` requests at a time and refuses the rest with 429."""
    server.behaviour.admit = admit
    server.behaviour.slow, server.behaviour.slow_seconds = 10**6, 0.01  # requests overlap
    caplog.set_level(logging.INFO, logger="clarify_engine")
    scores, batcher = run(server, concurrency=8, max_records=5)
    np.testing.assert_array_equal(scores, run_clean_scores(EXPECTED))
    planned, refused = batcher.stats.planned_requests, server.behaviour.refused
    assert batcher.stats.splits == 0
    # at full concurrency most attempts would be refused (7 of 8 for admit=1); adapted, few are
    assert refused <= planned / 2, (refused, planned)
    assert batcher.stats.requests_sent == planned + refused
    assert f"at most {admit} request(s) in flight from now on (of 8)" in caplog.text


@pytest.mark.parametrize(
    "status, retry_after, words",
    [(429, None, "HTTP 429: "), (503, "0", "HTTP 503: ")],
    ids=["always-throttled", "always-503-retry-after"],
)
def test_an_endpoint_that_stays_too_busy_fails_without_splitting(server, status, retry_after, words):
    """Smaller requests would only add load: the request is retried, never split, then named."""
    server.behaviour.always = status
    server.behaviour.retry_after = retry_after
    with HttpTransport(url(server), timeout=5) as transport:
        batcher = Batcher(transport, CsvRequest(), CsvScores(), max_records=16, concurrency=2,
                          retry=RetryPolicy(max_attempts=3, throttle_attempts=6, base=0.001, cap=0.01))
        with pytest.raises(ModelError) as info:
            batcher.predict(ROWS[:16])
    message = str(info.value)
    assert "kept refusing the request for 13 records from row 0 as too busy (6 attempts" in message
    assert words in message and "--concurrency" in message
    assert batcher.stats.splits == 0
    assert server.behaviour.calls == 6


def run_clean_scores(expected):
    """The well-behaved answer: what the server computes, repr-round-tripped to float."""
    return np.array([float(repr(float(v))) for v in expected])


def test_slow_replies_beyond_the_timeout_are_split_and_retried(server):
    server.behaviour.slow = 2
    server.behaviour.slow_seconds = 1.5
    started = time.perf_counter()
    scores, batcher = run(server, timeout=0.5, concurrency=2)
    np.testing.assert_array_equal(scores, run_clean_scores(EXPECTED))
    assert batcher.stats.splits == 2  # a timed-out batch is split, not repeated whole
    assert time.perf_counter() - started < 10


def test_slow_single_record_requests_are_retried(server):
    server.behaviour.slow = 2
    server.behaviour.slow_seconds = 1.5
    with HttpTransport(url(server), timeout=0.5) as transport:
        batcher = Batcher(transport, CsvRequest(max_records=1), CsvScores(), concurrency=2,
                          retry=RetryPolicy(base=0.01, cap=0.1))
        scores = batcher.predict(ROWS[:20]).scores[:, 0]
    np.testing.assert_array_equal(scores, run_clean_scores(EXPECTED[:20]))
    assert batcher.stats.retries == 2 and batcher.stats.splits == 0


def test_dropped_connections_are_retried(server):
    server.behaviour.drop = 3
    scores, batcher = run(server, concurrency=3)
    np.testing.assert_array_equal(scores, run_clean_scores(EXPECTED))
    assert batcher.stats.retries >= 3


def test_wrong_record_count_falls_back_to_smaller_requests(server, caplog):
    server.behaviour.short_above = 10
    with caplog.at_level(logging.INFO, logger="clarify_engine"):
        scores, batcher = run(server, concurrency=2)
    np.testing.assert_array_equal(scores, run_clean_scores(EXPECTED))
    assert caplog.text.count(FALLBACK_MESSAGE) == 1
    assert max(server.behaviour.sizes) <= 10


def test_payload_limit_413_is_learned(server):
    server.behaviour.max_bytes = 1000
    scores, batcher = run(server, max_records=None, concurrency=2)
    np.testing.assert_array_equal(scores, run_clean_scores(EXPECTED))
    refused = server.behaviour.calls - len(server.behaviour.sizes)
    assert refused <= 12  # a few halvings, not one refusal per request
    assert batcher.stats.requests_sent == server.behaviour.calls


def test_a_poisoned_record_is_named(server):
    rows = ROWS.copy()
    poison_row = 123
    rows[poison_row] = [1.5, 2.5, 3.5, 4.5]
    server.behaviour.poison = "1.5,2.5,3.5,4.5"
    with HttpTransport(url(server), timeout=5) as transport:
        batcher = Batcher(transport, CsvRequest(), CsvScores(), max_records=50, concurrency=2)
        with pytest.raises(ModelError) as info:
            batcher.predict(rows)
    message = str(info.value)
    assert f"row {poison_row}" in message
    assert "HTTP 400" in message and "could not convert string to float" in message


@pytest.mark.parametrize(
    "behaviour, words",
    [
        ({"always": 503}, ["HTTP 503", "the model is unwell", "5 attempts"]),
        ({"slow": 10**6, "slow_seconds": 3.0}, ["Timeout", "no reply"]),
        ({"short_above": 0}, ["expected 1 lines in the reply, found 0", "(1 attempt, its request split"]),
    ],
    ids=["always-503", "always-slow", "always-short"],
)
def test_persistent_faults_fail_quickly_naming_the_fault(server, behaviour, words):
    for key, value in behaviour.items():
        setattr(server.behaviour, key, value)
    started = time.perf_counter()
    with HttpTransport(url(server), timeout=0.3) as transport:
        batcher = Batcher(
            transport,
            CsvRequest(),
            CsvScores(),
            max_records=8,
            concurrency=2,
            retry=RetryPolicy(max_attempts=5, base=0.01, cap=0.05),
        )
        with pytest.raises(ModelError) as info:
            batcher.predict(ROWS[:16])
    for word in words:
        assert word in str(info.value)
    assert time.perf_counter() - started < 30


def test_nothing_listening_is_a_connection_error(server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with HttpTransport(f"http://127.0.0.1:{port}/invocations", timeout=1) as transport:
        batcher = Batcher(transport, CsvRequest(), CsvScores(),
                          retry=RetryPolicy(max_attempts=2, base=0.01, cap=0.01))
        with pytest.raises(ModelError, match="Connection refused"):
            batcher.predict(ROWS[:4])


@pytest.mark.parametrize("content_type", ["text/csv", "application/jsonlines"])
def test_real_codecs_through_a_mix_of_faults(server, content_type, caplog):
    names = ["a", "b", "c", "d"]
    template = '{"features":$features}' if content_type == "application/jsonlines" else None
    probability = "score" if content_type == "application/jsonlines" else None
    b = server.behaviour
    b.burst, b.drop, b.short_above, b.max_bytes = 3, 5, 40, 3000
    with HttpTransport(url(server), timeout=5, pool_size=4) as transport:
        batcher = Batcher(
            transport,
            request_codec(content_type, feature_names=names, content_template=template),
            response_codec(content_type, probability=probability),
            concurrency=4,
            max_records=100,
            retry=RetryPolicy(base=0.01, cap=0.1),
        )
        with caplog.at_level(logging.INFO, logger="clarify_engine"):
            scores = batcher.predict(ROWS).scores
    np.testing.assert_array_equal(scores.ravel(), run_clean_scores(EXPECTED))
    assert caplog.text.count(FALLBACK_MESSAGE) == 1
    assert batcher.stats.retries >= 3
    assert max(b.sizes) <= 40


# -- pipelined encoding over a real socket ---------------------------------------------------


def test_small_chunks_with_413_learning_and_repeats_across_chunks(server):
    server.behaviour.max_bytes = 400
    scores, batcher = run(server, max_records=None, concurrency=3, chunk_rows=16)
    np.testing.assert_array_equal(scores, run_clean_scores(EXPECTED))
    stats = batcher.stats
    assert sum(server.behaviour.sizes) == stats.unique_rows == len(np.unique(ROWS, axis=0))
    refused = server.behaviour.calls - len(server.behaviour.sizes)
    assert refused <= 12  # the ceiling learnt in one chunk holds for the later ones
    assert stats.requests_sent == server.behaviour.calls


def test_a_poisoned_record_in_a_late_chunk_is_named_while_earlier_chunks_are_in_flight(server):
    rows = ROWS.copy()
    rows[555] = [1.5, 2.5, 3.5, 4.5]
    server.behaviour.poison = "1.5,2.5,3.5,4.5"
    server.behaviour.slow, server.behaviour.slow_seconds = 10**6, 0.01  # requests overlap
    with HttpTransport(url(server), timeout=5, pool_size=4) as transport:
        batcher = Batcher(transport, CsvRequest(), CsvScores(), max_records=10, concurrency=4,
                          chunk_rows=8)
        with pytest.raises(ModelError) as info:
            batcher.predict(rows)
    assert "row 555" in str(info.value) and "HTTP 400" in str(info.value)


# -- refusals no smaller request can fix ------------------------------------------------------


@pytest.mark.parametrize("as_frame", [False, True], ids=["array", "dataframe"])
def test_extra_columns_fail_once_with_the_reply_the_columns_and_the_fix(server, as_frame):
    """Every record has a column too many: one record alone is refused alike, so the request
    is not split down to single records (2 requests, not log2(50) + 1)."""
    import pandas as pd

    server.behaviour.features = 3
    rows = ROWS[:50]  # one planned request of its 42 distinct records
    rows = pd.DataFrame(rows, columns=["Age", "Income", "CustomerId", "Score"]) if as_frame else rows
    with HttpTransport(url(server), timeout=5) as transport:
        batcher = Batcher(transport, CsvRequest(), CsvScores(), max_records=50, concurrency=1)
        with pytest.raises(ModelError) as info:
            batcher.predict(rows)
    columns = ", from the columns Age, Income, CustomerId, Score" if as_frame else ""
    assert str(info.value) == (
        f"The model refused the request for 42 records from row 0, and row 0 sent alone, the same way: HTTP 400: "
        f"{url(server)} answered HTTP 400: X has 4 features, but LogisticRegression is expecting 3 features as "
        f"input. Each record sent has 4 value(s){columns}; the reply speaks of the number of features or "
        "columns, so every record would be refused and the request was not split down to single records. If the "
        "model was trained on fewer columns, list the others in the config's excluded_columns; otherwise make "
        "predictor.content_type and predictor.content_template send what the model reads."
    )
    assert server.behaviour.calls == batcher.stats.requests_sent == 2
    assert batcher.stats.splits == 0


def test_a_content_type_refusal_fails_once_naming_content_type(server):
    server.behaviour.refuse = "Unsupported content type: text/csv; this model reads application/json"
    with HttpTransport(url(server), timeout=5) as transport:
        batcher = Batcher(transport, CsvRequest(), CsvScores(), max_records=50, concurrency=1)
        with pytest.raises(ModelError) as info:
            batcher.predict(ROWS[:50])
    assert str(info.value).endswith(
        "Each record sent has 4 value(s); the reply speaks of the request's content type, so every record would be "
        "refused and the request was not split down to single records. Set predictor.content_type to a format the "
        "model reads (and predictor.accept_type to one it writes); a JSON model may also need "
        "predictor.content_template."
    )
    assert "HTTP 400: Unsupported content type: text/csv; this model reads application/json" in str(info.value)
    assert server.behaviour.calls == 2


def test_a_refusal_that_speaks_of_columns_but_spares_the_first_record_still_finds_the_row(server, caplog):
    """The check on one record answers: the fault is in some records, found by splitting."""
    rows = ROWS.copy()
    rows[37] = [1.5, 2.5, 3.5, 4.5]
    server.behaviour.poison = "1.5,2.5,3.5,4.5"
    server.behaviour.poison_reply = "column 3 has a value out of range: expected at most 4, got 4.5"
    with HttpTransport(url(server), timeout=5) as transport:
        batcher = Batcher(transport, CsvRequest(), CsvScores(), max_records=50, concurrency=1)
        with caplog.at_level(logging.INFO, logger="clarify_engine"), pytest.raises(ModelError) as info:
            batcher.predict(rows)
    assert str(info.value).startswith("The model failed on row 37 (1 attempt, its request split down to this record): "
                                      "HTTP 400: ")
    assert "expected at most 4, got 4.5" in str(info.value)
    assert caplog.text.count(FALLBACK_MESSAGE) == 1


def test_extra_columns_reaching_the_project_model_server_name_excluded_columns(tmp_path):
    """End to end: the demo data with an ID column the model was not trained on, sent to the
    project's model server by clarify_engine.analyze; then the same job with excluded_columns."""
    import pandas as pd

    import clarify_engine
    from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
    from tests.helpers import ServerProcess

    data = pd.read_csv(DEMO_DATA).head(300)
    data.insert(1, "CustomerId", range(len(data)))
    path = tmp_path / "loans.csv"
    data.to_csv(path, index=False)
    config = json.loads(DEMO_CONFIG.read_text())
    config["headers"] = list(data.columns)
    config["methods"] = {"post_training_bias": {"methods": ["DPPL"]}}
    server = ServerProcess(DEMO_MODEL)
    try:
        with pytest.raises(ModelError) as info:
            clarify_engine.analyze(config, data=str(path), model=server.url)
        message = str(info.value)
        assert "answered HTTP 400: records have 7 feature values; the model expects 6" in message
        assert "Each record sent has 7 value(s), from the columns CustomerId, Age, Gender," in message
        assert "list the others in the config's excluded_columns" in message
        config["excluded_columns"] = ["CustomerId"]
        result = clarify_engine.analyze(config, data=str(path), model=server.url)
    finally:
        server.stop()
    assert result.analysis["post_training_bias_metrics"]["facets"]
