"""Write ``<name>.html``, ``<name>.ipynb`` and ``<name>.pdf`` next to ``analysis.json``.

:func:`write_report` renders a report from a job's outputs (dicts and frames);
:func:`report_request` is what a job keeps for it (``methods.report`` plus the bias context);
:func:`write_job_report` is the end-of-job step: ``analysis.json`` is already written, a
failure here is logged and recorded in ``run_manifest.json`` under ``report.error`` and
never removes what was written before; :func:`render_outputs` re-renders a finished job's
folder (``clarify-engine report``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from clarify_engine._io import atomic_write
from clarify_engine.errors import ConfigError, DataError, NotSupportedError
from clarify_engine.report._analysis_json import ANALYSIS_JSON, MANIFEST_JSON
from clarify_engine.report._build import DEFAULT_TITLE, Report
from clarify_engine.report._context import BiasContext
from clarify_engine.report._image_section import image_files
from clarify_engine.report._local import sample_frame
from clarify_engine.report._spec import ReportSpec
from clarify_engine.report._text_section import read_text_records

log = logging.getLogger(__name__)

__all__ = ["ReportRequest", "check_report_name", "render_outputs", "report_request", "write_job_report",
           "write_report"]

SUFFIXES = (".html", ".ipynb", ".pdf")


@dataclass(frozen=True)
class ReportRequest:
    """What a job needs to write its report.

    Attributes
    ----------
    name : str
        ``methods.report.name`` (file base name).
    title : str
        ``methods.report.title``.
    job : dict
        Label, positive label values, facets and group variable, for the summary.
    bias : BiasContext or None
        The columns behind the bias metrics (None when no bias method ran).
    """

    name: str
    title: str
    job: dict = field(default_factory=dict)
    bias: BiasContext | None = field(default=None, repr=False)


def check_report_name(name: str, output_dir: str | Path, key: str = "methods.report.name") -> None:
    """Refuse a report name whose files would land outside ``output_dir``.

    Raises
    ------
    ConfigError
        The name is empty, ``.`` or ``..``, holds a path separator, or resolves elsewhere.
    """
    out = Path(output_dir).resolve()
    bad = (not name or name in (".", "..") or "/" in name or "\\" in name or os.sep in name
           or (os.altsep is not None and os.altsep in name)
           or any((out / f"{name}{s}").resolve().parent != out for s in SUFFIXES))
    if bad:
        raise ConfigError(key, f"the report name {name!r} would write files outside the output folder; "
                               "give a plain file name without '/', '\\' or '..', e.g. \"report\"")


def report_request(spec: ReportSpec | None, *, label: str | None, label_values: Sequence | None,
                   facets: Sequence[tuple[str, Sequence | None]], group_variable: str | None,
                   bias_frame: pd.DataFrame | None = None, predicted_label: str | None = None) -> ReportRequest | None:
    """The report a job must write, or None (no ``methods.report``, or a time-series job).

    Parameters
    ----------
    spec : ReportSpec or None
        ``methods.report`` as planned (None: no report).
    label, label_values, facets, group_variable
        The job's label column, positive label values, facets (column, values) and group
        variable, for the report's summary.
    bias_frame : pandas.DataFrame, optional
        The frame the bias metrics were computed on (None when no bias method ran).
    predicted_label : str, optional
        Its predicted-label column, when post-training bias ran.
    """
    if spec is None:
        return None
    facets = [(name, None if values is None else tuple(values)) for name, values in facets]
    job = {
        "label": label,
        "label_values": None if label_values is None else list(label_values),
        "facets": [{"name": str(name), "values": None if values is None else list(values)} for name, values in facets],
        "group_variable": group_variable,
    }
    bias = None
    if bias_frame is not None and label is not None and label_values is not None:
        columns = list(dict.fromkeys([label, *(n for n, _ in facets),
                                      *([predicted_label] if predicted_label in bias_frame.columns else [])]))
        bias = BiasContext(bias_frame.loc[:, columns], label, tuple(label_values),
                           tuple(facets), predicted_label if predicted_label in bias_frame.columns else None)
    return ReportRequest(spec.name, spec.title, job, bias)


def write_report(output_dir: str | Path, analysis: Mapping[str, Any], manifest: Mapping[str, Any] | None = None, *,
                 name: str = "report", title: str | None = None, local: pd.DataFrame | None = None,
                 baseline: pd.DataFrame | None = None, group_stats=None,
                 text_records: list[dict] | None = None, images: Mapping[str, bytes] | None = None) -> list[Path]:
    """Render the report of one job into ``output_dir``.

    Parameters
    ----------
    output_dir : str or path-like
        The job's output folder (created if needed).
    analysis : dict
        ``analysis.json`` content.
    manifest : dict, optional
        ``run_manifest.json`` content.
    name : str
        Base name of the three files.
    title : str, optional
        Heading (default: the manifest's recorded title, else "Analysis Report").
    local : pandas.DataFrame, optional
        Local SHAP values (``out.csv`` layout); a sample of them is drawn.
    baseline : pandas.DataFrame, optional
        The SHAP baseline.
    group_stats : dict, optional
        ``(facet, value_or_threshold) -> GroupStats`` from :meth:`BiasContext.group_stats`.
    text_records : list of dict, optional
        The first records of a text job's ``out.jsonl``, shown with their units coloured.
    images : dict, optional
        Heat maps of an image job (file name -> bytes); default: read from ``output_dir``,
        where the job wrote them.

    Returns
    -------
    list of pathlib.Path
        ``<name>.html``, ``<name>.ipynb``, ``<name>.pdf``.
    """
    from clarify_engine.report._notebook import build_notebook
    from clarify_engine.report._pdf import write_pdf

    out = Path(output_dir)
    check_report_name(name, out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if images is None:
        images = image_files(out, analysis)
    report = Report(analysis, manifest, title=title, local=None if local is None else sample_frame(local),
                    baseline=baseline, group_stats=group_stats, text_records=text_records, images=images or None)
    html = report.html()
    html_path, nb_path, pdf_path = (out / f"{name}{s}" for s in SUFFIXES)
    atomic_write(html_path, html.encode("utf-8"))
    import nbformat

    atomic_write(nb_path, nbformat.writes(build_notebook(report)).encode("utf-8"))
    tmp_pdf = pdf_path.with_name(pdf_path.name + ".tmp")
    write_pdf(html, tmp_pdf)
    os.replace(tmp_pdf, pdf_path)
    log.info("Report written in %.1f s: %s (%d kB), %s, %s", time.perf_counter() - t0, html_path,
             len(html) // 1000, nb_path.name, pdf_path.name)
    return [html_path, nb_path, pdf_path]


def write_job_report(output_dir: str | Path, request: ReportRequest, analysis: Mapping[str, Any],
                     manifest: dict[str, Any], local: pd.DataFrame | None = None,
                     baseline: pd.DataFrame | None = None) -> list[Path]:
    """The end-of-job step: record the report in ``manifest``, render it, rewrite the manifest.

    ``analysis.json`` must already be written. Any failure is logged and recorded in
    ``run_manifest.json`` under ``report.error``; the files written before stay.
    """
    out = Path(output_dir)
    record: dict[str, Any] = {"name": request.name, "title": request.title, "job": request.job}
    manifest["report"] = record
    try:
        stats = request.bias.group_stats() if request.bias is not None else None
        if stats is not None:
            record["group_stats"] = [{"facet": f, "value_or_threshold": v, **s.to_dict()} for (f, v), s in stats.items()]
        # a text job's out.jsonl is written before the report: its first records are read back
        # as `clarify-engine report` and the notebook read them
        written = write_report(out, analysis, manifest, name=request.name, title=request.title, local=local,
                               baseline=baseline, group_stats=stats, text_records=read_text_records(out))
        record["files"] = [p.name for p in written]
    except Exception as exc:  # noqa: BLE001 - recorded and logged: the analysis itself succeeded
        record["error"] = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ImportError):
            record["error"] += ("; the report needs the 'report' extra: pip install 'clarify-engine[report]'")
        log.error("Report not written: %s; %s and %s are complete, re-render with "
                  "`clarify-engine report %s --output %s`", record["error"], ANALYSIS_JSON, MANIFEST_JSON,
                  out / ANALYSIS_JSON, out)
        written = []
    manifest_path = out / MANIFEST_JSON
    atomic_write(manifest_path, (json.dumps(manifest, indent=2, default=str) + "\n").encode("utf-8"))
    return written


def render_outputs(analysis_json: str | Path, output_dir: str | Path | None = None, *, name: str | None = None,
                   title: str | None = None) -> list[Path]:
    """Re-render the report of a finished job from its files (``clarify-engine report``).

    Parameters
    ----------
    analysis_json : str or path-like
        The job's ``analysis.json`` (its folder is searched for ``run_manifest.json`` and
        ``explanations_shap/``); a folder holding it is accepted too.
    output_dir : str or path-like, optional
        Where to write the three files (default: beside ``analysis.json``).
    name, title : str, optional
        Default: those the job recorded in its manifest, else ``report`` / "Analysis Report".

    Raises
    ------
    DataError
        ``analysis.json`` is missing or unreadable.
    NotSupportedError
        A time-series job (Clarify writes no report for those).
    """
    source = Path(analysis_json)
    folder = source if source.is_dir() else source.parent
    if not source.is_dir() and source.name != ANALYSIS_JSON:
        raise DataError(f"{source}: expected a job's {ANALYSIS_JSON} (or its folder); the report reads "
                        f"{ANALYSIS_JSON}, {MANIFEST_JSON} and explanations_shap/ by their fixed names")
    report = Report.load(folder, title=title)
    if "asymmetric_shapley_value" in (report.analysis.get("explanations") or {}):
        raise NotSupportedError("this is a time-series job (explanations.asymmetric_shapley_value): Clarify writes "
                                "no report for those, and neither does clarify-engine")
    recorded = (report.manifest or {}).get("report") or {}
    name = name or recorded.get("name") or "report"
    out = Path(output_dir) if output_dir is not None else folder
    return write_report(out, report.analysis, report.manifest, name=name, title=report.title or DEFAULT_TITLE,
                        local=report.local, baseline=report.baseline, group_stats=report.group_stats,
                        text_records=report.text_records, images=report.images or {})
