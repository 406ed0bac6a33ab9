"""Shadow endpoints: a temporary SageMaker endpoint for ``predictor.model_name``.

Clarify creates an endpoint from the model, sends its requests there and deletes the endpoint
when the analysis is done (contract §5.1). :class:`ShadowEndpoint` does that as a context
manager whose exit *always* deletes what it created: on success, on an exception, and on
``JobStopped`` (SIGTERM) or a KeyboardInterrupt.

Creating a resource and recording that it exists is one step: the record is made before each
create call, so a call that fails (or times out after AWS acted on it) is still cleaned up,
and the step runs inside :func:`clarify_engine._stop.guarded`, so the stop deadline cannot
split it; SIGTERM only sets the stop flag, checked after the step. Deleting is guarded too.

What a process killed outright (SIGKILL) leaves behind is found by its tags:
:data:`TAG_JOB`, :data:`TAG_OWNER` (``host:pid``) and :data:`TAG_CREATED`.
:func:`cleanup_leftovers` deletes tagged endpoints and endpoint configs whose owning process
is gone (same host) or that are older than a grace period; every new shadow endpoint runs it
first for its own name prefix, ``clarify-engine cleanup`` runs it for the whole account and
region.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from clarify_engine import _stop
from clarify_engine.errors import ModelError

__all__ = ["Leftover", "ShadowEndpoint", "cleanup_after_killed_process", "cleanup_leftovers", "shadow_endpoint_name"]

log = logging.getLogger(__name__)

#: SageMaker's limits: endpoint (and endpoint config) names <= 63 characters; Clarify's
#: ``endpoint_name_prefix`` <= 23 characters, letters/digits separated by hyphens.
MAX_NAME = 63
MAX_PREFIX = 23
_PREFIX_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
_WAITING = ("Creating", "Updating", "SystemUpdating")
#: Hex digits of the random suffix: 23 + 1 + 16 = 40 <= 63.
SUFFIX_LEN = 16
#: Tags on every endpoint and endpoint config a job creates.
TAG_JOB = "clarify-engine:job"  # the job id: $CLARIFY_JOB_ID, else the endpoint name
TAG_OWNER = "clarify-engine:owner"  # host:pid of the process that created it
TAG_CREATED = "clarify-engine:created"  # UTC creation time, ISO 8601
JOB_ID_ENV = "CLARIFY_JOB_ID"
#: Tagged leftovers whose owner cannot be checked (another host) are deleted after this age.
DEFAULT_LEFTOVER_AGE = 24 * 3600.0
_NOT_FOUND = "Could not find"


def owner_id() -> str:
    """``host:pid`` of this process, the value of :data:`TAG_OWNER`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_gone(owner: str) -> bool:
    """True when ``owner`` (``host:pid``) is a process of this host that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return int(pid) != os.getpid() and not _pid_alive(int(pid))


def _is_not_found(exc: BaseException) -> bool:
    return _NOT_FOUND in str(exc)


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
        A stop-aware sleep (:func:`clarify_engine._stop.sleep`) and ``time.monotonic`` unless
        given (tests pass fakes).
    job_id : str, optional
        Value of the :data:`TAG_JOB` tag; default ``$CLARIFY_JOB_ID``, else the endpoint name.
    sweep : bool, default True
        Before creating, delete leftovers of earlier jobs with the same name prefix
        (:func:`cleanup_leftovers`, default age).

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
        sleep: Callable[[float], None] = _stop.sleep,
        clock: Callable[[], float] = time.monotonic,
        job_id: str | None = None,
        sweep: bool = True,
    ):
        if not model_name:
            raise ValueError("model_name: expected a SageMaker model name, found an empty value")
        if not isinstance(initial_instance_count, int) or initial_instance_count < 1:
            raise ValueError(f"initial_instance_count: expected an integer >= 1, found {initial_instance_count!r}")
        self.model_name = model_name
        self.instance_type = instance_type
        self.initial_instance_count = initial_instance_count
        self.accelerator_type = accelerator_type
        self.prefix = endpoint_name_prefix or "sm-clarify"
        self.endpoint_name = shadow_endpoint_name(self.prefix)
        self.job_id = job_id or os.environ.get(JOB_ID_ENV) or self.endpoint_name
        self.sweep = sweep
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

    @property
    def tags(self) -> list[dict[str, str]]:
        """The tags put on the endpoint and its config."""
        created = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return [{"Key": TAG_JOB, "Value": self.job_id}, {"Key": TAG_OWNER, "Value": owner_id()},
                {"Key": TAG_CREATED, "Value": created}]

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> str:
        if self.sweep:
            self._sweep()
        try:
            with _stop.guarded():
                self._create()
            _stop.check()
            self._wait_in_service()
        except BaseException:
            self._delete()
            raise
        return self.endpoint_name

    def __exit__(self, exc_type, exc, tb) -> None:
        self._delete()

    def _sweep(self) -> None:
        """Delete leftovers of earlier jobs (same prefix); a failure here is logged, not fatal."""
        try:
            cleanup_leftovers(self.client, name_contains=self.prefix)
        except Exception as exc:  # noqa: BLE001 - the job does not depend on the sweep
            log.warning("Could not look for shadow endpoints left by earlier jobs (%s); run "
                        "clarify-engine cleanup with ListEndpoints/ListTags permissions to delete them", exc)

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
        tags = self.tags
        # Recorded before each call: a call that fails after AWS acted on it is cleaned up too.
        self._config_created = True
        self._aws("CreateEndpointConfig", self.client.create_endpoint_config,
                  EndpointConfigName=name, ProductionVariants=[variant], Tags=tags)
        self._endpoint_created = True
        self._aws("CreateEndpoint", self.client.create_endpoint, EndpointName=name, EndpointConfigName=name,
                  Tags=tags)

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
        with _stop.guarded():
            self._delete_both()

    def _delete_both(self) -> None:
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
            if _is_not_found(exc):  # never created (its create call failed), or already gone
                log.info("%s %s: nothing to delete (%s)", operation, self.endpoint_name, exc)
                return
            command = re.sub(r"(?<!^)([A-Z])", r"-\1", operation).lower()
            text = (f"{operation} {self.endpoint_name} failed: {exc}; delete it yourself "
                    f"(aws sagemaker {command} ...)")
            self.cleanup_errors.append(text)
            log.error("Shadow endpoint cleanup: %s", text)


# -- leftovers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Leftover:
    """A tagged endpoint or endpoint config, and what :func:`cleanup_leftovers` did with it."""

    kind: str  # "endpoint" or "endpoint-config"
    name: str
    job: str
    owner: str
    created: str
    action: str  # "deleted", "kept" or "failed"
    reason: str


def _age_seconds(created: str, now: _dt.datetime) -> float | None:
    try:
        when = _dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return None
    return (now - when).total_seconds()


def _pages(call: Callable[..., dict], key: str, **params: Any):
    token = None
    while True:
        reply = call(**params, **({"NextToken": token} if token else {}))
        yield from reply.get(key, [])
        token = reply.get("NextToken")
        if not token:
            return


def cleanup_leftovers(client: Any = None, *, older_than: float = DEFAULT_LEFTOVER_AGE,
                      name_contains: str | None = None, owner: str | None = None,
                      dry_run: bool = False, now: _dt.datetime | None = None) -> list[Leftover]:
    """Delete the shadow endpoints and endpoint configs that jobs left behind.

    Only resources tagged :data:`TAG_JOB` are considered. One is deleted when its owning
    process (:data:`TAG_OWNER`, ``host:pid``) is a process of this host that is gone, or when
    it is older than ``older_than`` seconds (:data:`TAG_CREATED`); otherwise it is kept.

    Parameters
    ----------
    client : botocore client, optional
        A ``sagemaker`` control-plane client; default ``boto3.client("sagemaker")``.
    older_than : float, default 86400
        Age in seconds after which a tagged resource is deleted whoever owns it.
    name_contains : str, optional
        Only resources whose name contains this text.
    owner : str, optional
        Only resources of this owner (``host:pid``).
    dry_run : bool, default False
        Report what would be deleted; delete nothing.
    now : datetime, optional
        The current UTC time (tests).

    Returns
    -------
    list of Leftover
        Every tagged resource seen, with the action taken and why. A deletion that fails is
        reported (``action="failed"``) and logged as an error; the others still run.
    """
    if client is None:
        import boto3

        client = boto3.client("sagemaker")
    now = now or _dt.datetime.now(_dt.timezone.utc)
    filters = {"NameContains": name_contains} if name_contains else {}
    found: list[tuple[str, str, str]] = []
    for item in _pages(client.list_endpoints, "Endpoints", **filters):
        found.append(("endpoint", item["EndpointName"], item["EndpointArn"]))
    for item in _pages(client.list_endpoint_configs, "EndpointConfigs", **filters):
        found.append(("endpoint-config", item["EndpointConfigName"], item["EndpointConfigArn"]))
    report: list[Leftover] = []
    for kind, name, arn in found:  # endpoints first, then configs, as a job deletes them
        try:
            tags = {t["Key"]: t["Value"] for t in _pages(client.list_tags, "Tags", ResourceArn=arn)}
        except Exception as exc:  # noqa: BLE001 - deleted meanwhile, or not ours to read
            log.warning("Cleanup: cannot read the tags of %s %s (%s); skipped", kind, name, exc)
            continue
        if TAG_JOB not in tags:
            continue
        job, who, created = tags[TAG_JOB], tags.get(TAG_OWNER, ""), tags.get(TAG_CREATED, "")
        if owner is not None and who != owner:
            continue
        age = _age_seconds(created, now)
        if owner_gone(who):
            reason = f"its job's process {who} is gone"
        elif age is not None and age > older_than:
            reason = f"created {created}, more than {older_than:g} s ago"
        else:
            reason = f"its job's process {who} may still use it (created {created})"
            report.append(Leftover(kind, name, job, who, created, "kept", reason))
            continue
        if dry_run:
            report.append(Leftover(kind, name, job, who, created, "would delete", reason))
            continue
        with _stop.guarded():
            try:
                if kind == "endpoint":
                    client.delete_endpoint(EndpointName=name)
                else:
                    client.delete_endpoint_config(EndpointConfigName=name)
            except Exception as exc:  # noqa: BLE001 - reported, the others still run
                if _is_not_found(exc):
                    continue
                command = "delete-endpoint" if kind == "endpoint" else "delete-endpoint-config"
                text = f"{exc}; delete it yourself (aws sagemaker {command} ...)"
                log.error("Cleanup: deleting %s %s failed: %s", kind, name, text)
                report.append(Leftover(kind, name, job, who, created, "failed", text))
                continue
        log.warning("Cleanup: deleted %s %s left by job %s: %s", kind, name, job, reason)
        report.append(Leftover(kind, name, job, who, created, "deleted", reason))
    return report


def cleanup_after_killed_process(pid: int, env: dict) -> list[str]:
    """Delete the shadow endpoints a process killed by a signal (SIGKILL) left behind.

    Runs ``clarify-engine cleanup --owner HOST:PID`` in the environment the process had (its
    AWS settings), so only what that process created is touched. For callers that ran a job
    as a subprocess (the local session); returns the command's output lines, to be logged.
    """
    import subprocess
    import sys

    command = [sys.executable, "-m", "clarify_engine.cli", "cleanup", "--owner", f"{socket.gethostname()}:{pid}"]
    try:
        proc = subprocess.run(command, env=dict(env), capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [f"Cleanup after the killed job failed: {exc}; run clarify-engine cleanup"]
    lines = (proc.stdout + proc.stderr).splitlines()
    return [f"Cleanup after the killed job: {line}" for line in lines]
