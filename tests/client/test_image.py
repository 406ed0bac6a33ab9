"""The image: Dockerfile rules, pinned requirements, and its install step replayed in a fresh venv.

Docker does not run on the test machines, so the install step of ``container/Dockerfile``
(the same two pip commands, on the same files it copies) is replayed in a new virtual
environment, and its ``clarify-engine container`` entrypoint runs a pre-training job there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv

import pytest


from tests.helpers import REPO

CONTAINER = REPO / "container"
DOCKERFILE = CONTAINER / "Dockerfile"
REQUIREMENTS = CONTAINER / "requirements.txt"
INSTALL_REQUIREMENTS = "pip install --no-cache-dir --no-deps -r requirements.txt"
INSTALL_ENGINE = "pip install --no-cache-dir --no-deps ."
# (jsonschema is a runtime dependency: nbformat validates report.ipynb with it)
TEST_ONLY = {"pytest", "pytest-timeout", "hypothesis", "moto", "xgboost-cpu", "shap"}
#: System packages the final stage may install: the run-time libraries of WeasyPrint, and fonts.
RUNTIME_APT = {"libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"}


def _final_stage() -> str:
    text = DOCKERFILE.read_text()
    return text[text.rindex("\nFROM "):]


def _pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep, f"{REQUIREMENTS}: {line!r} is not pinned with =="
            pins[name] = version
    return pins


def test_dockerfile_runs_the_entrypoint_as_a_non_root_user_from_a_slim_base():
    text = DOCKERFILE.read_text()
    final = _final_stage()
    assert re.search(r"^FROM python:3\.\d+-slim\s*$", final.strip().splitlines()[0]), final.splitlines()[1]
    users = re.findall(r"^USER (\S+)", final, flags=re.M)
    assert users and users[-1] not in ("root", "0"), users
    assert final.strip().splitlines()[-1] == 'ENTRYPOINT ["clarify-engine", "container"]'
    assert INSTALL_REQUIREMENTS in text and INSTALL_ENGINE in text
    assert "COPY container/requirements.txt ./requirements.txt" in text


def test_final_stage_installs_no_compilers_or_build_tools():
    final = _final_stage()
    assert "gcc" not in final and "build-essential" not in final and "-dev" not in final
    installed = re.findall(r"apt-get install -y --no-install-recommends ([^\\&\n]+)", final)
    assert final.count("apt-get install") == len(installed)
    assert {name for line in installed for name in line.split()} <= RUNTIME_APT, installed
    assert "pip install" not in final  # everything comes from the build stage's venv


def test_requirements_are_the_runtime_closure():
    """Every runtime dependency (and what it pulls in) is pinned, and nothing test-only.

    Only the names are compared with this environment: the pinned versions are those of the
    environment the image was last pinned in, and newer releases on the registry must not
    fail CI (the replay test below checks that the pins install together and run).
    """
    pins = _pins()
    assert not TEST_ONLY & set(pins), TEST_ONLY & set(pins)
    for name in ("numpy", "pandas", "pyarrow", "numba", "scikit-learn", "boto3", "orjson", "jmespath", "s3fs"):
        assert name in pins, f"{name} missing from {REQUIREMENTS}"
    generated = subprocess.run([sys.executable, str(CONTAINER / "pin_requirements.py"), str(REPO / "pyproject.toml")],
                               capture_output=True, text=True, check=True).stdout
    names = {line.split("==")[0] for line in generated.splitlines() if "==" in line}
    assert names == set(pins), ("the runtime closure changed; regenerate with "
                                "python container/pin_requirements.py pyproject.toml > container/requirements.txt",
                                names ^ set(pins))


@pytest.mark.slow  # a full pip install into a new venv: about 5 minutes on 2 cores
def test_install_step_replayed_in_a_fresh_venv_runs_the_container_entrypoint(tmp_path):
    # The build context as the Dockerfile copies it.
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(REQUIREMENTS, src / "requirements.txt")
    shutil.copy(REPO / "pyproject.toml", src / "pyproject.toml")
    shutil.copy(REPO / "README.md", src / "README.md")
    shutil.copytree(REPO / "clarify_engine", src / "clarify_engine",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    started = time.monotonic()
    for command in (INSTALL_REQUIREMENTS, INSTALL_ENGINE):
        words = command.split()
        result = subprocess.run([str(bin_dir / "python"), "-m", *words], cwd=src, env=clean_env,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    install_seconds = time.monotonic() - started

    root = tmp_path / "layout"
    config = json.loads((REPO / "clarify_engine/demo/analysis_config.json").read_text())
    config["methods"] = {"pre_training_bias": {"methods": "all"}, "report": {"name": "report"}}
    config.pop("predictor")
    (root / "opt/ml/processing/input/config").mkdir(parents=True)
    (root / "opt/ml/processing/input/config/analysis_config.json").write_text(json.dumps(config))
    (root / "opt/ml/processing/input/data").mkdir(parents=True)
    shutil.copy(REPO / "clarify_engine/demo/loans.csv", root / "opt/ml/processing/input/data/loans.csv")
    run = subprocess.run([str(bin_dir / "clarify-engine"), "container"], cwd=tmp_path,
                         env={**clean_env, "CLARIFY_PROCESSING_ROOT": str(root)},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    analysis = json.loads((root / "opt/ml/processing/output/analysis.json").read_text())
    facets = analysis["pre_training_bias_metrics"]["facets"]
    assert set(facets) == {"Gender", "Occupation"}
    assert {m["name"] for m in facets["Gender"][0]["metrics"]} >= {"CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"}
    for name in ("report.html", "report.ipynb", "report.pdf"):  # the report extra is in the image
        assert (root / "opt/ml/processing/output" / name).is_file(), run.stdout[-3000:]
    # The engine in the venv is the copy, not the repository checkout.
    where = subprocess.run([str(bin_dir / "python"), "-c", "import clarify_engine; print(clarify_engine.__file__)"],
                           env=clean_env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where, where
    print(f"install step replayed in {install_seconds:.1f} s")
