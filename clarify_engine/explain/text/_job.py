"""A text SHAP job step: records + resolved spec + scorer -> the typed result.

The job runner (``clarify_engine/job/_run.py``) calls :func:`run_text_shap` with the job's
:class:`TextSpec` (``job/_plan_text.py``) and the stage's scorer; ``report/_text_outputs.py``
renders the result in Clarify's shapes.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from clarify_engine.explain.text._baseline import resolve_baseline
from clarify_engine.explain.text._engine import explain_text
from clarify_engine.explain.text._result import TextShapResult
from clarify_engine.explain.text._spec import TextSpec

__all__ = ["run_text_shap"]


def run_text_shap(records: pd.DataFrame, spec: TextSpec, scorer: Callable[[pd.DataFrame], np.ndarray], *,
                  record_ids: Sequence | None = None, base_dir: Any = None, storage_options: dict | None = None,
                  max_record_bytes: int | None = None, max_rows_per_call: int = 100_000,
                  workers: int = 1) -> TextShapResult:
    """Explain ``records`` unit by unit through ``scorer``.

    Parameters
    ----------
    records : pandas.DataFrame
        The model-input columns (``spec.features``), one row per record.
    spec : TextSpec
    scorer : callable
        ``scorer(frame) -> ndarray (r, D)``.
    record_ids : sequence, optional
        The join key of each record (``join_source_value`` of out.jsonl).
    base_dir, storage_options
        For a baseline file (:func:`resolve_baseline` gives the spec its baseline rows first).
    max_record_bytes : int, optional
        The model's payload limit, when the model is remote (overrides the spec's).
    max_rows_per_call, workers
        As :func:`explain_text`.

    Returns
    -------
    TextShapResult
        With ``record_ids`` and the spec used (baseline resolved).
    """
    spec = resolve_baseline(spec, records, base_dir=base_dir, storage_options=storage_options)
    if max_record_bytes is not None:
        spec = dataclasses.replace(spec, max_record_bytes=max_record_bytes)
    result = explain_text(records, spec, scorer, max_rows_per_call=max_rows_per_call, workers=workers)
    ids = None if record_ids is None else tuple(v.item() if isinstance(v, np.generic) else v for v in record_ids)
    return dataclasses.replace(result, record_ids=ids, spec=spec)
