"""Cold start: CPU and wall time of real runs with an empty vs a warm numba cache, side by side.

Each workload runs as its own ``python -m clarify_engine.cli ...`` process, twice on one
fresh ``NUMBA_CACHE_DIR``: first empty (cold: every kernel the run needs is compiled), then
again (warm: kernels load from the cache). CPU is the child's user + system time
(``RUSAGE_CHILDREN``, model-server subprocesses included). Python's own bytecode caches are
warm in both runs. The last column says whether the run logged that it compiled kernels.

Workloads
---------
demo       ``clarify-engine demo``: bias, Kernel SHAP and PDP on the shipped data, model over HTTP
bias       ``analyze`` of pre- and post-training bias (all metrics) on the demo data, model file in-process
validate   ``validate`` of the demo config naming an endpoint (no data): imports nothing heavy
validate-data  ``validate --data --model`` of the demo config
version    ``--version``

Usage::

    python benchmarks/cold_start.py [--workloads demo bias validate validate-data version]
                                    [--rows N] [--cpu-name generic]

``--rows`` samples the demo data (bias and validate-data); ``--cpu-name`` sets
``NUMBA_CPU_NAME`` for every run (``generic``: the portable target the container image ships).
Not a test: it prints a table; the figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "clarify_engine" / "demo"
NOTICE = "Compiling numeric kernels"
WORKLOADS = ("demo", "bias", "validate", "validate-data", "version")


def _write_inputs(folder: Path, rows: int | None) -> dict[str, Path]:
    """The bias config and (sampled) data the workloads read, written with the standard library only."""
    config = json.loads((DEMO / "analysis_config.json").read_text())
    bias = dict(config, methods={"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}})
    (folder / "bias_config.json").write_text(json.dumps(bias))
    # As a SageMaker job's config names its endpoint (validate does not call it).
    endpoint = dict(config, predictor={**config["predictor"], "endpoint_name": "loans-endpoint"})
    (folder / "endpoint_config.json").write_text(json.dumps(endpoint))
    data = folder / "data.csv"
    lines = (DEMO / "loans.csv").read_text().splitlines(keepends=True)
    data.write_text("".join(lines if rows is None else lines[: rows + 1]))
    return {"bias_config": folder / "bias_config.json", "endpoint_config": folder / "endpoint_config.json",
            "data": data}


def _command(workload: str, inputs: dict[str, Path], out: Path) -> list[str]:
    cli = [sys.executable, "-m", "clarify_engine.cli"]
    model = str(DEMO / "loans_model.joblib")
    config = str(DEMO / "analysis_config.json")
    return {
        "demo": [*cli, "demo", "--output", str(out / "demo")],
        "bias": [*cli, "analyze", "--config", str(inputs["bias_config"]), "--data", str(inputs["data"]),
                 "--model", model, "--output", str(out / "bias")],
        "validate": [*cli, "validate", str(inputs["endpoint_config"])],
        "validate-data": [*cli, "validate", config, "--data", str(inputs["data"]), "--model", model],
        "version": [*cli, "--version"],
    }[workload]


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float, bool]:
    """(CPU seconds, wall seconds, whether the compile notice was logged) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, NOTICE in done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--rows", type=int, default=None, help="first N rows of the demo data (default: all 5000)")
    parser.add_argument("--cpu-name", default=None, help="NUMBA_CPU_NAME for every run (e.g. generic)")
    args = parser.parse_args(argv)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, NUMBA_CPU_NAME={args.cpu_name or '(host)'}, "
          f"rows={args.rows or 'all'}")
    print(f"{'workload':14} {'cold CPU s':>10} {'cold wall s':>11} {'warm CPU s':>10} {'warm wall s':>11} "
          f"{'compile notice cold/warm':>25}")
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        folder = Path(tmp)
        inputs = _write_inputs(folder, args.rows)
        for workload in args.workloads:
            cache = folder / f"numba-cache-{workload}"
            cache.mkdir()
            env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
            env.pop("NUMBA_CPU_NAME", None)
            if args.cpu_name:
                env["NUMBA_CPU_NAME"] = args.cpu_name
            cold = run_once(_command(workload, inputs, folder / "cold"), env)
            warm = run_once(_command(workload, inputs, folder / "warm"), env)
            notices = f"{'yes' if cold[2] else 'no'}/{'yes' if warm[2] else 'no'}"
            print(f"{workload:14} {cold[0]:10.2f} {cold[1]:11.2f} {warm[0]:10.2f} {warm[1]:11.2f} {notices:>25}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
