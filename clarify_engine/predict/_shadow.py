"""Shadow endpoints: a temporary SageMaker endpoint for ``predictor.model_name``.

Clarify creates an endpoint from the model, sends its requests there and deletes the endpoint
when the analysis is done (contract §5.1). :class:`ShadowEndpoint` does that as a context
manager whose exit *always* deletes what it created: on success, on an exception, and on the
``BaseException`` the container raises on SIGTERM (``JobStopped``) or a KeyboardInterrupt —
also when these arrive while the endpoint is still being created.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any, Callable

from clarify_engine.errors import ModelError

__all__ = ["ShadowEndpoint", "shadow_endpoint_name"]

log = logging.getLogger("clarify_engine.predict")

#: SageMaker's limits: endpoint (and endpoint config) names <= 63 characters; Clarify's
#: ``endpoint_name_prefix`` <= 23 characters, letters/digits separated by hyphens.
MAX_NAME = 63
MAX_PREFIX = 23
_PREFIX_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
_WAITING = ("Creating", "Updating", "SystemUpdating")
#: Hex digits of the random suffix: 23 + 1 + 16 = 40 <= 63.
SUFFIX_LEN = 16


def shadow_endpoint_name(prefix: str = "sm-clarify", *, token: str | None = None) -> str:
    """``prefix-<16 hex digits>``: a fresh endpoint name within SageMaker's limits.

    Raises
    ------
    ValueError
        The prefix is longer than 23 characters or not letters/digits separated by hyphens.
    """
    if not isinstance(prefix, str) or len(prefix) > MAX_PREFIX or not _PREFIX_RE.match(prefix):
        raise ValueError(
            f"endpoint_name_prefix: expected 1 to {MAX_PREFIX} letters or digits separated by "
            f"hyphens (regex {_PREFIX_RE.pattern}), found {prefix!r}"
        )
    name = f"{prefix}-{token or uuid.uuid4().hex[:SUFFIX_LEN]}"
    assert len(name) <= MAX_NAME
    return name


class ShadowEndpoint:
    """Create a SageMaker endpoint for a model, wait for it, delete it on exit.

    Parameters
    ----------
    model_name : str
        An existing SageMaker model (``predictor.model_name``).
    instance_type : str
        e.g. ``"ml.m5.large"`` (``predictor.instance_type``).
    initial_instance_count : int
        ``predictor.initial_instance_count``.
    accelerator_type : str, optional
        Elastic Inference accelerator (``predictor.accelerator_type``).
    endpoint_name_prefix : str, default "sm-clarify"
        The name is ``prefix-<16 hex digits>``; at most 23 characters.
    sagemaker_client : botocore client, optional
        A ``sagemaker`` (control plane) client; default: ``boto3.client("sagemaker")`` with the
        standard AWS settings (``AWS_ENDPOINT_URL_SAGEMAKER``/``AWS_ENDPOINT_URL`` included).
    timeout : float, default 3600
        Seconds to wait for ``InService``.
    poll_interval : float, default 15
        Seconds between ``DescribeEndpoint`` calls.
    sleep, clock : callable, optional
        ``time.sleep`` and ``time.monotonic`` unless given (tests pass fakes).

    Attributes
    ----------
    endpoint_name : str
        The endpoint's (and its endpoint config's) name, fixed at construction.
    cleanup_errors : list of str
        Deletions that failed on exit (also logged as errors, with the names to delete by hand).

    Examples
    --------
    >>> with ShadowEndpoint("my-model", "ml.m5.large", 1) as name:  # doctest: +SKIP
    ...     transport = SageMakerRuntimeTransport(name)
    """

    def __init__(
        self,
        model_name: str,
        instance_type: str,
        initial_instance_count: int,
        accelerator_type: str | None = None,
        endpoint_name_prefix: str = "sm-clarify",
        sagemaker_client: Any = None,
        *,
        timeout: float = 3600.0,
        poll_interval: float = 15.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not model_name:
            raise ValueError("model_name: expected a SageMaker model name, found an empty value")
        if not isinstance(initial_instance_count, int) or initial_instance_count < 1:
            raise ValueError(f"initial_instance_count: expected an integer >= 1, found {initial_instance_count!r}")
        self.model_name = model_name
        self.instance_type = instance_type
        self.initial_instance_count = initial_instance_count
        self.accelerator_type = accelerator_type
        self.endpoint_name = shadow_endpoint_name(endpoint_name_prefix or "sm-clarify")
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._clock = clock
        self._client = sagemaker_client
        self._config_created = False
        self._endpoint_created = False
        self.cleanup_errors: list[str] = []

    @property
    def client(self) -> Any:
        """The SageMaker control-plane client (created on first use)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("sagemaker")
        return self._client

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> str:
        try:
            self._create()
            self._wait_in_service()
        except BaseException:
            self._delete()
            raise
        return self.endpoint_name

    def __exit__(self, exc_type, exc, tb) -> None:
        self._delete()

    def _create(self) -> None:
        variant: dict[str, Any] = {
            "VariantName": "AllTraffic",
            "ModelName": self.model_name,
            "InitialInstanceCount": self.initial_instance_count,
            "InstanceType": self.instance_type,
        }
        if self.accelerator_type:
            variant["AcceleratorType"] = self.accelerator_type
        name = self.endpoint_name
        log.info("Creating shadow endpoint %s for model %s (%d x %s)", name, self.model_name,
                 self.initial_instance_count, self.instance_type)
        self._aws("CreateEndpointConfig", self.client.create_endpoint_config,
                  EndpointConfigName=name, ProductionVariants=[variant])
        self._config_created = True
        self._aws("CreateEndpoint", self.client.create_endpoint, EndpointName=name, EndpointConfigName=name)
        self._endpoint_created = True

    def _wait_in_service(self) -> None:
        deadline = self._clock() + self.timeout
        while True:
            desc = self._aws("DescribeEndpoint", self.client.describe_endpoint, EndpointName=self.endpoint_name)
            status = desc.get("EndpointStatus")
            if status == "InService":
                log.info("Shadow endpoint %s is InService", self.endpoint_name)
                return
            if status not in _WAITING:
                reason = desc.get("FailureReason") or "no FailureReason given"
                raise ModelError(
                    f"shadow endpoint {self.endpoint_name} for model {self.model_name} is {status}, "
                    f"expected InService: {reason}"
                )
            if self._clock() >= deadline:
                raise ModelError(
                    f"shadow endpoint {self.endpoint_name} for model {self.model_name} is still "
                    f"{status} after {self.timeout:g} s; expected InService"
                )
            self._sleep(self.poll_interval)

    def _aws(self, operation: str, call: Callable[..., Any], **params: Any) -> Any:
        try:
            return call(**params)
        except Exception as exc:
            raise ModelError(
                f"shadow endpoint {self.endpoint_name} for model {self.model_name}: {operation} "
                f"failed: {exc}"
            ) from exc

    def _delete(self) -> None:
        """Delete the endpoint, then its config; each is tried even if the other fails."""
        try:
            if self._endpoint_created:
                self._try_delete("DeleteEndpoint", self.client.delete_endpoint, EndpointName=self.endpoint_name)
                self._endpoint_created = False
        finally:
            if self._config_created:
                self._try_delete("DeleteEndpointConfig", self.client.delete_endpoint_config,
                                 EndpointConfigName=self.endpoint_name)
                self._config_created = False

    def _try_delete(self, operation: str, call: Callable[..., Any], **params: Any) -> None:
        log.info("%s %s", operation, self.endpoint_name)
        try:
            call(**params)
        except Exception as exc:
            command = re.sub(r"(?<!^)([A-Z])", r"-\1", operation).lower()
            text = (f"{operation} {self.endpoint_name} failed: {exc}; delete it yourself "
                    f"(aws sagemaker {command} ...)")
            self.cleanup_errors.append(text)
            log.error("Shadow endpoint cleanup: %s", text)
