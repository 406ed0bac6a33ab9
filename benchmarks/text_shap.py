"""Text SHAP throughput: records/s of the text engine against the model-call floor and shap.

A TF-IDF + logistic regression pipeline (trained here on generated reviews) explains
``--records`` reviews at token and at sentence granularity with the same budget
(``--num-samples`` coalitions per record), in process:

* **ours**: :func:`clarify_engine.explain.text.explain_text` (units, masking, Kernel SHAP,
  model calls), after a warm-up on 3 records (spaCy pipeline built, numba kernels loaded);
* **floor**: the model alone scoring every synthetic record ours sent, in the same calls (the
  time no explainer calling this model can go below with this budget);
* ours and the floor alternate ``--repeat`` times; reported: the ratio of the best wall time of
  each, and the median over the repeats of ours/floor in CPU time of this process
  (``time.process_time``; with the HTTP model the server thread's work counts too), which other
  processes on a shared machine move less;
* **shap**: ``shap.Explainer(f, shap.maskers.Text(tokenizer))`` (partition explainer) with
  ``max_evals`` = the budget, the tokenizer giving the same units as ours.

With ``--http`` the model is served over HTTP by the project's model server (in a thread) and
called through the job's batched client, as a real job calls an endpoint; ours and the floor
then both go through that client (shap is not run).

Target (issue 14): ours within 1.2x of the floor. Run::

    python benchmarks/text_shap.py --records 200 --num-samples 200 --repeat 5 [--http]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clarify_engine.explain.text import TextSpec, explain_text, pipeline, split_texts  # noqa: E402
from clarify_engine.demo._text import make_reviews as reviews, train_text_model as train  # noqa: E402


class UnitsTokenizer:
    """Our units as a tokenizer shap's Text masker accepts (strings and offsets)."""

    def __init__(self, granularity):
        self.granularity = granularity
        self.nlp = pipeline("en")

    def __call__(self, s, return_offsets_mapping=True):
        (u,) = split_texts([s], self.granularity, self.nlp)
        out = {"input_ids": u.units}
        if return_offsets_mapping:
            out["offset_mapping"] = list(zip(u.starts.tolist(), u.ends.tolist()))
        return out


def _long_reviews(n, seed):
    """Reviews of 2 to 6 generated sentence pairs (about 10 to 60 tokens)."""
    base = reviews(n * 6, seed=seed)
    rng = np.random.default_rng(seed)
    texts = [" ".join(base.Comments[6 * i: 6 * i + int(rng.integers(1, 4))]) for i in range(n)]
    return pd.DataFrame({"Comments": texts})


def run(granularity, frame, model, budget, seed, with_shap=True, repeat=3):
    spec = TextSpec(granularity=granularity, language="en", features=("Comments",), text_columns=("Comments",),
                    baseline=(("MASK",),), baseline_weights=(1.0,), num_samples=budget, seed=seed)
    sent = []

    def score(f):
        sent.append(f)  # a fresh frame per call, never changed after
        return model(f)

    explain_text(frame.head(3), spec, model)  # warm-up: spaCy pipeline, numba kernels (cached)
    # ours and the floor alternate, `repeat` times each; the best time of each is kept (the
    # machine is shared: a run's time is its work plus whatever else ran meanwhile)
    # wall time (best of each) and CPU time (process_time: what this process ran, so less moved
    # by the other processes of a shared machine; the median of the paired ratios, each pair run
    # back to back)
    ours = floor = float("inf")
    cpu_ratios = []
    for _ in range(repeat):
        sent.clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = explain_text(frame, spec, score)
        ours, ours_cpu = min(ours, time.perf_counter() - start), time.process_time() - start_cpu
        start, start_cpu = time.perf_counter(), time.process_time()
        for f in sent:
            model(f)
        floor, floor_cpu = min(floor, time.perf_counter() - start), time.process_time() - start_cpu
        cpu_ratios.append(ours_cpu / floor_cpu)
    cpu_ratio = float(np.median(cpu_ratios))

    n = len(frame)
    if not with_shap:
        return n / ours, n / floor, float("nan"), result.stats, cpu_ratio
    import shap

    masker = shap.maskers.Text(UnitsTokenizer(granularity), mask_token="MASK", collapse_mask_token=False)
    explainer = shap.Explainer(lambda texts: model(pd.DataFrame({"Comments": list(texts)})), masker)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer(frame.Comments.tolist(), max_evals=budget, silent=True)
    shap_s = time.perf_counter() - start
    return n / ours, n / floor, n / shap_s, result.stats, cpu_ratio


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=200)
    ap.add_argument("--num-samples", type=int, default=200)
    ap.add_argument("--granularities", nargs="+", default=["sentence", "token"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="runs of ours and of the floor, best of each kept")
    ap.add_argument("--http", action="store_true", help="serve the model over HTTP, call it through the client")
    ap.add_argument("--no-shap", action="store_true", help="in process: do not run shap.Explainer")
    args = ap.parse_args(argv)
    logging.getLogger("clarify_engine").setLevel(logging.WARNING)
    fitted = train(reviews(400, seed=1))
    frame = _long_reviews(args.records, args.seed)
    if args.http:
        with _served(fitted) as model:
            _table(args, frame, model, "served over HTTP, batched client", with_shap=False)
    else:
        def model(f):
            return fitted.predict_proba(f.assign(Rating=3)[["Rating", "Comments"]])[:, 1:]

        _table(args, frame, model, "in process", with_shap=not args.no_shap)


@contextlib.contextmanager
def _served(fitted):
    """``model(frame) -> scores`` through the job's client against the model served over HTTP."""
    import threading

    from clarify_engine.predict import ModelSpec, make_predictor, model_scores
    from clarify_engine.serve import make_server

    server = make_server(fitted, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        spec = ModelSpec(content_type="text/csv", accept_type="text/csv")
        with make_predictor(spec, ["Rating", "Comments"], model=server.url) as predictor:
            yield lambda f: model_scores(predictor.predict(f.assign(Rating=3)[["Rating", "Comments"]]))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _table(args, frame, model, where, with_shap=True):
    print(f"records={args.records} num_samples={args.num_samples} repeat={args.repeat} "
          f"model=TF-IDF + logistic regression ({where})")
    print("| granularity | ours rec/s | floor rec/s | ours/floor time | ours/floor CPU (median) | shap rec/s | units/record "
          "| exact records |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for g in args.granularities:
        ours, floor, shap_rate, stats, cpu_ratio = run(g, frame, model, args.num_samples, args.seed, with_shap,
                                            args.repeat)
        units = stats["units"]
        print(f"| {g} | {ours:.1f} | {floor:.1f} | {floor / ours:.2f}x | {cpu_ratio:.2f}x | {shap_rate:.1f} | "
              f"{units['min']}-{units['max']} | {stats['records_exact']} |")


if __name__ == "__main__":
    main()
