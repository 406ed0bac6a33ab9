"""The three files as their readers open them: Chromium, Jupyter (nbclient), a PDF reader."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from tests.report.jobs import run_job

CHROMIUM = "chromium"
METHODS = {
    "pre_training_bias": {"methods": "all"},
    "post_training_bias": {"methods": ["DPPL", "DI", "AD"]},
    "shap": {"num_clusters": 2, "seed": 3},
    "pdp": {"grid_resolution": 4, "top_k_features": 2},
}


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats") / "out"
    run_job(folder, METHODS)
    return folder


def chromium() -> str:
    """Debian's chromium; CI installs it (apt-get install chromium)."""
    path = shutil.which(CHROMIUM)
    if path is None:
        pytest.fail("chromium is not installed: the HTML report test opens the page in headless Chromium; "
                    "install it with `apt-get install -y chromium` (Debian) and run the test again")
    return path


def open_in_chromium(html: Path, screenshot: Path, height: int = 3000) -> list[str]:
    """Open ``html`` in headless Chromium, save a screenshot; return the page's console messages."""
    proc = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--hide-scrollbars", f"--screenshot={screenshot}", f"--window-size=1100,{height}", html.as_uri()],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return re.findall(r"CONSOLE[^\]]*\] (.*)", proc.stderr)


def test_the_console_check_sees_errors_of_a_broken_page(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text('<html><body><script>console.error("deliberate failure")</script>'
                      '<img src="missing-file.png"></body></html>')
    messages = open_in_chromium(broken, tmp_path / "broken.png", height=400)
    assert any("deliberate failure" in m for m in messages), messages


def test_html_opens_in_chromium_without_console_messages_and_loads_nothing(job, tmp_path):
    html = (job / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "url(http" not in html and "<script" not in html
    shot = tmp_path / "report.png"
    messages = open_in_chromium(job / "report.html", shot)
    assert messages == []
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1100, 3000)
        colours = image.convert("RGB").resize((110, 300)).getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 20  # text and charts drawn, not a blank page


def test_notebook_reruns_top_to_bottom_and_reproduces_its_outputs(job):
    from nbclient import NotebookClient

    stored = nbformat.read(job / "report.ipynb", as_version=4)
    fresh = nbformat.read(job / "report.ipynb", as_version=4)
    for cell in fresh.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    NotebookClient(fresh, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(job)}}).execute()
    for before, after in zip(stored.cells, fresh.cells):
        if before.cell_type != "code":
            continue
        assert not [o for o in after.outputs if o.output_type == "error"]
        assert [o.get("data", {}).get("text/html") for o in after.outputs] == \
               [o.get("data", {}).get("text/html") for o in before.outputs]
