"""The report of a text job: the top-unit chart, coloured records, the exact-records count,
in the HTML (opened in Chromium), the notebook and the PDF."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import joblib
import pytest

import clarify_engine
from clarify_engine.demo._text import make_reviews, train_text_model
from clarify_engine.report import Report
from clarify_engine.report._text_section import TEXT_RECORDS, _chart_label
from tests.report.jobs import REPORT, Page
from tests.report.test_formats import open_in_chromium

CONFIG = {
    "dataset_type": "text/csv", "headers": ["Target", "Rating", "Comments"], "label": "Target",
    "methods": {"report": dict(REPORT),
                "shap": {"baseline": [[4, "[MASK]"]], "num_samples": 100, "seed": 2,
                         "text_config": {"granularity": "token", "language": "english", "max_top_tokens": 12}}},
}


def _job(folder, **shap):
    folder.mkdir(parents=True)
    joblib.dump(train_text_model(make_reviews(300, seed=1)), folder / "model.joblib")
    data = make_reviews(10, seed=7)
    # two short reviews: few enough units to be enumerated (exact), the others are sampled
    data.loc[3, "Comments"] = "Awful."
    data.loc[6, "Comments"] = "Love it, great fit"
    config = json.loads(json.dumps(CONFIG))
    config["methods"]["shap"].update(shap)
    result = clarify_engine.analyze(config, data=data, model=str(folder / "model.joblib"), output_dir=folder / "out")
    return folder / "out", result


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    return _job(tmp_path_factory.mktemp("text_report") / "job")


def test_text_section_shows_top_units_records_and_exact_count(job):
    folder, result = job
    page = Page((folder / "report.html").read_text())
    assert ("h2", "Explanations: text units") in page.headings
    manifest = result.manifest["kernel_shap"]
    exact, explained = manifest["records_exact"], manifest["records_explained"]
    assert 0 < exact < explained == 10
    assert ["Records with exact values (every coalition of their units enumerated)", f"{exact} of 10"] in page.rows
    assert ["Granularity", "token"] in page.rows and ["Top units kept (max_top_tokens)", "12"] in page.rows

    top = result.to_dict()["explanations"]["kernel_shap"]["label0"]["global_top_shap_text"]["Comments"]
    assert list(top)[0].lower() == "awful" and len(top) == 12
    header = page.rows.index(["unit", "global SHAP value", "standard error"])
    assert [row[0] for row in page.rows[header + 1: header + 1 + len(top)]] == list(top)
    assert any(img.get("alt") == "Top units of Comments, output label0" and img["src"].startswith("data:image/png")
               for img in page.images)

    # the first explained records, every unit a coloured span; the record's largest value is the strongest
    html = (folder / "report.html").read_text()
    lines = [json.loads(line) for line in (folder / "explanations_shap" / "out.jsonl").read_text().splitlines()]
    shown = lines[:TEXT_RECORDS]
    units = [a for line in shown for f in line["explanations"] if f["data_type"] == "free_text"
             for a in f["attributions"]]
    spans = re.findall(r'<span class="unit" style="background: ([^"]+)" title="([^"]+)">([^<]*)</span>', html)
    assert [s[2] for s in spans] == [a["description"]["partial_text"] for a in units]
    first = [a["attribution"][0] for f in shown[0]["explanations"] if f["data_type"] == "free_text"
             for a in f["attributions"]]
    strongest = spans[max(range(len(first)), key=lambda j: abs(first[j]))][0]
    assert strongest.endswith(", 0.850)") and strongest.startswith("rgba(43, 108, 176" if min(first) < -max(first)
                                                                      else "rgba(197, 48, 48")
    assert "Record 0" in page.text and "Record 3" not in page.text


def test_the_reloaded_report_and_the_notebook_show_the_same_text_section(job):
    import nbformat

    folder, _ = job
    section = Report.load(folder).section("text_explanations").html
    assert section in (folder / "report.html").read_text()
    cells = [c for c in nbformat.read(folder / "report.ipynb", as_version=4).cells
             if c.cell_type == "code" and "text_explanations" in c.source]
    assert [c.outputs[0]["data"]["text/html"] for c in cells] == [section]


def test_text_report_opens_in_chromium_and_prints(job, tmp_path):
    folder, _ = job
    assert open_in_chromium(folder / "report.html", tmp_path / "shot.png") == []
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed: install it with `apt-get install -y poppler-utils` (Debian)")
    text = subprocess.run(["pdftotext", str(folder / "report.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Explanations: text units" in text and "Records, units coloured by their attribution" in text
    assert "awful" in text


def test_without_local_values_the_records_are_said_to_be_missing(tmp_path):
    folder, _ = _job(tmp_path / "job", save_local_shap_values=False)
    page = Page((folder / "report.html").read_text())
    assert "Records: not available (the job did not save local values" in page.text
    assert ("h3", "Output label0: top units of Comments") in page.headings


def test_chart_labels_are_cut_and_shown_as_written():
    assert _chart_label("costs $5 or $6") == r"costs \$5 or \$6"
    sentence = "A very long sentence " * 10
    assert len(_chart_label(sentence)) == 60 and _chart_label(sentence).endswith("…")
