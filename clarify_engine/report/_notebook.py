"""``<name>.ipynb``: an nbformat v4 notebook whose outputs are already filled in.

Each code cell asks :class:`~clarify_engine.report._build.Report` for one section, so the
stored output is exactly what the cell prints when the notebook is run again in Jupyter
next to ``analysis.json`` (the report's own folder). Code inputs are marked hidden, as in
Clarify's report, where no code is visible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from clarify_engine.report._build import Report

__all__ = ["build_notebook"]

_HIDDEN = {"jupyter": {"source_hidden": True}, "tags": ["remove-input"]}
_LOAD = ("# Reads analysis.json, run_manifest.json and a sample of explanations_shap/out.csv\n"
         "# from this notebook's folder (run it where the job wrote them).\n"
         "from clarify_engine.report import Report\n\n"
         "report = Report.load(\".\", title={title!r})")


def build_notebook(report: "Report"):
    """The notebook of ``report``: one markdown title cell, one loading cell, one cell per section.

    Returns
    -------
    nbformat.NotebookNode
        Validated against the nbformat v4 schema.
    """
    import nbformat
    from nbformat import v4

    cells = [
        v4.new_markdown_cell(f"# {report.title}\n\n{_opening()}"),
        v4.new_code_cell(_LOAD.format(title=report.title), metadata=dict(_HIDDEN), execution_count=1),
    ]
    for i, key in enumerate(report.section_keys(), start=2):
        fragment = report.section(key)
        output = v4.new_output("execute_result", data={"text/html": fragment.html,
                                                       "text/plain": f"<report section {key}>"},
                               execution_count=i)
        cells.append(v4.new_code_cell(f"report.section({key!r})", metadata=dict(_HIDDEN),
                                      outputs=[output], execution_count=i))
    notebook = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "title": report.title,
    })
    nbformat.validate(notebook)
    return notebook


def _opening() -> str:
    from clarify_engine.report._build import OPENING

    return OPENING
