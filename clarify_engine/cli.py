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
    from clarify_engine.config import load_config
    from clarify_engine.data import load_dataset
    from clarify_engine.run import plan

    config = load_config(args.config)
    print(f"{args.config}: configuration is valid")
    if args.data is not None or config.dataset_uri:
        dataset = load_dataset(config, args.data)
        runnable, not_run = plan(config, dataset)
        print(f"dataset: {len(dataset.frame)} rows, columns {list(map(str, dataset.frame.columns))}")
        print(f"label: {dataset.label}; facets: {[name for name, _ in dataset.facets]}; "
              f"predicted label: {dataset.predicted_label}; features: {len(dataset.features)}")
        print(f"would run: {', '.join(runnable)}")
        for item in not_run:
            print(f"would not run: {item.method}: {item.reason}")
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


def build_parser() -> argparse.ArgumentParser:
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
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight to a remote model, at most: fewer while it throttles (default: %(default)s)")
    p.add_argument("--max-payload-mb", type=float, default=5.8, help="largest request body in MB (default: %(default)s)")
    p.add_argument("--max-records", type=int, default=1000, help="most records per request (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request before retrying (default: %(default)s)")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("validate", help="check a config (and dataset) without computing")
    p.add_argument("config", help="path to analysis_config.json")
    p.add_argument("--data", default=None, help="also load this dataset and resolve its columns")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("container", help="processing-container entrypoint")
    p.set_defaults(func=_cmd_container)

    from clarify_engine import serve

    p = sub.add_parser("serve-model", help="serve a model file over SageMaker's /invocations protocol")
    serve.build_parser(p)
    p.set_defaults(func=serve.run)

    p = sub.add_parser("demo", help="full analysis on the shipped example, offline")
    p.add_argument("--output", default="clarify-demo-output", help="output folder (default: %(default)s)")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _logging.configure(logging.WARNING if args.quiet else logging.INFO)
    try:
        return args.func(args)
    except ClarifyError as exc:
        print(f"clarify-engine {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
