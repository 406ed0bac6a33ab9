"""The hosts of a local job with ``InstanceCount > 1``: one process per host on loopback.

SageMaker runs the job's container on every instance, each with its own
``/opt/ml/config/resourceconfig.json`` (``current_host``, ``hosts``) and a full copy of the
``FullyReplicated`` inputs, and uploads every instance's output folders to the same
destination. A local job does the same on this machine: host ``algo-1`` uses the job's layout
(``<job>/root``), host ``algo-<i>`` a layout of its own (``<job>/hosts/algo-<i>/root``) with
the inputs linked (hard links, else copies) from ``algo-1``'s, and the engine's hosts find
each other on 127.0.0.1 (``CLARIFY_HOST_ADDRESSES``) at a free scheduler port
(``CLARIFY_SCHEDULER_PORT``), unless the job's ``Environment`` sets them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

from clarify_engine._io import atomic_write

__all__ = ["free_port", "host_env", "host_names", "host_root", "replicate_layout", "write_resource_config"]

INPUTS = "opt/ml/processing/input"


def host_names(count: int) -> list[str]:
    """``algo-1`` ... ``algo-<count>``, SageMaker's names for a job's instances."""
    return [f"algo-{i}" for i in range(1, count + 1)]


def host_root(job_folder: Path, host: str) -> Path:
    """Where ``host``'s layout lives: the job's own ``root`` for ``algo-1``."""
    return job_folder / "root" if host == "algo-1" else job_folder / "hosts" / host / "root"


def write_resource_config(root: Path, host: str, hosts: list[str]) -> None:
    """``opt/ml/config/resourceconfig.json`` of ``host``, as SageMaker writes it."""
    folder = root / "opt/ml/config"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "resourceconfig.json",
                 json.dumps({"current_host": host, "hosts": hosts, "network_interface_name": "eth0"}))


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def replicate_layout(leader_root: Path, root: Path, host: str, hosts: list[str], folders: list[Path]) -> None:
    """Give ``host`` the leader's inputs and config files, and empty ``folders`` (outputs, message)."""
    inputs = leader_root / INPUTS
    if inputs.is_dir():
        shutil.copytree(inputs, root / INPUTS, copy_function=_link_or_copy, symlinks=True)
    (root / "opt/ml/config").mkdir(parents=True, exist_ok=True)
    shutil.copy2(leader_root / "opt/ml/config/processingjobconfig.json", root / "opt/ml/config")
    write_resource_config(root, host, hosts)
    for folder in folders:
        (root / folder.relative_to(leader_root)).mkdir(parents=True, exist_ok=True)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process may take it before it is used)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def host_env(hosts: list[str], environment: dict) -> dict[str, str]:
    """Loopback addresses and a free scheduler port, for what ``environment`` does not set."""
    found = {}
    if "CLARIFY_HOST_ADDRESSES" not in environment:
        found["CLARIFY_HOST_ADDRESSES"] = json.dumps({h: "127.0.0.1" for h in hosts})
    if "CLARIFY_SCHEDULER_PORT" not in environment:
        found["CLARIFY_SCHEDULER_PORT"] = str(free_port())
    return found
