"""A 1,000-image job stopped half way by SIGTERM keeps whole heat maps of the images it
finished, leaves nothing half-written, and a re-run with the same seed writes the same bytes.

A real ``clarify-engine analyze`` subprocess explains generated 24-pixel images against the
test image server over real HTTP (``application/x-npy``, four segments each, so every image is
explained exactly from its 14 coalitions in one request).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from clarify_engine.cli import STOPPED_EXIT_CODE

from .conftest import IMAGES

N_IMAGES = 1000
IC_CONFIG = IMAGES.parent / "sdk_configs" / "22_image_classification.json"


def _make_images(folder: Path) -> None:
    """``N_IMAGES`` 24 x 24 PNGs: a random colour field with a red-ish block at a random place,
    so the served classifier's score differs from image to image."""
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(13)
    for i in range(N_IMAGES):
        img = np.empty((24, 24, 3), np.uint8)
        img[:] = rng.integers(0, 256, 3, dtype=np.uint8)
        y, x = rng.integers(0, 16, 2)
        img[y: y + 8, x: x + 8] = (rng.integers(150, 256), rng.integers(0, 100), 30)
        Image.fromarray(img).save(folder / f"img{i:04d}.png")


def _config(path: Path) -> Path:
    config = json.loads(IC_CONFIG.read_text())
    config["predictor"]["content_type"] = "application/x-npy"
    config["predictor"]["label_headers"] = ["red", "other", "flat"]
    config["methods"]["shap"].update(seed=11, save_local_shap_values=False)
    config["methods"]["shap"]["image_config"].update(num_segments=4, segment_compactness=10)
    del config["methods"]["report"]
    path.write_text(json.dumps(config))
    return path


def _job(config: Path, data: Path, url: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "clarify_engine.cli", "-q", "analyze", "--config", str(config),
                             "--data", str(data), "--model", url, "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def _heat_maps(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob("shap_*.jpeg")) if out.is_dir() else []


def _decodes_whole(path: Path) -> tuple[int, int]:
    from PIL import Image, ImageFile

    # A truncated JPEG must raise instead of loading grey; importing weasyprint (the report's PDF
    # renderer, loaded by other tests of this worker) turns Pillow's process-wide leniency on.
    lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with Image.open(path) as im:
            assert im.format == "JPEG"
            im.load()
            return im.size
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


@pytest.mark.slow  # two jobs over 1,000 images: 4 to 5 minutes on the shared 2-core machine
def test_a_job_stopped_half_way_keeps_whole_heat_maps_and_a_rerun_writes_the_same_bytes(region_server, tmp_path):
    data = tmp_path / "data"
    _make_images(data)
    config = _config(tmp_path / "analysis_config.json")

    out = tmp_path / "stopped"
    proc = _job(config, data, region_server.url, out)
    try:
        while len(_heat_maps(out)) < N_IMAGES // 2:
            assert proc.poll() is None, f"the job ended before half its images: {proc.communicate()}"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == STOPPED_EXIT_CODE, stderr
    assert "stopped" in stderr.lower()

    kept = _heat_maps(out)
    assert N_IMAGES // 2 <= len(kept) < N_IMAGES  # stopped half way, not at the end
    # Images are explained in sorted order: the kept heat maps are the first ones, none skipped.
    assert kept == [f"shap_img{i:04d}.jpeg" for i in range(len(kept))]
    for name in kept:
        assert _decodes_whole(out / name) == (24, 24), name
    leftovers = [p.name for p in out.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert leftovers == []  # nothing half-written
    assert not (out / "analysis.json").exists()  # the job did not finish

    again = tmp_path / "again"
    proc = _job(config, data, region_server.url, again)
    _, stderr = proc.communicate(timeout=1800)
    assert proc.returncode == 0, stderr
    assert len(_heat_maps(again)) == N_IMAGES
    for name in kept:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    section = json.loads((again / "analysis.json").read_text())["explanations"]["image_shap"]
    assert [e["num_segments"] for e in section["images"]][:3] and all(e["exact"] for e in section["images"])
