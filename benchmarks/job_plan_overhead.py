"""A whole job through analyze(): the overhead of the job plan, meter and typed results around the engines.

1,000 rows, 10 features, a gradient-boosting model behind a callable (so Kernel SHAP runs, not an
exact path), pre- and post-training bias, SHAP with 5 k-means baseline rows, PDP of the top 5
features. Prints the best of 3 of each stage's seconds (run_manifest.json timings) and the total.
Run it on two trees with PYTHONPATH=<tree> to compare them (docs/performance.md).
"""
import sys
import time

import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier

import clarify_engine as ce

X, y = make_classification(n_samples=1000, n_features=10, random_state=0)
cols = [f"f{i}" for i in range(10)]
frame = pd.DataFrame(X, columns=cols)
frame.insert(0, "y", y)
gbm = GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0).fit(X, y)
model = lambda f: gbm.predict_proba(f.to_numpy())[:, 1]
cfg = {"dataset_type": "text/csv", "headers": ["y"] + cols, "label": "y", "label_values_or_threshold": [1],
       "facet": [{"name_or_index": "f0", "value_or_threshold": [0.0]}],
       "methods": {"shap": {"num_clusters": 5, "seed": 1}, "pdp": {"grid_resolution": 10, "top_k_features": 5},
                   "pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}}
best = {}
for _ in range(3):
    t0 = time.perf_counter()
    r = ce.analyze(cfg, data=frame, model=model)
    for k, v in {**r.manifest["timings_seconds"], "total": time.perf_counter() - t0}.items():
        best[k] = min(best.get(k, 1e9), v)
print(sys.argv[1] if len(sys.argv) > 1 else "job", {k: round(v, 3) for k, v in best.items()})
