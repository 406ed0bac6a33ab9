"""Which host this is, and which host leads: ``/opt/ml/config/resourceconfig.json``.

SageMaker writes ``{"current_host": "algo-2", "hosts": ["algo-1", "algo-2", ...]}`` on every
instance of a processing job (the SDK's local mode adds ``network_interface_name`` and
``current_instance_type``, ignored here). The leader is ``sorted(hosts)[0]``, as AWS's Spark
processing image picks its primary; host names are the file's, never ``/etc/hostname``.

Notes
-----
Platform contract: the BYOC processing page ("How Amazon SageMaker Processing Configures Input
and Output For Your Processing Container") and ``smspark/bootstrapper.py`` of
aws/sagemaker-spark-container.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from clarify_engine.errors import ClarifyError

__all__ = ["HostRoles", "HostsError", "read_roles"]

log = logging.getLogger(__name__)


class HostsError(ClarifyError):
    """A multi-host job cannot form its cluster, or lost its leader; the message names the host."""


@dataclass(frozen=True)
class HostRoles:
    """This host's name and every host of the job, in the file's order."""

    current_host: str
    hosts: tuple[str, ...]

    @property
    def leader(self) -> str:
        """``sorted(hosts)[0]``: runs the scheduler, a worker and the job, and writes the outputs."""
        return sorted(self.hosts)[0]

    @property
    def is_leader(self) -> bool:
        return self.current_host == self.leader

    @property
    def multi_host(self) -> bool:
        return len(self.hosts) > 1

    def log_roles(self) -> None:
        """The three lines Clarify's container logs about its host (same wording)."""
        log.info("This host is %s.", self.current_host)
        if self.is_leader:
            log.info("This host is the leader.")
        else:
            log.info("This host is a worker; the leader is %s.", self.leader)
        log.info("Number of hosts in the cluster is %d.", len(self.hosts))


def read_roles(path: Path) -> HostRoles | None:
    """The roles in ``path``, or None when the file does not exist (one host, as before).

    Raises
    ------
    HostsError
        The file is not JSON, lacks ``current_host`` or ``hosts``, names a host twice, or
        ``current_host`` is not among ``hosts``; the message names the file and the field.
    """
    if not path.is_file():
        return None
    where = f"{path}"
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HostsError(f"{where}: cannot read it as JSON ({exc}); it must be an object like "
                         '{"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]}') from None
    if not isinstance(content, dict):
        raise HostsError(f"{where}: expected a JSON object with current_host and hosts, got {type(content).__name__}")
    current = content.get("current_host")
    hosts = content.get("hosts")
    if not isinstance(current, str) or not current:
        raise HostsError(f"{where}: current_host must be a host name such as \"algo-1\", got {current!r}")
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) and h for h in hosts):
        raise HostsError(f"{where}: hosts must be a non-empty list of host names such as [\"algo-1\", \"algo-2\"], "
                         f"got {hosts!r}")
    repeated = sorted({h for h in hosts if hosts.count(h) > 1})
    if repeated:
        raise HostsError(f"{where}: hosts names {', '.join(repeated)} more than once; each host must appear once")
    if current not in hosts:
        raise HostsError(f"{where}: current_host {current!r} is not among hosts {hosts}; the file must name this "
                         "host in both fields")
    return HostRoles(current, tuple(hosts))
