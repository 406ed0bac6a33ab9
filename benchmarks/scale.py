"""Bias at scale: a file to analysis.json streamed in chunks, beside pyarrow's own read of the file.

For each size, a seeded synthetic dataset (binary label and prediction, an integer facet
``race``, a continuous facet ``age``, a group variable and three numeric features; the data
of ``bias_throughput.py``) is written once to Parquet and to CSV in a temporary folder (about
85 bytes per row for CSV and 34 for Parquet: about 6 GB at 50M rows). Then, each in its own
child process so that its peak RSS is its own (``os.wait4``'s ``ru_maxrss``):

* ``pyarrow read``: ``pyarrow.parquet.read_table`` / ``pyarrow.csv.read_csv`` of the file (the
  floor of the reading step);
* ``stream, no FT``: ``clarify_engine.analyze(config, data=file, chunk_rows=N, output_dir=...)``
  with every pre-training metric and every post-training metric but FT for both facets;
* ``stream, FT``: the same with FT (``--ft-max`` rows at most: the streamed FT reads the data
  once more per facet entry and runs the in-memory kNN on the gathered rows, which dominates).

Usage::

    python benchmarks/scale.py [--sizes 10000000 50000000] [--formats parquet csv]
                               [--chunk-rows 1000000] [--ft-max 10000000] [--dir DIR] [--keep]

Not a test: it prints a table (seconds, rows/s, peak RSS, ratio to pyarrow's read).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRE = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
POST_NO_FT = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "GE", "RD", "SD", "TE"]
HEADERS = ["label", "pred", "race", "age", "group", "x0", "x1", "x2"]

READ = r"""
import sys
path, kind = sys.argv[1], sys.argv[2]
if kind == "parquet":
    import pyarrow.parquet as pq
    table = pq.read_table(path)
else:
    import pyarrow.csv as pc
    table = pc.read_csv(path)
print(table.num_rows)
"""

ANALYZE = r"""
import json, sys, logging
logging.disable(logging.CRITICAL)
from clarify_engine import analyze
config, path, chunk_rows, out = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
result = analyze(config, data=path, chunk_rows=chunk_rows, output_dir=out)
print(json.dumps(result.manifest["streaming"]))
"""


def write_data(folder: Path, n: int, formats: list[str]) -> dict[str, Path]:
    """The dataset of ``n`` rows in each format, written in blocks (never held whole)."""
    import pyarrow as pa
    import pyarrow.csv as pc
    import pyarrow.parquet as pq

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bias_throughput import make_frame

    paths = {kind: folder / f"data_{n}.{kind}" for kind in formats}
    if all(p.exists() for p in paths.values()):
        return paths
    block = 2_000_000
    writers: dict = {}
    try:
        for start in range(0, n, block):
            frame = make_frame(min(block, n - start), seed=start // block)
            table = pa.Table.from_pandas(frame.loc[:, HEADERS], preserve_index=False)
            if "parquet" in paths:
                if "parquet" not in writers:
                    writers["parquet"] = pq.ParquetWriter(paths["parquet"], table.schema)
                writers["parquet"].write_table(table, row_group_size=1 << 20)
            if "csv" in paths:
                if "csv" not in writers:
                    writers["csv"] = pc.CSVWriter(paths["csv"], table.schema)
                writers["csv"].write_table(table)
            del frame, table
    finally:
        for writer in writers.values():
            writer.close()
    return paths


def child(code: str, *args: str) -> tuple[float, float, str]:
    """Run ``python -c code args`` alone; (seconds, its peak RSS in GB, its stdout but the last line).

    The child prints its own ``getrusage(RUSAGE_SELF).ru_maxrss`` last, so each figure is one
    process's peak, not the largest child's so far.
    """
    footer = "\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + footer, *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"child failed: {done.stderr[-2000:]}")
    lines = done.stdout.strip().splitlines()
    return seconds, int(lines[-1]) / 2**20, "\n".join(lines[:-1])


def config(kind: str, with_ft: bool) -> dict:
    return {
        "dataset_type": "application/x-parquet" if kind == "parquet" else "text/csv",
        "headers": HEADERS, "label": "label", "label_values_or_threshold": [1], "predicted_label": "pred",
        "group_variable": "group",
        "facet": [{"name_or_index": "race", "value_or_threshold": [1]}, {"name_or_index": "age",
                                                                           "value_or_threshold": [40]}],
        "methods": {"pre_training_bias": {"methods": PRE},
                    "post_training_bias": {"methods": POST_NO_FT + (["FT"] if with_ft else [])}},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000_000, 50_000_000])
    ap.add_argument("--formats", nargs="+", default=["parquet", "csv"], choices=["parquet", "csv"])
    ap.add_argument("--chunk-rows", type=int, default=1_000_000)
    ap.add_argument("--ft-max", type=int, default=10_000_000, help="largest size the FT run is made on")
    ap.add_argument("--dir", default=None, help="folder for the data files (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the data files")
    args = ap.parse_args(argv)

    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="clarify-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"data in {folder}; load: {os.getloadavg()[0]:.2f}; chunk_rows={args.chunk_rows}")
    print(f"{'rows':>10} {'format':8} {'run':16} {'seconds':>8} {'rows/s':>12} {'peak RSS GB':>12} "
          f"{'x pyarrow':>10}  chunks/passes")
    try:
        for n in args.sizes:
            t0 = time.perf_counter()
            paths = write_data(folder, n, args.formats)
            print(f"# wrote {n} rows in {time.perf_counter() - t0:.0f} s: "
                  + ", ".join(f"{k} {p.stat().st_size / 1e9:.2f} GB" for k, p in paths.items()), flush=True)
            for kind, path in paths.items():
                base, rss, _ = child(READ, str(path), kind)
                print(f"{n:>10} {kind:8} {'pyarrow read':16} {base:8.2f} {n / base:12,.0f} {rss:12.2f} {1.0:10.2f}",
                      flush=True)
                runs = [("stream, no FT", False)] + ([("stream, FT", True)] if n <= args.ft_max else [])
                for name, with_ft in runs:
                    out = tempfile.mkdtemp(prefix="clarify-scale-out-")
                    seconds, rss, printed = child(ANALYZE, json.dumps(config(kind, with_ft)), str(path),
                                                  str(args.chunk_rows), out)
                    shutil.rmtree(out, ignore_errors=True)
                    stream = json.loads(printed.splitlines()[-1])
                    print(f"{n:>10} {kind:8} {name:16} {seconds:8.2f} {n / seconds:12,.0f} {rss:12.2f} "
                          f"{seconds / base:10.2f}  {stream['chunks']}/{stream['passes']}", flush=True)
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
