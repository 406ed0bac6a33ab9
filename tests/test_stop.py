"""Stopping a job: SIGTERM sets the stop flag, the job's loops check it, the exit code is 143.

The trials send real signals to real container subprocesses at moments spread over every
phase of a job (reading, bias, predictions, Kernel SHAP, PDP): every one must exit 143 and
write the stop message. Before the stop flag, a handler that raised from whatever code ran
lost the stop now and then (an exception raised in garbage-collection cleanup is discarded)
and the job exited 0.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

import clarify_engine

from clarify_engine import _stop
from clarify_engine._stop import STOP_MESSAGE, JobStopped
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from tests.helpers import REPO, ServerProcess
from tests.test_entrypoints import _layout

#: Log lines that mark the phases of the demo job, in order; a trial waits for the n-th
#: occurrence of one, then a random moment more, then sends SIGTERM.
PHASES = [
    ("clarify-engine container: config", 1),  # reading the config and the data
    ("Dataset: ", 1),
    ("Computing pre-training", 1),  # bias metrics
    ("Getting predictions", 1),  # predicted labels through the batcher
    ("Kernel SHAP:", 1),  # baseline clustering
    ("Sending", 3),  # Kernel SHAP's synthetic rows
    ("Sending", 4),
    ("PDP:", 1),  # partial dependence
]
TRIALS = len(PHASES)  # one per phase, at a random moment within it


@pytest.fixture
def clear_stop_flag():
    yield
    _stop._stopped.clear()  # the flag is process-wide; in-process tests set it


@pytest.fixture(scope="module")
def model_server():
    server = ServerProcess(DEMO_MODEL)
    yield server
    server.stop()


def _job_env(root, server) -> dict:
    return {**os.environ, "CLARIFY_PROCESSING_ROOT": str(root),
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-west-2"}


def _trial(root, server, marker: str, occurrence: int, extra: float) -> dict:
    proc = subprocess.Popen([sys.executable, "-m", "clarify_engine.cli", "container"], env=_job_env(root, server),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen, lines = 0, []
    try:
        for line in proc.stdout:
            lines.append(line)
            if marker in line:
                seen += 1
                if seen == occurrence:
                    break
        time.sleep(extra)
        finished_before = proc.poll() is not None
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
    message = root / "opt/ml/output/message"
    return {"phase": f"{marker}#{occurrence}+{extra:.2f}s", "code": proc.returncode,
            "finished_before": finished_before, "output": "".join(lines) + rest,
            "message": message.read_text() if message.exists() else None}


def test_sigterm_at_random_moments_always_exits_143_with_the_message(tmp_path, model_server):
    config = json.loads(DEMO_CONFIG.read_text())
    config["predictor"]["endpoint_name"] = "loans-endpoint"
    data = pd.read_csv(DEMO_DATA).head(2000).to_csv(index=False)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    plans = [(*PHASES[i % len(PHASES)], rng.uniform(0.0, 0.4)) for i in range(TRIALS)]
    roots = [_layout(tmp_path / f"trial{i}", config, {"loans.csv": data}) for i in range(TRIALS)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda args: _trial(args[0], model_server, *args[1]), zip(roots, plans)))
    for result in results:
        where = f"seed {seed}, SIGTERM after {result['phase']}"
        assert not result["finished_before"], f"{where}: the job ended before the signal\n{result['output']}"
        assert result["code"] == 143, f"{where}: exit code {result['code']}\n{result['output']}"
        assert result["message"] == STOP_MESSAGE, where
        assert "Signal 15 received, cleaning up" in result["output"], where
        assert "Job completed" not in result["output"], where


_WATCHDOG_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from clarify_engine import _logging, _stop
    from clarify_engine.container import ProcessingLayout, _exit_stopped
    _logging.configure()
    layout = ProcessingLayout(Path(sys.argv[1]))
    _stop.install_sigterm(on_deadline=lambda: _exit_stopped(layout))
    with _stop.guarded():
        print("guarded", flush=True)
        time.sleep(float(sys.argv[2]))  # a step no stop may cut in two
        print("guarded step done", flush=True)
    time.sleep(600)  # stuck in code that never checks the flag
    """
)


@pytest.mark.parametrize("guard_seconds", [0.0, 3.0], ids=["stuck", "stuck-after-a-guarded-step"])
def test_a_job_that_never_checks_is_ended_after_the_grace_period(tmp_path, guard_seconds):
    env = {**os.environ, _stop.GRACE_ENV: "0.5"}
    proc = subprocess.Popen([sys.executable, "-c", _WATCHDOG_SCRIPT, str(tmp_path), str(guard_seconds)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout.readline().strip() == "guarded"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, out
    assert "guarded step done" in out, "the deadline must wait for the guarded step"
    assert "The job did not end within 0.5 s of the stop signal; ending it now" in out
    assert (tmp_path / "opt/ml/output/message").read_text() == STOP_MESSAGE


def test_check_and_sleep_raise_once_stop_is_requested(clear_stop_flag):
    _stop.check()
    started = time.monotonic()
    _stop.sleep(0.01)
    assert time.monotonic() - started >= 0.01
    _stop.request_stop()
    with pytest.raises(JobStopped):
        _stop.check()
    started = time.monotonic()
    with pytest.raises(JobStopped):
        _stop.sleep(60)
    assert time.monotonic() - started < 30


def test_a_stop_during_a_failing_method_stops_instead_of_reporting_a_partial_result(clear_stop_flag):
    """A method that fails because the job is being stopped is not a partial result."""
    calls = []

    def model(frame):
        calls.append(len(frame))
        if len(calls) > 1:  # the predicted labels went through; Kernel SHAP is being stopped
            _stop.request_stop()
            raise RuntimeError("connection closed while stopping")
        return (frame["CreditScore"] > 600).astype(float).to_numpy()

    config = json.loads(DEMO_CONFIG.read_text())
    del config["methods"]["pdp"]
    data = pd.read_csv(DEMO_DATA).head(200)
    with pytest.raises(JobStopped):
        clarify_engine.analyze(config, data=data, model=model)
    assert len(calls) == 2


@pytest.mark.parametrize("text", ["-1", "soon"])
def test_a_bad_grace_period_is_named(monkeypatch, text):
    monkeypatch.setenv(_stop.GRACE_ENV, text)
    with pytest.raises(clarify_engine.ClarifyError) as info:
        _stop.grace_seconds()
    assert str(info.value) == (f"CLARIFY_STOP_GRACE_SECONDS: expected a number of seconds >= 0, found {text!r}; "
                               "unset it for the default 20")
