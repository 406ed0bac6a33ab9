"""The one-call Python entry points: ``analyze`` and ``load_dataset`` (``validate`` is in
``_validate``). The CLI, the container entrypoint and the demo all call :func:`analyze`."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from clarify_engine import data as _data
from clarify_engine.config import AnalysisConfig, config_folder, load_config
from clarify_engine.errors import NotSupportedError, PartialFailure
from clarify_engine.job import AnalysisResult, plan, plan_data, run_job
from clarify_engine.predict import ClientOptions

log = logging.getLogger(__name__)


def analyze(
    config: AnalysisConfig | dict | str | os.PathLike,
    data: Any = None,
    model: Any = None,
    output_dir: str | os.PathLike | None = None,
    *,
    options: ClientOptions | None = None,
    base_dir: str | os.PathLike | None = None,
    kernel_shap_only: bool = False,
    chunk_rows: int | None = None,
    cluster: Any = None,
) -> AnalysisResult:
    """Run a Clarify analysis and return its results.

    Parameters
    ----------
    config : dict, str, path-like or AnalysisConfig
        The ``analysis_config.json`` content, or a path to it. Validated before any work.
    data : str, path-like, pandas.DataFrame or pyarrow.Table, optional
        The dataset: a file, a folder of files (read in order) or an ``s3://`` URI, or a
        table in memory. When omitted, the config's ``dataset_uri`` is used.
    model : estimator, callable, str or path-like, optional
        Where predictions come from when the data has none: a scikit-learn-style estimator
        (``predict_proba``/``predict``), a callable of a DataFrame, a joblib/pickle/xgboost
        model file, or the ``http(s)://`` URL of a model server (SageMaker's ``/invocations``
        protocol; the config's ``predictor`` block gives the request/response formats).
        When omitted, the config's ``predictor`` endpoint (or shadow endpoint) is called.
    output_dir : str or path-like, optional
        When given, ``analysis.json`` and ``run_manifest.json`` are written there.
    options : ClientOptions, optional
        Concurrency, payload and timeout limits of the model client.
    base_dir : str or path-like, optional
        Folder that relative locations in the config (dataset, baseline file) are taken
        from; default: the config file's folder (none for a dict or JSON text).
    kernel_shap_only : bool, default False
        Explain with Kernel SHAP even when the model is in process and an exact path
        (tree ensembles, linear models) would compute the values without it; the same as
        ``methods.shap.exact: false``.
    chunk_rows : int, optional
        Read the dataset in chunks of this many rows and compute the bias metrics, Kernel SHAP
        and PDP from the chunks, never holding the dataset (``docs/scale.md``, "Streaming" and
        "Streamed explanations"); predicted labels the data lacks are asked from the model chunk
        by chunk, and local SHAP values are written to ``output_dir`` as each shard finishes.
        The manifest's ``"streaming"`` entry says what streamed. Jobs with text or image
        explanations, segments or a report are refused before any work
        (``NotSupportedError`` naming the reason and the fix).
    cluster : str, distributed.Client or clarify_engine.cluster.Cluster, optional
        Run the stages that call the model on a Dask cluster: a scheduler address
        (``"tcp://host:port"``), a connected ``distributed.Client``, or a
        :class:`~clarify_engine.cluster.Cluster` (which also sets the partitioning). The
        result and the files are byte for byte those of ``cluster=None`` with the same seed,
        whatever the workers and partitions; ``run_manifest.json`` says where it ran
        (``"cluster"``). Text and image explanations and shadow endpoints are refused.
        Needs the ``cluster`` extra (``pip install 'clarify-engine[cluster]'``).

    Returns
    -------
    AnalysisResult
        ``result.to_dict()`` is the ``analysis.json`` content.

    Raises
    ------
    PartialFailure
        Some requested methods failed and others completed (e.g. Kernel SHAP failed after
        the bias metrics were computed). ``error.result`` is the :class:`AnalysisResult` of
        what completed, ``error.result.failed`` names each failed method and its reason;
        with ``output_dir`` its files were written before the error was raised.
    ClarifyError
        The config, the data or the model is unusable, or every method failed.
    NotSupportedError
        With ``chunk_rows``: a method that cannot stream (the message says which and why), or
        ``cluster`` given too (the two do not combine yet).

    Examples
    --------
    >>> result = analyze("analysis_config.json", data="train.csv")  # doctest: +SKIP
    >>> result.to_dict()["pre_training_bias_metrics"]["facets"]  # doctest: +SKIP
    """
    cfg, config_dir = _config(config)
    base_dir = config_dir if base_dir is None else base_dir
    if chunk_rows is not None and cluster is not None:
        raise NotSupportedError(
            f"--chunk-rows {chunk_rows} with --cluster: a streamed job runs in this process, chunk by chunk, "
            "and a cluster job loads the dataset here and sends the model's work to the workers; the two do not "
            "combine yet. Pass --chunk-rows alone for a dataset larger than memory, or --cluster alone to spread "
            "the model calls over the cluster's workers.")
    if chunk_rows is not None:
        from clarify_engine.job._stream import TEXT_REFUSAL, run_streamed, streaming_refusal

        if cfg.methods.shap is not None and cfg.methods.shap.text_config is not None:
            raise NotSupportedError(f"--chunk-rows {chunk_rows}: this job cannot stream: {TEXT_REFUSAL}")
        chunks = _data.iter_chunks(plan_data(cfg), data, chunk_rows=chunk_rows, base_dir=base_dir)
        job = plan(cfg, chunks.schema_dataset(), model, kernel_shap_only=kernel_shap_only)
        refusal = streaming_refusal(job)
        if refusal is not None:
            raise NotSupportedError(f"--chunk-rows {chunk_rows}: this job cannot stream: {refusal}")
        return _finish(lambda: run_streamed(job, chunks, model, options, base_dir=base_dir, output_dir=output_dir),
                       output_dir)
    dataset = _data.load_dataset(plan_data(cfg), data, base_dir=base_dir)
    job = plan(cfg, dataset, model, kernel_shap_only=kernel_shap_only)

    def run() -> AnalysisResult:
        if cluster is None:
            return run_job(job, dataset, model=model, options=options, base_dir=base_dir, output_dir=output_dir)
        return _run_on_cluster(cluster, job, dataset, model, options, base_dir, output_dir)

    return _finish(run, output_dir)


def _finish(run, output_dir) -> AnalysisResult:
    """Run the job; write its outputs (also those of a partial failure) when ``output_dir`` is given."""
    try:
        result = run()
    except PartialFailure as exc:
        if output_dir is not None:  # what completed is kept, then the failure is reported
            _write(exc.result, output_dir)
        raise
    if output_dir is not None:
        _write(result, output_dir)
    return result


def _run_on_cluster(cluster: Any, job, dataset, model, options, base_dir, output_dir) -> AnalysisResult:
    """:func:`run_job` with the model-calling stages on the Dask cluster ``cluster``."""
    from clarify_engine import cluster as _cluster

    _cluster.check_job(job, model)
    with _cluster.connect(cluster) as executor:
        try:
            return run_job(job, dataset, model=model, options=options, base_dir=base_dir, output_dir=output_dir,
                           executor=executor)
        finally:
            executor.close()


def _config(config: AnalysisConfig | dict | str | os.PathLike) -> tuple[AnalysisConfig, Path | None]:
    """The validated config, and the folder of its file (relative paths in a config file are
    taken from there; JSON text and dicts have none)."""
    if isinstance(config, AnalysisConfig):
        return config, None
    return load_config(config), config_folder(config)


def load_dataset(config: AnalysisConfig | dict | str | os.PathLike, source: Any = None, *,
                 base_dir: str | os.PathLike | None = None, storage_options: dict | None = None) -> _data.Dataset:
    """Load the dataset an analysis config describes, as ``analyze`` does.

    Parameters
    ----------
    config : dict, str, path-like or AnalysisConfig
        The ``analysis_config.json`` content, or a path to it (validated first).
    source : str, path-like, pandas.DataFrame or pyarrow.Table, optional
        The main dataset; absent → the config's ``dataset_uri``.
    base_dir : str or path-like, optional
        Folder relative locations are taken from (default: the config file's folder).
    storage_options : dict, optional
        fsspec options for URLs (``s3://``).

    Returns
    -------
    clarify_engine.data.Dataset
    """
    cfg, config_dir = _config(config)
    return _data.load_dataset(plan_data(cfg), source, base_dir=config_dir if base_dir is None else base_dir,
                             storage_options=storage_options)


def _write(result: AnalysisResult, output_dir) -> None:
    for path in result.write(output_dir):
        log.info("Wrote %s", path)
