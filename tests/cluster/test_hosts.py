"""Multi-host jobs: roles from resourceconfig.json, forming the cluster, exit codes and faults.

Every host is a real ``clarify-engine container`` process with its own layout and
``resourceconfig.json``, on 127.0.0.1 (``CLARIFY_HOST_ADDRESSES``), on a port of its own.
"""

from __future__ import annotations

import json

import pytest

from clarify_engine.cluster._hosts import HostSettings, resolve_host
from clarify_engine.cluster._roles import HostRoles, HostsError, read_roles
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA
from tests.cluster.hosts_helpers import finish, free_port, host_env, host_names, kill_group, layout, start_host


def _write(path, content) -> object:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_roles_come_from_resourceconfig_and_the_leader_is_the_first_sorted_host(tmp_path):
    roles = read_roles(_write(tmp_path / "r.json", {"current_host": "algo-2", "hosts": ["algo-3", "algo-2", "algo-1"],
                                                    "network_interface_name": "eth0"}))
    assert roles == HostRoles("algo-2", ("algo-3", "algo-2", "algo-1"))
    assert roles.leader == "algo-1" and not roles.is_leader and roles.multi_host
    assert read_roles(tmp_path / "absent.json") is None
    assert HostRoles("algo-1", ("algo-1",)).is_leader


@pytest.mark.parametrize("content, expected", [
    ("{not json", "cannot read it as JSON"),
    ({"hosts": ["algo-1"]}, "current_host must be a host name"),
    ({"current_host": "algo-1", "hosts": []}, "hosts must be a non-empty list of host names"),
    ({"current_host": "algo-1", "hosts": ["algo-1", "algo-1"]}, "hosts names algo-1 more than once"),
    ({"current_host": "algo-9", "hosts": ["algo-1", "algo-2"]}, "current_host 'algo-9' is not among hosts"),
])
def test_a_bad_resourceconfig_is_refused_naming_the_field(tmp_path, content, expected):
    path = _write(tmp_path / "resourceconfig.json", content)
    with pytest.raises(HostsError, match=expected) as info:
        read_roles(path)
    assert str(path) in str(info.value)


def test_settings_come_from_the_environment_and_bad_values_are_named():
    settings = HostSettings.from_env({"CLARIFY_HOST_ADDRESSES": '{"algo-1": "10.0.0.5"}',
                                      "CLARIFY_SCHEDULER_PORT": "9000", "CLARIFY_HOSTS_JOIN_SECONDS": "5"})
    assert settings == HostSettings({"algo-1": "10.0.0.5"}, 9000, 5.0)
    assert HostSettings.from_env({}) == HostSettings(None, 8786, 600.0, 60.0)
    with pytest.raises(HostsError, match="CLARIFY_HOST_ADDRESSES is not JSON"):
        HostSettings.from_env({"CLARIFY_HOST_ADDRESSES": "algo-1=1.2.3.4"})
    with pytest.raises(HostsError, match="CLARIFY_SCHEDULER_PORT='x' is not a whole number"):
        HostSettings.from_env({"CLARIFY_SCHEDULER_PORT": "x"})
    with pytest.raises(HostsError, match="CLARIFY_SCHEDULER_PORT=70000 is not a TCP port"):
        HostSettings.from_env({"CLARIFY_SCHEDULER_PORT": "70000"})
    with pytest.raises(HostsError, match="CLARIFY_HOSTS_JOIN_SECONDS='-1' is negative"):
        HostSettings.from_env({"CLARIFY_HOSTS_JOIN_SECONDS": "-1"})


def test_host_addresses_come_from_the_mapping_or_dns():
    assert resolve_host("algo-2", HostSettings({"algo-2": "127.0.0.2"})) == "127.0.0.2"
    with pytest.raises(HostsError, match="CLARIFY_HOST_ADDRESSES has no address for host 'algo-3'"):
        resolve_host("algo-3", HostSettings({"algo-2": "127.0.0.2"}))
    assert resolve_host("localhost", HostSettings()) in ("127.0.0.1", "127.0.1.1")
    with pytest.raises(HostsError, match=r"cannot resolve host 'algo-1.invalid' within 0 s"):
        resolve_host("algo-1.invalid", HostSettings(resolve_seconds=0))


def _config() -> dict:
    return json.loads(DEMO_CONFIG.read_text())


def test_a_host_that_never_joins_fails_the_leader_naming_it(tmp_path):
    hosts = host_names(3)
    env = host_env(hosts, free_port(), join_seconds=8)
    roots = {h: layout(tmp_path / h, h, hosts, _config(), {"loans.csv": DEMO_DATA}) for h in hosts}
    leader = start_host(roots["algo-1"], env)
    worker = start_host(roots["algo-2"], env)  # algo-3 never starts
    try:
        code, log, message = finish(leader, roots["algo-1"])
        assert code == 1, log
        assert message.startswith("Host algo-3 did not join the cluster within 8 s (leader algo-1, scheduler "
                                  "tcp://127.0.0.1:"), message
        assert "joined: algo-1, algo-2)" in message
        for line in ("This host is algo-1.", "This host is the leader.", "Number of hosts in the cluster is 3."):
            assert line in log
        code, log, message = finish(worker, roots["algo-2"])
        assert code == 1, log
        assert "This host is a worker; the leader is algo-1." in log
        assert message.startswith("The job failed on the leader algo-1; this host (algo-2) wrote nothing."), message
        assert "Host algo-3 did not join" in message
        assert not any((roots[h] / "opt/ml/processing/output").exists() and
                       any((roots[h] / "opt/ml/processing/output").iterdir()) for h in hosts)
    finally:
        kill_group(leader)
        kill_group(worker)


def test_a_worker_whose_leader_never_starts_fails_naming_the_leader(tmp_path):
    hosts = host_names(2)
    port = free_port()
    root = layout(tmp_path / "algo-2", "algo-2", hosts, _config(), {"loans.csv": DEMO_DATA})
    worker = start_host(root, host_env(hosts, port, join_seconds=3))
    try:
        code, log, message = finish(worker, root)
        assert code == 1, log
        assert message.startswith(f"This host (algo-2) could not join the leader algo-1 at tcp://127.0.0.1:{port} "
                                  "within 3 s"), message
    finally:
        kill_group(worker)


def test_a_job_that_fails_on_the_leader_fails_every_host_with_the_reason(tmp_path):
    hosts = host_names(2)
    config = {**_config(), "no_such_key": 1}
    env = host_env(hosts, free_port())
    roots = {h: layout(tmp_path / h, h, hosts, config, {"loans.csv": DEMO_DATA}) for h in hosts}
    procs = {h: start_host(roots[h], env) for h in hosts}
    try:
        code, log, message = finish(procs["algo-1"], roots["algo-1"])
        assert code == 1, log
        assert message.startswith("Analysis configuration schema validation error.") and "no_such_key" in message
        code, log, worker_message = finish(procs["algo-2"], roots["algo-2"])
        assert code == 1, log
        assert worker_message.startswith("The job failed on the leader algo-1; this host (algo-2) wrote nothing. "
                                         "The leader's message says why: Analysis configuration schema")
    finally:
        for proc in procs.values():
            kill_group(proc)


def test_a_scheduler_port_in_use_is_named_with_the_fix():
    import socket

    from clarify_engine.cluster._hosts import run_leader

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = HostSettings({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}, port, 5.0)
        with pytest.raises(HostsError, match=f"the leader algo-1 cannot start the Dask scheduler on 127.0.0.1:{port} "
                                             r"\(.*\); free that port or choose another with CLARIFY_SCHEDULER_PORT"):
            run_leader(HostRoles("algo-1", ("algo-1", "algo-2")), settings, lambda client: None)
