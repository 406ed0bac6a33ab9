"""Writers of the job's outputs: ``analysis.json``, the run manifest and the report.

The report (``<name>.html``, ``<name>.ipynb``, ``<name>.pdf``) is built from the job's
outputs only (:class:`Report`); matplotlib, Jinja2, nbformat and WeasyPrint are imported
when a report is rendered, never at package import.
"""

from clarify_engine.report._analysis_json import ANALYSIS_JSON, MANIFEST_JSON, dumps_analysis, write_outputs
from clarify_engine.report._build import Fragment, Report
from clarify_engine.report._context import BiasContext, GroupStats
from clarify_engine.report._spec import ReportSpec
from clarify_engine.report._write import (
    ReportRequest,
    render_outputs,
    report_request,
    write_job_report,
    write_report,
)

__all__ = [
    "ANALYSIS_JSON",
    "MANIFEST_JSON",
    "BiasContext",
    "Fragment",
    "GroupStats",
    "Report",
    "ReportRequest",
    "ReportSpec",
    "dumps_analysis",
    "render_outputs",
    "report_request",
    "write_job_report",
    "write_outputs",
    "write_report",
]
