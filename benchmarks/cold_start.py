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
    python benchmarks/cold_start.py --target-cost [--rows 200000] [--repeats 3] [--rounds 3]

``--target-cost`` measures what the portable target costs at run time instead: the CPU
seconds of the numba-heavy steps (every bias metric with FT; Kernel SHAP) compiled for the
host CPU and for ``generic``, in alternating processes (CPU time, best of repeats: robust to
other load on the machine, unlike wall time).

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


#: Numba-heavy steps timed in CPU seconds (process_time: all threads) by ``--target-cost``: every
#: bias metric with FT, on both facet kinds of bias_throughput's frame; Kernel SHAP on a linear
#: model (cheap, so the engine's kernels dominate). Warm cache, one warm-up call, best of repeats.
TARGET_COST = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from bias_throughput import make_frame, run_ours
from clarify_engine.explain import kernel_shap
rows, repeats = int(sys.argv[2]), int(sys.argv[3])
df = make_frame(rows)
rng = np.random.default_rng(0)
X = rng.normal(size=(max(rows // 1000, 20), 12))
w = rng.normal(size=(12, 1))
f = lambda x: x @ w
def bias():
    run_ours(df, "race", [1], True, 1)
    run_ours(df, "age", [40], True, 1)
def shap():
    kernel_shap(f, X, X[:10], seed=0)
out = {}
for name, step in (("bias", bias), ("shap", shap)):
    step()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        step()
        best = min(best, time.process_time() - t0)
    out[name] = best
print(json.dumps(out))
"""


def target_cost(rows: int, repeats: int, rounds: int) -> None:
    """CPU of the numba-heavy steps compiled for the host CPU vs ``generic``, rounds alternating."""
    print(f"CPU seconds, best of {repeats} per process, {rounds} rounds alternating (rows={rows})")
    print(f"{'round':>5} {'target':8} {'bias+FT CPU s':>13} {'Kernel SHAP CPU s':>17}")
    best: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="target-cost-") as tmp:
        for i in range(rounds):
            for target in ("host", "generic"):
                env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / target)}
                env.pop("NUMBA_CPU_NAME", None)
                if target == "generic":
                    env["NUMBA_CPU_NAME"] = "generic"
                done = subprocess.run([sys.executable, "-W", "ignore", "-c", TARGET_COST, str(Path(__file__).parent),
                                       str(rows), str(repeats)], capture_output=True, text=True, env=env)
                if done.returncode != 0:
                    raise SystemExit(done.stderr[-2000:])
                cost = json.loads(done.stdout.strip().splitlines()[-1])
                mine = best.setdefault(target, {})
                for key, value in cost.items():
                    mine[key] = min(mine.get(key, float("inf")), value)
                print(f"{i + 1:>5} {target:8} {cost['bias']:13.3f} {cost['shap']:17.3f}", flush=True)
    for key in ("bias", "shap"):
        print(f"best {key}: host {best['host'][key]:.3f} s, generic {best['generic'][key]:.3f} s, generic/host "
              f"{best['generic'][key] / best['host'][key]:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--rows", type=int, default=None, help="first N rows of the demo data (default: all 5000)")
    parser.add_argument("--cpu-name", default=None, help="NUMBA_CPU_NAME for every run (e.g. generic)")
    parser.add_argument("--target-cost", action="store_true",
                        help="instead: CPU of the numba-heavy steps compiled for the host CPU vs generic")
    parser.add_argument("--repeats", type=int, default=3, help="--target-cost: best of this many per process")
    parser.add_argument("--rounds", type=int, default=3, help="--target-cost: processes per target, alternating")
    args = parser.parse_args(argv)
    if args.target_cost:
        target_cost(args.rows or 200_000, args.repeats, args.rounds)
        return 0

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
