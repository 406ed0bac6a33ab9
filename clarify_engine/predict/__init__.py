"""The model client: one interface from feature rows to labels and scores.

:func:`make_predictor` assembles a :class:`Predictor` from a config and an optional model:

- an in-process model (an estimator with ``predict_proba``/``predict``, a callable, or a
  joblib/pickle/xgboost file path): called directly, no serialisation;
- an ``http://`` / ``https://`` URL of a server speaking SageMaker's container protocol;
- otherwise the config's ``predictor``: ``endpoint_name`` through the SageMaker runtime, or a
  shadow endpoint created from ``model_name`` for the job and deleted afterwards.

Remote models go through the :class:`~clarify_engine.predict._batching.Batcher`: few, large,
concurrent requests within the payload limit, retries, the split-the-batch fallback.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from clarify_engine.errors import ConfigError
from clarify_engine.predict._base import ModelOutput, RequestCodec, ResponseCodec, Transport, TransportError
from clarify_engine.predict._batching import Batcher
from clarify_engine.predict._codecs import request_codec, response_codec
from clarify_engine.predict._http import DEFAULT_MAX_REPLY_BYTES, HttpTransport, ping, redact_url
from clarify_engine.predict._inprocess import InProcessModel, load_model
from clarify_engine.predict._labels import model_scores, predicted_labels, score_columns
from clarify_engine.predict._retry import RetryPolicy
from clarify_engine.predict._sagemaker import SageMakerRuntimeTransport
from clarify_engine.predict._shadow import ShadowEndpoint
from clarify_engine.predict._spec import ModelSpec

__all__ = [
    "Batcher",
    "ClientOptions",
    "HttpTransport",
    "InProcessModel",
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

log = logging.getLogger("clarify_engine")


@dataclass(frozen=True)
class ClientOptions:
    """How hard the client may push a remote model.

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
    """

    concurrency: int = 4
    max_payload_bytes: int = 5_800_000
    max_records: int | None = 1000
    timeout: float = 60.0
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES
    request_deadline: float | None = None

    def __post_init__(self):
        if isinstance(self.max_reply_bytes, bool) or not isinstance(self.max_reply_bytes, int) \
                or self.max_reply_bytes < 1:
            raise ConfigError("ClientOptions.max_reply_bytes",
                              f"expected an int >= 1 (bytes; --max-reply-mb in MB on the command line), "
                              f"found {self.max_reply_bytes!r}")
        if not self.timeout > 0:
            raise ConfigError("ClientOptions.timeout", f"expected seconds > 0 (--timeout), found {self.timeout!r}")
        if self.request_deadline is not None and not self.request_deadline > 0:
            raise ConfigError("ClientOptions.request_deadline",
                              f"expected seconds > 0 (--request-deadline), or None for twice the timeout; "
                              f"found {self.request_deadline!r}")

    @property
    def deadline(self) -> float:
        """Seconds one request may take in all (``request_deadline``, or twice ``timeout``)."""
        return 2.0 * self.timeout if self.request_deadline is None else float(self.request_deadline)


class Predictor:
    """Feature rows in, :class:`ModelOutput` and predicted labels out, in input order.

    Use as a context manager: leaving it closes connections and deletes a shadow endpoint.
    """

    def __init__(self, call, *, description: str, classes=None, exit_stack: contextlib.ExitStack | None = None,
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

    def __enter__(self) -> "Predictor":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


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
    resp = response_codec(spec.accept_type or spec.content_type, label=spec.label, probability=spec.probability)
    return req, resp


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
    model : estimator, callable, str or path-like, optional
        An in-process model, a model file, or an ``http(s)://`` URL of a model server.
    options : ClientOptions, optional
        Concurrency, payload and reply limits, records per request, timeout and request
        deadline for remote models.

    Returns
    -------
    Predictor
        Close it (or use ``with``) to release connections and delete a shadow endpoint.
    """
    options = options or ClientOptions()
    p = spec

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
        batcher = Batcher(transport, req, resp, max_payload_bytes=options.max_payload_bytes,
                          max_records=options.max_records, concurrency=options.concurrency)
    except BaseException:
        stack.close()
        raise
    return Predictor(batcher.predict, description=description, exit_stack=stack, batcher=batcher)
