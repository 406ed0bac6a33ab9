"""The report's content, section by section, built from a job's outputs only.

Inputs are the ``analysis.json`` dict, the run manifest dict (absent for a real Clarify
job), a bounded sample of local SHAP values, the baseline table and, at the end of a job,
the group statistics of :class:`~clarify_engine.report._context.BiasContext`. The same
:class:`Report` serves the end of a job, ``clarify-engine report`` and the notebook's own
cells (``Report.load(".")``), so all three show the same thing.

Sections, in order, are listed in :data:`SECTIONS`: each is a key, a predicate "present in
this job" and a builder returning the template's variables. Per-segment bias
(``segment_analysis``) repeats the bias blocks per segment; image explanations get their own
section (:mod:`clarify_engine.report._image_section`), their heat maps read from the job's folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from clarify_engine.errors import DataError
from clarify_engine.report._context import GroupStats
from clarify_engine.report._image_section import build_images, has_images
from clarify_engine.report._local import MAX_LOCAL_ROWS, sample_csv, sample_frame
from clarify_engine.report._sentences import MEANINGS, sentence
from clarify_engine.report._text_section import build_text, has_text, read_text_records

log = logging.getLogger(__name__)

__all__ = ["Fragment", "Report", "SECTIONS", "OPENING", "DEFAULT_TITLE"]

#: Clarify's opening sentence, word for word (spec: report.md §2).
OPENING = "We report the following SageMaker analysis."
#: The title the SageMaker SDK writes into every config.
DEFAULT_TITLE = "Analysis Report"
#: Features drawn in the SHAP charts at most (the table lists every feature).
TOP_FEATURES = 20
#: Facet values drawn in one bias chart at most (more values get further charts).
VALUES_PER_CHART = 8
NOT_AVAILABLE = "not available"

BIAS_TITLES = {
    "pre_training_bias_metrics": "Pre-training Bias Metrics",
    "post_training_bias_metrics": "Post-training Bias Metrics",
}


@dataclass(frozen=True)
class Fragment:
    """A piece of the report's HTML; Jupyter shows it as HTML (``_repr_html_``)."""

    key: str
    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html


#: A standard error the budget could not estimate (``null`` in analysis.json, ``inf`` in the CSV).
UNDETERMINED = "undetermined (budget too small)"


def _fmt(value) -> str:
    """A metric value as Clarify's report prints it: ``None`` for null, ≤ 6 significant digits."""
    if value is None:
        return "None"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.6g}"


def _pct(rate: float | None) -> str:
    return NOT_AVAILABLE if rate is None else f"{100 * rate:.1f}%"


def _num(value, digits: int = 6) -> str:
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


@dataclass
class Report:
    """Everything the report shows, and its rendering into sections.

    Parameters
    ----------
    analysis : dict
        ``analysis.json`` content.
    manifest : dict, optional
        ``run_manifest.json`` content (None for outputs of SageMaker Clarify itself).
    title : str, optional
        Heading; default: the manifest's recorded title, else "Analysis Report".
    local : pandas.DataFrame, optional
        Local SHAP values in ``out.csv`` layout; only a sample of at most
        :data:`~clarify_engine.report._local.MAX_LOCAL_ROWS` rows is kept.
    baseline : pandas.DataFrame, optional
        The SHAP baseline (``baseline.csv``).
    group_stats : dict, optional
        ``(facet, value_or_threshold) -> GroupStats``; default: those recorded in the manifest.
    text_records : list of dict, optional
        The first explained records of a text job's ``explanations_shap/out.jsonl``
        (:func:`~clarify_engine.report._text_section.read_text_records`), shown with their
        units coloured.
    images : dict, optional
        Heat maps of an image job (file name -> JPEG bytes), from
        :func:`~clarify_engine.report._image_section.image_files`.
    """

    analysis: Mapping[str, Any]
    manifest: Mapping[str, Any] | None = None
    title: str | None = None
    local: pd.DataFrame | None = None
    baseline: pd.DataFrame | None = None
    group_stats: dict[tuple[str, str], GroupStats] | None = None
    text_records: list[dict] | None = None
    images: Mapping[str, bytes] | None = field(default=None, repr=False)
    _fragments: dict[str, Fragment] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if not isinstance(self.analysis, Mapping):
            raise DataError(f"analysis.json must hold a JSON object; found {type(self.analysis).__name__}")
        recorded = dict((self.manifest or {}).get("report") or {})
        if self.title is None:
            self.title = recorded.get("title") or DEFAULT_TITLE
        if self.group_stats is None and recorded.get("group_stats"):
            self.group_stats = {(g["facet"], g["value_or_threshold"]): GroupStats.from_dict(g)
                                for g in recorded["group_stats"]}
        if self.local is not None and len(self.local) > MAX_LOCAL_ROWS:
            self.local = sample_frame(self.local)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, folder: str | Path = ".", title: str | None = None) -> "Report":
        """The report of the job whose outputs are in ``folder``.

        Reads ``analysis.json`` (required), ``run_manifest.json``, a sample of
        ``explanations_shap/out.csv`` and ``baseline.csv`` when present, the first records of
        ``out.jsonl`` for a text job and the heat maps of an image job.

        Raises
        ------
        DataError
            ``analysis.json`` is missing or not JSON.
        """
        folder = Path(folder)
        path = folder / "analysis.json"
        if not path.is_file():
            raise DataError(f"{path}: no analysis.json in {folder}; give the folder a finished job wrote "
                            "(the one holding analysis.json)")
        analysis = _read_json(path)
        manifest_path = folder / "run_manifest.json"
        manifest = _read_json(manifest_path) if manifest_path.is_file() else None
        local = baseline = None
        local_path = folder / "explanations_shap" / "out.csv"
        if local_path.is_file():
            records = ((manifest or {}).get("kernel_shap") or {}).get("records")
            local = sample_csv(local_path, records if isinstance(records, int) else None)
        baseline_path = folder / "explanations_shap" / "baseline.csv"
        if baseline_path.is_file():
            baseline = pd.read_csv(baseline_path, nrows=50)
        from clarify_engine.report._image_section import image_files

        return cls(analysis, manifest, title=title, local=local, baseline=baseline,
                   text_records=read_text_records(folder), images=image_files(folder, analysis) or None)

    # ------------------------------------------------------------------ sections

    def section_keys(self) -> list[str]:
        """Keys of the sections this job has, in report order."""
        return [key for key, present, _, _ in SECTIONS if present(self)]

    def section(self, key: str) -> Fragment:
        """The HTML of one section (see :data:`SECTIONS`)."""
        if key not in self._fragments:
            for name, present, builder, template in SECTIONS:
                if name == key:
                    if not present(self):
                        raise DataError(f"the report of this job has no {key!r} section; its sections are "
                                        f"{self.section_keys()}")
                    from clarify_engine.report._render import render_fragment

                    self._fragments[key] = Fragment(key, render_fragment(template, builder(self)))
                    break
            else:
                raise DataError(f"unknown report section {key!r}; use one of {[s[0] for s in SECTIONS]}")
        return self._fragments[key]

    def html(self) -> str:
        """The whole report as one self-contained HTML page."""
        from clarify_engine.report._render import render_page

        return render_page(self.title, [self.section(k) for k in self.section_keys()])

    # ------------------------------------------------------------------ facts

    @property
    def _m(self) -> Mapping[str, Any]:
        return self.manifest or {}

    @property
    def _job(self) -> Mapping[str, Any]:
        return (self._m.get("report") or {}).get("job") or {}

    def warnings(self) -> list[str]:
        """Warnings of the job (``warnings`` of analysis.json and the manifest) and the report's own."""
        out: list[str] = []
        for source in (self.analysis.get("warnings"), self._m.get("warnings")):
            for item in source or []:
                text = item.get("message") if isinstance(item, Mapping) else str(item)
                if text and isinstance(item, Mapping) and item.get("fix"):
                    text = f"{text} Fix: {item['fix']}"
                if text and text not in out:
                    out.append(str(text))
        for key in BIAS_TITLES:
            section = self.analysis.get(key) or {}
            for facet, entries in (section.get("facets") or {}).items():
                for entry in entries:
                    value = entry.get("value_or_threshold")
                    stats = (self.group_stats or {}).get((facet, value))
                    empty = stats.n_d == 0 if stats is not None else any(
                        "facet set is empty" in str(m.get("error", "")).lower() and "negat" not in str(m.get("error", "")).lower()
                        for m in entry.get("metrics", []))
                    text = (f"Facet {facet!r} value(s)/threshold {value!r} occurs in no row: its metrics compare an "
                            "empty group; check the value's spelling and type against the data")
                    if empty and text not in out:
                        out.append(text)
        return out

    def model_calls(self) -> dict[str, int]:
        """Requests sent to the model, by step (from the manifest)."""
        calls: dict[str, int] = {}
        requests = (self._m.get("model") or {}).get("requests") or {}
        if isinstance(requests.get("requests_sent"), int):
            calls["predicted labels"] = requests["requests_sent"]
        for key, name in (("kernel_shap", "Kernel SHAP"), ("pdp", "PDP")):
            n = (self._m.get(key) or {}).get("model_calls")
            if isinstance(n, int):
                calls[name] = n
        image = ((self._m.get("model") or {}).get("calls") or {}).get("image_shap") or {}
        if isinstance(image.get("calls"), int):
            calls["Image SHAP"] = image["calls"]
        return calls


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); give the file the job wrote, unchanged") from None


# ---------------------------------------------------------------------- builders


def _methods_run(report: Report) -> list[str]:
    if "methods_run" in report._m:
        return list(report._m["methods_run"])
    explanations = report.analysis.get("explanations") or {}
    found = [m for m, k in (("pre_training_bias", "pre_training_bias_metrics"),
                            ("post_training_bias", "post_training_bias_metrics")) if k in report.analysis]
    return found + [m for m, k in (("shap", "kernel_shap"), ("shap", "image_shap"), ("pdp", "pdp"))
                    if k in explanations]


def _build_summary(report: Report) -> dict[str, Any]:
    m, job = report._m, report._job
    dataset = m.get("dataset") or {}
    bias = next((report.analysis[k] for k in BIAS_TITLES if k in report.analysis), None)
    label = job.get("label") or (bias or {}).get("label")
    label_values = job.get("label_values")
    if label_values is None and bias is not None:
        label_values = bias.get("label_value_or_threshold")
    facets = job.get("facets")
    if facets is None and bias is not None:
        facets = [{"name": name, "values": [e.get("value_or_threshold") for e in entries]}
                  for name, entries in (bias.get("facets") or {}).items()]
    calls = report.model_calls()
    rows = [
        ("Dataset files", ", ".join(map(str, dataset.get("files") or [])) or NOT_AVAILABLE),
        ("Rows", _num(dataset.get("rows"))),
        ("Columns", (f"{len(dataset['columns'])}: " + ", ".join(map(str, dataset["columns"])))
         if dataset.get("columns") else NOT_AVAILABLE),
        ("Label", NOT_AVAILABLE if label is None else str(label)),
        ("Positive label value(s)/threshold", NOT_AVAILABLE if label_values is None else
         (", ".join(map(str, label_values)) if isinstance(label_values, list) else str(label_values))),
        ("Facets", "; ".join(f"{f['name']}: " + (", ".join(map(str, f["values"])) if f.get("values") else "every value")
                             for f in facets) if facets else NOT_AVAILABLE),
        ("Group variable", job.get("group_variable") or ("none" if job else NOT_AVAILABLE)),
        ("Model", (m.get("model") or {}).get("description") or ("none (labels from the data)" if m else NOT_AVAILABLE)),
        ("Methods run", ", ".join(_methods_run(report)) or "none"),
        ("Time taken", f"{m['elapsed_seconds']:.1f} s" if isinstance(m.get("elapsed_seconds"), (int, float)) else NOT_AVAILABLE),
        ("Model calls", (f"{sum(calls.values())} (" + ", ".join(f"{k}: {v}" for k, v in calls.items()) + ")")
         if calls else ("0" if m else NOT_AVAILABLE)),
    ]
    not_run = [(n.get("method"), n.get("reason")) for n in m.get("not_run") or []]
    return {"rows": rows, "not_run": not_run,
            "not_run_known": bool(m), "warnings": report.warnings(),
            "engine": f"{m.get('engine')} {m.get('engine_version')}" if m.get("engine") else None,
            "started_at": m.get("started_at")}


def _bias_builder(key: str) -> Callable[[Report], dict[str, Any]]:
    def build(report: Report) -> dict[str, Any]:
        return _bias_variables(report.analysis[key], key, report.group_stats)
    return build


def _bias_variables(section: Mapping[str, Any], key: str, group_stats: dict | None,
                    heading: str | None = None) -> dict[str, Any]:
    """Template variables of one bias section (``bias.html.j2``)."""
    from clarify_engine.report._charts import bias_chart

    post = key.startswith("post")
    facets = []
    for name, entries in (section.get("facets") or {}).items():
        shown = []
        for entry in entries:
            value = str(entry.get("value_or_threshold", ""))
            stats = (group_stats or {}).get((name, value))
            rows = [{
                "name": metric.get("name"),
                "description": metric.get("description", ""),
                "value": _fmt(metric.get("value")),
                "error": metric.get("error") if metric.get("error") is not None else "NaN",
                "failed": metric.get("value") is None,
                "sentence": sentence(metric.get("name"), metric.get("value"), metric.get("error"), name, value),
            } for metric in entry.get("metrics", [])]
            shown.append({"value": value, "rows": rows, "stats": _stats_rows(stats, post)})
        names = list(dict.fromkeys(m.get("name") for e in entries for m in e.get("metrics", [])))
        charts = []
        for start in range(0, len(entries), VALUES_PER_CHART):
            chunk = entries[start:start + VALUES_PER_CHART]
            series = []
            for entry in chunk:
                by_name = {m.get("name"): m.get("value") for m in entry.get("metrics", [])}
                series.append((entry.get("value_or_threshold"), [by_name.get(n) for n in names]))
            charts.append(bias_chart(name, names, series, {n: MEANINGS[n].neutral if n in MEANINGS else 0.0
                                                          for n in names}))
        facets.append({"name": name, "entries": shown, "charts": charts})
    return {"heading": heading or BIAS_TITLES[key], "label": section.get("label"),
            "label_value": section.get("label_value_or_threshold"), "facets": facets,
            "stats_available": group_stats is not None}


def _build_segments(report: Report) -> dict[str, Any]:
    """Per segment of ``segment_analysis``: its bias sections, as the whole-dataset ones (docs/segments.md)."""
    configs = []
    for item in report.analysis.get("segment_analysis") or []:
        segments = []
        for seg in item.get("segments") or []:
            alias = seg.get("display_alias") or str(seg.get("segment"))
            stages = [_bias_variables(seg[key], key, None, f"Segment: {alias} — {title}")
                      for key, title in BIAS_TITLES.items() if seg.get(key)]
            segments.append({"alias": alias, "segment": seg.get("segment"), "num_records": seg.get("num_records"),
                             "stages": stages})
        configs.append({"name": item.get("config_name"), "column": item.get("name_or_index"), "segments": segments})
    return {"heading": "Bias Metrics per Segment", "configs": configs}


def _stats_rows(stats: GroupStats | None, post: bool) -> list[tuple[str, str, str]] | None:
    if stats is None:
        return None
    rows = [("rows", f"{stats.n_d:,}", f"{stats.n_a:,}"),
            ("positive label rate", _pct(stats.label_rate_d), _pct(stats.label_rate_a))]
    if post:
        rows.append(("positive prediction rate", _pct(stats.pred_rate_d), _pct(stats.pred_rate_a)))
    return rows


def _local_columns(local: pd.DataFrame | None, label: str, features: list[str]) -> dict[str, Any]:
    if local is None:
        return {}
    out = {}
    for feature in features:
        column = f"{feature}_{label}"
        if column in local.columns:
            out[feature] = pd.to_numeric(local[column], errors="coerce").to_numpy(float)
    return out


def _build_shap(report: Report) -> dict[str, Any]:
    from clarify_engine.report._charts import shap_bar_chart, shap_beeswarm_chart

    explanations = report.analysis["explanations"]
    errors = explanations.get("kernel_shap_standard_errors") or {}
    info = report._m.get("kernel_shap") or {}
    outputs = []
    for label, values in explanations["kernel_shap"].items():
        global_values = values.get("global_shap_values") or {}
        se = (errors.get(label) or {}).get("global_shap_values")
        # null standard errors are infinite ones (too few coalitions to estimate them): draw no
        # bars rather than bars of zero, and say so in the table.
        se_known = se is not None and all(isinstance(v, (int, float)) for v in se.values())
        ranked = sorted(global_values.items(), key=lambda kv: -abs(kv[1]) if isinstance(kv[1], (int, float)) else 0)
        top = ranked[:TOP_FEATURES]
        names = [n for n, _ in top]
        bar = shap_bar_chart(label, names, [v for _, v in top], [se.get(n) for n in names] if se_known else None,
                             info.get("agg_method"))
        local = _local_columns(report.local, label, names)
        swarm = None
        if local:
            swarm_names = [n for n in names if n in local]
            swarm = shap_beeswarm_chart(label, swarm_names, [local[n] for n in swarm_names])
        table = [(n, _fmt(v), NOT_AVAILABLE if se is None else
                  (UNDETERMINED if se.get(n) is None else _fmt(se.get(n)))) for n, v in ranked]
        outputs.append({"label": label, "expected_value": _fmt(values.get("expected_value")), "bar": bar,
                        "swarm": swarm, "table": table, "shown": len(top), "total": len(ranked),
                        "has_se": se_known})
    baseline = info.get("baseline") or {}
    facts = [
        ("Rows explained", _num(info.get("records"))),
        ("Aggregation of local values", info.get("agg_method") or NOT_AVAILABLE),
        ("Link", info.get("link") or NOT_AVAILABLE),
        ("Coalitions per row (budget)", _num(info.get("n_coalitions"))),
        ("Values exact", NOT_AVAILABLE if info.get("exact") is None else
         "yes: every coalition enumerated" if info["exact"] else
         "no: too few coalitions to determine every value (minimum-norm estimate)" if info.get("budget_small") else
         "no: sampled estimate, standard errors shown" if all(o["has_se"] for o in outputs) else
         "no: sampled estimate; too few samples to estimate standard errors"),
        *([("Budget", info["budget_note"])] if info.get("budget_note") else []),
        ("Seed", _num(info.get("seed"))),
        ("Baseline", (f"{baseline.get('source')}, {baseline.get('rows')} row(s)"
                      + (f", weights {', '.join(_fmt(w) for w in baseline['weights'])}" if baseline.get("weights") else ""))
         if baseline else NOT_AVAILABLE),
    ]
    base_table = None
    if report.baseline is not None:
        base_table = {"columns": list(map(str, report.baseline.columns)),
                      "rows": [[_fmt(v) if isinstance(v, float) else str(v) for v in row]
                               for row in report.baseline.head(10).itertuples(index=False)]}
    sampled = None if report.local is None else len(report.local)
    return {"outputs": outputs, "facts": facts, "baseline": base_table, "sampled": sampled,
            "top": TOP_FEATURES}


def _build_pdp(report: Report) -> dict[str, Any]:
    from clarify_engine.report._charts import pdp_chart

    plots = []
    for entry in report.analysis["explanations"]["pdp"]:
        feature = str(entry.get("feature_name"))
        if entry.get("error"):
            plots.append({"feature": feature, "error": entry["error"]})
            continue
        predictions = entry.get("model_predictions") or []
        headers = entry.get("label_headers") or [f"label{i}" for i in range(len(predictions))]
        curves = list(zip(headers, predictions))
        plots.append({"feature": feature, "error": None, "data_type": entry.get("data_type"), "outputs": [str(h) for h in headers],
                      "chart": pdp_chart(feature, str(entry.get("data_type")), entry.get("feature_values") or [],
                                         curves, entry.get("data_distribution")),
                      "points": len(entry.get("feature_values") or [])})
    return {"plots": plots}


def _has_bias(key: str) -> Callable[[Report], bool]:
    return lambda r: bool(r.analysis.get(key))


#: (key, present in this job?, builder of the template variables, template file), in report order.
SECTIONS: list[tuple[str, Callable[[Report], bool], Callable[[Report], dict], str]] = [
    ("summary", lambda r: True, _build_summary, "summary.html.j2"),
    ("pre_training_bias_metrics", _has_bias("pre_training_bias_metrics"),
     _bias_builder("pre_training_bias_metrics"), "bias.html.j2"),
    ("post_training_bias_metrics", _has_bias("post_training_bias_metrics"),
     _bias_builder("post_training_bias_metrics"), "bias.html.j2"),
    ("segment_analysis", _has_bias("segment_analysis"), _build_segments, "segments.html.j2"),
    ("kernel_shap", lambda r: bool((r.analysis.get("explanations") or {}).get("kernel_shap")), _build_shap,
     "shap.html.j2"),
    ("text_explanations", has_text, build_text, "text.html.j2"),
    ("image_shap", has_images, build_images, "images.html.j2"),
    ("pdp", lambda r: bool((r.analysis.get("explanations") or {}).get("pdp")), _build_pdp, "pdp.html.j2"),
]
