"""A local job's private ``/opt/ml``: whether this machine can give one, and the command that does.

Processing scripts read and write ``/opt/ml/processing/...``. A local job must see its own
layout there and must never touch the host's ``/opt/ml``. :mod:`._mountns` (run as a
separate, single-threaded interpreter by file path) makes a Linux mount namespace in which a
tmpfs covers ``/opt`` (the host's other ``/opt`` entries bound back in) and the job's layout is
bound to ``/opt/ml``, then ``exec``\\ s the job's command.

Notes
-----
:func:`probe` runs the helper once with ``--probe`` (the same namespace and mounts over an
empty folder) and answers ``None`` (possible) or the helper's reason. Where it is not
possible, the clarify-engine entrypoint still runs (it reads its layout from
``CLARIFY_PROCESSING_ROOT`` and never opens ``/opt/ml``); any other command is refused
with :class:`IsolationUnavailable`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HELPER = Path(__file__).with_name("_mountns.py")
#: Exit code of the helper when the namespace cannot be made (mirrors ``_mountns.EXIT_REFUSED``).
EXIT_REFUSED = 125


class IsolationUnavailable(RuntimeError):
    """A job's command needs a private ``/opt/ml`` and this machine cannot give one."""


def probe(timeout: float = 60.0) -> str | None:
    """``None`` if a job can get a private ``/opt/ml`` here, else the reason it cannot."""
    try:
        done = subprocess.run([sys.executable, "-I", str(HELPER), "--probe"], capture_output=True, text=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot give the job a private /opt/ml: the namespace probe did not run ({exc})"
    if done.returncode == 0:
        return None
    return (done.stderr.strip() or done.stdout.strip()
            or f"cannot give the job a private /opt/ml: the namespace probe exited with code {done.returncode}")


def wrap(command: list[str], opt_ml: Path, message_file: Path, cwd: Path) -> list[str]:
    """``command`` run with ``opt_ml`` as its ``/opt/ml`` (same pid after the helper's ``exec``)."""
    return [sys.executable, "-I", str(HELPER), "--opt-ml", str(opt_ml), "--message", str(message_file),
            "--cwd", str(cwd), "--", *command]
