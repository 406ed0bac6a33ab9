"""The baseline rows of a text job, resolved when the job runs.

A text job's baseline is one of (``docs/text.md``):

* rows given in the config (``methods.shap.baseline`` as a list), typed by the dataset;
* a baseline file (``methods.shap.baseline`` as a path or URL), read in the dataset's format;
* none given: every text column's value is the empty string (an absent unit is dropped, the
  Developer Guide's default) and the tabular columns, if any, get the computed baseline of a
  tabular job (k-means or k-prototypes over the records, ``num_clusters``, seeded).

Every given row weighs 1; computed rows weigh their cluster's share.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Sequence

import numpy as np
import pandas as pd

from clarify_engine.explain._baseline import cluster_baseline, given_baseline
from clarify_engine.explain.text._spec import TextSpec

__all__ = ["baseline_rows", "resolve_baseline"]

log = logging.getLogger(__name__)


def baseline_rows(table: pd.DataFrame, features: Sequence[str]) -> tuple:
    """The rows of a baseline frame as tuples in ``features`` order, missing values as None."""
    return tuple(tuple(None if (not isinstance(v, str) and pd.isna(v)) else v for v in row)
                 for row in table.loc[:, list(features)].itertuples(index=False, name=None))


def _default_table(spec: TextSpec, frame: pd.DataFrame, num_clusters: int | None) -> tuple[pd.DataFrame, np.ndarray]:
    """Empty strings for the text columns, the clustered baseline of the tabular ones."""
    tab = [f for f in spec.features if f not in spec.text_columns]
    if tab:
        tab_base, weights = cluster_baseline(frame.loc[:, tab], num_clusters, spec.seed)
    else:
        tab_base, weights = pd.DataFrame(index=[0]), np.ones(1)
    table = pd.DataFrame({f: ([""] * len(tab_base) if f in spec.text_columns else tab_base[f].tolist())
                          for f in spec.features}, columns=list(spec.features))
    log.info("Text SHAP: no baseline given: absent %s units are dropped (empty string, the Developer "
             "Guide's default)%s", spec.granularity,
             f"; tabular features {tab} use a computed baseline of {len(tab_base)} rows" if tab else "")
    return table, weights


def resolve_baseline(spec: TextSpec, frame: pd.DataFrame, *, base_dir: Any = None,
                     storage_options: dict | None = None) -> TextSpec:
    """``spec`` with its baseline rows and weights (see the module notes); unchanged when it
    has them already.

    Parameters
    ----------
    spec : TextSpec
        ``baseline_spec`` says where the baseline comes from.
    frame : pandas.DataFrame
        The records (``spec.features``): their dtypes type given rows; the tabular columns
        are clustered for the default baseline.
    base_dir, storage_options
        For a baseline file.

    Raises
    ------
    ConfigError, DataError
        As :func:`clarify_engine.explain._baseline.given_baseline`.
    """
    where = spec.baseline_spec
    if where is None:
        return spec
    table = given_baseline(where, spec.features, frame, base_dir=base_dir, storage_options=storage_options)
    if table is None:
        table, weights = _default_table(spec, frame, where.num_clusters)
    else:
        weights = np.ones(len(table))
    rows = baseline_rows(table, spec.features)
    return dataclasses.replace(spec, baseline=rows, baseline_weights=tuple(float(w) for w in weights),
                               baseline_spec=None)
