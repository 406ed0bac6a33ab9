"""Regenerate the demo dataset and model shipped with the package (deterministic).

Run ``python -m clarify_engine.demo._make_data``. The data are synthetic loan decisions
with a built-in disparity: group ``Gender == 0`` has lower incomes on average, and both the
historical decisions (``Target``) and the model trained on them (``loans_model.joblib``, a
scikit-learn pipeline: standard scaling + logistic regression) carry it, so every bias
metric has something to show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import joblib
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).parent
N_ROWS = 5000
SEED = 20261124


def make_frame(n: int = N_ROWS, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gender = rng.integers(0, 2, n)
    age = rng.integers(18, 76, n)
    occupation = rng.integers(0, 6, n)
    years = np.minimum(rng.poisson(6, n), age - 18)
    income = np.round(rng.lognormal(10.4 + 0.25 * gender + 0.04 * occupation, 0.35, n), 2)
    credit = np.clip(np.round(rng.normal(640 + 40 * (age > 35), 60, n)), 300, 850).astype(int)
    score = 0.9 * (np.log(income) - 10.5) + 0.012 * (credit - 650) + 0.05 * years + rng.normal(0, 0.6, n)
    target = (score > 0.1).astype(int)
    frame = pd.DataFrame(
        {
            "Target": target,
            "Age": age,
            "Gender": gender,
            "Income": income,
            "Occupation": occupation,
            "YearsEmployed": years,
            "CreditScore": credit,
        }
    )
    return frame


def fit_model(frame: pd.DataFrame):
    """The demo model: fitted on the feature columns (every column but ``Target``), as arrays."""
    features = frame.drop(columns=["Target"]).to_numpy(dtype=float)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(features, frame["Target"].to_numpy())


def main() -> None:
    frame = make_frame()
    frame.to_csv(HERE / "loans.csv", index=False)
    joblib.dump(fit_model(frame), HERE / "loans_model.joblib")
    print(f"wrote {HERE / 'loans.csv'}: {frame.shape} and {HERE / 'loans_model.joblib'}")


if __name__ == "__main__":
    main()
