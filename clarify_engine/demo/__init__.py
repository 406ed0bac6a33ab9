"""The shipped example: a loan-decision dataset and its analysis config, runnable offline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from clarify_engine.run import AnalysisResult

HERE = Path(__file__).parent
DEMO_CONFIG = HERE / "analysis_config.json"
DEMO_DATA = HERE / "loans.csv"


@dataclass
class DemoResult:
    """The demo's analysis result and where it was written."""

    result: "AnalysisResult"
    output_dir: Path

    def summary(self) -> str:
        """A few lines a person can read: each facet's CI, DPL and DI."""
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
        return "\n".join(lines)


def run_demo(output_dir: str | Path) -> DemoResult:
    """Run the shipped analysis and write its outputs to ``output_dir``."""
    from clarify_engine._api import analyze

    result = analyze(DEMO_CONFIG, data=DEMO_DATA, output_dir=output_dir)
    return DemoResult(result=result, output_dir=Path(output_dir))
