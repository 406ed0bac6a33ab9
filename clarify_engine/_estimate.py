"""Dry-run estimate: how many rows, model requests and synthetic records a job will send.

``clarify-engine validate --dry-run`` (and ``validate(..., dry_run=True)``) call
:func:`estimate_job` on the loaded dataset, before any model call:

* predictions for post-training bias (when the data carry no predicted label): one record per row;
* Kernel SHAP: records × coalitions (the budget, at most ``2^M - 2``, plus the empty and full
  ones) × baseline rows; an upper bound, as identical synthetic rows are sent once;
  a clustered baseline of unknown size (``num_clusters`` absent) counts at its largest, 12 rows;
* PDP: Σ over the plotted features of grid values × records (top-k features by SHAP are not
  known before SHAP runs: the k features with the largest grids are counted, a bound);
* requests: records / records per request, where a request holds at most ``max_records``
  records and ``max_payload_bytes`` bytes (record size measured on the first 1,000 rows
  written as CSV);
* time: records / ``throughput`` (records per second the endpoint serves), when given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["JobEstimate", "estimate_job"]

#: Baseline rows counted for a clustered baseline whose size is chosen at run time (1 to 12).
MAX_AUTO_BASELINE = 12
#: Rows whose CSV size gives the bytes per record.
SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class JobEstimate:
    """Model traffic of a job, counted before it runs.

    Attributes
    ----------
    rows : int
        Rows of the dataset.
    prediction_records, shap_records, pdp_records : int
        Records sent for predicted labels, Kernel SHAP (bound) and PDP.
    records_per_request : int
        Records one request holds (``max_records``, or fewer when the payload limit binds).
    requests : int
        Requests in all.
    seconds : float or None
        Records / ``throughput``; None without a throughput.
    notes : tuple of str
        What the counts assume.
    """

    rows: int
    prediction_records: int
    shap_records: int
    pdp_records: int
    records_per_request: int
    requests: int
    seconds: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def records(self) -> int:
        """Records sent to the model in all."""
        return self.prediction_records + self.shap_records + self.pdp_records

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "prediction_records": self.prediction_records, "shap_records": self.shap_records,
                "pdp_records": self.pdp_records, "records": self.records,
                "records_per_request": self.records_per_request, "requests": self.requests,
                "seconds": self.seconds, "notes": list(self.notes)}

    def lines(self) -> list[str]:
        """The estimate as ``validate --dry-run`` prints it."""
        out = [f"dry run: {self.rows} rows; model records: {self.records} (predictions {self.prediction_records}, "
               f"SHAP {self.shap_records}, PDP {self.pdp_records}); requests: {self.requests} "
               f"({self.records_per_request} records per request)"]
        if self.seconds is not None:
            out.append(f"dry run: about {_duration(self.seconds)} at the given throughput")
        out += [f"dry run: {note}" for note in self.notes]
        return out


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _bytes_per_record(frame) -> int:
    sample = frame.head(SAMPLE_ROWS)
    if len(sample) == 0 or sample.shape[1] == 0:
        return 1
    return max(1, math.ceil(len(sample.to_csv(header=False, index=False).encode()) / len(sample)))


def _shap_records(config: Any, dataset: Any, notes: list[str]) -> int:
    from clarify_engine.explain._coalitions import default_num_samples
    from clarify_engine.job._plan import resolve_features

    shap = config.methods.shap
    features = list(dataset.features)
    m = len(features) if shap.features_to_explain is None else len(
        resolve_features(shap.features_to_explain, features, "methods.shap.features_to_explain"))
    budget = shap.num_samples if shap.num_samples is not None else (default_num_samples(m) if m >= 2 else 0)
    coalitions = min(budget, 2**m - 2) + 2 if m >= 1 else 1
    baseline = shap.baseline
    if isinstance(baseline, (list, tuple)):
        n_base = len(baseline)
    elif baseline is not None:
        n_base = MAX_AUTO_BASELINE
        notes.append(f"SHAP counts a baseline file as {MAX_AUTO_BASELINE} rows (the file is read when the job runs)")
    elif shap.num_clusters is not None:
        n_base = shap.num_clusters
    else:
        n_base = MAX_AUTO_BASELINE
        notes.append(f"SHAP counts a clustered baseline of {MAX_AUTO_BASELINE} rows (num_clusters is absent: "
                     "1 to 12 rows are chosen at run time)")
    notes.append("SHAP records are a bound: identical synthetic rows are sent once")
    return len(dataset.frame) * coalitions * n_base


def _pdp_records(config: Any, dataset: Any, notes: list[str]) -> int:
    from clarify_engine.explain._pdp_grid import column_grid
    from clarify_engine.job._plan import resolve_features

    pdp = config.methods.pdp
    features = list(dataset.features)
    frame = dataset.frame

    def grid_size(name: str) -> int:
        try:
            return len(column_grid(frame[name], pdp.grid_resolution).values)
        except ValueError:
            return 0  # no usable value: an error entry, no model call

    if pdp.features is not None:
        sizes = [grid_size(features[i]) for i in resolve_features(pdp.features, features, "methods.pdp.features")]
    else:
        k = pdp.top_k_features_or_default
        sizes = sorted((grid_size(f) for f in features), reverse=True)[:k]
        notes.append(f"PDP counts the {min(k, len(features))} features with the largest grids (the top {k} by "
                     "SHAP are known only after SHAP)")
    return sum(sizes) * len(frame)


def estimate_job(config: Any, dataset: Any, runnable: list[str], *, throughput: float | None = None,
                 max_records: int = 1000, max_payload_bytes: int = 5_800_000) -> JobEstimate:
    """Count the model traffic of a planned job.

    Parameters
    ----------
    config : AnalysisConfig
    dataset : Dataset
        The loaded dataset (``clarify_engine.data.load_dataset``).
    runnable : list of str
        The methods that will run (``run.plan``).
    throughput : float, optional
        Records per second the model serves; gives ``seconds``.
    max_records, max_payload_bytes : int
        The client's request limits (``analyze``'s ``--max-records``, ``--max-payload-mb``).

    Raises
    ------
    ValueError
        A throughput or limit that is not positive.
    """
    if throughput is not None and not throughput > 0:
        raise ValueError(f"throughput must be a positive number of records per second; found {throughput!r}")
    if max_records < 1 or max_payload_bytes < 1:
        raise ValueError(f"max_records and max_payload_bytes must be positive; found {max_records}, {max_payload_bytes}")
    notes: list[str] = []
    rows = int(len(dataset.frame))
    predictions = rows if "post_training_bias" in runnable and dataset.predicted_label is None else 0
    shap = _shap_records(config, dataset, notes) if "shap" in runnable else 0
    pdp = _pdp_records(config, dataset, notes) if "pdp" in runnable else 0
    size = _bytes_per_record(dataset.frame.loc[:, list(dataset.features)])
    per_request = max(1, min(max_records, max_payload_bytes // size))
    total = predictions + shap + pdp
    requests = math.ceil(total / per_request) if total else 0
    seconds = None if throughput is None else total / throughput
    return JobEstimate(rows, predictions, shap, pdp, per_request, requests, seconds, tuple(notes))
