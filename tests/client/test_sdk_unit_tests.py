"""The SageMaker SDK 2.199.0's own unit tests for the processing classes, run against this client.

``tools/run_sdk_unit_tests.py`` copies the vendored SDK test files with only their imports
changed and runs them; ``tests/fixtures/sdk_unit_tests/outcomes.json`` holds which pass, both
without the SDK installed (their ``patch("sagemaker....")`` targets are missing) and with the
pinned SDK's site-packages at the end of the path (``--sdk-site``). The reasons for every
failing test are in ``docs/client.md`` ("The SDK's own unit tests").
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from tests.client.sdk_recordings import load_tool

ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = json.loads((ROOT / "tests" / "fixtures" / "sdk_unit_tests" / "outcomes.json").read_text())
#: A site-packages folder holding sagemaker==2.199.0 (the venv of tools/record_sdk_requests.py).
SDK_SITE = os.environ.get("CLARIFY_ENGINE_SDK_SITE_PACKAGES")


HARNESS = load_tool("run_sdk_unit_tests")


def _without_imports(source: str) -> list[str]:
    tree = ast.parse(source)
    drop = {line for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)}
    return [line for i, line in enumerate(source.splitlines(), 1) if i not in drop]


@pytest.mark.parametrize("rel", HARNESS.FILES)
def test_only_the_imports_change(rel):
    original = (HARNESS.VENDORED / f"{rel}.txt").read_text()
    rewritten = HARNESS.rewrite_imports(original)
    stand_ins = [line for line in rewritten.splitlines() if " = not_offered(" in line]
    # every SDK name is either this client's or a stand-in named after it; no sagemaker import is left
    assert stand_ins and all(line.split(" = not_offered(")[1].startswith(("'sagemaker.", "'tests."))
                             for line in stand_ins)
    assert "import sagemaker" not in rewritten and "from sagemaker" not in rewritten
    assert "from _sdk_stand_ins import not_offered" in rewritten.splitlines()
    kept = [line for line in _without_imports(rewritten) if line not in stand_ins]
    assert kept == _without_imports(original)


def test_the_vendored_files_are_the_sdks_with_its_licence():
    vendored = HARNESS.VENDORED
    assert (vendored / "LICENSE.txt").read_text().lstrip().startswith("Apache License")
    assert "Amazon SageMaker Python SDK" in (vendored / "NOTICE.txt").read_text()
    assert (vendored / "tests/unit/test_processing.py.txt").read_text().startswith(
        "# Copyright Amazon.com, Inc. or its affiliates. All Rights Reserved.")


@pytest.mark.slow
def test_outcomes_without_the_sdk(tmp_path):
    outcomes = HARNESS.run(tmp_path)
    assert {k: "passed" if v == "passed" else "failed" for k, v in outcomes.items()} == OUTCOMES["without_sdk"]


@pytest.mark.slow
@pytest.mark.skipif(not SDK_SITE, reason="set CLARIFY_ENGINE_SDK_SITE_PACKAGES to the site-packages of the pinned "
                                         "SDK venv (tools/record_sdk_requests.py) to run the SDK's tests with it")
def test_outcomes_with_the_sdk_importable(tmp_path):
    outcomes = HARNESS.run(tmp_path, SDK_SITE)
    assert {k: "passed" if v == "passed" else "failed" for k, v in outcomes.items()} == OUTCOMES["with_sdk"]
