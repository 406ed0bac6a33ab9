"""Fixtures of the image tests: the fixture images and real HTTP image model servers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
IMAGES = HERE.parent.parent / "fixtures" / "images"
SERVER = HERE / "image_server.py"


class ImageServer:
    """``image_server.py MODEL`` as a subprocess on a free loopback port; ``requests()`` reads its log."""

    def __init__(self, model: str, log: Path):
        self.log = log
        self.proc = subprocess.Popen([sys.executable, str(SERVER), model, "--port", "0", "--log", str(log)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ))
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError(f"image server did not start: {line!r} {self.proc.stderr.read()}")
        self.url = f"http://127.0.0.1:{int(line)}"

    def requests(self) -> list[tuple[str, int]]:
        """(content type, images) of every request served so far."""
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            ctype, n = line.rsplit(" ", 1)
            out.append((ctype, int(n)))
        return out

    def reset(self) -> None:
        self.log.unlink(missing_ok=True)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def region_server(tmp_path_factory):
    server = ImageServer("region", tmp_path_factory.mktemp("region") / "requests.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def detector_server(tmp_path_factory):
    server = ImageServer("detector", tmp_path_factory.mktemp("detector") / "requests.log")
    yield server
    server.stop()


def load(name: str) -> np.ndarray:
    from clarify_engine.data._images import decode_image

    return decode_image((IMAGES / name).read_bytes(), name)
