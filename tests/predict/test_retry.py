"""Retry tables and backoff: rows of (status, code, expected) and exact delays."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from clarify_engine.errors import ModelError
from clarify_engine.predict._base import TransportError, parse_retry_after
from clarify_engine.predict.batching._retry import (
    RetryPolicy,
    describe_error,
    is_load_signal,
    is_retryable,
    whole_request_refusal,
    is_size_related,
    is_throttling,
)


class Row(NamedTuple):
    status: int | None
    code: str | None
    retryable: bool
    size_related: bool
    throttling: bool


ROWS = [
    Row(429, None, True, False, True),
    Row(500, None, True, False, False),
    Row(502, None, True, False, False),
    Row(503, None, True, False, False),
    Row(504, None, True, False, False),
    Row(400, "ThrottlingException", True, False, True),
    Row(400, "Throttling", True, False, True),
    Row(None, "Timeout", True, False, False),
    Row(None, "ConnectionError", True, False, False),
    Row(503, "ServiceUnavailable", True, False, False),
    Row(500, "InternalFailure", True, False, False),
    Row(429, "ModelNotReadyException", True, False, True),
    Row(413, None, False, True, False),
    Row(424, "ModelError", False, True, False),
    Row(None, "ModelError", False, True, False),
    Row(400, None, False, True, False),
    Row(422, None, False, True, False),
    Row(400, "ValidationError", False, False, False),
    Row(403, "AccessDeniedException", False, False, False),
    Row(401, None, False, False, False),
    Row(404, None, False, False, False),
    Row(200, None, False, False, False),
    Row(None, None, False, False, False),
    Row(418, "Teapot", False, False, False),
    Row(None, "ReplyTooLarge", False, True, False),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.status}-{r.code}" for r in ROWS])
def test_tables(row):
    error = TransportError("boom", status=row.status, code=row.code)
    assert is_retryable(error) is row.retryable
    assert is_size_related(error) is row.size_related
    assert is_throttling(error) is row.throttling


COLUMNS, FORMAT = "the number of features or columns", "the request's content type"
REFUSAL_ROWS = [
    (400, None, "X has 5 features, but LogisticRegression is expecting 4 features as input.", COLUMNS),
    (400, "ModelError", "Feature shape mismatch, expected: 4, got 5", COLUMNS),
    (422, None, "The number of features in data (5) is not the same as it was in training data (4).", COLUMNS),
    (400, None, "mat1 and mat2 shapes cannot be multiplied (1x5 and 4x10)", COLUMNS),
    (400, None, "Input 0 is incompatible with the layer: expected shape=(None, 4), found shape=(None, 5)", COLUMNS),
    (400, None, "records have 5 feature values; the model expects 4", COLUMNS),
    (400, None, "Expected 4 columns, found 5", COLUMNS),
    (400, None, "Unsupported content type: text/csv", FORMAT),
    (424, "ModelError", "content-type application/x-npy is not supported by this model", FORMAT),
    (400, None, "could not convert string to float: 'abc'", None),
    (400, None, "the model is unwell", None),
    (413, None, "payload has too many columns: expected at most 1000", None),  # 413 teaches a ceiling instead
    (503, None, "X has 5 features, but the model expects 4", None),  # transient: retried as such
    (400, "ThrottlingException", "X has 5 features, but the model expects 4", None),
    (400, "ValidationError", "X has 5 features, but the model expects 4", None),  # fatal already
]


@pytest.mark.parametrize("status, code, message, topic", REFUSAL_ROWS, ids=[r[2][:30] for r in REFUSAL_ROWS])
def test_whole_request_refusals(status, code, message, topic):
    refusal = whole_request_refusal(TransportError(f"url answered HTTP {status}: {message}", status=status, code=code))
    assert (refusal.topic if refusal else None) == topic
    assert whole_request_refusal(ModelError(message)) is None  # a reply that arrived but reads wrong


def test_codec_errors_are_size_related_not_retryable():
    error = ModelError("expected 4 records in the reply, found 3")
    assert not is_retryable(error)
    assert is_size_related(error)
    assert not is_size_related(ValueError("not ours"))
    assert not is_retryable(ValueError("not ours"))


@pytest.mark.parametrize(
    "attempt, rnd, expected",
    [
        (1, 0.5, 0.05),  # 0.5 * min(20, 0.1 * 1)
        (2, 0.5, 0.1),  # 0.5 * 0.2
        (3, 1.0, 0.4),
        (4, 0.25, 0.2),  # 0.25 * 0.8
        (9, 1.0, 20.0),  # 0.1 * 256 = 25.6 capped at 20
        (5000, 0.5, 10.0),  # no overflow for absurd attempts
        (3, 0.0, 0.0),
    ],
)
def test_delay_full_jitter(attempt, rnd, expected):
    assert RetryPolicy().delay(attempt, lambda: rnd) == pytest.approx(expected, abs=1e-12)


def test_delay_custom_base_and_cap():
    policy = RetryPolicy(max_attempts=3, base=1.0, cap=3.0)
    assert [policy.delay(a, lambda: 1.0) for a in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 3.0]


def test_should_retry_counts_attempts():
    policy = RetryPolicy(max_attempts=3)
    busy = TransportError("busy", status=503)
    assert policy.should_retry(busy, 1)
    assert policy.should_retry(busy, 2)
    assert not policy.should_retry(busy, 3)
    assert not policy.should_retry(TransportError("big", status=413), 1)
    assert not RetryPolicy(max_attempts=1).should_retry(busy, 1)


def test_timeouts_of_several_records_split_before_retrying():
    policy = RetryPolicy()
    timeout = TransportError("no reply within 60 s", code="Timeout")
    assert policy.should_retry(timeout, 1, n_records=1)
    assert not policy.should_retry(timeout, 1, n_records=2)
    assert policy.should_retry(TransportError("busy", status=503), 1, n_records=1000)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"max_attempts": 0}, ValueError, ["max_attempts", ">= 1", "0"]),
        ({"max_attempts": 2.5}, TypeError, ["max_attempts", "int", "2.5"]),
        ({"max_attempts": True}, TypeError, ["max_attempts", "True"]),
        ({"base": 0}, ValueError, ["base", "> 0", "0"]),
        ({"base": 2.0, "cap": 1.0}, ValueError, ["cap", ">= base", "1.0"]),
    ],
)
def test_policy_validation(kwargs, error, words):
    with pytest.raises(error) as info:
        RetryPolicy(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_delay_rejects_zero_attempt():
    with pytest.raises(ValueError, match="1-based"):
        RetryPolicy().delay(0, lambda: 0.5)


@pytest.mark.parametrize(
    "error, text",
    [
        (TransportError("slow down", status=429, code="ThrottlingException"),
         "HTTP 429 ThrottlingException: slow down"),
        (TransportError("no reply within 1s", code="Timeout"), "Timeout: no reply within 1s"),
        (TransportError("bad", status=500), "HTTP 500: bad"),
        (ModelError("3 lines for 4 records"), "3 lines for 4 records"),
    ],
)
def test_describe_error(error, text):
    assert describe_error(error) == text


# -- Retry-After ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "header, seconds",
    [
        ("2", 2.0),
        (" 0.5 ", 0.5),
        ("-3", 0.0),
        ("Wed, 25 Nov 2026 10:00:10 GMT", 10.0),
        ("Wed, 25 Nov 2026 09:59:00 GMT", 0.0),  # already past
        ("soon", None),
        ("nan", None),
        (None, None),
    ],
)
def test_parse_retry_after(header, seconds):
    now = 1795600800.0  # Wed, 25 Nov 2026 10:00:00 GMT
    assert parse_retry_after(header, now=now) == seconds


def test_wait_honours_retry_after_up_to_its_cap_plus_jitter():
    policy = RetryPolicy(base=0.1, cap=1.0, max_retry_after=5.0)
    asked = TransportError("busy", status=429, retry_after=2.0)
    assert policy.wait(asked, 1, random=lambda: 0.5) == pytest.approx(2.0 + 0.05)
    assert policy.wait(asked, 4, random=lambda: 0.5) == pytest.approx(2.0 + 0.4)
    greedy = TransportError("busy", status=503, retry_after=3600.0)
    assert policy.wait(greedy, 1, random=lambda: 0.0) == 5.0
    silent = TransportError("busy", status=503)
    assert policy.wait(silent, 2, random=lambda: 0.5) == policy.delay(2, random=lambda: 0.5) == pytest.approx(0.1)
    assert RetryPolicy(max_retry_after=0).wait(asked, 1, random=lambda: 0.0) == 0.0
    with pytest.raises(ValueError, match="max_retry_after: expected seconds >= 0, found -1"):
        RetryPolicy(max_retry_after=-1)


def test_load_signals_get_more_attempts_than_other_faults():
    policy = RetryPolicy(max_attempts=3, throttle_attempts=6)
    throttled = TransportError("slow down", status=429, code="ThrottlingException")
    asked = TransportError("busy", status=503, retry_after=1.0)
    broken = TransportError("busy", status=503)
    assert [is_load_signal(e) for e in (throttled, asked, broken)] == [True, True, False]
    assert [policy.attempts_for(e) for e in (throttled, asked, broken)] == [6, 6, 3]
    assert policy.should_retry(throttled, 5, n_records=10) and not policy.should_retry(throttled, 6, n_records=10)
    assert policy.should_retry(broken, 2) and not policy.should_retry(broken, 3)
    assert RetryPolicy(max_attempts=50).attempts_for(throttled) == 50  # never fewer than max_attempts
    with pytest.raises(ValueError, match="throttle_attempts: expected an int >= 1, found 0"):
        RetryPolicy(throttle_attempts=0)
    with pytest.raises(TypeError, match="throttle_attempts: expected an int >= 1, found 2.5"):
        RetryPolicy(throttle_attempts=2.5)
