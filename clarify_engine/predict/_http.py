"""POST request bodies to a model server over HTTP(S): ``.../invocations``.

Any server that speaks the SageMaker container protocol works: ``POST /invocations`` with the
body and ``Content-Type``/``Accept`` headers, ``GET /ping`` for health. That includes
``clarify-engine serve-model`` and a SageMaker-runtime-style path
``.../endpoints/NAME/invocations``.

Every failure becomes a :class:`~clarify_engine.predict._base.TransportError` carrying the
HTTP status (None when no reply came; for a SageMaker-style ``ModelError`` reply, the model's
``OriginalStatusCode``) and an error code: the server's own when it gives one
(``x-amzn-ErrorType`` header, or ``ErrorCode``/``code``/``__type`` in a JSON body), else a
local one (``"Timeout"``, ``"ConnectionError"``). Whether to retry is not decided here.
"""

from __future__ import annotations

import http.client
import json
import queue
import select
import threading
from urllib.parse import urlsplit, urlunsplit

from clarify_engine.predict._base import TransportError, parse_retry_after

__all__ = ["HttpTransport", "ping"]

#: Characters of a reply body quoted in an error message at most.
QUOTE_LIMIT = 500


def _quote(body: bytes) -> str:
    text = body[:QUOTE_LIMIT].decode("utf-8", errors="replace").strip()
    return text + ("…" if len(body) > QUOTE_LIMIT else "")


def _json_object(body: bytes) -> dict:
    if body.lstrip()[:1] != b"{":
        return {}
    try:
        doc = json.loads(body)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _error_code(headers, doc: dict) -> str | None:
    """The service's error code from an error reply, when it gives one."""
    code = headers.get("x-amzn-ErrorType")
    if code:
        return code.split(":", 1)[0]
    for key in ("ErrorCode", "code", "Code", "__type", "error_code"):
        value = doc.get(key)
        if isinstance(value, str) and value:
            return value.rsplit("#", 1)[-1]
    return None


def _status_error(url: str, status: int, headers, body: bytes) -> TransportError:
    """The error for an HTTP error reply.

    A SageMaker-runtime ``ModelError`` reply (424) carries the model container's own status in
    ``OriginalStatusCode``: that is the ``status`` reported, as :mod:`._sagemaker` does.
    """
    doc = _json_object(body)
    code = _error_code(headers, doc)
    wait = parse_retry_after(headers.get("Retry-After"))
    original = doc.get("OriginalStatusCode") if code == "ModelError" else None
    if isinstance(original, int):
        detail = doc.get("OriginalMessage") or _quote(body)
        return TransportError(
            f"{url}: the model answered HTTP {original}: {detail}", status=original, code=code, retry_after=wait
        )
    return TransportError(
        f"{url} answered HTTP {status}: {_quote(body) or '(empty body)'}", status=status, code=code, retry_after=wait
    )


def _map_socket_error(exc: BaseException, url: str, timeout: float) -> TransportError:
    """The error for a failure of a plain :mod:`http.client` request (no reply, or half a one)."""
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return TransportError(f"no reply from {url} within {timeout:g} s: {exc}", code="Timeout")
    return TransportError(f"connection to {url} failed: {type(exc).__name__}: {exc}", code="ConnectionError")


class _ConnectionPool:
    """Keep-alive :mod:`http.client` connections to one host, one per concurrent sender.

    At most ``size`` connections exist at once; a sender beyond that waits for one to be
    returned. An idle connection the server has closed meanwhile (its socket reads as
    ready: EOF) is dropped before reuse, so a request is never sent on a dead socket and
    nothing is sent twice.
    """

    def __init__(self, scheme: str, netloc: str, timeout: float, size: int):
        self._factory = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        self._netloc = netloc
        self._timeout = timeout
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        #: Connections opened so far (a measure of keep-alive reuse).
        self.opened = 0

    def acquire(self) -> http.client.HTTPConnection:
        self._slots.acquire()
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                self.opened += 1  # under a slot: at most `size` callers race here; a count, not a limit
                return self._factory(self._netloc, timeout=self._timeout)
            sock = conn.sock
            if sock is not None and not select.select([sock], [], [], 0)[0]:
                return conn
            conn.close()  # closed by the server while idle (or never connected)

    def release(self, conn: http.client.HTTPConnection, reusable: bool) -> None:
        if reusable:
            self._idle.put(conn)
        else:
            conn.close()
        self._slots.release()

    def clear(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


class HttpTransport:
    """Send request bodies to one URL with a pool of keep-alive connections.

    Parameters
    ----------
    url : str
        Full invocation URL, e.g. ``http://127.0.0.1:8080/invocations`` or
        ``http://host:port/endpoints/NAME/invocations``.
    timeout : float, default 60
        Seconds to wait for the connection and, separately, between bytes of the reply.
    pool_size : int, default 16
        Connections kept open; size it to the number of concurrent senders (more senders
        than connections wait for a free one rather than opening extra sockets).
    headers : dict of str to str, optional
        Extra headers for every request (e.g. ``X-Amzn-SageMaker-Custom-Attributes``).

    Notes
    -----
    Thread-safe: each concurrent request takes its own keep-alive :mod:`http.client`
    connection from a small pool (plain ``http.client`` costs about 70 us of CPU per request,
    urllib3 about 180 us: at several thousand requests a second that is the client's bottleneck).
    Nothing is retried or redirected here: the batching layer retries.
    """

    def __init__(self, url: str, *, timeout: float = 60.0, pool_size: int = 16, headers: dict[str, str] | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url: expected an http:// or https:// URL with a host, found {url!r}")
        if timeout <= 0:
            raise ValueError(f"timeout: expected a positive number of seconds, found {timeout!r}")
        if pool_size < 1:
            raise ValueError(f"pool_size: expected an integer >= 1, found {pool_size!r}")
        self.url = url
        self.timeout = float(timeout)
        self.pool_size = int(pool_size)
        self.headers = dict(headers or {})
        self._path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        self._connections = _ConnectionPool(parts.scheme, parts.netloc, self.timeout, self.pool_size)

    def __repr__(self) -> str:
        return f"HttpTransport({self.url!r}, timeout={self.timeout:g}, pool_size={self.pool_size})"

    def send(self, body: bytes, *, content_type: str, accept: str) -> bytes:
        """POST ``body`` and return the reply body.

        Raises
        ------
        TransportError
            Status >= 400 (``status`` set, the body quoted), timeout (``code="Timeout"``) or a
            refused/dropped connection (``code="ConnectionError"``).
        """
        headers = {**self.headers, "Content-Type": content_type, "Accept": accept}
        conn = self._connections.acquire()
        reusable = False
        try:
            conn.request("POST", self._path, body=body, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            reusable = not reply.will_close
        except (OSError, http.client.HTTPException) as exc:
            raise _map_socket_error(exc, self.url, self.timeout) from exc
        finally:
            self._connections.release(conn, reusable)
        if reply.status >= 400:
            raise _status_error(self.url, reply.status, reply.headers, data)
        return data

    def ping(self) -> None:
        """``GET /ping`` on this URL's server; raise :class:`TransportError` unless it answers 200."""
        ping(self.url, timeout=min(self.timeout, 10.0))

    def close(self) -> None:
        """Close the pooled connections."""
        self._connections.clear()

    def __enter__(self) -> "HttpTransport":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def ping_url(url: str) -> str:
    """The ``/ping`` URL of the server of ``url`` (path replaced)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/ping", "", ""))


def ping(url: str, *, timeout: float = 5.0) -> None:
    """Check a model server's health with ``GET /ping``.

    Parameters
    ----------
    url : str
        The server's base URL or any URL on it (its path is replaced by ``/ping``).
    timeout : float, default 5
        Seconds to wait for the connection and, separately, between bytes of the reply.

    Raises
    ------
    TransportError
        No reply, or a reply other than 200 (redirects are not followed).
    """
    target = ping_url(url)
    parts = urlsplit(target)
    factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = factory(parts.netloc, timeout=timeout)
    try:
        conn.request("GET", "/ping")
        reply = conn.getresponse()
        data = reply.read()
    except (OSError, http.client.HTTPException) as exc:
        raise _map_socket_error(exc, target, timeout) from exc
    finally:
        conn.close()
    if reply.status != 200:
        raise _status_error(target, reply.status, reply.headers, data)
