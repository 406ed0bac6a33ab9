"""``SageMakerClarifyProcessor``: Clarify jobs through the SDK's ``run_*`` calls.

Each ``run_*`` builds the analysis configuration (:class:`_AnalysisConfigGenerator`),
checks it with the engine's own parser unless ``skip_early_validation``, writes it as
``analysis_config.json`` exactly as SDK 2.199.0 does (``json.dump`` with default
separators, no trailing newline), hands it to the session (an S3 upload, or a copy in
local mode) and starts a processing job with the two inputs ``dataset`` and
``analysis_config`` and the output ``analysis_result`` (contract §1.2).

Differences from the SDK
------------------------
* The image: the SDK looks up AWS's Clarify image from the region and ``version``;
  we take ``image_uri=`` (an extra, last keyword) or the environment variable
  ``CLARIFY_ENGINE_IMAGE_URI``; local jobs need none.
* ``instance_count`` / ``instance_type`` left at None mean 1 and ``"local"`` (the
  SDK would read them from its config file).
* Early validation (:func:`early_validation`) uses :func:`clarify_engine.config.load_config`,
  which names the key at fault, and refuses what this version cannot run
  (:class:`~clarify_engine.errors.NotSupportedError`); its
  :class:`~clarify_engine.errors.ConfigError` is a ``ValueError`` (the SDK raises
  ``schema.SchemaError``, a plain ``Exception``, from the ``schema`` package, which we do
  not depend on).
* In SageMaker mode a local ``s3_output_path`` is refused (the SDK would send the results
  to a place the user did not name).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile

from clarify_engine._io import atomic_write
from clarify_engine.client._clarify_config import ProcessingOutputHandler
from clarify_engine.client._clarify_generator import _AnalysisConfigGenerator
from clarify_engine.client._processing import ProcessingInput, ProcessingOutput, Processor, name_from_base, upload

__all__ = ["SageMakerClarifyProcessor", "write_analysis_config", "clarify_io_specs"]

log = logging.getLogger(__name__)

#: Name of the file the job reads its configuration from.
ANALYSIS_CONFIG_FILE = "analysis_config.json"

_DATA_INPUT = "/opt/ml/processing/input/data"
_CONFIG_INPUT = "/opt/ml/processing/input/config"
_OUTPUT = "/opt/ml/processing/output"


def write_analysis_config(analysis_config: dict, directory: str | os.PathLike) -> str:
    """Write ``analysis_config.json`` into ``directory`` byte for byte as the SDK does.

    Parameters
    ----------
    analysis_config : dict
        The configuration; keys are written in insertion order.
    directory : str or path-like
        An existing folder.

    Returns
    -------
    str
        Path of the written file.

    Notes
    -----
    The bytes of ``json.dump(config, f)`` (written atomically): separators ``", "`` and ``": "``, ASCII only
    (``ensure_ascii``), no trailing newline.
    """
    path = os.path.join(os.fspath(directory), ANALYSIS_CONFIG_FILE)
    atomic_write(path, json.dumps(analysis_config))
    return path


def clarify_io_specs(data_config, analysis_config: dict, config_uri: str) -> tuple[dict, dict, dict]:
    """Keyword arguments of the job's dataset input, config input and result output.

    Parameters
    ----------
    data_config : DataConfig
        Gives the dataset URI, its compression and the output prefix.
    analysis_config : dict
        Its ``dataset_type`` chooses the output's upload mode.
    config_uri : str
        Where ``analysis_config.json`` was uploaded.

    Returns
    -------
    (dict, dict, dict)
        For ``ProcessingInput`` (``dataset``), ``ProcessingInput``
        (``analysis_config``) and ``ProcessingOutput`` (``analysis_result``).
    """
    dataset = dict(input_name="dataset", source=data_config.s3_data_input_path, destination=_DATA_INPUT,
                   s3_data_type="S3Prefix", s3_input_mode="File",
                   s3_data_distribution_type=data_config.s3_data_distribution_type,
                   s3_compression_type=data_config.s3_compression_type)
    config = dict(input_name="analysis_config", source=config_uri, destination=_CONFIG_INPUT,
                  s3_data_type="S3Prefix", s3_input_mode="File", s3_compression_type="None")
    output = dict(source=_OUTPUT, destination=data_config.s3_output_path, output_name="analysis_result",
                  s3_upload_mode=ProcessingOutputHandler.get_s3_upload_mode(analysis_config))
    return dataset, config, output


def early_validation(analysis_config: dict) -> None:
    """Check, before anything is uploaded or started, everything a job would refuse later.

    The single hook of the client's early validation (``skip_early_validation=True`` skips
    it). It parses the config (:func:`clarify_engine.config.load_config`, every key and rule),
    refuses what this version cannot run (Model Monitor captures, image/NumPy model requests
    for tabular data) with the client's own advice,
    then runs :func:`clarify_engine.validate` on the config: the checks ``analyze`` makes
    before computing that need no data (the "a model is needed but not given" rule, the plan
    of what can run).

    Raises
    ------
    ConfigError
        A key is missing, mistyped or inconsistent; or a method needs a model and the config
        names none.
    NotSupportedError
        The config asks for something this version cannot compute.

    """
    from clarify_engine import validate
    from clarify_engine.config import load_config
    from clarify_engine.errors import NotSupportedError

    config = load_config(analysis_config)
    dataset_type = str(analysis_config.get("dataset_type", "")).lower()
    if dataset_type in _UNSUPPORTED_DATASET_TYPES:
        raise NotSupportedError(f"dataset_type {analysis_config['dataset_type']!r}: "
                                f"{_UNSUPPORTED_DATASET_TYPES[dataset_type]}")
    predictor = analysis_config.get("predictor") or {}
    content_type = str(predictor.get("content_type", "")).split(";")[0].strip().lower()
    if content_type in _IMAGE_CONTENT_TYPES and dataset_type != "application/x-image":
        raise NotSupportedError(f"predictor.content_type {predictor['content_type']!r}: image and NumPy requests "
                                "are for computer-vision models (dataset_type application/x-image); tabular models "
                                "take text/csv, application/jsonlines or application/json")
    # Config-only: the job's data is read by the job, not here (a dataset_uri may be a large s3:// object).
    validate({key: value for key, value in config.to_dict().items() if key != "dataset_uri"})


#: Dataset types a job of this version would refuse, and why.
_UNSUPPORTED_DATASET_TYPES = {
    "application/sagemakercapturejson": "Model Monitor capture data is not supported (the SageMaker SDK refuses "
                                        "it too); convert the capture to JSON Lines or CSV",
}
_IMAGE_CONTENT_TYPES = ("image/jpeg", "image/jpg", "image/png", "application/x-npy")


class SageMakerClarifyProcessor(Processor):
    """Runs Clarify bias and explainability jobs (``sagemaker.clarify.SageMakerClarifyProcessor``).

    Parameters
    ----------
    role : str, optional
        IAM role; required for SageMaker jobs only.
    instance_count : int, optional
        Processing instances; None means 1.
    instance_type : str, optional
        ``"local"`` (the default when None) runs the job on this machine.
    volume_size_in_gb : int, default 30
    volume_kms_key, output_kms_key : str, optional
    max_runtime_in_seconds : int, optional
    sagemaker_session : Session or LocalSession, optional
        Default: chosen from ``instance_type`` (see :class:`Processor`).
    env : dict of str to str, optional
    tags : list of dict, optional
    network_config : NetworkConfig, optional
    job_name_prefix : str, optional
        Prefix of generated job names instead of ``Clarify-<Kind>``.
    version : str, optional
        Kept for signature compatibility; the image comes from ``image_uri``.
    skip_early_validation : bool, default False
        Skip the config check done before the job starts.
    image_uri : str, optional
        Our extension: the engine's image for SageMaker jobs (else env
        ``CLARIFY_ENGINE_IMAGE_URI``).

    Attributes
    ----------
    latest_job : ProcessingJob
        The job of the last ``run_*`` call.
    """

    _CLARIFY_DATA_INPUT = _DATA_INPUT
    _CLARIFY_CONFIG_INPUT = _CONFIG_INPUT
    _CLARIFY_OUTPUT = _OUTPUT

    def __init__(self, role=None, instance_count=None, instance_type=None, volume_size_in_gb=30,
                 volume_kms_key=None, output_kms_key=None, max_runtime_in_seconds=None,
                 sagemaker_session=None, env=None, tags=None, network_config=None, job_name_prefix=None,
                 version=None, skip_early_validation=False, image_uri=None):
        self._last_analysis_config = None
        self.job_name_prefix = job_name_prefix
        self.skip_early_validation = skip_early_validation
        self.version = version
        super().__init__(
            role=role, image_uri=image_uri,
            instance_count=1 if instance_count is None else instance_count,
            instance_type="local" if instance_type is None else instance_type,
            entrypoint=None, volume_size_in_gb=volume_size_in_gb, volume_kms_key=volume_kms_key,
            output_kms_key=output_kms_key, max_runtime_in_seconds=max_runtime_in_seconds,
            base_job_name=None, sagemaker_session=sagemaker_session, env=env, tags=tags,
            network_config=network_config)

    def run(self, **_):
        """Not offered: call one of the ``run_*`` methods."""
        raise NotImplementedError(
            "Please choose a method of run_pre_training_bias, run_post_training_bias or run_explainability.")

    def _run(self, data_config, analysis_config, wait, logs, job_name, kms_key, experiment_config):
        """Validate, write and upload ``analysis_config``, then start the job.

        Parameters
        ----------
        data_config : DataConfig
        analysis_config : dict
        wait, logs : bool
            As :meth:`Processor.run` (``logs`` needs ``wait``).
        job_name : str
        kms_key : str or None
            Encrypts the uploaded config (SageMaker mode).
        experiment_config : dict or None

        Raises
        ------
        ConfigError
            The config fails the engine's checks (unless ``skip_early_validation``).
        """
        self._last_analysis_config = analysis_config
        log.info("Analysis Config: %s", analysis_config)
        if not self.skip_early_validation:
            early_validation(analysis_config)
        self._check_output_paths(data_config)
        with tempfile.TemporaryDirectory() as tmp:
            local_file = write_analysis_config(analysis_config, tmp)
            destination = data_config.s3_analysis_config_output_path or data_config.s3_output_path
            config_uri = upload(self.sagemaker_session, local_file, destination, kms_key=kms_key)
            dataset, config, output = clarify_io_specs(data_config, analysis_config, config_uri)
            return super().run(inputs=[ProcessingInput(**dataset), ProcessingInput(**config)],
                               outputs=[ProcessingOutput(**output)], wait=wait, logs=logs,
                               job_name=job_name, kms_key=kms_key, experiment_config=experiment_config)

    def _check_output_paths(self, data_config) -> None:
        """A SageMaker job writes to S3 only: refuse a local output path before any upload."""
        if self.sagemaker_session.local_mode:
            return
        for key in ("s3_output_path", "s3_analysis_config_output_path"):
            value = getattr(data_config, key, None)
            if value is not None and not str(value).startswith("s3://"):
                raise ValueError(
                    f"DataConfig.{key} {value!r}: a SageMaker job writes its results to S3, not to a local "
                    "path; give an s3:// URI (e.g. 's3://<bucket>/<prefix>'), or run the job on this machine "
                    "with instance_type='local'")

    def _job_name(self, job_name, default_prefix: str) -> str:
        """``job_name`` if given (non-empty), else ``<job_name_prefix or default_prefix>-<timestamp>``."""
        return job_name or name_from_base(self.job_name_prefix or default_prefix)

    def run_pre_training_bias(self, data_config, data_bias_config, methods="all", wait=True, logs=True,
                              job_name=None, kms_key=None, experiment_config=None):
        """Pre-training bias metrics of the dataset (no model).

        Parameters
        ----------
        data_config : DataConfig
        data_bias_config : BiasConfig
        methods : "all" or list of str, default "all"
            Metric abbreviations (CDDL, CI, DPL, JS, KL, KS, LP, TVD).
        wait, logs : bool, default True
        job_name : str, optional
            Default ``<job_name_prefix or "Clarify-Pretraining-Bias">-<timestamp>``.
        kms_key : str, optional
        experiment_config : dict, optional
        """
        config = _AnalysisConfigGenerator.bias_pre_training(data_config, data_bias_config, methods)
        return self._run(data_config, config, wait, logs, self._job_name(job_name, "Clarify-Pretraining-Bias"),
                         kms_key, experiment_config)

    def run_post_training_bias(self, data_config, data_bias_config, model_config=None,
                               model_predicted_label_config=None, methods="all", wait=True, logs=True,
                               job_name=None, kms_key=None, experiment_config=None):
        """Post-training bias metrics of a model's predictions.

        Parameters
        ----------
        data_config : DataConfig
        data_bias_config : BiasConfig
        model_config : ModelConfig, optional
            Required unless the data config gives ``predicted_label`` or
            ``predicted_label_dataset_uri``.
        model_predicted_label_config : ModelPredictedLabelConfig, optional
        methods : "all" or list of str, default "all"
            AD, CDDPL, DAR, DCA, DCR, DI, DPPL, DRR, FT, GE, RD, SD, TE.
        wait, logs, job_name, kms_key, experiment_config
            As :meth:`run_pre_training_bias`; default job-name prefix
            ``Clarify-Posttraining-Bias``.
        """
        config = _AnalysisConfigGenerator.bias_post_training(
            data_config, data_bias_config, model_predicted_label_config, methods, model_config)
        return self._run(data_config, config, wait, logs, self._job_name(job_name, "Clarify-Posttraining-Bias"),
                         kms_key, experiment_config)

    def run_bias(self, data_config, bias_config, model_config=None, model_predicted_label_config=None,
                 pre_training_methods="all", post_training_methods="all", wait=True, logs=True,
                 job_name=None, kms_key=None, experiment_config=None):
        """Pre- and post-training bias in one job (default job-name prefix ``Clarify-Bias``).

        Parameters are those of :meth:`run_post_training_bias`, with the two method
        selections ``pre_training_methods`` and ``post_training_methods``.
        """
        config = _AnalysisConfigGenerator.bias(data_config, bias_config, model_config,
                                               model_predicted_label_config, pre_training_methods,
                                               post_training_methods)
        return self._run(data_config, config, wait, logs, self._job_name(job_name, "Clarify-Bias"),
                         kms_key, experiment_config)

    def run_explainability(self, data_config, model_config, explainability_config, model_scores=None,
                           wait=True, logs=True, job_name=None, kms_key=None, experiment_config=None):
        """Feature attributions (SHAP) and/or partial dependence (PDP) of a model.

        Parameters
        ----------
        data_config : DataConfig
        model_config : ModelConfig
        explainability_config : SHAPConfig, PDPConfig, or a list of them
        model_scores : int, str or ModelPredictedLabelConfig, optional
            Where the scores are in the reply; an int or str is written as
            ``predictor.label`` (as the SDK does).
        wait, logs, job_name, kms_key, experiment_config
            As :meth:`run_pre_training_bias`; default job-name prefix
            ``Clarify-Explainability``.
        """
        config = _AnalysisConfigGenerator.explainability(data_config, model_config, model_scores,
                                                         explainability_config)
        return self._run(data_config, config, wait, logs, self._job_name(job_name, "Clarify-Explainability"),
                         kms_key, experiment_config)

    def run_bias_and_explainability(self, data_config, model_config, explainability_config, bias_config,
                                    pre_training_methods="all", post_training_methods="all",
                                    model_predicted_label_config=None, wait=True, logs=True, job_name=None,
                                    kms_key=None, experiment_config=None):
        """Bias and explainability in one job (default prefix ``Clarify-Bias-And-Explainability``).

        Parameters are those of :meth:`run_bias` and :meth:`run_explainability`.
        """
        config = _AnalysisConfigGenerator.bias_and_explainability(
            data_config, model_config, model_predicted_label_config, explainability_config, bias_config,
            pre_training_methods, post_training_methods)
        return self._run(data_config, config, wait, logs,
                         self._job_name(job_name, "Clarify-Bias-And-Explainability"), kms_key,
                         experiment_config)
