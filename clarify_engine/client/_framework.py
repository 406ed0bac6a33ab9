"""``FrameworkProcessor`` (``sagemaker.processing.FrameworkProcessor`` of SDK 2.199).

``run(code, source_dir, dependencies, ...)`` packs ``source_dir`` (or the script alone) and the
``dependencies`` into ``sourcedir.tar.gz`` at ``<code_location or s3://<bucket>[/<prefix>]>/<job>/source/``,
writes ``runproc.sh`` beside it, and runs ``/bin/bash /opt/ml/processing/input/entrypoint/runproc.sh``
(which unpacks the bundle in ``/opt/ml/processing/input/code/``, installs ``requirements.txt``
when there is one and runs ``<command> <code> "$@"``): the inputs are the user's, ``code``
(the bundle) and ``entrypoint`` (the script), as in the SDK's request.

Local mode stages the bundle and the script under the local session's ``.staging`` folder; the
local session runs the job in a virtual environment of its own (:mod:`._framework_venv`).
"""

from __future__ import annotations

import logging
import os
import tarfile
import tempfile
from copy import copy
from pathlib import Path
from textwrap import dedent
from urllib.parse import urlparse

from clarify_engine.client._processing import (
    ProcessingInput,
    ScriptProcessor,
    bucket_prefix,
    s3_path_join,
    upload,
    upload_string,
)
from clarify_engine.client._pipeline_context import current_step, hash_object
from clarify_engine.client._step_args import runnable_by_pipeline

log = logging.getLogger(__name__)

BUNDLE_NAME = "sourcedir.tar.gz"
RUNPROC_NAME = "runproc.sh"


class FrameworkProcessor(ScriptProcessor):
    """Runs a script of a framework image with its ``source_dir`` and ``requirements.txt``.

    Parameters
    ----------
    estimator_cls : type
        The SDK estimator class of the framework (e.g. ``sagemaker.sklearn.SKLearn``); used, as
        the SDK does, only to find the image (``training_image_uri()``) when ``image_uri`` is
        not given and the base job name (its ``_framework_name``) when ``base_job_name`` is not.
    framework_version : str
    role, instance_count, instance_type, volume_size_in_gb, volume_kms_key, output_kms_key,
    max_runtime_in_seconds, base_job_name, sagemaker_session, env, tags, network_config
        As :class:`ScriptProcessor` (``instance_type`` defaults to ``"local"``).
    py_version : str, default "py3"
    image_uri : str, optional
    command : list of str, default ["python"]
        What runs the script inside ``runproc.sh``.
    code_location : str, optional
        ``s3://`` prefix for the bundle and ``runproc.sh`` (default: the session's bucket).
    """

    framework_entrypoint_command = ["/bin/bash"]

    def __init__(self, estimator_cls, framework_version, role=None, instance_count=1, instance_type="local",
                 py_version="py3", image_uri=None, command=None, volume_size_in_gb=30, volume_kms_key=None,
                 output_kms_key=None, code_location=None, max_runtime_in_seconds=None, base_job_name=None,
                 sagemaker_session=None, env=None, tags=None, network_config=None):
        if not command:
            command = ["python"]
        self.estimator_cls = estimator_cls
        self.framework_version = framework_version
        self.py_version = py_version
        super().__init__(role=role, image_uri=image_uri, command=command, instance_count=instance_count,
                         instance_type=instance_type, volume_size_in_gb=volume_size_in_gb,
                         volume_kms_key=volume_kms_key, output_kms_key=output_kms_key,
                         max_runtime_in_seconds=max_runtime_in_seconds, base_job_name=base_job_name,
                         sagemaker_session=sagemaker_session, env=env, tags=tags, network_config=network_config)
        self._CODE_CONTAINER_INPUT_NAME = "entrypoint"
        self.code_location = code_location[:-1] if code_location and code_location.endswith("/") else code_location
        if image_uri is None or base_job_name is None:
            estimator = self._create_estimator()
            if image_uri is None and estimator is not None:
                self.image_uri = estimator.training_image_uri()
            if base_job_name is None:
                self.base_job_name = (getattr(estimator, "base_job_name", None)
                                      or getattr(estimator_cls, "_framework_name", None))
        if self.image_uri is None and not self.sagemaker_session.local_mode:
            raise ValueError(f"FrameworkProcessor: image_uri is required for a SageMaker job when estimator_cls "
                             f"({getattr(estimator_cls, '__name__', estimator_cls)!r}) has no training_image_uri(); "
                             "pass image_uri= (the framework's processing image) or a SageMaker SDK estimator class")

    def _create_estimator(self, entry_point="", source_dir=None, dependencies=None, git_config=None):
        """The SDK's estimator of ``estimator_cls`` (None when it is not one: no ``training_image_uri``)."""
        if not callable(getattr(self.estimator_cls, "training_image_uri", None)):
            return None
        return self.estimator_cls(
            framework_version=self.framework_version, py_version=self.py_version, entry_point=entry_point,
            source_dir=source_dir, dependencies=dependencies, git_config=git_config, code_location=self.code_location,
            enable_network_isolation=False, image_uri=self.image_uri, role=self.role, instance_count=1,
            instance_type=self.instance_type, sagemaker_session=self.sagemaker_session, debugger_hook_config=False,
            disable_profiler=True, output_kms_key=self.output_kms_key)

    def get_run_args(self, code, source_dir=None, dependencies=None, git_config=None, inputs=None, outputs=None,
                     arguments=None, job_name=None):
        """The :class:`RunArgs` of a run (deprecated in the SDK too); packs and stages the code like :meth:`run`."""
        log.warning("This function has been deprecated and could break pipeline step caching. We recommend using "
                    "the run() function directly with pipeline sessionsto access step arguments.")
        s3_runproc_sh, inputs, job_name = self._pack_and_upload_code(code, source_dir, dependencies, git_config,
                                                                     job_name, inputs)
        from clarify_engine.client._processing import RunArgs

        return RunArgs(s3_runproc_sh, inputs=inputs, outputs=outputs, arguments=arguments)

    @runnable_by_pipeline
    def run(self, code, source_dir=None, dependencies=None, git_config=None, inputs=None, outputs=None,
            arguments=None, wait=True, logs=True, job_name=None, experiment_config=None, kms_key=None):
        """Run ``code`` (relative to ``source_dir`` when given) with its bundle and ``requirements.txt``.

        Parameters
        ----------
        code : str
            The script: a local path (relative to ``source_dir`` when that is given) or an
            ``s3://`` URI of a ready ``runproc``-style script (then nothing is packed).
        source_dir : str, optional
            A local folder packed whole (``requirements.txt`` at its top is installed), or an
            ``s3://`` URI of a ready ``sourcedir.tar.gz``.
        dependencies : list of str, optional
            Local files or folders added to the bundle's top level.
        git_config : dict, optional
            Not offered: clone the repository and pass its folder as ``source_dir``.
        inputs, outputs, arguments, wait, logs, job_name, experiment_config, kms_key
            As :meth:`ScriptProcessor.run`.
        """
        s3_runproc_sh, inputs, job_name = self._pack_and_upload_code(code, source_dir, dependencies, git_config,
                                                                     job_name, inputs, kms_key)
        return super().run(code=s3_runproc_sh, inputs=inputs, outputs=outputs, arguments=arguments, wait=wait,
                           logs=logs, job_name=job_name, experiment_config=experiment_config, kms_key=kms_key)

    # -- packing --------------------------------------------------------------------------

    def _pack_and_upload_code(self, code, source_dir, dependencies, git_config, job_name, inputs, kms_key=None):
        if code.startswith("s3://"):
            return code, inputs, job_name
        if git_config:
            raise ValueError("FrameworkProcessor.run(git_config=...) is not supported by clarify_engine.client: "
                             "clone the repository yourself and pass its folder as source_dir=")
        if job_name is None:
            job_name = self._generate_current_job_name(job_name)
        bundle_uri, script = self._upload_payload(code, source_dir, dependencies, job_name, kms_key)
        inputs = self._patch_inputs_with_payload(inputs, bundle_uri)
        if not bundle_uri.endswith("/" + BUNDLE_NAME):
            raise RuntimeError("S3 source_dir file must be named `sourcedir.tar.gz.`")
        entrypoint_uri = bundle_uri[: -len(BUNDLE_NAME)] + RUNPROC_NAME
        evaluated_kms_key = kms_key if kms_key else self.output_kms_key
        return self._create_and_upload_runproc(script, evaluated_kms_key, entrypoint_uri), inputs, job_name

    def _code_prefix(self, job_name: str) -> str:
        """``<code_location or s3://<bucket>[/<prefix>]>/<job>/source`` (local: the session's staging folder)."""
        session = self.sagemaker_session
        if self.code_location:
            base = self.code_location
        elif session.local_mode:
            base = str(session.staging_dir())
        else:
            base = s3_path_join("s3://", session.default_bucket(), bucket_prefix(session))
        step = current_step()
        if step and step.code_hash:  # inside a pipeline: by the code's hash
            return f"{base}/{step.pipeline_name}/code/{step.code_hash}"
        return f"{base}/{job_name}/source"

    def _upload_payload(self, entry_point, source_dir, dependencies, job_name, kms_key=None) -> tuple[str, str]:
        """Pack and place the bundle; returns its URI (or path) and the script's name inside it."""
        if source_dir and str(source_dir).lower().startswith("s3://"):
            return str(source_dir), entry_point
        script_name = entry_point if source_dir else os.path.basename(entry_point)
        script_path = Path(source_dir, entry_point) if source_dir else Path(entry_point)
        if not script_path.is_file():
            raise ValueError(f"code {entry_point}: no such file{' in source_dir ' + str(source_dir) if source_dir else ''}"
                             "; pass the script's path (relative to source_dir when source_dir is given)")
        if source_dir and not Path(source_dir).is_dir():
            raise ValueError(f"source_dir {source_dir}: not a folder; pass a local folder or an s3:// URI of a "
                             f"{BUNDLE_NAME}")
        members = ([Path(source_dir, name) for name in sorted(os.listdir(source_dir))] if source_dir
                   else [script_path])
        for dep in dependencies or []:
            if not Path(dep).exists():
                raise ValueError(f"dependencies: {dep} does not exist; pass local files or folders")
            members.append(Path(dep))
        destination = f"{self._code_prefix(job_name)}/{BUNDLE_NAME}"
        with tempfile.TemporaryDirectory() as tmp:
            bundle = Path(tmp, BUNDLE_NAME)
            with tarfile.open(bundle, "w:gz") as tar:
                for member in members:
                    tar.add(member, arcname=member.name)
            if urlparse(destination).scheme == "s3":
                upload(self.sagemaker_session, bundle, destination.rsplit("/", 1)[0], kms_key=kms_key)
            else:
                Path(destination).parent.mkdir(parents=True, exist_ok=True)
                os.replace(bundle, destination)
        log.info("Uploaded %s to %s", source_dir or entry_point, destination)
        return destination, script_name

    def _patch_inputs_with_payload(self, inputs, payload_uri) -> list:
        patched = copy(inputs or [])
        patched.append(ProcessingInput(input_name="code", source=payload_uri, destination="/opt/ml/processing/input/code/"))
        return patched

    def _set_entrypoint(self, command, user_script_name):
        # ScriptProcessor's hook: the job runs runproc.sh with bash, whatever ``command`` is.
        self.entrypoint = self.framework_entrypoint_command + [
            f"{self._CODE_CONTAINER_BASE_PATH}{self._CODE_CONTAINER_INPUT_NAME}/{user_script_name}"]

    def _generate_framework_script(self, user_script: str) -> str:
        """``runproc.sh``: unpack the bundle, install ``requirements.txt``, run the script (SDK 2.199's text)."""
        return dedent("""\
            #!/bin/bash

            cd /opt/ml/processing/input/code/
            tar -xzf sourcedir.tar.gz

            # Exit on any error. SageMaker uses error code to mark failed job.
            set -e

            if [[ -f 'requirements.txt' ]]; then
                # Some py3 containers has typing, which may breaks pip install
                pip uninstall --yes typing

                pip install -r requirements.txt
            fi

            {entry_point_command} {entry_point} "$@"
        """).format(entry_point_command=" ".join(self.command), entry_point=user_script)

    def _create_and_upload_runproc(self, user_script, kms_key, entrypoint_uri) -> str:
        body = self._generate_framework_script(user_script)
        step = current_step()
        if step is not None and not self.sagemaker_session.local_mode:
            # Inside a pipeline: by the script's hash, under the session's bucket (code_location or not).
            entrypoint_uri = s3_path_join("s3://", self.sagemaker_session.default_bucket(),
                                          bucket_prefix(self.sagemaker_session), step.pipeline_name, "code",
                                          hash_object(body), RUNPROC_NAME)
        if urlparse(entrypoint_uri).scheme == "s3":
            uri = upload_string(self.sagemaker_session, body, entrypoint_uri, kms_key=kms_key)
        else:
            Path(entrypoint_uri).parent.mkdir(parents=True, exist_ok=True)
            Path(entrypoint_uri).write_text(body, encoding="utf-8")
            uri = entrypoint_uri
        log.info("runproc.sh uploaded to %s", uri)
        return uri
