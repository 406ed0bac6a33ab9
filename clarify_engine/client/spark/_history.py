"""Spark's own history server, run from the pyspark wheel for ``start_history_server``.

The SDK runs the SageMaker Spark image's history server in Docker, on port 15050. Here the
same server class, ``org.apache.spark.deploy.history.HistoryServer``, runs as a subprocess of
this Python through the wheel's ``bin/spark-class`` (which adds the JVM options Spark needs on
Java 17+), with a properties file of its own:

* ``spark.history.fs.logDirectory``: the event logs' local folder. A local path or ``file://``
  URI is read in place; an ``s3://`` URI is copied once, through the session's S3 client, into a
  private temporary folder (a local Spark has no S3 file system), so later uploads need a new
  ``start_history_server()``;
* ``spark.history.ui.port``: 15050 as in the SDK, or ``$CLARIFY_SPARK_HISTORY_PORT``;
  ``spark.port.maxRetries=0`` so a busy port fails instead of moving elsewhere.

On a SageMaker notebook instance (``/opt/ml/metadata/resource-metadata.json`` exists), as in
the SDK, ``spark.ui.proxyBase=/proxy/<port>`` is set and the URL logged is the notebook's proxy,
``https://<notebook>.notebook.<region>.sagemaker.aws/proxy/<port>``.

The server runs in its own process group; :meth:`HistoryServer.stop` ends the group and is
also registered with :mod:`atexit`, so nothing outlives the interpreter.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from clarify_engine.client._session import download_prefix
from clarify_engine.client.spark._submit import check_local_spark, spark_submit_path

log = logging.getLogger(__name__)

DEFAULT_PORT = 15050
PORT_ENV = "CLARIFY_SPARK_HISTORY_PORT"
#: How long the JVM may take to answer HTTP (it usually needs a few seconds).
START_TIMEOUT_SECONDS = 180.0
STOP_GRACE_SECONDS = 20.0
NOTEBOOK_METADATA = "/opt/ml/metadata/resource-metadata.json"
MAIN_CLASS = "org.apache.spark.deploy.history.HistoryServer"
NO_URI = ("SPARK_EVENT_LOGS_S3_URI not present. You can specify spark_event_logs_s3_uri either in run() or "
          "start_history_server()")


def history_port() -> int:
    """The port to serve on: ``$CLARIFY_SPARK_HISTORY_PORT``, else the SDK's 15050."""
    value = os.environ.get(PORT_ENV)
    if value is None:
        return DEFAULT_PORT
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{PORT_ENV}={value!r} is not a TCP port: set it to a number from 1 to 65535, or unset it "
                         f"for the default {DEFAULT_PORT}")
    return int(value)


def notebook_proxy_url(port: int, region: str | None, metadata: str = NOTEBOOK_METADATA) -> str | None:
    """The notebook instance's proxy URL of ``port``, or None off a notebook instance."""
    if not os.path.isfile(metadata):
        return None
    with open(metadata, encoding="utf-8") as fh:
        name = json.load(fh)["ResourceName"]
    return f"https://{name}.notebook.{region}.sagemaker.aws/proxy/{port}"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def local_event_logs(uri: str, s3_client: Any, scratch: Path) -> Path:
    """The local folder holding the event logs of ``uri`` (copied from S3 into ``scratch`` if needed).

    Raises
    ------
    ValueError
        Nothing is stored at ``uri`` (the message says how event logs get there).
    """
    url = urlparse(uri)
    hint = ("run the job with spark_event_logs_s3_uri=<that URI> first, or pass the URI (or local folder) a job "
            "wrote its event logs to")
    if url.scheme == "s3":
        target = scratch / "events"
        try:
            download_prefix(s3_client, uri, target)
        except FileNotFoundError:
            raise ValueError(f"no Spark event logs at {uri}: {hint}") from None
        log.info("Copied the Spark event logs of %s to %s for the history server (a copy: start it again to see "
                 "logs written later)", uri, target)
        return target
    if url.scheme not in ("", "file"):
        raise ValueError(f"spark_event_logs_s3_uri {uri}: unsupported scheme {url.scheme!r}; give an s3:// URI, a "
                         "file:// URI or a local folder")
    folder = Path(url.path if url.scheme == "file" else uri).expanduser()
    if not folder.is_dir() or not any(folder.iterdir()):
        raise ValueError(f"no Spark event logs at {uri}: {hint}")
    return folder.resolve()


class HistoryServer:
    """One running Spark history server over ``log_dir`` on ``port``; :meth:`stop` ends it."""

    def __init__(self, log_dir: Path, port: int, scratch: tempfile.TemporaryDirectory,
                 proxy_url: str | None = None) -> None:
        self.log_dir = log_dir
        self.port = port
        self.proxy_url = proxy_url
        self.url = proxy_url or f"http://localhost:{port}"
        self._scratch = scratch
        self._log_path = Path(scratch.name) / "history-server.log"
        self._proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the server and wait until it answers HTTP.

        Raises
        ------
        RuntimeError
            The port is taken, the server exited, or it did not answer within
            :data:`START_TIMEOUT_SECONDS` (the message carries the end of its log).
        """
        if not _port_free(self.port):
            raise RuntimeError(f"cannot start the Spark history server: port {self.port} is in use (another history "
                               f"server?). Stop it, or set {PORT_ENV} to a free port")
        props = Path(self._scratch.name) / "history.properties"
        props.write_text(f"spark.history.fs.logDirectory={self.log_dir.as_uri()}\n"
                         f"spark.history.ui.port={self.port}\nspark.port.maxRetries=0\n"
                         + (f"spark.ui.proxyBase=/proxy/{self.port}\n" if self.proxy_url else ""), encoding="utf-8")
        spark_class = spark_submit_path().parent / "spark-class"
        with self._log_path.open("wb") as out:
            self._proc = subprocess.Popen([str(spark_class), MAIN_CLASS, "--properties-file", str(props)],
                                          stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        atexit.register(self.stop)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(self.port):
            code = self._proc.poll()
            if code is not None or time.monotonic() > deadline:
                why = f"exited with code {code}" if code is not None else \
                    f"did not answer on port {self.port} within {START_TIMEOUT_SECONDS:.0f} s"
                tail = self._log_tail()
                self.stop()
                raise RuntimeError(f"History server failed to start: it {why}. Its log ends with:\n{tail}")
            time.sleep(0.5)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self._log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """End the server's process group and remove its private folder; a no-op once stopped."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._scratch.cleanup()


def start(uri: str, s3_client: Any, region: str | None = None) -> HistoryServer:
    """A started :class:`HistoryServer` over the event logs of ``uri`` (see the module docstring)."""
    check_local_spark()
    port = history_port()
    scratch = tempfile.TemporaryDirectory(prefix="spark-history-")
    try:
        server = HistoryServer(local_event_logs(uri, s3_client, Path(scratch.name)), port, scratch,
                               notebook_proxy_url(port, region, NOTEBOOK_METADATA))
    except BaseException:
        scratch.cleanup()
        raise
    try:
        server.start()
    except BaseException:  # Popen failed, or an interrupt while waiting: leave nothing running
        server.stop()
        raise
    return server
