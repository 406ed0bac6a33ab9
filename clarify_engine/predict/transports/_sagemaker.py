"""Invoke a SageMaker real-time endpoint: ``InvokeEndpoint`` signed with SigV4 over pooled connections.

botocore resolves everything but the sending: a ``sagemaker-runtime`` client is made once with
the standard AWS settings (credentials chain, ``AWS_DEFAULT_REGION`` and profiles, then
``AWS_REGION`` as SageMaker jobs set it; the endpoint URL with ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``
and ``AWS_ENDPOINT_URL`` taking precedence, as botocore reads them), and from it and its session
come the endpoint URL, the region, the signing name, the credentials (refreshed as botocore
refreshes them), the CA bundle (``AWS_CA_BUNDLE``, ``ca_bundle``, ``REQUESTS_CA_BUNDLE``) and the
proxy (``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``, through botocore's own functions). Each
request is then signed with botocore's :class:`botocore.auth.SigV4Auth` and sent over
:class:`~clarify_engine.predict.transports._http.HttpTransport`'s keep-alive pool. That is the whole of what
``invoke_endpoint`` does for this one operation, without its ~5 µs of CPU per row (event hooks,
parameter validation, response parsing, urllib3): see ``docs/performance.md``. Nothing is retried
here — the batching layer retries, from the :class:`~clarify_engine.predict._base.TransportError`
fields.

Error mapping
-------------
The reply is read as botocore's rest-json parser reads it: the error code from the
``x-amzn-ErrorType`` header, else the body's ``code``/``Code``/``__type``; the message from the
body's ``message``/``Message``, or the whole body when it is not JSON.

=====================================  ===================  =============================
failure                                ``status``           ``code``
=====================================  ===================  =============================
``ModelError`` reply                   ``OriginalStatusCode`` ``"ModelError"``
                                       (the model
                                       container's status;
                                       424 when absent)
other error reply                      HTTP status          the error code
                                                            (``ThrottlingException``,
                                                            ``ServiceUnavailable``,
                                                            ``ValidationError``,
                                                            ``SignatureDoesNotMatch``…), None
                                                            when the reply names none
no reply within ``timeout``, the       None                 ``"Timeout"``
request deadline passed
connection refused or failed, a        None                 ``"ConnectionError"``
reply cut off mid-body
a reply over ``max_reply_bytes``       None                 ``"ReplyTooLarge"``
no credentials                         None                 ``"NoCredentialsError"``
no region (when the transport is       None                 ``"NoRegionError"``
made)
=====================================  ===================  =============================

A reply cut off mid-body is a ``ConnectionError``, as :mod:`._http` reports it, so both paths
retry it the same way. ``max_reply_bytes`` and the request ``deadline`` are enforced by the
HTTP layer exactly as for a model server.
"""

from __future__ import annotations

import http.client
import os
import ssl
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from clarify_engine.predict._base import Closing, TransportError, parse_retry_after
from clarify_engine.predict._check import positive_int, positive_seconds
from clarify_engine.predict.transports._http import DEFAULT_MAX_REPLY_BYTES, HttpTransport, _json_object, _quote

__all__ = ["SageMakerRuntimeTransport"]

#: SigV4 signs these headers when present: what ``invoke_endpoint`` sends for our parameters.
_TARGET_MODEL = "X-Amzn-SageMaker-Target-Model"
_CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"


class SageMakerRuntimeTransport(Closing):
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
    session : botocore.session.Session, optional
        Where credentials and settings come from; default: a new botocore session (the
        standard AWS configuration).
    timeout : float, default 70
        Seconds to wait for the connection and between two reads of the reply (SageMaker
        answers within 60 s or fails the invocation).
    pool_size : int, default 16
        Keep-alive connections: at least the number of concurrent senders.
    max_reply_bytes : int, default 8_000_000
        Longest reply body read; a longer one fails the request (``code="ReplyTooLarge"``).
    deadline : float, optional
        Seconds one request may take in all (``code="Timeout"`` past it). Default: twice
        ``timeout``.

    Attributes
    ----------
    url : str
        The invocation URL (``{endpoint URL}/endpoints/{name}/invocations``), credentials
        shown as ``***``.
    region : str
        The region requests are signed for.

    Notes
    -----
    Thread-safe: each request is signed on its own with frozen credentials and takes its own
    pooled connection.
    """

    def __init__(
        self,
        endpoint_name: str,
        *,
        target_model: str | None = None,
        custom_attributes: str | None = None,
        region: str | None = None,
        session: Any = None,
        timeout: float = 70.0,
        pool_size: int = 16,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        deadline: float | None = None,
    ):
        if not endpoint_name:
            raise ValueError("endpoint_name: expected a SageMaker endpoint name, found an empty value")
        positive_seconds("SageMakerRuntimeTransport", "timeout", timeout)
        positive_int("SageMakerRuntimeTransport", "max_reply_bytes", max_reply_bytes)
        deadline = positive_seconds("SageMakerRuntimeTransport", "deadline",
                                    2.0 * timeout if deadline is None else deadline)
        from botocore.session import Session
        from botocore.utils import percent_encode

        self.endpoint_name = endpoint_name
        self.target_model = target_model
        self.custom_attributes = custom_attributes
        self.timeout = float(timeout)
        self.max_reply_bytes = max_reply_bytes
        self.deadline = float(deadline)
        self._session = session if session is not None else Session()
        self._client = self._make_client(self._session, region, min(self.timeout, self.deadline), pool_size)
        meta = self._client.meta
        self.region = meta.region_name
        self._signing_name = meta.service_model.signing_name
        self._where = f"endpoint {endpoint_name}"
        # botocore quotes a (non-greedy) URI label with its default safe characters
        target = f"{meta.endpoint_url.rstrip('/')}/endpoints/{percent_encode(endpoint_name)}/invocations"
        self._target = target  # as botocore would name it in its messages (credentials redacted there)
        parts = urlsplit(target)
        self._signed_url = urlunsplit((parts.scheme, _host_port(parts), parts.path, parts.query, ""))
        self._host = _signed_host(parts)
        verify, proxy, proxy_headers = _connection_settings(self._session, self._signed_url)
        self._http = HttpTransport(
            self._signed_url,
            timeout=self.timeout,
            pool_size=pool_size,
            max_reply_bytes=max_reply_bytes,
            deadline=self.deadline,
            ssl_context=_ssl_context(verify) if parts.scheme == "https" else None,
            proxy=proxy,
            proxy_headers=proxy_headers,
        )
        self.url = self._http.url
        self._credentials = self._session.get_credentials()

    @staticmethod
    def _make_client(session: Any, region: str | None, timeout: float, pool_size: int) -> Any:
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
        # botocore reads AWS_DEFAULT_REGION and profiles; SageMaker jobs set AWS_REGION.
        region = region or session.get_config_variable("region") or os.environ.get("AWS_REGION") or None
        try:
            return session.create_client("sagemaker-runtime", region_name=region, config=config)
        except BotoCoreError as exc:
            raise TransportError(
                f"cannot create a sagemaker-runtime client: {exc}; set AWS_REGION (or pass region)",
                code=type(exc).__name__,
            ) from exc

    @property
    def client(self) -> Any:
        """The botocore ``sagemaker-runtime`` client the settings were resolved with (requests do not go through it)."""
        return self._client

    def __repr__(self) -> str:
        return f"SageMakerRuntimeTransport({self.endpoint_name!r}, target_model={self.target_model!r})"

    def signed_headers(self, body: bytes, *, content_type: str, accept: str) -> dict[str, str]:
        """The headers of one ``InvokeEndpoint`` request for ``body``, signed with SigV4 now."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import NoCredentialsError

        if self._credentials is None:
            error = NoCredentialsError()
            raise TransportError(f"{self._where}: NoCredentialsError: {error}; set AWS credentials "
                                 "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or a role)",
                                 code="NoCredentialsError")
        headers = {"host": self._host, "Content-Type": content_type, "Accept": accept}
        if self.target_model is not None:
            headers[_TARGET_MODEL] = self.target_model
        if self.custom_attributes is not None:
            headers[_CUSTOM_ATTRIBUTES] = self.custom_attributes
        request = AWSRequest(method="POST", url=self._signed_url, data=body, headers=headers)
        SigV4Auth(self._credentials.get_frozen_credentials(), self._signing_name, self.region).add_auth(request)
        return dict(request.headers.items())

    def send(self, body: bytes, *, content_type: str, accept: str) -> bytes:
        """``InvokeEndpoint`` with ``body``; return the reply body (see the module's error table)."""
        headers = self.signed_headers(body, content_type=content_type, accept=accept)
        try:
            status, reply_headers, data = self._http._exchange(body, headers, self._where)
        except (OSError, http.client.HTTPException) as exc:
            raise self._socket_error(exc) from exc
        if status >= 400:
            raise _reply_error(self._where, status, reply_headers, data)
        return data

    def _socket_error(self, exc: BaseException) -> TransportError:
        """The error for a request that got no (whole) reply, worded as botocore words it."""
        where = self._where
        if isinstance(exc, TimeoutError):
            return TransportError(f"{where}: no reply in time: {exc}", code="Timeout")
        if isinstance(exc, (http.client.HTTPException, ConnectionResetError)):  # dropped, or cut off mid-reply
            return TransportError(f"{where}: the reply was cut off: {type(exc).__name__}: {exc}",
                                  code="ConnectionError")
        detail = "" if isinstance(exc, ConnectionRefusedError) else f" ({type(exc).__name__}: {exc})"
        return TransportError(f'{where}: connection failed: Could not connect to the endpoint URL: '
                              f'"{self._target}"{detail}', code="ConnectionError")

    def close(self) -> None:
        """Close the pooled connections (the transport stays usable: new ones open as needed)."""
        self._http.close()


def _host_port(parts: Any) -> str:
    """``host[:port]`` of a split URL, without credentials."""
    return parts.netloc.rpartition("@")[2]


def _signed_host(parts: Any) -> str:
    """The ``Host`` header SigV4 signs: the host name, and the port unless it is the scheme's default."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port is None or parts.port == default else f"{host}:{parts.port}"


def _connection_settings(session: Any, url: str) -> tuple[Any, str | None, dict[str, str]]:
    """(verify, proxy URL or None, proxy headers) for ``url``, resolved the way botocore resolves them.

    ``verify`` is the session's ``ca_bundle`` (``AWS_CA_BUNDLE``), else ``REQUESTS_CA_BUNDLE``,
    else True (botocore's default bundle); the proxy comes from the environment
    (``HTTPS_PROXY``/``HTTP_PROXY``, ``NO_PROXY`` honoured) through botocore's own functions.
    """
    from botocore.httpsession import ProxyConfiguration
    from botocore.utils import get_environ_proxies

    verify = session.get_config_variable("ca_bundle")
    if verify is None:
        verify = os.environ.get("REQUESTS_CA_BUNDLE", True)
    proxies = ProxyConfiguration(proxies=get_environ_proxies(url))
    proxy = proxies.proxy_url_for(url)
    return verify, proxy, (proxies.proxy_headers_for(proxy) if proxy else {})


def _ssl_context(verify: Any) -> ssl.SSLContext:
    """The TLS context for botocore's ``verify`` value: True (its default bundle), a CA bundle path, or False."""
    from botocore.httpsession import get_cert_path

    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    path = get_cert_path(verify)
    if os.path.isdir(path):
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)


def _reply_error(where: str, status: int, headers: Any, body: bytes) -> TransportError:
    """The error for an ``InvokeEndpoint`` error reply, read as botocore's rest-json parser reads it."""
    doc = _json_object(body)
    if not doc and body.strip():
        doc = {"message": body.decode("utf-8", errors="replace")}
    code = headers.get("x-amzn-ErrorType")
    if not code:
        code = doc.get("code", doc.get("Code", doc.get("__type")))
    if isinstance(code, str) and code:
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    else:
        code = None
    wait = parse_retry_after(headers.get("Retry-After"))
    message = doc.get("message", doc.get("Message")) or _quote(body) or "(empty body)"
    if code == "ModelError":
        original = doc.get("OriginalStatusCode")
        detail = doc.get("OriginalMessage")
        log_stream = doc.get("LogStreamArn")
        text = f"{where}: the model answered HTTP {original if original is not None else '?'}: {detail or message}"
        if log_stream:
            text += f" (logs: {log_stream})"
        status = int(original) if original is not None else status
        return TransportError(text, status=status, code=code, retry_after=wait)
    label = f"{code} (HTTP {status})" if code else f"HTTP {status}"
    return TransportError(f"{where}: {label}: {message}", status=status, code=code, retry_after=wait)
