"""What the local and SageMaker sessions share: job-status checks, S3 transfers, the default.

Notes
-----
Status handling follows the SDK's ``Session._check_job_status`` (v2.199): ``Completed`` is
success, ``Stopped`` only logs a warning, anything else raises
:class:`UnexpectedStatusException` with ``Error for Processing job NAME: STATUS. Reason: ...``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

log = logging.getLogger(__name__)

TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")

#: Logged when a real instance type falls back to a local job (``%r``: the instance type).
NO_CREDENTIALS_WARNING = (
    "No AWS credentials found: instance_type=%r runs as a LOCAL job on this machine, not on SageMaker "
    "(role, network_config, volume and KMS settings are not applied). Pass instance_type='local' to "
    "say so and silence this warning, or configure AWS credentials to run on SageMaker.")


class UnexpectedStatusException(ValueError):
    """A job ended in a status other than ``Completed``/``Stopped`` (``sagemaker.exceptions``).

    Attributes
    ----------
    allowed_statuses : list of str
    actual_status : str
    """

    def __init__(self, message, allowed_statuses, actual_status):
        self.allowed_statuses = allowed_statuses
        self.actual_status = actual_status
        super().__init__(message)


def show_log_line(line: str) -> None:
    """Hand one line of a job's log to the user, on stdout, as the SDK's ``logs_for_processing_job`` does.

    The job's own output (not a diagnostic of this library): ``wait(logs=True)`` promises it on
    the terminal whatever logging is configured, so it is written, not logged.
    """
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def check_job_status(job_name: str, desc: dict, status_key: str = "ProcessingJobStatus") -> None:
    """Raise unless ``desc`` (a Describe* answer) ended ``Completed`` or ``Stopped``."""
    status = desc[status_key]
    if status == "Stopped":
        log.warning("Job ended with status 'Stopped' rather than 'Completed'. This could mean the job timed out "
                    "or stopped early for some other reason: Consider checking whether it completed as you expect.")
        return
    if status != "Completed":
        reason = desc.get("FailureReason", "(No reason provided)")
        job_type = status_key.replace("JobStatus", " job")
        raise UnexpectedStatusException(
            message=f"Error for {job_type} {job_name}: {status}. Reason: {reason}",
            allowed_statuses=["Completed", "Stopped"],
            actual_status=status,
        )


class S3AccessError(RuntimeError):
    """An S3 transfer of the client failed; the message names the URI, the cause and the fix."""


def s3_error(uri: str, action: str, exc: BaseException) -> S3AccessError:
    """A one-line :class:`S3AccessError` for a boto3/botocore failure while ``action``-ing ``uri``."""
    from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

    cause = exc
    # boto3's managed transfers wrap the service error (S3UploadFailedError); look through it.
    while cause.__context__ is not None and not isinstance(cause, (ClientError, NoCredentialsError)):
        cause = cause.__context__
    if isinstance(cause, (NoCredentialsError, PartialCredentialsError)):
        return S3AccessError(
            f"cannot {action} {uri}: no AWS credentials found ({cause}). Configure credentials "
            "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in ~/.aws, or SSO), "
            "or use a local path instead of the s3:// URI")
    if isinstance(cause, ClientError):
        error = cause.response.get("Error", {})
        return S3AccessError(
            f"cannot {action} {uri}: {error.get('Code', 'ClientError')}: {error.get('Message', cause)}. Check that "
            "the bucket exists and that your AWS identity is allowed to access it")
    return S3AccessError(f"cannot {action} {uri}: {type(exc).__name__}: {exc}")


def _s3_failures() -> tuple[type[BaseException], ...]:
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, Boto3Error)


def contained_path(root: Path, relative: str, what: str, action: str = "writing there") -> Path:
    """``root / relative``, refused unless it stays inside ``root`` (symlinks followed).

    Empty segments and leading slashes of ``relative`` are dropped (``a//b`` is ``a/b``, as
    a path joined inside a container would be); ``..`` that leaves ``root`` is refused.

    Raises
    ------
    ValueError
        The path escapes ``root``; the message names ``what`` and ``action`` (what was refused).
    """
    parts = [p for p in str(relative).split("/") if p not in ("", ".")]
    base = Path(os.path.abspath(root))
    candidate = Path(os.path.normpath(os.path.join(base, *parts))) if parts else base
    real_base = base.resolve()
    real = candidate.resolve()
    if not (candidate == base or base in candidate.parents) or not (real == real_base or real_base in real.parents):
        raise ValueError(f"{what}: {str(relative)!r} leads to {str(real)!r}, outside {str(base)!r}; "
                         f"refusing {action}. Use a name without '..' segments or symlinks that leave the folder")
    return candidate


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``("bucket", "key")``; a clear error for anything else."""
    url = urlparse(uri)
    if url.scheme != "s3" or not url.netloc:
        raise ValueError(f"expected an S3 URI 's3://bucket/key', found {uri!r}")
    return url.netloc, url.path.lstrip("/")


def upload_path(s3_client: Any, local_path: str | os.PathLike, destination: str, kms_key: str | None = None) -> str:
    """Upload a file or a folder's files under the S3 prefix ``destination``.

    A file lands at ``destination/<file name>`` and its URI is returned (the SDK's
    ``S3Uploader.upload``); a folder's files keep their relative paths and the prefix is
    returned.
    """
    bucket, prefix = split_s3_uri(destination)
    prefix = prefix.rstrip("/")
    source = Path(local_path)
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else None
    if source.is_file():
        key = f"{prefix}/{source.name}" if prefix else source.name
        try:
            s3_client.upload_file(str(source), bucket, key, ExtraArgs=extra)
        except _s3_failures() as exc:
            raise s3_error(f"s3://{bucket}/{key}", "upload to", exc) from None
        return f"s3://{bucket}/{key}"
    if not source.is_dir():
        raise ValueError(f"cannot upload {str(source)!r}: no such file or folder")
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = path.relative_to(source).as_posix()
        key = f"{prefix}/{rel}" if prefix else rel
        try:
            s3_client.upload_file(str(path), bucket, key, ExtraArgs=extra)
        except _s3_failures() as exc:
            raise s3_error(f"s3://{bucket}/{key}", "upload to", exc) from None
    return f"s3://{bucket}/{prefix}"


def download_prefix(s3_client: Any, uri: str, target: Path) -> list[Path]:
    """Download the object ``uri``, or every object under it as a prefix, into ``target``.

    As SageMaker's ``S3Prefix`` input: the object whose key is the prefix lands as
    ``target/<its name>``; objects below ``prefix/`` keep their path relative to it. Every
    file must land inside ``target`` (:func:`contained_path`): a key whose ``..`` segments
    lead out of it is refused, empty segments (``a//b``) are dropped.

    Raises
    ------
    S3AccessError
        Listing or downloading failed (no credentials, no such bucket, access denied).
    ValueError
        A key leads outside ``target``.
    FileNotFoundError
        Nothing is stored at or under ``uri``.
    """
    bucket, prefix = split_s3_uri(uri)
    folder = prefix if prefix.endswith("/") or not prefix else prefix + "/"
    written: list[Path] = []
    paginator = s3_client.get_paginator("list_objects_v2")
    try:
        pages = list(paginator.paginate(Bucket=bucket, Prefix=prefix))
    except _s3_failures() as exc:
        raise s3_error(uri, "list", exc) from None
    for page in pages:
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith("/"):
                continue
            if key == prefix:
                rel = key.rsplit("/", 1)[-1]
            elif key.startswith(folder):
                rel = key[len(folder):]
            else:  # shares the prefix as a string only (prefix "data" and key "data2.csv")
                rel = key.rsplit("/", 1)[-1]
            path = contained_path(target, rel, f"S3 object s3://{bucket}/{key}")
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                s3_client.download_file(bucket, key, str(path))
            except _s3_failures() as exc:
                raise s3_error(f"s3://{bucket}/{key}", "download", exc) from None
            written.append(path)
    if not written:
        raise FileNotFoundError(f"no S3 object at or under {uri}")
    return written


def aws_configured() -> bool:
    """True when boto3 finds credentials in the standard places."""
    try:
        import boto3

        return boto3.Session().get_credentials() is not None
    except Exception:  # pragma: no cover - broken AWS config counts as none
        return False


def default_session(instance_type: str | None = "local"):
    """The session a processor gets when none is given.

    A :class:`~clarify_engine.client.LocalSession` for a ``local`` instance type, or when no
    AWS credentials are configured (with a WARNING that names the instance type and says what
    is not honoured locally); else a SageMaker :class:`~clarify_engine.client.Session`.
    """
    from clarify_engine.client._local import LocalSession
    from clarify_engine.client._sagemaker import Session

    if instance_type is None or str(instance_type).startswith("local"):
        return LocalSession()
    if not aws_configured():
        log.warning(NO_CREDENTIALS_WARNING, instance_type)
        return LocalSession()
    return Session()
