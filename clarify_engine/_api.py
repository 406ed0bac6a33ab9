"""The one-call Python entry point."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from clarify_engine.config import AnalysisConfig, load_config
from clarify_engine.errors import PartialFailure
from clarify_engine.data import load_dataset
from clarify_engine.predict import ClientOptions
from clarify_engine.run import AnalysisResult, run_analysis

log = logging.getLogger("clarify_engine")


def analyze(
    config: AnalysisConfig | dict | str | os.PathLike,
    data: Any = None,
    model: Any = None,
    output_dir: str | os.PathLike | None = None,
    *,
    options: ClientOptions | None = None,
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

    Examples
    --------
    >>> result = analyze("analysis_config.json", data="train.csv")  # doctest: +SKIP
    >>> result.to_dict()["pre_training_bias_metrics"]["facets"]  # doctest: +SKIP
    """
    cfg = config if isinstance(config, AnalysisConfig) else load_config(config)
    # Relative paths in a config file are taken from its folder; JSON text and dicts have none.
    is_path = isinstance(config, os.PathLike) or (isinstance(config, str) and not config.lstrip().startswith(("{", "[")))
    base_dir = Path(config).parent if is_path else None
    dataset = load_dataset(cfg, data, base_dir=base_dir)
    try:
        result = run_analysis(cfg, dataset, model=model, options=options, base_dir=base_dir)
    except PartialFailure as exc:
        if output_dir is not None:  # what completed is kept, then the failure is reported
            _write(exc.result, output_dir)
        raise
    if output_dir is not None:
        _write(result, output_dir)
    return result


def _write(result: AnalysisResult, output_dir) -> None:
    for path in result.write(output_dir):
        log.info("Wrote %s", path)
