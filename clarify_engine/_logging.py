"""Timestamped log lines on a stream, the format the container and the CLI share."""

from __future__ import annotations

import logging
import sys
import time

FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def configure(level: int = logging.INFO, stream=None) -> None:
    """Send ``clarify_engine`` logs to ``stream`` (stdout by default) as UTC-timestamped lines."""
    handler = logging.StreamHandler(stream or sys.stdout)
    formatter = logging.Formatter(FORMAT, DATE_FORMAT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logger = logging.getLogger("clarify_engine")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
