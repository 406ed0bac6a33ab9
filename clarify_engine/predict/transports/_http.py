"""POST request bodies to a model server over HTTP(S): ``.../invocations``.

Any server that speaks the SageMaker container protocol works: ``POST /invocations`` with the
body and ``Content-Type``/``Accept`` headers, ``GET /ping`` for health. That includes
``clarify-engine serve-model`` and a SageMaker-runtime-style path
``.../endpoints/NAME/invocations``.

Every failure becomes a :class:`~clarify_engine.predict._base.TransportError` carrying the
HTTP status (None when no reply came; for a SageMaker-style ``ModelError`` reply, the model's
``OriginalStatusCode``) and an error code: the server's own when it gives one
(``x-amzn-ErrorType`` header, or ``ErrorCode``/``code``/``__type`` in a JSON body), else a
local one (``"Timeout"``, ``"ConnectionError"``, ``"ReplyTooLarge"``). Whether to retry is
not decided here.

Two limits bound what one request can cost: ``max_reply_bytes`` (a reply longer than that is
not read past the limit: its ``Content-Length`` is checked first, then the bytes as they come)
and ``deadline``, seconds for the whole request, from sending to the last byte of the reply
(the per-read ``timeout`` alone lets a server that sends a byte now and then hold a request
for ever). A watchdog thread shuts the socket of a request still running at its deadline.

Credentials in the URL (``http://user:password@host/...``) are sent as HTTP Basic auth and
never shown: the transport's ``url``, its messages and :func:`redact_url` put ``***`` in their
place.
"""

from __future__ import annotations

import base64
import heapq
import http.client
import itertools
import json
import queue
import select
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from clarify_engine import _client_defaults as _defaults
from clarify_engine.predict._base import Closing, TransportError, parse_retry_after
from clarify_engine.predict._check import positive_int, positive_seconds

__all__ = ["DEFAULT_MAX_REPLY_BYTES", "HttpTransport", "ping", "redact_url"]

#: Largest reply body read by default. Decoding a reply takes about 25 times its size in
#: memory (a 20 MB CSV or JSON reply: about 500 MB), and every request in flight holds one.
DEFAULT_MAX_REPLY_BYTES = _defaults.MAX_REPLY_BYTES

#: Bytes asked of the socket at a time while a reply body is read.
_READ_CHUNK = 1 << 16

#: Seconds the deadline watchdog waits with nothing to watch before its thread ends.
_IDLE_SECONDS = 5.0

#: Characters of a reply body quoted in an error message at most.
QUOTE_LIMIT = 500


def _quote(body: bytes) -> str:
    text = body[:QUOTE_LIMIT].decode("utf-8", errors="replace").strip()
    return text + ("…" if len(body) > QUOTE_LIMIT else "")


def redact_url(url: str) -> str:
    """``url`` with its credentials (``user:password@``) replaced by ``***@``; other URLs as they are."""
    if not isinstance(url, str):
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def _basic_auth(parts) -> str | None:
    """The ``Authorization`` header for the userinfo of a split URL, or None without one."""
    if "@" not in parts.netloc:
        return None
    user, _, password = parts.netloc.rpartition("@")[0].partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode("utf-8")).decode("ascii")
    return f"Basic {token}"


def _host(parts) -> str:
    """``host[:port]`` of a split URL, without credentials."""
    return parts.netloc.rpartition("@")[2]


def reply_too_large(where: str, limit: int, size: int | None) -> TransportError:
    """The error for a reply over ``limit`` bytes (``size``: its announced length, when known)."""
    found = f"is {size} bytes, over" if size is not None else "runs past"
    return TransportError(
        f"{where}: the reply {found} the {limit}-byte limit on a reply; raise the limit "
        "(--max-reply-mb, ClientOptions.max_reply_bytes) if the model really answers that much, "
        "or send fewer records per request (--max-records)",
        code="ReplyTooLarge",
    )


def deadline_passed(where: str, deadline: float) -> TransportError:
    """The error for a request that did not complete within its ``deadline`` (seconds)."""
    return TransportError(
        f"{where}: the request did not complete within the {deadline:g} s request deadline "
        "(--request-deadline, ClientOptions.request_deadline)",
        code="Timeout",
    )


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


class _Alarm:
    __slots__ = ("sock", "deadline", "active", "fired")

    def __init__(self, sock, deadline: float):
        self.sock = sock
        self.deadline = deadline
        self.active = True
        self.fired = False


class _Watchdog:
    """Shut down the socket of any request still running at its deadline.

    One daemon thread per transport, started with the first request, sleeping until the
    earliest deadline, and ending after ``_IDLE_SECONDS`` with nothing to watch (the next
    request starts another). :meth:`arm` and :meth:`disarm` cost a lock and a heap push; alarms
    disarmed before their time are dropped lazily (the heap is rebuilt when they are most of it).
    """

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._heap: list = []
        self._active = 0
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(self, sock, deadline: float) -> _Alarm:
        alarm = _Alarm(sock, deadline)
        with self._cond:
            self._closed = False  # also for a transport used again after close()
            if len(self._heap) > 2 * self._active + 64:
                self._heap = [entry for entry in self._heap if entry[2].active]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, (deadline, next(self._order), alarm))
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="clarify-deadline", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is alarm:
                self._cond.notify()
        return alarm

    def disarm(self, alarm: _Alarm) -> bool:
        """Stop watching; True when the deadline had already passed (the socket is shut)."""
        with self._cond:
            if alarm.active:
                alarm.active = False
                self._active -= 1
            return alarm.fired

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                heap = self._heap
                while heap and (not heap[0][2].active or heap[0][0] <= now):
                    alarm = heapq.heappop(heap)[2]
                    if alarm.active:
                        alarm.active, alarm.fired = False, True
                        self._active -= 1
                        try:
                            alarm.sock.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass  # already closed: the request has ended anyway
                if not heap:
                    # idle: end after a while (a transport never closed leaves no thread behind)
                    if not self._cond.wait(_IDLE_SECONDS) and not self._heap:
                        break
                    continue
                self._cond.wait(heap[0][0] - now)
            self._thread = None


class _ConnectionPool:
    """Keep-alive :mod:`http.client` connections to one host, one per concurrent sender.

    At most ``size`` connections exist at once; a sender beyond that waits for one to be
    returned. An idle connection the server has closed meanwhile (its socket reads as
    ready: EOF) is dropped before reuse, so a request is never sent on a dead socket and
    nothing is sent twice.
    """

    def __init__(self, scheme: str, netloc: str, timeout: float, size: int, *,
                 ssl_context: ssl.SSLContext | None = None, proxy: str | None = None,
                 proxy_headers: dict[str, str] | None = None):
        self._https = scheme == "https"
        self._netloc = netloc
        self._timeout = timeout
        self._context = ssl_context
        self._proxy = urlsplit(proxy) if proxy else None
        self._proxy_headers = dict(proxy_headers or {})
        if self._proxy is not None and self._proxy.scheme != "http":
            raise ValueError(f"proxy: expected an http:// proxy URL, found {redact_url(proxy)!r} "
                             "(TLS to the proxy itself is not supported; the tunnel to an https endpoint is TLS)")
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
                return self._connection()
            sock = conn.sock
            if sock is not None and not select.select([sock], [], [], 0)[0]:
                return conn
            conn.close()  # closed by the server while idle (or never connected)

    def _connection(self) -> http.client.HTTPConnection:
        """A new (unconnected) connection: to the host, or to the proxy (a CONNECT tunnel for https)."""
        if self._proxy is None:
            if self._https:
                return http.client.HTTPSConnection(self._netloc, timeout=self._timeout, context=self._context)
            return http.client.HTTPConnection(self._netloc, timeout=self._timeout)
        proxy = _host(self._proxy)
        if not self._https:  # an http:// target: the request line names it in full (see request_target)
            return http.client.HTTPConnection(proxy, timeout=self._timeout)
        conn = http.client.HTTPSConnection(proxy, timeout=self._timeout, context=self._context)
        conn.set_tunnel(self._netloc, headers=self._proxy_headers or None)
        return conn

    def request_target(self, path: str) -> str:
        """The request line's target for ``path``: the absolute URL through an http proxy, else ``path``."""
        if self._proxy is None or self._https:
            return path
        return f"http://{self._netloc}{path}"

    def extra_headers(self) -> dict[str, str]:
        """Headers every request carries for the proxy (``Proxy-Authorization`` through an http proxy)."""
        return {} if self._proxy is None or self._https else self._proxy_headers

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


class HttpTransport(Closing):
    """Send request bodies to one URL with a pool of keep-alive connections.

    Parameters
    ----------
    url : str
        Full invocation URL, e.g. ``http://127.0.0.1:8080/invocations`` or
        ``http://host:port/endpoints/NAME/invocations``. Credentials in it
        (``http://user:password@host/...``) are sent as HTTP Basic auth.
    timeout : float, default 60
        Seconds to wait for the connection and, separately, between bytes of the reply.
    pool_size : int, default 16
        Connections kept open; size it to the number of concurrent senders (more senders
        than connections wait for a free one rather than opening extra sockets).
    headers : dict of str to str, optional
        Extra headers for every request (e.g. ``X-Amzn-SageMaker-Custom-Attributes``).
    max_reply_bytes : int, default 8_000_000
        Longest reply body read; a longer one fails the request (``code="ReplyTooLarge"``).
    deadline : float, optional
        Seconds one request may take in all, from connecting to the last byte of the reply
        (``code="Timeout"`` past it). Default: twice ``timeout``.
    ssl_context : ssl.SSLContext, optional
        For ``https://`` URLs: the TLS settings (CA bundle, verification); default: Python's
        default context (the system's CAs).
    proxy : str, optional
        An ``http://host:port`` proxy: ``https://`` URLs are reached through a ``CONNECT``
        tunnel, ``http://`` URLs by naming them in full in the request line.
    proxy_headers : dict of str to str, optional
        Headers for the proxy (e.g. ``Proxy-Authorization``).

    Attributes
    ----------
    url : str
        The URL with its credentials replaced by ``***`` (:func:`redact_url`): safe to show.

    Notes
    -----
    Thread-safe: each concurrent request takes its own keep-alive :mod:`http.client`
    connection from a small pool (plain ``http.client`` costs about 70 us of CPU per request,
    urllib3 about 180 us: at several thousand requests a second that is the client's bottleneck).
    Nothing is retried or redirected here: the batching layer retries.
    """

    def __init__(self, url: str, *, timeout: float = 60.0, pool_size: int = 16, headers: dict[str, str] | None = None,
                 max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES, deadline: float | None = None,
                 ssl_context: ssl.SSLContext | None = None, proxy: str | None = None,
                 proxy_headers: dict[str, str] | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not _host(parts):
            raise ValueError(f"url: expected an http:// or https:// URL with a host, found {redact_url(url)!r}")
        positive_seconds("HttpTransport", "timeout", timeout)
        positive_int("HttpTransport", "pool_size", pool_size)
        positive_int("HttpTransport", "max_reply_bytes", max_reply_bytes)
        deadline = positive_seconds("HttpTransport", "deadline", 2.0 * timeout if deadline is None else deadline)
        self.url = redact_url(url)
        self.timeout = float(timeout)
        self.pool_size = int(pool_size)
        self.max_reply_bytes = max_reply_bytes
        self.deadline = float(deadline)
        self.headers = dict(headers or {})
        self._target = url
        self._auth = _basic_auth(parts)
        self._path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        self._connections = _ConnectionPool(parts.scheme, _host(parts), min(self.timeout, self.deadline),
                                            self.pool_size, ssl_context=ssl_context, proxy=proxy,
                                            proxy_headers=proxy_headers)
        self._watchdog = _Watchdog()

    def __repr__(self) -> str:
        return f"HttpTransport({self.url!r}, timeout={self.timeout:g}, pool_size={self.pool_size})"

    def send(self, body: bytes, *, content_type: str, accept: str) -> bytes:
        """POST ``body`` and return the reply body.

        Raises
        ------
        TransportError
            Status >= 400 (``status`` set, the body quoted), timeout or deadline passed
            (``code="Timeout"``), a refused/dropped connection or a reply cut short
            (``code="ConnectionError"``), a reply over ``max_reply_bytes``
            (``code="ReplyTooLarge"``).
        """
        headers = {**self.headers, "Content-Type": content_type, "Accept": accept}
        if self._auth is not None:
            headers["Authorization"] = self._auth
        try:
            status, reply_headers, data = self._exchange(body, headers, self.url)
        except (OSError, http.client.HTTPException) as exc:
            raise _map_socket_error(exc, self.url, self.timeout) from exc
        if status >= 400:
            raise _status_error(self.url, status, reply_headers, data)
        return data

    def _exchange(self, body: bytes, headers: dict[str, str], where: str) -> tuple[int, Any, bytes]:
        """POST ``body`` with exactly ``headers`` on a pooled connection: (status, headers, body).

        The deadline and the reply limit are enforced here (:class:`TransportError` naming
        ``where``); other socket and protocol failures propagate as they are
        (:class:`OSError`, :class:`http.client.HTTPException`) for the caller to word.
        """
        conn = self._connections.acquire()
        reusable = False
        alarm = None
        try:
            deadline = time.monotonic() + self.deadline
            if conn.sock is None:
                conn.connect()
            alarm = self._watchdog.arm(conn.sock, deadline)
            extra = self._connections.extra_headers()
            conn.request("POST", self._connections.request_target(self._path), body=body,
                         headers={**extra, **headers} if extra else headers)
            reply = conn.getresponse()
            data = _read_reply(reply, self.max_reply_bytes, where)
            reusable = not reply.will_close
        except (OSError, http.client.HTTPException) as exc:
            if alarm is not None and self._watchdog.disarm(alarm):
                raise deadline_passed(where, self.deadline) from exc
            raise
        finally:
            fired = alarm is not None and self._watchdog.disarm(alarm)
            self._connections.release(conn, reusable and not fired)
        return reply.status, reply.headers, data

    def ping(self) -> None:
        """``GET /ping`` on this URL's server; raise :class:`TransportError` unless it answers 200."""
        ping(self._target, timeout=min(self.timeout, 10.0))

    def close(self) -> None:
        """Close the pooled connections and stop the deadline watchdog."""
        self._connections.clear()
        self._watchdog.close()


def _read_reply(reply: http.client.HTTPResponse, limit: int, where: str) -> bytes:
    """The reply body, at most ``limit`` bytes (:class:`TransportError` ``ReplyTooLarge`` beyond)."""
    if reply.length is not None:  # Content-Length: refuse before reading a byte of a reply too long
        if reply.length > limit:
            raise reply_too_large(where, limit, reply.length)
        return reply.read()
    parts, total = [], 0
    while True:  # chunked or read to the end of the connection: count as it comes
        chunk = reply.read1(_READ_CHUNK)
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > limit:
            raise reply_too_large(where, limit, None)
        parts.append(chunk)


def ping_url(url: str) -> str:
    """The ``/ping`` URL of the server of ``url`` (path replaced)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/ping", "", ""))


def ping(url: str, *, timeout: float = 5.0) -> None:
    """Check a model server's health with ``GET /ping``.

    Parameters
    ----------
    url : str
        The server's base URL or any URL on it (its path is replaced by ``/ping``); its
        credentials, if any, are sent as HTTP Basic auth.
    timeout : float, default 5
        Seconds to wait for the connection and, separately, between bytes of the reply.

    Raises
    ------
    TransportError
        No reply, or a reply other than 200 (redirects are not followed). Messages show the
        URL without its credentials.
    """
    target = ping_url(url)
    parts = urlsplit(target)
    shown = redact_url(target)
    factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = factory(_host(parts), timeout=timeout)
    auth = _basic_auth(parts)
    try:
        conn.request("GET", "/ping", headers={"Authorization": auth} if auth else {})
        reply = conn.getresponse()
        data = _read_reply(reply, DEFAULT_MAX_REPLY_BYTES, shown)
    except (OSError, http.client.HTTPException) as exc:
        raise _map_socket_error(exc, shown, timeout) from exc
    finally:
        conn.close()
    if reply.status != 200:
        raise _status_error(shown, reply.status, reply.headers, data)
