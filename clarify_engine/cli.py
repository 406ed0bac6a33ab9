"""The ``clarify-engine`` command line.

Subcommands
-----------
analyze    run an analysis_config.json on a dataset and write analysis.json
validate   check a config (and optionally a dataset) without computing anything
container  the processing-container entrypoint (SageMaker layout, ``CLARIFY_PROCESSING_ROOT``)
serve-model  serve a model file over HTTP (/ping, /invocations, /endpoints/NAME/invocations)
demo       run a full analysis on the dataset shipped with the package, offline
"""

from __future__ import annotations

import argparse
import logging
import sys

from clarify_engine import _logging
from clarify_engine._version import __version__
from clarify_engine.errors import ClarifyError

log = logging.getLogger("clarify_engine")


def _cmd_analyze(args: argparse.Namespace) -> int:
    from clarify_engine._api import analyze
    from clarify_engine.predict import ClientOptions

    options = ClientOptions(concurrency=args.concurrency, max_payload_bytes=int(args.max_payload_mb * 1_000_000),
                            max_records=args.max_records, timeout=args.timeout)
    result = analyze(args.config, data=args.data, model=args.model, output_dir=args.output, options=options)
    for item in result.not_run:
        print(f"not run: {item.method}: {item.reason}", file=sys.stderr)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from clarify_engine._validate import validate

    # Every check runs before anything is printed: "valid" is the last line, never followed by an error.
    report = validate(args.config, data=args.data, model=args.model)
    for line in report.lines():
        print(line)
    checked = "configuration" if report.dataset is None else "configuration and dataset"
    print(f"{args.config}: {checked} valid")
    return 0


def _cmd_container(args: argparse.Namespace) -> int:
    from clarify_engine.container import main as container_main

    return container_main()


def _cmd_demo(args: argparse.Namespace) -> int:
    from clarify_engine.demo import run_demo

    result = run_demo(args.output)
    print(f"demo analysis written to {args.output}/analysis.json")
    print(result.summary())
    return 0


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
                   help="model for predictions: a joblib/pickle/xgboost file, or the http:// URL of a model "
                        "server (default: the config's predictor endpoint)")
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight to a remote model, at most: fewer while it throttles (default: %(default)s)")
    p.add_argument("--max-payload-mb", type=float, default=5.8, help="largest request body in MB (default: %(default)s)")
    p.add_argument("--max-records", type=int, default=1000, help="most records per request (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request before retrying (default: %(default)s)")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("validate", help="check a config (and dataset, model) without computing")
    p.add_argument("config", help="path to analysis_config.json")
    p.add_argument("--data", default=None,
                   help="also load this dataset, resolve its columns and plan the job (default: the config's "
                        "dataset_uri, if any)")
    p.add_argument("--model", default=None,
                   help="the model analyze would get: a model file is loaded, a model server URL must answer "
                        "/ping (default: the config's predictor)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("container", help="processing-container entrypoint")
    p.set_defaults(func=_cmd_container)

    p = sub.add_parser("serve-model", help="serve a model file over SageMaker's /invocations protocol")
    if "serve-model" in argv or "-h" in argv or "--help" in argv:
        from clarify_engine import serve

        serve.build_parser(p)
    p.set_defaults(func=_cmd_serve_model)

    p = sub.add_parser("demo", help="full analysis on the shipped example, offline")
    p.add_argument("--output", default="clarify-demo-output", help="output folder (default: %(default)s)")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    _logging.configure(logging.WARNING if args.quiet else logging.INFO)
    try:
        return args.func(args)
    except ClarifyError as exc:
        print(f"clarify-engine {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
