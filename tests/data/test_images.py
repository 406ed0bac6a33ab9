"""Reading image datasets: folders, s3:// prefixes, manifests, RGB conversion, corrupt files."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from clarify_engine import _warnings
from clarify_engine.data._images import ImageReadError, decode_image, image_files, read_images
from clarify_engine.errors import DataError
from tests.helpers import DUMMY_AWS_CREDENTIALS, moto_server_url

IMAGES = Path(__file__).resolve().parent.parent / "fixtures" / "images"


def test_a_folder_gives_its_images_sorted_and_names_the_files_skipped():
    with _warnings.collect() as found:
        files = image_files(str(IMAGES / "scenes"))
    assert [f.name for f in files] == ["a_red.png", "b_green.jpg", "c_both.png", "d_gray.png", "e_alpha.png"]
    assert [f.stem for f in files][:2] == ["a_red", "b_green"]
    [warning] = found
    assert warning.message == (f"1 file(s) under {IMAGES / 'scenes'} are not .jpg, .jpeg or .png images and were "
                               "skipped: notes.txt")


def test_extensions_are_matched_in_any_case_and_subfolders_are_read(tmp_path):
    (tmp_path / "sub").mkdir()
    shutil.copy(IMAGES / "scenes" / "a_red.png", tmp_path / "sub" / "Z.PNG")
    shutil.copy(IMAGES / "scenes" / "b_green.jpg", tmp_path / "a.JPEG")
    assert [f.name for f in image_files(str(tmp_path))] == ["a.JPEG", "sub/Z.PNG"]


def test_grayscale_and_rgba_images_become_rgb():
    gray = decode_image((IMAGES / "scenes" / "d_gray.png").read_bytes(), "d_gray.png")
    assert gray.shape == (48, 48, 3) and gray.dtype == np.uint8
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    rgba = decode_image((IMAGES / "scenes" / "e_alpha.png").read_bytes(), "e_alpha.png")
    assert rgba.shape == (48, 48, 3)
    np.testing.assert_array_equal(rgba[25, 10], [20, 230, 20])  # the colour, alpha dropped


def test_corrupt_and_truncated_images_are_reported_by_name_and_the_others_read(caplog):
    files = image_files(str(IMAGES / "broken"))
    with caplog.at_level(logging.WARNING, logger="clarify_engine"):
        got = {f.name: image for f, image in read_images(files)}
    assert isinstance(got["good.png"], np.ndarray)
    assert got["not_really.jpg"] == ImageReadError(
        "not_really.jpg", "Image not_really.jpg cannot be decoded (not an image format Pillow identifies); "
                          "replace or remove the file.")
    assert got["truncated.png"].reason.startswith("Image truncated.png cannot be decoded (")
    assert "truncated.png" in caplog.text and "not_really.jpg" in caplog.text


def test_a_folder_without_images_is_refused(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DataError) as info:
        image_files(str(tmp_path))
    assert str(info.value) == (f"Dataset location {tmp_path} holds no .jpg, .jpeg or .png image; put the images "
                               "there (other files are skipped).")


def test_a_manifest_lists_images_relative_to_its_prefix(tmp_path):
    manifest = tmp_path / "images.manifest"
    manifest.write_text(json.dumps([{"prefix": str(IMAGES / "scenes") + "/"}, "c_both.png", "a_red.png", "notes.txt"]))
    files = image_files(str(manifest))
    assert [f.name for f in files] == ["c_both.png", "a_red.png"]  # the manifest's order
    [(_, image), _] = list(read_images(files))
    assert image.shape == (48, 48, 3)


def test_a_malformed_manifest_is_refused(tmp_path):
    manifest = tmp_path / "bad.manifest"
    manifest.write_text(json.dumps(["a.jpg"]))
    with pytest.raises(DataError) as info:
        image_files(str(manifest))
    assert str(info.value) == (f"Manifest {manifest}: the first entry must be {{\"prefix\": \"s3://bucket/path/\"}}; "
                               "found ['a.jpg'].")


@pytest.fixture(scope="module")
def moto_url():
    yield from moto_server_url()


def test_an_s3_prefix_is_read_like_a_folder(moto_url, monkeypatch):
    import boto3

    for key, value in DUMMY_AWS_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket="imgs")
    for name in ("c_both.png", "a_red.png", "notes.txt"):
        s3.put_object(Bucket="imgs", Key=f"cv/{name}", Body=(IMAGES / "scenes" / name).read_bytes())
    options = {"client_kwargs": {"endpoint_url": moto_url, "region_name": "us-east-1"}}
    files = image_files("s3://imgs/cv/", options)
    assert [f.name for f in files] == ["a_red.png", "c_both.png"]
    assert files[0].location == "s3://imgs/cv/a_red.png"
    [(_, first), _] = list(read_images(files, options))
    np.testing.assert_array_equal(first, decode_image((IMAGES / "scenes" / "a_red.png").read_bytes(), "a"))


def test_a_truncated_image_is_refused_even_after_weasyprint_made_pillow_lenient(monkeypatch):
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # what importing weasyprint does
    with pytest.raises(DataError) as info:
        decode_image((IMAGES / "broken" / "truncated.png").read_bytes(), "truncated.png")
    assert str(info.value).startswith("Image truncated.png cannot be decoded (")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the setting is given back
