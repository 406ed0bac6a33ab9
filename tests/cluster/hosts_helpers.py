"""Host processes of a multi-host job on loopback: each its own layout and resourceconfig.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from clarify_engine.client._local_hosts import free_port, host_names, write_resource_config

__all__ = ["finish", "free_port", "host_env", "host_names", "kill_group", "layout", "start_host"]


def layout(root: Path, host: str, hosts: list[str], config: dict | str, data: dict[str, Path]) -> Path:
    """A processing layout for ``host`` under ``root`` (config, data, resourceconfig.json)."""
    config_dir = root / "opt/ml/processing/input/config"
    data_dir = root / "opt/ml/processing/input/data"
    config_dir.mkdir(parents=True)
    data_dir.mkdir(parents=True)
    (config_dir / "analysis_config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    for name, source in data.items():
        shutil.copy(source, data_dir / name)
    write_resource_config(root, host, hosts)
    return root


def host_env(hosts: list[str], port: int, join_seconds: float = 120, extra: dict | None = None) -> dict:
    return {**os.environ, "CLARIFY_HOST_ADDRESSES": json.dumps({h: "127.0.0.1" for h in hosts}),
            "CLARIFY_SCHEDULER_PORT": str(port), "CLARIFY_HOSTS_JOIN_SECONDS": str(join_seconds),
            **(extra or {})}


def start_host(root: Path, env: dict) -> subprocess.Popen:
    """``clarify-engine container`` over ``root``, output (stdout and stderr) to ``root/host.log``."""
    log = open(root / "host.log", "w")  # noqa: SIM115 - closed by finish()
    return subprocess.Popen([sys.executable, "-m", "clarify_engine.cli", "container"],
                            env={**env, "CLARIFY_PROCESSING_ROOT": str(root)}, stdout=log,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def finish(proc: subprocess.Popen, root: Path, timeout: float = 240) -> tuple[int, str, str]:
    """Wait for the host; its exit code, its log, and its message file ('' when none)."""
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        raise AssertionError(f"host {root.name} did not end within {timeout} s:\n" + (root / "host.log").read_text())
    message = root / "opt/ml/output/message"
    return code, (root / "host.log").read_text(), message.read_text() if message.exists() else ""


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the host and what it started (its dask worker), as a lost instance."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait()
