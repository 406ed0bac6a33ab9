"""Local processing jobs: the container entrypoint as a subprocess over a private layout.

A :class:`LocalSession` takes the same ``process(...)`` call as the SageMaker session. For each
job it builds a processing layout under its jobs folder (``<jobs_root>/<job name>/root``):
inputs are copied (local paths) or downloaded (``s3://`` URIs, boto3) to their container
paths below that root, ``opt/ml/config/resourceconfig.json`` and
``processingjobconfig.json`` are written as SageMaker does, and the job's command runs in a
private mount namespace where ``/opt/ml`` is that layout's ``opt/ml`` (:mod:`._isolation`).
Outputs are copied to local folders or uploaded to ``s3://`` when the job succeeds
(``Continuous`` outputs also while it runs); the records of a ``FeatureStoreOutput`` output go
to the session's local feature store (:mod:`._feature_store`).

Notes
-----
The command is the request's ``ContainerEntrypoint`` plus ``ContainerArguments`` (the image's
entrypoint ``clarify-engine container`` when there is none), run with this Python
(``python``/``python3`` becomes this interpreter). Where no mount namespace can be made
(not Linux, or neither root nor user namespaces), the engine's own entrypoint still runs with
``CLARIFY_PROCESSING_ROOT`` pointing at the root (its container paths among the arguments are
moved under the root), and any other command is refused with :class:`IsolationUnavailable`:
it would read and write the host's ``/opt/ml``.

Every path the session writes is resolved under its folder and refused if it leaves it: job
names follow SageMaker's rule (letters, digits, hyphens), container paths must lie below
``/opt/ml/processing/`` without ``..``, S3 keys and output files may not lead outside their
folders, and a job folder that already exists is not reused.

``DescribeProcessingJob`` answers come from the job's own record; ``FailureReason`` and
``ExitMessage`` from ``opt/ml/output/message`` (first 1 KB), as on SageMaker. ``stop`` sends SIGTERM to the job's process group, then SIGKILL after
:attr:`LocalSession.stop_grace_seconds`. ``InstanceCount > 1`` runs one process per instance, each
with its own layout and ``resourceconfig.json`` (:mod:`._local_hosts`); a Spark job runs one.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import logging
import os
import posixpath
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from clarify_engine._io import atomic_write
from clarify_engine.client import _feature_store, _framework_venv, _isolation, _local_hosts
from clarify_engine.client._isolation import IsolationUnavailable
from clarify_engine.client._session import (
    S3AccessError,
    _s3_failures,
    aws_configured,
    check_job_status,
    contained_path,
    download_prefix,
    s3_error,
    show_log_line,
    split_s3_uri,
    upload_path,
)
from clarify_engine.predict.transports._shadow import cleanup_after_killed_process

log = logging.getLogger(__name__)

ROOT_ENV = "CLARIFY_PROCESSING_ROOT"
MESSAGE_LIMIT = 1024
LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "local"
#: SageMaker's rule for processing job names.
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
#: Local jobs cannot query Athena or Redshift: SageMaker runs the query and stages its result.
DATASET_DEFINITION_LOCAL = ("ProcessingInput {name!r}: dataset_definition (an Athena or Redshift query) cannot run in "
                            "a local job: SageMaker runs the query and stages its result for the job. Run the query "
                            "yourself and pass its result as source= (a local path or s3:// URI), or run the job on "
                            "SageMaker")
#: The entry point of SageMaker's Spark processing image (PySparkProcessor, SparkJarProcessor).
SPARK_ENTRYPOINT = "smspark-submit"
#: Where SageMaker lets processing inputs and outputs live inside the container.
CONTAINER_PREFIX = "/opt/ml/processing/"


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class LocalSession:
    """Runs processing jobs on this machine (the SDK's ``LocalSession``, without Docker).

    Parameters
    ----------
    jobs_root : str or Path, optional
        Folder for the jobs' layouts and logs (a relative path is taken from the current
        folder, once, here); default: a new temporary folder.
    s3_client : boto3 S3 client, optional
        For ``s3://`` inputs and outputs; default: one from the standard AWS settings
        (``AWS_ENDPOINT_URL`` included), made when first needed.
    stop_grace_seconds : float, default 30
        Time a stopped job gets between SIGTERM and SIGKILL.
    poll_seconds : float, default 0.2
        How often ``wait``/``logs`` look at a running job, and ``Continuous`` outputs are synced.
    feature_store_root : str or Path, optional
        The local feature store that ``FeatureStoreOutput`` outputs write to
        (:mod:`._feature_store`); default ``<jobs_root>/.feature-store``.
    """

    local_mode = True

    def __init__(self, jobs_root=None, s3_client=None, stop_grace_seconds: float = 30.0, poll_seconds: float = 0.2,
                 feature_store_root=None):
        root = Path(jobs_root).expanduser() if jobs_root else Path(tempfile.mkdtemp(prefix="clarify-engine-jobs-"))
        self.jobs_root = Path(os.path.abspath(root))
        self.jobs_root.mkdir(parents=True, exist_ok=True)
        self._s3 = s3_client
        self.stop_grace_seconds = stop_grace_seconds
        self.poll_seconds = poll_seconds
        # Job names cannot start with a dot, so the default never meets a job's folder.
        self.feature_store_root = Path(os.path.abspath(Path(feature_store_root).expanduser() if feature_store_root
                                                       else self.jobs_root / ".feature-store"))
        self._jobs: dict[str, _LocalJob] = {}
        self._isolation_checked = False
        self._isolation_problem: str | None = None

    # -- AWS-side helpers ---------------------------------------------------------------

    @property
    def s3_client(self):
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    def default_bucket(self) -> str:
        raise ValueError("a LocalSession has no default bucket: give local or s3:// paths explicitly")

    @property
    def boto_region_name(self) -> str | None:
        """The region of the standard AWS settings, or None (local jobs need none)."""
        try:
            import boto3

            return boto3.Session().region_name
        except Exception:  # pragma: no cover - a broken AWS config means no region
            return None

    def staging_dir(self) -> Path:
        """Where processors stage generated files of a job (code bundles, configuration): ``<jobs_root>/.staging``.

        Job names cannot start with a dot, so this never meets a job's folder.
        """
        folder = self.jobs_root / ".staging"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def default_output_dir(self, job_name: str, output_name: str) -> str:
        """Where an output without a destination goes: ``<jobs_root>/<job>/output/<name>``."""
        check_job_name(job_name)
        if "/" in output_name or output_name in ("", ".", ".."):
            raise ValueError(f"ProcessingOutput output_name {output_name!r}: must be a plain name (letters, digits, "
                             "'-', '_'), as it names a folder under the job's folder")
        return str(self.jobs_root / job_name / "output" / output_name)

    def create_feature_group(self, feature_group_name: str, record_identifier_feature_name: str,
                             event_time_feature_name: str) -> _feature_store.LocalFeatureGroup:
        """Create a feature group in :attr:`feature_store_root` for ``FeatureStoreOutput`` outputs to write to.

        Parameters
        ----------
        feature_group_name : str
            SageMaker's rule: 1 to 64 letters, digits, ``-`` and ``_``.
        record_identifier_feature_name, event_time_feature_name : str
            The columns that name and date each record (as in ``FeatureGroup.create``).

        Raises
        ------
        ValueError
            A bad name, or the group exists already.
        """
        return _feature_store.create_feature_group(self.feature_store_root, feature_group_name,
                                                   record_identifier_feature_name, event_time_feature_name)

    def isolation_problem(self) -> str | None:
        """Why jobs cannot get a private ``/opt/ml`` on this machine, or None (checked once)."""
        if not self._isolation_checked:
            self._isolation_problem = _isolation.probe()
            self._isolation_checked = True
            if self._isolation_problem:
                log.info("Local jobs get no private /opt/ml here: %s", self._isolation_problem)
        return self._isolation_problem

    def expand_role(self, role):
        """Roles are not used locally; returned unchanged."""
        return role

    def upload_file(self, local_path, destination, kms_key=None) -> str:
        """Put a file (or a folder's files) into the folder ``destination`` (``s3://`` or local).

        Returns the URI/path of the file (or of the destination, for a folder).
        """
        if urlparse(str(destination)).scheme == "s3":
            self._check_credentials(str(destination))
            return upload_path(self.s3_client, local_path, str(destination), kms_key)
        return copy_local(Path(local_path), Path(destination))

    def upload_string_as_file_body(self, body, bucket, key, kms_key=None) -> str:
        """Write ``body`` to ``s3://bucket/key`` and return that URI."""
        uri = f"s3://{bucket}/{key}"
        self._check_credentials(uri)
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
        try:
            self.s3_client.put_object(Body=body.encode("utf-8") if isinstance(body, str) else body, Bucket=bucket,
                                      Key=key, **extra)
        except _s3_failures() as exc:
            raise s3_error(uri, "upload to", exc) from None
        return uri

    def _check_credentials(self, uri: str) -> None:
        """Refuse an ``s3://`` transfer up front when boto3 would find no credentials for it."""
        if self._s3 is None and not aws_configured():
            from botocore.exceptions import NoCredentialsError

            raise s3_error(uri, "read or write", NoCredentialsError())

    # -- jobs ---------------------------------------------------------------------------

    def process(self, inputs, output_config, job_name, resources, stopping_condition, app_specification,
                environment, network_config, role_arn, tags, experiment_config=None):
        """Start a local job from the pieces of a ``CreateProcessingJob`` request.

        Raises
        ------
        ValueError
            A bad job name (or one already used in ``jobs_root``), or an input/output path
            outside ``/opt/ml/processing/``.
        IsolationUnavailable
            The command is not the engine's and no private ``/opt/ml`` can be made here.
        S3AccessError
            An ``s3://`` input or output and no AWS credentials.
        """
        check_job_name(job_name)
        if job_name in self._jobs:
            raise ValueError(f"a processing job named {job_name!r} already exists in this session; pick another job_name")
        for item in inputs or []:
            if "DatasetDefinition" in item:
                raise ValueError(DATASET_DEFINITION_LOCAL.format(name=item.get("InputName")))
            if "S3Input" in item:
                check_container_path(item["S3Input"].get("LocalPath"), f"ProcessingInput {item.get('InputName')!r}")
        for item in (output_config or {}).get("Outputs", []):
            if "FeatureStoreOutput" in item:  # the group must exist before the job, as on SageMaker
                _feature_store.load_feature_group(self.feature_store_root,
                                                  item["FeatureStoreOutput"].get("FeatureGroupName"),
                                                  item.get("OutputName"))
            if "S3Output" in item:
                check_container_path(item["S3Output"].get("LocalPath"), f"ProcessingOutput {item.get('OutputName')!r}")
        uris = [i["S3Input"]["S3Uri"] for i in inputs or [] if "S3Input" in i]
        uris += [o["S3Output"]["S3Uri"] for o in (output_config or {}).get("Outputs", []) if "S3Output" in o]
        for uri in uris:
            if urlparse(str(uri)).scheme == "s3":
                self._check_credentials(str(uri))
        entrypoint = (app_specification or {}).get("ContainerEntrypoint")
        problem = self.isolation_problem()
        if problem and entrypoint:
            raise IsolationUnavailable(
                f"{problem}. The job {job_name!r} runs {' '.join(entrypoint)!r}, which would read and write the "
                "host's /opt/ml instead of its own layout, so it is refused. Jobs of the engine's own entrypoint "
                "(Processor without entrypoint, SageMakerClarifyProcessor) still run here")
        folder = self.jobs_root / job_name
        if folder.exists():
            raise ValueError(f"job folder {str(folder)!r} already exists (a job named {job_name!r} ran with this "
                             "jobs_root before); pick another job_name or jobs_root")
        request = {"ProcessingJobName": job_name, "ProcessingInputs": inputs,
                   "ProcessingOutputConfig": output_config, "ProcessingResources": resources,
                   "AppSpecification": app_specification}
        for key, value in (("StoppingCondition", stopping_condition), ("Environment", environment),
                           ("NetworkConfig", network_config), ("RoleArn", role_arn),
                           ("ExperimentConfig", experiment_config), ("Tags", tags)):
            if value is not None:
                request[key] = value
        job = _LocalJob(self, copy.deepcopy(request), folder, isolated=problem is None)
        self._jobs[job_name] = job
        job.start()
        return {"ProcessingJobArn": job.arn}

    def _job(self, job_name: str) -> "_LocalJob":
        try:
            return self._jobs[job_name]
        except KeyError:
            raise ValueError(f"Could not find processing job {job_name!r} in this LocalSession "
                             f"(known: {sorted(self._jobs) or 'none'})") from None

    def describe_processing_job(self, job_name) -> dict:
        """The ``DescribeProcessingJob`` shape for a local job."""
        return self._job(job_name).describe()

    def stop_processing_job(self, job_name) -> None:
        """SIGTERM the job (then SIGKILL after the grace period); it ends ``Stopped``."""
        self._job(job_name).stop()

    def wait_for_processing_job(self, job, poll=None) -> dict:
        """Block until the job ends; raise :class:`UnexpectedStatusException` if it failed."""
        local = self._job(job)
        local.done.wait()
        desc = local.describe()
        check_job_status(job, desc)
        return desc

    def logs_for_processing_job(self, job_name, wait=False, poll=None) -> None:
        """Print the job's log lines; with ``wait``, follow them until the job ends, then check it."""
        local = self._job(job_name)
        shown = 0
        while True:
            finished = local.done.is_set()
            lines = local.log_lines()
            for line in lines[shown:]:
                show_log_line(line)
            shown = len(lines)
            if finished or not wait:
                break
            local.done.wait(poll if poll is not None else self.poll_seconds)
        if wait:
            check_job_status(job_name, local.describe())


def check_job_name(job_name) -> None:
    """Refuse a job name SageMaker would refuse (it also names the job's folder here)."""
    if not isinstance(job_name, str) or not JOB_NAME_PATTERN.match(job_name):
        raise ValueError(f"job_name {job_name!r}: a processing job name is 1 to 63 letters, digits and hyphens, "
                         "starting and ending with a letter or digit (SageMaker's pattern "
                         "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$); pick a name like 'my-job-1'")


def check_container_path(path, what: str) -> None:
    """Refuse a container path that is not below ``/opt/ml/processing/`` or has ``..`` in it."""
    text = str(path) if path is not None else ""
    if ".." in text.split("/") or not text.startswith(CONTAINER_PREFIX) or \
            not posixpath.normpath(text).startswith(CONTAINER_PREFIX):
        raise ValueError(f"{what}: container path {path!r} must lie below {CONTAINER_PREFIX} without '..' "
                         "segments (SageMaker's rule), e.g. '/opt/ml/processing/input/data'")


def copy_local(source: Path, destination: Path) -> str:
    """Copy a file into the folder ``destination`` (or a folder's contents); return the result path."""
    destination.mkdir(parents=True, exist_ok=True)
    if source.is_file():
        target = destination / source.name
        shutil.copy2(source, target)
        return str(target)
    if not source.is_dir():
        raise FileNotFoundError(f"no such file or folder: {str(source)!r}")
    shutil.copytree(source, destination, dirs_exist_ok=True)
    return str(destination)


class _LocalJob:
    """One local job: its layout, its process, its state (what DescribeProcessingJob shows)."""

    def __init__(self, session: LocalSession, request: dict, folder: Path, isolated: bool = True):
        self.session = session
        self.isolated = isolated
        self.request = request
        self.name = request["ProcessingJobName"]
        self.arn = f"arn:aws:sagemaker:{LOCAL_REGION}:{LOCAL_ACCOUNT}:processing-job/{self.name}"
        self.folder = folder
        self.root = folder / "root"
        self.log_file = folder / "job.log"
        self.status = "InProgress"
        self.failure_reason: str | None = None
        self.exit_message: str | None = None
        self.creation_time = _now()
        self.start_time: _dt.datetime | None = None
        self.end_time: _dt.datetime | None = None
        self.modified_time = self.creation_time
        self.proc: subprocess.Popen | None = None  # the leader's (algo-1) process
        self.procs: list[subprocess.Popen] = []
        self.hosts = _local_hosts.host_names(self._host_count())
        self.done = threading.Event()
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._stop_requested = threading.Event()

    # -- state ----------------------------------------------------------------------------

    def _set(self, status: str, reason: str | None = None) -> None:
        with self._lock:
            self.status = status
            if reason is not None:
                self.failure_reason = reason
            self.modified_time = _now()

    def log_lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def _log(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)
        try:
            with open(self.log_file, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:  # the lines stay in memory (describe/logs); say why the file lacks them
            log.warning("Local job %s: cannot append to %s: %s", self.name, self.log_file, exc)

    def describe(self) -> dict:
        """The DescribeProcessingJob answer, from the request and the job's state."""
        with self._lock:
            desc: dict[str, Any] = {
                "ProcessingInputs": self.request["ProcessingInputs"],
                "ProcessingOutputConfig": self.request["ProcessingOutputConfig"],
                "ProcessingJobName": self.name,
                "ProcessingResources": self.request["ProcessingResources"],
                "StoppingCondition": self.request.get("StoppingCondition", {"MaxRuntimeInSeconds": 86400}),
                "AppSpecification": self.request["AppSpecification"],
                "Environment": self.request.get("Environment") or {},
                "ProcessingJobArn": self.arn,
                "ProcessingJobStatus": self.status,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.modified_time,
            }
            for key in ("NetworkConfig", "RoleArn", "ExperimentConfig"):
                if key in self.request:
                    desc[key] = self.request[key]
            if self.exit_message is not None:
                desc["ExitMessage"] = self.exit_message
            if self.failure_reason is not None and self.status == "Failed":
                desc["FailureReason"] = self.failure_reason
            if self.start_time is not None:
                desc["ProcessingStartTime"] = self.start_time
            if self.end_time is not None:
                desc["ProcessingEndTime"] = self.end_time
            return copy.deepcopy(desc)

    # -- running --------------------------------------------------------------------------

    def start(self) -> None:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.folder.mkdir()
        except FileExistsError:
            raise ValueError(f"job folder {str(self.folder)!r} already exists; pick another job_name or jobs_root") from None
        threading.Thread(target=self._run, name=f"local-job-{self.name}", daemon=True).start()

    def _host_count(self) -> int:
        """One process per instance; the Spark entry point runs every executor in one (``local[*]``)."""
        count = int(self.request["ProcessingResources"]["ClusterConfig"].get("InstanceCount", 1))
        entry = list(self.request["AppSpecification"].get("ContainerEntrypoint") or [])
        return 1 if entry[:1] == [SPARK_ENTRYPOINT] else max(1, count)

    @property
    def roots(self) -> list[Path]:
        """Each host's layout, ``algo-1`` (the job's own ``root``) first."""
        return [_local_hosts.host_root(self.folder, h) for h in self.hosts]

    def _host_path(self, container_path: str, root: Path | None = None) -> Path:
        return contained_path(root or self.root, container_path, f"container path of job {self.name!r}")

    def _prepare(self) -> None:
        """Inputs into the layout, the config files SageMaker writes, empty output folders."""
        for item in self.request["ProcessingInputs"]:
            s3 = item.get("S3Input")
            if not s3:
                continue
            if s3.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise ValueError(f"input {item['InputName']!r}: S3DataType {s3['S3DataType']!r} is not supported "
                                 "in local mode (only 'S3Prefix')")
            target = self._host_path(s3["LocalPath"])
            source = s3["S3Uri"]
            self._log(f"Preparing input {item['InputName']}: {source} -> {s3['LocalPath']}")
            if urlparse(source).scheme == "s3":
                download_prefix(self.session.s3_client, source, target)
            else:
                path = Path(urlparse(source).path if source.startswith("file://") else source)
                if not path.exists():
                    raise FileNotFoundError(f"input {item['InputName']!r}: no such file or folder {str(path)!r}")
                copy_local(path, target)
        outputs = self.request["ProcessingOutputConfig"].get("Outputs", [])
        folders = [self._host_path(item["S3Output"]["LocalPath"]) for item in outputs if "S3Output" in item]
        folders += [self._host_path(self._feature_store_path(item)) for item in outputs if "FeatureStoreOutput" in item]
        folders.append(self.root / "opt/ml/output")
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        _local_hosts.write_resource_config(self.root, self.hosts[0], self.hosts)
        job_config = {**self.request, "ProcessingJobArn": self.arn}
        job_config.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": 86400})
        atomic_write(self.root / "opt/ml/config/processingjobconfig.json",
                     json.dumps(job_config, indent=2, default=str))
        for host, root in zip(self.hosts[1:], self.roots[1:]):
            _local_hosts.replicate_layout(self.root, root, host, self.hosts, folders)

    def _command(self, root: Path) -> list[str]:
        app = self.request["AppSpecification"]
        entry = app.get("ContainerEntrypoint") or [sys.executable, "-m", "clarify_engine.cli", "container"]
        words = list(entry) + list(app.get("ContainerArguments") or [])
        if words and words[0] in ("python", "python3"):
            words[0] = sys.executable
        elif words and words[0] == SPARK_ENTRYPOINT:
            # The SageMaker Spark image's entry point, run on a local Spark (the pyspark wheel).
            words[0:1] = [sys.executable, "-m", "clarify_engine.client.spark._submit"]
        if self.isolated:
            return _isolation.wrap(words, root / "opt/ml", root / "opt/ml/output/message", root)
        return [str(self._host_path(w, root)) if w.startswith("/opt/ml/") else w for w in words]

    def _run(self) -> None:
        """The job's thread: whatever goes wrong ends the job ``Failed`` with the reason, never hangs it."""
        try:
            self._run_job()
        except Exception as exc:  # noqa: BLE001 - reported as the job's FailureReason
            log.exception("Local job %s: the runner failed", self.name)
            if not self.done.is_set():
                self._finish("Failed", f"ClientError: the local job runner failed: {type(exc).__name__}: {exc}")

    def _run_job(self) -> None:
        try:
            self._prepare()
        except Exception as exc:  # noqa: BLE001 - any preparation fault fails the job with its reason
            self._finish("Failed", f"ClientError: {exc}")
            return
        # Isolated, the job's /opt/ml is its own; else the engine finds its layout through ROOT_ENV.
        env = {**os.environ, **(self.request.get("Environment") or {}),
               ROOT_ENV: "/" if self.isolated else str(self.root)}
        if len(self.hosts) > 1:
            env.update(_local_hosts.host_env(self.hosts, self.request.get("Environment") or {}))
        env["PYTHONUNBUFFERED"] = "1"
        # The container reads dataset_uri / facet / predicted-label datasets / baselines only from
        # s3:// and its inputs, against configs that name host files; a local job is the user's own
        # machine and config, whose DataConfig may name local files (SageMaker would read s3:// there).
        env.setdefault("CLARIFY_ALLOW_ANY_URI", "1")
        commands = [self._command(root) for root in self.roots]
        if list(self.request["AppSpecification"].get("ContainerEntrypoint") or [])[:2] == \
                _framework_venv.FRAMEWORK_ENTRYPOINT:
            try:  # a FrameworkProcessor job: its own venv, as the framework image is its own Python
                bin_dir = _framework_venv.prepare(self._host_path(_framework_venv.BUNDLE_PATH), self._log)
            except Exception as exc:  # noqa: BLE001 - reported as the job's FailureReason
                self._finish("Failed", f"ClientError: the job's virtual environment could not be made: {exc}")
                return
            env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
            env["VIRTUAL_ENV"] = str(bin_dir.parent)
        if self._host_count() < self.request["ProcessingResources"]["ClusterConfig"].get("InstanceCount", 1):
            self._log("Local mode runs one instance (algo-1) of a Spark job whatever InstanceCount says")
        elif len(self.hosts) > 1:
            self._log(f"Local mode runs {len(self.hosts)} instances as processes on this machine: "
                      f"{', '.join(self.hosts)} (each line is prefixed with its host)")
        if self._stop_requested.is_set():
            self._finish("Stopped", None)
            return
        with self._lock:
            self.start_time = _now()
        self._log(f"Running: {' '.join(commands[0])}")
        try:
            for host, root, command in zip(self.hosts, self.roots, commands):
                host_env = env if len(self.hosts) == 1 or self.isolated else {**env, ROOT_ENV: str(root)}
                self.procs.append(subprocess.Popen(command, cwd=root, env=host_env, stdout=subprocess.PIPE,
                                                   stderr=subprocess.STDOUT, text=True, errors="replace",
                                                   start_new_session=True))
        except OSError as exc:
            self._kill_all()
            self._finish("Failed", f"ClientError: the job's command {commands[0][0]!r} could not be started: {exc}")
            return
        self.proc = self.procs[0]
        syncer = threading.Thread(target=self._sync_continuous_loop, daemon=True)
        syncer.start()
        limit = (self.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        timer = threading.Timer(limit, self._on_timeout) if limit else None
        if timer:
            timer.daemon = True
            timer.start()
        readers = [threading.Thread(target=self._follow, args=(host, proc), daemon=True)
                   for host, proc in zip(self.hosts, self.procs)]
        for reader in readers:
            reader.start()
        codes = [proc.wait() for proc in self.procs]
        for reader in readers:
            reader.join()
        for proc, code in zip(self.procs, codes):
            if code < 0:  # killed by a signal: delete the shadow endpoints it could not delete itself
                for line in cleanup_after_killed_process(proc.pid, env):
                    self._log(line)
        if timer:
            timer.cancel()
        code = next((c for c in codes if c != 0), 0)
        message = self._read_message()
        with self._lock:
            self.exit_message = message
        if self._stop_requested.is_set():
            self._finish("Stopped", None)
            return
        if code != 0:
            self._finish("Failed", message or f"AlgorithmError: the job's command exited with code {code} "
                                              "and wrote no reason to /opt/ml/output/message")
            return
        try:
            self._upload_outputs(final=True)
        except Exception as exc:  # noqa: BLE001 - any upload fault fails the job with its reason
            self._finish("Failed", f"ClientError: uploading outputs failed: {exc}")
            return
        try:
            self._ingest_feature_store_outputs()
        except Exception as exc:  # noqa: BLE001 - bad records fail the job with the file and the fix
            self._finish("Failed", f"ClientError: {exc}")
            return
        self._finish("Completed", None)

    def _follow(self, host: str, proc: subprocess.Popen) -> None:
        """Log one host's output lines (prefixed with the host when the job has several)."""
        prefix = f"{host}: " if len(self.hosts) > 1 else ""
        for line in proc.stdout or ():
            self._log(prefix + line.rstrip("\n"))

    def _read_message(self) -> str | None:
        """The hosts' messages, ``algo-1`` first, one per line, cut to SageMaker's 1 KB."""
        texts = []
        for root in self.roots:
            path = root / "opt/ml/output/message"
            if path.exists() and path.stat().st_size:
                texts.append(path.read_bytes().decode("utf-8", errors="ignore"))
        data = "\n".join(texts).encode("utf-8")[:MESSAGE_LIMIT]
        return data.decode("utf-8", errors="ignore") or None

    def _finish(self, status: str, reason: str | None) -> None:
        with self._lock:
            self.end_time = _now()
        if reason:
            self._log(f"Job {status}: {reason}")
        self._set(status, reason)
        self.done.set()

    def _on_timeout(self) -> None:
        self._log("MaxRuntimeInSeconds exceeded: stopping the job")
        self.stop()

    def stop(self) -> None:
        if self.done.is_set():
            return
        self._stop_requested.set()
        self._set("Stopping")
        for proc in list(self.procs):
            if proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            threading.Thread(target=self._kill_after_grace, args=(proc,), daemon=True).start()

    def _kill_all(self) -> None:
        """SIGKILL the hosts already started (another host's start failed)."""
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def _kill_after_grace(self, proc: subprocess.Popen) -> None:
        try:
            proc.wait(self.session.stop_grace_seconds)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # -- outputs --------------------------------------------------------------------------

    def _outputs(self, continuous_only: bool) -> list[dict]:
        found = []
        for item in self.request["ProcessingOutputConfig"].get("Outputs", []):
            s3 = item.get("S3Output")
            if s3 and (not continuous_only or s3.get("S3UploadMode") == "Continuous"):
                found.append(s3)
        return found

    @staticmethod
    def _feature_store_path(item: dict) -> str:
        """The container folder whose records a feature store output ingests: its source, or the default."""
        if "S3Output" in item:
            return item["S3Output"]["LocalPath"]
        return f"{_feature_store.FEATURE_STORE_PATH}/{item['OutputName']}"

    def _ingest_feature_store_outputs(self) -> None:
        for item in self.request["ProcessingOutputConfig"].get("Outputs", []):
            if "FeatureStoreOutput" not in item:
                continue
            group = _feature_store.load_feature_group(self.session.feature_store_root,
                                                      item["FeatureStoreOutput"]["FeatureGroupName"],
                                                      item["OutputName"])
            folder = self._host_path(self._feature_store_path(item))
            for path in folder.rglob("*"):  # a symlink must not hand a host file to the store
                contained_path(self.root, path.relative_to(self.root).as_posix(),
                               f"feature store output file {path.relative_to(folder).as_posix()}", action="reading it")
            written = _feature_store.ingest(folder, group, item["OutputName"])
            self._log(f"Feature store output {item['OutputName']}: {len(written)} Parquet file(s) -> "
                      f"{group.data_folder}")

    def _sync_continuous_loop(self) -> None:
        synced: dict[Path, float] = {}
        outputs = self._outputs(continuous_only=True)
        if not outputs:
            return
        while self.proc is not None and self.proc.poll() is None:
            try:
                for s3 in outputs:
                    self._sync_output(s3, synced)
            except Exception as exc:  # noqa: BLE001 - the end-of-job upload retries and fails the job with it
                self._log(f"Continuous output sync stopped: {exc}")
                return
            time.sleep(self.session.poll_seconds)

    def _upload_outputs(self, final: bool) -> None:
        for s3 in self._outputs(continuous_only=False):
            for root in self.roots:  # as SageMaker uploads every instance's folder to the destination
                self._sync_output(s3, None, root)
            self._log(f"Output {s3['LocalPath']} -> {s3['S3Uri']}")

    def _sync_output(self, s3: dict, synced: dict | None, root: Path | None = None) -> None:
        """Copy the files of one host's output folder to its destination (only changed ones if ``synced``)."""
        root = root or self.root
        folder = self._host_path(s3["LocalPath"], root)
        destination = s3["S3Uri"]
        remote = urlparse(destination).scheme == "s3"
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            stamp = path.stat().st_mtime_ns
            if synced is not None and synced.get(path) == stamp:
                continue
            rel = path.relative_to(folder).as_posix()
            # A symlink the job left in its output must not hand out a file from outside its layout.
            contained_path(root, path.relative_to(root).as_posix(), f"output file {s3['LocalPath']}/{rel}",
                           action="copying it")
            if remote:
                bucket, prefix = split_s3_uri(destination)
                key = f"{prefix.rstrip('/')}/{rel}" if prefix.strip("/") else rel
                try:
                    self.session.s3_client.upload_file(str(path), bucket, key)
                except _s3_failures() as exc:
                    raise s3_error(f"s3://{bucket}/{key}", "upload to", exc) from None
            else:
                target = contained_path(Path(destination), rel, f"output file {s3['LocalPath']}/{rel}")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
            if synced is not None:
                synced[path] = stamp


__all__ = ["IsolationUnavailable", "LocalSession", "S3AccessError"]
