"""Which model-call failures are worth another try, and how long to wait before it.

Retries are data plus small predicates: tables of HTTP statuses and service error codes, a
check against the number of attempts, and a backoff whose formula is in its docstring. The
random source and the sleep function are passed in, so tests are rows of
``(status, code, expected)`` and exact delays.

Clarify's other defence, splitting a failing batch into halves down to single records, is a
separate policy (:mod:`clarify_engine.predict.batching._batcher`); the table that says which failures
may be caused by the size or content of a batch (and so may go away when it is split) lives
here with the others.

Notes
-----
The tables follow botocore's standard retry mode (``botocore/retries/standard.py``:
transient statuses 500/502/503/504 and its union of throttling error codes), plus HTTP 429
(what plain model servers answer when overloaded), SageMaker Runtime's own transient codes
(``ModelNotReadyException``, ``InternalDependencyException``) and the local codes our
transports use when no reply came (``Timeout``, ``ConnectionError``).
"""

from __future__ import annotations

import random as _random
import re
from dataclasses import dataclass
from typing import Callable

from clarify_engine import _client_defaults as _defaults
from clarify_engine.errors import ModelError
from clarify_engine.predict._base import TransportError
from clarify_engine.predict._check import argument_error, positive_int, positive_seconds

__all__ = [
    "FATAL_CODES",
    "FATAL_STATUSES",
    "RETRYABLE_CODES",
    "RETRYABLE_STATUSES",
    "CONTENT_TYPE_ERROR_PATTERNS",
    "SHAPE_ERROR_PATTERNS",
    "WHOLE_REQUEST_REFUSALS",
    "SIZE_RELATED_CODES",
    "SPLIT_FIRST_CODES",
    "SIZE_RELATED_STATUSES",
    "THROTTLING_CODES",
    "RetryPolicy",
    "describe_error",
    "is_retryable",
    "Refusal",
    "whole_request_refusal",
    "is_load_signal",
    "is_size_related",
    "is_throttling",
]

#: Statuses that say "the service is busy or broke for a moment": try the same request again.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Error codes of a throttled request (botocore's union of throttling codes, plus SageMaker's).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)

#: Error codes of a transient fault, throttling included; ``Timeout`` and ``ConnectionError``
#: are the local codes a transport gives when no reply came.
RETRYABLE_CODES = THROTTLING_CODES | frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "InternalDependencyException",
        "ModelNotReadyException",
        "RequestTimeout",
        "RequestTimeoutException",
        "Timeout",
        "ConnectionError",
    }
)

#: Statuses that may come from the batch itself (too large, or one bad record in it): split it.
#: 424 is SageMaker Runtime's "the model container answered with an error" (code ``ModelError``).
SIZE_RELATED_STATUSES = frozenset({400, 413, 422, 424})

#: Error codes that may come from the batch itself.
SIZE_RELATED_CODES = frozenset(
    {
        "ModelError",
        "PayloadTooLarge",
        "RequestEntityTooLarge",
        "ResponseMismatch",
        "ReplyTooLarge",  # local: the reply ran past max_reply_bytes; fewer records, shorter reply
    }
)

#: Transient codes that a request of several records answers by splitting at once rather than
#: by repeating the same request: a batch that timed out is as likely too slow to compute as
#: unlucky, and halves also bound how long a dead endpoint can hold the run (about
#: ``log2(records) + max_attempts`` timeouts instead of ``max_attempts * log2(records)``).
SPLIT_FIRST_CODES = frozenset({"Timeout", "RequestTimeout", "RequestTimeoutException"})

#: Statuses no smaller batch can fix (credentials, permissions, wrong URL or endpoint).
FATAL_STATUSES = frozenset({401, 403, 404, 405})

#: Error codes no smaller batch can fix; they win over a status in ``SIZE_RELATED_STATUSES``
#: (SageMaker answers 400 ``ValidationError`` for a missing endpoint).
FATAL_CODES = frozenset(
    {
        "ValidationError",
        "ValidationException",
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "NotFound",
    }
)


#: Phrases of a refusal that say the records have the wrong number of features or columns,
#: so that every record of the request fails alike (scikit-learn "X has 5 features, but ... is
#: expecting 4", XGBoost "Feature shape mismatch, expected: 4, got 5", LightGBM "The number of
#: features in data (5) is not the same as ...", PyTorch "shapes cannot be multiplied",
#: TensorFlow "expected shape=(None, 4)", this project's server "records have 5 feature values;
#: the model expects 4"). Matched case-insensitively, within one sentence.
SHAPE_ERROR_PATTERNS = (
    re.compile(r"\b(features?|columns?)\b[^.\n]{0,80}?\b(expect\w*|mismatch\w*|but|got|not the same|instead of)\b",
               re.IGNORECASE),
    re.compile(r"\b(expect\w*|mismatch\w*)\b[^.\n]{0,80}?\b(features?|columns?)\b", re.IGNORECASE),
    re.compile(r"\bshapes?\b[^.\n]{0,40}?\b(mismatch\w*|cannot|incompatible)\b|\bexpected\s+shape\b", re.IGNORECASE),
)

#: Phrases of a refusal of the request's format ("Unsupported content type: text/csv",
#: "content-type application/json is not supported", "unknown media type").
CONTENT_TYPE_ERROR_PATTERNS = (
    re.compile(r"\b(unsupported|unknown|invalid|unexpected|cannot handle|not supported)\b[^.\n]{0,40}?"
               r"\b(content[- ]?types?|media[- ]types?|mime[- ]types?|accept)\b", re.IGNORECASE),
    re.compile(r"\b(content[- ]?types?|media[- ]types?|mime[- ]types?)\b[^.\n]{0,60}?"
               r"\b(unsupported|not supported|invalid|unknown|expected|must be)\b", re.IGNORECASE),
)


@dataclass(frozen=True)
class Refusal:
    """A kind of refusal every record of a request gets alike, and what fixes it.

    Attributes
    ----------
    topic : str
        What the reply speaks of, for messages ("the number of features or columns").
    patterns : tuple of re.Pattern
        Any of them found in the error's message makes the refusal this kind.
    fix : str
        The sentence that says which config keys to change.
    """

    topic: str
    patterns: tuple
    fix: str


#: Refusals no smaller request can fix, checked in order (see :func:`whole_request_refusal`).
WHOLE_REQUEST_REFUSALS = (
    Refusal(
        "the number of features or columns",
        SHAPE_ERROR_PATTERNS,
        "If the model was trained on fewer columns, list the others in the config's excluded_columns; "
        "otherwise make predictor.content_type and predictor.content_template send what the model reads.",
    ),
    Refusal(
        "the request's content type",
        CONTENT_TYPE_ERROR_PATTERNS,
        "Set predictor.content_type to a format the model reads (and predictor.accept_type to one it "
        "writes); a JSON model may also need predictor.content_template.",
    ),
)


def whole_request_refusal(error: BaseException) -> Refusal | None:
    """The kind of refusal ``error`` is when every record would get it alike, else None.

    That is a refusal of the request (:func:`is_size_related`: a 4xx such as 400/422/424
    ``ModelError``; not a 413, which teaches a size, nor a transient or fatal code) whose
    message matches a pattern of :data:`WHOLE_REQUEST_REFUSALS`. The batcher checks it on one
    record instead of splitting the request down to single records.
    """
    if not isinstance(error, TransportError) or not is_size_related(error) or error.status == 413:
        return None
    text = str(error)
    for refusal in WHOLE_REQUEST_REFUSALS:
        if any(pattern.search(text) for pattern in refusal.patterns):
            return refusal
    return None


def is_throttling(error: BaseException) -> bool:
    """True when ``error`` says the endpoint is throttling us (HTTP 429 or a throttling code)."""
    if not isinstance(error, TransportError):
        return False
    return error.status == 429 or error.code in THROTTLING_CODES


def is_load_signal(error: BaseException) -> bool:
    """True when ``error`` says the endpoint is too busy, not that the request is bad.

    Throttling (:func:`is_throttling`), or any refusal that says when to come back
    (``Retry-After``). Smaller requests do not help against it: the batcher does not split
    on it, and the retry policy gives it more attempts (``throttle_attempts``).
    """
    return is_throttling(error) or getattr(error, "retry_after", None) is not None


def is_retryable(error: BaseException) -> bool:
    """True when sending the very same request again may succeed.

    Parameters
    ----------
    error : BaseException
        What the transport raised. Only :class:`TransportError` is ever retryable: a reply
        that arrived but cannot be read (a codec's ModelError) will read the same way again.

    Returns
    -------
    bool
        Whether the status is in :data:`RETRYABLE_STATUSES` or the code in
        :data:`RETRYABLE_CODES`, and the code is not in :data:`FATAL_CODES`.
    """
    if not isinstance(error, TransportError):
        return False
    if error.code in FATAL_CODES:
        return False
    return error.status in RETRYABLE_STATUSES or error.code in RETRYABLE_CODES


def is_size_related(error: BaseException) -> bool:
    """True when the failure may come from the batch itself, so that halves of it may succeed.

    That is: a :class:`TransportError` whose status is in :data:`SIZE_RELATED_STATUSES` or
    whose code is in :data:`SIZE_RELATED_CODES` (and neither is fatal nor a transient code:
    SageMaker answers throttling with 400 ``ThrottlingException``), or a
    :class:`ModelError` that is not a transport error, i.e. a reply the response codec could
    not read or that held the wrong number of records.
    """
    if isinstance(error, TransportError):
        if error.code in FATAL_CODES or error.status in FATAL_STATUSES:
            return False
        if error.code in RETRYABLE_CODES:  # the code is more specific than the status
            return False
        return error.status in SIZE_RELATED_STATUSES or error.code in SIZE_RELATED_CODES
    return isinstance(error, ModelError)


def describe_error(error: BaseException) -> str:
    """``"HTTP 503 ServiceUnavailable: <message>"``: status, code and message, those known."""
    parts = []
    status = getattr(error, "status", None)
    code = getattr(error, "code", None)
    if status is not None:
        parts.append(f"HTTP {status}")
    if code:
        parts.append(str(code))
    head = " ".join(parts)
    message = str(error) or type(error).__name__
    return f"{head}: {message}" if head else message


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to send a request, and how long to wait between the attempts.

    Parameters
    ----------
    max_attempts : int, default 5
        Attempts per request in all, the first one included (1 = never retry).
    base : float, default 0.1
        Seconds: the ceiling of the first delay.
    cap : float, default 20.0
        Seconds: no backoff delay is longer than this.
    max_retry_after : float, default 60.0
        Seconds: the longest wait a service's ``Retry-After`` can ask for and get.
    throttle_attempts : int, default 10
        Attempts in all for a request the endpoint keeps refusing as too busy
        (:func:`is_load_signal`), or ``max_attempts`` if that is more. With the backoff above
        that is about 20 s of patience on average, more when the endpoint sends ``Retry-After``.

    Notes
    -----
    "Full jitter" exponential backoff (M. Brooker, *Exponential Backoff And Jitter*, AWS
    Architecture Blog, 2015; botocore ``ExponentialBackoff.delay_amount``)::

        delay(attempt) = random() * min(cap, base * 2 ** (attempt - 1))

    where ``attempt`` is the 1-based number of the attempt that just failed and ``random()``
    is uniform on [0, 1). Jitter over the whole interval spreads the retries of concurrent
    workers, so that a throttled endpoint is not hit again by all of them at once.

    When the failed reply carried ``Retry-After`` (HTTP 429 and 503 often do), the wait is at
    least what it asks, up to ``max_retry_after``, plus the jitter (:meth:`wait`)::

        wait(error, attempt) = min(retry_after, max_retry_after) + delay(attempt)

    so that the workers told to come back at the same moment do not all come back at once.
    """

    max_attempts: int = _defaults.MAX_ATTEMPTS
    base: float = 0.1
    cap: float = 20.0
    max_retry_after: float = 60.0
    throttle_attempts: int = _defaults.THROTTLE_ATTEMPTS

    def __post_init__(self):
        positive_int("RetryPolicy", "max_attempts", self.max_attempts)
        positive_seconds("RetryPolicy", "base", self.base)
        if not self.cap >= self.base:
            raise argument_error("RetryPolicy", "cap", f"seconds >= base ({self.base})", self.cap)
        positive_int("RetryPolicy", "throttle_attempts", self.throttle_attempts)
        positive_seconds("RetryPolicy", "max_retry_after", self.max_retry_after, zero=True)

    def should_retry(self, error: BaseException, attempt: int, n_records: int = 1) -> bool:
        """True when attempt number ``attempt`` (1-based) of a request of ``n_records`` failed
        with ``error`` and the same request may be sent again.

        A request of several records that timed out (:data:`SPLIT_FIRST_CODES`) is not
        repeated: its caller splits it instead.
        """
        if n_records > 1 and getattr(error, "code", None) in SPLIT_FIRST_CODES:
            return False
        return is_retryable(error) and attempt < self.attempts_for(error)

    def attempts_for(self, error: BaseException) -> int:
        """Attempts a request gets in all when it keeps failing with ``error``."""
        if is_load_signal(error):
            return max(self.throttle_attempts, self.max_attempts)
        return self.max_attempts

    def delay(self, attempt: int, random: Callable[[], float] = _random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); see Notes."""
        if attempt < 1:
            raise ValueError(f"RetryPolicy.delay: attempt is 1-based, found {attempt}")
        # min() before the power would overflow: 2 ** 1100 is fine for ints but not floats.
        exponent = min(attempt - 1, 1023)
        return random() * min(self.cap, self.base * 2.0**exponent)

    def wait(self, error: BaseException, attempt: int, random: Callable[[], float] = _random.random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based) that raised ``error``.

        The backoff :meth:`delay`, plus the ``Retry-After`` the error carries (capped at
        ``max_retry_after``) when it carries one; see Notes.
        """
        asked = getattr(error, "retry_after", None)
        backoff = self.delay(attempt, random)
        if asked is None:
            return backoff
        return min(asked, self.max_retry_after) + backoff
