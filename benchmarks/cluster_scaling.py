"""Rows per second of a job on a Dask cluster of 1, 2 and 4 workers, beside the same job in one process.

Two jobs against the project's model server (a random forest trained on the demo data, served
over HTTP by ``python -m clarify_engine.serve``, a process of its own):

* bias: pre- and post-training bias, all metrics (FT included), on ``--bias-rows`` rows: the
  model predicts every row's label (on the workers), the metrics are computed on the client;
* shap: Kernel SHAP of ``--shap-rows`` records (12-row k-means baseline, 40 coalitions, seed 5):
  shards of records on the workers, each sending its synthetic rows to the server.

Each run is checked to give the bytes of the single-process run (analysis.json and out.csv).
Workers are ``LocalCluster(processes=True, threads_per_worker=1)`` on this machine: with its 2
cores, the model server and the workers share the same CPUs, so what the table can show is the
overhead of the cluster and whether the model server stays busy, not a speed-up beyond 2 cores.

Usage: python benchmarks/cluster_scaling.py [--bias-rows 20000] [--shap-rows 400] [--workers 1 2 4] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import joblib
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import clarify_engine  # noqa: E402
from clarify_engine.cluster import Cluster  # noqa: E402
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA  # noqa: E402
from tests.helpers import ServerProcess  # noqa: E402


def _configs() -> dict[str, dict]:
    base = json.loads(DEMO_CONFIG.read_text())
    bias = {**base, "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}}
    shap = {**base, "methods": {"shap": {"num_clusters": 12, "num_samples": 40, "seed": 5,
                                         "save_local_shap_values": True}}}
    return {"bias": bias, "shap": shap}


def _run(config, data, url, out, cluster=None) -> tuple[float, bytes]:
    started = time.perf_counter()
    clarify_engine.analyze(config, data=data, model=url, output_dir=out, cluster=cluster)
    seconds = time.perf_counter() - started
    files = [out / "analysis.json", out / "explanations_shap" / "out.csv"]
    return seconds, b"".join(f.read_bytes() for f in files if f.is_file())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bias-rows", type=int, default=20_000)
    parser.add_argument("--shap-rows", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=2, help="runs per cell; the fastest is kept")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("distributed").setLevel(logging.ERROR)
    from distributed import Client, LocalCluster
    from sklearn.ensemble import RandomForestClassifier

    tmp = Path(tempfile.mkdtemp(prefix="cluster-scaling-"))
    frame = pd.read_csv(DEMO_DATA)
    model = RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0)
    model.fit(frame.drop(columns="Target"), frame["Target"])
    joblib.dump(model, tmp / "forest.joblib")
    rows = {"bias": args.bias_rows, "shap": args.shap_rows}
    data = {}
    for job, n in rows.items():
        data[job] = tmp / f"{job}.csv"
        pd.concat([frame] * (n // len(frame) + 1)).head(n).to_csv(data[job], index=False)
    server = ServerProcess(tmp / "forest.joblib")
    configs = _configs()
    table: dict[tuple[str, str], float] = {}
    try:
        reference = {}
        for job, config in configs.items():
            best = float("inf")
            for r in range(args.repeat):
                seconds, reference[job] = _run(config, data[job], server.url, tmp / f"{job}-single-{r}")
                best = min(best, seconds)
            table[(job, "one process")] = rows[job] / best
        for n_workers in args.workers:
            with LocalCluster(processes=True, n_workers=n_workers, threads_per_worker=1, host="127.0.0.1",
                              dashboard_address=":0") as cluster, Client(cluster) as client:
                for job, config in configs.items():
                    best = float("inf")
                    for r in range(args.repeat):
                        seconds, got = _run(config, data[job], server.url, tmp / f"{job}-{n_workers}-{r}",
                                            Cluster(client))
                        if got != reference[job]:
                            raise SystemExit(f"{job} on {n_workers} workers: the bytes differ from one process")
                        best = min(best, seconds)
                    table[(job, f"{n_workers} workers")] = rows[job] / best
    finally:
        server.stop()
    columns = ["one process"] + [f"{n} workers" for n in args.workers]
    print(f"rows: bias {args.bias_rows}, shap {args.shap_rows}; repeat {args.repeat} (fastest kept); "
          f"results byte-identical to one process in every cell")
    print("| job | " + " | ".join(f"{c} rows/s" for c in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for job in configs:
        print(f"| {job} | " + " | ".join(f"{table[(job, c)]:.0f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
