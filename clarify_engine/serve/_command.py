"""``clarify-engine serve-model`` / ``python -m clarify_engine.serve``: arguments, and running the server."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from clarify_engine.errors import ClarifyError
from clarify_engine.predict.transports import MODEL_FILE_HELP, TRUSTED_ENV, load_model
from clarify_engine.serve._replies import CSV_OUTPUTS, REPLY_FORMATS
from clarify_engine.serve._server import AUTH_ENV, IDLE_TIMEOUT, MAX_BODY, ModelServer, parse_auth, serve

__all__ = ["build_parser", "main", "run"]


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of ``serve-model`` (added to ``parser`` when given, e.g. a CLI subparser)."""
    if parser is None:
        parser = argparse.ArgumentParser(prog="clarify-engine serve-model", description="Serve a model file over HTTP (SageMaker container protocol).")
    parser.add_argument("model_file", help=MODEL_FILE_HELP)
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--endpoint-name", default=None, help="accept only this name on /endpoints/NAME/invocations")
    parser.add_argument("--reply-format", default="default", choices=REPLY_FORMATS,
                        help="reply shape: this project's default, or that of SageMaker's built-in xgboost "
                             "({\"predictions\": [{\"score\": ...}]}, CSV one score per line) or linear-learner "
                             "({\"score\": ..., \"predicted_label\": ...}) algorithm (default: %(default)s)")
    parser.add_argument("--csv-output", default="probability", choices=CSV_OUTPUTS, help="text/csv reply layout of the default reply format (default: %(default)s)")
    parser.add_argument("--auth", default=None, metavar="USER:PASSWORD",
                        help=f"require HTTP basic auth on POST routes (better: set {AUTH_ENV}=USER:PASSWORD, "
                             "which other users cannot read in the process list)")
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT, metavar="SECONDS",
                        help="close a connection that sends nothing for this long (default: %(default)s)")
    parser.add_argument("--max-body-mb", type=float, default=MAX_BODY / 2**20, metavar="MB",
                        help="refuse larger request bodies with 413 (default: %(default)s)")
    parser.add_argument("--trust-type", action="append", default=None, metavar="TYPE",
                        help=f"a type a .skops file may hold beyond skops' defaults (repeatable; default: the "
                             f"comma-separated list in {TRUSTED_ENV})")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``serve-model`` from parsed arguments: prints the bound port alone on the first stdout line."""
    auth = args.auth if args.auth is not None else os.environ.get(AUTH_ENV) or None
    if auth is not None:
        parse_auth(auth, "--auth" if args.auth is not None else AUTH_ENV)
    if not args.idle_timeout > 0:
        raise ClarifyError(f"--idle-timeout: expected seconds > 0, found {args.idle_timeout}")
    if not args.max_body_mb > 0:
        raise ClarifyError(f"--max-body-mb: expected a size > 0, found {args.max_body_mb}")
    model = load_model(args.model_file, trusted=args.trust_type)

    def ready(server: ModelServer) -> None:
        print(server.port, flush=True)
        print(f"serving {args.model_file} on {server.url} (GET /ping, POST /invocations, "
              f"POST /endpoints/NAME/invocations; reply format {args.reply_format}"
              f"{', basic auth' if auth else ''})", flush=True)

    serve(model, args.host, args.port, ready=ready, endpoint_name=args.endpoint_name, csv_output=args.csv_output,
          reply_format=args.reply_format, auth=auth, idle_timeout=args.idle_timeout,
          max_body=int(args.max_body_mb * 2**20))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``clarify-engine serve-model MODEL_FILE --port N [--host H]``; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except ClarifyError as exc:
        print(f"clarify-engine serve-model: error: {exc}", file=sys.stderr)
        return 1
