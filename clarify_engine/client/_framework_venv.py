"""The virtual environment a local ``FrameworkProcessor`` job runs in, cached by its requirements.

A framework image brings its framework and lets ``runproc.sh`` ``pip install -r requirements.txt``
on top. Locally the job gets a venv of its own: made with this Python, seeing this environment's
packages (a ``.pth`` file adds its site folders, so the job has what the client has, as the
image has its framework) and holding the bundle's ``requirements.txt`` installed from the
package index. The venv is kept under ``CLARIFY_ENGINE_VENV_CACHE`` (default
``~/.cache/clarify-engine/framework-venvs``) in a folder named by the hash of the interpreter and
the requirements, so the next job with the same requirements starts at once; ``runproc.sh``'s own
``pip install`` then finds everything installed. Nothing is installed into this environment.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path
from typing import Callable

CACHE_ENV = "CLARIFY_ENGINE_VENV_CACHE"
#: The command of a FrameworkProcessor job; a local job with it gets a venv.
FRAMEWORK_ENTRYPOINT = ["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"]
#: Where the job's bundle lands (the ``code`` input).
BUNDLE_PATH = "/opt/ml/processing/input/code/sourcedir.tar.gz"
READY = ".clarify-engine-ready"


def cache_root() -> Path:
    """Where the venvs are kept."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "clarify-engine" / "framework-venvs"


def requirements_of(bundle: Path) -> bytes:
    """The top-level ``requirements.txt`` of a ``sourcedir.tar.gz`` (empty when it has none)."""
    with tarfile.open(bundle, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.lstrip("./") == "requirements.txt":
                extracted = tar.extractfile(member)
                return extracted.read() if extracted is not None else b""
    return b""


def venv_key(requirements: bytes) -> str:
    """The cache key: this interpreter, its version and the requirements' bytes."""
    digest = hashlib.sha256()
    for part in (sys.executable.encode(), sys.version.encode(), b"\0", requirements):
        digest.update(part)
    return digest.hexdigest()[:20]


def _parent_site_dirs() -> list[str]:
    dirs = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    dirs += [p for p in (site.getusersitepackages(),) if isinstance(p, str) and os.path.isdir(p)]
    return list(dict.fromkeys(dirs))


def _run(command: list[str], log: Callable[[str], None]) -> None:
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    for line in proc.stdout.splitlines():
        log(line)
    if proc.returncode != 0:
        tail = " | ".join(proc.stdout.strip().splitlines()[-3:])
        raise RuntimeError(f"{' '.join(command[:4])} ... exited with code {proc.returncode}: {tail}")


def prepare(bundle: Path, log: Callable[[str], None]) -> Path:
    """The ``bin`` folder of the venv for ``bundle``'s requirements (made and filled when not cached).

    Raises
    ------
    RuntimeError
        The venv could not be made or ``pip install -r requirements.txt`` failed; the message
        has pip's last lines (e.g. the requirement no index has).
    """
    requirements = requirements_of(bundle)
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    folder = root / venv_key(requirements)
    with open(root / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / READY).exists():
            log(f"Framework venv: reusing {folder} (same interpreter and requirements.txt)")
            return folder / "bin"
        if folder.exists():
            shutil.rmtree(folder)  # an earlier attempt died half-way
        log(f"Framework venv: creating {folder}")
        _run([sys.executable, "-m", "venv", str(folder)], log)
        purelib = subprocess.run([str(folder / "bin" / "python"), "-c",
                                  "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        lines = [f"import site; site.addsitedir({d!r})" for d in _parent_site_dirs()]
        Path(purelib, "_clarify_engine_parent.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if requirements.strip():
            req_file = folder / "requirements.txt"
            req_file.write_bytes(requirements)
            log("Framework venv: installing requirements.txt")
            _run([str(folder / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                  "-r", str(req_file)], log)
        (folder / READY).write_text(io.StringIO(requirements.decode("utf-8", "replace")).getvalue(), encoding="utf-8")
        return folder / "bin"
