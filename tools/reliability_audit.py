"""Reliability audit: feed the engine bad input, faults and attacks, and sort every outcome.

Each case runs the engine the way a user would (``load_config``, ``clarify_engine.analyze``,
the ``clarify-engine container`` entrypoint in a real subprocess, a real HTTP model server on
loopback) and is sorted into one outcome:

accepted-and-correct
    the engine ran and its numbers equal an independent computation (pandas on the rows
    the user meant, or the model called directly);
accepted-with-warning
    the engine kept Clarify's documented behaviour, which differs from the user's evident
    intent, and said so in the output's ``warnings`` list;
refused-with-reason
    the engine refused with a :class:`clarify_engine.ClarifyError` whose message names the
    key, column, row, file or limit at fault;
crash
    any other exception, a traceback, or a refusal that names nothing;
hang
    no answer within the case's time limit;
wrong
    the engine ran and gave numbers that differ from the independent computation, silently;
unsafe
    a file was written outside the folder the job was given.

Usage::

    python tools/reliability_audit.py                 # every category, table to stdout
    python tools/reliability_audit.py --write docs/reliability.md
    python tools/reliability_audit.py --only config data --scale 0.2

The seed is fixed, so two runs try the same cases. Exit status 1 when any case is a crash,
hang, wrong or unsafe.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import http.server
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import clarify_engine  # noqa: E402
from clarify_engine import ClarifyError  # noqa: E402
from clarify_engine.config import load_config  # noqa: E402

OUTCOMES = ("accepted-and-correct", "accepted-with-warning", "refused-with-reason", "crash", "hang", "wrong", "unsafe")
BAD = {"crash", "hang", "wrong", "unsafe"}
FIXTURES = REPO / "tests" / "fixtures" / "sdk_configs"
DEMO = REPO / "clarify_engine" / "demo"


class Audit:
    """Counts outcomes per category and keeps the first few bad cases for the report."""

    def __init__(self):
        self.counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.examples: dict[str, list[str]] = collections.defaultdict(list)

    def record(self, category: str, outcome: str, case: str, detail: str = "") -> None:
        assert outcome in OUTCOMES, outcome
        self.counts[category][outcome] += 1
        if outcome in BAD and len(self.examples[category]) < 5:
            self.examples[category].append(f"{outcome}: {case}: {detail[:300]}")

    def bad(self) -> int:
        return sum(c[o] for c in self.counts.values() for o in BAD)

    def table(self) -> str:
        head = "| category | cases | " + " | ".join(OUTCOMES) + " |"
        rule = "|---|---:|" + "---:|" * len(OUTCOMES)
        rows = [head, rule]
        total = collections.Counter()
        for category, counter in self.counts.items():
            total.update(counter)
            rows.append(f"| {category} | {sum(counter.values())} | " + " | ".join(str(counter[o]) for o in OUTCOMES) + " |")
        rows.append(f"| **all** | **{sum(total.values())}** | " + " | ".join(f"**{total[o]}**" for o in OUTCOMES) + " |")
        lines = ["\n".join(rows)]
        for category, examples in self.examples.items():
            lines.append(f"\n{category}:\n" + "\n".join(f"- {e}" for e in examples))
        return "\n".join(lines)


def names_something(message: str, needles) -> bool:
    """A refusal counts as a reason when it names one of ``needles`` (key, column, file...)."""
    low = message.lower()
    return any(str(n).lower() in low for n in needles if str(n))


# --------------------------------------------------------------------------- config


def _leaves(doc, path=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _leaves(v, path + (i,))
    yield path


def _set(doc, path, value):
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value


def _delete(doc, path):
    target = doc
    for p in path[:-1]:
        target = target[p]
    del target[path[-1]]


_HUGE = "1" + "0" * 400
_BAD_VALUES = [None, "", -1, 0, 2**63, "x" * 5000, True, [], {}, [[[]]], -0.5, 1e300, "NaN-literal", "Infinity-literal",
               "huge-int", "deep", "\u0000", "../../etc/passwd"]


def _mutated_text(base: dict, rng: random.Random) -> tuple[str, str]:
    doc = copy.deepcopy(base)
    paths = [p for p in _leaves(doc) if p]
    path = rng.choice(paths)
    kind = rng.random()
    if kind < 0.15:
        _delete(doc, path)
        return json.dumps(doc), f"delete {'.'.join(map(str, path))}"
    if kind < 0.25:
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        if isinstance(parent, dict):
            parent["unknown_key_" + str(rng.randrange(100))] = 1
            return json.dumps(doc), f"unknown key under {'.'.join(map(str, path[:-1]))}"
    value = rng.choice(_BAD_VALUES)
    marker = "\"__MARK__\""
    if value == "NaN-literal":
        _set(doc, path, "__MARK__")
        return json.dumps(doc).replace(marker, "NaN"), f"{'.'.join(map(str, path))} = NaN"
    if value == "Infinity-literal":
        _set(doc, path, "__MARK__")
        return json.dumps(doc).replace(marker, "-Infinity"), f"{'.'.join(map(str, path))} = -Infinity"
    if value == "huge-int":
        _set(doc, path, "__MARK__")
        return json.dumps(doc).replace(marker, _HUGE), f"{'.'.join(map(str, path))} = 10^400"
    if value == "deep":
        _set(doc, path, "__MARK__")
        return json.dumps(doc).replace(marker, "[" * 5000 + "]" * 5000), f"{'.'.join(map(str, path))} = 5000-deep list"
    _set(doc, path, value)
    return json.dumps(doc), f"{'.'.join(map(str, path))} = {str(value)[:20]!r}"


def audit_config(audit: Audit, n: int, rng: random.Random) -> None:
    bases = [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("[0-9]*.json"))]
    bases.append(json.loads((DEMO / "analysis_config.json").read_text()))
    for i in range(n):
        text, what = _mutated_text(rng.choice(bases), rng)
        started = time.perf_counter()
        try:
            cfg = load_config(text)
        except ClarifyError as exc:
            path = getattr(exc, "path", "")
            key = what.split(" ")[-1] if what.startswith("delete") else what.split(" ")[0]
            ok = bool(path) or names_something(str(exc), [key.split(".")[-1], "json", "configuration"])
            audit.record("config", "refused-with-reason" if ok else "crash", what, str(exc))
            continue
        except RecursionError as exc:
            audit.record("config", "crash", what, repr(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - the audit sorts every failure
            audit.record("config", "crash", what, "".join(traceback.format_exception_only(exc)))
            continue
        if time.perf_counter() - started > 10:
            audit.record("config", "hang", what, "load_config took over 10 s")
            continue
        # Accepted: what was accepted must survive a round trip unchanged.
        try:
            again = load_config(cfg.to_dict())
            same = again == cfg
        except Exception as exc:  # noqa: BLE001
            audit.record("config", "crash", what, f"accepted but its to_dict() does not load again: {exc}")
            continue
        audit.record("config", "accepted-and-correct" if same else "wrong", what, "round trip differs")


# --------------------------------------------------------------------------- data


def _oracle(frame: pd.DataFrame, label_values, facet: str, facet_values) -> dict[str, float]:
    """CI and DPL computed with pandas on the rows the user meant (missing label/facet dropped)."""
    rows = frame.dropna(subset=["Target", facet])
    label = rows["Target"].astype(float).isin([float(v) for v in label_values])
    if facet_values is None:
        raise ValueError("oracle needs facet values")
    sensitive = rows[facet].isin(facet_values)
    n_d, n_a = sensitive.sum(), (~sensitive).sum()
    ci = (n_a - n_d) / (n_a + n_d)
    dpl = label[~sensitive].mean() - label[sensitive].mean()
    return {"CI": float(ci), "DPL": float(dpl)}


def _base_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    gender = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    age = rng.integers(18, 80, n)
    p = 0.3 + 0.2 * (gender == "M") + 0.002 * (age - 40)
    target = (rng.random(n) < p).astype(int)
    return pd.DataFrame({"Target": target, "Age": age, "Gender": gender,
                         "Income": rng.normal(50000, 10000, n).round(2)})


def _bias_config(headers, facet="Gender", values=("F",)):
    return {"dataset_type": "text/csv", "headers": list(headers), "label": "Target",
            "label_values_or_threshold": [1], "facet": [{"name_or_index": facet, "value_or_threshold": list(values)}],
            "methods": {"pre_training_bias": {"methods": ["CI", "DPL"]}}}


def _metrics(result) -> dict[str, float]:
    entry = result.to_dict()["pre_training_bias_metrics"]["facets"]
    (facet,) = entry.values()
    return {m["name"]: m["value"] for m in facet[0]["metrics"]}


_DATA_CASES = ["clean", "empty-label-cell", "float-labels", "empty-facet-cell", "header-case-differs",
               "unclosed-quote", "stray-header-file", "crlf", "bom", "blank-lines", "null-row-jsonl",
               "extra-column", "short-row", "no-positive-label", "facet-value-absent"]


def _write_case(case: str, frame: pd.DataFrame, folder: Path, rng: random.Random):
    """Write ``frame`` as the case says; return (data path, config, the frame the user meant)."""
    headers = list(frame.columns)
    cfg = _bias_config(headers)
    meant = frame.copy()
    text = frame.to_csv(index=False)
    path = folder / "train.csv"
    if case in ("empty-label-cell", "empty-facet-cell"):
        column = "Target" if case == "empty-label-cell" else "Gender"
        i = rng.randrange(len(frame))
        meant.loc[i, column] = np.nan
        lines = text.splitlines()
        cells = lines[i + 1].split(",")
        cells[headers.index(column)] = ""
        lines[i + 1] = ",".join(cells)
        text = "\n".join(lines) + "\n"
    elif case == "float-labels":
        text = frame.assign(Target=frame.Target.astype(float)).to_csv(index=False)
    elif case == "header-case-differs":
        lines = text.splitlines()
        lines[0] = lines[0].lower()
        text = "\n".join(lines) + "\n"
    elif case == "unclosed-quote":
        lines = text.splitlines()
        i = 1 + rng.randrange(len(frame) // 2)
        lines[i] = lines[i].replace(",", ',"', 1)
        text = "\n".join(lines) + "\n"
        meant = None  # a malformed file: the only right answers are a refusal or a counted loss
    elif case == "stray-header-file":
        path = folder / "data"
        path.mkdir()
        half = len(frame) // 2
        (path / "part-0.csv").write_text(frame.iloc[:half].to_csv(index=False))
        (path / "part-1.csv").write_text(frame.iloc[half:].to_csv(index=False))
        return path, cfg, meant
    elif case == "crlf":
        text = text.replace("\n", "\r\n")
    elif case == "bom":
        text = "\ufeff" + text
    elif case == "blank-lines":
        text = text + "\n\n\n"
    elif case == "null-row-jsonl":
        path = folder / "train.jsonl"
        records = [{"features": [int(r.Age), r.Gender, float(r.Income)], "label": int(r.Target)} for r in frame.itertuples()]
        i = rng.randrange(len(records))
        records[i] = {"features": None, "label": None}
        meant = meant.drop(index=i).reset_index(drop=True)
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
        cfg = {"dataset_type": "application/jsonlines", "headers": ["Age", "Gender", "Income", "Target"],
               "features": "features", "label": "label", "label_values_or_threshold": [1],
               "facet": [{"name_or_index": "Gender", "value_or_threshold": ["F"]}],
               "methods": {"pre_training_bias": {"methods": ["CI", "DPL"]}}}
        return path, cfg, meant
    elif case == "extra-column":
        text = frame.assign(Extra=1).to_csv(index=False)
    elif case == "short-row":
        lines = text.splitlines()
        i = 1 + rng.randrange(len(frame))
        lines[i] = ",".join(lines[i].split(",")[:-1])
        text = "\n".join(lines) + "\n"
        meant = None
    elif case == "no-positive-label":
        meant["Target"] = 0
        text = meant.to_csv(index=False)
    elif case == "facet-value-absent":
        cfg = _bias_config(headers, values=("X",))
    path.write_text(text, encoding="utf-8")
    return path, cfg, meant


def audit_data(audit: Audit, n: int, rng: random.Random) -> None:
    for i in range(n):
        case = _DATA_CASES[i % len(_DATA_CASES)]
        frame = _base_frame(np.random.default_rng(i), 60 + (i * 37) % 500)
        with tempfile.TemporaryDirectory() as tmp:
            path, cfg, meant = _write_case(case, frame, Path(tmp), rng)
            try:
                result = clarify_engine.analyze(cfg, data=str(path))
            except ClarifyError as exc:
                ok = names_something(str(exc), ["Target", "Gender", "Age", "Income", "train", "part-", "row", "line",
                                                "header", "label", "facet"])
                audit.record("data", "refused-with-reason" if ok else "crash", case, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001
                audit.record("data", "crash", case, "".join(traceback.format_exception_only(exc)))
                continue
            warned = bool(result.to_dict().get("warnings") or result.manifest.get("warnings"))
            if meant is None:
                # A malformed file was accepted: right only if the loss was counted and said.
                audit.record("data", "accepted-with-warning" if warned else "wrong", case, "malformed file accepted silently")
                continue
            got = _metrics(result)
            try:
                want = _oracle(meant, [1], "Gender", ["F"] if case != "facet-value-absent" else ["X"])
            except ZeroDivisionError:
                want = {}
            close = all(k in got and isinstance(got[k], (int, float)) and math.isclose(got[k], v, abs_tol=1e-9)
                        for k, v in want.items() if not math.isnan(v))
            if close and not any(math.isnan(v) for v in want.values()):
                audit.record("data", "accepted-and-correct", case)
            elif warned:
                audit.record("data", "accepted-with-warning", case)
            else:
                audit.record("data", "wrong", case, f"engine {got} vs pandas {want}")


# --------------------------------------------------------------------------- model faults


class _FaultyModel(http.server.BaseHTTPRequestHandler):
    """A loopback model server: scores = 0.1 * first feature, misbehaving as the path says."""

    protocol_version = "HTTP/1.1"
    calls = collections.Counter()

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        fault = self.path.strip("/").split("/")[0]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        rows = [line.split(",") for line in body.decode().splitlines() if line]
        scores = [0.1 * float(r[0]) for r in rows]
        _FaultyModel.calls[fault] += 1
        n = _FaultyModel.calls[fault]
        reply = "\n".join(f"{s:.6f}" for s in scores).encode()
        status = 200
        if fault == "error500":
            status, reply = 500, b"internal error"
        elif fault == "flaky" and n % 2 == 1:
            status, reply = 503, b"try again"
        elif fault == "garbage":
            reply = b"\x00\xffnot a number\n" * len(rows)
        elif fault == "count":
            reply = reply + b"\n0.5"
        elif fault == "strings":
            reply = b"\n".join(b"yes" for _ in rows)
        elif fault == "empty":
            reply = b""
        elif fault == "huge":
            reply = b"0.5\n" * 5_000_000
        elif fault == "bad-request":
            status, reply = 400, b"Expected 2 features but got 3"
        elif fault == "too-large":
            status, reply = 413, b"payload too large"
        elif fault in ("drip", "silent"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            if fault == "silent":
                time.sleep(3600)
            for byte in reply:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(2)
            return
        elif fault == "cut":
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply) + 100))
            self.end_headers()
            self.wfile.write(reply[: len(reply) // 2])
            self.wfile.flush()
            self.connection.close()
            return
        self.send_response(status)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


_MODEL_FAULTS = ["ok", "error500", "flaky", "garbage", "count", "strings", "empty", "huge", "bad-request",
                 "too-large", "drip", "silent", "cut"]

_MODEL_CHILD = r"""
import json, sys
import numpy as np, pandas as pd
import clarify_engine
from clarify_engine.predict import ClientOptions
url, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(n)
frame = pd.DataFrame({"Target": rng.integers(0, 2, n), "x": rng.integers(0, 10, n), "g": rng.choice(["F", "M"], n)})
cfg = {"dataset_type": "text/csv", "headers": ["Target", "x", "g"], "label": "Target",
       "label_values_or_threshold": [1], "facet": [{"name_or_index": "g", "value_or_threshold": ["F"]}],
       "excluded_columns": ["g"], "probability_threshold": 0.45,
       "methods": {"post_training_bias": {"methods": ["DPPL"]}},
       "predictor": {"content_type": "text/csv", "accept_type": "text/csv"}}
try:
    options = ClientOptions(timeout=5.0)
    result = clarify_engine.analyze(cfg, data=frame, model=url, options=options)
except clarify_engine.ClarifyError as exc:
    print(json.dumps({"refused": str(exc)}))
    sys.exit(0)
got = result.to_dict()["post_training_bias_metrics"]["facets"]["g"][0]["metrics"][0]["value"]
pred = (0.1 * frame.x > 0.45).astype(int)
sens = frame.g == "F"
want = float(pred[~sens].mean() - pred[sens].mean())
print(json.dumps({"got": got, "want": want}))
"""


def audit_model(audit: Audit, n: int, rng: random.Random) -> None:
    class _Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):  # a client that hangs up on a fault is the point
            pass

    server = _Server(("127.0.0.1", 0), _FaultyModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    def one(i: int, rows: int):
        fault = _MODEL_FAULTS[i % len(_MODEL_FAULTS)]
        case = f"{fault} ({rows} rows)"
        url = f"http://127.0.0.1:{port}/{fault}"
        try:
            proc = subprocess.run([sys.executable, "-c", _MODEL_CHILD, url, str(rows)], capture_output=True,
                                  text=True, timeout=180, env=env)
        except subprocess.TimeoutExpired:
            return "hang", case, "no answer in 180 s"
        last = proc.stdout.strip().splitlines()[-1:] or [""]
        try:
            out = json.loads(last[0])
        except ValueError:
            return "crash", case, proc.stderr[-400:]
        if "refused" in out:
            ok = names_something(out["refused"], ["model", "endpoint", "http", "reply", "status", "record", "row",
                                                  "bytes", "seconds", "excluded_columns", "label"])
            return ("refused-with-reason" if ok else "crash"), case, out["refused"]
        if math.isclose(out["got"], out["want"], abs_tol=1e-9):
            return "accepted-and-correct", case, ""
        return "wrong", case, str(out)

    # The cases mostly wait (on retries, timeouts, a dripping server): run eight at once.
    import concurrent.futures

    sizes = [rng.choice([50, 1500]) for _ in range(n)]
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for outcome, case, detail in pool.map(one, range(n), sizes):
                audit.record("model", outcome, case, detail)
    finally:
        server.shutdown()


# --------------------------------------------------------------------------- signals


def _container_layout(root: Path) -> None:
    config = json.loads((DEMO / "analysis_config.json").read_text())
    (root / "opt/ml/processing/input/config").mkdir(parents=True)
    (root / "opt/ml/processing/input/data").mkdir(parents=True)
    (root / "opt/ml/processing/input/config/analysis_config.json").write_text(json.dumps(config))
    (root / "opt/ml/processing/input/data/loans.csv").write_bytes((DEMO / "loans.csv").read_bytes())


def audit_signals(audit: Audit, n: int, rng: random.Random) -> None:
    """SIGTERM at a random moment of a real container job (with a model served on loopback)."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    server = subprocess.Popen([sys.executable, "-m", "clarify_engine.serve", str(DEMO / "loans_model.joblib"),
                               "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url = None
        deadline = time.time() + 60
        while url is None and time.time() < deadline:
            line = server.stdout.readline()
            if "http://" in line:
                url = "http://" + line.split("http://", 1)[1].split()[0].rstrip("/.,")
        if url is None:
            raise RuntimeError("the model server did not start")
        for i in range(n):
            delay = rng.uniform(0.5, 8.0)
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                _container_layout(root)
                config_file = root / "opt/ml/processing/input/config/analysis_config.json"
                config = json.loads(config_file.read_text())
                config["predictor"] = {"endpoint_name": "demo", "content_type": "text/csv", "accept_type": "text/csv"}
                config_file.write_text(json.dumps(config))
                job_env = {**env, "CLARIFY_PROCESSING_ROOT": str(root),
                           "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": url, "AWS_DEFAULT_REGION": "us-east-1",
                           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
                proc = subprocess.Popen([sys.executable, "-m", "clarify_engine.cli", "container"], env=job_env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                time.sleep(delay)
                finished_before = proc.poll() is not None
                if not finished_before:
                    proc.send_signal(signal.SIGTERM)
                try:
                    _, err = proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    audit.record("signals", "hang", f"SIGTERM after {delay:.1f} s", "still running 30 s after SIGTERM")
                    continue
                message = root / "opt/ml/output/message"
                if finished_before:
                    outcome = "accepted-and-correct" if proc.returncode == 0 else "crash"
                    audit.record("signals", outcome, f"finished before SIGTERM ({delay:.1f} s)", err[-300:])
                elif proc.returncode == 143 and message.exists():
                    audit.record("signals", "refused-with-reason", f"SIGTERM after {delay:.1f} s")
                elif proc.returncode == 0:
                    audit.record("signals", "wrong", f"SIGTERM after {delay:.1f} s", "exit 0 although stopped")
                else:
                    audit.record("signals", "crash", f"SIGTERM after {delay:.1f} s", f"exit {proc.returncode}: {err[-300:]}")
    finally:
        server.terminate()
        server.wait(timeout=30)


# --------------------------------------------------------------------------- paths


def audit_paths(audit: Audit, n: int, rng: random.Random) -> None:
    """Output and report names that try to leave the output folder."""
    names = ["../escape", "../../escape", "/tmp/escape-abs", "a/../../escape", "..", "sub/ok", "ok", "./ok",
             "a//b", "escape\x00", "~/escape"]
    data = pd.read_csv(DEMO / "loans.csv")
    for i in range(n):
        name = names[i % len(names)]
        with tempfile.TemporaryDirectory() as tmp:
            top = Path(tmp)
            out = top / "out" / "job"
            out.mkdir(parents=True)
            before = {p for p in top.rglob("*")}
            cfg = {"dataset_type": "text/csv", "label": "Target", "label_values_or_threshold": [1],
                   "facet": [{"name_or_index": "Gender", "value_or_threshold": [0]}],
                   "methods": {"pre_training_bias": {"methods": ["CI"]},
                               "report": {"name": name, "title": "Audit"}}}
            try:
                clarify_engine.analyze(cfg, data=data, output_dir=out)
                refused = None
            except ClarifyError as exc:
                refused = str(exc)
            except Exception as exc:  # noqa: BLE001
                audit.record("paths", "crash", f"report name {name!r}", "".join(traceback.format_exception_only(exc)))
                continue
            escaped = [p for p in top.rglob("*") if p not in before and out not in p.parents and p != out]
            escaped += [p for p in (Path("/tmp/escape-abs"), Path.home() / "escape") if p.exists()]
            if escaped:
                audit.record("paths", "unsafe", f"report name {name!r}", f"wrote {escaped[:3]}")
                for p in escaped:
                    with contextlib.suppress(OSError):
                        p.unlink()
            elif refused is not None:
                ok = names_something(refused, ["report", "name"])
                audit.record("paths", "refused-with-reason" if ok else "crash", f"report name {name!r}", refused)
            else:
                audit.record("paths", "accepted-and-correct", f"report name {name!r}")


CATEGORIES = {"config": (audit_config, 2000), "data": (audit_data, 300), "model": (audit_model, 39),
              "signals": (audit_signals, 17), "paths": (audit_paths, 22)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=sorted(CATEGORIES), help="categories to run (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every category's case count")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--write", type=Path, help="write the table into this Markdown file (between markers)")
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("clarify_engine").setLevel(logging.CRITICAL)
    audit = Audit()
    for name in args.only or CATEGORIES:
        func, count = CATEGORIES[name]
        started = time.perf_counter()
        func(audit, max(1, int(count * args.scale)), random.Random(f"{args.seed}-{name}"))
        print(f"{name}: {sum(audit.counts[name].values())} cases in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    table = audit.table()
    print(table)
    if args.write:
        text = args.write.read_text() if args.write.exists() else ""
        start, end = "<!-- audit-table -->", "<!-- /audit-table -->"
        block = f"{start}\n{table}\n{end}"
        if start in text:
            text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        args.write.write_text(text)
    return 1 if audit.bad() else 0


if __name__ == "__main__":
    sys.exit(main())
