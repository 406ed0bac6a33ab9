"""The model client: one interface from feature rows to labels and scores.

:func:`make_predictor` assembles a :class:`Predictor` from a :class:`ModelSpec` (the job planner resolves it from the config) and an optional model:

- an in-process model (an estimator with ``predict_proba``/``predict``, a callable, or a
  joblib/pickle/xgboost file path): called directly, no serialisation;
- an ``http://`` / ``https://`` URL of a server speaking SageMaker's container protocol;
- a :class:`Transport` of the caller's (e.g. a :class:`MockTransport`, to test offline);
- otherwise the spec (the config's ``predictor`` block): ``endpoint_name`` through the SageMaker runtime, or a
  shadow endpoint created from ``model_name`` for the job and deleted afterwards.

Remote models go through the :class:`Batcher`: few, large, concurrent requests within the
payload limit, retries, the split-the-batch fallback.

Layers (``docs/architecture.md``): :mod:`~clarify_engine.predict.codecs` turn rows into request
bodies and replies into :class:`ModelOutput`; :mod:`~clarify_engine.predict.transports` carry
one body; :mod:`~clarify_engine.predict.batching` plans, sends, retries and splits. This module
only assembles them from a :class:`ModelSpec` and :class:`ClientOptions`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from clarify_engine import _client_defaults as _defaults
from clarify_engine.errors import ConfigError
from clarify_engine.predict._base import Closing, ModelOutput, RequestCodec, ResponseCodec, Transport, TransportError
from clarify_engine.predict._check import argument_error, positive_int, positive_seconds
from clarify_engine.predict._labels import model_scores, predicted_labels, score_columns
from clarify_engine.predict._spec import ModelSpec
from clarify_engine.predict.batching import Batcher, BatchStats, RetryPolicy
from clarify_engine.predict.codecs import is_number, request_codec, response_codec
from clarify_engine.predict.transports import (
    HttpTransport,
    InProcessModel,
    MockRequest,
    MockTransport,
    SageMakerRuntimeTransport,
    ShadowEndpoint,
    load_model,
    ping,
    redact_url,
)

__all__ = [
    "BatchStats",
    "Batcher",
    "ClientOptions",
    "HttpTransport",
    "InProcessModel",
    "MockRequest",
    "MockTransport",
    "ModelOutput",
    "ModelSpec",
    "Predictor",
    "RequestCodec",
    "ResponseCodec",
    "RetryPolicy",
    "SageMakerRuntimeTransport",
    "ShadowEndpoint",
    "Transport",
    "TransportError",
    "is_number",
    "load_model",
    "make_predictor",
    "model_scores",
    "ping",
    "predicted_labels",
    "redact_url",
    "request_codec",
    "response_codec",
    "score_columns",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientOptions:
    """How hard the client may push a remote model, and what it reports while it does.

    The defaults are those of :mod:`clarify_engine._client_defaults` (also the command line's).

    Attributes
    ----------
    concurrency : int
        Requests in flight at once, at most (fewer while the endpoint throttles).
    max_payload_bytes : int
        Largest request body (InvokeEndpoint takes at most 6 MB).
    max_records : int or None
        Most records per request.
    timeout : float
        Seconds to wait for a connection, and between two reads of a reply, before the
        request counts as failed (and is retried).
    max_reply_bytes : int
        Longest reply read (8 MB by default): a longer one fails its request, which is then
        split (fewer records, shorter replies). Decoding a reply takes about 25 times its size
        in memory, once per request in flight.
    request_deadline : float or None
        Seconds one request may take in all, from sending it to the last byte of the reply,
        however the reply trickles in; None: twice ``timeout``.
    retry : RetryPolicy
        Attempts per request and the backoff between them (``--max-attempts``,
        ``--throttle-attempts`` on the command line).
    on_progress : callable or None
        ``on_progress(rows_done, unique_rows)``, called from the predicting thread after each
        request completes (see :class:`Batcher`).
    progress_interval : float
        Seconds between two progress log lines.
    chunk_rows : int
        Rows encoded at a time while earlier requests are in flight.
    """

    concurrency: int = _defaults.CONCURRENCY
    max_payload_bytes: int = _defaults.MAX_PAYLOAD_BYTES
    max_records: int | None = _defaults.MAX_RECORDS
    timeout: float = _defaults.TIMEOUT
    max_reply_bytes: int = _defaults.MAX_REPLY_BYTES
    request_deadline: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_progress: Callable[[int, int], None] | None = None
    progress_interval: float = _defaults.PROGRESS_INTERVAL
    chunk_rows: int = _defaults.CHUNK_ROWS

    def __post_init__(self) -> None:
        owner = "ClientOptions"
        positive_int(owner, "concurrency", self.concurrency, hint=" (--concurrency)")
        positive_int(owner, "max_payload_bytes", self.max_payload_bytes,
                     hint=" (bytes; --max-payload-mb in MB on the command line)")
        if self.max_records is not None:
            positive_int(owner, "max_records", self.max_records, hint=" (--max-records), or None")
        positive_int(owner, "max_reply_bytes", self.max_reply_bytes,
                     hint=" (bytes; --max-reply-mb in MB on the command line)")
        positive_seconds(owner, "timeout", self.timeout, hint=" (--timeout)")
        if self.request_deadline is not None:
            positive_seconds(owner, "request_deadline", self.request_deadline,
                             hint=" (--request-deadline), or None for twice the timeout")
        if not isinstance(self.retry, RetryPolicy):
            raise argument_error(owner, "retry", "a RetryPolicy", self.retry, wrong_type=True)
        if self.on_progress is not None and not callable(self.on_progress):
            raise argument_error(owner, "on_progress", "a callable (rows_done, unique_rows), or None",
                                 self.on_progress, wrong_type=True)
        positive_seconds(owner, "progress_interval", self.progress_interval)
        positive_int(owner, "chunk_rows", self.chunk_rows)

    @property
    def deadline(self) -> float:
        """Seconds one request may take in all (``request_deadline``, or twice ``timeout``)."""
        return 2.0 * self.timeout if self.request_deadline is None else float(self.request_deadline)


class Predictor(Closing):
    """Feature rows in, :class:`ModelOutput` and predicted labels out, in input order.

    Use as a context manager: leaving it closes connections and deletes a shadow endpoint.
    """

    def __init__(self, call: Callable[[Any], ModelOutput], *, description: str,
                 classes: Sequence[object] | None = None, exit_stack: contextlib.ExitStack | None = None,
                 batcher: Batcher | None = None, in_process: InProcessModel | None = None):
        self._call = call
        #: The in-process model answering, None for an endpoint (exact SHAP paths read it).
        self.in_process = in_process
        self.description = description
        self.classes = classes
        self.batcher = batcher
        self._stack = exit_stack or contextlib.ExitStack()

    def predict(self, rows: pd.DataFrame) -> ModelOutput:
        """The model's answer for each row of ``rows`` (feature columns only, model order)."""
        return self._call(rows)

    def labels(self, output: ModelOutput, *, label_headers: Sequence | None = None,
               probability_threshold: float = 0.5) -> np.ndarray:
        """Predicted labels from ``output`` (contract §5.3).

        A binary classifier's single score is compared with ``probability_threshold`` and
        mapped to its two classes when they are known (in-process estimators), so string
        classes stay strings; otherwise :func:`predicted_labels` decides, with
        ``label_headers`` naming the scores.
        """
        scores = output.scores
        if self.classes is not None and len(self.classes) == 2 and scores is not None and scores.shape[1] == 1:
            return np.where(scores[:, 0] > probability_threshold, self.classes[1], self.classes[0])
        return predicted_labels(output, label_headers=label_headers, probability_threshold=probability_threshold)

    def close(self) -> None:
        self._stack.close()


def _is_url(model: Any) -> bool:
    return isinstance(model, str) and model.startswith(("http://", "https://"))


def _invocations_url(url: str) -> str:
    """``http://host:port`` means the container protocol's ``/invocations``."""
    stripped = url.rstrip("/")
    if stripped.count("/") <= 2:  # scheme://host[:port] with no path
        return stripped + "/invocations"
    return url


def _codecs(spec: ModelSpec, features: Sequence[str]) -> tuple[RequestCodec, ResponseCodec]:
    if spec.content_type is None:
        raise ConfigError("predictor.content_type", "needed to call a remote model with this dataset type; "
                                                    "give a predictor block with content_type")
    req = request_codec(spec.content_type, feature_names=list(features), content_template=spec.content_template,
                        record_template=spec.record_template)
    resp = response_codec(spec.accept_type or spec.content_type, label=spec.label, probability=spec.probability,
                          image_model_type=spec.image_model_type)
    return req, resp


def _batcher(transport: Transport, req: RequestCodec, resp: ResponseCodec, options: ClientOptions) -> Batcher:
    """The batcher for a remote model, with every client option."""
    return Batcher(transport, req, resp, max_payload_bytes=options.max_payload_bytes,
                   max_records=options.max_records, concurrency=options.concurrency,
                   retry=options.retry, on_progress=options.on_progress,
                   progress_interval=options.progress_interval, chunk_rows=options.chunk_rows)


def make_predictor(spec: ModelSpec, features: Sequence[str], model: Any = None,
                   options: ClientOptions | None = None) -> Predictor:
    """Assemble the predictor for a job.

    Parameters
    ----------
    spec : ModelSpec
        The request/response formats and, when ``model`` is None, the endpoint
        (``endpoint_name``) or the model for a shadow endpoint (``model_name``,
        ``instance_type``, ``initial_instance_count``); the job planner resolves it from
        the config's ``predictor`` block.
    features : sequence of str
        The feature columns sent to the model, in order.
    model : estimator, callable, str, path-like or Transport, optional
        An in-process model, a model file, an ``http(s)://`` URL of a model server, or a
        :class:`Transport` (e.g. a :class:`MockTransport` to test offline) that the request
        bodies go to, with the spec's content and accept types; the caller closes it.
    options : ClientOptions, optional
        Concurrency, payload and reply limits, records per request, timeout, request
        deadline, retry policy and progress callback for remote models.

    Returns
    -------
    Predictor
        Close it (or use ``with``) to release connections and delete a shadow endpoint.
    """
    options = options or ClientOptions()
    p = spec

    if isinstance(model, Transport):  # e.g. a MockTransport: the spec's formats, the caller's transport
        req, resp = _codecs(spec, features)
        batcher = _batcher(model, req, resp, options)
        return Predictor(batcher.predict, description=f"transport {model!r}", batcher=batcher)

    if model is not None and not _is_url(model):
        if isinstance(model, (str, os.PathLike)):
            path = Path(model)
            model = load_model(path)
            description = f"in-process model from {path}"
        else:
            description = f"in-process model {type(model).__module__}.{type(model).__qualname__}"
        wrapped = InProcessModel(model)
        return Predictor(wrapped.predict, description=description, classes=wrapped.classes, in_process=wrapped)

    stack = contextlib.ExitStack()
    try:
        limits = {"timeout": options.timeout, "pool_size": max(options.concurrency, 1),
                  "max_reply_bytes": options.max_reply_bytes, "deadline": options.deadline}
        if _is_url(model):
            transport: Transport = HttpTransport(_invocations_url(model), **limits)
            description = f"model server {transport.url}"  # credentials shown as ***
        elif p.endpoint_name is not None:
            transport = SageMakerRuntimeTransport(p.endpoint_name, target_model=p.target_model,
                                                  custom_attributes=p.custom_attributes, **limits)
            description = f"SageMaker endpoint {p.endpoint_name}"
        elif p.model_name is not None:
            shadow = ShadowEndpoint(p.model_name, p.instance_type, p.initial_instance_count,
                                    accelerator_type=p.accelerator_type,
                                    endpoint_name_prefix=p.endpoint_name_prefix)
            name = stack.enter_context(shadow)
            transport = SageMakerRuntimeTransport(name, target_model=p.target_model,
                                                  custom_attributes=p.custom_attributes, **limits)
            description = f"shadow endpoint {name} of model {p.model_name}"
        else:
            raise ConfigError("predictor", "no model to call: give endpoint_name or model_name in the predictor "
                                           "block, or a model (analyze(model=...), --model)")
        stack.callback(transport.close)
        req, resp = _codecs(spec, features)
        batcher = _batcher(transport, req, resp, options)
    except BaseException:
        stack.close()
        raise
    return Predictor(batcher.predict, description=description, exit_stack=stack, batcher=batcher)
