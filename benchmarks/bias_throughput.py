"""Bias-metric throughput: clarify-engine vs smclarify 0.5, side by side in one run.

For each size, a seeded synthetic frame (binary label and prediction, an integer-coded
categorical facet, a continuous facet, a group variable and three numeric features) is
written to Parquet; both engines compute every pre-training metric and every post-training
metric but FT for one facet, then FT alone. smclarify runs in its pinned environment
(``SMCLARIFY_PYTHON``, default ``<repo>/.smclarify-venv/bin/python``) on the same file.

Usage::

    python benchmarks/bias_throughput.py [--sizes 100000 1000000 10000000]
                                         [--smclarify-max 1000000] [--no-smclarify] [--no-ft]
                                         [--segments] [--n-boot 200] [--analyze] [--only-ft]

``--analyze`` times the whole in-memory job instead: ``clarify_engine.analyze(config, data=frame)``
with a realistic config (pre-training "all", post-training every metric but FT, the categorical
facet ``race`` [1] and the continuous facet ``age`` [40], group variable ``group``, predicted labels
in the data: :data:`ANALYZE_CONFIG`), best of ``--repeats`` without ``output_dir`` and, in the same
loop, with it (``analysis.json`` and ``run_manifest.json`` written); smclarify runs the same four
``bias_report`` calls (pre and post for each facet) on the same data. ``--facet-kinds categorical``
keeps only the categorical facet on both sides (smclarify's continuous facet is by far its slowest
part, so this is the harder comparison).

``--segments`` also times, per size, the plain run (pre + post, all but FT, categorical facet)
against per-segment bias on 5 segments of ``age`` (4 intervals + ``__default__``) and against
bootstrap intervals with ``--n-boot`` replicates; each is reported as seconds and as a multiple
of the plain run (the issue's bounds: segments at most 1.5x, 200 replicates at most 3x).

Not a test: it prints a table (seconds, rows/s, speed-up) and numba's first-call time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
PRE = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
POST_NO_FT = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "GE", "RD", "SD", "TE"]
FACETS = {"categorical": ("race", [1]), "continuous": ("age", [40])}

SMCLARIFY_SCRIPT = r"""
import json, sys, time, logging, warnings
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
import pandas as pd
from smclarify.bias.report import bias_report, FacetColumn, LabelColumn, StageType
path, jobs = sys.argv[1], json.loads(sys.argv[2])
df = pd.read_parquet(path)
out = {}
for key, facet, values, metrics in jobs:
    t0, c0 = time.perf_counter(), time.process_time()
    kw = {}
    if metrics != "pre":
        kw["predicted_label_column"] = LabelColumn("pred", df["pred"], [1])
    bias_report(df, FacetColumn(facet, list(values)), LabelColumn("label", df["label"], [1]),
                StageType.PRE_TRAINING if metrics == "pre" else StageType.POST_TRAINING,
                metrics=["all"] if metrics == "pre" else metrics, group_variable=df["group"], **kw)
    if metrics == "pre":  # pre and post are one job on our side
        pass
    out[key] = out.get(key, 0.0) + time.perf_counter() - t0
    out["cpu/" + key] = out.get("cpu/" + key, 0.0) + time.process_time() - c0
print(json.dumps(out))
"""


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """Seeded synthetic data; the label depends on the facets so metrics are not trivial."""
    rng = np.random.default_rng(seed)
    race = rng.integers(0, 4, n)
    age = rng.uniform(18, 90, n)
    x = rng.normal(size=(n, 3))
    logit = 0.8 * x[:, 0] - 0.5 * (race == 1) + 0.02 * (age - 50)
    label = (logit + rng.logistic(size=n) > 0).astype(np.int64)
    pred = (logit + 0.5 * rng.normal(size=n) > 0).astype(np.int64)
    return pd.DataFrame({"label": label, "pred": pred, "race": race, "age": age, "group": rng.integers(0, 10, n),
                         "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2]})  # fmt: skip


def run_ours(df: pd.DataFrame, facet: str, values, with_ft: bool, repeats: int, only_ft: bool = False) -> dict:
    from clarify_engine.bias import FacetSpec, bias_section

    spec = [FacetSpec(facet, values)]
    common = dict(label="label", label_values=[1], facets=spec, group_variable="group")
    best = {}
    for _ in range(repeats):
        if not only_ft:
            t0 = time.perf_counter()
            bias_section(df, stage="pre_training", methods="all", **common)
            bias_section(df, stage="post_training", methods=POST_NO_FT, predicted_label="pred", **common)
            best["all_but_ft"] = min(best.get("all_but_ft", np.inf), time.perf_counter() - t0)
        if with_ft:
            t0 = time.perf_counter()
            out = bias_section(df, stage="post_training", methods=["FT"], predicted_label="pred", **common)
            best["ft"] = min(best.get("ft", np.inf), time.perf_counter() - t0)
            assert "error" not in out["facets"][facet][0]["metrics"][0], out
    return best


#: The ``--analyze`` job: both stages, all metrics but FT, a categorical and a continuous facet, a group variable.
ANALYZE_CONFIG = {
    "dataset_type": "application/x-parquet", "label": "label", "label_values_or_threshold": [1],
    "predicted_label": "pred", "group_variable": "group",
    "facet": [{"name_or_index": "race", "value_or_threshold": [1]}, {"name_or_index": "age", "value_or_threshold": [40]}],
    "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": POST_NO_FT}},
}  # fmt: skip


def analyze_config(kinds) -> dict:
    """:data:`ANALYZE_CONFIG` with the facets of ``kinds`` (``"categorical"``, ``"continuous"``) only."""
    names = {FACETS[kind][0] for kind in kinds}
    return {**ANALYZE_CONFIG, "facet": [f for f in ANALYZE_CONFIG["facet"] if f["name_or_index"] in names]}


def run_analyze(df: pd.DataFrame, repeats: int, output_dir: str, config: dict = ANALYZE_CONFIG) -> dict:
    """Best seconds of ``analyze(ANALYZE_CONFIG, data=df)`` without and with ``output_dir``, alternating
    (wall clock, and the process's CPU time under ``cpu/``)."""
    from clarify_engine import analyze

    best = {}
    for _ in range(repeats):
        for key, out in (("memory", None), ("files", output_dir)):
            t0, c0 = time.perf_counter(), time.process_time()
            result = analyze(config, data=df, output_dir=out)
            best[key] = min(best.get(key, np.inf), time.perf_counter() - t0)
            best["cpu/" + key] = min(best.get("cpu/" + key, np.inf), time.process_time() - c0)
            assert not result.failed and "post_training_bias_metrics" in result.analysis, result.failed
    return best


def analyze_table(sizes: list[int], repeats: int, sm_python: str | None, smclarify_max: int, tmp: str,
                  kinds=tuple(FACETS)) -> None:
    """The ``--analyze`` table: the whole job against smclarify's ``bias_report`` calls (pre and
    post per facet of ``kinds``)."""
    config = analyze_config(kinds)
    run_analyze(make_frame(1000), 1, os.path.join(tmp, "warm"), config)  # numba kernels loaded
    parts = " + ".join({"categorical": "cat", "continuous": "cont"}[kind] for kind in kinds)
    header = (f"{'rows':>10} {'ours s':>9} {'ours rows/s':>13} {'ours+files s':>13} {'smclarify s':>12} "
              f"{f'({parts})':>16} {'speed-up':>9} {'w/ files':>9} {'ours CPU s':>11} {'smcl. CPU s':>12} "
              f"{'CPU ratio':>10}")
    print(header)
    print("-" * len(header))
    for n in sizes:
        df = make_frame(n)
        sm = None
        if sm_python is not None and n <= smclarify_max:
            path = os.path.join(tmp, f"analyze_{n}.parquet")
            df.to_parquet(path)
            sm = run_smclarify(sm_python, path, with_ft=False, kinds=kinds)
        ours = run_analyze(df, repeats, os.path.join(tmp, f"out_{n}"), config)
        cpu = ours["cpu/memory"]
        if sm is None:
            cols = f"{'-':>12} {'-':>16} {'-':>9} {'-':>9} {cpu:11.4f} {'-':>12} {'-':>10}"
        else:
            walls = [sm[f"{kind}/all_but_ft"] for kind in kinds]
            total, sm_cpu = sum(walls), sum(sm[f"cpu/{kind}/all_but_ft"] for kind in kinds)
            split = " + ".join(f"{w:.2f}" for w in walls)
            cols = (f"{total:12.3f} {split:>16} {total / ours['memory']:8.0f}x "
                    f"{total / ours['files']:8.0f}x {cpu:11.4f} {sm_cpu:12.3f} {sm_cpu / cpu:9.0f}x")
        print(f"{n:>10} {ours['memory']:9.4f} {n / ours['memory']:13,.0f} {ours['files']:13.4f} {cols}", flush=True)


#: The 5 segments of the ``--segments`` run: four age bands and the rest (__default__).
AGE_BANDS = ("[18, 30)", "[30, 45)", "[45, 60)", "[60, 75)")


def run_extensions(df: pd.DataFrame, n_boot: int, repeats: int) -> dict:
    """Best seconds of the plain run, of 5 segments and of ``n_boot`` bootstrap replicates."""
    from clarify_engine.bias import FacetSpec, bias_section
    from clarify_engine.bias._bootstrap import BootstrapSpec
    from clarify_engine.bias._extensions import bias_extensions
    from clarify_engine.bias import BiasSpec
    from clarify_engine.bias._segments import Segment, Segmentation, SegmentSpec, parse_interval

    facets = [FacetSpec("race", [1])]
    common = dict(label="label", label_values=[1], facets=facets, group_variable="group")
    requests = [BiasSpec.resolve(stage="pre_training", methods=PRE, **common),
                BiasSpec.resolve(stage="post_training", methods=POST_NO_FT, predicted_label="pred", **common)]
    segments = SegmentSpec((Segmentation("age", "age", "age", tuple(
        Segment((band,), band, (parse_interval(band, "benchmark"),)) for band in AGE_BANDS)),))

    def plain():
        bias_section(df, stage="pre_training", methods="all", **common)
        bias_section(df, stage="post_training", methods=POST_NO_FT, predicted_label="pred", **common)

    jobs = {"plain": plain,
            "segments": lambda: bias_extensions(df, requests, segments=segments),
            "intervals": lambda: bias_extensions(df, requests, bootstrap=BootstrapSpec(n_boot=n_boot))}
    best = {}
    for _ in range(repeats):
        for name, job in jobs.items():
            t0 = time.perf_counter()
            job()
            best[name] = min(best.get(name, np.inf), time.perf_counter() - t0)
    return best


def run_smclarify(python: str, path: str, with_ft: bool, kinds=tuple(FACETS), only_ft: bool = False) -> dict:
    jobs = []
    for kind, (facet, values) in FACETS.items():
        if kind not in kinds:
            continue
        if not only_ft:
            jobs.append([f"{kind}/all_but_ft", facet, values, "pre"])
            jobs.append([f"{kind}/all_but_ft", facet, values, POST_NO_FT])
        if with_ft:
            jobs.append([f"{kind}/ft", facet, values, ["FT"]])
    res = subprocess.run([python, "-c", SMCLARIFY_SCRIPT, path, json.dumps(jobs)], capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"smclarify run failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--smclarify-max", type=int, default=1_000_000, help="largest size smclarify is run on")
    ap.add_argument("--no-smclarify", action="store_true")
    ap.add_argument("--no-ft", action="store_true", help="skip the Flip Test")
    ap.add_argument("--ft-max", type=int, default=1_000_000, help="largest size FT is run on")
    ap.add_argument("--only-ft", action="store_true", help="time the Flip Test alone (not the other metrics)")
    ap.add_argument("--no-compile-time", action="store_true", help="skip the empty-cache compile measurement")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--segments", action="store_true",
                    help="also time 5 segments and bootstrap intervals against the plain run")
    ap.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates of --segments (default: 200)")
    ap.add_argument("--analyze", action="store_true",
                    help="time analyze(config, data=frame) (both stages, two facets, all but FT) instead")
    ap.add_argument("--facet-kinds", nargs="+", choices=list(FACETS), default=list(FACETS),
                    help="--analyze: the facets of the job (default: categorical continuous)")
    args = ap.parse_args(argv)

    python = os.environ.get("SMCLARIFY_PYTHON", str(REPO / ".smclarify-venv" / "bin" / "python"))
    use_sm = not args.no_smclarify
    if use_sm and not Path(python).exists():
        print(f"note: smclarify interpreter {python} not found; running clarify-engine only "
              "(set SMCLARIFY_PYTHON)")  # fmt: skip
        use_sm = False

    if args.analyze:
        with tempfile.TemporaryDirectory() as tmp:
            analyze_table(args.sizes, args.repeats, python if use_sm else None, args.smclarify_max, tmp,
                          tuple(args.facet_kinds))
        return 0

    # numba: compile time in a fresh process with an empty cache, then the warm-up here
    with tempfile.TemporaryDirectory() as cache:
        if args.no_compile_time:
            cache = ""
        code = ("import time; t0 = time.perf_counter(); import sys; sys.path.insert(0, %r); "
                "from bias_throughput import make_frame, run_ours; t1 = time.perf_counter(); "
                "run_ours(make_frame(5000), 'race', [1], True, 1); run_ours(make_frame(5000), 'age', [40], True, 1); "
                "print(time.perf_counter() - t1)") % str(Path(__file__).parent)  # fmt: skip
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        res = None if not cache else subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                                                    text=True, env=env)
        if res is not None and res.returncode == 0:
            print(f"numba compile, empty cache (every kernel, first calls): {float(res.stdout.split()[-1]):.2f} s")
    t0 = time.perf_counter()
    run_ours(make_frame(1000), "race", [1], with_ft=False, repeats=1)
    print(f"numba first call (compile or cache load) + warm-up: {time.perf_counter() - t0:.2f} s")
    from clarify_engine.bias import _kernels

    names = ("_count_outcomes", "_outcome_codes", "_interval_mask", "_lookup", "_code_small_ints")
    sig = {k: len(getattr(_kernels, k).signatures) for k in names if hasattr(_kernels, k)}  # older versions lack some
    print(f"compiled kernel signatures: {sig}")

    header = f"{'rows':>10} {'facet':<12} {'metrics':<12} {'ours s':>9} {'ours rows/s':>13} {'smclarify s':>12} {'speed-up':>9}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            df = make_frame(n)
            sm = {}
            with_ft = not args.no_ft and n <= args.ft_max
            if use_sm and n <= args.smclarify_max:
                path = os.path.join(tmp, f"bias_{n}.parquet")
                df.to_parquet(path)
                sm = run_smclarify(python, path, with_ft, only_ft=args.only_ft)
            for kind, (facet, values) in FACETS.items():
                ours = run_ours(df, facet, values, with_ft, args.repeats, only_ft=args.only_ft)
                for part in ("all_but_ft", "ft"):
                    if part not in ours:
                        continue
                    ref = sm.get(f"{kind}/{part}")
                    ref_s = f"{ref:12.3f}" if ref is not None else f"{'-':>12}"
                    ratio = f"{ref / ours[part]:8.0f}x" if ref is not None else f"{'-':>9}"
                    label = "all but FT" if part == "all_but_ft" else "FT"
                    print(f"{n:>10} {kind:<12} {label:<12} {ours[part]:9.3f} {n / ours[part]:13,.0f} {ref_s} {ratio}",
                          flush=True)  # fmt: skip
    if args.segments:
        run_extensions(make_frame(1000), args.n_boot, 1)  # compile the segment kernel
        header = f"{'rows':>10} {'plain s':>9} {'5 segments s':>13} {'x plain':>8} {f'{args.n_boot} replicates s':>17} {'x plain':>8}"
        print(header)
        print("-" * len(header))
        for n in args.sizes:
            t = run_extensions(make_frame(n), args.n_boot, args.repeats)
            print(f"{n:>10} {t['plain']:9.3f} {t['segments']:13.3f} {t['segments'] / t['plain']:7.2f}x "
                  f"{t['intervals']:17.3f} {t['intervals'] / t['plain']:7.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
