"""Text explanations: token, sentence and paragraph units as Kernel SHAP features (``docs/text.md``)."""

from clarify_engine.explain.text._aggregate import TopUnits, global_tabular, top_units
from clarify_engine.explain.text._columns import data_type, detect_text_columns
from clarify_engine.explain.text._engine import explain_text
from clarify_engine.explain.text._baseline import resolve_baseline
from clarify_engine.explain.text._job import run_text_shap
from clarify_engine.explain.text._languages import pipeline
from clarify_engine.explain.text._mask import rebuild
from clarify_engine.explain.text._result import FeatureExplanation, RecordExplanation, TextShapResult
from clarify_engine.explain.text._spec import TextSpec
from clarify_engine.explain.text._units import TextUnits, split_texts

__all__ = [
    "FeatureExplanation", "TopUnits", "global_tabular", "RecordExplanation", "TextShapResult", "TextSpec", "TextUnits",
    "data_type", "detect_text_columns", "explain_text", "pipeline", "rebuild", "resolve_baseline", "run_text_shap", "split_texts",
    "top_units",
]
