"""The processing-container entrypoint.

Reads ``/opt/ml/processing/input/config/analysis_config.json`` and the data under
``/opt/ml/processing/input/data``, writes results to ``/opt/ml/processing/output``. On
failure it writes a short reason to ``/opt/ml/output/message`` (SageMaker surfaces the
first 1 KB as the job's ``ExitMessage``/``FailureReason``) and exits non-zero.

The root ``/`` of that layout moves with the environment variable
``CLARIFY_PROCESSING_ROOT`` (for local runs and tests); without it and without
``/opt/ml/processing/input/config`` the entrypoint refuses to run and creates nothing.

When some methods fail and others complete, ``analysis.json`` holds the completed ones, the
manifest and the message name the failed ones with their reasons, and the exit code is 1.
SIGTERM stops the job through the stop flag (:mod:`clarify_engine._stop`): exit 143, reason
in the message file. Dataset and baseline locations must be ``s3://`` or files under
``/opt/ml/processing/input`` unless ``CLARIFY_ALLOW_ANY_URI=1``.

With several hosts in ``/opt/ml/config/resourceconfig.json`` the hosts form one Dask cluster:
the leader (``sorted(hosts)[0]``) runs the job on it and alone writes the outputs, the others
work for it and exit with the job's outcome (``docs/scale.md``, "Multi-instance jobs").
``CLARIFY_SHAP_PART_FILES=1`` writes ``explanations_shap/out.csv`` in Spark's part-file layout.

Notes
-----
Paths and failure conventions: contract §1.1 and §1.5; the exit-message rules come from the
generic Processing container contract (BYOC metadata page).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from clarify_engine import _logging, _stop
from clarify_engine._stop import STOP_MESSAGE, JobStopped
from clarify_engine.errors import ClarifyError, ConfigError, NotSupportedError, PartialFailure

__all__ = ["JobStopped", "ProcessingLayout", "check_locations", "failure_reason", "main", "run"]

log = logging.getLogger(__name__)

ROOT_ENV = "CLARIFY_PROCESSING_ROOT"
#: Set to 1 to let the container read dataset and baseline locations outside its inputs.
ALLOW_ANY_URI_ENV = "CLARIFY_ALLOW_ANY_URI"
#: Stream the dataset in chunks of this many rows (``analyze(chunk_rows=)``, ``--chunk-rows``):
#: a processing job's way to run a dataset larger than the instance's memory (``docs/scale.md``).
CHUNK_ROWS_ENV = "CLARIFY_CHUNK_ROWS"
#: SageMaker keeps the first 1 KB of the message file.
MESSAGE_LIMIT = 1024
SCHEMA_ERROR = "Analysis configuration schema validation error."
LOAD_ERROR = "Unable to load analysis configuration as JSON."
#: Exit code of a job stopped by SIGTERM (128 + 15), as SageMaker's containers exit.
STOPPED_EXIT_CODE = 143
#: Exit code when the entrypoint refuses to run outside a processing container.
NOT_A_CONTAINER_EXIT_CODE = 2
#: Config keys that name a file or URL the container reads.
LOCATION_KEYS = ("dataset_uri", "facet_dataset_uri", "predicted_label_dataset_uri", "methods.shap.baseline")


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
    def input_dir(self) -> Path:
        return self.root / "opt/ml/processing/input"

    @property
    def data_dir(self) -> Path:
        return self.root / "opt/ml/processing/input/data"

    @property
    def output_dir(self) -> Path:
        return self.root / "opt/ml/processing/output"

    @property
    def message_file(self) -> Path:
        return self.root / "opt/ml/output/message"

    @property
    def resource_config_file(self) -> Path:
        """SageMaker's host list (``current_host``, ``hosts``): :mod:`clarify_engine.cluster._roles`."""
        return self.root / "opt/ml/config/resourceconfig.json"


def not_a_container_reason() -> str | None:
    """Why this is not a processing container, or None when it is (or a root was given).

    Outside a container, writing the failure message would create ``/opt/ml`` on the host.
    """
    if ROOT_ENV in os.environ:
        return None
    config_dir = Path("/opt/ml/processing/input/config")
    if config_dir.is_dir():
        return None
    return (f"clarify-engine container: refusing to run: {config_dir} does not exist, so this is not a "
            f"processing container and nothing was read or written; set {ROOT_ENV} to a folder holding "
            "opt/ml/processing/input/config/analysis_config.json, or run clarify-engine analyze")


def failure_reason(exc: BaseException) -> str:
    """The one-paragraph reason written to the message file for ``exc``."""
    if isinstance(exc, ConfigError):
        text = str(exc)
        return text if text.startswith(LOAD_ERROR) else f"{SCHEMA_ERROR} {text}"
    if isinstance(exc, ClarifyError):
        return str(exc)
    if isinstance(exc, JobStopped):
        return STOP_MESSAGE
    return f"Internal error: {type(exc).__name__}: {exc}"


def write_message(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8, cut to :data:`MESSAGE_LIMIT` bytes on a character boundary."""
    data = text.encode("utf-8")[:MESSAGE_LIMIT].decode("utf-8", errors="ignore")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data, encoding="utf-8")


def _locations(config) -> list[tuple[str, str]]:
    """(key, location) of every file or URL the config names (:data:`LOCATION_KEYS`)."""
    found = []
    for key in LOCATION_KEYS:
        value = config
        for part in key.split("."):
            value = getattr(value, part, None)
        if isinstance(value, str):
            found.append((key, value))
    return found


def check_locations(config, layout: ProcessingLayout) -> None:
    """Refuse dataset and baseline locations outside the job's inputs and ``s3://``.

    Relative paths are taken from the data folder. Local paths must lie (symbolic links
    resolved) under ``opt/ml/processing/input``; URLs must be ``s3://``. The environment
    variable :data:`ALLOW_ANY_URI_ENV` = ``1`` lifts the restriction.

    Raises
    ------
    ConfigError
        Names the key, the location and the two ways out.
    """
    if os.environ.get(ALLOW_ANY_URI_ENV) == "1":
        return
    from clarify_engine.data._sources import is_url, resolve_location

    inputs = layout.input_dir.resolve()
    for key, location in _locations(config):
        if is_url(location):
            if location.lower().startswith("s3://"):
                continue
        else:
            path = Path(resolve_location(location, layout.data_dir)).resolve()
            if path == inputs or inputs in path.parents:
                continue
        raise ConfigError(
            key,
            f"{location!r} is outside the processing job's inputs: the container reads only s3:// URIs and "
            f"files under {layout.input_dir}; give an s3:// URI or the path of a ProcessingInput, or set "
            f"{ALLOW_ANY_URI_ENV}=1 to allow any location",
        )


def run(layout: ProcessingLayout) -> None:
    """Run the job described by the files of ``layout``; raise on failure.

    When some methods fail and others complete, the completed ones are written before the
    :class:`~clarify_engine.errors.PartialFailure` is raised. With several hosts in
    ``opt/ml/config/resourceconfig.json`` the hosts form one Dask cluster: the leader runs the
    job on it and writes the outputs, the others serve as workers
    (:mod:`clarify_engine.cluster._hosts`, ``docs/scale.md``).
    """
    from clarify_engine.cluster._hosts import HostSettings, run_leader, run_worker
    from clarify_engine.cluster._roles import read_roles

    roles = read_roles(layout.resource_config_file)
    if roles is not None:
        roles.log_roles()
    if roles is None or not roles.multi_host:
        _analyze(layout, cluster=None, hosts=1)
        return
    settings = HostSettings.from_env()
    if roles.is_leader:
        run_leader(roles, settings, lambda client: _analyze(layout, cluster=client, hosts=len(roles.hosts)),
                   describe=failure_reason)
    else:
        run_worker(roles, settings)


def chunk_rows_from_env() -> int | None:
    """``CLARIFY_CHUNK_ROWS`` as a positive integer, or None when unset or empty."""
    text = os.environ.get(CHUNK_ROWS_ENV, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        # not the config's fault: a ClarifyError of its own, so the message file does not blame the schema
        raise ClarifyError(f"The environment variable {CHUNK_ROWS_ENV}={text!r} is not a positive number of rows; "
                           "set it to the rows per chunk (e.g. 1000000) to stream the dataset, or leave it unset "
                           "to load the dataset whole")
    return value


def _analyze(layout: ProcessingLayout, cluster, hosts: int) -> None:
    """The job itself: the config, its locations, ``analyze``, then the part-file layout if asked."""
    from clarify_engine._api import analyze
    from clarify_engine.config import load_config

    log.info("clarify-engine container: config %s", layout.config_file)
    config = load_config(layout.config_file)
    check_locations(config, layout)
    source: str | Path
    if config.dataset_uri:
        source = config.dataset_uri
        log.info("Dataset: dataset_uri %s (wins over the dataset input)", source)
    else:
        source = layout.data_dir
        log.info("Dataset: %s", source)
    chunk_rows = chunk_rows_from_env()
    if chunk_rows is not None:
        log.info("Streaming the dataset in chunks of %d rows (%s)", chunk_rows, CHUNK_ROWS_ENV)
        if config.methods.report is not None:
            # the SDK's processors write methods.report into every analysis config, and a streamed job
            # cannot draw it (it reads every row): the variable the user set asks for streaming, so the
            # report is the part left out, said here, rather than a refusal no SDK user could avoid
            log.warning("%s is set: the report (methods.report) is not written, because its tables and charts "
                        "read every row of the dataset; analysis.json and the other outputs are. Unset %s to "
                        "load the dataset whole and get the report", CHUNK_ROWS_ENV, CHUNK_ROWS_ENV)
            config = dataclasses.replace(config, methods=dataclasses.replace(config.methods, report=None))
        if cluster is not None:
            log.warning("A streamed job runs on one host: the leader streams the dataset alone and the other %d "
                        "host(s) wait for it (unset %s to load the dataset and spread the model calls over "
                        "every host)", hosts - 1, CHUNK_ROWS_ENV)
    try:
        try:
            analyze(config, source, output_dir=layout.output_dir, base_dir=layout.data_dir,
                    cluster=cluster if chunk_rows is None else None, chunk_rows=chunk_rows)
        except NotSupportedError as exc:
            if cluster is None or chunk_rows is not None:
                raise
            # refused before any work (text, image, shadow endpoints): the leader runs it as one host would
            log.warning("This job does not run on the Dask cluster (%s); the leader runs it alone and the other "
                        "hosts wait for it", exc)
            analyze(config, source, output_dir=layout.output_dir, base_dir=layout.data_dir)
    except PartialFailure:  # what completed is written: its out.csv gets the layout too
        _part_files(layout, hosts, config.joinsource_name_or_index)
        raise
    _part_files(layout, hosts, config.joinsource_name_or_index)


def _part_files(layout: ProcessingLayout, hosts: int, joinsource) -> None:
    """With ``CLARIFY_SHAP_PART_FILES=1``, turn the written ``out.csv`` into Spark's part files."""
    from clarify_engine.report._part_files import PART_FILES_ENV, write_part_files

    out_csv = layout.output_dir / "explanations_shap" / "out.csv"
    if os.environ.get(PART_FILES_ENV) != "1" or not out_csv.is_file():
        return
    if joinsource is None:
        log.warning("joinsource_name_or_index not set: local SHAP part files cannot be mapped back to input rows "
                    "(rows stay in input order, part after part); set data_config joinsource_name_or_index to "
                    "an identifier column to keep it beside each row's values")
    write_part_files(out_csv, parts=hosts)


def _exit_stopped(layout: ProcessingLayout) -> None:
    """Record the stop and leave with SageMaker's code, without waiting for worker threads.

    Model requests may still be in flight on worker threads; the interpreter would wait for
    them at exit.
    """
    log.error("Job stopped: %s", STOP_MESSAGE)
    try:
        write_message(layout.message_file, STOP_MESSAGE)
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(STOPPED_EXIT_CODE)


def main(argv: list[str] | None = None) -> int:
    """Entrypoint: returns the process exit code (0 on success).

    SIGTERM sets the stop flag (:mod:`clarify_engine._stop`); the job stops at its next check,
    cleans up (shadow endpoints are deleted) and exits 143 with the reason in the message
    file, also when the stop lands while a failure is being handled or after the last
    method finished. Outside a processing container (no ``CLARIFY_PROCESSING_ROOT`` and no
    ``/opt/ml/processing/input/config``) it refuses at once, creating nothing.
    """
    _logging.configure()
    refusal = not_a_container_reason()
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return NOT_A_CONTAINER_EXIT_CODE
    layout = ProcessingLayout.from_env()
    try:
        uninstall = _stop.install_sigterm(on_deadline=lambda: _exit_stopped(layout))
    except ClarifyError as exc:
        log.error("Job failed: %s", exc)
        write_message(layout.message_file, str(exc))
        return 1
    try:
        try:
            run(layout)
        except JobStopped:
            _exit_stopped(layout)
        except Exception as exc:
            if _stop.is_set():  # the failure came from (or raced with) the stop: the stop wins
                _exit_stopped(layout)
            reason = failure_reason(exc)
            if isinstance(exc, ClarifyError):
                log.error("Job failed: %s", reason)
            else:
                log.error("Job failed with an unexpected error:\n%s", "".join(traceback.format_exception(exc)))
            write_message(layout.message_file, reason)
            if _stop.is_set():  # the stop arrived while the failure was being recorded
                _exit_stopped(layout)
            return 1
        if _stop.is_set():  # stopped after the last check: still a stopped job
            _exit_stopped(layout)
        log.info("Job completed")
        return 0
    finally:
        uninstall()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
