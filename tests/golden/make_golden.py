"""Compute the expected bias sections of analysis.json with AWS's smclarify 0.5.

Runs ONLY in the pinned reference environment (see ``setup_smclarify_env.sh``)::

    .smclarify-venv/bin/python tests/golden/make_golden.py [CASE_ID ...]

For every ``tests/golden/cases/<case_id>/`` it reads ``data.csv`` and
``analysis_config.json`` and writes ``expected_analysis.json``; it also writes
``cases/MANIFEST.json`` (library versions and the case list).

How a case is resolved (the Clarify container's behaviour as we reproduce it)
------------------------------------------------------------------------------
* **Reading.** ``pd.read_csv(path)`` when the config has no ``headers`` (the first row is
  the header); ``pd.read_csv(path, header=None, names=headers)`` when it has. Nothing
  else is passed, so column dtypes are pandas' own inference, on which smclarify's typing
  of label and facet columns depends.
* **Addressing.** ``label``, ``predicted_label``, ``group_variable`` and every facet's
  ``name_or_index`` are a column name, or a 0-based column index into the frame.
  Output keys always use the column *name*.
* **Calls.** One ``smclarify.bias.report.bias_report`` call per facet per stage, with
  the whole frame (features, other facets and the group variable stay in it; smclarify
  itself drops the facet, label and predicted-label columns), ``FacetColumn(name,
  value_or_threshold or None)``, ``LabelColumn(label, df[label],
  label_values_or_threshold)``, ``metrics=["all"]`` when the config says ``"all"`` (else
  the list), ``group_variable=df[group]`` or ``None``. Post-training adds
  ``predicted_label_column=LabelColumn(pred, df[pred], label_values_or_threshold)``; it
  is run only when the config asks for it *and* names a ``predicted_label`` column.
  Every call gets fresh copies of the value lists, because smclarify converts a string
  threshold to float in place.
* **``label_value_or_threshold``** (section level, as the container writes it) is
  ``smclarify.bias.report.label_value_or_threshold(df[label], values)``: the positive
  values joined by ``","`` for a categorical label, the interval(s) built from the
  threshold and the label column's max for a continuous one (``"(0.6, 0.9936]"``; ``""``
  when the threshold equals the max).
* **Errors.** A metric that fails is kept as smclarify reports it (``value: null`` plus
  ``error``). When smclarify raises for a whole call (label/predicted-label typing,
  no predicted positives, continuous facet without threshold, ...) the stage's section
  becomes ``{"error": "<str(exception)>"}``; the engine is expected to fail the same
  way with a message containing that text.
* **Serialisation.** Values exactly as ``FacetReport.to_json`` returns them (±inf
  already turned into ``"Infinity"``/``"-Infinity"`` by smclarify); floats are written
  with ``repr`` so they read back bit-for-bit. NaN never occurs in these cases; the
  script refuses to write one.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"

try:
    import smclarify
    from smclarify.bias import report as smc_report
except ImportError as exc:  # pragma: no cover - guard for the wrong interpreter
    sys.exit(f"make_golden.py must run in the pinned smclarify venv (tests/golden/setup_smclarify_env.sh): {exc}")

if not pd.__version__.startswith("1.5."):
    sys.exit(f"make_golden.py expects pandas 1.5.x (pinned smclarify venv), found pandas {pd.__version__}")


def read_dataset(case_dir: Path, config: dict) -> pd.DataFrame:
    """Read ``data.csv`` with plain ``pd.read_csv`` (header row iff no ``headers``)."""
    path = case_dir / "data.csv"
    headers = config.get("headers")
    if headers:
        return pd.read_csv(path, header=None, names=headers)
    return pd.read_csv(path)


def resolve_column(df: pd.DataFrame, ref, key: str) -> str:
    """Column name for a config reference (name, or 0-based index)."""
    if isinstance(ref, bool):
        raise ValueError(f"{key}: expected a column name or index, found {ref!r}")
    if isinstance(ref, int):
        if not 0 <= ref < df.shape[1]:
            raise ValueError(f"{key}: index {ref} is outside the {df.shape[1]} columns")
        return str(df.columns[ref])
    if ref not in df.columns:
        raise ValueError(f"{key}: column {ref!r} not in {list(df.columns)}")
    return ref


def _metric_list(spec) -> list:
    methods = spec.get("methods", "all")
    return ["all"] if methods == "all" else list(methods)


def _stage_section(df, config, stage, label, facets, group, predicted) -> dict:
    label_values = config["label_values_or_threshold"]
    metrics = _metric_list(config["methods"][stage.value + "_bias"])
    group_series = df[group] if group is not None else None
    try:
        label_str = smc_report.label_value_or_threshold(df[label], copy.deepcopy(label_values))
        out_facets: dict = {}
        for name, values in facets:
            pred_col = None
            if stage is smc_report.StageType.POST_TRAINING:
                pred_col = smc_report.LabelColumn(predicted, df[predicted], copy.deepcopy(label_values))
            out_facets[name] = smc_report.bias_report(
                df,
                smc_report.FacetColumn(name, copy.deepcopy(values) if values is not None else None),
                smc_report.LabelColumn(label, df[label], copy.deepcopy(label_values)),
                stage,
                predicted_label_column=pred_col,
                metrics=metrics,
                group_variable=group_series,
            )
    except Exception as exc:  # the whole stage fails, as the container's job would
        return {"error": str(exc)}
    return {"label": label, "facets": out_facets, "label_value_or_threshold": label_str}


def expected_analysis(case_dir: Path) -> dict:
    config = json.loads((case_dir / "analysis_config.json").read_text(encoding="utf-8"))
    df = read_dataset(case_dir, config)
    label = resolve_column(df, config["label"], "label")
    facets = [
        (resolve_column(df, f["name_or_index"], f"facet[{i}].name_or_index"), f.get("value_or_threshold"))
        for i, f in enumerate(config["facet"])
    ]
    group = resolve_column(df, config["group_variable"], "group_variable") if "group_variable" in config else None
    predicted = (
        resolve_column(df, config["predicted_label"], "predicted_label") if "predicted_label" in config else None
    )
    out: dict = {"version": "1.0"}
    methods = config["methods"]
    if "pre_training_bias" in methods:
        out["pre_training_bias_metrics"] = _stage_section(
            df, config, smc_report.StageType.PRE_TRAINING, label, facets, group, predicted
        )
    if "post_training_bias" in methods and predicted is not None:
        out["post_training_bias_metrics"] = _stage_section(
            df, config, smc_report.StageType.POST_TRAINING, label, facets, group, predicted
        )
    return out


def _check_finite(obj, where="") -> None:
    """Refuse NaN and raw infinities: they have no agreed JSON form here."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_finite(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_finite(v, f"{where}[{i}]")
    elif isinstance(obj, float) and not np.isfinite(obj):
        raise ValueError(f"non-finite float {obj!r} at {where}")


def main(argv: list[str]) -> None:
    logging.disable(logging.CRITICAL)  # smclarify logs a traceback for every failing metric
    warnings.simplefilter("ignore")
    wanted = set(argv)
    case_dirs = sorted(d for d in CASES_DIR.iterdir() if (d / "analysis_config.json").is_file())
    if not case_dirs:
        sys.exit(f"no cases under {CASES_DIR}: run tests/golden/make_cases.py first")
    for d in case_dirs:
        if wanted and d.name not in wanted:
            continue
        result = expected_analysis(d)
        _check_finite(result, d.name)
        (d / "expected_analysis.json").write_text(json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        stages = {k: ("error" if "error" in v else "ok") for k, v in result.items() if k != "version"}
        print(f"{d.name}: {stages}")
    manifest = {
        "generator": "tests/golden/make_golden.py",
        "smclarify": getattr(smclarify, "__version__", None) or _dist_version("smclarify"),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scikit-learn": _dist_version("scikit-learn"),
        "python": ".".join(map(str, sys.version_info[:3])),
        "cases": [d.name for d in case_dirs],
    }
    (CASES_DIR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main(sys.argv[1:])
