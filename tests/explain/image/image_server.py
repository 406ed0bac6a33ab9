"""A small image model server for the tests, speaking the SageMaker built-in algorithms' formats.

Run: ``python tests/explain/image/image_server.py MODEL --port 0`` (prints its port, then serves
``POST /invocations`` on 127.0.0.1 until terminated). Requests: ``image/jpeg`` or ``image/png``
(one image), ``application/x-npy`` ((H, W, 3) or (N, H, W, 3) uint8). Every request is
appended to ``--log FILE`` (one line: content type and image count), for the tests to count.

Models (real functions of the pixels):

``region``
    A classifier whose scores depend only on the region ``REGION`` (pixel rows and columns
    4..19): ``[r, 1 - r, 0.25]`` with ``r`` the mean red level
    there minus half the mean green level, in [0, 1]. Reply ``{"prediction": [...]}`` per image
    (JPEG/PNG), a list of lists for a batch.
``detector``
    Finds red and green squares: a pixel is red when R > 150 and G, B < 100 (green alike, on G).
    For each colour with at least 4 such pixels: ``[class, score, xmin, ymin, xmax, ymax]``,
    class 0 red and 1 green, the box the bounding box of those pixels (normalised), the score
    the share of the box's pixels of that colour; plus a weak class-2 detection of the whole
    image with score 0.2. Reply ``{"prediction": [...]}`` for one image, a list per image for
    a batch (the object-detection example's batch server).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

REGION = (slice(4, 20), slice(4, 20))


def region_scores(img: np.ndarray) -> list[float]:
    x = img.astype(np.float64) / 255.0
    part = x[REGION]
    r = float(np.clip(part[..., 0].mean() - 0.5 * part[..., 1].mean(), 0.0, 1.0))
    return [r, 1.0 - r, 0.25]


def detect(img: np.ndarray) -> list[list[float]]:
    h, w = img.shape[:2]
    r, g, b = (img[..., k].astype(np.int32) for k in range(3))
    found = []
    for cls, mask in ((0, (r > 150) & (g < 100) & (b < 100)), (1, (g > 150) & (r < 100) & (b < 100))):
        ys, xs = np.nonzero(mask)
        if ys.size < 4:
            continue
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        score = float(mask[y0:y1, x0:x1].mean())
        found.append([float(cls), round(score, 6), x0 / w, y0 / h, x1 / w, y1 / h])
    found.append([2.0, 0.2, 0.0, 0.0, 1.0, 1.0])
    return found


def decode(body: bytes, content_type: str) -> tuple[np.ndarray, bool]:
    """(images (N, H, W, 3), batch?) of a request."""
    if content_type == "application/x-npy":
        arr = np.load(io.BytesIO(body), allow_pickle=False)
        if arr.ndim == 3:
            return arr[None], False
        return arr, True
    from PIL import Image

    with Image.open(io.BytesIO(body)) as im:
        return np.asarray(im.convert("RGB"))[None], False


class Handler(BaseHTTPRequestHandler):
    model = "region"
    log_file = None
    lock = threading.Lock()

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            images, batch = decode(body, ctype)
        except Exception as exc:  # noqa: BLE001 - tell the client
            self.send_response(400)
            self.end_headers()
            self.wfile.write(str(exc).encode())
            return
        if self.log_file:
            with self.lock, open(self.log_file, "a") as fh:
                fh.write(f"{ctype} {images.shape[0]}\n")
        fn = region_scores if self.model == "region" else detect
        answers = [fn(img) for img in images]
        reply = answers if batch else {"prediction": answers[0]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=("region", "detector"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", default=None)
    args = parser.parse_args(argv)
    Handler.model = args.model
    Handler.log_file = args.log
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(server.server_address[1], flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
