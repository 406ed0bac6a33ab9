"""Every path a local session writes stays under its root; what would leave it is refused.

Job names, container paths, output names, job folders and files a job leaves in its output
are each tried with values that lead outside (``..``, ``/``, symlinks); the message names
the value and the fix, and nothing is written outside.
"""

from __future__ import annotations

import os

import pytest

from clarify_engine.client import (
    LocalSession,
    ProcessingInput,
    ProcessingOutput,
    Processor,
    ScriptProcessor,
    UnexpectedStatusException,
)
from tests.client.test_local import DEMO, OUTPUT_DIR

JOB_NAME_RULE = ("a processing job name is 1 to 63 letters, digits and hyphens, starting and ending with a letter "
                 "or digit (SageMaker's pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$); pick a name like 'my-job-1'")


@pytest.fixture
def session(tmp_path):
    return LocalSession(jobs_root=tmp_path / "jobs", poll_seconds=0.05)


@pytest.mark.parametrize("name", ["../escape", "../../escape", "a/b", "..", "", "-x", "x" * 64, "name.with.dots"])
def test_a_job_name_that_is_not_sagemakers_is_refused(tmp_path, session, name):
    with pytest.raises(ValueError) as info:
        Processor(sagemaker_session=session).run(job_name=name, wait=False, logs=False)
    assert str(info.value) == f"job_name {name!r}: {JOB_NAME_RULE}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs"]
    assert list((tmp_path / "jobs").iterdir()) == []


@pytest.mark.parametrize("path", ["/opt/ml/processing/../../../../tmp/escape", "/opt/ml/processing/input/../..",
                                  "/tmp/escape", "opt/ml/processing/input", "/opt/ml/processing"])
def test_container_paths_outside_opt_ml_processing_are_refused(tmp_path, session, path):
    with pytest.raises(ValueError) as info:
        Processor(sagemaker_session=session).run(inputs=[ProcessingInput(str(DEMO / "loans.csv"), path)],
                                                 wait=False, logs=False)
    assert str(info.value) == (f"ProcessingInput 'input-1': container path {path!r} must lie below "
                               "/opt/ml/processing/ without '..' segments (SageMaker's rule), e.g. "
                               "'/opt/ml/processing/input/data'")
    with pytest.raises(ValueError, match="^ProcessingOutput 'output-1': container path "):
        Processor(sagemaker_session=session).run(outputs=[ProcessingOutput(path, str(tmp_path / "out"))],
                                                 wait=False, logs=False)
    assert list((tmp_path / "jobs").iterdir()) == []
    assert not (tmp_path / "escape").exists()


def test_an_output_name_cannot_place_the_default_destination_outside_the_job(tmp_path, session):
    with pytest.raises(ValueError) as info:
        Processor(sagemaker_session=session).run(
            outputs=[ProcessingOutput(OUTPUT_DIR, output_name="../../escape")], job_name="job-1", wait=False,
            logs=False)
    assert str(info.value) == ("ProcessingOutput output_name '../../escape': must be a plain name (letters, digits, "
                               "'-', '_'), as it names a folder under the job's folder")


def test_a_job_folder_left_by_an_earlier_session_is_not_reused(tmp_path):
    planted = tmp_path / "jobs" / "same-name" / "root" / "opt" / "ml" / "config"
    planted.mkdir(parents=True)
    victim = tmp_path / "victim.json"
    victim.write_text("keep")
    os.symlink(victim, planted / "processingjobconfig.json")
    session = LocalSession(jobs_root=tmp_path / "jobs")
    with pytest.raises(ValueError) as info:
        Processor(sagemaker_session=session).run(job_name="same-name", wait=False, logs=False)
    assert str(info.value) == (f"job folder {str(tmp_path / 'jobs' / 'same-name')!r} already exists (a job named "
                               "'same-name' ran with this jobs_root before); pick another job_name or jobs_root")
    assert victim.read_text() == "keep"


def test_a_symlink_in_the_output_cannot_hand_out_a_host_file(tmp_path, session):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    script = tmp_path / "job.py"
    script.write_text("import os, sys\n"
                      "os.symlink(sys.argv[1], '/opt/ml/processing/output/copied.txt')\n"
                      "open('/opt/ml/processing/output/real.txt', 'w').write('mine')\n")
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    if session.isolation_problem():
        pytest.skip(session.isolation_problem())
    processor.run(code=str(script), arguments=[str(secret)],
                  outputs=[ProcessingOutput(OUTPUT_DIR, str(tmp_path / "results"))], wait=False, logs=False)
    with pytest.raises(UnexpectedStatusException) as info:
        processor.latest_job.wait(logs=False)
    assert "Reason: ClientError: uploading outputs failed: output file /opt/ml/processing/output/copied.txt: " in str(
        info.value)
    assert f"leads to {str(secret)!r}, outside " in str(info.value)
    assert str(info.value).endswith("; refusing copying it. Use a name without '..' segments or symlinks that leave "
                                    "the folder")
    assert not (tmp_path / "results" / "copied.txt").exists()



def test_a_symlink_in_a_continuous_output_stops_the_sync_and_fails_the_job(tmp_path, session):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    results = tmp_path / "results"
    script = tmp_path / "job.py"
    script.write_text(
        "import os, pathlib, sys, time\n"
        "secret, results, job_log = sys.argv[1:4]\n"
        "open('/opt/ml/processing/output/real.txt', 'w').write('mine')\n"
        "def wait(test):\n"
        "    for _ in range(2400):\n"
        "        if test():\n"
        "            return\n"
        "        time.sleep(0.05)\n"
        "    sys.exit('timed out')\n"
        "wait(lambda: pathlib.Path(results, 'real.txt').exists())\n"
        "os.symlink(secret, '/opt/ml/processing/output/copied.txt')\n"
        "wait(lambda: 'Continuous output sync stopped' in pathlib.Path(job_log).read_text())\n")
    if session.isolation_problem():
        pytest.skip(session.isolation_problem())
    processor = ScriptProcessor(command=["python3"], sagemaker_session=session)
    processor.run(code=str(script), arguments=[str(secret), str(results), str(session.jobs_root / "cont-1/job.log")],
                  outputs=[ProcessingOutput(OUTPUT_DIR, str(results), s3_upload_mode="Continuous")],
                  job_name="cont-1", wait=False, logs=False)
    with pytest.raises(UnexpectedStatusException, match="uploading outputs failed: output file "):
        processor.latest_job.wait(logs=False)
    lines = session._job("cont-1").log_lines()
    assert any(line.startswith("Continuous output sync stopped: output file /opt/ml/processing/output/copied.txt: ")
               for line in lines), lines
    assert (results / "real.txt").read_text() == "mine" and not (results / "copied.txt").exists()
