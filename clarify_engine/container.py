"""The processing-container entrypoint.

Reads ``/opt/ml/processing/input/config/analysis_config.json`` and the data under
``/opt/ml/processing/input/data``, writes results to ``/opt/ml/processing/output``. On
failure it writes a short reason to ``/opt/ml/output/message`` (SageMaker surfaces the
first 1 KB as the job's ``ExitMessage``/``FailureReason``) and exits non-zero.

The root ``/`` of that layout moves with the environment variable
``CLARIFY_PROCESSING_ROOT`` (for local runs and tests).

Notes
-----
Paths and failure conventions: contract §1.1 and §1.5; the exit-message rules come from the
generic Processing container contract (BYOC metadata page).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from clarify_engine import _logging
from clarify_engine.errors import ClarifyError, ConfigError

log = logging.getLogger("clarify_engine")

ROOT_ENV = "CLARIFY_PROCESSING_ROOT"
#: SageMaker keeps the first 1 KB of the message file.
MESSAGE_LIMIT = 1024
SCHEMA_ERROR = "Analysis configuration schema validation error."
LOAD_ERROR = "Unable to load analysis configuration as JSON."


@dataclass(frozen=True)
class ProcessingLayout:
    """The container's files, under ``root``."""

    root: Path

    @classmethod
    def from_env(cls) -> "ProcessingLayout":
        return cls(Path(os.environ.get(ROOT_ENV, "/")))

    @property
    def config_file(self) -> Path:
        return self.root / "opt/ml/processing/input/config/analysis_config.json"

    @property
    def data_dir(self) -> Path:
        return self.root / "opt/ml/processing/input/data"

    @property
    def output_dir(self) -> Path:
        return self.root / "opt/ml/processing/output"

    @property
    def message_file(self) -> Path:
        return self.root / "opt/ml/output/message"


class JobStopped(BaseException):
    """Raised in the main thread when the job receives SIGTERM (StopProcessingJob)."""


def failure_reason(exc: BaseException) -> str:
    """The one-paragraph reason written to the message file for ``exc``."""
    if isinstance(exc, ConfigError):
        text = str(exc)
        return text if text.startswith(LOAD_ERROR) else f"{SCHEMA_ERROR} {text}"
    if isinstance(exc, ClarifyError):
        return str(exc)
    if isinstance(exc, JobStopped):
        return "Signal 15 received, cleaning up. The job was stopped before it finished."
    return f"Internal error: {type(exc).__name__}: {exc}"


def write_message(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8, cut to :data:`MESSAGE_LIMIT` bytes on a character boundary."""
    data = text.encode("utf-8")[:MESSAGE_LIMIT].decode("utf-8", errors="ignore")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data, encoding="utf-8")


def _on_sigterm(signum, frame):  # pragma: no cover - exercised by a subprocess test
    log.warning("Signal %d received, cleaning up", signum)
    raise JobStopped()


def run(layout: ProcessingLayout) -> None:
    """Run the job described by the files of ``layout``; raise on failure."""
    from clarify_engine.config import load_config
    from clarify_engine.data import load_dataset
    from clarify_engine.run import run_analysis

    log.info("clarify-engine container: config %s", layout.config_file)
    config = load_config(layout.config_file)
    if config.dataset_uri:
        source = config.dataset_uri
        log.info("Dataset: dataset_uri %s (wins over the dataset input)", source)
    else:
        source = layout.data_dir
        log.info("Dataset: %s", source)
    dataset = load_dataset(config, source, base_dir=layout.data_dir)
    result = run_analysis(config, dataset, base_dir=layout.data_dir)
    for path in result.write(layout.output_dir):
        log.info("Wrote %s", path)


def main(argv: list[str] | None = None) -> int:
    """Entrypoint: returns the process exit code (0 on success)."""
    _logging.configure()
    layout = ProcessingLayout.from_env()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        run(layout)
    except (Exception, JobStopped) as exc:
        reason = failure_reason(exc)
        if isinstance(exc, ClarifyError) or isinstance(exc, JobStopped):
            log.error("Job failed: %s", reason)
        else:
            log.error("Job failed with an unexpected error:\n%s", "".join(traceback.format_exception(exc)))
        write_message(layout.message_file, reason)
        if isinstance(exc, JobStopped):
            # Model requests may still be in flight on worker threads; the interpreter would
            # wait for them at exit. The job is stopped: leave now, with SageMaker's code.
            logging.shutdown()
            sys.stdout.flush()
            os._exit(143)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    log.info("Job completed")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
