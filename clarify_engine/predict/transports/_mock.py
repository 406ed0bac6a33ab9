"""A transport that answers with a function: test the model client offline.

As httpx's ``MockTransport(handler)``: give :class:`MockTransport` a function of the request
and it stands where :class:`~clarify_engine.predict.HttpTransport` or
:class:`~clarify_engine.predict.SageMakerRuntimeTransport` would, behind the same codecs,
batching, retries and splitting. Pass it as ``model`` to
:func:`~clarify_engine.predict.make_predictor` (or to :class:`~clarify_engine.predict.Batcher`)::

    >>> import numpy as np
    >>> from clarify_engine.predict import Batcher, MockTransport, request_codec, response_codec
    >>> def handler(body, content_type, accept):
    ...     rows = [line.split(",") for line in body.decode().splitlines()]
    ...     return "\\n".join(str(float(a) + float(b)) for a, b in rows)
    >>> transport = MockTransport(handler)
    >>> batcher = Batcher(transport, request_codec("text/csv", feature_names=["a", "b"]),
    ...                   response_codec("text/csv"), max_records=2)
    >>> batcher.predict(np.array([[1, 2], [3, 4], [5, 6]])).scores[:, 0].tolist()
    [3.0, 7.0, 11.0]
    >>> [r.body for r in transport.requests]
    [b'1,2\\n3,4', b'5,6']

A handler that raises :class:`~clarify_engine.predict.TransportError` plays a failing endpoint:
``TransportError("busy", status=503, code="ServiceUnavailable")`` is retried,
``status=413`` splits the request, as a real endpoint's reply would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Union

from clarify_engine.predict._base import Closing, TransportError
from clarify_engine.predict._check import argument_error

__all__ = ["MockRequest", "MockTransport"]

#: What a handler returns: the reply body (text is sent as UTF-8).
Reply = Union[bytes, str]


@dataclass(frozen=True)
class MockRequest:
    """One request a :class:`MockTransport` received."""

    body: bytes
    content_type: str
    accept: str


class MockTransport(Closing):
    """Answer each request with ``handler(body, content_type, accept)``.

    Parameters
    ----------
    handler : callable
        ``handler(body: bytes, content_type: str, accept: str) -> bytes | str``: the reply
        body. Raise :class:`TransportError` (with ``status``/``code``/``retry_after``) to fail
        the request as an endpoint would. It is called from several threads at once when the
        batcher's ``concurrency`` is above 1.

    Attributes
    ----------
    requests : list of MockRequest
        Every request received, in the order they arrived (failed ones included).
    max_in_flight : int
        The most requests the handler was running at once.
    """

    def __init__(self, handler: Callable[[bytes, str, str], Reply]):
        if not callable(handler):
            raise argument_error("MockTransport", "handler", "a callable (body, content_type, accept) -> reply",
                                 handler, wrong_type=True)
        self.handler = handler
        self.requests: list[MockRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        """Requests received so far."""
        return len(self.requests)

    @property
    def in_flight(self) -> int:
        """Requests the handler is running now."""
        return self._in_flight

    def send(self, body: bytes, *, content_type: str, accept: str) -> bytes:
        """The handler's reply to ``body`` (see the class); raise what it raises."""
        with self._lock:
            self.requests.append(MockRequest(body, content_type, accept))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            reply = self.handler(body, content_type, accept)
        finally:
            with self._lock:
                self._in_flight -= 1
        if isinstance(reply, str):
            return reply.encode("utf-8")
        if isinstance(reply, (bytes, bytearray, memoryview)):
            return bytes(reply)
        raise TransportError(f"MockTransport: the handler returned {type(reply).__name__}; expected the reply "
                             "body as bytes or str (raise TransportError to fail the request)")

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"MockTransport({getattr(self.handler, '__qualname__', self.handler)!r})"
