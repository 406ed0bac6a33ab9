"""The demo's text part: product reviews, a TF-IDF + logistic regression model trained here,
and a token-level text explanation of it served over HTTP (``docs/text.md``).

``python -m clarify_engine.demo._text`` regenerates ``reviews.csv`` (deterministic). The data
are generated reviews (``Target, Rating, Comments``): "awful" appears in negative reviews only,
other mood words in both classes, so the model trained on them weights "awful" most and the
explanation's ``global_top_shap_text`` shows it first.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
REVIEWS = HERE / "reviews.csv"
SEED = 20261128
POSITIVE = ["love", "great", "perfect", "comfortable", "beautiful"]
NEGATIVE = ["awful", "cheap", "tight", "itchy", "disappointed"]
NEUTRAL = ["dress", "colour", "size", "fabric", "the", "it", "was", "this", "and", "fits", "my", "store"]
#: The text analysis config (an SDK-shaped config: label, headers, a one-row baseline).
TEXT_CONFIG = {
    "dataset_type": "text/csv",
    "headers": ["Target", "Rating", "Comments"],
    "label": "Target",
    "predictor": {"model_name": "demo-text-model", "instance_type": "ml.m5.large", "initial_instance_count": 1,
                  "accept_type": "text/csv", "content_type": "text/csv"},
    "methods": {"shap": {"baseline": [[4, "[MASK]"]], "num_samples": 200, "seed": 0,
                         "text_config": {"granularity": "token", "language": "english", "max_top_tokens": 10}}},
}
#: Records explained by the demo (the first rows of reviews.csv); the model trains on all.
EXPLAINED = 20


def make_reviews(n: int, seed: int = SEED) -> pd.DataFrame:
    """``Target, Rating, Comments``: two sentences per review (see the module notes)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        target = int(rng.random() < 0.5)
        words = list(rng.choice(NEUTRAL, size=5))
        if target:
            mood = [str(rng.choice(POSITIVE))] + ([str(rng.choice(NEGATIVE[1:]))] if rng.random() < 0.3 else [])
        else:
            mood = ["awful" if rng.random() < 0.5 else str(rng.choice(NEGATIVE[1:]))]
            mood += [str(rng.choice(POSITIVE))] if rng.random() < 0.3 else []
        for word in mood:
            words.insert(int(rng.integers(1, len(words))), word)
        first = " ".join(words).capitalize() + "."
        second = " ".join(rng.choice(NEUTRAL, size=3)).capitalize() + ("!" if target else ".")
        rating = int(rng.integers(3, 6)) if target else int(rng.integers(1, 4))
        rows.append((target, rating, f"{first} {second}"))
    return pd.DataFrame(rows, columns=["Target", "Rating", "Comments"])


def train_text_model(frame: pd.DataFrame):
    """A scikit-learn pipeline on ``Rating`` and ``Comments``: TF-IDF + logistic regression.

    An empty text field (a text with every unit dropped, which a CSV reader reads as missing)
    is read as the empty text: a constant imputer fills it before TF-IDF.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    text = Pipeline([("fill", SimpleImputer(strategy="constant", fill_value="")),
                     ("flat", FunctionTransformer(np.ravel)), ("tfidf", TfidfVectorizer())])
    features = ColumnTransformer([("text", text, ["Comments"]), ("rating", "passthrough", ["Rating"])])
    model = Pipeline([("features", features), ("clf", LogisticRegression(C=10.0, max_iter=1000))])
    return model.fit(frame[["Rating", "Comments"]], frame["Target"])


def run_text_demo(output_dir: str | Path) -> dict:
    """Train the model on the shipped reviews, serve it over HTTP, explain the first reviews.

    Writes ``analysis.json`` (``explanations.kernel_shap`` with ``global_top_shap_text``),
    ``run_manifest.json`` and ``explanations_shap/out.jsonl`` into ``output_dir``.

    Returns
    -------
    dict
        The analysis written.
    """
    import threading

    from clarify_engine.config import load_config
    from clarify_engine.data import load_dataset
    from clarify_engine.explain.text import run_text_shap
    from clarify_engine.job._plan_text import plan_text
    from clarify_engine.predict import ClientOptions, make_predictor
    from clarify_engine.report._analysis_json import write_outputs
    from clarify_engine.report._text_outputs import write_text_outputs
    from clarify_engine.serve import make_server

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    frame = pd.read_csv(REVIEWS)
    model = train_text_model(frame)
    config = load_config(json.loads(json.dumps(TEXT_CONFIG)))
    dataset = load_dataset(config, frame.head(EXPLAINED))
    options = ClientOptions()
    spec = plan_text(config, dataset, max_record_bytes=options.max_payload_bytes)
    server = make_server(model, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        with make_predictor(config, list(dataset.features), model=server.url, options=options) as predictor:
            job = run_text_shap(spec, dataset, predictor)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    write_text_outputs(output_dir, job.result, job.joinsource)
    analysis = {"version": "1.0", "explanations": {"kernel_shap": job.section,
                                                   "kernel_shap_standard_errors": job.standard_error_section}}
    write_outputs(output_dir, analysis, {"kernel_shap": job.manifest})
    return analysis


if __name__ == "__main__":  # pragma: no cover - regenerates the shipped data
    make_reviews(400).to_csv(REVIEWS, index=False)
    print(f"wrote {REVIEWS}")
