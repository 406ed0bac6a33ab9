"""Locate and open dataset files: local paths, folders, ``s3://`` and other fsspec URLs.

A dataset location is a single file or a folder (an S3 prefix lands as a folder in a
processing job). A folder stands for every data file below it, recursively, in path
order, symbolic links to files and folders followed (a link back to a folder already
being read is skipped); hidden entries and Spark/Hadoop markers (any path component
starting with ``.`` or ``_``, e.g. ``_SUCCESS``, ``.part-0.crc``) are skipped. Every
skipped entry is listed with its reason (:func:`scan_files`). Gzip-compressed files are
recognised by their magic bytes (whatever their name) and decompressed on the fly.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from clarify_engine.errors import DataError

__all__ = ["is_url", "list_files", "open_binary", "resolve_location", "scan_files"]

_GZIP_MAGIC = b"\x1f\x8b"


def is_url(location: str) -> bool:
    """Return True for ``scheme://...`` locations (``s3://``, ``file://``, ``memory://``...)."""
    return "://" in location


def resolve_location(location: str | os.PathLike, base_dir: str | os.PathLike | None) -> str:
    """Make ``location`` absolute against ``base_dir`` when it is a relative local path.

    Parameters
    ----------
    location : str or path-like
        A local path or a URL.
    base_dir : str or path-like, optional
        Folder (local path or URL) that relative paths are taken from.

    Returns
    -------
    str
        URLs and absolute paths unchanged; relative paths joined to ``base_dir``.
    """
    text = os.fspath(location)
    if is_url(text) or os.path.isabs(text) or base_dir is None:
        return text
    base = os.fspath(base_dir)
    if is_url(base):
        return base.rstrip("/") + "/" + text.lstrip("/")
    return os.path.join(base, text)


def _fs_and_path(location: str, storage_options: dict | None):
    import fsspec  # imported lazily: only remote locations need it

    try:
        return fsspec.core.url_to_fs(location, **(storage_options or {}))
    except ImportError as exc:
        raise DataError(
            f"Cannot read {location}: the filesystem for this URL is not installed ({exc}). "
            "For s3:// install s3fs (pip install 'clarify-engine[s3]')."
        ) from exc
    except ValueError as exc:
        raise DataError(f"Cannot read {location}: {exc} (expected a local path or an fsspec URL such as s3://).") from exc


def _skipped(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.replace("\\", "/").split("/") if part)


def list_files(location: str, storage_options: dict | None = None) -> list[str]:
    """The data files a location stands for, in the order they are read (see :func:`scan_files`)."""
    return scan_files(location, storage_options)[0]


_HIDDEN = "hidden or marker name (starts with '.' or '_')"


def _walk_local(root: Path, skipped: list[dict]) -> list[str]:
    """Files below ``root``, following symbolic links; entries left out go to ``skipped``."""
    found: list[str] = []
    seen = {os.path.realpath(root)}
    for folder, dirs, files in os.walk(root, followlinks=True):
        kept = []
        for d in sorted(dirs):
            path = os.path.join(folder, d)
            if _skipped(d):
                skipped.append({"file": path + "/", "reason": _HIDDEN})
                continue
            real = os.path.realpath(path)
            if real in seen:
                skipped.append({"file": path + "/", "reason": f"link to a folder already read ({real})"})
                continue
            seen.add(real)
            kept.append(d)
        dirs[:] = kept
        for f in sorted(files):
            path = os.path.join(folder, f)
            if _skipped(f):
                skipped.append({"file": path, "reason": _HIDDEN})
            else:
                found.append(path)
    return found


def scan_files(location: str, storage_options: dict | None = None) -> tuple[list[str], list[dict]]:
    """List the data files a location stands for, in the order they are read, and what was left out.

    Parameters
    ----------
    location : str
        A file, a folder, or a URL of either.
    storage_options : dict, optional
        Passed to fsspec for URLs (e.g. ``{"client_kwargs": {"endpoint_url": ...}}``).

    Returns
    -------
    files : list of str
        One entry for a file; for a folder every non-hidden file below it (symbolic links
        followed) sorted by path. URLs keep their scheme so :func:`open_binary` can open them.
    skipped : list of dict
        ``{"file", "reason"}`` for every entry below a folder that is not read (hidden or
        marker names, links back to a folder already read).

    Raises
    ------
    DataError
        The location does not exist, or it is a folder without data files.
    """
    skipped: list[dict] = []
    if not is_url(location):
        path = Path(location)
        if path.is_file():
            return [str(path)], skipped
        if not path.is_dir():
            raise DataError(f"Dataset location {location} does not exist (expected a file or a folder).")
        found = _walk_local(path, skipped)
        found.sort(key=lambda p: Path(p).relative_to(path).as_posix())
    else:
        fs, path = _fs_and_path(location, storage_options)
        protocol = location.split("://", 1)[0]
        try:
            if fs.isfile(path):
                return [location], skipped
            if not fs.isdir(path):
                raise DataError(f"Dataset location {location} does not exist (expected a file or a folder).")
            root = path.rstrip("/")
            found = []
            for name in sorted(fs.find(root)):
                relative = posixpath.relpath(name, root)
                if not _skipped(relative):
                    found.append(f"{protocol}://{name}")
                else:
                    skipped.append({"file": f"{protocol}://{name}", "reason": _HIDDEN})
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - any backend failure becomes a DataError
            raise DataError(f"Cannot list dataset location {location}: {exc}") from exc
    if not found:
        raise DataError(
            f"Dataset folder {location} holds no data files (hidden files and names starting with '_' are skipped)."
        )
    return found, skipped


@contextmanager
def open_binary(location: str, storage_options: dict | None = None, *, seekable: bool = True) -> Iterator[IO[bytes]]:
    """Open one file for binary reading, gunzipping it when it starts with the gzip magic.

    With ``seekable`` (the default) the returned stream is seekable, so readers may peek at
    the first record and rewind; a gzip file is then decompressed into memory once. Without
    it (the streaming readers, ``data/_stream.py``) a gzip file is decompressed as it is
    read, so memory stays bounded whatever the file's size.
    """
    try:
        if is_url(location):
            fs, path = _fs_and_path(location, storage_options)
            raw = fs.open(path, "rb")
        else:
            raw = open(location, "rb")
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"Cannot open dataset file {location}: {exc}") from exc
    try:
        head = raw.read(2)
        raw.seek(0)
        if head == _GZIP_MAGIC and not seekable:
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield _GzipErrors(unzipped, location)
        elif head == _GZIP_MAGIC:
            # Decompress once: gzip streams can only rewind by re-reading from the start.
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                    data = unzipped.read()
            except (OSError, EOFError) as exc:
                raise DataError(f"Cannot decompress gzip file {location}: {exc}") from exc
            yield io.BytesIO(data)
        else:
            yield raw
    finally:
        raw.close()


class _GzipErrors(io.RawIOBase):
    """A gzip stream whose decompression errors are :class:`DataError` naming the file."""

    def __init__(self, stream: gzip.GzipFile, location: str):
        self._stream, self._location = stream, location

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        try:
            return self._stream.readinto(buffer)
        except (OSError, EOFError) as exc:
            raise DataError(f"Cannot decompress gzip file {self._location}: {exc}") from exc
