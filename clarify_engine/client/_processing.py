"""SDK-compatible processing classes: ``Processor``, ``ScriptProcessor``, ``ProcessingJob``.

Same names, signatures and defaults as ``sagemaker.processing`` in SageMaker Python SDK 2.199,
so moving a script over is an import change. A job runs wherever its session sends it: a
:class:`~clarify_engine.client.LocalSession` runs the container entrypoint as a subprocess
over a private processing layout; a :class:`~clarify_engine.client.Session` calls
``CreateProcessingJob`` through boto3.

Notes
-----
Behaviour follows ``src/sagemaker/processing.py`` of the SDK (v2.199.0): input and output
names default to ``input-N``/``output-N``; a local input source or an output without an
``s3://`` destination is given a place in the session's default bucket (SageMaker mode) or
kept local (local mode); ``logs=True`` with ``wait=False`` is refused with the SDK's message.
Differences: ``role`` and ``image_uri`` are optional (local mode needs neither; the image
defaults to the environment variable ``CLARIFY_ENGINE_IMAGE_URI``) and ``instance_type``
defaults to ``"local"``. Pipeline sessions and ``DatasetDefinition`` inputs are not offered.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import pathlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from clarify_engine.client import _sdk_config
from clarify_engine.client._api_object import DatasetDefinition, FeatureStoreOutput
from clarify_engine.client._pipeline_context import (
    ExecutionVariables,
    Join,
    current_step,
    is_pipeline_variable,
)
from clarify_engine.client._step_args import runnable_by_pipeline

log = logging.getLogger(__name__)

IMAGE_URI_ENV = "CLARIFY_ENGINE_IMAGE_URI"
DEFAULT_BASE_NAME = "clarify-engine"
#: SageMaker job names: at most 63 characters.
MAX_JOB_NAME = 63

#: Logged when a SageMaker job's output names a local folder (the SDK replaces it silently).
LOCAL_DESTINATION_WARNING = ("ProcessingOutput %r: destination %r is not an s3:// URI; a SageMaker job writes its "
                             "outputs to S3, so they go to %s. Give an s3:// destination, or run the job on this "
                             "machine with instance_type='local'")

#: The SDK's message (v2.199 ``Processor.run``), triple-quoted string indentation included.
LOGS_WITHOUT_WAIT = (
    "Logs can only be shown if wait is set to True.\n"
    "                Please either set wait to True or set logs to False."
)


#: The SDK's message (``Processor.__init__``) when a SageMaker job has no role.
ROLE_REQUIRED = "An AWS IAM role is required to create a Processing job."
#: The SDK's code-path messages end with their triple-quoted string's newline and indentation.
SDK_TAIL = "\n                    "


def bucket_prefix(session) -> str | None:
    """The session's ``default_bucket_prefix`` (SDK config ``SageMaker.PythonSDK.Modules.Session``), or None."""
    return getattr(session, "default_bucket_prefix", None) or None


def upload(session, local_path, desired_s3_uri: str, kms_key: str | None = None) -> str:
    """Upload a local file or folder under ``desired_s3_uri`` with whichever session is given.

    A SageMaker SDK ``Session`` (or anything offering its ``upload_data``) is called as the SDK's
    ``S3Uploader.upload`` calls it; a session of this package (no ``upload_data``) through its
    ``upload_file``. A file lands at ``<prefix>/<its name>`` and that URI is returned; a folder's
    files keep their relative paths and the prefix is returned.
    """
    if not hasattr(session, "upload_data"):
        return session.upload_file(str(local_path), desired_s3_uri, kms_key=kms_key)
    url = urlparse(desired_s3_uri)
    extra = {"SSEKMSKeyId": kms_key, "ServerSideEncryption": "aws:kms"} if kms_key else None
    return session.upload_data(path=str(local_path), bucket=url.netloc, key_prefix=url.path.lstrip("/"),
                               extra_args=extra)


def upload_string(session, body: str | bytes, desired_s3_uri: str, kms_key: str | None = None) -> str:
    """Write ``body`` to the object ``desired_s3_uri`` (both session kinds have this method)."""
    url = urlparse(desired_s3_uri)
    return session.upload_string_as_file_body(body=body, bucket=url.netloc, key=url.path.lstrip("/"), kms_key=kms_key)


def name_from_base(base: str, max_length: int = MAX_JOB_NAME) -> str:
    """``base`` plus a millisecond UTC timestamp, cut so the whole fits ``max_length``.

    The same shape as the SDK's ``sagemaker.utils.name_from_base``:
    ``<base>-YYYY-MM-DD-HH-MM-SS-mmm``.
    """
    now = _dt.datetime.now(_dt.timezone.utc)
    stamp = now.strftime("%Y-%m-%d-%H-%M-%S-") + f"{now.microsecond // 1000:03d}"
    return f"{base[: max_length - len(stamp) - 1]}-{stamp}"


def base_name_from_image(image_uri: str | None) -> str:
    """The repository part of an image URI (``.../name:tag`` → ``name``); a default if none."""
    if not image_uri:
        return DEFAULT_BASE_NAME
    name = image_uri.split("/")[-1].split("@")[0].split(":")[0]
    return name or DEFAULT_BASE_NAME


def s3_path_join(*parts: str) -> str:
    """Join S3 URI pieces with single slashes (``"s3://", "b", "k/"`` → ``s3://b/k``)."""
    first, rest = parts[0], [p.strip("/") for p in parts[1:] if p and p.strip("/")]
    if first.startswith("s3://"):
        head = "s3://" + first[5:].strip("/")
        return "/".join([head.rstrip("/")] + rest) if first[5:].strip("/") else "s3://" + "/".join(rest)
    return "/".join([first.rstrip("/")] + rest)


class NetworkConfig:
    """Network settings of a job (``sagemaker.network.NetworkConfig``).

    Parameters
    ----------
    enable_network_isolation : bool, default False
    security_group_ids, subnets : list of str, optional
        Both or neither: they form the job's ``VpcConfig``.
    encrypt_inter_container_traffic : bool, optional
    """

    def __init__(self, enable_network_isolation=False, security_group_ids=None, subnets=None,
                 encrypt_inter_container_traffic=None):
        self.enable_network_isolation = enable_network_isolation
        self.security_group_ids = security_group_ids
        self.subnets = subnets
        self.encrypt_inter_container_traffic = encrypt_inter_container_traffic

    def _to_request_dict(self) -> dict:
        """The ``NetworkConfig`` piece of ``CreateProcessingJob``."""
        request: dict[str, Any] = {"EnableNetworkIsolation": self.enable_network_isolation}
        if self.encrypt_inter_container_traffic is not None:
            request["EnableInterContainerTrafficEncryption"] = self.encrypt_inter_container_traffic
        if self.security_group_ids is not None or self.subnets is not None:
            request["VpcConfig"] = {"SecurityGroupIds": self.security_group_ids, "Subnets": self.subnets}
        return request


class ProcessingInput:
    """A file or prefix the job receives at ``destination`` (``sagemaker.processing.ProcessingInput``).

    Parameters
    ----------
    source : str
        ``s3://`` URI, or a local file or folder (uploaded to the default bucket in
        SageMaker mode, copied into the job's layout in local mode).
    destination : str
        Path inside the container, e.g. ``/opt/ml/processing/input/data``.
    input_name : str, optional
        Defaults to ``input-N`` (1-based position) when the job starts.
    s3_data_type : {"S3Prefix", "ManifestFile"}
    s3_input_mode : {"File", "Pipe"}
    s3_data_distribution_type : {"FullyReplicated", "ShardedByS3Key"}
    s3_compression_type : {"None", "Gzip"}
    app_managed : bool, default False
    """

    def __init__(self, source=None, destination=None, input_name=None, s3_data_type="S3Prefix",
                 s3_input_mode="File", s3_data_distribution_type="FullyReplicated",
                 s3_compression_type="None", s3_input=None, dataset_definition=None, app_managed=False):
        self.source = source
        self.destination = destination
        self.input_name = input_name
        self.s3_data_type = s3_data_type
        self.s3_input_mode = s3_input_mode
        self.s3_data_distribution_type = s3_data_distribution_type
        self.s3_compression_type = s3_compression_type
        self.dataset_definition = dataset_definition
        self.app_managed = app_managed
        if s3_input is not None:
            # An S3Input-like object (attributes s3_uri, local_path, ...) fills the fields.
            self.source = s3_input.s3_uri
            self.destination = s3_input.local_path
            self.s3_data_type = s3_input.s3_data_type
            self.s3_input_mode = s3_input.s3_input_mode
            self.s3_data_distribution_type = s3_input.s3_data_distribution_type
            self.s3_compression_type = getattr(s3_input, "s3_compression_type", None) or "None"

    def _to_request_dict(self) -> dict:
        """The ``ProcessingInputs[i]`` entry of ``CreateProcessingJob``."""
        request: dict[str, Any] = {"InputName": self.input_name, "AppManaged": self.app_managed}
        if self.source is not None and self.destination is not None:
            if self.s3_compression_type == "Gzip" and self.s3_input_mode != "Pipe":
                raise ValueError("Data can only be gzipped when the input mode is Pipe.")
            request["S3Input"] = {
                "S3Uri": self.source,
                "LocalPath": self.destination,
                "S3DataType": self.s3_data_type,
                "S3InputMode": self.s3_input_mode,
                "S3DataDistributionType": self.s3_data_distribution_type,
                "S3CompressionType": self.s3_compression_type,
            }
        if self.dataset_definition is not None:
            request["DatasetDefinition"] = DatasetDefinition.to_boto(self.dataset_definition)
        return request

    def __repr__(self) -> str:
        return f"ProcessingInput(source={self.source!r}, destination={self.destination!r}, input_name={self.input_name!r})"


class ProcessingOutput:
    """A container folder the job hands back (``sagemaker.processing.ProcessingOutput``).

    Parameters
    ----------
    source : str
        Path inside the container, e.g. ``/opt/ml/processing/output``.
    destination : str, optional
        ``s3://`` URI, or (local mode) a local folder. Defaults to
        ``s3://<default bucket>/<job name>/output/<output name>`` (a folder under the local
        session's job folder in local mode).
    output_name : str, optional
        Defaults to ``output-N`` when the job starts.
    s3_upload_mode : {"EndOfJob", "Continuous"}
        ``EndOfJob``: copied once the job succeeds; ``Continuous``: files are copied as they
        appear, and once more at the end.
    app_managed : bool, default False
    """

    def __init__(self, source=None, destination=None, output_name=None, s3_upload_mode="EndOfJob",
                 app_managed=False, feature_store_output=None):
        self.source = source
        self.destination = destination
        self.output_name = output_name
        self.s3_upload_mode = s3_upload_mode
        self.app_managed = app_managed
        self.feature_store_output = feature_store_output

    def _to_request_dict(self) -> dict:
        """The ``ProcessingOutputConfig.Outputs[i]`` entry of ``CreateProcessingJob``."""
        request: dict[str, Any] = {"OutputName": self.output_name, "AppManaged": self.app_managed}
        if self.source is not None:
            request["S3Output"] = {
                "S3Uri": self.destination,
                "LocalPath": self.source,
                "S3UploadMode": self.s3_upload_mode,
            }
        if self.feature_store_output is not None:
            request["FeatureStoreOutput"] = FeatureStoreOutput.to_boto(self.feature_store_output)
        return request

    def __repr__(self) -> str:
        return f"ProcessingOutput(source={self.source!r}, destination={self.destination!r}, output_name={self.output_name!r})"


@dataclass
class RunArgs:
    """The arguments of one :meth:`ScriptProcessor.run` (``sagemaker.processing.RunArgs``)."""

    code: str
    inputs: list | None = None
    outputs: list | None = None
    arguments: list | None = None


class Processor:
    """Runs a processing job (``sagemaker.processing.Processor``).

    Parameters
    ----------
    role : str, optional
        IAM role name or ARN; required in SageMaker mode.
    image_uri : str, optional
        The image; defaults to env ``CLARIFY_ENGINE_IMAGE_URI``; required in SageMaker mode.
        Local mode runs ``clarify-engine container`` from this Python environment.
    instance_count : int, default 1
    instance_type : str, default "local"
        ``"local"`` runs the job as a subprocess on this machine.
    entrypoint : list of str, optional
        Command of the container; ``None`` runs the image's own entrypoint.
    volume_size_in_gb : int, default 30
    volume_kms_key, output_kms_key : str, optional
    max_runtime_in_seconds : int, optional
    base_job_name : str, optional
        Prefix of generated job names; default: the image's repository name.
    sagemaker_session : Session or LocalSession, optional
        Default: a :class:`LocalSession` when ``instance_type`` is local or no AWS credentials
        are configured, else a SageMaker :class:`Session`.
    env : dict of str to str, optional
        Environment variables of the job.
    tags : list of dict, optional
    network_config : NetworkConfig, optional
    """

    def __init__(self, role=None, image_uri=None, instance_count=1, instance_type="local", entrypoint=None,
                 volume_size_in_gb=30, volume_kms_key=None, output_kms_key=None, max_runtime_in_seconds=None,
                 base_job_name=None, sagemaker_session=None, env=None, tags=None, network_config=None):
        from clarify_engine.client._session import default_session

        self.role = role
        self.image_uri = image_uri or os.environ.get(IMAGE_URI_ENV) or None
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.entrypoint = entrypoint
        self.volume_size_in_gb = volume_size_in_gb
        self.volume_kms_key = volume_kms_key
        self.output_kms_key = output_kms_key
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.base_job_name = base_job_name
        self.sagemaker_session = sagemaker_session or default_session(instance_type)
        # The SDK's config files fill what the caller left unset (docs/client.md).
        self._sdk_config = _sdk_config.load()
        self.output_kms_key = _sdk_config.resolve(output_kms_key, self._sdk_config, _sdk_config.OUTPUT_KMS)
        self.volume_kms_key = _sdk_config.resolve(volume_kms_key, self._sdk_config, _sdk_config.VOLUME_KMS)
        self.network_config = _sdk_config.resolve_network(network_config, self._sdk_config)
        self.role = _sdk_config.resolve(role, self._sdk_config, _sdk_config.ROLE)
        if not self.role and not self.sagemaker_session.local_mode:
            # The SDK's check and text, at the SDK's moment (construction).
            raise ValueError(ROLE_REQUIRED)
        self.env = _sdk_config.resolve(env, self._sdk_config, _sdk_config.ENVIRONMENT)
        self.tags = tags

        self.jobs: list[ProcessingJob] = []
        self.latest_job: ProcessingJob | None = None
        self._current_job_name: str | None = None
        self.arguments = None

    @runnable_by_pipeline
    def run(self, inputs=None, outputs=None, arguments=None, wait=True, logs=True, job_name=None,
            experiment_config=None, kms_key=None):
        """Start a processing job; wait for it unless ``wait=False``.

        Parameters
        ----------
        inputs : list of ProcessingInput, optional
        outputs : list of ProcessingOutput, optional
        arguments : list of str, optional
            Arguments appended to the container command.
        wait : bool, default True
        logs : bool, default True
            Print the job's log lines while waiting; only meaningful with ``wait=True``.
        job_name : str, optional
            Default: ``<base_job_name>-<timestamp>``.
        experiment_config : dict, optional
        kms_key : str, optional
            KMS key for uploading local inputs (SageMaker mode).

        Raises
        ------
        ValueError
            ``logs`` is true and ``wait`` false.
        UnexpectedStatusException
            The job failed (when waiting).
        """
        if logs and not wait:
            raise ValueError(LOGS_WITHOUT_WAIT)
        inputs, outputs = self._normalize_args(job_name=job_name, arguments=arguments, inputs=inputs,
                                               outputs=outputs, kms_key=kms_key)
        self.latest_job = ProcessingJob.start_new(self, inputs, outputs, experiment_config)
        self.jobs.append(self.latest_job)
        if wait:
            self.latest_job.wait(logs=logs)

    # -- normalisation (SDK order: job name, code input, inputs, outputs, arguments) --------

    def _normalize_args(self, job_name=None, arguments=None, inputs=None, outputs=None, code=None, kms_key=None):
        self._current_job_name = self._generate_current_job_name(job_name=job_name)
        inputs_with_code = self._include_code_in_inputs(inputs, code, kms_key)
        normalized_inputs = self._normalize_inputs(inputs_with_code, kms_key)
        normalized_outputs = self._normalize_outputs(outputs)
        self.arguments = arguments
        return normalized_inputs, normalized_outputs

    def _include_code_in_inputs(self, inputs, code, kms_key=None):
        return inputs

    def _generate_current_job_name(self, job_name=None) -> str:
        if job_name is not None:
            return job_name
        return name_from_base(self.base_job_name or base_name_from_image(self.image_uri))

    def _normalize_inputs(self, inputs=None, kms_key=None) -> list:
        session = self.sagemaker_session
        normalized = []
        for count, item in enumerate(inputs or [], 1):
            if not isinstance(item, ProcessingInput):
                raise TypeError("Your inputs must be provided as ProcessingInput objects.")
            if item.input_name is None:
                item.input_name = f"input-{count}"
            if item.dataset_definition is not None or is_pipeline_variable(item.source):
                normalized.append(item)  # SageMaker runs the query / resolves the variable; nothing to upload
                continue
            if item.source is None:
                raise ValueError(f"ProcessingInput {item.input_name!r}: source is required (an s3:// URI or a local path), found None")
            if item.destination is None:
                raise ValueError(f"ProcessingInput {item.input_name!r}: destination is required "
                                 "(a path under /opt/ml/processing/), found None")
            scheme = urlparse(str(item.source)).scheme
            if scheme != "s3":
                if session.local_mode:
                    item.source = str(_local_path(item.source, f"ProcessingInput {item.input_name!r}"))
                else:
                    step = current_step()  # inside a pipeline: <pipeline>/<step>/input/<name>
                    folders = [step.pipeline_name, step.step_name] if step else [self._current_job_name]
                    desired = s3_path_join("s3://", session.default_bucket(), bucket_prefix(session),
                                           *folders, "input", item.input_name)
                    item.source = upload(session, _local_path(item.source, f"ProcessingInput {item.input_name!r}"),
                                         desired, kms_key=kms_key)
            normalized.append(item)
        return normalized

    def _normalize_outputs(self, outputs=None) -> list:
        session = self.sagemaker_session
        normalized = []
        for count, item in enumerate(outputs or [], 1):
            if not isinstance(item, ProcessingOutput):
                raise TypeError("Your outputs must be provided as ProcessingOutput objects.")
            if item.output_name is None:
                item.output_name = f"output-{count}"
            if item.s3_upload_mode not in ("EndOfJob", "Continuous"):
                raise ValueError(f"ProcessingOutput {item.output_name!r}: s3_upload_mode must be 'EndOfJob' or "
                                 f"'Continuous', found {item.s3_upload_mode!r}")
            if is_pipeline_variable(item.destination):
                normalized.append(item)  # resolved when the pipeline runs
                continue
            destination = "" if item.destination is None else str(item.destination)
            if urlparse(destination).scheme != "s3":
                if session.local_mode:
                    item.destination = (str(_local_path(destination, f"ProcessingOutput {item.output_name!r}"))
                                        if destination else session.default_output_dir(self._current_job_name, item.output_name))
                elif current_step() is not None:  # a pipeline: a folder per execution, resolved when it runs
                    step = current_step()
                    prefix = bucket_prefix(session)
                    item.destination = Join(on="/", values=[
                        "s3:/", session.default_bucket(), *([prefix] if prefix else []), step.pipeline_name,
                        ExecutionVariables.PIPELINE_EXECUTION_ID, step.step_name, "output", item.output_name])
                else:
                    item.destination = s3_path_join("s3://", session.default_bucket(), bucket_prefix(session),
                                                    self._current_job_name, "output", item.output_name)
                    if destination:
                        log.warning(LOCAL_DESTINATION_WARNING, item.output_name, destination, item.destination)
            normalized.append(item)
        return normalized


class ScriptProcessor(Processor):
    """Runs a script in a processing job (``sagemaker.processing.ScriptProcessor``).

    The script becomes the input ``code`` at ``/opt/ml/processing/input/code/`` and the job's
    entrypoint is ``command + [that path]``. In local mode a ``command`` of ``python`` or
    ``python3`` runs this interpreter, so the script sees the same packages.
    """

    _CODE_CONTAINER_BASE_PATH = "/opt/ml/processing/input/"
    _CODE_CONTAINER_INPUT_NAME = "code"

    def __init__(self, role=None, image_uri=None, command=None, instance_count=1, instance_type="local",
                 volume_size_in_gb=30, volume_kms_key=None, output_kms_key=None, max_runtime_in_seconds=None,
                 base_job_name=None, sagemaker_session=None, env=None, tags=None, network_config=None):
        if not command:
            raise ValueError("ScriptProcessor: command is required, e.g. ['python3'], found " + repr(command))
        self.command = list(command)
        super().__init__(role=role, image_uri=image_uri, instance_count=instance_count, instance_type=instance_type,
                         volume_size_in_gb=volume_size_in_gb, volume_kms_key=volume_kms_key,
                         output_kms_key=output_kms_key, max_runtime_in_seconds=max_runtime_in_seconds,
                         base_job_name=base_job_name, sagemaker_session=sagemaker_session, env=env, tags=tags,
                         network_config=network_config)

    def get_run_args(self, code, inputs=None, outputs=None, arguments=None) -> RunArgs:
        """The arguments :meth:`run` would take, as a :class:`RunArgs` (deprecated in the SDK too)."""
        log.warning("get_run_args is deprecated in the SageMaker SDK; call run() directly.")
        return RunArgs(code=code, inputs=inputs, outputs=outputs, arguments=arguments)

    @runnable_by_pipeline
    def run(self, code, inputs=None, outputs=None, arguments=None, wait=True, logs=True, job_name=None,
            experiment_config=None, kms_key=None):
        """Run ``code`` (an ``s3://`` URI or a local file) as a processing job.

        Parameters are those of :meth:`Processor.run`, plus ``code``.
        """
        if logs and not wait:
            raise ValueError(LOGS_WITHOUT_WAIT)
        inputs, outputs = self._normalize_args(job_name=job_name, arguments=arguments, inputs=inputs,
                                               outputs=outputs, code=code, kms_key=kms_key)
        self.latest_job = ProcessingJob.start_new(self, inputs, outputs, experiment_config)
        self.jobs.append(self.latest_job)
        if wait:
            self.latest_job.wait(logs=logs)

    def _include_code_in_inputs(self, inputs, code, kms_key=None):
        url = urlparse(code)
        if url.scheme == "s3":
            source = code
        elif url.scheme in ("", "file"):
            path = url2pathname(url.path)
            if not os.path.exists(path):
                raise ValueError(f"code {code} wasn't found. Please make sure that the file exists.{SDK_TAIL}")
            if not os.path.isfile(path):
                raise ValueError(f"code {code} must be a file, not a directory. Please pass a path to a file.{SDK_TAIL}")
            if self.sagemaker_session.local_mode:
                source = str(pathlib.Path(path).resolve())
            else:
                step = current_step()  # inside a pipeline the key follows the code's hash, not the job
                folders = ([step.pipeline_name, self._CODE_CONTAINER_INPUT_NAME, step.code_hash]
                           if step and step.code_hash else [self._current_job_name, "input",
                                                            self._CODE_CONTAINER_INPUT_NAME])
                desired = s3_path_join("s3://", self.sagemaker_session.default_bucket(),
                                       bucket_prefix(self.sagemaker_session), *folders)
                source = upload(self.sagemaker_session, path, desired, kms_key=kms_key)
        else:
            raise ValueError(f"code {code} url scheme {url.scheme} is not recognized. Please pass a file path or S3 url")
        destination = str(pathlib.PurePosixPath(self._CODE_CONTAINER_BASE_PATH, self._CODE_CONTAINER_INPUT_NAME))
        code_input = ProcessingInput(source=source, destination=destination, input_name=self._CODE_CONTAINER_INPUT_NAME)
        self._set_entrypoint(self.command, os.path.basename(url.path))
        return (inputs or []) + [code_input]

    def _set_entrypoint(self, command, user_script_name):
        """The job's entrypoint: ``command`` and the script's container path."""
        self.entrypoint = command + [str(pathlib.PurePosixPath(self._CODE_CONTAINER_BASE_PATH,
                                                               self._CODE_CONTAINER_INPUT_NAME, user_script_name))]


class ProcessingJob:
    """One processing job: start, wait, describe, stop (``sagemaker.processing.ProcessingJob``).

    Parameters
    ----------
    sagemaker_session : Session or LocalSession
    job_name : str
    inputs : list of ProcessingInput
    outputs : list of ProcessingOutput
    output_kms_key : str, optional
    """

    def __init__(self, sagemaker_session, job_name, inputs, outputs, output_kms_key=None):
        self.sagemaker_session = sagemaker_session
        self.job_name = job_name
        self.inputs = inputs
        self.outputs = outputs
        self.output_kms_key = output_kms_key

    @property
    def name(self) -> str:
        return self.job_name

    @classmethod
    def start_new(cls, processor, inputs, outputs, experiment_config) -> "ProcessingJob":
        """Submit the job ``processor`` describes, with normalised ``inputs`` and ``outputs``."""
        args = cls._get_process_args(processor, inputs, outputs, experiment_config)
        log.debug("Job Name: %s", args["job_name"])
        log.debug("Inputs: %s", args["inputs"])
        log.debug("Outputs: %s", args["output_config"]["Outputs"])
        processor.sagemaker_session.process(**args)
        return cls(processor.sagemaker_session, processor._current_job_name, inputs, outputs, processor.output_kms_key)

    @classmethod
    def _get_process_args(cls, processor, inputs, outputs, experiment_config) -> dict:
        """The keyword arguments of ``session.process`` (the SDK's shape)."""
        session = processor.sagemaker_session
        if not session.local_mode and not processor.image_uri:
            raise ValueError(
                "image_uri is required for a SageMaker processing job: pass image_uri= (the URI of an image "
                f"built from container/Dockerfile, pushed to ECR) or set the environment variable {IMAGE_URI_ENV}; "
                "found neither. Local jobs (instance_type='local') need no image.")
        if not session.local_mode and not processor.role:
            raise ValueError("role is required for a SageMaker processing job: pass role= (an IAM role name or "
                             "ARN that SageMaker can assume); found None")
        output_config: dict[str, Any] = {"Outputs": [o._to_request_dict() for o in outputs]}
        if processor.output_kms_key is not None:
            output_config["KmsKeyId"] = processor.output_kms_key
        cluster = {"InstanceType": processor.instance_type, "InstanceCount": processor.instance_count,
                   "VolumeSizeInGB": processor.volume_size_in_gb}
        if processor.volume_kms_key is not None:
            cluster["VolumeKmsKeyId"] = processor.volume_kms_key
        app: dict[str, Any] = {"ImageUri": processor.image_uri}
        if processor.arguments is not None:
            app["ContainerArguments"] = list(processor.arguments)
        if processor.entrypoint is not None:
            app["ContainerEntrypoint"] = list(processor.entrypoint)
        return {
            "inputs": [i._to_request_dict() for i in inputs],
            "output_config": output_config,
            "experiment_config": experiment_config,
            "job_name": processor._current_job_name,
            "resources": {"ClusterConfig": cluster},
            "stopping_condition": ({"MaxRuntimeInSeconds": processor.max_runtime_in_seconds}
                                   if processor.max_runtime_in_seconds is not None else None),
            "app_specification": app,
            "environment": processor.env,
            "network_config": processor.network_config._to_request_dict() if processor.network_config else None,
            "role_arn": session.expand_role(processor.role) if processor.role else None,
            "tags": _sdk_config.append_tags(processor.tags, getattr(processor, "_sdk_config", {})),
        }

    @classmethod
    def from_processing_name(cls, sagemaker_session, processing_job_name) -> "ProcessingJob":
        """The job called ``processing_job_name``, rebuilt from ``DescribeProcessingJob``."""
        desc = sagemaker_session.describe_processing_job(processing_job_name)
        inputs = None
        if desc.get("ProcessingInputs"):
            inputs = []
            for item in desc["ProcessingInputs"]:
                s3 = item.get("S3Input") or {}
                inputs.append(ProcessingInput(
                    source=s3.get("S3Uri"), destination=s3.get("LocalPath"), input_name=item["InputName"],
                    s3_data_type=s3.get("S3DataType", "S3Prefix"), s3_input_mode=s3.get("S3InputMode", "File"),
                    s3_data_distribution_type=s3.get("S3DataDistributionType", "FullyReplicated"),
                    s3_compression_type=s3.get("S3CompressionType", "None"),
                    dataset_definition=DatasetDefinition.from_boto(item.get("DatasetDefinition")),
                    app_managed=item.get("AppManaged", False)))
        outputs = None
        output_config = desc.get("ProcessingOutputConfig") or {}
        if output_config.get("Outputs"):
            outputs = []
            for item in output_config["Outputs"]:
                out = ProcessingOutput(output_name=item["OutputName"], app_managed=item.get("AppManaged", False),
                                       feature_store_output=FeatureStoreOutput.from_boto(item.get("FeatureStoreOutput")))
                if "S3Output" in item:
                    out.source = item["S3Output"]["LocalPath"]
                    out.destination = item["S3Output"]["S3Uri"]
                    out.s3_upload_mode = item["S3Output"].get("S3UploadMode", "EndOfJob")
                outputs.append(out)
        return cls(sagemaker_session=sagemaker_session, job_name=processing_job_name, inputs=inputs,
                   outputs=outputs, output_kms_key=output_config.get("KmsKeyId"))

    @classmethod
    def from_processing_arn(cls, sagemaker_session, processing_job_arn) -> "ProcessingJob":
        """The job of ``processing_job_arn`` (``arn:...:processing-job/NAME``)."""
        parts = processing_job_arn.split(":")
        if len(parts) < 6 or not parts[5].startswith("processing-job/"):
            raise ValueError(f"processing_job_arn: expected 'arn:<partition>:sagemaker:<region>:<account>:"
                             f"processing-job/<name>', found {processing_job_arn!r}")
        return cls.from_processing_name(sagemaker_session, parts[5][len("processing-job/"):])

    def wait(self, logs=True):
        """Block until the job ends, printing its log lines if ``logs``.

        Raises
        ------
        UnexpectedStatusException
            The job ended ``Failed``.
        """
        if logs:
            self.sagemaker_session.logs_for_processing_job(self.job_name, wait=True)
        else:
            self.sagemaker_session.wait_for_processing_job(self.job_name)

    def describe(self) -> dict:
        """The ``DescribeProcessingJob`` answer for this job."""
        return self.sagemaker_session.describe_processing_job(self.job_name)

    def stop(self):
        """Ask the job to stop (``StopProcessingJob``); it ends ``Stopped``."""
        self.sagemaker_session.stop_processing_job(self.name)

    @staticmethod
    def prepare_app_specification(container_arguments, container_entrypoint, image_uri) -> dict:
        """The ``AppSpecification`` of a request; arguments and entrypoint only when given."""
        config: dict[str, Any] = {"ImageUri": image_uri}
        if container_arguments is not None:
            config["ContainerArguments"] = container_arguments
        if container_entrypoint is not None:
            config["ContainerEntrypoint"] = container_entrypoint
        return config

    @staticmethod
    def prepare_output_config(kms_key_id, outputs) -> dict:
        """The ``ProcessingOutputConfig`` of a request (``outputs``: request dicts); the key only when given."""
        config: dict[str, Any] = {"Outputs": outputs}
        if kms_key_id is not None:
            config["KmsKeyId"] = kms_key_id
        return config

    @staticmethod
    def prepare_processing_resources(instance_count, instance_type, volume_kms_key_id, volume_size_in_gb) -> dict:
        """The ``ProcessingResources`` of a request; ``VolumeKmsKeyId`` only when given."""
        cluster: dict[str, Any] = {"InstanceCount": instance_count, "InstanceType": instance_type,
                                   "VolumeSizeInGB": volume_size_in_gb}
        if volume_kms_key_id is not None:
            cluster["VolumeKmsKeyId"] = volume_kms_key_id
        return {"ClusterConfig": cluster}

    @staticmethod
    def prepare_stopping_condition(max_runtime_in_seconds) -> dict:
        """The ``StoppingCondition`` of a request."""
        return {"MaxRuntimeInSeconds": max_runtime_in_seconds}


def _local_path(source, what: str) -> pathlib.Path:
    """An absolute local path from a path or ``file://`` URI."""
    text = str(source)
    url = urlparse(text)
    if url.scheme == "file":
        text = url2pathname(url.path)
    elif url.scheme not in ("",) and len(url.scheme) > 1:
        raise ValueError(f"{what}: expected an s3:// URI or a local path, found {source!r} (scheme {url.scheme!r})")
    return pathlib.Path(text).expanduser().resolve()
