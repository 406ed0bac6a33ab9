"""A multi-host processing job as one ``dask.distributed`` cluster.

The leader (``sorted(hosts)[0]``, :mod:`._roles`) starts a ``distributed.Scheduler`` and one
``distributed.Nanny`` worker named after itself (a ``distributed.SpecCluster``), waits for every
other host's worker (``Client.wait_for_workers``), runs the job with the ``Client`` and publishes
the outcome in a ``distributed.Variable``. Every other host starts a ``Nanny`` named after
itself that joins the leader's scheduler, then waits for that outcome: it exits 0 when the
job completed, non-zero when the job failed or the leader went away. No transport of ours:
dask's TCP comms carry everything.

Settings come from the environment (all optional):

- :data:`ADDRESSES_ENV` (``CLARIFY_HOST_ADDRESSES``): a JSON object from host name to address,
  for loopback tests and local sessions; without it host names are resolved by DNS, retried for
  :data:`RESOLVE_ENV` seconds (SageMaker: "hostname information might not be immediately
  available").
- :data:`PORT_ENV` (``CLARIFY_SCHEDULER_PORT``): the scheduler's port on the leader, default
  :data:`DEFAULT_PORT` (dask's own default).
- :data:`JOIN_ENV` (``CLARIFY_HOSTS_JOIN_SECONDS``): how long the leader waits for all hosts,
  and a worker for the leader's scheduler, default :data:`DEFAULT_JOIN_SECONDS` (the bound
  AWS's Spark image uses).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from clarify_engine import _stop
from clarify_engine.cluster._roles import HostRoles, HostsError
from clarify_engine.errors import ClarifyError

__all__ = ["HostSettings", "resolve_host", "run_leader", "run_worker"]

log = logging.getLogger(__name__)

ADDRESSES_ENV = "CLARIFY_HOST_ADDRESSES"
PORT_ENV = "CLARIFY_SCHEDULER_PORT"
JOIN_ENV = "CLARIFY_HOSTS_JOIN_SECONDS"
RESOLVE_ENV = "CLARIFY_HOST_RESOLVE_SECONDS"
DEFAULT_PORT = 8786
DEFAULT_JOIN_SECONDS = 600.0
DEFAULT_RESOLVE_SECONDS = 60.0
#: Name of the ``distributed.Variable`` holding the job's outcome, set by the leader.
OUTCOME = "clarify-engine-outcome"
#: A worker asks the leader for the outcome this often (seconds) ...
POLL_SECONDS = 2.0
#: ... and counts the leader as gone when one such question stays unanswered this much longer.
LEADER_SILENCE_SECONDS = 60.0
#: How long the leader waits, after publishing the outcome, for the workers to read it and leave.
LEAVE_SECONDS = 30.0


@dataclass(frozen=True)
class HostSettings:
    """Addresses, port and time bounds of a multi-host job (see the module notes)."""

    addresses: Mapping[str, str] | None = None
    port: int = DEFAULT_PORT
    join_seconds: float = DEFAULT_JOIN_SECONDS
    resolve_seconds: float = DEFAULT_RESOLVE_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "HostSettings":
        """Read the settings from ``environ`` (default ``os.environ``).

        Raises
        ------
        HostsError
            A variable that does not parse; the message names it and the expected form.
        """
        env = os.environ if environ is None else environ
        addresses = None
        if env.get(ADDRESSES_ENV):
            try:
                addresses = json.loads(env[ADDRESSES_ENV])
            except ValueError as exc:
                raise HostsError(f"{ADDRESSES_ENV} is not JSON ({exc}); give an object like "
                                 '{"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}') from None
            if not isinstance(addresses, dict) or not all(isinstance(v, str) for v in addresses.values()):
                raise HostsError(f"{ADDRESSES_ENV} must be a JSON object from host name to address, like "
                                 '{"algo-1": "127.0.0.1"}; got ' + env[ADDRESSES_ENV])
        port = _number(env, PORT_ENV, DEFAULT_PORT, int)
        if not 0 < port < 65536:
            raise HostsError(f"{PORT_ENV}={port} is not a TCP port; give a number from 1 to 65535")
        return cls(addresses, port, _number(env, JOIN_ENV, DEFAULT_JOIN_SECONDS, float),
                   _number(env, RESOLVE_ENV, DEFAULT_RESOLVE_SECONDS, float))


def _number(env: Mapping[str, str], name: str, default: Any, kind: type) -> Any:
    text = env.get(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise HostsError(f"{name}={text!r} is not a {'whole ' if kind is int else ''}number; "
                         f"unset it for the default {default}") from None
    if value < 0:
        raise HostsError(f"{name}={text!r} is negative; give a positive number or unset it for the default {default}")
    return value


def resolve_host(host: str, settings: HostSettings) -> str:
    """The address of ``host``: from :data:`ADDRESSES_ENV` when set, else DNS, retried.

    Raises
    ------
    HostsError
        The mapping has no entry for ``host``, or DNS did not answer within the bound.
    """
    if settings.addresses is not None:
        try:
            return settings.addresses[host]
        except KeyError:
            raise HostsError(f"{ADDRESSES_ENV} has no address for host {host!r} (it names "
                             f"{', '.join(sorted(settings.addresses)) or 'none'}); add \"{host}\": \"<address>\"") from None
    deadline = time.monotonic() + settings.resolve_seconds
    while True:
        try:
            return socket.gethostbyname(host)
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise HostsError(f"cannot resolve host {host!r} within {settings.resolve_seconds:g} s ({exc}); on "
                                 "SageMaker the instances find each other by these names; elsewhere set "
                                 f"{ADDRESSES_ENV} (or {RESOLVE_ENV} to wait longer)") from None
            log.info("Host %s does not resolve yet (%s); retrying", host, exc)
            _stop.sleep(1.0)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ClarifyError):
        return str(exc)
    if isinstance(exc, _stop.JobStopped):
        return _stop.STOP_MESSAGE
    return f"{type(exc).__name__}: {exc}"


def run_leader(roles: HostRoles, settings: HostSettings, job: Callable[[Any], None],
               describe: Callable[[BaseException], str] = _reason) -> None:
    """Start the scheduler and this host's worker, wait for every host, run ``job(client)``.

    The outcome (completed, or failed with ``describe(exception)`` as the reason) is published
    to the workers before the cluster closes; the exception of a failed job is raised again here.

    Raises
    ------
    HostsError
        The scheduler cannot start, or a host did not join within ``settings.join_seconds``
        (the message names the missing hosts).
    """
    from distributed import Client, Nanny, Scheduler, SpecCluster, Variable

    address = resolve_host(roles.leader, settings)
    scheduler = {"cls": Scheduler, "options": {"host": address, "port": settings.port, "dashboard": False,
                                                "dashboard_address": f"{address}:0"}}
    workers = {roles.leader: {"cls": Nanny, "options": {"name": roles.leader, "host": address, "dashboard": False}}}
    # A cluster that fails to start stays registered with dask, whose exit handler then spends
    # most of a minute closing it: a port already taken is found before dask is asked.
    try:
        _check_port(address, settings.port)
        cluster = SpecCluster(scheduler=scheduler, workers=workers)
    except (OSError, RuntimeError) as exc:
        raise HostsError(f"the leader {roles.leader} cannot start the Dask scheduler on {address}:{settings.port} "
                         f"({exc}); free that port or choose another with {PORT_ENV} on every host") from None
    with cluster, Client(cluster) as client:
        outcome = Variable(OUTCOME, client=client)
        log.info("Dask scheduler at %s; waiting up to %g s for %d hosts", cluster.scheduler_address,
                 settings.join_seconds, len(roles.hosts))
        try:
            _wait_for_hosts(client, roles, settings, cluster.scheduler_address)
            job(client)
        except BaseException as exc:
            _publish(outcome, {"status": "failed", "reason": describe(exc)})
            raise
        else:
            _publish(outcome, {"status": "completed"})
        finally:
            _wait_for_leave(client, roles)


def _check_port(address: str, port: int) -> None:
    """Raise ``OSError`` when ``address:port`` cannot be listened on (bound as tornado binds it)."""
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((address, port))


def _joined(client) -> list[str]:
    return sorted(str(w.get("name")) for w in client.scheduler_info(n_workers=-1)["workers"].values())


def _wait_for_hosts(client, roles: HostRoles, settings: HostSettings, address: str) -> None:
    try:
        client.wait_for_workers(len(roles.hosts), timeout=settings.join_seconds)
    except TimeoutError:
        joined = _joined(client)
        missing = [h for h in sorted(roles.hosts) if h not in joined]
        raise HostsError(
            f"Host{'s' if len(missing) > 1 else ''} {', '.join(missing)} did not join the cluster within "
            f"{settings.join_seconds:g} s (leader {roles.leader}, scheduler {address}; joined: "
            f"{', '.join(joined) or 'none'}). Check that every host can reach {address} (in a VPC the "
            f"security group needs self-ingress) and that the host started, or raise {JOIN_ENV}") from None
    log.info("All %d hosts joined: %s", len(roles.hosts), ", ".join(_joined(client)))


def _publish(outcome, value: dict) -> None:
    try:
        outcome.set(value)
    except Exception as exc:  # noqa: BLE001 - the workers then see the leader go away, and fail
        log.warning("Could not tell the workers the job's outcome (%s); they will report the leader as gone", exc)


def _wait_for_leave(client, roles: HostRoles) -> None:
    """Give the workers :data:`LEAVE_SECONDS` to read the outcome and close, before the scheduler goes."""
    deadline = time.monotonic() + LEAVE_SECONDS
    try:
        while time.monotonic() < deadline and any(h != roles.leader for h in _joined(client)):
            time.sleep(0.2)
    except Exception as exc:  # noqa: BLE001 - closing anyway; a worker still there reports the leader gone
        log.warning("Could not follow the workers leaving (%s)", exc)


def run_worker(roles: HostRoles, settings: HostSettings) -> None:
    """Join the leader's scheduler with a worker named after this host; return once the job completed.

    Raises
    ------
    HostsError
        The leader's scheduler was not reachable within ``settings.join_seconds``, the leader
        went away before publishing the outcome, or it reported the job failed.
    JobStopped
        SIGTERM arrived while waiting.
    """
    scheduler = f"tcp://{resolve_host(roles.leader, settings)}:{settings.port}"
    own = resolve_host(roles.current_host, settings)
    outcome = asyncio.run(_serve(roles, settings, scheduler, own))
    if outcome.get("status") != "completed":
        raise HostsError(f"The job failed on the leader {roles.leader}; this host ({roles.current_host}) wrote "
                         "nothing. The leader's message says why: " + str(outcome.get("reason", "no reason given")))
    log.info("The leader %s reports the job completed", roles.leader)


async def _serve(roles: HostRoles, settings: HostSettings, scheduler: str, own: str) -> dict:
    from distributed import Client, Nanny, Variable

    try:
        nanny = await Nanny(scheduler, name=roles.current_host, host=own, dashboard=False,
                            death_timeout=settings.join_seconds)
    except (OSError, RuntimeError, TimeoutError) as exc:
        raise HostsError(f"This host ({roles.current_host}) could not join the leader {roles.leader} at {scheduler} "
                         f"within {settings.join_seconds:g} s ({exc}): the leader failed before its scheduler "
                         "started (see its log) or this host cannot reach it (ports, security groups)") from None
    log.info("Worker %s joined the scheduler %s; waiting for the job's outcome", roles.current_host, scheduler)
    async with nanny:
        try:
            async with Client(scheduler, asynchronous=True) as client:
                variable = Variable(OUTCOME, client=client)
                while True:
                    _stop.check()
                    asked = time.monotonic()
                    try:
                        return await asyncio.wait_for(variable.get(timeout=POLL_SECONDS),
                                                      POLL_SECONDS + LEADER_SILENCE_SECONDS)
                    except TimeoutError:
                        if time.monotonic() - asked < POLL_SECONDS + LEADER_SILENCE_SECONDS:
                            continue  # no outcome yet
                        raise OSError(f"no answer for {LEADER_SILENCE_SECONDS:g} s") from None
        except OSError as exc:
            raise HostsError(f"The leader {roles.leader} ({scheduler}) went away before the job completed ({exc}); "
                             f"this host ({roles.current_host}) wrote nothing. The leader's log and message say why "
                             "(a stopped, failed or lost instance)") from None
