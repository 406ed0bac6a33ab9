"""Faults and limits on a real Dask cluster: a worker killed by PID mid-job (its tasks are re-run,
the bytes are unchanged) and one concurrency budget shared by the requests of every worker."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import clarify_engine
from clarify_engine.cluster import Cluster
from clarify_engine.predict import ClientOptions
from tests.cluster.conftest import cluster_config
from tests.cluster.conftest import result_files as _files
from tests.helpers import serve_in_thread


@pytest.fixture()
def own_cluster():
    """A cluster of its own: the test kills one of its workers (the nanny starts another). The
    leases a killed worker held come back after the lease timeout: 6 s here instead of 30 s."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.locks.lease-timeout": "6s"}), LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        yield client


def _kill_a_worker_running(client, stage: str, found: dict, stop: threading.Event) -> None:
    """Watch the scheduler; SIGKILL the first worker process seen running a task of ``stage``."""
    while not stop.is_set():
        for address, keys in client.processing().items():
            running = [key for key in keys if f"-{stage}-" in str(key)]
            if running:
                pid = client.run(os.getpid, workers=[address])[address]
                os.kill(pid, signal.SIGKILL)
                found.update(address=address, pid=pid, key=str(running[0]))
                return
        time.sleep(0.01)


def test_a_worker_killed_mid_job_is_replaced_and_the_bytes_are_unchanged(tmp_path, own_cluster, cluster_data,
                                                                         tree_server, http_reference):
    config = cluster_config()
    _, expected = http_reference
    found: dict = {}
    stop = threading.Event()
    killer = threading.Thread(target=_kill_a_worker_running, args=(own_cluster, "kernel_shap", found, stop))
    killer.start()
    out = tmp_path / "cluster"
    try:
        clarify_engine.analyze(config, data=cluster_data, model=tree_server.url, output_dir=out,
                               cluster=Cluster(own_cluster, partitions_per_worker=3, rows_per_partition=10,
                                               records_per_shard=1))
    finally:
        stop.set()
        killer.join()
    assert found, "no Kernel SHAP task was seen running: nothing was killed"
    with pytest.raises(ProcessLookupError):
        os.kill(found["pid"], 0)
    assert _files(out) == expected
    # the scheduler lost the worker with the task (or its result), and ran the task again
    story = [entry for entry in own_cluster.story(found["key"]) if entry[0] == "scheduler"]
    assert sum(1 for entry in story if entry[3] == "processing") >= 2, story
    assert any(str(entry[5]).startswith("handle-worker-cleanup") for entry in story), story


class _Counting(BaseHTTPRequestHandler):
    """A model server (SageMaker's /invocations, CSV in and out) that records requests in flight."""

    server: "_CountingServer"

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.in_flight += 1
            self.server.most = max(self.server.most, self.server.in_flight)
            self.server.requests += 1
        time.sleep(0.02)
        rows = [line.split(",") for line in body.decode().splitlines() if line]
        reply = "".join(f"{1.0 if float(cells[1]) > 0 else 0.0}\n" for cells in rows).encode()  # Gender column
        with self.server.lock:
            self.server.in_flight -= 1
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format, *args) -> None:  # quiet
        pass


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Counting)
        self.lock = threading.Lock()
        self.in_flight = self.most = self.requests = 0


@pytest.fixture()
def counting_server():
    yield from serve_in_thread(_CountingServer())


@pytest.mark.parametrize("budget", [1, 2])
def test_requests_of_every_worker_share_one_budget(dask_client, cluster_data, counting_server, budget):
    config = json.loads(json.dumps(cluster_config()))
    config["methods"] = {"post_training_bias": {"methods": ["DPPL"]}}
    # each worker alone may have `budget` requests in flight; together they must not exceed it
    options = ClientOptions(concurrency=budget, max_records=4)
    result = clarify_engine.analyze(config, data=cluster_data, model=f"http://127.0.0.1:{counting_server.server_port}",
                                    options=options, cluster=Cluster(dask_client, rows_per_partition=20))
    info = result.manifest["cluster"]
    assert counting_server.most == budget
    # 16 partitions (8 per worker) of 30 rows, 4 records per request
    assert info["partitions"]["predictions"] == [16]
    assert counting_server.requests == info["budget"]["leases"] == info["requests"]["requests_sent"] == 16 * 8
    assert info["budget"]["max_leases"] == budget
