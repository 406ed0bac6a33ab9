"""Check a job before any work: ``clarify_engine.validate`` and ``clarify-engine validate``.

:func:`validate` runs every check :func:`clarify_engine.analyze` runs before it computes
anything, in the same order, and raises the same errors: the config's keys and rules; with a
dataset, loading it and resolving the column roles, ``job.plan`` (what runs, what cannot),
the bias label and facet typing, the SHAP and PDP feature lists and the given baseline; the
model source: the config's ``predictor`` or the given model, a model file loaded, a model
server's ``/ping`` answered, the request/response formats built. It calls no model and
writes nothing (the bias checks count one metric on the way, one pass over the rows).

Without a dataset (no ``data`` and no ``dataset_uri``) only the config is checked, and
nothing heavier than the standard library is imported: the plan is then worked out from the
config alone (:func:`_plan_without_data`, kept equal to ``job.plan`` by the tests).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clarify_engine.config import AnalysisConfig, check_model_source, config_folder, load_config
from clarify_engine.errors import ModelError

__all__ = ["DatasetSummary", "ValidationReport", "validate"]

from clarify_engine._methods import NotRun, split

log = logging.getLogger(__name__)

#: Above this many features a full enumeration of coalitions (2^M - 2) is out of reach, so a


@dataclass(frozen=True)
class DatasetSummary:
    """The dataset as ``analyze`` would see it, when one was given."""

    rows: int
    columns: tuple[str, ...]
    label: str | None
    facets: tuple[str, ...]
    predicted_label: str | None
    features: tuple[str, ...]
    files: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "columns": list(self.columns), "label": self.label, "facets": list(self.facets),
                "predicted_label": self.predicted_label, "features": list(self.features), "files": list(self.files)}


@dataclass(frozen=True)
class ValidationReport:
    """What a job would do, found without doing it.

    Attributes
    ----------
    would_run : tuple of str
        Methods that would be computed, in run order.
    not_run : tuple of NotRun
        Requested methods that would not be computed, with the reason.
    warnings : tuple of str
        Things that will not stop the job but that its owner should know: a SHAP budget below
        exact, checks that need the dataset or the endpoint and could not be made.
    dataset : DatasetSummary or None
        Rows, columns and column roles when a dataset was given (or named by ``dataset_uri``).
    model_needed : bool
        Whether the job calls a model (SHAP, PDP, or post-training bias without predicted labels).
    model : str or None
        The model that would be called and what was checked of it; None when none is needed.
    checked : tuple of str
        What was checked: ``config``, then ``dataset`` and ``plan`` when there was data, and
        ``model`` when a model file was loaded, a server pinged or a client built.
    """

    would_run: tuple[str, ...]
    not_run: tuple[NotRun, ...] = ()
    warnings: tuple[str, ...] = ()
    dataset: DatasetSummary | None = None
    model_needed: bool = False
    model: str | None = None
    checked: tuple[str, ...] = ()
    estimate: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        out = {"would_run": list(self.would_run), "not_run": [n.to_dict() for n in self.not_run],
               "warnings": list(self.warnings), "dataset": None if self.dataset is None else self.dataset.to_dict(),
               "model_needed": self.model_needed, "model": self.model, "checked": list(self.checked)}
        if self.estimate is not None:
            out["estimate"] = self.estimate.to_dict()
        return out

    def lines(self) -> list[str]:
        """The report as the lines ``clarify-engine validate`` prints."""
        out = []
        d = self.dataset
        if d is not None:
            out.append(f"dataset: {d.rows} rows, columns {list(d.columns)}")
            out.append(f"label: {d.label}; facets: {list(d.facets)}; predicted label: {d.predicted_label}; "
                       f"features: {len(d.features)}")
        out.append(f"would run: {', '.join(self.would_run)}")
        out += [f"would not run: {n.method}: {n.reason}" for n in self.not_run]
        out.append(f"model: {self.model}" if self.model_needed else "model: not needed")
        out += [f"warning: {w}" for w in self.warnings]
        if self.estimate is not None:
            out += self.estimate.lines()
        out.append(f"checked: {', '.join(self.checked)}")
        return out


def _plan_without_data(config: AnalysisConfig, model: Any) -> tuple[list[str], list[NotRun]]:
    """``job.plan`` worked out from the config alone (no dataset: nothing heavy is imported).

    The dataset-dependent parts of ``job.plan`` (a label or facet column missing from the
    data) are covered by the config rules for tabular data; the tests keep both plans equal.
    """
    if model is None:
        check_model_source(config)
    return split(config)


def _needs_model(runnable: list[str], predicted_label_known: bool) -> bool:
    """Whether the job calls a model (as ``job.plan`` decides)."""
    return ("shap" in runnable or "pdp" in runnable
            or ("post_training_bias" in runnable and not predicted_label_known))


def _is_url(model: Any) -> bool:
    return isinstance(model, str) and model.startswith(("http://", "https://"))


def _describe_model(config: AnalysisConfig, model: Any) -> tuple[str, list[str]]:
    """What would be called, and warnings about what validate cannot check of it."""
    if model is not None:
        if _is_url(model):
            return f"model server {model}", []
        if isinstance(model, (str, os.PathLike)):
            return f"model file {model}", []
        return f"in-process model {type(model).__module__}.{type(model).__qualname__}", []
    p = config.predictor
    if p.endpoint_name is not None:
        return (f"SageMaker endpoint {p.endpoint_name}",
                [f"the SageMaker endpoint {p.endpoint_name!r} is not called by validate; that it exists and "
                 "answers is checked when the job starts"])
    return (f"shadow endpoint of model {p.model_name} ({p.initial_instance_count} x {p.instance_type})",
            [f"validate does not create the shadow endpoint of model {p.model_name!r}; that the model exists "
             "is checked when the job starts"])


def _ping(url: str) -> None:
    """``GET /ping`` on a model server, as a :class:`ModelError` that says what to do."""
    from clarify_engine.predict import ping

    try:
        ping(url, timeout=10.0)
    except ModelError as exc:
        raise ModelError(f"model server {url} did not answer GET /ping ({exc}); start the server or correct "
                         "the model URL (--model, analyze(model=...))") from exc


def _load(model: Any) -> tuple[Any, str]:
    """A model file loaded (the error ``analyze`` would raise), and what it holds."""
    from clarify_engine.predict import load_model

    loaded = load_model(model)
    return loaded, f"loaded ({type(loaded).__module__}.{type(loaded).__qualname__})"


def _check_model(job: Any, features: list[str], model: Any) -> str:
    """Build the model client as ``analyze`` does (no prediction), and reach a model server.

    A model file is loaded, a model server must answer ``GET /ping``, request and response
    formats are built for a remote model. Returns what was checked, for the report.
    """
    from clarify_engine.predict import _codecs, make_predictor

    spec = job.model
    if model is None and spec.endpoint_name is None:
        # A shadow endpoint: creating it is work, so only its request/response formats are built.
        _codecs(spec, features)
        return "request/response formats built"
    done = "wrapped"
    if isinstance(model, (str, os.PathLike)) and not _is_url(model):
        model, done = _load(model)
    make_predictor(spec, features, model).close()
    if _is_url(model):
        _ping(model)
        return "answered GET /ping; request/response formats built"
    return "client and request/response formats built" if model is None else done


def _check_bias(job: Any, dataset: Any) -> None:
    """``bias_report``'s own checks, called as the job calls it, with one cheap metric.

    The label is binarised, each facet typed (a continuous facet needs a threshold) and its
    values matched, predicted labels given in the data binarised like the label: the
    DataErrors ``bias_report`` raises before counting are those ``analyze`` would raise. One
    metric (CI; DPPL after training) is computed to get there: one pass over the rows.
    Predicted labels that come from the model are checked once the model has answered.
    """
    import dataclasses

    from clarify_engine.bias import bias_report

    for spec in job.bias:
        if spec.post_training and spec.predicted_label is None:
            continue
        bias_report(dataset.frame, dataclasses.replace(spec, methods=("DPPL",) if spec.post_training else ("CI",)))


def _check_explanations(job: Any, dataset: Any, base_dir: Path | None) -> list[str]:
    """The checks ``run_shap`` makes before computing (the given baseline); returns warnings."""
    from clarify_engine.explain import budget_note, given_baseline

    warnings = []
    if job.shap is not None:
        given_baseline(job.shap.baseline, job.shap.features, dataset.frame, base_dir=base_dir)
        # Every budget runs; below the one that determines every value the job logs this note too.
        note = budget_note(len(job.shap.explain), job.shap.num_samples)
        if note is not None:
            warnings.append(note)
    return warnings


def validate(config: AnalysisConfig | dict | str | os.PathLike, data: Any = None, model: Any = None, *,
             dry_run: bool = False, throughput: float | None = None) -> ValidationReport:
    """Check an analysis before running it: everything ``analyze`` checks before computing.

    Parameters
    ----------
    config : dict, str, path-like or AnalysisConfig
        The ``analysis_config.json`` content, or a path to it.
    data : str, path-like, pandas.DataFrame or pyarrow.Table, optional
        The dataset, as for :func:`clarify_engine.analyze`. When omitted, the config's
        ``dataset_uri`` is loaded if it has one; otherwise only the config is checked.
    model : estimator, callable, str or path-like, optional
        The model, as for :func:`clarify_engine.analyze`: a model file is loaded, a model
        server's URL must answer ``GET /ping``. When omitted, the config's ``predictor`` must
        name one if the job needs predictions.
    dry_run : bool
        Also count the rows, model records and requests the job will send
        (:func:`clarify_engine._estimate.estimate_job`); needs the dataset.
    throughput : float, optional
        With ``dry_run``: records per second the model serves, to estimate the time.

    Returns
    -------
    ValidationReport
        What would run and what would not (and why), warnings, the dataset's shape.

    Raises
    ------
    ConfigError, DataError, ModelError, NotSupportedError
        The error ``analyze`` would raise before computing anything, word for word.

    Examples
    --------
    >>> report = validate("analysis_config.json", data="train.csv")  # doctest: +SKIP
    >>> report.would_run  # doctest: +SKIP
    ('pre_training_bias', 'shap')
    """
    cfg = config if isinstance(config, AnalysisConfig) else load_config(config)
    if data is None and cfg.dataset_uri is None:
        if dry_run:
            from clarify_engine.errors import DataError

            raise DataError("a dry run counts the dataset's rows: give the dataset (--data, or validate(data=...)) "
                            "or set dataset_uri in the config")
        report = _validate_config(cfg, model)
    else:
        report = _validate_job(cfg, data, model, config_folder(config), dry_run, throughput)
    log.debug("Validated: %s", report.to_dict())
    return report


def _validate_config(cfg: AnalysisConfig, model: Any) -> ValidationReport:
    """No dataset: the config, the plan from it, and a model file or server when given."""
    runnable, not_run = _plan_without_data(cfg, model)
    needs = _needs_model(runnable, cfg.predictions_in_data)
    warnings = ["no dataset given (data or dataset_uri): columns, feature lists and the baseline are checked "
                "when the job runs"]
    model_checked = None
    if needs and _is_url(model):
        _ping(model)
        model_checked = "answered GET /ping"
    elif needs and isinstance(model, (str, os.PathLike)):
        model_checked = _load(model)[1]
    return _report(cfg, model, runnable, not_run, warnings, None, needs, model_checked, ["config"])


def _validate_job(cfg: AnalysisConfig, data: Any, model: Any, base_dir: Path | None, dry_run: bool = False,
                  throughput: float | None = None) -> ValidationReport:
    """With a dataset: every check of ``analyze`` before compute, in its order."""
    from clarify_engine.data import load_dataset
    from clarify_engine.job import plan, plan_data

    dataset = load_dataset(plan_data(cfg), data, base_dir=base_dir)
    job = plan(cfg, dataset, model)
    runnable = list(job.runnable)
    not_run = list(job.not_run)
    # analyze makes the model client before any method runs, then bias, SHAP, PDP.
    needs = job.needs_model
    model_checked = _check_model(job, list(dataset.features), model) if needs else None
    _check_bias(job, dataset)
    warnings = _check_explanations(job, dataset, base_dir)
    summary = DatasetSummary(
        rows=int(len(dataset.frame)), columns=tuple(map(str, dataset.frame.columns)), label=dataset.label,
        facets=tuple(name for name, _ in dataset.facets), predicted_label=dataset.predicted_label,
        features=tuple(dataset.features), files=tuple(map(str, getattr(dataset, "source_files", None) or ())))
    report = _report(cfg, model, runnable, not_run, warnings, summary, needs, model_checked,
                     ["config", "dataset", "plan"])
    if dry_run:
        from dataclasses import replace

        from clarify_engine._estimate import estimate_job

        report = replace(report, estimate=estimate_job(cfg, dataset, runnable, throughput=throughput))
    return report


def _report(cfg, model, runnable, not_run, warnings, summary, needs, model_checked, checked) -> ValidationReport:
    described = None
    if needs:
        described, model_warnings = _describe_model(cfg, model)
        warnings = [*warnings, *model_warnings]
        if model_checked is not None:
            described = f"{described}: {model_checked}"
            checked = [*checked, "model"]
    return ValidationReport(would_run=tuple(runnable), not_run=tuple(not_run), warnings=tuple(warnings),
                            dataset=summary, model_needed=needs, model=described, checked=tuple(checked))
