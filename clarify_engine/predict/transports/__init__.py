"""Transports: send one request body, return the reply body, or raise :class:`TransportError`.

* :class:`HttpTransport`: a model server over HTTP(S), a small pool of keep-alive connections;
* :class:`SageMakerRuntimeTransport`: ``InvokeEndpoint``, SigV4-signed with botocore's signer,
  over the same pooled connections;
* :class:`MockTransport`: a function of the request, to test offline;
* :class:`ShadowEndpoint`: a temporary endpoint for a model, deleted after the job (used with
  the SageMaker runtime transport);
* :class:`InProcessModel` and :func:`load_model`: a model in this process, called directly
  with the rows (no request bodies at all).
"""

from clarify_engine.predict.transports._http import DEFAULT_MAX_REPLY_BYTES, HttpTransport, ping, redact_url
from clarify_engine.predict.transports._inprocess import InProcessModel, load_model
from clarify_engine.predict.transports._mock import MockRequest, MockTransport
from clarify_engine.predict.transports._model_files import MODEL_FILE_HELP, TRUSTED_ENV
from clarify_engine.predict.transports._sagemaker import SageMakerRuntimeTransport
from clarify_engine.predict.transports._shadow import ShadowEndpoint

__all__ = [
    "DEFAULT_MAX_REPLY_BYTES",
    "HttpTransport",
    "InProcessModel",
    "MODEL_FILE_HELP",
    "MockRequest",
    "MockTransport",
    "SageMakerRuntimeTransport",
    "ShadowEndpoint",
    "TRUSTED_ENV",
    "load_model",
    "ping",
    "redact_url",
]
