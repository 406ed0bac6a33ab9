"""The resolved values a text SHAP job runs with (built from the config by ``job/_plan_text.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["TextSpec"]


@dataclass(frozen=True)
class TextSpec:
    """Everything the text engine needs, resolved once; the engine never reads the config.

    Attributes
    ----------
    granularity : {"token", "sentence", "paragraph"}
    language : str
        spaCy language code (``"en"``, ``"xx"``, ...).
    features : tuple of str
        Model-input columns, in model order.
    text_columns : tuple of str
        The features explained unit by unit; the others are ordinary (tabular) features.
    baseline : tuple of tuple
        Baseline rows, one value per feature in ``features`` order; a text column's value is
        the string that replaces each absent unit (``""`` drops it). Empty while
        ``baseline_spec`` is set.
    baseline_weights : tuple of float
        One weight per baseline row (normalised by the core).
    num_samples : int or None
        Coalitions per record; None: ``min(2 M + 2048, 2^M - 2)`` for a record of ``M``
        features (tabular features plus its units).
    seed : int or None
        Seed of the coalition sampler.
    link : {"identity", "logit"}
    agg_method : {"mean_abs", "median", "mean_sq"}
        Aggregation of the global values (tabular features and text units alike).
    max_top_tokens : int
        Units kept per text column and label in ``global_top_shap_text``.
    max_record_bytes : int or None
        Largest synthetic record allowed (bytes, an upper bound computed before any model
        call); a record that may exceed it is not explained and the others are. None: no check.
    baseline_source : str
        Where the baseline came from (``"config"``, ``"default"``, ``"file"``), for the manifest.
    baseline_spec : BaselineSpec or None
        Where the baseline rows come from, when the job runs (given rows, a file, or none:
        the default): ``baseline`` is empty until :func:`clarify_engine.explain.text.resolve_baseline`
        reads it against the records. None: ``baseline`` holds the rows.
    save_local : bool
        Write ``explanations_shap/out.jsonl`` (``save_local_shap_values``).
    joinsource : str or None
        The join-key column (``join_source_value`` of out.jsonl).
    """

    granularity: str
    language: str
    features: tuple
    text_columns: tuple
    baseline: tuple
    baseline_weights: tuple
    num_samples: int | None = None
    seed: int | None = None
    link: str = "identity"
    agg_method: str = "mean_abs"
    max_top_tokens: int = 50
    max_record_bytes: int | None = None
    baseline_source: str = "config"
    baseline_spec: Any = None
    save_local: bool = True
    joinsource: str | None = None

    def __post_init__(self) -> None:
        if self.granularity not in ("token", "sentence", "paragraph"):
            raise ValueError(f"granularity must be token, sentence or paragraph; found {self.granularity!r}")
        unknown = [c for c in self.text_columns if c not in self.features]
        if unknown:
            raise ValueError(f"text_columns {unknown} are not features {list(self.features)}")
        if not self.baseline and self.baseline_spec is None:
            raise ValueError("baseline must have at least one row")
        for k, row in enumerate(self.baseline):
            if len(row) != len(self.features):
                raise ValueError(f"baseline row {k} has {len(row)} values; there are {len(self.features)} features")
        if len(self.baseline_weights) != len(self.baseline):
            raise ValueError(f"{len(self.baseline_weights)} baseline weights for {len(self.baseline)} rows")
