"""Rows per second the model client gets from a local model server, against that server's ceiling.

For each request format (CSV, JSON Lines) and concurrency (1, 4, 8 by default) it measures

* **ceiling**: the server alone. The same request bodies our client would send, encoded
  before the clock starts, posted by ``concurrency`` threads over raw ``http.client``
  keep-alive connections; replies are read, not parsed. No client logic at all.
* **client**: ``Batcher.predict(rows)`` end to end, over :class:`HttpTransport`, with the real
  codecs: encoding, dedupe, packing, concurrent requests, decoding and reassembly included.

and prints a table of rows/s and client/ceiling. Each cell is the best of ``--repeat`` runs
(ceiling and client alternate, so that drift on a shared machine hits both). The last column,
``client cpu us/row``, is the CPU time of this process (every thread) during the best client
run, per row: what the client costs, whatever else the machine is doing. On 2 cores the
client and the server each need about one; when other work takes a core, the two share
the other and the wall-clock ratio falls towards server CPU / (server CPU + client CPU).

Servers (``--server``):

* ``project`` (default): ``python -m clarify_engine.serve`` (``clarify-engine serve-model``)
  serving a scikit-learn LogisticRegression saved with joblib, in its own process.
* ``trivial``: a minimal stdlib server in its own process (this file with
  ``--serve-trivial``) computing score = sigmoid(sum of features) with no pandas or sklearn:
  the ceiling of Python HTTP serving on this machine. ``--latency MS`` makes it wait that long
  before each reply, as a remote endpoint's network and model time would.
* ``canned``: the same stdlib server answering a constant score per record (it counts the
  lines, parses nothing), so that with ``--latency`` the server costs almost no CPU: what
  remains is the client's own overlap of encoding, sending and decoding with the model's
  time, free of the two processes competing for the cores.

Cores (``--cores``): ``separate`` (default, on a machine with two or more CPUs) pins the server
process to the first CPU and this process (the ceiling loop and our client alike) to the
others, as a model on its own endpoint instance and the processing job are in production.
``shared`` lets the OS place every thread anywhere: on a 2-core machine it then moves the
server's thread and our client's four or five threads between the two cores, which slows the
server during the client run but hardly during the ceiling run (whose loop barely runs), so
the ratio measures the scheduler as much as the client.

Transports (``--transport``): ``http`` (default) is the project's :class:`HttpTransport` (a
small pool of keep-alive ``http.client`` connections); ``raw`` is :class:`RawTransport` below,
one ``http.client`` keep-alive connection per worker thread and nothing else: a diagnostic of
how much of the gap is the transport; ``sagemaker`` is :class:`SageMakerRuntimeTransport`
on the server's ``/endpoints/bench/invocations`` route (through
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``, dummy credentials), as a job calling a SageMaker
endpoint does: every request resolved by botocore, signed with SigV4 (payload hash included)
and sent over the pooled connections. The server does not check the signatures: a check
would cost the server CPU in the client runs that the ceiling runs (unsigned) do not pay, so
the ratio would no longer measure the client. Moto in server mode is no ceiling either (its
``InvokeEndpoint`` is a Flask route answering canned bodies, far slower than the project
server). The signatures are verified in the tests instead (``tests/predict/test_sigv4.py``:
moto with IAM authentication on, and botocore re-computing each signature).

Usage::

    python benchmarks/endpoint_throughput.py --server project
    python benchmarks/endpoint_throughput.py --server trivial --rows 50000
    python benchmarks/endpoint_throughput.py --server canned --latency 1.3 --rows 200000
    python benchmarks/endpoint_throughput.py --server project --transport sagemaker
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import math
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

FORMATS = {
    # name: (content_type, content_template, probability for the project server, for trivial)
    "csv": ("text/csv", None, None, None),
    "jsonlines": ("application/jsonlines", '{"features":$features}', "probability", "score"),
}


# -- the trivial server -----------------------------------------------------------------------


class _TrivialHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._reply(200, b"", "text/plain")

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.latency:
            time.sleep(self.server.latency)
        if self.server.canned:
            n = body.count(b"\n") + 1
            if self.headers["Content-Type"] == "application/jsonlines":
                return self._reply(200, b"\n".join([b'{"score":0.5}'] * n), "application/jsonlines")
            return self._reply(200, b"\n".join([b"0.5"] * n), "text/csv")
        lines = body.split(b"\n")
        if self.headers["Content-Type"] == "application/jsonlines":
            sums = [sum(json.loads(line)["features"]) for line in lines]
            out = "\n".join('{"score":%r}' % (1.0 / (1.0 + math.exp(-s))) for s in sums)
            return self._reply(200, out.encode(), "application/jsonlines")
        sums = [sum(map(float, line.split(b","))) for line in lines]
        out = "\n".join(repr(1.0 / (1.0 + math.exp(-s))) for s in sums)
        self._reply(200, out.encode(), "text/csv")

    def _reply(self, status, data, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve_trivial(latency: float = 0.0, canned: bool = False) -> None:
    """Serve the trivial (or canned) model on a free port; print the port on the first stdout line."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _TrivialHandler)
    httpd.latency = latency
    httpd.canned = canned
    httpd.daemon_threads = True
    httpd.request_queue_size = 128
    print(httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass


# -- starting a server process ----------------------------------------------------------------


def split_cores() -> tuple[set[int], set[int]] | None:
    """(server CPUs, client CPUs) for ``--cores separate``: the first CPU, and the others."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return {cpus[0]}, set(cpus[1:])


def start_server(kind: str, n_features: int, workdir: Path, latency_ms: float = 0.0,
                 cpus: set[int] | None = None) -> tuple[subprocess.Popen, int]:
    if kind in ("trivial", "canned"):
        cmd = [sys.executable, __file__, "--serve-trivial", "--latency", str(latency_ms)]
        if kind == "canned":
            cmd.append("--canned")
    else:
        import joblib
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(0)
        x = rng.normal(size=(2000, n_features))
        y = (x.sum(axis=1) + rng.normal(size=2000) > 0).astype(int)
        path = workdir / "model.joblib"
        joblib.dump(LogisticRegression().fit(x, y), path)
        cmd = [sys.executable, "-m", "clarify_engine.serve", str(path), "--port", "0"]
    # pinned before it starts: every thread the server makes later inherits the CPU set
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=pin)
    port = int(proc.stdout.readline())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the {kind} server did not answer /ping on port {port} within 30 s")


# -- the two measurements ---------------------------------------------------------------------


def ceiling(port: int, bodies: list[bytes], content_type: str, concurrency: int) -> float:
    """Seconds to post every body with ``concurrency`` raw keep-alive connections."""
    work: queue.SimpleQueue = queue.SimpleQueue()
    for body in bodies:
        work.put(body)
    errors = []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        headers = {"Content-Type": content_type, "Accept": content_type}
        try:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                conn.request("POST", "/invocations", body, headers)
                reply = conn.getresponse()
                reply.read()
                if reply.status != 200:
                    errors.append(reply.status)
                    return
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"the server answered HTTP {errors[0]} in the ceiling run")
    return elapsed


class RawTransport:
    """Diagnostic transport: one raw ``http.client`` keep-alive connection per thread.

    Non-200 replies and socket errors become :class:`TransportError` (no retry policy data
    beyond the status): enough for a benchmark against a well-behaved local server.
    """

    def __init__(self, url: str, *, timeout: float = 60.0, pool_size: int = 0):
        self.port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
        self.timeout = timeout
        self._local = threading.local()

    def send(self, body: bytes, *, content_type: str, accept: str) -> bytes:
        from clarify_engine.predict._base import TransportError

        conn = getattr(self._local, "conn", None)
        try:
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                conn.connect()
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.request("POST", "/invocations", body, {"Content-Type": content_type, "Accept": accept})
            reply = conn.getresponse()
            data = reply.read()
        except OSError as exc:
            self._local.conn = None
            raise TransportError(f"{type(exc).__name__}: {exc}", code="ConnectionError") from exc
        if reply.status != 200:
            raise TransportError(data[:200].decode(errors="replace"), status=reply.status)
        return data

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def client(port, rows, names, fmt, server_kind, concurrency, max_records, transport="http") -> tuple[float, float, np.ndarray]:
    """Seconds for ``Batcher.predict(rows)`` end to end, CPU seconds of this process meanwhile,
    and the scores it got."""
    from clarify_engine.predict.batching._batcher import Batcher
    from clarify_engine.predict.codecs import request_codec, response_codec
    from clarify_engine.predict.transports._http import HttpTransport

    content_type, template, prob_project, prob_trivial = FORMATS[fmt]
    probability = prob_project if server_kind == "project" else prob_trivial
    if transport == "sagemaker":
        from clarify_engine.predict.transports._sagemaker import SageMakerRuntimeTransport

        os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = f"http://127.0.0.1:{port}"
        for key, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                           ("AWS_DEFAULT_REGION", "us-east-1")):
            os.environ.setdefault(key, value)
        opened = SageMakerRuntimeTransport("bench", timeout=60, pool_size=concurrency)
    else:
        kind = HttpTransport if transport == "http" else RawTransport
        opened = kind(f"http://127.0.0.1:{port}/invocations", timeout=60, pool_size=concurrency)
    with opened as transport:
        batcher = Batcher(
            transport,
            request_codec(content_type, feature_names=names, content_template=template),
            response_codec(content_type, probability=probability),
            concurrency=concurrency,
            max_records=max_records,
        )
        cpu = time.process_time()
        started = time.perf_counter()
        output = batcher.predict(rows)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return elapsed, cpu, output.scores


def planned_bodies(rows, names, fmt, max_records) -> list[bytes]:
    """The bodies the client sends for ``rows`` (all rows distinct, so no dedupe changes them)."""
    from clarify_engine.predict.codecs import request_codec

    content_type, template, _, _ = FORMATS[fmt]
    codec = request_codec(content_type, feature_names=names, content_template=template)
    pieces = codec.encode_records(rows)
    return [codec.join(pieces[i:i + max_records]) for i in range(0, len(pieces), max_records)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=["project", "trivial", "canned"], default="project")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--max-records", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--formats", nargs="+", choices=sorted(FORMATS), default=["csv", "jsonlines"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--transport", choices=["http", "raw", "sagemaker"], default="http")
    parser.add_argument("--cores", choices=["separate", "shared"], default="separate",
                        help="pin the server and this process to different CPUs (default), or not")
    parser.add_argument("--latency", type=float, default=0.0, help="trivial server: ms to wait before each reply")
    parser.add_argument("--serve-trivial", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--canned", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_trivial:
        serve_trivial(args.latency / 1000.0, canned=args.canned)
        return 0
    logging.getLogger("clarify_engine").setLevel(logging.WARNING)

    rng = np.random.default_rng(1)
    rows = np.round(rng.normal(size=(args.rows, args.features)), 4)
    rows[:, 0] = np.arange(args.rows) / args.rows  # every row distinct: nothing deduplicated
    names = [f"f{j}" for j in range(args.features)]

    with tempfile.TemporaryDirectory() as tmp:
        if args.latency and args.server == "project":
            parser.error("--latency applies to --server trivial and canned only")
        cores = split_cores() if args.cores == "separate" else None
        if cores:
            os.sched_setaffinity(0, cores[1])
        proc, port = start_server(args.server, args.features, Path(tmp), args.latency, cores[0] if cores else None)
        try:
            print(
                f"server={args.server} rows={args.rows} features={args.features} "
                f"max_records={args.max_records} repeat={args.repeat} latency_ms={args.latency:g} "
                f"transport={args.transport} "
                f"cpus={os.cpu_count()} cores="
                + (f"separate(server {sorted(cores[0])}, client {sorted(cores[1])})" if cores else "shared")
            )
            print(
                f"{'format':<10} {'conc':>4} {'ceiling rows/s':>15} {'client rows/s':>14} "
                f"{'client/ceiling':>15} {'client cpu us/row':>18}"
            )
            for fmt in args.formats:
                # warm-up: the first predict of a process loads the numba kernels and codecs
                client(port, rows[:100], names, fmt, args.server, 1, args.max_records, args.transport)
                bodies = planned_bodies(rows, names, fmt, args.max_records)
                content_type = FORMATS[fmt][0]
                reference = None
                for conc in args.concurrency:
                    best_ceiling = best_client = math.inf
                    best_cpu = 0.0
                    for _ in range(args.repeat):
                        best_ceiling = min(best_ceiling, ceiling(port, bodies, content_type, conc))
                        seconds, cpu, scores = client(
                            port, rows, names, fmt, args.server, conc, args.max_records, args.transport
                        )
                        if seconds < best_client:
                            best_client, best_cpu = seconds, cpu
                        if reference is None:
                            reference = scores
                        elif not np.array_equal(scores, reference):
                            raise RuntimeError("the client's scores changed between runs")
                    top, ours = args.rows / best_ceiling, args.rows / best_client
                    print(
                        f"{fmt:<10} {conc:>4} {top:>15,.0f} {ours:>14,.0f} {ours / top:>14.0%} "
                        f"{1e6 * best_cpu / args.rows:>18.2f}"
                    )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
