"""FrameworkProcessor locally: the SDK's bundle and runproc.sh, run in a venv of their own.

The job's ``requirements.txt`` names ``inflection`` (not installed in the project's environment),
so the job only succeeds when its venv really got it from the package index; the second job with
the same requirements reuses that venv. SageMaker requests are compared in ``test_sdk_requests.py``.
"""

from __future__ import annotations

import importlib.util
import json
import tarfile
from pathlib import Path

import pytest

from clarify_engine.client import LocalSession, ProcessingOutput, UnexpectedStatusException
from clarify_engine.client._framework import FrameworkProcessor
from clarify_engine.client._framework_venv import requirements_of, venv_key

FILES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_requests" / "files"
RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_requests" / "framework-source-dir.meta.json"


class SKLearn:
    _framework_name = "sklearn"


@pytest.fixture
def venv_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("venvs")
    monkeypatch.setenv("CLARIFY_ENGINE_VENV_CACHE", str(cache))
    return cache


@pytest.mark.slow  # two jobs and a venv made with pip: over a minute on a loaded machine
def test_a_job_with_requirements_from_the_index_runs_in_its_own_cached_venv(tmp_path, venv_cache):
    assert importlib.util.find_spec("inflection") is None, "the test needs a package the project does not have"
    session = LocalSession(jobs_root=tmp_path / "jobs")
    processor = FrameworkProcessor(SKLearn, "1.2-1", sagemaker_session=session)
    assert processor.base_job_name == "sklearn"
    for n, word in enumerate(["hello_world", "second_run"]):
        processor.run("job.py", source_dir=str(FILES / "src"), dependencies=[str(FILES / "deps")],
                      arguments=[word], job_name=f"fw-{n}", logs=False,
                      outputs=[ProcessingOutput(source="/opt/ml/processing/output", destination=str(tmp_path / f"out{n}"))])
        desc = processor.latest_job.describe()
        assert desc["ProcessingJobStatus"] == "Completed", desc.get("FailureReason")
    assert (tmp_path / "out0" / "result.txt").read_text() == "HELLOWORLD!\n"
    assert (tmp_path / "out1" / "result.txt").read_text() == "SECONDRUN!\n"
    logs = [(tmp_path / "jobs" / f"fw-{n}" / "job.log").read_text() for n in (0, 1)]
    assert "Framework venv: installing requirements.txt" in logs[0]
    assert "Framework venv: reusing" in logs[1] and "installing requirements.txt" not in logs[1]
    assert [p.name for p in venv_cache.iterdir() if p.is_dir()] == [
        venv_key((FILES / "src" / "requirements.txt").read_bytes())]
    assert importlib.util.find_spec("inflection") is None  # nothing went into the project's environment
    # The request is the SDK's: bundle as input "code", runproc.sh as "entrypoint", bash runs it.
    assert desc["AppSpecification"]["ContainerEntrypoint"] == ["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"]
    assert [(i["InputName"], i["S3Input"]["LocalPath"]) for i in desc["ProcessingInputs"]] == [
        ("code", "/opt/ml/processing/input/code/"), ("entrypoint", "/opt/ml/processing/input/entrypoint")]
    staged = session.jobs_root / ".staging" / "fw-1" / "source"
    recorded = json.loads(RECORDED.read_text())["s3_bodies"]
    assert (staged / "runproc.sh").read_text() == next(iter(recorded.values()))
    with tarfile.open(staged / "sourcedir.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["deps", "deps/util.py", "job.py", "requirements.txt"]
    assert requirements_of(staged / "sourcedir.tar.gz") == b"inflection==0.5.1\n"


def test_a_requirement_no_index_has_fails_the_job_with_pips_reason(tmp_path, venv_cache):
    src = tmp_path / "src"
    src.mkdir()
    (src / "run.py").write_text("print('never runs')\n")
    (src / "requirements.txt").write_text("clarify-engine-no-such-package-xyz==1.0\n")
    processor = FrameworkProcessor(SKLearn, "1.2-1", sagemaker_session=LocalSession(jobs_root=tmp_path / "jobs"))
    with pytest.raises(UnexpectedStatusException) as info:
        processor.run("run.py", source_dir=str(src), logs=False)
    reason = processor.latest_job.describe()["FailureReason"]
    assert reason.startswith("ClientError: the job's virtual environment could not be made: ")
    assert "clarify-engine-no-such-package-xyz" in reason and reason in str(info.value)


def test_a_failing_script_fails_the_job(tmp_path, venv_cache):
    script = tmp_path / "fail.py"
    script.write_text("import sys\nopen('/opt/ml/output/message', 'w').write('bad rows: 3')\nsys.exit(4)\n")
    processor = FrameworkProcessor(SKLearn, "1.2-1", sagemaker_session=LocalSession(jobs_root=tmp_path / "jobs"))
    with pytest.raises(UnexpectedStatusException, match="Failed. Reason: bad rows: 3"):
        processor.run(str(script), logs=False)


def test_framework_processor_errors(tmp_path):
    session = LocalSession(jobs_root=tmp_path / "jobs")
    processor = FrameworkProcessor(SKLearn, "1.2-1", sagemaker_session=session)
    with pytest.raises(ValueError, match=r"^FrameworkProcessor.run\(git_config=...\) is not supported"):
        processor.run("run.py", git_config={"repo": "https://example.invalid/x.git"})
    with pytest.raises(ValueError, match=r"^code run\.py: no such file in source_dir .*; pass the script's path"):
        processor.run("run.py", source_dir=str(tmp_path))


def test_the_image_comes_from_an_sdk_estimator_class(tmp_path):
    class Estimator:
        _framework_name = "xgboost"
        made_with: dict = {}

        def __init__(self, **kwargs):
            Estimator.made_with = kwargs
            self.base_job_name = None

        def training_image_uri(self):
            return f"img:{Estimator.made_with['framework_version']}-{Estimator.made_with['py_version']}"

    processor = FrameworkProcessor(Estimator, "1.7-1", sagemaker_session=LocalSession(jobs_root=tmp_path / "jobs"))
    assert (processor.image_uri, processor.base_job_name) == ("img:1.7-1-py3", "xgboost")
    assert Estimator.made_with["instance_count"] == 1 and Estimator.made_with["disable_profiler"] is True
