"""Helpers the tests import: repository paths, the SDK fixtures, running the CLI as a subprocess."""

from __future__ import annotations

import collections
import os
import subprocess
import threading
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: analysis_config.json files written by the real SageMaker SDK (copied into the repository,
#: so the tests need nothing beside it; see tests/fixtures/sdk_configs/README.md).
SDK_CONFIGS = REPO / "tests" / "fixtures" / "sdk_configs"

#: Python source for a child process: ``cap_and_load(config, path, extra_bytes)`` caps the
#: address space (``RLIMIT_AS``) at what the process uses now plus ``extra_bytes``, then tries
#: to load the dataset at ``path`` whole; it returns whether the dataset fitted.
MEMORY_CAP_CODE = textwrap.dedent("""
    import resource
    from clarify_engine.config import load_config
    from clarify_engine.data import load_dataset
    from clarify_engine.job import plan_data

    def cap_and_load(config, path, extra_bytes):
        with open("/proc/self/status") as status:
            used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (used + extra_bytes, used + extra_bytes))
        try:
            load_dataset(plan_data(load_config(config)), path)
        except MemoryError:
            return False
        return True
""")


def sdk_config_files() -> list[Path]:
    """The SDK-written analysis_config.json fixtures (without the processing-request dump).

    Fails loudly instead of returning nothing, so a test parametrized over them never
    collects to zero cases.
    """
    files = sorted(p for p in SDK_CONFIGS.glob("[0-9]*.json"))
    if not files:
        raise FileNotFoundError(f"no SDK fixture configs in {SDK_CONFIGS}")
    return files


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``clarify-engine ARGS`` as a real subprocess of this interpreter."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "clarify_engine.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


class ServerProcess:
    """``python -m clarify_engine.serve MODEL --port 0 ...`` as a subprocess; reads its port."""

    def __init__(self, model_file: Path, *args: str, env: dict | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clarify_engine.serve", str(model_file), "--port", "0", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError(f"server did not print its port: {line!r} {self.proc.stderr.read()}")
        self.port = int(line)
        self.url = f"http://127.0.0.1:{self.port}"
        # drain stderr: a server whose pipe fills (64 KiB of warnings, e.g. scikit-learn's repeated
        # UserWarning under concurrent requests) blocks in write() and stops answering
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=200)
        self._drain = threading.Thread(target=self.stderr_tail.extend, args=(self.proc.stderr,), daemon=True)
        self._drain.start()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            self.proc.wait()
        self._drain.join(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


def serve_in_thread(server):
    """Serve ``server`` (a ``socketserver`` server) from a daemon thread; yields it, then shuts it down.

    Use as the body of a pytest fixture: ``yield from serve_in_thread(MyServer())``.
    """
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


#: Credentials boto3 needs to sign requests to a local moto server (never real ones).
DUMMY_AWS_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def moto_server_url():
    """Start moto in server mode on a free loopback port; yields its URL, then stops it.

    Use as the body of a pytest fixture: ``yield from moto_server_url()``.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
