"""A local model server that speaks the SageMaker container protocol.

``clarify-engine serve-model MODEL_FILE --port N`` (or ``python -m clarify_engine.serve``)
loads a model file (see :func:`clarify_engine.predict.load_model`: ``.skops``, xgboost
``.json``/``.ubj``, joblib/pickle, a SageMaker ``model.tar.gz`` or ``xgboost-model``) and
serves it, so that an analysis can run against a real HTTP endpoint without AWS, and so that
the model client is tested against a real server.

Routes
------
``GET /ping``
    200 with an empty body once the model is loaded (never asks for credentials).
``POST /invocations``
    The container route (what SageMaker itself calls).
``POST /endpoints/<NAME>/invocations``
    The SageMaker *runtime* route, so boto3 ``invoke_endpoint`` works with
    ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://host:port``. On this route failures are
    answered the way SageMaker runtime does: a model failure is HTTP 424 with
    ``x-amzn-ErrorType: ModelError`` and a JSON body carrying ``OriginalStatusCode`` and
    ``OriginalMessage``; an unknown endpoint name (when ``--endpoint-name`` is given) is 400
    ``ValidationError``.

Requests and replies
--------------------
Request bodies (``Content-Type``): see :mod:`clarify_engine.serve._requests`. Replies
(``Accept``; default: the request's content type) in the shape of ``--reply-format``:
``default``, or that of SageMaker's built-in ``xgboost`` or ``linear-learner`` algorithm; see
:mod:`clarify_engine.serve._replies`. The ``default`` CSV layout is ``--csv-output``, or per
request the header ``X-Clarify-Output`` or the custom attribute ``clarify-output=...`` in
``X-Amzn-SageMaker-Custom-Attributes``.

Bad requests are answered 400 (411 without ``Content-Length``, 413 above ``--max-body-mb``,
415 for an unsupported content type, 406 for an unsupported accept type) with a one-line
message; model failures 500 with the model's message.

Limits
------
* ``--auth USER:PASSWORD`` (or the environment variable ``CLARIFY_SERVE_AUTH``): POST routes
  need HTTP basic auth; others get 401 and their body is not read.
* ``--idle-timeout`` seconds (default 60): a connection that sends nothing for that long
  (idle between keep-alive requests, or stalled inside one) is closed.
* ``--max-body-mb`` (default 256): larger bodies (and a negative ``Content-Length``) are
  refused before any is read.
* A request is parsed, predicted and answered in chunks of records: it costs the body, the
  reply and one chunk, not copies of the body as Python objects (see ``docs/models.md``).

Modules
-------
``_requests`` and ``_replies``: the wire format, pure functions from bytes to frames and from
model outputs to bytes (table-tested); ``_server``: the HTTP handler and :class:`ModelServer`;
``_command``: the command line (``__main__`` runs it).
"""

from clarify_engine.serve._command import build_parser, main, run
from clarify_engine.serve._replies import CSV_OUTPUTS, REPLY_FORMATS
from clarify_engine.serve._server import AUTH_ENV, ModelServer, make_server, parse_auth, serve

__all__ = ["AUTH_ENV", "CSV_OUTPUTS", "REPLY_FORMATS", "ModelServer", "build_parser", "main", "make_server",
           "parse_auth", "run", "serve"]
