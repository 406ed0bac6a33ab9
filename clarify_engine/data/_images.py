"""Image datasets: which files a location stands for, and each image as an RGB array.

A location (``dataset`` input folder, ``dataset_uri``) is a folder, an ``s3://`` prefix, a
single image, or a SageMaker manifest file. Clarify documents the prefix and the manifest
(Developer Guide, *Analysis Configuration Files*); the rest is decided in ``docs/images.md``:

* images are the files ending in ``.jpg``, ``.jpeg`` or ``.png`` (any case), in sorted path
  order; every other file is skipped with one warning that names them;
* a manifest is a JSON file in the ``ManifestFile`` form ``[{"prefix": "s3://b/p/"}, "a.jpg",
  "sub/b.jpg"]`` (entries relative to the prefix, in the manifest's order); a file ending in
  ``.manifest`` or holding such a list is read as one;
* each image is decoded by Pillow and converted to RGB (grayscale, palette and RGBA images
  included; an alpha channel is dropped), as ``uint8`` (H, W, 3);
* an image that cannot be decoded (corrupt, truncated, not an image) is reported by name
  (:class:`ImageReadError` records) and the others are still read.
"""

from __future__ import annotations

import io
import json
import logging
import os
import posixpath
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from clarify_engine import _warnings
from clarify_engine.data._sources import is_url, open_binary, resolve_location, scan_files
from clarify_engine.errors import ConfigError, DataError

__all__ = ["IMAGE_EXTENSIONS", "ImageFile", "ImageReadError", "decode_image", "files_of", "image_files",
           "load_image_dataset", "read_images"]

log = logging.getLogger(__name__)

#: File name endings read as images (compared lower-cased).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class ImageFile:
    """One image of the dataset.

    Attributes
    ----------
    name : str
        Its path relative to the dataset location (``sub/a.jpg``), as outputs name it.
    location : str
        Where it is read from (a local path or a URL).
    """

    name: str
    location: str

    @property
    def stem(self) -> str:
        """The file name without folder and extension (``a`` for ``sub/a.jpg``)."""
        base = posixpath.basename(self.name)
        return base.rsplit(".", 1)[0] if "." in base else base


@dataclass(frozen=True)
class ImageReadError:
    """An image that could not be read, and why (the job goes on with the others)."""

    name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"image": self.name, "reason": self.reason}


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _relative(path: str, root: str) -> str:
    """``path`` relative to the folder ``root`` (both local paths or both URLs), with ``/``."""
    root = root.rstrip("/")
    if path == root:
        return posixpath.basename(path)
    return path[len(root):].lstrip("/").replace("\\", "/")


def _manifest_entries(location: str, storage_options: dict | None) -> list[ImageFile] | None:
    """The images a manifest file lists, or None when ``location`` is not a manifest."""
    with open_binary(location, storage_options) as stream:
        head = stream.read(1)
        if head != b"[":
            if location.lower().endswith(".manifest"):
                raise DataError(f"Manifest {location}: expected a JSON list [{{\"prefix\": \"s3://bucket/path/\"}}, "
                                f"\"image.jpg\", ...]; the file does not start with '['.")
            return None
        text = head + stream.read()
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise DataError(f"Manifest {location}: not valid JSON ({exc}); expected "
                        "[{\"prefix\": \"s3://bucket/path/\"}, \"image.jpg\", ...].") from exc
    if not entries or not isinstance(entries[0], dict) or not isinstance(entries[0].get("prefix"), str):
        raise DataError(f"Manifest {location}: the first entry must be {{\"prefix\": \"s3://bucket/path/\"}}; "
                        f"found {str(entries[:1])[:200]}.")
    prefix = entries[0]["prefix"]
    base = prefix if is_url(prefix) else resolve_location(prefix, posixpath.dirname(location) or None)
    files = []
    for k, entry in enumerate(entries[1:], start=1):
        if not isinstance(entry, str) or not entry:
            raise DataError(f"Manifest {location}: entry {k} must be an image path relative to the prefix; "
                            f"found {entry!r}.")
        files.append(ImageFile(entry, base.rstrip("/") + "/" + entry.lstrip("/")))
    return files


def image_files(location: str, storage_options: dict | None = None) -> list[ImageFile]:
    """The images a dataset location stands for, in the order they are explained.

    Parameters
    ----------
    location : str
        A folder, an ``s3://`` prefix, an image file or a manifest file.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    list of ImageFile

    Raises
    ------
    DataError
        The location does not exist, is a malformed manifest, or holds no image.
    """
    files, _ = scan_files(location, storage_options)
    if len(files) == 1 and files[0].rstrip("/") == location.rstrip("/") and not _is_image(location):
        listed = _manifest_entries(location, storage_options)
        if listed is not None:
            kept = [f for f in listed if _is_image(f.name)]
            _warn_skipped([f.name for f in listed if not _is_image(f.name)], location)
            if not kept:
                raise DataError(f"Manifest {location} lists no .jpg, .jpeg or .png image; list image files in it.")
            return kept
    root = location if len(files) > 1 or files[0].rstrip("/") != location.rstrip("/") else posixpath.dirname(location)
    found = [ImageFile(_relative(f, root), f) for f in files]
    kept = sorted((f for f in found if _is_image(f.name)), key=lambda f: f.name)
    _warn_skipped([f.name for f in found if not _is_image(f.name)], location)
    if not kept:
        raise DataError(f"Dataset location {location} holds no .jpg, .jpeg or .png image; put the images "
                        "there (other files are skipped).")
    return kept


def _warn_skipped(names: Sequence[str], location: str) -> None:
    if not names:
        return
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    _warnings.warn("image_files_skipped",
                   f"{len(names)} file(s) under {location} are not .jpg, .jpeg or .png images and were "
                   f"skipped: {shown}",
                   fix="keep only images in the dataset location, or ignore this warning",
                   where="dataset")


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Decode image bytes into an RGB ``uint8`` array (H, W, 3).

    Raises
    ------
    DataError
        The bytes are not a complete image Pillow can read (the message names ``name``).
    """
    from PIL import Image, ImageFile, UnidentifiedImageError

    # WeasyPrint (the report's PDF renderer) sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on
    # import, after which a truncated file decodes silently with made-up pixels: refuse them here.
    lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # decodes every pixel: a truncated file fails here
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                img = img.convert("RGBA").convert("RGB")
            else:
                img = img.convert("RGB")
            array = np.asarray(img, dtype=np.uint8)
    except UnidentifiedImageError as exc:  # its text names a BytesIO object: say what it means
        raise DataError(f"Image {name} cannot be decoded (not an image format Pillow identifies); replace or "
                        "remove the file.") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"Image {name} cannot be decoded ({exc}); replace or remove the file.") from exc
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    if array.ndim != 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(f"Image {name} has no pixels (shape {array.shape}); replace or remove the file.")
    return np.ascontiguousarray(array)


def read_images(files: Sequence[ImageFile], storage_options: dict | None = None,
                ) -> Iterator[tuple[ImageFile, np.ndarray | ImageReadError]]:
    """Each image as an RGB array, one at a time, or the reason it could not be read.

    Yields
    ------
    (ImageFile, ndarray (H, W, 3) uint8 or ImageReadError)
        A file that cannot be opened or decoded gives an :class:`ImageReadError` (also logged
        as a warning naming it); the following files are still read.
    """
    for f in files:
        try:
            with open_binary(f.location, storage_options) as stream:
                data = stream.read()
            yield f, decode_image(data, f.name)
        except DataError as exc:
            _warnings.warn("image_unreadable", str(exc), fix="the other images are still explained", where=f.name)
            yield f, ImageReadError(f.name, str(exc))


def load_image_dataset(dataset_uri: str | None, source=None, *, base_dir=None, storage_options: dict | None = None):
    """An image dataset as a :class:`~clarify_engine.data.Dataset`: one row per image.

    The frame has the columns ``image`` (the name relative to the location) and ``location``;
    there are no model-input features (the images are read one at a time by the job).

    Raises
    ------
    ConfigError
        No location (no ``source`` and no ``dataset_uri``).
    DataError
        See :func:`image_files`.
    """
    import pandas as pd

    from clarify_engine.data._dataset import Dataset

    if source is not None:
        if not isinstance(source, (str, os.PathLike)):
            raise DataError(f"Cannot load an image dataset from {type(source).__name__}; expected the path or URL of "
                            "a folder, prefix or manifest of images.")
        location = os.fspath(source)
    elif dataset_uri is not None:
        location = resolve_location(dataset_uri, base_dir)
    else:
        raise ConfigError("dataset_uri", "expected a folder, s3:// prefix or manifest of images, found none "
                                         "(no dataset passed and no dataset_uri)")
    with _warnings.collect() as found:
        files = image_files(str(location), storage_options)
    frame = pd.DataFrame({"image": [f.name for f in files], "location": [f.location for f in files]})
    log.info("Image dataset %s: %d images", location, len(files))
    return Dataset(frame=frame, source_files=[f.location for f in files],
                   read_report={"dataset": {"images": len(files), "location": str(location)}}, warnings=tuple(found))


def files_of(frame) -> list[ImageFile]:
    """The images of a dataset frame made by :func:`load_image_dataset`, in order."""
    return [ImageFile(name, location) for name, location in zip(frame["image"], frame["location"])]
