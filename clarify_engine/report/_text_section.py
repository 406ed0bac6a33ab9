"""The report's text section: the top units of ``global_top_shap_text`` and a few records
with their units coloured by attribution (``docs/report.md``).

Everything comes from the job's outputs: ``analysis.json`` (the top units and their standard
errors), ``run_manifest.json`` (granularity, language, how many records were explained and
how many exactly) and the first lines of ``explanations_shap/out.jsonl`` (the records shown).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

__all__ = ["TEXT_RECORDS", "build_text", "has_text", "read_text_records"]

#: Records shown with their units coloured (the first ones of ``out.jsonl`` that were explained).
TEXT_RECORDS = 3
#: Longest unit label in the chart (sentences and paragraphs are cut; the table has them whole).
CHART_LABEL_CHARS = 60
#: Lines of ``out.jsonl`` read at most to find the records shown.
_SCAN_LINES = 200
_POSITIVE = (197, 48, 48)
_NEGATIVE = (43, 108, 176)


def has_text(report: Any) -> bool:
    """True when some output of ``explanations.kernel_shap`` has ``global_top_shap_text``."""
    shap = (report.analysis.get("explanations") or {}).get("kernel_shap") or {}
    return any(isinstance(v, Mapping) and "global_top_shap_text" in v for v in shap.values())


def read_text_records(folder: str | Path, limit: int = TEXT_RECORDS) -> list[dict] | None:
    """The first ``limit`` explained records of ``folder/explanations_shap/out.jsonl`` that
    have a free-text feature; None when the job saved no local text values."""
    path = Path(folder) / "explanations_shap" / "out.jsonl"
    if not path.is_file():
        return None
    found = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if len(found) >= limit or number >= _SCAN_LINES:
                break
            record = json.loads(line)
            if record.get("error") is None and any(f.get("data_type") == "free_text"
                                                   for f in record.get("explanations") or []):
                found.append({"line": number, **record})
    return found


def _chart_label(unit: str) -> str:
    # matplotlib reads "$...$" as mathematics: a unit is shown as written
    short = unit if len(unit) <= CHART_LABEL_CHARS else unit[:CHART_LABEL_CHARS - 1] + "…"
    return " ".join(short.split()).replace("$", r"\$")


def _colour(value: float, scale: float) -> str:
    """Background of a unit: red for a positive attribution, blue for a negative one,
    stronger the larger ``|value|`` is against the record's largest."""
    if not isinstance(value, (int, float)) or not math.isfinite(value) or scale <= 0 or value == 0:
        return "transparent"
    r, g, b = _POSITIVE if value > 0 else _NEGATIVE
    return f"rgba({r}, {g}, {b}, {0.85 * min(1.0, abs(value) / scale):.3f})"


def _coloured(record: Mapping[str, Any], output: int) -> list[dict]:
    """Each free-text feature of ``record`` as pieces ``{text, colour, value}`` in text order;
    units are joined by one space where the original text had a gap between them."""
    features = []
    for feat in record.get("explanations") or []:
        if feat.get("data_type") != "free_text":
            continue
        units = []
        for a in feat.get("attributions") or []:
            desc = a.get("description") or {}
            values = a.get("attribution") or []
            value = values[output] if output < len(values) else None
            units.append((int(desc.get("start_idx", 0)), str(desc.get("partial_text", "")), value))
        units.sort(key=lambda u: u[0])
        scale = max((abs(v) for _, _, v in units if isinstance(v, (int, float)) and math.isfinite(v)), default=0.0)
        pieces, end = [], None
        for start, text, value in units:
            if end is not None and start > end:
                pieces.append({"text": " ", "colour": None, "value": None})
            pieces.append({"text": text, "colour": _colour(value, scale),
                           "value": f"{value:.4g}" if isinstance(value, (int, float)) else "None"})
            end = start + len(text)
        features.append({"name": str(feat.get("feature_name")), "pieces": pieces})
    return features


def build_text(report: Any) -> dict[str, Any]:
    """The template variables of the text section."""
    from clarify_engine.report._build import NOT_AVAILABLE, UNDETERMINED, _fmt, _num
    from clarify_engine.report._charts import shap_bar_chart

    explanations = report.analysis["explanations"]
    errors = explanations.get("kernel_shap_standard_errors") or {}
    info = report._m.get("kernel_shap") or {}
    settings = info.get("text") or {}
    outputs = []
    for label, values in explanations["kernel_shap"].items():
        for column, top in (values.get("global_top_shap_text") or {}).items():
            se = ((errors.get(label) or {}).get("global_top_shap_text") or {}).get(column)
            units = list(top)
            se_known = se is not None and all(isinstance(se.get(u), (int, float)) for u in units)
            chart = shap_bar_chart(f"{label}, {column}", [_chart_label(u) for u in units],
                                   [top[u] for u in units], [se[u] for u in units] if se_known else None,
                                   info.get("agg_method")) if units else None
            table = [(u, _fmt(top[u]), NOT_AVAILABLE if se is None else
                      (UNDETERMINED if se.get(u) is None else _fmt(se.get(u)))) for u in units]
            outputs.append({"label": str(label), "column": str(column), "chart": chart, "table": table,
                            "has_se": se_known})
    records = None
    if report.text_records is not None:
        first = next(iter(explanations["kernel_shap"]), "label0")
        records = {"label": str(first),
                   "items": [{"line": r["line"], "join": r.get("join_source_value"), "features": _coloured(r, 0)}
                             for r in report.text_records]}
    explained, exact = info.get("records_explained"), info.get("records_exact")
    facts = [
        ("Granularity", settings.get("granularity") or NOT_AVAILABLE),
        ("Language", settings.get("language") or NOT_AVAILABLE),
        ("Text columns", ", ".join(map(str, settings.get("text_columns") or [])) or NOT_AVAILABLE),
        ("Records explained", _num(explained) if info.get("records") is None else
         f"{_num(explained)} of {_num(info.get('records'))}"),
        ("Records with exact values (every coalition of their units enumerated)",
         NOT_AVAILABLE if exact is None else f"{_num(exact)} of {_num(explained)}"),
        ("Records not explained", _num(info.get("records_failed"))),
        ("Units per record", NOT_AVAILABLE if not info.get("units") else
         f"{info['units'].get('min')} to {info['units'].get('max')}"),
        ("Top units kept (max_top_tokens)", _num(settings.get("max_top_tokens"))),
        ("Aggregation of local values", info.get("agg_method") or NOT_AVAILABLE),
    ]
    return {"outputs": outputs, "records": records, "facts": facts}
