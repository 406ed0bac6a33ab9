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


def run_text_demo(output_dir: str | Path):
    """Train the model on the shipped reviews, serve it over HTTP, explain the first reviews.

    The job runs through :func:`clarify_engine.analyze` like any other: ``analysis.json``
    (``explanations.kernel_shap`` with ``global_top_shap_text``), ``run_manifest.json`` and
    ``explanations_shap/out.jsonl`` are written into ``output_dir``.

    Returns
    -------
    AnalysisResult
    """
    import threading

    from clarify_engine._api import analyze
    from clarify_engine.serve import make_server

    frame = pd.read_csv(REVIEWS)
    server = make_server(train_text_model(frame), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        return analyze(json.loads(json.dumps(TEXT_CONFIG)), data=frame.head(EXPLAINED), model=server.url,
                       output_dir=output_dir)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


if __name__ == "__main__":  # pragma: no cover - regenerates the shipped data
    make_reviews(400).to_csv(REVIEWS, index=False)
    print(f"wrote {REVIEWS}")
