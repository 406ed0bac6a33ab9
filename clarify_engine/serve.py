"""A local model server that speaks the SageMaker container protocol.

``clarify-engine serve-model MODEL_FILE --port N`` (or ``python -m clarify_engine.serve``)
loads a joblib/pickle/xgboost model file and serves it, so that an analysis can run against a
real HTTP endpoint without AWS, and so that the model client is tested against a real server.

Routes
------
``GET /ping``
    200 with an empty body once the model is loaded.
``POST /invocations``
    The container route (what SageMaker itself calls).
``POST /endpoints/<NAME>/invocations``
    The SageMaker *runtime* route, so boto3 ``invoke_endpoint`` works with
    ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://host:port``. On this route failures are
    answered the way SageMaker runtime does: a model failure is HTTP 424 with
    ``x-amzn-ErrorType: ModelError`` and a JSON body carrying ``OriginalStatusCode`` and
    ``OriginalMessage``; an unknown endpoint name (when ``--endpoint-name`` is given) is 400
    ``ValidationError``.

Requests (``Content-Type``)
---------------------------
``text/csv``
    One record per line, no header, feature values in the model's order.
``application/jsonlines``
    One JSON value per line: a list of feature values, or an object with one list-valued
    field holding them (``{"features": [...]}``, ``{"Features": [...]}``, any name).
``application/json``
    ``{"instances": [...]}`` or a bare list; each instance a list of feature values, an
    object with one list-valued field (as above), or a ``{feature_name: value}`` object
    (ordered by the model's ``feature_names_in_`` when it has them).

Responses (``Accept``; default: the request's content type)
-----------------------------------------------------------
Scores follow :mod:`clarify_engine.predict._inprocess`: the *probability* of a binary
classifier is the positive-class probability; of a multi-class one, the probability of the
predicted label (all class probabilities are in ``probabilities``); of a regressor, its value.

``text/csv``
    One line per record, chosen by the *CSV output* setting (``--csv-output`` for the server,
    or per request the header ``X-Clarify-Output`` or the custom attribute
    ``clarify-output=...`` in ``X-Amzn-SageMaker-Custom-Attributes``):
    ``probability`` (default: the probability; all class probabilities for a multi-class
    model; the label for a label-only model), ``label``, ``label,probability`` (the label,
    then what ``probability`` gives), ``probabilities`` (every class probability, both for a
    binary model).
``application/jsonlines``
    ``{"predicted_label": l, "probability": p}`` per line, plus ``"probabilities": [...]``
    for a multi-class model; a regressor gives ``{"score": v}``.
``application/json``
    ``{"predictions": [{"predicted_label": l, "score": p, "probabilities": [...]}, ...]}``
    (``probabilities`` for classifiers; a regressor gives ``{"score": v}``).

Bad requests are answered 400 (415 for an unsupported content type, 406 for an unsupported
accept type) with a one-line message; model failures 500 with the model's message.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import socket
import sys
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd

from clarify_engine.errors import ClarifyError, ModelError
from clarify_engine.predict._base import ModelOutput
from clarify_engine.predict._inprocess import InProcessModel, load_model

__all__ = ["CSV_OUTPUTS", "ModelServer", "build_parser", "main", "make_server", "serve"]

log = logging.getLogger("clarify_engine.serve")

CSV_OUTPUTS = ("probability", "label", "label,probability", "probabilities")
_CSV = "text/csv"
_JSONL = "application/jsonlines"
_JSON = "application/json"
_ALIASES = {
    "text/csv": _CSV,
    "application/csv": _CSV,
    "application/jsonlines": _JSONL,
    "application/x-jsonlines": _JSONL,
    "application/jsonl": _JSONL,
    "application/json": _JSON,
}
#: Request bodies larger than this are refused (SageMaker's real-time limit is 6 MB; local
#: use can send more, but not unbounded).
MAX_BODY = 256 * 1024 * 1024
#: CSV bodies up to this size are first tried with :func:`numpy.loadtxt` (faster when small).
_LOADTXT_MAX = 64 * 1024


class BadRequest(Exception):
    """The request cannot be read: answered with ``status`` and the message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _media_type(value: str | None) -> str | None:
    if not value:
        return None
    return _ALIASES.get(value.split(";", 1)[0].strip().lower())


# -- request parsing ------------------------------------------------------------------------
def _feature_list(record: Any, where: str) -> Any:
    """A record that is a list, or an object holding its features in its one list-valued field."""
    if isinstance(record, list):
        return record
    if isinstance(record, dict):
        lists = [v for v in record.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
        return record
    raise BadRequest(f"{where}: expected a list of feature values or an object, found {type(record).__name__}")


def _records_frame(records: list, where: str, model: InProcessModel) -> pd.DataFrame:
    """Frame of feature rows from JSON records (all lists, or all name->value objects)."""
    if not records:
        raise BadRequest(f"{where}: no records in the request")
    first = _feature_list(records[0], f"{where} record 0")
    if isinstance(first, list):
        rows = [r if isinstance(r, list) else _feature_list(r, f"{where} record {i}") for i, r in enumerate(records)]
        bad = [i for i, r in enumerate(rows) if not isinstance(r, list)]
        if bad:
            raise BadRequest(f"{where} record {bad[0]}: expected a list of feature values like record 0, found an object")
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            lengths = [len(r) for r in rows]
            i = next(i for i, n in enumerate(lengths) if n != lengths[0])
            raise BadRequest(f"{where} record {i}: {lengths[i]} feature values, but record 0 has {lengths[0]}")
        return _positional(pd.DataFrame(rows), model)
    if not all(isinstance(r, dict) for r in records):
        i = next(i for i, r in enumerate(records) if not isinstance(r, dict))
        raise BadRequest(f"{where} record {i}: expected a {{name: value}} object like record 0")
    frame = pd.DataFrame.from_records(records)
    if model.feature_names is not None:
        missing = [n for n in model.feature_names if n not in frame.columns]
        if missing:
            raise BadRequest(f"{where}: records lack the model's features {missing}; found keys {list(frame.columns)}")
        frame = frame[model.feature_names]
    return frame


def _positional(frame: pd.DataFrame, model: InProcessModel) -> pd.DataFrame:
    expected = getattr(model.model, "n_features_in_", None)
    if expected is not None and frame.shape[1] != expected:
        raise BadRequest(f"records have {frame.shape[1]} feature values; the model expects {expected}")
    if model.feature_names is not None:
        frame.columns = model.feature_names
    return frame


def parse_request(body: bytes, content_type: str, model: InProcessModel) -> pd.DataFrame:
    """Feature frame of shape (n_records, n_features) from a request body.

    Raises
    ------
    BadRequest
        The body does not hold records of the content type.
    """
    if not body.strip():
        raise BadRequest("empty request body: expected at least one record")
    if content_type == _CSV:
        if len(body) <= _LOADTXT_MAX:
            # numpy's C reader has a fraction of pandas' fixed cost on small, all-numeric bodies
            try:
                return _positional(pd.DataFrame(np.loadtxt(io.BytesIO(body), delimiter=",", ndmin=2)), model)
            except ValueError:
                pass  # text cells, ragged or malformed rows: pandas reads or explains them
        try:
            frame = pd.read_csv(io.BytesIO(body), header=None, skipinitialspace=True)
        except (ValueError, pd.errors.ParserError) as exc:
            raise BadRequest(f"text/csv body could not be read: {exc}") from exc
        return _positional(frame, model)
    if content_type == _JSONL:
        lines = [line for line in body.split(b"\n") if line.strip()]
        try:
            records = json.loads(b"[" + b",".join(lines) + b"]")
        except ValueError:
            for i, line in enumerate(lines):
                try:
                    json.loads(line)
                except ValueError as exc:
                    raise BadRequest(f"application/jsonlines line {i + 1} is not JSON: {exc}: {line[:100]!r}") from exc
            raise BadRequest("application/jsonlines body is not one JSON value per line")
        return _records_frame(records, "application/jsonlines", model)
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"application/json body is not JSON: {exc}") from exc
    if isinstance(doc, dict):
        if "instances" not in doc:
            raise BadRequest(f'application/json body: expected {{"instances": [...]}} or a list, found keys {list(doc)[:10]}')
        doc = doc["instances"]
    if not isinstance(doc, list):
        raise BadRequest(f"application/json instances: expected a list, found {type(doc).__name__}")
    return _records_frame(doc, "application/json instances", model)


# -- response formatting --------------------------------------------------------------------
@dataclass
class _Answer:
    """A model's answer in the server's terms: labels, 'the' probability, all probabilities."""

    labels: list | None
    probability: np.ndarray | None  # (n,) or None
    probabilities: np.ndarray | None  # (n, k) or None (classifiers)
    scores: np.ndarray | None  # (n, k) regression/other scores when not a classifier


def _answer(out: ModelOutput) -> _Answer:
    labels = None if out.labels is None else np.asarray(out.labels).tolist()
    scores = out.scores
    if scores is None:
        return _Answer(labels, None, None, None)
    if labels is None:
        return _Answer(None, scores[:, 0] if scores.shape[1] == 1 else None, None, scores)
    if scores.shape[1] == 1:
        p = scores[:, 0]
        return _Answer(labels, p, np.column_stack([1.0 - p, p]), None)
    return _Answer(labels, scores.max(axis=1), scores, None)


def _csv_quote(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_column(values: list) -> list[str]:
    """Cells of one column as text: floats in shortest round-trip form, text quoted if needed."""
    if all(type(v) is float for v in values):
        return list(map(repr, values))
    if all(type(v) in (int, bool) for v in values):
        return list(map(str, values))
    return [_csv_quote(repr(v) if isinstance(v, float) else str(v)) for v in values]


def _csv_lines(columns: list[list]) -> bytes:
    cells = [_csv_column(col) for col in columns]
    lines = cells[0] if len(cells) == 1 else map(",".join, zip(*cells))
    return ("\n".join(lines) + "\n").encode()


def format_csv(ans: _Answer, output: str) -> bytes:
    """CSV reply, one line per record, for one of :data:`CSV_OUTPUTS`."""
    if ans.probabilities is not None:
        multi = ans.probabilities.shape[1] > 2
        probs = ans.probabilities.T.tolist() if multi or output == "probabilities" else [ans.probability.tolist()]
    elif ans.scores is not None:
        probs = ans.scores.T.tolist()
    else:
        probs = None
    if output == "label" or probs is None:
        if ans.labels is None:
            raise ModelError("the model gives no labels; ask for csv output 'probability'")
        return _csv_lines([ans.labels])
    if output == "label,probability" and ans.labels is not None:
        return _csv_lines([ans.labels, *probs])
    return _csv_lines(probs)


def _records(ans: _Answer, score_key: str) -> list[dict]:
    if ans.probabilities is not None:
        p = ans.probability.tolist()
        if ans.probabilities.shape[1] > 2 or score_key == "score":
            allp = ans.probabilities.tolist()
            return [{"predicted_label": l, score_key: s, "probabilities": a} for l, s, a in zip(ans.labels, p, allp)]
        return [{"predicted_label": l, score_key: s} for l, s in zip(ans.labels, p)]
    if ans.scores is not None:
        values = ans.scores[:, 0].tolist() if ans.scores.shape[1] == 1 else ans.scores.tolist()
        return [{"score": v} for v in values]
    return [{"predicted_label": l} for l in ans.labels]


def format_reply(out: ModelOutput, accept: str, csv_output: str) -> bytes:
    """The reply body for ``accept`` (see the module notes)."""
    ans = _answer(out)
    if accept == _CSV:
        return format_csv(ans, csv_output)
    if accept == _JSONL:
        return ("\n".join(map(json.dumps, _records(ans, "probability"))) + "\n").encode()
    return json.dumps({"predictions": _records(ans, "score")}).encode()


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


# -- the server -----------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "ModelServer"

    def setup(self) -> None:
        super().setup()
        # Headers and body are written separately: without this, Nagle + delayed ACK stall
        # every keep-alive reply by tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8", extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/ping":
            self._reply(200, b"")
        else:
            self._reply(404, f"no route GET {self.path}; try GET /ping or POST /invocations".encode())

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
        if n > MAX_BODY:
            self.close_connection = True
            raise BadRequest(f"request body of {n} bytes is larger than {MAX_BODY} bytes", status=413)
        return self.rfile.read(n)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        runtime = False
        if path == "/invocations":
            pass
        elif path.startswith("/endpoints/") and path.endswith("/invocations"):
            runtime = True
            name = path[len("/endpoints/"):-len("/invocations")]
            wanted = self.server.endpoint_name
            if wanted is not None and name != wanted:
                self._read_body_quietly()
                self._runtime_error(400, "ValidationError", f"Endpoint {name} not found (this server serves {wanted}).")
                return
        else:
            self._read_body_quietly()
            self._reply(404, f"no route POST {self.path}; use /invocations or /endpoints/NAME/invocations".encode())
            return
        try:
            body = self._read_body()
            status, reply, ctype = self.server.invoke(body, self.headers)
        except BadRequest as exc:
            status, reply, ctype = exc.status, str(exc).encode(), "text/plain; charset=utf-8"
        except Exception as exc:  # a bug or an unforeseen input: answer, keep serving
            log.exception("invocation failed")
            status, reply, ctype = 500, f"{type(exc).__name__}: {exc}".encode(), "text/plain; charset=utf-8"
        if status >= 400 and runtime:
            self._model_error(status, reply.decode("utf-8", errors="replace"))
            return
        self._reply(status, reply, ctype)

    def _read_body_quietly(self) -> None:
        try:
            self._read_body()
        except BadRequest:
            pass

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
        Default CSV reply layout, one of :data:`CSV_OUTPUTS`.
    """

    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, model: Any, address: tuple[str, int], *, endpoint_name: str | None = None, csv_output: str = "probability"):
        if csv_output not in CSV_OUTPUTS:
            raise ValueError(f"csv_output: expected one of {CSV_OUTPUTS}, found {csv_output!r}")
        self.model = model if isinstance(model, InProcessModel) else InProcessModel(model)
        self.endpoint_name = endpoint_name
        self.csv_output = csv_output
        super().__init__(address, _Handler)

    @property
    def port(self) -> int:
        """The bound port."""
        return self.server_address[1]

    @property
    def url(self) -> str:
        """``http://host:port`` of this server."""
        host = self.server_address[0]
        return f"http://{host}:{self.port}"

    def invoke(self, body: bytes, headers) -> tuple[int, bytes, str]:
        """Answer one invocation: (status, body, content type)."""
        content_type = _media_type(headers.get("Content-Type"))
        if content_type is None:
            raise BadRequest(
                f"Content-Type {headers.get('Content-Type')!r} is not supported; expected text/csv, "
                "application/jsonlines or application/json",
                status=415,
            )
        raw_accept = headers.get("Accept")
        accept = content_type if raw_accept in (None, "", "*/*") else _media_type(raw_accept)
        if accept is None:
            raise BadRequest(
                f"Accept {raw_accept!r} is not supported; expected text/csv, application/jsonlines or application/json",
                status=406,
            )
        csv_output = _csv_output_of(headers, self.csv_output)
        frame = parse_request(body, content_type, self.model)
        try:
            out = self.model.predict(frame)
            reply = format_reply(out, accept, csv_output)
        except ClarifyError as exc:
            log.warning("model failure: %s", exc)
            return 500, str(exc).encode(), "text/plain; charset=utf-8"
        return 200, reply, accept


def make_server(model: Any, host: str = "127.0.0.1", port: int = 8080, *, endpoint_name: str | None = None, csv_output: str = "probability") -> ModelServer:
    """A bound, not yet serving :class:`ModelServer` (call ``serve_forever`` or use a thread)."""
    return ModelServer(model, (host, port), endpoint_name=endpoint_name, csv_output=csv_output)


def serve(model: Any, host: str = "127.0.0.1", port: int = 8080, *, endpoint_name: str | None = None, csv_output: str = "probability", ready: Any = None) -> None:
    """Serve ``model`` until interrupted (KeyboardInterrupt stops it cleanly).

    Parameters
    ----------
    model : object
        Estimator, callable or :class:`InProcessModel`.
    host, port : str, int
        Address to bind (port 0: any free port).
    endpoint_name : str, optional
        See :class:`ModelServer`.
    csv_output : str, default "probability"
        See :class:`ModelServer`.
    ready : callable, optional
        Called with the bound server before serving (e.g. to print its port).
    """
    server = make_server(model, host, port, endpoint_name=endpoint_name, csv_output=csv_output)
    try:
        if ready is not None:
            ready(server)
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of ``serve-model`` (added to ``parser`` when given, e.g. a CLI subparser)."""
    if parser is None:
        parser = argparse.ArgumentParser(prog="clarify-engine serve-model", description="Serve a model file over HTTP (SageMaker container protocol).")
    parser.add_argument("model_file", help="joblib/pickle file, or xgboost .json/.ubj model file")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--endpoint-name", default=None, help="accept only this name on /endpoints/NAME/invocations")
    parser.add_argument("--csv-output", default="probability", choices=CSV_OUTPUTS, help="text/csv reply layout (default: %(default)s)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``serve-model`` from parsed arguments: prints the bound port alone on the first stdout line."""
    model = load_model(args.model_file)

    def ready(server: ModelServer) -> None:
        print(server.port, flush=True)
        print(f"serving {args.model_file} on {server.url} (GET /ping, POST /invocations, "
              f"POST /endpoints/NAME/invocations)", flush=True)

    serve(model, args.host, args.port, endpoint_name=args.endpoint_name, csv_output=args.csv_output, ready=ready)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``clarify-engine serve-model MODEL_FILE --port N [--host H]``; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except ClarifyError as exc:
        print(f"clarify-engine serve-model: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover - exercised by subprocess tests
    sys.exit(main())
