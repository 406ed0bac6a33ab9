"""Every package's public names, pinned: a change to the public surface is a deliberate edit here."""

from __future__ import annotations

import importlib

import pytest

PINNED = {
    "clarify_engine": [
        "AnalysisResult", "ClarifyError", "ClientOptions", "ConfigError", "DataError", "Failed", "Job", "ModelError",
        "NotRun", "NotSupportedError", "PartialFailure", "ValidationReport", "__version__", "analyze", "load_config",
        "load_dataset", "make_predictor", "plan", "validate",
    ],
    "clarify_engine.job": [
        "PDP_NEEDS_SHAP", "AnalysisResult", "Failed", "Job", "ModelMeter", "NotRun", "StageCalls", "StageScorer",
        "plan", "plan_data", "resolve_features", "run_job",
    ],
    "clarify_engine.explain": [
        "BaselineSpec", "FeatureCoder", "KernelShapResult", "PdpCurve", "PdpResult", "PdpSpec", "Scorer", "ShapResult",
        "ShapSpec", "as_scorer", "budget_note", "check_scores", "cluster_baseline", "default_num_samples", "determining_budget",
        "encode_features", "given_baseline", "kernel_shap", "partial_dependence", "run_pdp", "run_shap",
        "top_k_by_shap",
    ],
    "clarify_engine.data": ["ChunkedDataset", "DataSpec", "Dataset", "FacetKey", "iter_chunks", "load_dataset",
                            "read_table"],
    "clarify_engine.predict": [
        "BatchStats", "Batcher", "ClientOptions", "HttpTransport", "InProcessModel", "MockRequest", "MockTransport",
        "ModelOutput", "ModelSpec", "Predictor", "RequestCodec", "ResponseCodec", "RetryPolicy",
        "SageMakerRuntimeTransport", "ShadowEndpoint", "Transport", "TransportError", "is_number", "load_model",
        "make_predictor", "model_scores", "ping", "predicted_labels", "redact_url", "request_codec", "response_codec",
        "score_columns",
    ],
    "clarify_engine.predict.batching": ["FALLBACK_MESSAGE", "BatchStats", "Batcher", "ConcurrencyLimiter", "RetryPolicy"],
    "clarify_engine.predict.codecs": [
        "ACCEPT_TYPES", "CONTENT_TYPES", "CSVRequestCodec", "CSVResponseCodec", "JSONLinesRequestCodec",
        "JSONLinesResponseCodec", "JSONRequestCodec", "JSONResponseCodec", "csv_cell", "is_number", "request_codec",
        "response_codec",
    ],
    "clarify_engine.predict.transports": [
        "DEFAULT_MAX_REPLY_BYTES", "HttpTransport", "InProcessModel", "MODEL_FILE_HELP", "MockRequest", "MockTransport",
        "SageMakerRuntimeTransport", "ShadowEndpoint", "TRUSTED_ENV", "load_model", "ping", "redact_url",
    ],
    "clarify_engine.serve": [
        "AUTH_ENV", "CSV_OUTPUTS", "REPLY_FORMATS", "ModelServer", "build_parser", "main", "make_server", "parse_auth",
        "run", "serve",
    ],
    "clarify_engine.report": [
        "ANALYSIS_JSON", "MANIFEST_JSON", "BiasContext", "Fragment", "GroupStats", "Report", "ReportRequest",
        "ReportSpec", "dumps_analysis", "render_outputs", "report_request", "write_job_report", "write_outputs",
        "write_report",
    ],
}


@pytest.mark.parametrize("module", sorted(PINNED))
def test_all_is_pinned_and_every_name_resolves(module):
    package = importlib.import_module(module)
    assert list(package.__all__) == PINNED[module]
    for name in package.__all__:
        getattr(package, name)  # AttributeError: exported but missing
