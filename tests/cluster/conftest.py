"""A real Dask cluster (two worker processes), a tree model file and its HTTP server, shared by
the module's tests."""

from __future__ import annotations

import json

import joblib
import pandas as pd
import pytest

from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA
from tests.helpers import ServerProcess

#: Rows of the demo data the cluster tests analyse (enough for several Kernel SHAP blocks).
ROWS = 480


@pytest.fixture(scope="session")
def dask_client():
    """``LocalCluster(processes=True, n_workers=2)``: real worker processes, loopback only."""
    from distributed import Client, LocalCluster

    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="session")
def cluster_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("cluster-data") / "loans.csv"
    pd.read_csv(DEMO_DATA).head(ROWS).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def tree_model(tmp_path_factory):
    """A random forest (its answer for a row does not depend on the other rows of a request)."""
    from sklearn.ensemble import RandomForestClassifier

    frame = pd.read_csv(DEMO_DATA)
    model = RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0)
    model.fit(frame.drop(columns="Target"), frame["Target"])
    path = tmp_path_factory.mktemp("cluster-model") / "forest.joblib"
    joblib.dump(model, path)
    return path


@pytest.fixture(scope="session")
def tree_server(tree_model):
    server = ServerProcess(tree_model)
    yield server
    server.stop()


def cluster_config(**shap) -> dict:
    """The demo config: both bias stages (FT included), Kernel SHAP with a 12-row baseline and
    40 sampled coalitions (so 480 records make several blocks), PDP of the top 2 features."""
    config = json.loads(DEMO_CONFIG.read_text())
    config["methods"]["shap"] = {"num_clusters": 12, "num_samples": 40, "seed": 5, "save_local_shap_values": True,
                                 **shap}
    config["methods"]["pdp"] = {"grid_resolution": 6, "top_k_features": 2}
    return config
