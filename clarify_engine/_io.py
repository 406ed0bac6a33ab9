"""Atomic file writes: a reader sees the old file or the whole new one, never half of it.

Notes
-----
The temporary file is created next to the target with ``O_CREAT | O_EXCL`` (and
``O_NOFOLLOW``) under a random name, so a file or symlink planted at a predictable name such
as ``analysis.json.tmp`` can neither receive the data nor redirect it; the data is flushed
and fsync'ed before ``os.replace`` renames it over the target. A failed write removes its
temporary file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["atomic_write"]

#: Attempts at a free random temporary name before giving up (a clash is already 1 in 2**64).
_ATTEMPTS = 16


def atomic_write(path: str | os.PathLike, data: str | bytes, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    path : str or path-like
        The target file; its folder must exist.
    data : str or bytes
        Text is encoded as UTF-8.
    mode : int, default 0o644
        Permission bits of a newly created temporary file (the umask applies).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileExistsError
        No free temporary name was found (only if the folder is flooded with our names).
    OSError
        The folder is missing or not writable, or the disk is full; the target is unchanged.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_ATTEMPTS):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, flags, mode)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"could not create a temporary file next to {str(target)!r} after {_ATTEMPTS} tries; "
                              "remove the stale '.*.tmp' files in that folder")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target
