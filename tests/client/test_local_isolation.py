"""A local job sees its own ``/opt/ml`` (as in a SageMaker container) and never the host's.

Real processing scripts read ``/opt/ml/processing/input/...`` and write
``/opt/ml/processing/output``. These tests run such scripts through ``ScriptProcessor`` on a
:class:`LocalSession` and check that the output reaches its destination and that the host's
``/opt/ml`` is untouched: not created when it does not exist, unchanged when it does (a
test-made mount namespace plays a host that has one). The fallbacks are exercised in real
restricted processes: an unprivileged user (user namespaces), and a process that may make
neither kind of namespace (the engine's own jobs still run; scripts are refused).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clarify_engine.client import (
    LocalSession,
    ProcessingInput,
    ProcessingOutput,
    ScriptProcessor,
    UnexpectedStatusException,
)
from tests.helpers import REPO

DEMO = REPO / "clarify_engine" / "demo"
HOST_OPT_ML = Path("/opt/ml")

#: A processing script as SageMaker users write them: container paths only.
JOB_SCRIPT = """\
import json, os, pathlib
rows = pathlib.Path("/opt/ml/processing/input/data/numbers.txt").read_text().split()
assert pathlib.Path("/opt/ml/processing/input/code/job.py").is_file()
assert json.loads(pathlib.Path("/opt/ml/config/resourceconfig.json").read_text())["current_host"] == "algo-1"
assert not pathlib.Path("/opt/ml/processing/output/marker.txt").exists(), "the host's /opt/ml is visible"
out = pathlib.Path("/opt/ml/processing/output")
(out / "total.txt").write_text(str(sum(int(r) for r in rows)))
print("OPT", json.dumps(sorted(os.listdir("/opt"))), flush=True)
"""

#: Runs one local job in a subprocess (so it can run under another user or namespace); prints JSON.
RUNNER = """\
import json, sys
from pathlib import Path
from clarify_engine.client import (IsolationUnavailable, LocalSession, ProcessingInput, ProcessingOutput,
                                   ScriptProcessor, SageMakerClarifyProcessor, DataConfig, BiasConfig)
work, demo = Path(sys.argv[1]), Path(sys.argv[2])
session = LocalSession(jobs_root=work / "jobs", poll_seconds=0.05)
report = {"problem": session.isolation_problem()}
processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
try:
    processor.run(code=str(work / "job.py"),
                  inputs=[ProcessingInput(str(work / "numbers.txt"), "/opt/ml/processing/input/data")],
                  outputs=[ProcessingOutput("/opt/ml/processing/output", str(work / "results"))], logs=False)
    report["script"] = processor.latest_job.describe()["ProcessingJobStatus"]
    report["log"] = session._job(processor.latest_job.job_name).log_lines()
except IsolationUnavailable as exc:
    report["script"] = "refused"
    report["refusal"] = str(exc)
headers = ["Target", "Age", "Gender", "Income", "Occupation", "YearsEmployed", "CreditScore"]
clarify = SageMakerClarifyProcessor(instance_type="local", sagemaker_session=session)
clarify.run_pre_training_bias(
    DataConfig(s3_data_input_path=str(demo / "loans.csv"), s3_output_path=str(work / "clarify"), label="Target",
               headers=headers, dataset_type="text/csv"),
    BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0]), logs=False)
report["clarify"] = clarify.latest_job.describe()["ProcessingJobStatus"]
print("REPORT " + json.dumps(report))
"""


def _opt_ml_state(root: Path = HOST_OPT_ML):
    """None if ``root`` does not exist, else every entry with its size and modification time."""
    if not os.path.lexists(root):
        return None
    return sorted((str(p), p.lstat().st_size, p.lstat().st_mtime_ns) for p in [root, *root.rglob("*")])


def _work_folder(tmp_path: Path) -> Path:
    """The job script, its input and the runner."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "job.py").write_text(JOB_SCRIPT)
    (work / "numbers.txt").write_text("1\n2\n3\n")
    (work / "runner.py").write_text(RUNNER)
    return work


def _run_runner(prefix: list[str], work: Path, env: dict | None = None) -> dict:
    done = subprocess.run([*prefix, sys.executable, str(work / "runner.py"), str(work), str(DEMO)],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0 and lines, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(lines[-1][len("REPORT "):])


def _can(command: list[str]) -> bool:
    return shutil.which(command[0]) is not None and subprocess.run(command, capture_output=True).returncode == 0


def test_a_script_that_writes_to_opt_ml_gets_its_file_to_the_destination(tmp_path):
    session = LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05)
    if session.isolation_problem():
        pytest.skip(session.isolation_problem())
    before = _opt_ml_state()
    script = tmp_path / "job.py"
    script.write_text(JOB_SCRIPT)
    data = tmp_path / "numbers.txt"
    data.write_text("4\n5\n6\n")
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    processor.run(code=str(script), inputs=[ProcessingInput(str(data), "/opt/ml/processing/input/data")],
                  outputs=[ProcessingOutput("/opt/ml/processing/output", str(tmp_path / "results"))], logs=False)

    assert processor.latest_job.describe()["ProcessingJobStatus"] == "Completed"
    assert (tmp_path / "results" / "total.txt").read_text() == "15"
    assert _opt_ml_state() == before  # not created (or unchanged) on the host
    # The job saw the host's other /opt entries, and its own ml.
    (seen,) = [json.loads(line[4:]) for line in session._job(processor.latest_job.job_name).log_lines()
               if line.startswith("OPT ")]
    host = sorted(os.listdir("/opt")) if os.path.isdir("/opt") else []
    assert seen == sorted(set(host) | {"ml"})


@pytest.mark.skipif(not _can(["unshare", "--mount", "--propagation", "private", "true"]),
                    reason="needs root to make the mount namespace that plays a host with /opt/ml")
def test_a_host_opt_ml_stays_unchanged_and_unseen(tmp_path):
    work = _work_folder(tmp_path)
    # This namespace plays a host whose /opt has an ml folder with a file and another entry.
    host_opt = ("mount -t tmpfs clarify-test-host-opt /opt && mkdir -p /opt/ml/processing/output /opt/vendor && "
                "echo host > /opt/ml/processing/output/marker.txt && echo tool > /opt/vendor/tool.txt && "
                'exec "$@"')
    report_and_state = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         host_opt + "; exit 99", "sh", sys.executable, "-c",
         "import json, subprocess, sys, pathlib\n"
         "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
         "state = sorted(str(p) + '=' + (p.read_text() if p.is_file() else '/') "
         "for p in pathlib.Path('/opt').rglob('*'))\n"
         "print(done.stdout + 'STATE ' + json.dumps(state)); sys.stderr.write(done.stderr)\n"
         "sys.exit(done.returncode)\n",
         sys.executable, str(work / "runner.py"), str(work), str(DEMO)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert report_and_state.returncode == 0, report_and_state.stdout + report_and_state.stderr
    out = report_and_state.stdout.splitlines()
    report = json.loads([x for x in out if x.startswith("REPORT ")][-1][7:])
    state = json.loads([x for x in out if x.startswith("STATE ")][-1][6:])
    assert report["problem"] is None
    assert report["script"] == "Completed" and report["clarify"] == "Completed"
    assert (work / "results" / "total.txt").read_text() == "6"
    assert (work / "clarify" / "analysis.json").is_file()
    # The "host" /opt after both jobs: exactly what was there before.
    assert state == sorted(["/opt/ml=/", "/opt/ml/processing=/", "/opt/ml/processing/output=/",
                            "/opt/ml/processing/output/marker.txt=host\n", "/opt/vendor=/",
                            "/opt/vendor/tool.txt=tool\n"])
    (seen,) = [json.loads(line[4:]) for line in report["log"] if line.startswith("OPT ")]
    assert seen == ["ml", "vendor"]


#: A user without capabilities (uid 1000 of a user namespace): no mount namespace of its own.
UNPRIVILEGED = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]


@pytest.mark.skipif(not _can([*UNPRIVILEGED, "unshare", "--user", "--mount", "true"]),
                    reason="user namespaces are not available to unprivileged users on this machine")
def test_an_unprivileged_user_gets_a_private_opt_ml_through_a_user_namespace(tmp_path):
    assert not _can([*UNPRIVILEGED, "unshare", "--mount", "true"]), "this user may make mount namespaces directly"
    work = _work_folder(tmp_path)
    (work / "job.py").write_text(JOB_SCRIPT + "print('UID', os.getuid(), flush=True)\n")
    before = _opt_ml_state()
    report = _run_runner(UNPRIVILEGED, work)
    assert report["problem"] is None
    assert report["script"] == "Completed" and report["clarify"] == "Completed"
    assert "UID 1000" in report["log"]  # the job kept its user: no privilege was added
    assert (work / "results" / "total.txt").read_text() == "6"
    assert _opt_ml_state() == before


@pytest.mark.skipif(not _can(["unshare", "-Ur", "sh", "-c", "echo 0 > /proc/sys/user/max_user_namespaces"])
                    or not shutil.which("setpriv"),
                    reason="needs user namespaces to make a process that may make no namespace")
def test_without_any_namespace_scripts_are_refused_and_clarify_jobs_still_run(tmp_path):
    work = _work_folder(tmp_path)
    before = _opt_ml_state()
    # No capabilities (no mount namespace) and no user namespaces left to make.
    report = _run_runner(["unshare", "-Ur", "sh", "-c",
                          'echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --bounding-set=-all '
                          '--inh-caps=-all "$@"', "sh"], work)
    assert report["problem"] == (
        "cannot give the job a private /opt/ml: a mount namespace needs root (unshare(CLONE_NEWNS): Operation not "
        "permitted) and unprivileged user namespaces are not available here (unshare(CLONE_NEWUSER): No space left "
        "on device). Run as root, enable user namespaces (sysctl user.max_user_namespaces > 0, and "
        "kernel.unprivileged_userns_clone=1 where that setting exists), or run the job in a container")
    assert report["script"] == "refused"
    assert report["refusal"].startswith(report["problem"] + ". The job ")
    assert report["refusal"].endswith(
        "which would read and write the host's /opt/ml instead of its own layout, so it is refused. Jobs of the "
        "engine's own entrypoint (Processor without entrypoint, SageMakerClarifyProcessor) still run here")
    assert not (work / "results").exists()
    assert report["clarify"] == "Completed"
    analysis = json.loads((work / "clarify" / "analysis.json").read_text())
    assert list(analysis["pre_training_bias_metrics"]["facets"]) == ["Gender"]
    assert _opt_ml_state() == before


def test_a_relative_jobs_root_works(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = LocalSession(jobs_root="jobs", poll_seconds=0.05)
    assert session.jobs_root == tmp_path / "jobs"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # jobs must not depend on the folder the session was made in
    script = tmp_path / "job.py"
    script.write_text(JOB_SCRIPT)
    (tmp_path / "numbers.txt").write_text("7\n")
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    if session.isolation_problem():
        pytest.skip(session.isolation_problem())
    processor.run(code=str(script), inputs=[ProcessingInput(str(tmp_path / "numbers.txt"), "/opt/ml/processing/input/data")],
                  outputs=[ProcessingOutput("/opt/ml/processing/output", str(tmp_path / "results"))], logs=False)
    assert (tmp_path / "results" / "total.txt").read_text() == "7"
    assert (tmp_path / "jobs" / processor.latest_job.job_name / "job.log").is_file()


def test_a_command_that_cannot_start_fails_the_job_with_the_reason(tmp_path):
    session = LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05)
    script = tmp_path / "job.py"
    script.write_text("print('never')\n")
    if session.isolation_problem():
        pytest.skip(session.isolation_problem())
    processor = ScriptProcessor(command=["no-such-interpreter-x"], sagemaker_session=session)
    processor.run(code=str(script), wait=False, logs=False)
    with pytest.raises(UnexpectedStatusException) as info:
        processor.latest_job.wait(logs=False)
    assert str(info.value).endswith(
        "Reason: the job's command 'no-such-interpreter-x' could not be started (ENOENT: No such file or "
        "directory); check ContainerEntrypoint / the ScriptProcessor command")


def test_a_fault_of_the_session_itself_fails_the_job_instead_of_hanging_it(tmp_path, caplog):
    session = LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05)
    if session.isolation_problem():
        pytest.skip(session.isolation_problem())
    # The job replaces its session's log file by a folder: the session can no longer append to it, and
    # the first output it copies lands on a file where a folder is needed.
    script = tmp_path / "job.py"
    script.write_text("import os, sys\n"
                      "os.remove(sys.argv[1]); os.mkdir(sys.argv[1])\n"
                      "print('log file replaced', flush=True)\n"
                      "open('/opt/ml/processing/output/a.txt', 'w').write('a')\n")
    blocked = tmp_path / "results"
    blocked.write_text("a file where the output folder should be")
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    processor.run(code=str(script), arguments=[str(session.jobs_root / "sabotage-1" / "job.log")],
                  outputs=[ProcessingOutput("/opt/ml/processing/output", str(blocked))], job_name="sabotage-1",
                  wait=False, logs=False)
    with pytest.raises(UnexpectedStatusException, match="Reason: ClientError: uploading outputs failed: "):
        processor.latest_job.wait(logs=False)
    lines = session._job("sabotage-1").log_lines()
    assert "log file replaced" in lines  # kept in memory although the file could not take it
    assert any(r.levelname == "WARNING" and "cannot append to" in r.getMessage() for r in caplog.records)
