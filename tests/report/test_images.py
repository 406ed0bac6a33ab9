"""The report of an image job: per image its heat map(s) embedded, what was explained, the
segment count and the top segments; in the HTML (opened in headless Chromium), the notebook
and the PDF (read back with poppler)."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import clarify_engine
from clarify_engine.report import Report, render_outputs
from clarify_engine.report import _image_section
from tests.explain.image.image_server import detect, region_scores
from tests.report.jobs import Page, page
from tests.report.test_formats import open_in_chromium

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
IMAGES = FIXTURES / "images"
SCENES = ("a_red.png", "b_green.jpg", "c_both.png")


def classifier(images):
    return np.asarray([region_scores(im) for im in images])


def detector(images):
    return [detect(im) for im in images]


def _data(folder: Path, broken: bool = False) -> Path:
    folder.mkdir(parents=True)
    for name in SCENES:
        shutil.copy(IMAGES / "scenes" / name, folder / name)
    if broken:
        shutil.copy(IMAGES / "broken" / "truncated.png", folder / "truncated.png")
    return folder


@pytest.fixture(scope="module")
def ic_job(tmp_path_factory):
    root = tmp_path_factory.mktemp("ic_report")
    config = json.loads((FIXTURES / "sdk_configs" / "22_image_classification.json").read_text())
    config["methods"]["shap"].update(num_samples=60, seed=1)
    config["methods"]["shap"]["image_config"]["num_segments"] = 10
    out = root / "out"
    clarify_engine.analyze(config, data=str(_data(root / "data", broken=True)), model=classifier, output_dir=out)
    return out


@pytest.fixture(scope="module")
def od_job(tmp_path_factory):
    root = tmp_path_factory.mktemp("od_report")
    config = json.loads((IMAGES / "od_analysis_config.json").read_text())
    del config["methods"]["shap"]["baseline"]  # seeded white noise
    config["methods"]["shap"].update(num_samples=60, seed=2)
    config["methods"]["shap"]["image_config"]["num_segments"] = 10
    out = root / "out"
    clarify_engine.analyze(config, data=str(_data(root / "data")), model=detector, output_dir=out)
    return out


def _section(folder: Path) -> dict:
    return json.loads((folder / "analysis.json").read_text())["explanations"]["image_shap"]


def _embedded(img: dict) -> bytes:
    prefix = "data:image/jpeg;base64,"
    assert img["src"].startswith(prefix)
    return base64.b64decode(img["src"][len(prefix):])


def _top_rows(values: list[float]) -> list[list[str]]:
    order = sorted(range(len(values)), key=lambda j: -abs(values[j]))[:_image_section.TOP_SEGMENTS]
    return [[str(j), f"{values[j]:+.4g}"] for j in order]


def test_each_image_has_its_heat_map_class_segment_count_and_top_segments(ic_job):
    p = page(ic_job)
    assert "Explanations: Image SHAP" in p.heading_texts("h2")
    section = _section(ic_job)
    assert [e["image"] for e in section["images"]] == list(SCENES)
    assert [h for h in p.heading_texts("h3") if h in SCENES] == list(SCENES)
    heat_maps = [img for img in p.images if img.get("alt", "").startswith("SHAP heat map of ")]
    assert len(heat_maps) == 3
    rows = [r for r in p.rows if len(r) == 4 and r[0].isdigit()]
    for n, (entry, img) in enumerate(zip(section["images"], heat_maps)):
        [cls] = entry["classes"]
        # the very heat map the job wrote (small images are embedded unchanged)
        assert _embedded(img) == (ic_job / cls["heatmap"]).read_bytes()
        assert img["alt"] == f"SHAP heat map of {entry['image']}: Class {cls['label']} (class id {cls['class_id']}), " \
                             f"score {cls['score']:.4g} on the unmasked image"
        assert f"{entry['num_segments']} segments; 60 coalitions evaluated per class: sampled estimate." in p.text
        top = _top_rows(cls["segment_shap_values"])
        assert [r[:2] for r in rows[n * len(top): (n + 1) * len(top)]] == top
    # the served classifier reads the red region: a_red's first segment raises the score of class "bird"
    first = rows[0]
    assert first[2] == "raises" and first[3].endswith("%")
    assert "Class bird (class id 0)" in p.text
    assert ["truncated.png"] == [r[0] for r in p.rows if len(r) == 2 and "truncated" in r[0]]
    assert "Model calls" in p.text and "Image SHAP:" in p.text


def test_a_value_that_is_rounding_of_zero_has_no_effect():
    rows = _image_section._top_segments([0.5, -1e-17, -0.25, None])
    assert [(r["segment"], r["direction"], r["share"]) for r in rows] == \
        [(0, "raises", "67%"), (2, "lowers", "33%"), (1, "no effect", "0%")]


def test_detection_shows_the_objects_image_and_one_heat_map_per_object(od_job):
    p = page(od_job)
    section = _section(od_job)
    by_image = {e["image"]: e for e in section["images"]}
    objects = [img for img in p.images if img.get("alt", "").startswith("Objects explained in ")]
    assert [img["alt"] for img in objects] == [f"Objects explained in {n}" for n in SCENES if by_image[n].get("objects")]
    for img in objects:
        name = img["alt"].removeprefix("Objects explained in ")
        assert _embedded(img) == (od_job / by_image[name]["objects_image"]).read_bytes()
    heat_maps = [img for img in p.images if img.get("alt", "").startswith("SHAP heat map of ")]
    expected = [(e["image"], o) for e in section["images"] for o in e["objects"]]
    assert len(heat_maps) == len(expected) >= 3  # c_both.png has two objects
    for img, (name, obj) in zip(heat_maps, expected):
        assert img["alt"].startswith(f"SHAP heat map of {name}: {obj['box']}: {obj['label']} "
                                     f"(class id {obj['class_id']}), score {obj['score']:.4g}, box ")
        assert _embedded(img) == (od_job / obj["heatmap"]).read_bytes()
    assert "coalitions evaluated per object" in p.text


def test_the_image_report_opens_in_chromium_with_the_heat_maps_drawn(ic_job, tmp_path):
    shot = tmp_path / "page.png"
    assert open_in_chromium(ic_job / "report.html", shot) == []
    from PIL import Image

    with Image.open(shot) as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # b_green's positive segments tinted blue (the page's own blue, #2b6cb0, is darker)
    assert int(((b > 180) & (r < 80) & (g < 120)).sum()) > 1000


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: the PDF test reads the report back with it; install it with "
                    "`apt-get install -y poppler-utils` (Debian) and run the test again")
    return path


def test_the_pdf_has_the_image_section_with_its_heat_maps(ic_job):
    pdf = ic_job / "report.pdf"
    text = subprocess.run([_tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    starts = [p.strip().splitlines()[0].strip() for p in text.split("\f") if p.strip()]
    assert "Explanations: Image SHAP" in starts
    for name in (*SCENES, "Class bird (class id 0)", "truncated.png"):
        assert name in text
    listed = subprocess.run([_tool("pdfimages"), "-list", str(pdf)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    sizes = [tuple(map(int, line.split()[3:5])) for line in listed]
    assert sizes.count((48, 48)) == 3  # one heat map per image, at the image's own size


def test_the_notebook_cell_of_the_image_section_reproduces_from_the_folder(ic_job):
    import nbformat

    nb = nbformat.read(ic_job / "report.ipynb", as_version=4)
    [cell] = [c for c in nb.cells if c.cell_type == "code" and c.source == "report.section('image_shap')"]
    stored = cell.outputs[0]["data"]["text/html"]
    assert stored in (ic_job / "report.html").read_text()
    assert Report.load(ic_job).section("image_shap").html == stored  # what the cell prints when re-run


def test_a_missing_heat_map_is_named_in_the_report(ic_job, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(ic_job, folder)
    (folder / "shap_a_red.jpeg").unlink()
    render_outputs(folder / "analysis.json")
    p = page(folder)
    assert "Heat map shap_a_red.jpeg not found or not readable beside analysis.json." in p.text
    assert len([img for img in p.images if img.get("alt", "").startswith("SHAP heat map of ")]) == 2


def test_only_the_first_images_are_shown_and_large_heat_maps_are_shrunk(ic_job, monkeypatch, tmp_path):
    from PIL import Image

    big = tmp_path / "big"
    shutil.copytree(ic_job, big)
    Image.new("RGB", (960, 640), (0, 64, 255)).save(big / "shap_a_red.jpeg", format="JPEG")
    monkeypatch.setattr(_image_section, "IMAGES_SHOWN", 2)
    report = Report.load(big)
    html = report.section("image_shap").html
    assert "<td>3 (the first 2 shown)</td>" in html
    shown = Page(html)
    assert shown.heading_texts("h3")[:2] == list(SCENES[:2]) and SCENES[2] not in shown.heading_texts("h3")
    with Image.open(io.BytesIO(_embedded(shown.images[0]))) as im:
        assert im.size == (480, 320)
