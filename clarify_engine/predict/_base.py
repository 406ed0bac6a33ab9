"""The small interfaces every part of the model client is built from.

A *request codec* turns feature rows into request bodies, a *transport* sends one body and
returns the reply body, a *response codec* turns a reply body back into per-record labels
and scores. The batcher (``_batching``) sits between them: it packs records into requests
within the payload limit, sends several at once, retries and splits on failure.

Transports map their library's errors to :class:`TransportError` (``raise ... from exc``)
so that retry policy is decided in one place, from data (status codes, error codes).
"""

from __future__ import annotations

import datetime
import email.utils
import re
import time
from dataclasses import dataclass
from typing import Protocol, Sequence, TypeVar, runtime_checkable

import numpy as np

from clarify_engine.errors import ModelError

__all__ = [
    "Closing",
    "check_output_count",
    "concatenate_outputs",
    "redact_text",
    "ModelOutput",
    "RequestCodec",
    "ResponseCodec",
    "Transport",
    "TransportError",
]


#: ``scheme://userinfo@`` in a text: the credentials of a URL.
_CREDENTIALS = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@\"'<>]+@")


def redact_text(text: str) -> str:
    """``text`` with the credentials of every URL in it (``user:password@``) replaced by ``***@``."""
    return _CREDENTIALS.sub(r"\1***@", text)


class TransportError(ModelError):
    """One request failed on the way to or from the model.

    Parameters
    ----------
    message : str
        What happened, quoting the endpoint's reply where there is one. Credentials of any URL
        in it are replaced by ``***`` (:func:`redact_text`), whoever wrote it (botocore's
        messages name the endpoint URL).
    status : int or None
        HTTP status code of the reply (None when no reply came: timeout, dropped connection).
    code : str or None
        Service error code when the service gives one (e.g. ``"ThrottlingException"``,
        ``"ModelError"``), or a local code: ``"Timeout"``, ``"ConnectionError"``.
    retry_after : float or None
        Seconds the service asked us to wait before trying again (its ``Retry-After``
        header), when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(redact_text(message))
        self.status = status
        self.code = code
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).

    None when the header is missing or unreadable; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)


@dataclass(frozen=True)
class ModelOutput:
    """What the model said about a batch of records, in request order.

    Attributes
    ----------
    labels : numpy.ndarray of shape (n_records,) or None
        Predicted labels, when the response carries them (``predictor.label``).
    scores : numpy.ndarray of shape (n_records, n_scores), float64, or None
        Scores/probabilities (``predictor.probability``, or the whole row when neither
        ``label`` nor ``probability`` is configured).
    """

    labels: np.ndarray | None
    scores: np.ndarray | None

    def __len__(self) -> int:
        for part in (self.labels, self.scores):
            if part is not None:
                return len(part)
        return 0


_C = TypeVar("_C", bound="Closing")


class Closing:
    """``close()`` and the context-manager protocol that calls it on leaving ``with``."""

    def close(self) -> None:
        """Release what the object holds."""
        raise NotImplementedError

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@runtime_checkable
class Transport(Protocol):
    """Sends one request body and returns the reply body."""

    def send(self, body: bytes, *, content_type: str, accept: str) -> bytes:
        """Send ``body``; return the reply body or raise :class:`TransportError`."""
        ...

    def close(self) -> None:
        """Release connections (and, for shadow endpoints, nothing else: see the endpoint manager)."""
        ...


class RequestCodec(Protocol):
    """Turns records into request bodies for one ``content_type``."""

    content_type: str
    #: Records per request at most (1 for a JSON ``$record`` template, else None = no limit).
    max_records: int | None

    def encode_records(self, rows: Sequence[Sequence[object]]) -> list[bytes]:
        """Serialise each record on its own (the pieces :meth:`join` puts together)."""
        ...

    #: Bytes between two encoded records in a body (``b""`` when a body holds one record).
    separator: bytes

    def join(self, pieces: Sequence[bytes]) -> bytes:
        """One request body holding these encoded records, in order."""
        ...

    def wrap(self, records: bytes) -> bytes:
        """The body for encoded records already joined by :attr:`separator`.

        ``wrap(separator.join(pieces)) == join(pieces)``. A codec may also offer
        ``encode_packed(rows) -> (data, starts) | None``: the records laid end to end, each
        followed by the separator, ``data[starts[i]:starts[i + 1] - len(separator)]`` being
        record ``i`` (None when it cannot, e.g. for rows that are not all numbers).
        """
        ...

    def overhead(self) -> int:
        """Bytes a body adds beyond its pieces (template text, separators), for size budgeting."""
        ...


class ResponseCodec(Protocol):
    """Reads one reply body for ``accept_type``."""

    accept_type: str

    def decode(self, body: bytes, n_records: int) -> ModelOutput:
        """Parse a reply to a request of ``n_records`` records; raise ModelError quoting the bad part."""
        ...


def check_output_count(output: ModelOutput, n: int) -> None:
    for name in ("labels", "scores"):
        part = getattr(output, name)
        if part is not None and len(part) != n:
            raise ModelError(
                f"The model's reply holds {len(part)} {name} for a request of {n} records; "
                "expected one per record."
            )
    if output.labels is None and output.scores is None:
        raise ModelError(f"The model's reply to a request of {n} records held no labels or scores.")


def concatenate_outputs(outputs: Sequence[ModelOutput], n: int) -> ModelOutput:
    """One ModelOutput from consecutive ones; every part must carry the same fields and widths."""
    if len(outputs) == 1:
        return outputs[0]
    has_labels = {o.labels is not None for o in outputs}
    has_scores = {o.scores is not None for o in outputs}
    if len(has_labels) > 1 or len(has_scores) > 1:
        raise ModelError(
            "The model's replies disagree: some carry labels/scores that others lack; "
            "expected every reply to have the same fields."
        )
    labels = np.concatenate([o.labels for o in outputs]) if has_labels == {True} else None
    scores = None
    if has_scores == {True}:
        widths = {o.scores.shape[1:] for o in outputs}
        if len(widths) > 1:
            found = sorted(w[0] if w else 1 for w in widths)
            raise ModelError(
                f"The model's replies disagree on the number of scores per record: found "
                f"{', '.join(map(str, found))}; expected the same in every reply."
            )
        scores = np.concatenate([o.scores for o in outputs])
    return ModelOutput(labels=labels, scores=scores)
