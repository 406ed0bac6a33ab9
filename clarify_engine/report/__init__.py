"""Writers of the job's outputs: ``analysis.json`` and the run manifest."""

from clarify_engine.report._analysis_json import ANALYSIS_JSON, MANIFEST_JSON, dumps_analysis, write_outputs

__all__ = ["ANALYSIS_JSON", "MANIFEST_JSON", "dumps_analysis", "write_outputs"]
