"""A job on a real Dask cluster (``LocalCluster(processes=True, n_workers=2)``) gives the bytes of
the same job in one process: bias (FT included), Kernel SHAP and PDP, against a model served
over real HTTP and an in-process model file, with 1 and 3 partitions per worker."""

from __future__ import annotations

import json

import pytest

import clarify_engine
from clarify_engine.cluster import Cluster
from clarify_engine.errors import NotSupportedError
from tests.cluster.conftest import cluster_config
from tests.cluster.conftest import result_files as _files
from tests.helpers import run_cli


def _single(tmp_path, config, data, model, **kwargs):
    out = tmp_path / "single"
    result = clarify_engine.analyze(config, data=data, model=model, output_dir=out, **kwargs)
    return result, _files(out)


@pytest.mark.parametrize("per_worker", [1, 3])
def test_http_model_on_the_cluster_gives_the_single_process_bytes(tmp_path, dask_client, cluster_data, tree_server,
                                                                   http_reference, per_worker):
    config = cluster_config()
    single, expected = http_reference
    out = tmp_path / "cluster"
    settings = Cluster(dask_client, partitions_per_worker=per_worker, rows_per_partition=10, records_per_shard=1)
    result = clarify_engine.analyze(config, data=cluster_data, model=tree_server.url, output_dir=out, cluster=settings)
    assert _files(out) == expected
    analysis = json.loads(expected["analysis.json"])
    assert "FT" in {m["name"] for m in analysis["post_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]}
    assert set(analysis["explanations"]) >= {"kernel_shap", "pdp"}

    info = json.loads((out / "run_manifest.json").read_text())["cluster"]
    assert info["scheduler"] == dask_client.scheduler.address
    assert len(info["workers"]) == 2
    shards = info["partitions"]["kernel_shap"][0]
    assert shards == (2 if per_worker == 1 else 3)  # 480 records in blocks of 198: 3 blocks
    assert info["partitions"]["predictions"] == [2 * per_worker]
    assert info["partitions"]["bias_tables"] == [2 * per_worker, 2 * per_worker]  # count tables of both stages
    # the workers' meters, summed, are the model calls of the manifest's stages; each shard
    # predicts the 12 baseline rows once, as one process does once
    calls = result.manifest["model"]["calls"]
    on_workers = info["model_calls_on_workers"]
    assert on_workers["kernel_shap"]["rows"] == calls["kernel_shap"]["rows"] \
        == single.manifest["model"]["calls"]["kernel_shap"]["rows"] + 12 * (shards - 1)
    assert on_workers["pdp"]["rows"] == calls["pdp"]["rows"] == single.manifest["model"]["calls"]["pdp"]["rows"]
    assert info["model_calls_on_workers"]["predictions"]["rows"] == 480
    assert info["budget"]["leases"] == info["requests"]["requests_sent"] > 0


@pytest.mark.parametrize("exact", [True, False])
def test_in_process_model_file_on_the_cluster_gives_the_single_process_bytes(tmp_path, dask_client, cluster_data,
                                                                             tree_model, exact):
    config = cluster_config()
    single, expected = _single(tmp_path, config, cluster_data, str(tree_model), kernel_shap_only=not exact)
    out = tmp_path / "cluster"
    settings = Cluster(dask_client, partitions_per_worker=3, rows_per_partition=10, records_per_shard=1)
    result = clarify_engine.analyze(config, data=cluster_data, model=str(tree_model), output_dir=out, cluster=settings,
                                    kernel_shap_only=not exact)
    assert _files(out) == expected
    assert result.shap.core.method == ("exact_tree" if exact else "kernel_shap")
    assert "budget" not in result.manifest["cluster"]  # no requests: no shared budget


def test_an_estimator_object_travels_to_the_workers(tmp_path, dask_client, cluster_data, tree_model):
    import joblib

    config = cluster_config()
    estimator = joblib.load(tree_model)
    _, expected = _single(tmp_path, config, cluster_data, estimator, kernel_shap_only=True)
    out = tmp_path / "cluster"
    clarify_engine.analyze(config, data=cluster_data, model=estimator, output_dir=out, kernel_shap_only=True,
                           cluster=Cluster(dask_client, rows_per_partition=50))
    assert _files(out) == expected


def test_scheduler_address_from_python_and_the_command_line(tmp_path, dask_client, cluster_data, tree_server,
                                                           http_reference):
    config = cluster_config()
    _, expected = http_reference
    address = dask_client.scheduler.address
    out = tmp_path / "api"
    clarify_engine.analyze(config, data=cluster_data, model=tree_server.url, output_dir=out, cluster=address)
    assert _files(out) == expected

    config_file = tmp_path / "analysis_config.json"
    config_file.write_text(json.dumps(config))
    out = tmp_path / "cli"
    done = run_cli("analyze", "--config", str(config_file), "--data", str(cluster_data), "--model", tree_server.url,
                   "--output", str(out), "--cluster", address)
    assert done.returncode == 0, done.stderr
    assert _files(out) == expected
    assert json.loads((out / "run_manifest.json").read_text())["cluster"]["scheduler"] == address


def test_unreachable_scheduler_names_the_address_and_the_fix(tmp_path, cluster_data, tree_server):
    with pytest.raises(OSError, match=r"Cannot connect to the Dask scheduler at tcp://127\.0\.0\.1:9: .*; start one "
                                      r"\(dask scheduler\) with workers \(dask worker tcp://127\.0\.0\.1:9\) or check "
                                      r"the address"):
        clarify_engine.analyze(cluster_config(), data=cluster_data, model=tree_server.url,
                               cluster=Cluster("tcp://127.0.0.1:9", connect_timeout=2))


def test_text_jobs_and_shadow_endpoints_are_refused_with_the_fix(dask_client, tmp_path):
    text_config = {"dataset_type": "text/csv", "headers": ["review", "label"], "label": "label",
                   "methods": {"shap": {"baseline": [["<UNK>"]], "text_config": {"granularity": "token",
                                                                                  "language": "english"}}},
                   "predictor": {"endpoint_name": "reviews", "content_type": "text/csv", "accept_type": "text/csv"}}
    data = tmp_path / "reviews.csv"
    data.write_text("review,label\ngood film,1\nbad film,0\n")
    with pytest.raises(NotSupportedError, match=r"methods\.shap\.text_config: text explanations do not run on a "
                                                r"Dask cluster yet; run this job without --cluster"):
        clarify_engine.analyze(text_config, data=data, cluster=dask_client)

    shadow = cluster_config()
    shadow["predictor"].update({"model_name": "my-model", "instance_type": "ml.m5.large", "initial_instance_count": 1})
    from clarify_engine.demo import DEMO_DATA
    with pytest.raises(NotSupportedError, match=r"predictor\.model_name: a shadow endpoint is not created from a "
                                                r"Dask cluster; create the endpoint and give predictor\.endpoint_name"):
        clarify_engine.analyze(shadow, data=DEMO_DATA, cluster=dask_client)


@pytest.mark.parametrize("field, value", [("partitions_per_worker", 0), ("rows_per_partition", "10"),
                                          ("records_per_shard", True)])
def test_cluster_settings_must_be_positive_integers(field, value):
    with pytest.raises(ValueError, match=rf"Cluster\.{field} must be a positive integer; found {value!r}"):
        Cluster("tcp://127.0.0.1:8786", **{field: value})


def test_bias_count_tables_on_the_workers_equal_one_process_and_keep_its_messages(dask_client):
    import numpy as np
    import pandas as pd

    from clarify_engine.bias import BiasSpec, FacetSpec, bias_report
    from clarify_engine.cluster._executor import DaskExecutor
    from clarify_engine.report._bias_json import bias_json

    rng = np.random.default_rng(4)
    n = 600  # a float facet with fractions in the later partitions only: bins merged across workers
    frame = pd.DataFrame({"y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n), "g": rng.integers(0, 3, n),
                          "f": np.where(np.arange(n) < 250, rng.integers(30, 50, n), rng.normal(40, 10, n)),
                          "x": rng.normal(size=n)})
    spec = BiasSpec.resolve(label="y", label_values=[1], facets=[FacetSpec("f", [40])], stage="post_training",
                            methods="all", predicted_label="p", group_variable="g")
    executor = DaskExecutor(dask_client, Cluster(dask_client, partitions_per_worker=3, rows_per_partition=10))
    found = executor.bias_report(frame, spec)
    assert json.dumps(bias_json(found), sort_keys=True) == json.dumps(bias_json(bias_report(frame, spec)),
                                                                       sort_keys=True)
    assert executor.partitions["bias_tables"] == [6]
    with pytest.raises(clarify_engine.errors.DataError, match="label column 'y' is not in the dataset"):
        executor.bias_report(frame.drop(columns="y"), spec)
