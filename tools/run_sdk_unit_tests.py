"""Run the SageMaker SDK 2.199.0's own unit tests for the processing classes against clarify_engine.client.

The test files are vendored, unchanged, under ``tests/fixtures/sdk_unit_tests/`` (Apache-2.0,
with the SDK's ``LICENSE.txt`` and ``NOTICE.txt``; stored as ``.py.txt`` so this project's
pytest and ruff leave them alone). Nothing is fetched:

    PYTHONPATH=$PWD python tools/run_sdk_unit_tests.py [--json]

Each file is copied to a temporary folder with **only its import statements changed**:

* a name this client offers comes from it (``sagemaker.processing.ScriptProcessor`` →
  ``clarify_engine.client.ScriptProcessor``, ``sagemaker.spark.processing.*`` →
  ``clarify_engine.client.spark``, ``sagemaker.workflow.functions.Join`` →
  ``clarify_engine.client.workflow.Join``, ...), ``mock`` is ``unittest.mock``;
* a name it does not offer (``SKLearnProcessor``, ``SessionSettings``, ``_HistoryServer``,
  ``_PipelineConfig``, the SDK's config test data, ...) is bound to a stand-in made by
  :func:`not_offered`: the module still imports (several are used at module level or in every
  fixture), and a test that *uses* one fails with ``NotImplementedError`` naming it.

The SDK tests' own ``patch("sagemaker....")`` targets are left as they are: no ``sagemaker``
package is installed, so a test that patches an SDK module fails with ``ModuleNotFoundError``.

Then pytest runs them (``-p no:cacheprovider``, a JUnit XML report) and this prints each
test's outcome with the first line of its failure, and the counts; ``--json`` prints
``{"counts": ..., "tests": {name: "passed" | first line}}`` instead. The reasons each failing
test cannot pass are listed in ``docs/client.md`` ("The SDK's own unit tests") and checked
by ``tests/client/test_sdk_unit_tests.py``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENDORED = REPO / "tests" / "fixtures" / "sdk_unit_tests"
FILES = ["tests/unit/test_processing.py", "tests/unit/sagemaker/spark/test_processing.py"]

CLIENT = "clarify_engine.client"
#: (SDK module, name) -> module of this client that offers the name.
OFFERED = {
    **{("sagemaker", n): CLIENT for n in ("LocalSession", "Session")},
    **{("sagemaker.dataset_definition.inputs", n): CLIENT
       for n in ("S3Input", "DatasetDefinition", "AthenaDatasetDefinition", "RedshiftDatasetDefinition")},
    **{("sagemaker.processing", n): CLIENT
       for n in ("ProcessingInput", "ProcessingOutput", "Processor", "ScriptProcessor", "ProcessingJob",
                 "FeatureStoreOutput", "FrameworkProcessor", "RunArgs")},
    ("sagemaker.network", "NetworkConfig"): CLIENT,
    ("sagemaker.workflow.pipeline_context", "PipelineSession"): CLIENT,
    **{("sagemaker.spark.processing", n): f"{CLIENT}.spark"
       for n in ("PySparkProcessor", "SparkJarProcessor", "FileType", "SparkConfigUtils")},
    ("sagemaker.spark.processing", "_SparkProcessorBase"): f"{CLIENT}.spark.processing",
    ("sagemaker.workflow.functions", "Join"): f"{CLIENT}.workflow",
    ("sagemaker.workflow.execution_variables", "ExecutionVariables"): f"{CLIENT}.workflow",
}
#: Modules replaced whole (the SDK tests use the ``mock`` backport).
MODULES = {"mock": "unittest.mock", "mock.mock": "unittest.mock"}

STAND_INS = '''"""Stand-ins for the SDK names clarify_engine.client does not offer (tools/run_sdk_unit_tests.py)."""


def not_offered(qualified_name):
    """A class that can be made and passed around, and raises NotImplementedError when used."""

    def _refuse(self, *args, **kwargs):
        raise NotImplementedError(f"{qualified_name} is not offered by clarify_engine.client")

    def _init(self, *args, **kwargs):
        pass

    def _getattr(self, name):
        raise NotImplementedError(f"{qualified_name}.{name} is not offered by clarify_engine.client")

    return type(qualified_name.rsplit(".", 1)[-1], (), {"__init__": _init, "__getattr__": _getattr,
                                                        "__call__": _refuse})
'''


def _import_lines(node: ast.stmt) -> list[str]:
    """The statements that replace one import statement of an SDK test file."""
    if isinstance(node, ast.Import):
        return [f"import {MODULES[a.name]} as {a.asname or a.name}" if a.name in MODULES else f"import {a.name}"
                + (f" as {a.asname}" if a.asname else "") for a in node.names]
    assert isinstance(node, ast.ImportFrom)
    module = node.module or ""
    if module in MODULES:
        return [f"from {MODULES[module]} import " + ", ".join(
            f"{a.name} as {a.asname}" if a.asname else a.name for a in node.names)]
    if not (module == "sagemaker" or module.startswith(("sagemaker.", "tests."))):
        return [ast.unparse(node)]
    lines = []
    for alias in node.names:
        local = alias.asname or alias.name
        target = OFFERED.get((module, alias.name))
        if target:
            lines.append(f"from {target} import {alias.name} as {local}")
        else:
            lines.append(f"{local} = not_offered({module + '.' + alias.name!r})")
    return lines


def rewrite_imports(source: str) -> str:
    """``source`` with its top-level import statements rewritten (:data:`OFFERED`), the rest unchanged."""
    tree = ast.parse(source)
    lines = source.splitlines()
    out: list[str] = []
    done = 0
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or \
                (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            continue
        out.extend(lines[done:node.lineno - 1])
        out.extend(_import_lines(node))
        done = node.end_lineno or node.lineno
    out.extend(lines[done:])
    text = "\n".join(out) + "\n"
    # after ``from __future__`` (it must stay first), the stand-in factory
    future_end = max((n.end_lineno or 0 for n in tree.body
                      if isinstance(n, ast.ImportFrom) and n.module == "__future__"), default=0)
    head, tail = text.splitlines(keepends=True)[:future_end], text.splitlines(keepends=True)[future_end:]
    return "".join(head) + "from _sdk_stand_ins import not_offered\n" + "".join(tail)


def run(workdir: Path, sdk_site: str | None = None) -> dict:
    """Copy, rewrite and run the vendored tests in ``workdir``; ``{test id: "passed" | first failure line}``.

    ``sdk_site``: a site-packages folder holding ``sagemaker`` 2.199.0, put at the *end* of the
    tests' ``sys.path`` so their ``patch("sagemaker....")`` targets exist (this client's
    modules and this venv's packages still come first).
    """
    (workdir / "_sdk_stand_ins.py").write_text(STAND_INS)
    if sdk_site:
        (workdir / "conftest.py").write_text(f"import sys\n\nsys.path.append({sdk_site!r})\n")
    targets = []
    for rel in FILES:
        target = workdir / rel.replace("/", "__")
        target.write_text(rewrite_imports((VENDORED / f"{rel}.txt").read_text()))
        targets.append(target.name)
    report = workdir / "report.xml"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(workdir), str(REPO), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                    "--rootdir", str(workdir), "-o", "addopts=", f"--junitxml={report}"],
                   cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")[0].replace("__", "/") + ".py"
        name = f"{module}::{case.get('name')}"
        problem = next((child for child in case if child.tag in ("failure", "error")), None)
        skipped = next((child for child in case if child.tag == "skipped"), None)
        if problem is not None:
            outcomes[name] = (problem.get("message") or "").strip().splitlines()[0][:300] if problem.get("message") \
                else "error"
        elif skipped is not None:
            outcomes[name] = "skipped"
        else:
            outcomes[name] = "passed"
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    parser.add_argument("--sdk-site", help="site-packages of the pinned SDK venv (tools/record_sdk_requests.py), "
                                           "so that the tests' patch() targets in sagemaker exist")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sdk-unit-tests-") as tmp:
        outcomes = run(Path(tmp), args.sdk_site)
    counts = {"passed": sum(v == "passed" for v in outcomes.values()),
              "failed": sum(v not in ("passed", "skipped") for v in outcomes.values()),
              "skipped": sum(v == "skipped" for v in outcomes.values()), "total": len(outcomes)}
    if args.json:
        sys.stdout.write(json.dumps({"counts": counts, "tests": outcomes}, indent=1, sort_keys=True) + "\n")
    else:
        for name, outcome in sorted(outcomes.items()):
            sys.stdout.write(f"{'PASS' if outcome == 'passed' else 'FAIL'} {name}"
                             f"{'' if outcome == 'passed' else ': ' + outcome}\n")
        sys.stdout.write(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
                         f"of {counts['total']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
