"""``PySparkProcessor``, ``SparkJarProcessor``, ``FileType``, ``SparkConfigUtils`` (``sagemaker.spark.processing``).

Same signatures, validation, error messages and ``CreateProcessingJob`` requests as SDK 2.199:
the command is ``smspark-submit`` plus ``--class`` (jar apps), ``--py-files`` / ``--jars`` /
``--files`` (S3 URIs kept verbatim, local files staged into the input channel of that name),
``--local-spark-event-logs-dir`` (with a ``Continuous`` output to ``spark_event_logs_s3_uri``),
then the app. ``configuration`` (EMR classifications) goes in as ``conf/configuration.json``.
Inputs: the user's, ``py-files``, ``jars``, ``files``, ``conf``, ``code``.

Local mode (``instance_type="local"``) stages the same files in the local session's folder and
runs the job with :mod:`clarify_engine.client.spark._submit`, this package's ``smspark-submit``:
``spark-submit --master local[*]`` from the pyspark wheel. Differences from the SDK: a local
*directory* in ``submit_py_files`` / ``submit_jars`` / ``submit_files`` is accepted (the SDK's
docstring allows it, its check refuses it): the files directly inside it join the channel.
``start_history_server`` runs Spark's history server from the pyspark wheel, not the image in
Docker (:mod:`clarify_engine.client.spark._history`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from copy import copy
from enum import Enum
from pathlib import Path
from urllib.parse import urlparse

from clarify_engine.client._processing import (
    ProcessingInput,
    ProcessingOutput,
    ScriptProcessor,
    bucket_prefix,
    s3_path_join,
    upload,
    upload_string,
)
from clarify_engine.client._pipeline_context import current_step
from clarify_engine.client._session import default_session
from clarify_engine.client._step_args import runnable_by_pipeline
from clarify_engine.client.spark import _images

log = logging.getLogger(__name__)

EMR_CONFIGURE_APPS_URL = "https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-configure-apps.html"


class FileType(Enum):
    """Kinds of Spark dependencies: each has its input channel and ``spark-submit`` option."""

    JAR = 1
    PYTHON = 2
    FILE = 3


class SparkConfigUtils:
    """Checks of the Spark processors' arguments (``sagemaker.spark.processing.SparkConfigUtils``)."""

    _valid_configuration_keys = ["Classification", "Properties", "Configurations"]
    _valid_configuration_classifications = [
        "core-site", "hadoop-env", "hadoop-log4j", "hive-env", "hive-log4j", "hive-exec-log4j", "hive-site",
        "spark-defaults", "spark-env", "spark-log4j", "spark-hive-site", "spark-metrics", "yarn-env", "yarn-site",
        "export",
    ]

    @staticmethod
    def validate_configuration(configuration) -> None:
        """Refuse an EMR configuration (a dict, or a list of them) that the Spark image cannot apply.

        A dict needs ``Classification`` and ``Properties``, may also have ``Configurations``,
        and its classification must be one of :attr:`_valid_configuration_classifications`.
        The messages are the SDK's (its classification error names the key, not the value).
        """
        if isinstance(configuration, dict):
            keys = configuration.keys()
            if "Classification" not in keys or "Properties" not in keys:
                raise ValueError(f"Missing one or more required keys in configuration dictionary {configuration} "
                                 f"Please see {EMR_CONFIGURE_APPS_URL} for more information")
            for key in keys:
                if key not in SparkConfigUtils._valid_configuration_keys:
                    raise ValueError(f"Invalid key: {key}. Must be one of "
                                     f"{SparkConfigUtils._valid_configuration_keys}. Please see "
                                     f"{EMR_CONFIGURE_APPS_URL} for more information.")
                if key == "Classification" and \
                        configuration[key] not in SparkConfigUtils._valid_configuration_classifications:
                    raise ValueError(f"Invalid classification: {key}. Must be one of "
                                     f"{SparkConfigUtils._valid_configuration_classifications}")
        if isinstance(configuration, list):
            for item in configuration:
                SparkConfigUtils.validate_configuration(item)

    @staticmethod
    def validate_s3_uri(spark_output_s3_path) -> None:
        """Refuse anything but an ``s3://`` URI (the event-log destination)."""
        if urlparse(spark_output_s3_path).scheme != "s3":
            raise ValueError(f"Invalid s3 path: {spark_output_s3_path}. Please enter something like "
                             "s3://bucket-name/folder-name")


class _SparkProcessorBase(ScriptProcessor):
    """What both Spark processors share: image, staging of dependencies, configuration, event logs."""

    _default_command = "smspark-submit"
    _conf_container_base_path = "/opt/ml/processing/input/"
    _conf_container_input_name = "conf"
    _conf_file_name = "configuration.json"
    _submit_jars_input_channel_name = "jars"
    _submit_files_input_channel_name = "files"
    _submit_py_files_input_channel_name = "py-files"
    _submit_deps_error_message = ("Please specify a list of one or more S3 URIs, local file paths, and/or local "
                                  "directory paths")
    _spark_event_log_default_local_path = "/opt/ml/processing/spark-events/"

    def __init__(self, role=None, instance_type="local", instance_count=1, framework_version=None, py_version=None,
                 container_version=None, image_uri=None, volume_size_in_gb=30, volume_kms_key=None,
                 output_kms_key=None, configuration_location=None, dependency_location=None,
                 max_runtime_in_seconds=None, base_job_name=None, sagemaker_session=None, env=None, tags=None,
                 network_config=None):
        self.configuration_location = configuration_location
        self.dependency_location = dependency_location
        self.history_server = None
        self._spark_event_logs_s3_uri = None
        session = sagemaker_session or default_session(instance_type)
        self.image_uri = self._retrieve_image_uri(image_uri, framework_version, py_version, container_version,
                                                  getattr(session, "boto_region_name", None), instance_type,
                                                  session.local_mode)
        super().__init__(role=role, image_uri=self.image_uri, command=[self._default_command],
                         instance_count=instance_count, instance_type=instance_type,
                         volume_size_in_gb=volume_size_in_gb, volume_kms_key=volume_kms_key,
                         output_kms_key=output_kms_key, max_runtime_in_seconds=max_runtime_in_seconds,
                         base_job_name=base_job_name, sagemaker_session=session, env=env or {}, tags=tags,
                         network_config=network_config)

    @staticmethod
    def _retrieve_image_uri(image_uri, framework_version, py_version, container_version, region, instance_type,
                            local_mode: bool = False):
        """``image_uri``, else the SageMaker Spark image of ``framework_version`` (checks as the SDK).

        A local job needs no image: without ``framework_version`` (or a known region) it gets None.
        """
        if image_uri:
            return image_uri
        if (py_version is None) != (container_version is None):
            raise ValueError("Both or neither of py_version and container_version should be set")
        if local_mode and (framework_version is None or region is None):
            return None
        return _images.retrieve(region, framework_version, instance_type, py_version,
                                f"v{container_version}" if container_version else None)

    # -- staging ------------------------------------------------------------------------

    def _prefix(self, location: str | None) -> str:
        """Where staged files go: ``location`` (no trailing slash), else the default bucket [+ prefix]."""
        if location:
            return location[:-1] if location.endswith("/") else location
        session = self.sagemaker_session
        if session.local_mode:
            return str(session.staging_dir())
        return s3_path_join("s3://", session.default_bucket(), bucket_prefix(session))

    def _stage_configuration(self, configuration) -> ProcessingInput:
        """Write ``configuration`` as ``<prefix>/<job>/input/conf/configuration.json``; its input."""
        body = json.dumps(configuration).encode("utf-8")
        step = current_step()
        if step and step.config_hash:  # inside a pipeline: by step and by the configuration's hash
            uri = f"{self._prefix(self.configuration_location)}/{step.pipeline_name}/{step.step_name}/input/" \
                  f"{self._conf_container_input_name}/{step.config_hash}/{self._conf_file_name}"
        else:
            uri = f"{self._prefix(self.configuration_location)}/{self._current_job_name}/input/" \
                  f"{self._conf_container_input_name}/{self._conf_file_name}"
        if urlparse(uri).scheme == "s3":
            upload_string(self.sagemaker_session, body, uri)
        else:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
            Path(uri).write_bytes(body)
        return ProcessingInput(source=uri, destination=f"{self._conf_container_base_path}{self._conf_container_input_name}",
                               input_name=self._conf_container_input_name)

    def _stage_submit_deps(self, submit_deps, input_channel_name):
        """Split ``submit_deps`` into S3 URIs (kept) and local files (staged into one input channel).

        Returns the channel's :class:`ProcessingInput` (or None) and the ``spark-submit``
        option value: the S3 URIs, then the channel's container folder, comma-joined.
        """
        if not submit_deps:
            raise ValueError(f"submit_deps value may not be empty. {self._submit_deps_error_message}")
        if not input_channel_name:
            raise ValueError("input_channel_name value may not be empty.")
        if isinstance(submit_deps, (str, bytes)):
            raise ValueError(f"submit_deps must be a list of paths or S3 URIs, found the string {submit_deps!r}; "
                            f"wrap it in a list: [{submit_deps!r}]")
        s3_uris: list[str] = []
        input_channel = None
        with tempfile.TemporaryDirectory() as tmpdir:
            for dep_path in submit_deps:
                dep_url = urlparse(dep_path)
                if dep_url.scheme in ("s3", "s3a"):
                    s3_uris.append(dep_path)
                elif not dep_url.scheme or dep_url.scheme == "file":
                    local = dep_url.path if dep_url.scheme == "file" else dep_path
                    if os.path.isdir(local):
                        # The SDK refuses directories; smspark-submit expands one to the files in it.
                        entries = sorted(p for p in Path(local).iterdir() if p.is_file())
                        if not entries:
                            raise ValueError(f"submit_deps path {dep_path} is an empty directory. "
                                             f"{self._submit_deps_error_message}")
                        for entry in entries:
                            shutil.copy(entry, tmpdir)
                        continue
                    if not os.path.isfile(local):
                        raise ValueError(f"submit_deps path {dep_path} is not a valid local file. "
                                         f"{self._submit_deps_error_message}")
                    log.info("Copying dependency from local path %s to tmpdir %s", dep_path, tmpdir)
                    shutil.copy(local, tmpdir)
                else:
                    raise ValueError(f"submit_deps path {dep_path} references unsupported filesystem scheme: "
                                     f"{dep_url.scheme} {self._submit_deps_error_message}")
            if os.listdir(tmpdir):
                step = current_step()
                if step and step.code_hash:  # inside a pipeline: by the code's hash
                    channel_uri = f"{self._prefix(self.dependency_location)}/{step.pipeline_name}/code/" \
                                  f"{step.code_hash}/{input_channel_name}"
                else:
                    channel_uri = f"{self._prefix(self.dependency_location)}/{self._current_job_name}/input/" \
                                  f"{input_channel_name}"
                log.info("Uploading dependencies from tmpdir %s to %s", tmpdir, channel_uri)
                if urlparse(channel_uri).scheme == "s3":
                    upload(self.sagemaker_session, tmpdir, channel_uri)
                else:
                    shutil.copytree(tmpdir, channel_uri, dirs_exist_ok=True)
                input_channel = ProcessingInput(source=channel_uri,
                                                destination=f"{self._conf_container_base_path}{input_channel_name}",
                                                input_name=input_channel_name)
        values = s3_uris + ([input_channel.destination] if input_channel else [])
        return input_channel, ",".join(values)

    def _handle_script_dependencies(self, inputs, submit_files, file_type):
        if not submit_files:
            return inputs
        channel = {FileType.PYTHON: self._submit_py_files_input_channel_name,
                   FileType.JAR: self._submit_jars_input_channel_name,
                   FileType.FILE: self._submit_files_input_channel_name}[file_type]
        files_input, files_opt = self._stage_submit_deps(submit_files, channel)
        inputs = inputs or []
        if files_input:
            inputs.append(files_input)
        if files_opt:
            self.command.extend([f"--{channel}", files_opt])
        return inputs

    def _extend_processing_args(self, inputs, outputs, **kwargs):
        """Event-log output and ``--local-spark-event-logs-dir``; the ``conf`` input."""
        extended_outputs = copy(outputs or [])
        if kwargs.get("spark_event_logs_s3_uri"):
            uri = kwargs["spark_event_logs_s3_uri"]
            SparkConfigUtils.validate_s3_uri(uri)
            self._spark_event_logs_s3_uri = uri
            self.command.extend(["--local-spark-event-logs-dir", self._spark_event_log_default_local_path])
            extended_outputs.append(ProcessingOutput(source=self._spark_event_log_default_local_path,
                                                     destination=uri, s3_upload_mode="Continuous"))
        extended_inputs = copy(inputs or [])
        if kwargs.get("configuration"):
            SparkConfigUtils.validate_configuration(kwargs["configuration"])
            extended_inputs.append(self._stage_configuration(kwargs["configuration"]))
        return (extended_inputs or None, extended_outputs or None)

    def _run_args(self, submit_app, inputs, outputs, arguments, job_name, **spark_kwargs):
        """``get_run_args`` of both processors: the job name, the staged inputs and outputs, the RunArgs."""
        self._current_job_name = self._generate_current_job_name(job_name=job_name)
        if not submit_app:
            raise ValueError("submit_app is required")
        extended_inputs, extended_outputs = self._extend_processing_args(inputs=inputs, outputs=outputs,
                                                                         **spark_kwargs)
        return ScriptProcessor.get_run_args(self, code=submit_app, inputs=extended_inputs, outputs=extended_outputs,
                                            arguments=arguments)

    def _start(self, submit_app, inputs, outputs, arguments, wait, logs, experiment_config, kms_key, **kwargs):
        """Shared ``run``: checks, staging, then :meth:`ScriptProcessor.run` with the app as code."""
        self._current_job_name = self._generate_current_job_name(job_name=kwargs.pop("job_name"))
        if not submit_app:
            raise ValueError("submit_app is required")
        if self.sagemaker_session.local_mode:
            from clarify_engine.client.spark._submit import check_local_spark

            check_local_spark()
        extended_inputs, extended_outputs = self._extend_processing_args(inputs=inputs, outputs=outputs, **kwargs)
        return ScriptProcessor.run(self, submit_app, inputs=extended_inputs, outputs=extended_outputs,
                                   arguments=arguments, wait=wait, logs=logs, job_name=self._current_job_name,
                                   experiment_config=experiment_config, kms_key=kms_key)

    def start_history_server(self, spark_event_logs_s3_uri=None):
        """Start Spark's history server over the event logs, on this machine (no Docker).

        Parameters
        ----------
        spark_event_logs_s3_uri : str, optional
            ``s3://`` URI (copied into a private folder through the session's S3 client), ``file://``
            URI or local folder of the event logs; by default the ``spark_event_logs_s3_uri`` of
            this processor's last run. A server this processor started before is stopped first.

        Raises
        ------
        ValueError
            No URI given and none from a run, or no event logs at the URI.
        RuntimeError
            pyspark or a Java runtime is missing, the port is taken, or the server did not start.
        """
        from clarify_engine.client.spark import _history

        uri = spark_event_logs_s3_uri or self._spark_event_logs_s3_uri
        if not uri:
            raise ValueError(_history.NO_URI)
        self.terminate_history_server()
        session = self.sagemaker_session
        s3_client = getattr(session, "s3_client", None) or session.boto_session.client("s3")
        self.history_server = _history.start(uri, s3_client, getattr(session, "boto_region_name", None))
        log.info("History server is up on %s", self.history_server.url)

    def terminate_history_server(self):
        """Stop the history server :meth:`start_history_server` started (nothing to do when none runs)."""
        if self.history_server:
            log.info("History server is running, terminating history server")
            self.history_server.stop()
            self.history_server = None


class PySparkProcessor(_SparkProcessorBase):
    """Runs a PySpark app as a processing job (``sagemaker.spark.processing.PySparkProcessor``).

    Parameters are those of the SDK: ``role, instance_type, instance_count, framework_version,
    py_version, container_version, image_uri, volume_size_in_gb, volume_kms_key,
    output_kms_key, configuration_location, dependency_location, max_runtime_in_seconds,
    base_job_name, sagemaker_session, env, tags, network_config``. ``instance_type`` defaults
    to ``"local"`` (``spark-submit --master local[*]`` on this machine).
    """

    def get_run_args(self, submit_app, submit_py_files=None, submit_jars=None, submit_files=None, inputs=None,
                     outputs=None, arguments=None, job_name=None, configuration=None, spark_event_logs_s3_uri=None):
        """The :class:`RunArgs` of a run (deprecated in the SDK too); stages the files like :meth:`run`."""
        return self._run_args(submit_app, inputs, outputs, arguments, job_name, submit_py_files=submit_py_files,
                              submit_jars=submit_jars, submit_files=submit_files, configuration=configuration,
                              spark_event_logs_s3_uri=spark_event_logs_s3_uri)

    @runnable_by_pipeline
    def run(self, submit_app, submit_py_files=None, submit_jars=None, submit_files=None, inputs=None, outputs=None,
            arguments=None, wait=True, logs=True, job_name=None, experiment_config=None, configuration=None,
            spark_event_logs_s3_uri=None, kms_key=None):
        """Run ``submit_app`` (a ``.py`` file or ``s3://`` URI) with ``smspark-submit``.

        Parameters
        ----------
        submit_app : str
        submit_py_files, submit_jars, submit_files : list of str, optional
            ``s3://``/``s3a://`` URIs, local files, or local directories (their top-level files).
        configuration : dict or list of dict, optional
            EMR classifications (``spark-defaults``, ``spark-env``, ``core-site``, ...).
        spark_event_logs_s3_uri : str, optional
            ``s3://`` destination of the Spark event logs (a ``Continuous`` output).
        inputs, outputs, arguments, wait, logs, job_name, experiment_config, kms_key
            As :meth:`ScriptProcessor.run`.
        """
        return self._start(submit_app, inputs, outputs, arguments, wait, logs, experiment_config, kms_key,
                           job_name=job_name, submit_py_files=submit_py_files, submit_jars=submit_jars,
                           submit_files=submit_files, configuration=configuration,
                           spark_event_logs_s3_uri=spark_event_logs_s3_uri)

    def _extend_processing_args(self, inputs, outputs, **kwargs):
        extended_inputs = copy(inputs or [])
        self.command = [self._default_command]
        extended_inputs = self._handle_script_dependencies(extended_inputs, kwargs.get("submit_py_files"), FileType.PYTHON)
        extended_inputs = self._handle_script_dependencies(extended_inputs, kwargs.get("submit_jars"), FileType.JAR)
        extended_inputs = self._handle_script_dependencies(extended_inputs, kwargs.get("submit_files"), FileType.FILE)
        return super()._extend_processing_args(extended_inputs, outputs, **kwargs)


class SparkJarProcessor(_SparkProcessorBase):
    """Runs a Java/Scala Spark app as a processing job (``sagemaker.spark.processing.SparkJarProcessor``).

    Parameters are those of :class:`PySparkProcessor`.
    """

    def get_run_args(self, submit_app, submit_class=None, submit_jars=None, submit_files=None, inputs=None,
                     outputs=None, arguments=None, job_name=None, configuration=None, spark_event_logs_s3_uri=None):
        """The :class:`RunArgs` of a run (deprecated in the SDK too); stages the files like :meth:`run`."""
        return self._run_args(submit_app, inputs, outputs, arguments, job_name, submit_class=submit_class,
                              submit_jars=submit_jars, submit_files=submit_files, configuration=configuration,
                              spark_event_logs_s3_uri=spark_event_logs_s3_uri)

    @runnable_by_pipeline
    def run(self, submit_app, submit_class, submit_jars=None, submit_files=None, inputs=None, outputs=None,
            arguments=None, wait=True, logs=True, job_name=None, experiment_config=None, configuration=None,
            spark_event_logs_s3_uri=None, kms_key=None):
        """Run the jar ``submit_app``'s class ``submit_class`` with ``smspark-submit``.

        Parameters are those of :meth:`PySparkProcessor.run` without ``submit_py_files``, plus
        ``submit_class`` (required).
        """
        return self._start(submit_app, inputs, outputs, arguments, wait, logs, experiment_config, kms_key,
                           job_name=job_name, submit_class=submit_class, submit_jars=submit_jars,
                           submit_files=submit_files, configuration=configuration,
                           spark_event_logs_s3_uri=spark_event_logs_s3_uri)

    def _extend_processing_args(self, inputs, outputs, **kwargs):
        self.command = [self._default_command]
        if kwargs.get("submit_class"):
            self.command.extend(["--class", kwargs.get("submit_class")])
        else:
            raise ValueError("submit_class is required")
        extended_inputs = copy(inputs or [])
        extended_inputs = self._handle_script_dependencies(extended_inputs, kwargs.get("submit_jars"), FileType.JAR)
        extended_inputs = self._handle_script_dependencies(extended_inputs, kwargs.get("submit_files"), FileType.FILE)
        return super()._extend_processing_args(extended_inputs, outputs, **kwargs)
