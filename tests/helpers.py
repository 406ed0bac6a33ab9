"""Helpers the tests import: repository paths, the SDK fixtures, running the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SDK_CONFIGS = SHARED / "fixtures" / "sdk_configs"


def sdk_config_files() -> list[Path]:
    """The SDK-written analysis_config.json fixtures (without the processing-request dump)."""
    return sorted(p for p in SDK_CONFIGS.glob("[0-9]*.json"))


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``clarify-engine ARGS`` as a real subprocess of this interpreter."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "clarify_engine.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )

