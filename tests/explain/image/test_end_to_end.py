"""Image jobs end to end: the Python API, the CLI and the container entrypoint, against image
models served over real HTTP; the SDK-written configs run unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import clarify_engine
from tests.helpers import DUMMY_AWS_CREDENTIALS, moto_server_url, run_cli

from .conftest import IMAGES

FIXTURES = IMAGES.parent
IC_CONFIG = FIXTURES / "sdk_configs" / "22_image_classification.json"
OD_CONFIG = IMAGES / "od_analysis_config.json"


def _images(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(IMAGES / "scenes" / name, folder / name)
    return folder


def _check_classes(analysis: dict, out: Path, names: list[str]) -> None:
    section = analysis["explanations"]["image_shap"]
    assert section["model_type"] == "IMAGE_CLASSIFICATION"
    assert [e["image"] for e in section["images"]] == names
    for entry in section["images"]:
        [cls] = entry["classes"]
        assert sum(cls["segment_shap_values"]) == pytest.approx(cls["fx"] - cls["expected_value"], abs=1e-9)
        assert (out / cls["heatmap"]).is_file()


def test_the_sdk_image_classification_config_runs_unchanged(region_server, tmp_path):
    data = _images(tmp_path / "data", "a_red.png", "c_both.png")
    out = tmp_path / "out"
    result = clarify_engine.analyze(str(IC_CONFIG), data=str(data), model=region_server.url, output_dir=out)
    analysis = json.loads((out / "analysis.json").read_text())
    assert analysis == result.to_dict() and set(analysis) == {"version", "explanations"}
    _check_classes(analysis, out, ["a_red.png", "c_both.png"])
    assert [c["label"] for e in analysis["explanations"]["image_shap"]["images"] for c in e["classes"]] == \
        ["bird", "bird"]  # label_headers name the served classifier's class 0 (the red region)
    assert {p.name for p in out.iterdir()} >= {"shap_a_red.jpeg", "shap_c_both.jpeg", "report.html", "report.pdf",
                                               "run_manifest.json", "explanations_shap"}
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["methods_run"] == ["shap"] and manifest["image_shap"]["images_explained"] == 2
    assert manifest["model"]["calls"]["image_shap"]["rows"] > 0


@pytest.fixture()
def s3(monkeypatch):
    """A moto S3 server that s3fs reaches through AWS_ENDPOINT_URL_S3, with dummy credentials."""
    gen = moto_server_url()
    url = next(gen)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for key, value in DUMMY_AWS_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    import boto3

    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    yield client
    gen.close()


def test_the_object_detection_config_runs_unchanged_with_data_and_baseline_on_s3(detector_server, s3, tmp_path):
    from PIL import Image

    s3.create_bucket(Bucket="bucket")
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    body = tmp_path / "noise.png"
    Image.fromarray(noise).save(body)
    s3.put_object(Bucket="bucket", Key="prefix/noise_rgb.png", Body=body.read_bytes())
    for name in ("c_both.png", "b_green.jpg"):
        s3.put_object(Bucket="bucket", Key=f"cv/{name}", Body=(IMAGES / "scenes" / name).read_bytes())
    out = tmp_path / "out"
    result = clarify_engine.analyze(str(OD_CONFIG), data="s3://bucket/cv/", model=detector_server.url, output_dir=out)
    section = result.to_dict()["explanations"]["image_shap"]
    assert section["model_type"] == "OBJECT_DETECTION"
    by_image = {e["image"]: e for e in section["images"]}
    assert [o["label"] for o in by_image["b_green.jpg"]["objects"]] == ["elephant"]  # class 1, score >= 0.8
    assert sorted(o["label"] for o in by_image["c_both.png"]["objects"]) == ["dog", "elephant"]
    for entry in section["images"]:
        for o in entry["objects"]:
            assert (out / o["heatmap"]).is_file()
            assert sum(o["segment_shap_values"]) == pytest.approx(o["fx"] - o["expected_value"], abs=1e-9)
        assert (out / entry["objects_image"]).is_file()


def test_the_cli_runs_an_image_job(region_server, tmp_path):
    data = _images(tmp_path / "data", "a_red.png")
    config = json.loads(IC_CONFIG.read_text())
    config["methods"]["shap"].update(num_samples=40, seed=3)
    del config["methods"]["report"]
    (tmp_path / "analysis_config.json").write_text(json.dumps(config))
    out = tmp_path / "out"
    proc = run_cli("analyze", "--config", str(tmp_path / "analysis_config.json"), "--data", str(data),
                   "--model", region_server.url, "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    _check_classes(json.loads((out / "analysis.json").read_text()), out, ["a_red.png"])


def test_the_container_explains_images_through_a_sagemaker_endpoint(region_server, tmp_path):
    config = json.loads(IC_CONFIG.read_text())
    config["predictor"] = {"endpoint_name": "ic-endpoint", "content_type": "image/png",
                           "label_headers": ["bird", "cat", "dog"]}
    config["methods"]["shap"].update(num_samples=40, seed=3)
    del config["methods"]["report"]
    root = tmp_path / "root"
    (root / "opt/ml/processing/input/config").mkdir(parents=True)
    (root / "opt/ml/processing/input/config/analysis_config.json").write_text(json.dumps(config))
    _images(root / "opt/ml/processing/input/data", "a_red.png", "b_green.jpg")
    env = {"CLARIFY_PROCESSING_ROOT": str(root), "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": region_server.url,
           "AWS_DEFAULT_REGION": "us-west-2", **DUMMY_AWS_CREDENTIALS}
    proc = run_cli("container", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = root / "opt/ml/processing/output"
    _check_classes(json.loads((out / "analysis.json").read_text()), out, ["a_red.png", "b_green.jpg"])
    assert "SageMaker endpoint ic-endpoint" in proc.stdout


def test_an_in_process_image_model_is_called_on_image_batches(tmp_path):
    from .image_server import region_scores

    seen = []

    def model(images):
        seen.append(images.shape)
        return np.asarray([region_scores(im) for im in images])

    config = json.loads(IC_CONFIG.read_text())
    config["methods"]["shap"].update(num_samples=30, seed=1)
    del config["methods"]["report"]
    result = clarify_engine.analyze(config, data=str(_images(tmp_path / "d", "a_red.png")), model=model)
    assert all(len(shape) == 4 and shape[1:] == (48, 48, 3) for shape in seen)
    [entry] = result.to_dict()["explanations"]["image_shap"]["images"]
    assert entry["classes"][0]["label"] == "bird"
    assert result.image.pending  # no output folder: the heat map waits for result.write
    written = result.write(tmp_path / "later")
    assert (tmp_path / "later" / "shap_a_red.jpeg") in written
    assert result.manifest["model"]["calls"]["image_shap"]["rows"] == sum(s[0] for s in seen)
