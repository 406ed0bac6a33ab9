"""The ``clarify-engine`` command line.

Subcommands
-----------
analyze    run an analysis_config.json on a dataset and write analysis.json
validate   check a config (and optionally a dataset) without computing anything
container  the processing-container entrypoint (SageMaker layout, ``CLARIFY_PROCESSING_ROOT``)
cleanup    delete shadow endpoints that stopped or killed jobs left behind (by their tags)
serve-model  serve a model file over HTTP (/ping, /invocations, /endpoints/NAME/invocations)
diff       compare the bias metrics of two analysis.json files; fail a CI step on a bound or a regression
demo       run a full analysis on the dataset shipped with the package, offline
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from clarify_engine import _client_defaults as _defaults
from clarify_engine import _logging, _stop
from clarify_engine._stop import STOP_MESSAGE
from clarify_engine._version import __version__
from clarify_engine.errors import ClarifyError

log = logging.getLogger(__name__)

#: Exit code of a command stopped by SIGTERM (128 + 15).
STOPPED_EXIT_CODE = 143


def _cmd_analyze(args: argparse.Namespace) -> int:
    from clarify_engine._api import analyze
    from clarify_engine.predict import ClientOptions, RetryPolicy

    options = ClientOptions(concurrency=args.concurrency, max_payload_bytes=int(args.max_payload_mb * 1_000_000),
                            max_records=args.max_records, timeout=args.timeout,
                            max_reply_bytes=int(args.max_reply_mb * 1_000_000), request_deadline=args.request_deadline,
                            retry=RetryPolicy(max_attempts=args.max_attempts, throttle_attempts=args.throttle_attempts))
    result = analyze(args.config, data=args.data, model=args.model, output_dir=args.output, options=options,
                     kernel_shap_only=args.kernel_shap_only, chunk_rows=args.chunk_rows, cluster=args.cluster)
    for item in result.not_run:
        print(f"not run: {item.method}: {item.reason}", file=sys.stderr)
    return 0


def _positive(text: str) -> float:
    """argparse type: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, found {text!r}")
    return value


def _cmd_validate(args: argparse.Namespace) -> int:
    from clarify_engine._validate import validate

    # Every check runs before anything is printed: "valid" is the last line, never followed by an error.
    report = validate(args.config, data=args.data, model=args.model, dry_run=args.dry_run, throughput=args.throughput)
    for line in report.lines():
        print(line)
    checked = "configuration" if report.dataset is None else "configuration and dataset"
    print(f"{args.config}: {checked} valid")
    return 0


def _cmd_container(args: argparse.Namespace) -> int:
    from clarify_engine.container import main as container_main

    return container_main()


def _cmd_cleanup(args: argparse.Namespace) -> int:
    from clarify_engine.errors import ModelError
    from clarify_engine.predict.transports._shadow import cleanup_leftovers

    try:
        report = cleanup_leftovers(older_than=args.older_than, name_contains=args.name_contains,
                                   owner=args.owner, dry_run=args.dry_run)
    except Exception as exc:  # noqa: BLE001 - any AWS fault, reported with the fix
        raise ModelError(f"listing endpoints failed: {exc}; check the AWS credentials, region and endpoint "
                         "URL (AWS_ENDPOINT_URL_SAGEMAKER)") from exc
    for item in report:
        print(f"{item.action}: {item.kind} {item.name} (job {item.job}): {item.reason}")
    actions = ("would delete" if args.dry_run else "deleted", "kept", "failed")
    counts = {action: sum(item.action == action for item in report) for action in actions}
    print(", ".join(f"{n} {action}" for action, n in counts.items())
          + (" (dry run: nothing deleted)" if args.dry_run else ""))
    return 1 if counts["failed"] else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.text:
        from clarify_engine.demo._text import run_text_demo

        text = run_text_demo(args.output).to_dict()["explanations"]["kernel_shap"]
        print(f"text demo analysis written to {args.output}/analysis.json and "
              f"{args.output}/explanations_shap/out.jsonl")
        for label, values in text.items():
            for column, top in values["global_top_shap_text"].items():
                print(f"global_top_shap_text {label} {column}: "
                      + ", ".join(f"{unit}={value:.4f}" for unit, value in top.items()))
        return 0
    from clarify_engine.demo import run_demo

    if args.images:
        from clarify_engine.demo._images import run_image_demo

        images = run_image_demo(args.output)
        for entry in images.to_dict()["explanations"]["image_shap"]["images"]:
            [cls] = entry["classes"]
            print(f"{entry['image']}: {cls['label']} ({cls['score']:.3f}), {entry['num_segments']} segments, "
                  f"heat map {args.output}/{cls['heatmap']}")
        return 0

    result = run_demo(args.output)
    print(f"demo analysis written to {args.output}/analysis.json")
    report = result.result.manifest.get("report") or {}
    if report.get("files"):
        print(f"report written to {', '.join(f'{args.output}/{name}' for name in report['files'])}")
    elif report.get("error"):
        print(f"report not written: {report['error']}", file=sys.stderr)
    print(result.summary())
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from clarify_engine.report import render_outputs

    for path in render_outputs(args.analysis_json, args.output, name=args.name, title=args.title):
        print(f"wrote {path}")
    return 0


def _condition(text: str):
    """argparse type of ``--fail-if``."""
    from clarify_engine._diff import parse_condition

    try:
        return parse_condition(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_diff(args: argparse.Namespace) -> int:
    from clarify_engine._diff import GATE_FAILED, diff_analyses

    result = diff_analyses(args.old, args.new, conditions=tuple(args.fail_if or ()),
                           fail_on_regression=args.fail_on_regression, tolerance=args.tolerance)
    for line in result.lines(show_all=args.all):
        print(line)
    return GATE_FAILED if result.failed else 0


def _cmd_serve_model(args: argparse.Namespace) -> int:
    from clarify_engine import serve

    return serve.run(args)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``serve-model``'s options (and numpy/pandas with them) are only
    loaded when ``argv`` asks for that command or for help, so ``--version`` and ``validate``
    start in a fraction of a second."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="clarify-engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"clarify-engine {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stdout")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help="run an analysis and write analysis.json")
    p.add_argument("--config", required=True, help="path to analysis_config.json")
    p.add_argument("--data", default=None, help="dataset file, folder or s3:// URI (default: the config's dataset_uri)")
    p.add_argument("--output", required=True, help="folder for analysis.json and run_manifest.json")
    p.add_argument("--model", default=None,
                   help="model for predictions: a model file (.skops or xgboost .json/.ubj: loading runs no "
                        "code, recommended; .joblib/.pkl: pickle, loading RUNS CODE from the file, use only files "
                        "you trust; a SageMaker model.tar.gz or xgboost-model), or the http:// URL of a model "
                        "server (default: the config's predictor endpoint)")
    p.add_argument("--concurrency", type=int, default=_defaults.CONCURRENCY, help="requests in flight to a remote model, at most: fewer while it throttles (default: %(default)s)")
    p.add_argument("--max-payload-mb", type=float, default=_defaults.MAX_PAYLOAD_BYTES / 1e6, help="largest request body in MB (default: %(default)s)")
    p.add_argument("--max-records", type=int, default=_defaults.MAX_RECORDS, help="most records per request (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=_defaults.TIMEOUT, help="seconds per request before retrying (default: %(default)s)")
    p.add_argument("--max-reply-mb", type=float, default=_defaults.MAX_REPLY_BYTES / 1e6, help="longest model reply read, in MB (default: %(default)s)")
    p.add_argument("--max-attempts", type=int, default=_defaults.MAX_ATTEMPTS, help="attempts per request in all, the first included: 1 never retries (RetryPolicy.max_attempts; default: %(default)s)")
    p.add_argument("--throttle-attempts", type=int, default=_defaults.THROTTLE_ATTEMPTS, help="attempts in all for a request the endpoint keeps refusing as too busy (RetryPolicy.throttle_attempts; default: %(default)s)")
    p.add_argument("--request-deadline", type=float, default=None,
                   help="seconds one request may take in all, however slowly its reply comes (default: twice --timeout)")
    p.add_argument("--kernel-shap-only", action="store_true",
                   help="explain with Kernel SHAP even when an exact path applies (an in-process tree ensemble or "
                        "linear model); the same as methods.shap.exact: false")
    p.add_argument("--chunk-rows", type=int, default=None, metavar="N",
                   help="read the dataset N rows at a time and compute bias metrics, predicted labels, Kernel "
                        "SHAP and PDP from the chunks, never holding the dataset (jobs with text or image "
                        "explanations, segments or a report are refused; docs/scale.md)")
    p.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="run the model calls (predicted labels, Kernel SHAP shards, PDP) on the Dask cluster whose "
                        "scheduler is at ADDRESS (tcp://host:8786); the results are those of one process, byte for "
                        "byte (docs/scale.md, \"Dask\"; needs the cluster extra)")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("validate", help="check a config (and dataset, model) without computing")
    p.add_argument("config", help="path to analysis_config.json")
    p.add_argument("--data", default=None,
                   help="also load this dataset, resolve its columns and plan the job (default: the config's "
                        "dataset_uri, if any)")
    p.add_argument("--model", default=None,
                   help="the model analyze would get: a model file is loaded, a model server URL must answer "
                        "/ping (default: the config's predictor)")
    p.add_argument("--dry-run", action="store_true",
                   help="also count the rows, model records and requests the job will send (needs the dataset)")
    p.add_argument("--throughput", type=_positive, default=None,
                   help="with --dry-run: records per second the model serves, to estimate the time")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("container", help="processing-container entrypoint")
    p.set_defaults(func=_cmd_container)

    p = sub.add_parser("cleanup", help="delete shadow endpoints that stopped or killed jobs left behind")
    p.add_argument("--older-than", type=float, default=86400.0,
                   help="delete tagged endpoints older than this many seconds whoever owns them; those whose "
                        "owning process on this host is gone are deleted at any age (default: %(default)s)")
    p.add_argument("--name-contains", default=None, help="only endpoints whose name contains this text")
    p.add_argument("--owner", default=None, help="only endpoints created by this process (HOST:PID)")
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    p.set_defaults(func=_cmd_cleanup)

    p = sub.add_parser("serve-model", help="serve a model file over SageMaker's /invocations protocol")
    if "serve-model" in argv or "-h" in argv or "--help" in argv:
        from clarify_engine import serve

        serve.build_parser(p)
    p.set_defaults(func=_cmd_serve_model)

    p = sub.add_parser("diff", help="compare the bias metrics of two analysis.json files (exit 3 when a gate fails)")
    p.add_argument("old", help="analysis.json of the reference run (ours or SageMaker Clarify's)")
    p.add_argument("new", help="analysis.json of the run to check")
    p.add_argument("--fail-if", action="append", type=_condition, metavar="COND",
                   help="fail when a metric of NEW meets COND, e.g. \"DPPL>0.1\", \"DI<0.8\", \"|DPL|>=0.2\" "
                        "(repeatable)")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="fail when a metric moved away from its fair value (1 for DI, else 0) by more than "
                        "--tolerance (not when both runs have overlapping confidence intervals)")
    p.add_argument("--tolerance", type=float, default=0.0, help="largest move that is not a regression "
                                                                "(default: %(default)s)")
    p.add_argument("--all", action="store_true", help="list unchanged metrics too")
    p.set_defaults(func=_cmd_diff)

    p = sub.add_parser("demo", help="full analysis on the shipped example, offline")
    p.add_argument("--output", default="clarify-demo-output", help="output folder (default: %(default)s)")
    p.add_argument("--text", action="store_true",
                   help="the text part instead: a TF-IDF model trained on shipped reviews, explained token by token")
    p.add_argument("--images", action="store_true",
                   help="the image part instead: explain four photographs with a classifier trained on them")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("report", help="re-render the report files from a finished job's outputs")
    p.add_argument("analysis_json", help="the job's analysis.json (run_manifest.json and explanations_shap/ "
                                         "beside it are read when present)")
    p.add_argument("--output", default=None, help="folder for the report files (default: beside analysis.json)")
    p.add_argument("--name", default=None, help="base name of the files (default: the job's methods.report.name, "
                                                "else report)")
    p.add_argument("--title", default=None, help="report title (default: the job's, else 'Analysis Report')")
    p.set_defaults(func=_cmd_report)
    return parser


def _stopped_exit() -> None:
    """End ``analyze`` stopped by SIGTERM that reached no check within the grace period."""
    print(f"clarify-engine analyze: {STOP_MESSAGE}", file=sys.stderr, flush=True)
    os._exit(STOPPED_EXIT_CODE)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    _logging.configure(logging.WARNING if args.quiet else logging.INFO)
    uninstall = None
    try:
        if args.command == "analyze":  # SIGTERM stops it cleanly too (a shadow endpoint is deleted)
            uninstall = _stop.install_sigterm(on_deadline=_stopped_exit)
        return args.func(args)
    except ClarifyError as exc:
        if _stop.is_set():
            return _stopped(args.command)
        print(f"clarify-engine {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except _stop.JobStopped:
        return _stopped(args.command)
    finally:
        if uninstall is not None:
            uninstall()


def _stopped(command: str) -> int:
    print(f"clarify-engine {command}: {STOP_MESSAGE}", file=sys.stderr)
    return STOPPED_EXIT_CODE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
