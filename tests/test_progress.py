"""Progress of the long stages: a tqdm bar on a terminal, timestamped log lines otherwise.

The two modes are checked for real: the CLI under a pseudo-terminal draws a bar (carriage
returns, a rate), the CLI on a pipe logs lines, and the thin client's ``wait(logs=True)``
prints the same lines for a SHAP job.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import re
import subprocess
import sys
import threading
import time

import pytest

from clarify_engine import _logging
from clarify_engine._progress import Progress, mode
from clarify_engine.client import LocalSession, Processor
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from clarify_engine.errors import ConfigError
from tests.client.test_local import AWS_ENV, clarify_io
from tests.helpers import ServerProcess, run_cli

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO clarify_engine[\w.]*: "


@pytest.fixture
def logged(monkeypatch):
    """The clarify_engine logger writing timestamped lines into a string, as the CLI sets it up."""
    stream = io.StringIO()
    logger = logging.getLogger("clarify_engine")
    saved = logger.handlers[:], logger.level, logger.propagate
    _logging.configure(logging.INFO, stream)
    monkeypatch.delenv("CLARIFY_PROGRESS", raising=False)
    yield stream
    logger.handlers[:], logger.level, logger.propagate = saved


def test_log_mode_writes_timestamped_lines_with_rate_and_eta_then_a_final_line(logged, monkeypatch):
    monkeypatch.setenv("CLARIFY_PROGRESS_SECONDS", "0.001")
    with Progress("SHAP", 4, "records", stream=io.StringIO()) as progress:  # not a terminal
        assert progress.mode == "log"
        for _ in range(4):
            time.sleep(0.01)
            progress.update()
    lines = logged.getvalue().splitlines()
    assert len(lines) == 4  # after 1, 2 and 3 of 4 records, then the final line
    assert re.fullmatch(TIMESTAMP + r"SHAP: 1 of 4 records \(25%\), [\d.]+ records/s, ETA \d+ s", lines[0])
    assert re.fullmatch(TIMESTAMP + r"SHAP: 3 of 4 records \(75%\), [\d.]+ records/s, ETA \d+ s", lines[2])
    assert re.fullmatch(TIMESTAMP + r"SHAP: 4 of 4 records done in [\d.]+ s \([\d.]+ records/s\)", lines[3])


def test_log_mode_waits_the_interval_between_lines_and_skips_the_final_line_on_error(logged, monkeypatch):
    monkeypatch.delenv("CLARIFY_PROGRESS_SECONDS", raising=False)  # the default: 10 s
    with pytest.raises(RuntimeError):
        with Progress("PDP", 3, "features", stream=io.StringIO()) as progress:
            progress.update()
            progress.update()
            raise RuntimeError("the stage failed")
    assert logged.getvalue() == ""


def test_quiet_logging_shows_no_progress_and_lines_false_leaves_the_log_to_the_caller(logged):
    assert Progress("Predictions", 2, lines=False, stream=io.StringIO()).mode == "off"
    logging.getLogger("clarify_engine").setLevel(logging.WARNING)
    assert mode(io.StringIO()) == "off"
    with Progress("SHAP", 2, stream=io.StringIO()) as progress:
        progress.update(2)
    assert logged.getvalue() == ""


def test_the_environment_chooses_the_mode_and_bad_values_name_the_variable_and_the_fix(logged, monkeypatch):
    monkeypatch.setenv("CLARIFY_PROGRESS", "log")
    assert mode(io.StringIO()) == "log"
    monkeypatch.setenv("CLARIFY_PROGRESS", "bars")
    with pytest.raises(ConfigError) as info:
        mode(io.StringIO())
    assert str(info.value) == ("CLARIFY_PROGRESS: expected one of auto, bar, log, off, found 'bars'; "
                               "unset it or set CLARIFY_PROGRESS=auto.")
    monkeypatch.setenv("CLARIFY_PROGRESS", "auto")
    monkeypatch.setenv("CLARIFY_PROGRESS_SECONDS", "0")
    with pytest.raises(ConfigError) as info:
        Progress("SHAP", 1, stream=io.StringIO())
    assert str(info.value) == "CLARIFY_PROGRESS_SECONDS: expected seconds > 0, found '0'; unset it for the default of 10."


def test_bar_mode_draws_a_tqdm_bar_and_update_to_follows_a_changing_total(logged, monkeypatch):
    monkeypatch.setenv("CLARIFY_PROGRESS", "bar")
    stream = io.StringIO()
    with Progress("Predictions", 10, "rows", stream=stream) as progress:
        progress.update_to(4, total=8)
        progress.update_to(8, total=8)
    drawn = stream.getvalue()
    assert "\r" in drawn and "Predictions" in drawn and "8/8" in drawn and "rows/s" in drawn
    assert logged.getvalue() == ""  # a bar, no log lines


def _analyze_args(out):
    return ["analyze", "--config", str(DEMO_CONFIG), "--data", str(DEMO_DATA), "--output", str(out),
            "--model", str(DEMO_MODEL)]


def test_cli_on_a_pipe_logs_a_progress_line_per_stage(tmp_path):
    proc = run_cli(*_analyze_args(tmp_path / "out"), env={"CLARIFY_PROGRESS": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "\r" not in proc.stderr  # no bar on a pipe
    for pattern in (r"Reading dataset: 1 of 1 files done in ",
                    r"SHAP: \d+ of \d+ records done in [\d.]+ s \([\d.]+ records/s\)",
                    r"PDP: (\d+) of \1 features done in ",
                    r"Writing outputs: 2 of 2 parts done in "):
        assert re.search(TIMESTAMP + pattern, proc.stdout), (pattern, proc.stdout)

    quiet = run_cli("-q", *_analyze_args(tmp_path / "quiet"))
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "SHAP:" not in quiet.stdout and "\r" not in quiet.stderr


@pytest.fixture(scope="module")
def demo_server():
    server = ServerProcess(DEMO_MODEL)
    yield server
    server.stop()


def test_cli_on_a_terminal_draws_tqdm_bars_on_stderr(tmp_path, demo_server):
    """stderr is a pseudo-terminal (reporting no size, as a fresh one does): the stages draw bars
    (carriage returns, a rate per second), the model's predictions too."""
    master, slave = pty.openpty()
    env = {**os.environ, "CLARIFY_PROGRESS": "auto"}
    args = _analyze_args(tmp_path / "out")
    args[args.index("--model") + 1] = demo_server.url
    proc = subprocess.Popen([sys.executable, "-m", "clarify_engine.cli", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    chunks = []

    def drain():  # read the terminal while the job runs, so a full buffer never blocks it
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stdout, _ = proc.communicate(timeout=300)
    reader.join(timeout=30)
    os.close(master)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, stdout.decode() + terminal
    assert "\r" in terminal
    assert re.search(r"SHAP: 100%.*records/s", terminal), terminal
    assert re.search(r"PDP: 100%.*features/s", terminal), terminal
    assert re.search(r"\rPredictions: +\d+%.*rows/s", terminal), terminal
    # On a terminal the stage lines are the bar's, not the log's.
    assert "records done in" not in stdout.decode()


def test_local_client_wait_logs_prints_the_progress_lines_of_a_shap_job(tmp_path, capsys, demo_server):
    config = json.loads(DEMO_CONFIG.read_text())
    config["methods"] = {"shap": config["methods"]["shap"]}
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    path = tmp_path / "config" / "analysis_config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(config))
    session = LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05, stop_grace_seconds=20)
    inputs, outputs = clarify_io(path, DEMO_DATA, tmp_path / "results")
    processor = Processor(sagemaker_session=session, env={
        **AWS_ENV, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": demo_server.url, "CLARIFY_PROGRESS_SECONDS": "0.001"})
    processor.run(inputs=inputs, outputs=outputs)  # wait=True, logs=True
    printed = capsys.readouterr().out
    assert re.search(TIMESTAMP + r"SHAP: \d+ of \d+ records \(\d+%\), [\d.]+ records/s, ETA ", printed), printed
    assert re.search(TIMESTAMP + r"SHAP: (\d+) of \1 records done in ", printed), printed


def test_long_etas_read_in_minutes_and_hours(logged):
    progress = Progress("PDP", 7201, "features", stream=io.StringIO())
    progress.done = 1
    assert progress.line(1.0) == "PDP: 1 of 7201 features (0%), 1.0 features/s, ETA 2 h 00 min"
    progress.total = 121
    assert progress.line(1.0) == "PDP: 1 of 121 features (1%), 1.0 features/s, ETA 2 min 00 s"
    progress.done = 0
    assert progress.line(1.0).endswith("0.0 features/s, ETA unknown")
