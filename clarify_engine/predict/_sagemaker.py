"""Invoke a SageMaker real-time endpoint through boto3 (``sagemaker-runtime`` InvokeEndpoint).

The client is built with the standard AWS settings (credentials chain, ``AWS_DEFAULT_REGION``
and profiles, then ``AWS_REGION`` as SageMaker jobs set it; the endpoint overrides
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` and ``AWS_ENDPOINT_URL``, which botocore reads itself
and which the tests verify against ``clarify-engine serve-model``), with botocore's retries off — the
batching layer retries, from the :class:`~clarify_engine.predict._base.TransportError` fields —
and a connection pool sized for the number of concurrent senders.

Error mapping
-------------
=====================================  ===================  =============================
botocore error                         ``status``           ``code``
=====================================  ===================  =============================
``ClientError`` ``ModelError``         ``OriginalStatusCode`` ``"ModelError"``
                                       (the model
                                       container's status;
                                       424 when absent)
other ``ClientError``                  HTTP status          the error code
                                                            (``ThrottlingException``,
                                                            ``ServiceUnavailable``,
                                                            ``ValidationError``…), None
                                                            when the reply names none
``ReadTimeoutError``,                  None                 ``"Timeout"``
``ConnectTimeoutError``, the request
deadline passed
``EndpointConnectionError``,           None                 ``"ConnectionError"``
``ConnectionClosedError``, a reply
cut off mid-body (urllib3
``ProtocolError``, botocore
``IncompleteReadError``,
``ResponseStreamingError``)
a reply over ``max_reply_bytes``       None                 ``"ReplyTooLarge"``
other ``BotoCoreError`` (e.g. no       None                 the exception's class name
credentials)
=====================================  ===================  =============================

A reply cut off mid-body is a ``ConnectionError``, as :mod:`._http` reports it, so both paths
retry it the same way. The reply body is read a piece at a time: its ``Content-Length`` is
checked against ``max_reply_bytes`` before any of it is read, and the request ``deadline``
between the pieces (each read waits at most what is left of it). botocore sends the request
and waits for the reply's headers itself, each read bounded by ``timeout`` (itself at most the
deadline).
"""

from __future__ import annotations

import os
import time
from typing import Any

from clarify_engine.predict._base import TransportError, parse_retry_after
from clarify_engine.predict._http import DEFAULT_MAX_REPLY_BYTES, deadline_passed, reply_too_large

#: Bytes asked of the socket at a time while a reply body is read.
_READ_CHUNK = 1 << 16

__all__ = ["SageMakerRuntimeTransport"]


class SageMakerRuntimeTransport:
    """Send request bodies to a SageMaker endpoint with ``InvokeEndpoint``.

    Parameters
    ----------
    endpoint_name : str
        The endpoint (``predictor.endpoint_name``, or a shadow endpoint's name).
    target_model : str, optional
        ``TargetModel`` for multi-model endpoints (``predictor.target_model``).
    custom_attributes : str, optional
        ``CustomAttributes`` (``predictor.custom_attributes``).
    region : str, optional
        AWS region; default: the standard AWS configuration.
    client : botocore client, optional
        A ready ``sagemaker-runtime`` client (then ``timeout`` and ``pool_size`` are unused).
    timeout : float, default 70
        Read timeout in seconds (SageMaker answers within 60 s or fails the invocation).
    pool_size : int, default 16
        botocore's ``max_pool_connections``: at least the number of concurrent senders.
    max_reply_bytes : int, default 8_000_000
        Longest reply body read; a longer one fails the request (``code="ReplyTooLarge"``).
    deadline : float, optional
        Seconds one request may take in all (``code="Timeout"`` past it). Default: twice
        ``timeout``.

    Notes
    -----
    Thread-safe: botocore clients may be shared between threads.
    """

    def __init__(
        self,
        endpoint_name: str,
        *,
        target_model: str | None = None,
        custom_attributes: str | None = None,
        region: str | None = None,
        client: Any = None,
        timeout: float = 70.0,
        pool_size: int = 16,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        deadline: float | None = None,
    ):
        if not endpoint_name:
            raise ValueError("endpoint_name: expected a SageMaker endpoint name, found an empty value")
        if isinstance(max_reply_bytes, bool) or not isinstance(max_reply_bytes, int) or max_reply_bytes < 1:
            raise ValueError(f"max_reply_bytes: expected an integer >= 1, found {max_reply_bytes!r}")
        deadline = 2.0 * timeout if deadline is None else deadline
        if not deadline > 0:
            raise ValueError(f"deadline: expected a positive number of seconds, found {deadline!r}")
        self.endpoint_name = endpoint_name
        self.target_model = target_model
        self.custom_attributes = custom_attributes
        self.timeout = float(timeout)
        self.max_reply_bytes = max_reply_bytes
        self.deadline = float(deadline)
        self._client = (client if client is not None
                        else self._make_client(region, min(self.timeout, self.deadline), pool_size))

    @staticmethod
    def _make_client(region: str | None, timeout: float, pool_size: int) -> Any:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        config = Config(
            # botocore's "max_attempts" counts *retries* (1 would mean two calls):
            # "total_max_attempts": 1 is one call, no retry.
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=pool_size,
            connect_timeout=min(timeout, 10.0),
            read_timeout=timeout,
        )
        session = boto3.session.Session()
        # botocore reads AWS_DEFAULT_REGION and profiles; SageMaker jobs set AWS_REGION.
        region = region or session.region_name or os.environ.get("AWS_REGION") or None
        try:
            return session.client("sagemaker-runtime", region_name=region, config=config)
        except BotoCoreError as exc:
            raise TransportError(
                f"cannot create a sagemaker-runtime client: {exc}; set AWS_REGION (or pass region)",
                code=type(exc).__name__,
            ) from exc

    @property
    def client(self) -> Any:
        """The botocore ``sagemaker-runtime`` client."""
        return self._client

    def __repr__(self) -> str:
        return f"SageMakerRuntimeTransport({self.endpoint_name!r}, target_model={self.target_model!r})"

    def send(self, body: bytes, *, content_type: str, accept: str) -> bytes:
        """``InvokeEndpoint`` with ``body``; return the reply body (see the module's error table)."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            IncompleteReadError,
            ReadTimeoutError,
            ResponseStreamingError,
        )
        from urllib3.exceptions import ProtocolError as URLLib3ProtocolError
        from urllib3.exceptions import ReadTimeoutError as URLLib3ReadTimeoutError

        params: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "Body": body,
            "ContentType": content_type,
            "Accept": accept,
        }
        if self.target_model is not None:
            params["TargetModel"] = self.target_model
        if self.custom_attributes is not None:
            params["CustomAttributes"] = self.custom_attributes
        where = f"endpoint {self.endpoint_name}"
        deadline = time.monotonic() + self.deadline
        try:
            reply = self._client.invoke_endpoint(**params)
            return self._read_body(reply, deadline, where)
        except ClientError as exc:
            raise _client_error(exc, where) from exc
        except (ReadTimeoutError, ConnectTimeoutError, URLLib3ReadTimeoutError) as exc:
            if time.monotonic() >= deadline:
                raise deadline_passed(where, self.deadline) from exc
            raise TransportError(f"{where}: no reply in time: {exc}", code="Timeout") from exc
        except (EndpointConnectionError, ConnectionClosedError) as exc:
            raise TransportError(f"{where}: connection failed: {exc}", code="ConnectionError") from exc
        except (IncompleteReadError, ResponseStreamingError, URLLib3ProtocolError) as exc:
            raise TransportError(f"{where}: the reply was cut off: {exc}", code="ConnectionError") from exc
        except BotoCoreError as exc:
            raise TransportError(f"{where}: {type(exc).__name__}: {exc}", code=type(exc).__name__) from exc

    def _read_body(self, reply: dict, deadline: float, where: str) -> bytes:
        """The reply body, within ``max_reply_bytes`` and the request's ``deadline``."""
        stream = reply["Body"]
        headers = (reply.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        announced = headers.get("content-length")
        limit = self.max_reply_bytes
        try:
            if announced is not None and int(announced) > limit:
                raise reply_too_large(where, limit, int(announced))
            raw = getattr(stream, "_raw_stream", None)
            read1 = getattr(raw, "read1", None)
            if read1 is None:  # not a urllib3 stream (a client made elsewhere): bounded reads only
                data = stream.read(limit + 1)
                if len(data) > limit:
                    raise reply_too_large(where, limit, None)
                return data
            parts, total = [], 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise deadline_passed(where, self.deadline)
                if left < self.timeout:
                    stream.set_socket_timeout(left)
                chunk = read1(_READ_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise reply_too_large(where, limit, None)
                parts.append(chunk)
        except BaseException:
            stream.close()  # not read to its end: the connection is not reused
            raise
        if announced is not None and total != int(announced):
            raise TransportError(f"{where}: the reply was cut off: {total} of {announced} bytes came",
                                 code="ConnectionError")
        return b"".join(parts)

    def close(self) -> None:
        """Close the client's connections."""
        close = getattr(self._client, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "SageMakerRuntimeTransport":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _client_error(exc: Any, where: str) -> TransportError:
    response = exc.response or {}
    error = response.get("Error", {})
    code = error.get("Code") or None
    metadata = response.get("ResponseMetadata", {})
    status = metadata.get("HTTPStatusCode")
    wait = parse_retry_after((metadata.get("HTTPHeaders") or {}).get("retry-after"))
    message = error.get("Message") or str(exc)
    if code is not None and code == str(status):
        code = None  # botocore's stand-in when the reply names no error code
    if code == "ModelError":
        original = response.get("OriginalStatusCode")
        detail = response.get("OriginalMessage")
        log_stream = response.get("LogStreamArn")
        text = f"{where}: the model answered HTTP {original if original is not None else '?'}: {detail or message}"
        if log_stream:
            text += f" (logs: {log_stream})"
        status = int(original) if original is not None else status
        return TransportError(text, status=status, code=code, retry_after=wait)
    label = f"{code} (HTTP {status})" if code else f"HTTP {status}"
    return TransportError(f"{where}: {label}: {message}", status=status, code=code, retry_after=wait)
