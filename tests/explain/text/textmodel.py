"""A small real text model for the tests: TF-IDF + logistic regression on generated reviews."""

from __future__ import annotations

import numpy as np
import pandas as pd

POSITIVE = ["love", "great", "perfect", "comfortable", "beautiful"]
NEGATIVE = ["awful", "cheap", "tight", "itchy", "disappointed"]
NEUTRAL = ["dress", "colour", "size", "fabric", "the", "it", "was", "this", "and", "fits", "my", "store"]


def reviews(n: int, seed: int = 0) -> pd.DataFrame:
    """``Target, Rating, Comments``: two sentences per review. "awful" appears in negative
    reviews only; the other words of either mood also appear, less often, in the other class,
    so the fitted model weights "awful" far more than any other word."""
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


def train(frame: pd.DataFrame):
    """A scikit-learn pipeline reading ``Rating`` and ``Comments`` (fitted on the frame).

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
