"""The shipped example: a loan-decision dataset, a model and an analysis config, runnable offline.

:func:`run_demo` serves the shipped model with the project's model server on a loopback
port (SageMaker's ``/invocations`` protocol, in a background thread), points the analysis
at it, and writes ``analysis.json`` (pre-training bias from the data, post-training bias
from the model's predictions, Kernel SHAP, PDP) and the report: ``report.html``,
``report.ipynb`` and ``report.pdf``.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from clarify_engine.job import AnalysisResult

HERE = Path(__file__).parent
DEMO_CONFIG = HERE / "analysis_config.json"
DEMO_DATA = HERE / "loans.csv"
DEMO_MODEL = HERE / "loans_model.joblib"
#: The report the demo writes (the shipped config stays a plain analysis config, so the tests that
#: run it do not each render a PDF).
DEMO_REPORT = {"name": "report", "title": "Loan decisions: bias and explainability report"}


@dataclass
class DemoResult:
    """The demo's analysis result and where it was written."""

    result: "AnalysisResult"
    output_dir: Path

    def summary(self) -> str:
        """A few lines a person can read: each facet's headline metrics, global SHAP values, PDP curves."""
        lines = []
        for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
            section = self.result.analysis.get(key)
            if not section:
                continue
            for facet, entries in section["facets"].items():
                for entry in entries:
                    shown = ", ".join(
                        f"{m['name']}={m['value']:.4f}" if isinstance(m.get("value"), float) else f"{m['name']}={m.get('value')}"
                        for m in entry["metrics"]
                        if m["name"] in ("CI", "DPL", "KL", "DI", "DPPL", "AD")
                    )
                    lines.append(f"{key} {facet} {entry['value_or_threshold']}: {shown}")
        for label, values in self.result.analysis.get("explanations", {}).get("kernel_shap", {}).items():
            top = sorted(values["global_shap_values"].items(), key=lambda kv: -kv[1])
            shown = ", ".join(f"{name}={value:.4f}" for name, value in top)
            lines.append(f"kernel_shap {label} (expected value {values['expected_value']:.4f}): {shown}")
        for entry in self.result.analysis.get("explanations", {}).get("pdp", []):
            if "error" in entry:
                lines.append(f"pdp {entry['feature_name']}: {entry['error']}")
                continue
            curve = entry["model_predictions"][0]
            lines.append(f"pdp {entry['feature_name']} ({entry['data_type']}, {len(curve)} values): "
                         f"{entry['label_headers'][0]} from {curve[0]:.4f} to {curve[-1]:.4f}")
        model = self.result.manifest.get("model", {})
        if model:
            lines.append(f"predictions from {model.get('description')}: {model.get('requests', {})}")
        return "\n".join(lines)


@contextmanager
def serving(model_file: Path = DEMO_MODEL) -> Iterator[str]:
    """Serve ``model_file`` on a free loopback port for the duration; yields the server URL."""
    from clarify_engine.predict import load_model
    from clarify_engine.serve import make_server

    server = make_server(load_model(model_file), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_demo(output_dir: str | Path) -> DemoResult:
    """Run the shipped analysis against the shipped model, served over HTTP; write the outputs and report."""
    import json

    from clarify_engine._api import analyze
    from clarify_engine.config import load_config

    config = json.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    config["methods"].setdefault("report", dict(DEMO_REPORT))
    with serving() as url:
        result = analyze(load_config(config), data=DEMO_DATA, model=url, output_dir=output_dir)
    return DemoResult(result=result, output_dir=Path(output_dir))
