"""The model server: the HTTP handler (routes, auth, limits) and :class:`ModelServer`.

The wire format (request parsing, reply shapes) is :mod:`._requests` and :mod:`._replies`;
the command line is :mod:`._command`; the protocol is described in :mod:`clarify_engine.serve`.
"""

from __future__ import annotations

import base64
import errno
import hmac
import json
import logging
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from clarify_engine.serve._replies import CSV_OUTPUTS, REPLY_FORMATS, check_accept, reply_pieces
from clarify_engine.serve._requests import BadRequest, media_type, parse_request
from clarify_engine.errors import ClarifyError
from clarify_engine.predict import InProcessModel

__all__ = ["AUTH_ENV", "CHUNK_RECORDS", "IDLE_TIMEOUT", "MAX_BODY", "ModelServer", "make_server", "parse_auth", "serve"]

log = logging.getLogger(__name__)

#: Environment variable holding ``USER:PASSWORD`` for basic auth (kept out of ``ps`` output).
AUTH_ENV = "CLARIFY_SERVE_AUTH"
#: Request bodies larger than this are refused by default (SageMaker's real-time limit is
#: 6 MB; local use can send more, but not unbounded).
MAX_BODY = 256 * 1024 * 1024
#: Seconds a connection may stay silent (between requests, or inside one) before it is closed.
IDLE_TIMEOUT = 60.0
#: Records parsed, predicted and formatted at a time.
CHUNK_RECORDS = 20_000


class _Abort(Exception):
    """The client went away or stalled: close the connection without a reply."""



def _csv_output_of(headers, default: str) -> str:
    value = headers.get("X-Clarify-Output")
    if value is None:
        attrs = headers.get("X-Amzn-SageMaker-Custom-Attributes") or ""
        for part in attrs.split(";"):
            key, _, val = part.partition("=")
            if key.strip().lower() == "clarify-output":
                value = val
    if value is None:
        return default
    value = value.strip().replace(" ", "")
    if value not in CSV_OUTPUTS:
        raise BadRequest(f"csv output {value!r} is not one of {', '.join(CSV_OUTPUTS)}")
    return value


def parse_auth(value: str, where: str) -> str:
    """The ``Authorization`` header value expected for ``USER:PASSWORD``.

    Raises
    ------
    ClarifyError
        ``value`` has no colon or an empty user.
    """
    user, sep, _ = value.partition(":")
    if not sep or not user:
        raise ClarifyError(f"{where}: expected USER:PASSWORD (a user name, a colon, the password); give e.g. "
                           "--auth alice:secret, or set CLARIFY_SERVE_AUTH=alice:secret")
    return "Basic " + base64.b64encode(value.encode("utf-8")).decode("ascii")


# -- the server -----------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "ModelServer"

    def setup(self) -> None:
        # every wait for bytes (the next request line, headers, body) ends after idle_timeout
        self.timeout = self.server.idle_timeout
        super().setup()
        # Headers and body are written separately: without this, Nagle + delayed ACK stall
        # every keep-alive reply by tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    def _reply(self, status: int, body: bytes | list[bytes], content_type: str = "text/plain; charset=utf-8",
               extra: dict | None = None) -> None:
        pieces = [body] if isinstance(body, bytes) else body
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(sum(map(len, pieces))))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            for piece in pieces:
                self.wfile.write(piece)
        except OSError as exc:  # the client left or stopped reading (timeout): nothing to answer
            log.debug("reply to %s not sent: %s", self.address_string(), exc)
            self.close_connection = True

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/ping":
            self._reply(200, b"")
        else:
            self._reply(404, f"no route GET {self.path}; try GET /ping or POST /invocations".encode())

    def _authorized(self) -> bool:
        expected = self.server.auth_header
        if expected is None:
            return True
        given = self.headers.get("Authorization") or ""
        if hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii")):
            return True
        self.close_connection = True  # the body is not read: the connection cannot be reused
        what = "no Authorization header" if not given else "wrong credentials"
        self._reply(401, f"{what}: this server needs HTTP basic auth with the user:password it was started "
                         f"with (serve-model --auth or {AUTH_ENV})".encode(),
                    extra={"WWW-Authenticate": 'Basic realm="clarify-engine serve-model", charset="UTF-8"'})
        return False

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise BadRequest("Content-Length header is required", status=411)
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            raise BadRequest(f"Content-Length {length!r} is not an integer") from None
        if n < 0:
            self.close_connection = True
            raise BadRequest(f"Content-Length {n} is negative; send the body's size in bytes")
        limit = self.server.max_body
        if n > limit:
            self.close_connection = True
            raise BadRequest(f"request body of {n} bytes is larger than {limit} bytes; send fewer records per "
                             "request (or start serve-model with a larger --max-body-mb)", status=413)
        try:
            body = self.rfile.read(n)
        except OSError as exc:  # TimeoutError: stalled inside the body
            self.close_connection = True
            raise _Abort(f"body not received: {exc}") from exc
        if len(body) != n:
            self.close_connection = True
            raise _Abort(f"connection closed after {len(body)} of {n} body bytes")
        return body

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        runtime = False
        if path == "/invocations":
            pass
        elif path.startswith("/endpoints/") and path.endswith("/invocations"):
            runtime = True
        else:
            if self._authorized() and self._read_body_quietly():
                self._reply(404, f"no route POST {self.path}; use /invocations or /endpoints/NAME/invocations".encode())
            return
        if not self._authorized():
            return
        if runtime:
            name = path[len("/endpoints/"):-len("/invocations")]
            wanted = self.server.endpoint_name
            if wanted is not None and name != wanted:
                if self._read_body_quietly():
                    self._runtime_error(400, "ValidationError", f"Endpoint {name} not found (this server serves {wanted}).")
                return
        try:
            # (the body is not kept here: invoke can drop it once parsed)
            status, reply, ctype = self.server.invoke(self._read_body(), self.headers)
        except _Abort as exc:
            log.info("%s: %s; connection closed", self.address_string(), exc)
            return
        except BadRequest as exc:
            status, reply, ctype = exc.status, [str(exc).encode()], "text/plain; charset=utf-8"
        except Exception as exc:  # a bug or an unforeseen input: answer, keep serving
            log.exception("invocation failed")
            status, reply, ctype = 500, [f"{type(exc).__name__}: {exc}".encode()], "text/plain; charset=utf-8"
        if status >= 400 and runtime:
            self._model_error(status, b"".join(reply).decode("utf-8", errors="replace"))
            return
        self._reply(status, reply, ctype)

    def _read_body_quietly(self) -> bool:
        """Read and drop the body; False when the connection is gone (nothing to answer)."""
        try:
            self._read_body()
        except BadRequest:
            pass
        except _Abort:
            return False
        return True

    def _runtime_error(self, status: int, code: str, message: str, **fields: Any) -> None:
        body = json.dumps({"ErrorCode": code, "message": message, **fields}).encode()
        self._reply(status, body, "application/json", {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.sagemaker/"})

    def _model_error(self, original_status: int, message: str) -> None:
        kind = "client" if original_status < 500 else "server"
        self._runtime_error(
            424,
            "ModelError",
            f"Received {kind} error ({original_status}) from primary with message \"{message}\".",
            OriginalStatusCode=original_status,
            OriginalMessage=message,
        )


class ModelServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 keep-alive server around one :class:`InProcessModel`.

    Parameters
    ----------
    model : object
        Estimator, callable or :class:`InProcessModel`.
    address : (str, int)
        Host and port (port 0: any free port; read :attr:`port`).
    endpoint_name : str, optional
        Only this name is accepted on ``/endpoints/<NAME>/invocations`` (any name when None).
    csv_output : str, default "probability"
        Default CSV reply layout of the ``default`` reply format, one of :data:`CSV_OUTPUTS`.
    reply_format : str, default "default"
        Reply shape, one of :data:`REPLY_FORMATS` (see :mod:`clarify_engine.serve._replies`).
    auth : str, optional
        ``USER:PASSWORD``: POST routes then need HTTP basic auth with them.
    idle_timeout : float, default 60
        Seconds a connection may send nothing before it is closed.
    max_body : int, default 256 MiB
        Largest request body accepted, in bytes.
    chunk_records : int, default 20000
        Records parsed, predicted and formatted at a time.

    Raises
    ------
    ClarifyError
        The address cannot be bound (port in use, no permission, unknown host).
    """

    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, model: Any, address: tuple[str, int], *, endpoint_name: str | None = None,
                 csv_output: str = "probability", reply_format: str = "default", auth: str | None = None,
                 idle_timeout: float = IDLE_TIMEOUT, max_body: int = MAX_BODY, chunk_records: int = CHUNK_RECORDS):
        if csv_output not in CSV_OUTPUTS:
            raise ValueError(f"csv_output: expected one of {CSV_OUTPUTS}, found {csv_output!r}")
        if reply_format not in REPLY_FORMATS:
            raise ValueError(f"reply_format: expected one of {REPLY_FORMATS}, found {reply_format!r}")
        if not idle_timeout > 0:
            raise ValueError(f"idle_timeout: expected a number of seconds > 0, found {idle_timeout!r}")
        self.model = model if isinstance(model, InProcessModel) else InProcessModel(model)
        self.endpoint_name = endpoint_name
        self.csv_output = csv_output
        self.reply_format = reply_format
        self.auth_header = None if auth is None else parse_auth(auth, "auth")
        self.idle_timeout = float(idle_timeout)
        self.max_body = int(max_body)
        self.chunk_records = int(chunk_records)
        try:
            super().__init__(address, _Handler)
        except OSError as exc:
            raise _bind_error(address, exc) from exc

    @property
    def port(self) -> int:
        """The bound port."""
        return self.server_address[1]

    @property
    def url(self) -> str:
        """``http://host:port`` of this server."""
        host = self.server_address[0]
        return f"http://{host}:{self.port}"

    def invoke(self, body: bytes, headers) -> tuple[int, list[bytes], str]:
        """Answer one invocation: (status, body pieces, content type)."""
        content_type = media_type(headers.get("Content-Type"))
        if content_type is None:
            raise BadRequest(
                f"Content-Type {headers.get('Content-Type')!r} is not supported; expected text/csv, "
                "application/jsonlines or application/json",
                status=415,
            )
        raw_accept = headers.get("Accept")
        accept = content_type if raw_accept in (None, "", "*/*") else media_type(raw_accept)
        if accept is None:
            raise BadRequest(
                f"Accept {raw_accept!r} is not supported; expected text/csv, application/jsonlines or application/json",
                status=406,
            )
        check_accept(accept, self.reply_format)
        csv_output = _csv_output_of(headers, self.csv_output)
        frames = parse_request(body, content_type, self.model, self.chunk_records)
        del body  # the handler's reference goes too once it returns
        try:
            pieces = reply_pieces(map(self.model.predict, frames), accept, csv_output, self.reply_format)
        except ClarifyError as exc:
            log.warning("model failure: %s", exc)
            return 500, [str(exc).encode()], "text/plain; charset=utf-8"
        return 200, pieces, accept


def _bind_error(address: tuple[str, int], exc: OSError) -> ClarifyError:
    host, port = address
    if exc.errno == errno.EADDRINUSE:
        return ClarifyError(f"port {port} on {host} is already in use; stop the program using it, or choose "
                            "another port with --port (0 picks a free one)")
    if exc.errno == errno.EACCES:
        return ClarifyError(f"no permission to listen on port {port} of {host}; ports below 1024 need "
                            "privileges: choose a port of 1024 or more with --port")
    reason = exc.strerror or str(exc)
    return ClarifyError(f"cannot listen on {host}:{port}: {reason}; check --host and --port")


def make_server(model: Any, host: str = "127.0.0.1", port: int = 8080, **options: Any) -> ModelServer:
    """A bound, not yet serving :class:`ModelServer` (call ``serve_forever`` or use a thread).

    ``options`` are the keyword arguments of :class:`ModelServer`.
    """
    return ModelServer(model, (host, port), **options)


def serve(model: Any, host: str = "127.0.0.1", port: int = 8080, *, ready: Any = None, **options: Any) -> None:
    """Serve ``model`` until interrupted (KeyboardInterrupt stops it cleanly).

    Parameters
    ----------
    model : object
        Estimator, callable or :class:`InProcessModel`.
    host, port : str, int
        Address to bind (port 0: any free port).
    ready : callable, optional
        Called with the bound server before serving (e.g. to print its port).
    **options
        Keyword arguments of :class:`ModelServer` (``endpoint_name``, ``csv_output``,
        ``reply_format``, ``auth``, ``idle_timeout``, ``max_body``).
    """
    server = make_server(model, host, port, **options)
    try:
        if ready is not None:
            ready(server)
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
