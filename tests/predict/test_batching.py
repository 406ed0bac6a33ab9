"""Batcher against a scripted in-memory transport: packing, dedupe, order, retries, splitting.

The transport here is a plain Python object with ``send``: it computes a deterministic model
(score = sigmoid(sum of features)) from the CSV body and misbehaves according to a script.
The codecs are minimal test-only CSV codecs, so that these tests do not depend on the real
ones; the end-to-end tests (``test_resilience.py``) use the real HTTP transport.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clarify_engine.errors import ModelError
from clarify_engine.predict._base import ModelOutput, TransportError
from clarify_engine.predict.batching._batcher import FALLBACK_MESSAGE, Batcher
from clarify_engine.predict.codecs import request_codec, response_codec
from clarify_engine.predict.transports._mock import MockTransport
from clarify_engine.predict.batching._retry import RetryPolicy

pytestmark = pytest.mark.timeout(60)


# -- test doubles -----------------------------------------------------------------------------


class CsvRequest:
    """Minimal CSV request codec: one line per record, ``repr`` of each value."""

    content_type = "text/csv"

    def __init__(self, max_records=None, prefix=b""):
        self.max_records = max_records
        self.prefix = prefix  # template text, to exercise the fixed overhead

    def encode_records(self, rows):
        rows = rows.to_numpy() if hasattr(rows, "to_numpy") else rows  # a DataFrame's records
        return [",".join(repr(float(v)) for v in row).encode() for row in rows]

    separator = b"\n"

    def join(self, pieces):
        return self.prefix + b"\n".join(pieces)

    def wrap(self, records):
        return self.prefix + records

    def overhead(self):
        return len(self.prefix)


class CsvScores:
    """Minimal CSV response codec: one line per record, comma-separated scores."""

    accept_type = "text/csv"

    def decode(self, body, n_records):
        text = body.decode().strip()
        lines = text.split("\n") if text else []
        if len(lines) != n_records:
            raise ModelError(f"expected {n_records} lines in the reply, found {len(lines)}")
        try:
            scores = np.array([[float(x) for x in line.split(",")] for line in lines])
        except ValueError as exc:
            raise ModelError(f"unreadable reply: {exc}") from exc
        return ModelOutput(labels=(scores[:, 0] > 0.5).astype(np.int64), scores=scores)


def model(rows) -> np.ndarray:
    """The reference model: sigmoid of the sum of the features, shape (n, 1)."""
    x = np.asarray(rows, dtype=float)
    return (1.0 / (1.0 + np.exp(-x.sum(axis=1))))[:, None]


class ScriptedTransport(MockTransport):
    """A :class:`MockTransport` computing :func:`model` from CSV bodies; ``script(call, records)`` may misbehave.

    ``script`` returns None (answer normally), an exception to raise, or ``"drop"`` (answer
    with the last record missing). ``records`` is the list of parsed records of the body.
    """

    def __init__(self, script=None, delay=0.0, prefix=b""):
        super().__init__(self._answer)
        self.script = script
        self.delay = delay
        self.prefix = prefix
        self.lock = threading.Lock()
        self._next_call = 0

    @property
    def bodies(self) -> list[bytes]:
        return [r.body for r in self.requests]

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [(r.content_type, r.accept) for r in self.requests]

    def _answer(self, body, content_type, accept):
        with self.lock:
            call, self._next_call = self._next_call, self._next_call + 1
        if self.delay:
            time.sleep(self.delay)
        text = body[len(self.prefix):].decode()
        records = [[float(v) for v in line.split(",")] for line in text.split("\n")]
        action = self.script(call, records) if self.script else None
        if isinstance(action, BaseException):
            raise action
        scores = model(records)[:, 0]
        if action == "drop":
            scores = scores[:-1]
        return "\n".join(repr(float(s)) for s in scores)

    def records_sent(self) -> int:
        return sum(len(b[len(self.prefix):].split(b"\n")) for b in self.bodies)


def make(transport, request=None, **kwargs):
    kwargs.setdefault("sleep", lambda s: None)
    return Batcher(transport, request or CsvRequest(), CsvScores(), **kwargs)


def rows_of(n, d=3, seed=0, distinct=None):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=(n, d)).astype(float)
    if distinct is not None:  # force exactly the first `distinct` rows to repeat
        x[:distinct] = np.arange(distinct * d).reshape(distinct, d) / 10
        x[distinct:] = x[rng.integers(0, distinct, size=n - distinct)]
    return x


def check(output, rows):
    expected = model(rows)
    np.testing.assert_array_equal(output.scores, expected)
    np.testing.assert_array_equal(output.labels, (expected[:, 0] > 0.5).astype(np.int64))


# -- well-behaved -----------------------------------------------------------------------------


def test_answers_in_input_order_with_requests_within_limits():
    rows = rows_of(2500, distinct=None, seed=1) + np.arange(2500)[:, None] * 10  # all distinct
    transport = ScriptedTransport(delay=0.001)
    batcher = make(transport, max_records=300, concurrency=4)
    check(batcher.predict(rows), rows)
    assert batcher.stats.planned_requests == 9 == transport.calls
    assert batcher.stats.requests_sent == 9
    assert batcher.stats.retries == batcher.stats.splits == 0
    assert all(len(b.split(b"\n")) <= 300 for b in transport.bodies)
    assert transport.headers[0] == ("text/csv", "text/csv")


def test_identical_rows_are_sent_once():
    rows = rows_of(1000, distinct=37, seed=2)
    transport = ScriptedTransport()
    batcher = make(transport)
    check(batcher.predict(rows), rows)
    assert transport.records_sent() == 37
    assert (batcher.stats.rows, batcher.stats.unique_rows) == (1000, 37)
    assert batcher.stats.rows_done == 37


def test_bodies_stay_within_the_byte_limit():
    rows = rows_of(400, seed=3) + np.arange(400)[:, None] * 10
    transport = ScriptedTransport(prefix=b"PREFIX\n")
    batcher = make(transport, CsvRequest(prefix=b"PREFIX\n"), max_payload_bytes=700, max_records=None)
    check(batcher.predict(rows), rows)
    assert max(len(b) for b in transport.bodies) <= 700
    assert transport.records_sent() == 400


def test_greedy_packing_is_tight_with_one_worker():
    rows = rows_of(400, seed=3) + np.arange(400)[:, None] * 10
    request = CsvRequest(prefix=b"PREFIX\n")
    transport = ScriptedTransport(prefix=b"PREFIX\n")
    limit = 700
    make(transport, request, max_payload_bytes=limit, max_records=None, concurrency=1).predict(rows)
    pieces = request.encode_records(rows)
    at = 0
    for body in transport.bodies[:-1]:
        n = len(body[7:].split(b"\n"))
        assert len(body) == 7 + sum(len(p) for p in pieces[at:at + n]) + n - 1
        assert len(body) + 1 + len(pieces[at + n]) > limit
        at += n


def test_codec_record_limit_wins():
    rows = rows_of(20, seed=4) + np.arange(20)[:, None] * 10
    transport = ScriptedTransport()
    batcher = make(transport, CsvRequest(max_records=1), max_records=1000)
    check(batcher.predict(rows), rows)
    assert transport.calls == 20 == batcher.stats.planned_requests


def test_requests_run_concurrently():
    rows = rows_of(64, seed=5) + np.arange(64)[:, None] * 10
    transport = ScriptedTransport(delay=0.05)
    batcher = make(transport, max_records=4, concurrency=4)
    started = time.perf_counter()
    check(batcher.predict(rows), rows)
    assert transport.max_in_flight == 4
    assert time.perf_counter() - started < 16 * 0.05  # serial would take 16 x 50 ms


def test_dataframes_go_to_the_real_codec_unchanged():
    rows = rows_of(50, seed=6)
    frame = pd.DataFrame({"a": rows[:, 0].astype(int), "b": rows[:, 1], "c": rows[:, 2]})
    codec = request_codec("text/csv", feature_names=["a", "b", "c"])
    transport = ScriptedTransport()
    output = Batcher(transport, codec, response_codec("text/csv"), sleep=lambda s: None).predict(frame)
    np.testing.assert_allclose(output.scores, model(rows), rtol=0, atol=1e-15)


def test_sequences_of_records():
    rows = rows_of(50, seed=6)
    check(make(ScriptedTransport()).predict(rows.tolist()), rows)
    check(make(ScriptedTransport()).predict(tuple(map(tuple, rows))), rows)


def test_empty_input_sends_nothing():
    transport = ScriptedTransport()
    output = make(transport).predict(np.empty((0, 3)))
    assert output.labels is None and output.scores is None and len(output) == 0
    assert transport.calls == 0


def test_one_dimensional_array_is_refused():
    with pytest.raises(ModelError, match=r"2-D array.*found 1 dimension"):
        make(ScriptedTransport()).predict(np.arange(5.0))


def test_logs_the_plan_and_the_summary(caplog):
    rows = rows_of(100, distinct=10, seed=7)
    with caplog.at_level(logging.INFO, logger="clarify_engine"):
        make(ScriptedTransport(), max_records=4).predict(rows)
    text = caplog.text
    assert "Sending 100 rows (10 unique) to the model in 3 requests" in text
    assert "Predicted 100 rows (10 unique)" in text


def test_progress_callback_and_log_lines(caplog):
    rows = rows_of(40, seed=8) + np.arange(40)[:, None] * 10
    seen = []
    batcher = make(
        ScriptedTransport(delay=0.03),
        max_records=2,
        concurrency=2,
        on_progress=lambda done, total: seen.append((done, total)),
        progress_interval=0.1,
    )
    with caplog.at_level(logging.INFO, logger="clarify_engine"):
        batcher.predict(rows)
    assert seen[-1] == (40, 40)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    progress = [r.message for r in caplog.records if r.message.startswith("Predictions:")]
    assert progress and "rows/s, ETA" in progress[0]


def test_record_larger_than_the_limit_names_its_row():
    rows = np.zeros((5, 3))
    rows[3] = [123456789.125, 0.123456789012345, -7.5]  # 36 bytes, the others 11
    transport = ScriptedTransport()
    with pytest.raises(ModelError, match=r"Row 3 alone makes a request of 36 bytes, more than the 25-byte"):
        make(transport, max_payload_bytes=25).predict(rows)
    assert transport.calls == 0


# -- misbehaving ------------------------------------------------------------------------------


def test_transient_errors_are_retried_with_exact_backoff():
    rows = rows_of(10, seed=9) + np.arange(10)[:, None] * 10
    faults = {0: TransportError("busy", status=503), 1: TransportError("slow down", status=429),
              2: TransportError("reset by peer", code="ConnectionError")}
    transport = ScriptedTransport(script=lambda call, recs: faults.get(call))
    sleeps = []
    batcher = make(transport, concurrency=1, sleep=sleeps.append, random=lambda: 0.5,
                   retry=RetryPolicy(max_attempts=5, base=0.1, cap=20))
    check(batcher.predict(rows), rows)
    assert sleeps == pytest.approx([0.05, 0.1, 0.2])
    assert batcher.stats.retries == 3 and batcher.stats.splits == 0
    assert transport.calls == 4


def test_exhausted_retries_split_and_log_the_fallback_once(caplog):
    rows = rows_of(16, seed=10) + np.arange(16)[:, None] * 10

    def script(call, recs):  # requests of more than 4 records always fail
        return TransportError("overloaded", status=503) if len(recs) > 4 else None

    transport = ScriptedTransport(script=script)
    batcher = make(transport, concurrency=1, retry=RetryPolicy(max_attempts=2))
    with caplog.at_level(logging.INFO, logger="clarify_engine"):
        check(batcher.predict(rows), rows)
    assert caplog.text.count(FALLBACK_MESSAGE) == 1
    assert "HTTP 503: overloaded" in caplog.text
    # 16 -> 8+8 -> 4 x 4: 1 + 2 failing requests (2 attempts each), then 4 good ones
    assert batcher.stats.splits == 3
    assert transport.calls == 3 * 2 + 4


def test_payload_too_large_teaches_a_ceiling():
    rows = rows_of(200, seed=11) + np.arange(200)[:, None] * 10
    limit = 400

    class Limited(ScriptedTransport):
        def send(self, body, *, content_type, accept):
            if len(body) > limit:
                with self.lock:
                    self.refused = getattr(self, "refused", 0) + 1
                raise TransportError(f"{len(body)} bytes > {limit}", status=413)
            return super().send(body, content_type=content_type, accept=accept)

    transport = Limited()
    batcher = make(transport, concurrency=1)
    check(batcher.predict(rows), rows)
    assert all(len(b) <= limit for b in transport.bodies)
    # one refusal per halving of the ceiling (3204 -> 1602 -> 801 -> 400 bytes), then every
    # request is packed under the learned ceiling instead of being refused each time
    assert transport.refused <= 4
    optimal = -(-sum(len(b) for b in transport.bodies) // limit)
    assert len(transport.bodies) <= 2 * optimal + 1
    assert batcher.stats.requests_sent == len(transport.bodies) + transport.refused


def test_wrong_record_count_is_split_until_it_fits():
    rows = rows_of(12, seed=12) + np.arange(12)[:, None] * 10
    transport = ScriptedTransport(script=lambda call, recs: "drop" if len(recs) > 3 else None)
    batcher = make(transport, concurrency=1)
    check(batcher.predict(rows), rows)
    assert batcher.stats.retries == 0  # a short reply is not retried as such
    assert batcher.stats.splits == 3  # 12 -> 6+6 -> 3+3+3+3


def test_a_bad_record_stops_the_run_naming_its_row():
    rows = rows_of(100, seed=13) + np.arange(100)[:, None] * 10
    rows[57] = [9.0, 9.0, 9.0]
    rows[80] = [9.0, 9.0, 9.0]  # same record again: reported at its first row

    def script(call, recs):
        if [9.0, 9.0, 9.0] in recs:
            return TransportError("could not convert string to float: 'x'", status=400)
        return None

    transport = ScriptedTransport(script=script)
    batcher = make(transport, concurrency=1)
    with pytest.raises(ModelError) as info:
        batcher.predict(rows)
    message = str(info.value)
    assert "row 57" in message and "HTTP 400" in message and "could not convert string" in message
    assert "split down to this record" in message
    assert transport.calls <= 2 * 8  # depth-first bisection, not one call per record


def test_a_failing_single_record_request_reports_its_attempts():
    rows = np.array([[1.0, 2.0], [3.0, 4.0]])
    transport = ScriptedTransport(
        script=lambda call, recs: TransportError("busy", status=503) if recs == [[3.0, 4.0]] else None
    )
    batcher = make(transport, CsvRequest(max_records=1), concurrency=1, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(ModelError, match=r"row 1 \(3 attempts\): HTTP 503: busy"):
        batcher.predict(rows)


def test_fatal_errors_are_neither_retried_nor_split():
    rows = rows_of(50, seed=14) + np.arange(50)[:, None] * 10
    transport = ScriptedTransport(
        script=lambda call, recs: TransportError("Endpoint foo not found.", status=400, code="ValidationError")
    )
    batcher = make(transport, concurrency=1, max_records=10)
    with pytest.raises(ModelError) as info:
        batcher.predict(rows)
    message = str(info.value)
    assert "10 records from row 0" in message
    assert "HTTP 400 ValidationError: Endpoint foo not found." in message
    assert transport.calls == 1


def test_a_failure_stops_the_other_workers_quickly():
    rows = rows_of(400, seed=15) + np.arange(400)[:, None] * 10
    transport = ScriptedTransport(
        delay=0.02,
        script=lambda call, recs: TransportError("denied", status=403) if call == 3 else None,
    )
    batcher = make(transport, concurrency=4, max_records=2, sleep=None)
    with pytest.raises(ModelError, match="HTTP 403: denied"):
        batcher.predict(rows)
    assert transport.calls < 20  # of 200 planned


def test_backoff_waits_end_when_the_run_fails():
    rows = rows_of(8, seed=16) + np.arange(8)[:, None] * 10

    def script(call, recs):
        if recs[0] == list(rows[0]):
            return TransportError("gone", status=403)
        return TransportError("busy", status=503)

    transport = ScriptedTransport(script=script, delay=0.05)
    batcher = make(transport, CsvRequest(max_records=1), concurrency=2, sleep=None,
                   retry=RetryPolicy(max_attempts=5, base=30, cap=30), random=lambda: 1.0)
    started = time.perf_counter()
    with pytest.raises(ModelError, match="gone"):
        batcher.predict(rows)
    assert time.perf_counter() - started < 5  # not the 30 s backoff


def test_replies_with_different_score_widths_are_an_error():
    rows = rows_of(6, seed=17) + np.arange(6)[:, None] * 10

    class Wider(ScriptedTransport):
        def send(self, body, **kw):
            reply = super().send(body, **kw)
            if self.calls == 2:
                reply = b"\n".join(line + b",0.5" for line in reply.split(b"\n"))
            return reply

    with pytest.raises(ModelError, match="number of scores per record: found 1, 2"):
        make(Wider(), max_records=3, concurrency=1).predict(rows)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"max_payload_bytes": 0}, ValueError, "max_payload_bytes: expected an int >= 1, found 0"),
        ({"max_records": 0}, ValueError, "max_records: expected an int >= 1, found 0"),
        ({"concurrency": 1.5}, TypeError, "concurrency: expected an int >= 1, found 1.5"),
        ({"progress_interval": 0}, ValueError, "progress_interval: expected seconds > 0"),
    ],
)
def test_parameter_validation(kwargs, error, words):
    with pytest.raises(error, match=words):
        make(ScriptedTransport(), **kwargs)


# -- property ---------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 60),
    distinct=st.integers(1, 60),
    max_records=st.one_of(st.none(), st.integers(1, 9)),
    max_bytes=st.integers(60, 400),
    concurrency=st.integers(1, 4),
    fault_seed=st.integers(0, 2**32 - 1),
)
def test_any_mix_of_transient_faults_gives_the_well_behaved_answer(
    n, distinct, max_records, max_bytes, concurrency, fault_seed
):
    rows = rows_of(n, d=2, seed=fault_seed % 1000, distinct=min(distinct, n))
    rng = np.random.default_rng(fault_seed)
    lock = threading.Lock()
    kinds = [
        None, None, None,
        TransportError("busy", status=503),
        TransportError("throttled", status=400, code="ThrottlingException"),
        TransportError("timed out", code="Timeout"),
        TransportError("reset", code="ConnectionError"),
        "drop",
        TransportError("too big", status=413),
    ]

    def script(call, recs):
        with lock:
            kind = kinds[int(rng.integers(len(kinds)))]
        if kind == "drop" and len(recs) == 1:
            return None  # a single record is always answered in full
        if isinstance(kind, TransportError) and kind.status == 413 and len(recs) == 1:
            return None
        return kind

    transport = ScriptedTransport(script=script)
    batcher = make(transport, max_records=max_records, max_payload_bytes=max_bytes,
                   concurrency=concurrency, retry=RetryPolicy(max_attempts=50))
    check(batcher.predict(rows), rows)
    assert batcher.stats.rows_done == batcher.stats.unique_rows


def test_record_template_sends_one_record_per_request_with_real_codecs():
    """A JSON ``$record`` content template allows one record per body; duplicates still go once."""
    import json as _json

    from clarify_engine.predict import request_codec, response_codec

    bodies = []

    class OneRecordServer:
        def send(self, body, *, content_type, accept):
            doc = _json.loads(body)
            bodies.append(doc)
            return _json.dumps({"predictions": [{"score": sum(doc["instance"]["features"])}]}).encode()

        def close(self):
            pass

    req = request_codec("application/json", feature_names=["a", "b"],
                        content_template='{"instance":$record}', record_template='{"features":$features}')
    resp = response_codec("application/json", probability="predictions[*].score")
    out = Batcher(OneRecordServer(), req, resp, concurrency=1).predict([[1, 2], [3, 4], [1, 2]])
    assert out.scores[:, 0].tolist() == [3.0, 7.0, 3.0]
    assert len(bodies) == 2 and all(set(b) == {"instance"} for b in bodies)


# -- pipelined encoding: chunks --------------------------------------------------------------


class CountingRequest(CsvRequest):
    """CsvRequest that records the size of every encode call (one per chunk) and can fail one."""

    def __init__(self, fail_at_row=None, **kwargs):
        super().__init__(**kwargs)
        self.chunks = []
        self.fail_at_row = fail_at_row

    def encode_records(self, rows):
        start = sum(self.chunks)
        self.chunks.append(len(rows))
        if self.fail_at_row is not None and start <= self.fail_at_row < start + len(rows):
            raise ModelError(f"cannot encode row {self.fail_at_row}")
        return super().encode_records(rows)


@pytest.mark.parametrize("chunk_rows", [1, 3, 7, 64])
@pytest.mark.parametrize("max_records, max_bytes", [(5, 10**6), (None, 120), (4, 90)])
def test_chunked_encoding_sends_the_bodies_of_one_pass(chunk_rows, max_records, max_bytes):
    rows = rows_of(150, seed=30, distinct=90)
    whole = ScriptedTransport()
    make(whole, max_records=max_records, max_payload_bytes=max_bytes, concurrency=1,
         chunk_rows=10**6).predict(rows)
    request = CountingRequest()
    chunked = ScriptedTransport()
    batcher = make(chunked, request, max_records=max_records, max_payload_bytes=max_bytes,
                   concurrency=1, chunk_rows=chunk_rows)
    check(batcher.predict(rows), rows)
    assert len(request.chunks) > 1 or chunk_rows >= 150
    # Same packing, chunk boundaries invisible. Compared as multisets: the order in which
    # requests leave is the pool's, not the packer's.
    assert sorted(chunked.bodies) == sorted(whole.bodies)
    assert batcher.stats.planned_requests == len(whole.bodies) == batcher.stats.requests_sent
    assert (batcher.stats.unique_rows, batcher.stats.rows_done) == (90, 90)


def test_rows_are_encoded_chunk_rows_at_a_time():
    """Records given as lists: every row of a chunk is encoded, then compared by its bytes."""
    request = CountingRequest()
    rows = [list(row) for row in rows_of(200, seed=31)]  # a list: not compared as numbers
    batcher = make(ScriptedTransport(), request, chunk_rows=64)
    check(batcher.predict(rows), np.array(rows))
    assert request.chunks == [64, 64, 64, 8]
    assert batcher.stats.unique_rows == len({tuple(row) for row in rows})


@pytest.mark.parametrize("frame", [False, True])
def test_numeric_rows_are_compared_first_and_only_new_ones_encoded(frame):
    rows = rows_of(200, seed=31)  # small integers: many repeats
    request = CountingRequest()
    transport = ScriptedTransport()
    batcher = make(transport, request, chunk_rows=64)
    check(batcher.predict(pd.DataFrame(rows) if frame else rows), rows)
    _, first = np.unique(rows, axis=0, return_index=True)
    new_per_chunk = np.bincount(first // 64, minlength=4)
    assert request.chunks == [int(k) for k in new_per_chunk if k]
    assert batcher.stats.unique_rows == len(first) == sum(body.count(b"\n") + 1 for body in transport.bodies)


def test_rows_repeated_in_later_chunks_are_never_sent_again():
    first = rows_of(30, seed=32) + np.arange(30)[:, None] * 10  # 30 distinct rows
    rng = np.random.default_rng(33)
    rows = np.concatenate([first, first[rng.integers(0, 30, size=170)]])
    transport = ScriptedTransport(delay=0.002)
    batcher = make(transport, max_records=7, concurrency=3, chunk_rows=8)
    check(batcher.predict(rows), rows)
    sent = [line for body in transport.bodies for line in body.split(b"\n")]
    assert len(sent) == len(set(sent)) == 30
    assert (batcher.stats.rows, batcher.stats.unique_rows, batcher.stats.rows_done) == (200, 30, 30)


def test_a_too_large_record_in_a_later_chunk_is_named_before_it_is_sent():
    rows = rows_of(100, seed=34) + np.arange(100)[:, None] * 10
    rows[77] = [123456789.125, 0.123456789012345, -7.5]  # far longer than the others
    bad = b"123456789.125,0.123456789012345,-7.5"
    transport = ScriptedTransport(delay=0.005)
    batcher = make(transport, max_records=3, max_payload_bytes=30, concurrency=2, chunk_rows=10)
    with pytest.raises(ModelError, match=r"Row 77 alone makes a request of 36 bytes, more than the 30-byte"):
        batcher.predict(rows)
    assert transport.calls > 0  # earlier chunks were under way ...
    assert not any(bad in body for body in transport.bodies)  # ... but never the bad record


def test_a_fatal_failure_in_a_later_chunk_stops_encoding_and_sending():
    rows = rows_of(2000, seed=35) + np.arange(2000)[:, None] * 10
    request = CountingRequest()

    def script(call, records):
        return TransportError("denied", status=403) if call == 5 else None

    transport = ScriptedTransport(delay=0.01, script=script)
    batcher = make(transport, request, max_records=10, concurrency=2, chunk_rows=20, sleep=None)
    with pytest.raises(ModelError, match="HTTP 403: denied"):
        batcher.predict(rows)
    assert sum(request.chunks) < 2000  # the rest of the rows were never encoded
    assert transport.calls < 20  # of 200 requests


def test_an_encoding_error_in_a_later_chunk_ends_the_run_after_the_requests_in_flight():
    rows = rows_of(200, seed=36) + np.arange(200)[:, None] * 10
    request = CountingRequest(fail_at_row=150)
    transport = ScriptedTransport(delay=0.02)
    batcher = make(transport, request, max_records=5, concurrency=2, chunk_rows=10)
    with pytest.raises(ModelError, match="cannot encode row 150"):
        batcher.predict(rows)
    assert 0 < transport.calls < 40
    assert transport.in_flight == 0  # an ordinary error waits for the requests in flight


def test_a_stopped_job_does_not_wait_for_requests_in_flight():
    """KeyboardInterrupt (what SIGTERM becomes) from the calling thread: leave at once."""
    rows = rows_of(400, seed=37) + np.arange(400)[:, None] * 10
    transport = ScriptedTransport(delay=0.5)

    def stop(done, total):
        raise KeyboardInterrupt

    batcher = make(transport, max_records=2, concurrency=2, chunk_rows=4, on_progress=stop)
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        batcher.predict(rows)
    # the first answers arrive after 0.5 s; the requests started then are not waited for
    assert time.perf_counter() - started < 0.9
    assert transport.in_flight > 0


def test_many_chunks_log_an_estimate_up_front_and_exact_counts_at_the_end(caplog):
    rows = rows_of(400, seed=38, distinct=200)
    with caplog.at_level(logging.INFO, logger="clarify_engine"):
        batcher = make(ScriptedTransport(), max_records=10, chunk_rows=50).predict
        batcher(rows)
    text = caplog.text
    assert "Sending 400 rows to the model in about " in text
    planned = int(text.split("in about ")[1].split()[0])
    assert 20 <= planned <= 40  # 200 unique rows of 10 per request, estimated from 50 rows
    assert "Predicted 400 rows (200 unique)" in text and "20 requests sent" in text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 80),
    distinct=st.integers(1, 80),
    chunk_rows=st.integers(1, 12),
    max_records=st.one_of(st.none(), st.integers(1, 9)),
    max_bytes=st.integers(60, 400),
    concurrency=st.integers(1, 4),
    fault_seed=st.integers(0, 2**32 - 1),
)
def test_chunked_runs_with_faults_match_the_one_pass_plan(
    n, distinct, chunk_rows, max_records, max_bytes, concurrency, fault_seed
):
    rows = rows_of(n, d=2, seed=fault_seed % 1000, distinct=min(distinct, n))
    rng = np.random.default_rng(fault_seed)
    lock = threading.Lock()

    def script(call, recs):
        with lock:
            fail = rng.random() < 0.3
        return TransportError("busy", status=503) if fail else None

    whole = make(ScriptedTransport(), max_records=max_records, max_payload_bytes=max_bytes,
                 chunk_rows=10**6)
    whole.predict(rows)
    transport = ScriptedTransport(script=script)
    batcher = make(transport, max_records=max_records, max_payload_bytes=max_bytes,
                   concurrency=concurrency, chunk_rows=chunk_rows, retry=RetryPolicy(max_attempts=50))
    check(batcher.predict(rows), rows)
    assert batcher.stats.planned_requests == whole.stats.planned_requests
    assert batcher.stats.unique_rows == whole.stats.unique_rows == batcher.stats.rows_done


def test_progress_while_encoding_extrapolates_the_unique_rows(caplog):
    rows = rows_of(600, seed=39, distinct=300)  # half the rows repeat earlier ones
    seen = []
    batcher = make(
        ScriptedTransport(delay=0.01),
        max_records=5,
        concurrency=1,
        chunk_rows=20,
        on_progress=lambda done, total: seen.append((done, total)),
        progress_interval=0.05,
    )
    with caplog.at_level(logging.INFO, logger="clarify_engine"):
        check(batcher.predict(rows), rows)
    assert seen[-1] == (300, 300)
    early = seen[0][1]
    assert 300 <= early <= 600  # extrapolated from the first chunk, not the rows encoded so far
    progress = [r.message for r in caplog.records if r.message.startswith("Predictions:")]
    assert any(" of about " in m for m in progress)


def _halves(body, content_type, accept):
    """0.5 per record of a CSV, JSON Lines or ``{"instances": [...]}`` body (a MockTransport handler)."""
    if content_type == "application/json":
        doc = json.loads(body)
        n = len(doc["instances"]) if "instances" in doc else 1  # $records, or one $record
    else:
        n = body.count(b"\n") + 1
    return b"\n".join([b"0.5"] * n)


@pytest.mark.parametrize(
    "content_type, template, record_template",
    [("text/csv", None, None), ("application/jsonlines", '{"features":$features}', None),
     ("application/json", '{"instances":$records}', "$features"),
     ("application/json", '{"instances":$records}', '{"f":"${f0}","all":$features}'),
     ("application/json", '{"instance":$record}', "$features")],
)
def test_numbers_and_lists_of_the_same_rows_send_the_same_bodies(content_type, template, record_template):
    """The numeric path (compare values, lay out only new records) and the bytes path agree."""
    from clarify_engine.predict.codecs import request_codec, response_codec

    rng = np.random.default_rng(40)
    rows = np.round(rng.normal(size=(300, 3)), 2)
    rows[::7, 1] = np.nan
    rows[::5, 2] = 3.0  # integral values
    rows = rows[rng.integers(0, 300, size=700)]  # repeats, across chunks too
    names = ["f0", "f1", "f2"]
    sent = {}
    for kind, rows_in in [("array", rows), ("frame", pd.DataFrame(rows, columns=names)), ("list", rows.tolist())]:
        codec = request_codec(content_type, feature_names=names, content_template=template,
                              record_template=record_template)
        transport = MockTransport(_halves)
        batcher = Batcher(transport, codec, response_codec("text/csv"), max_records=37, concurrency=2, chunk_rows=64)
        assert batcher.predict(rows_in).scores.shape == (700, 1)
        sent[kind] = [r.body for r in transport.requests]
    assert sent["array"] == sent["frame"] == sent["list"]
    per_request = 1 if template and "$record}" in template else 37
    assert len(sent["list"]) == -(-len(np.unique(rows.round(6).astype(str), axis=0)) // per_request)
