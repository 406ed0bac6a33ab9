"""Image requests and computer-vision replies, for the batched client.

Records
-------
The :class:`~clarify_engine.predict.batching.Batcher` sends *records*, rows of a 2-D numeric
array that it deduplicates by their raw bits. An image travels as one such row of ``uint64``
words (:func:`pack_images`): word 0 holds the height and width (``H << 32 | W``), the next
words the RGB bytes in row-major order, zero-padded to a whole word. So identical masked images
are sent once, and a record carries its own shape whatever the image size.

Requests
--------
* ``image/jpeg`` (quality 95) and ``image/png`` (lossless): one image per request, as the
  built-in image classifier takes them;
* ``application/x-npy``: ``numpy.save`` bytes of a ``uint8`` (N, H, W, 3) array, as many masked
  images per request as the payload limit allows (the batch detection server of the
  object-detection example takes this). Each record is encoded as its own (H, W, 3) ``.npy``;
  :meth:`NpyRequestCodec.wrap` merges consecutive records into one (N, H, W, 3) body, which is
  smaller than the records laid end to end, so the batcher's size accounting stays an upper bound.

Replies
-------
* classifier (:class:`ClassifierResponseCodec`): per image a list of class scores, as a bare
  list ``[p0, p1, ...]``, the built-in shape ``{"prediction": [p0, ...]}``, or where
  ``predictor.probability`` (a JMESPath) points; a request of N images gets a list of N such
  lists (or ``{"prediction": [[...], ...]}``, or JSON Lines, one image a line);
* detector (:class:`DetectionResponseCodec`): per image a list of detections
  ``[class_id, score, xmin, ymin, xmax, ymax]`` (``{"prediction": [...]}`` or a bare list), a
  request of N images a list of N such lists. Scores come back as (N, slots * 6) with NaN rows
  padding the shorter lists; :func:`detections` reshapes them to (N, slots, 6).
"""

from __future__ import annotations

import io
import logging
from typing import Callable, Sequence

import numpy as np

from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.predict._base import ModelOutput
from clarify_engine.predict.codecs._decode import body_text, load_json
from clarify_engine.predict.codecs._format import excerpt

__all__ = [
    "DETECTION_SLOTS",
    "IMAGE_CONTENT_TYPES",
    "ClassifierResponseCodec",
    "DetectionResponseCodec",
    "EncodedImageRequestCodec",
    "NpyRequestCodec",
    "detections",
    "image_request_codec",
    "image_response_codec",
    "image_score_fn",
    "pack_images",
    "unpack_record",
]

log = logging.getLogger(__name__)

#: Request media types of computer-vision models.
IMAGE_CONTENT_TYPES = ("image/jpeg", "image/jpg", "image/png", "application/x-npy")

#: Detections kept per image from a reply (the highest scores); more are dropped with a log line.
DETECTION_SLOTS = 100

#: JPEG quality of ``image/jpeg`` requests, colour not subsampled (4:4:4; ``docs/images.md``).
JPEG_QUALITY = 95


def pack_images(images: np.ndarray) -> np.ndarray:
    """Images (n, H, W, 3) uint8 as batcher records: (n, 1 + ceil(3HW / 8)) uint64.

    Word 0 of a record is ``H << 32 | W``; the rest are the pixel bytes, zero-padded.
    """
    images = np.ascontiguousarray(images, dtype=np.uint8)
    if images.ndim != 4 or images.shape[3] != 3:
        raise ValueError(f"images must be (n, H, W, 3) uint8; found shape {images.shape}")
    n, h, w, _ = images.shape
    size = h * w * 3
    words = (size + 7) // 8
    out = np.zeros((n, 1 + words), dtype=np.uint64)
    out[:, 0] = (np.uint64(h) << np.uint64(32)) | np.uint64(w)
    out[:, 1:].view(np.uint8).reshape(n, words * 8)[:, :size] = images.reshape(n, size)
    return out


def unpack_record(record) -> np.ndarray:
    """One record of :func:`pack_images` back to its image (H, W, 3) uint8 (a view)."""
    row = np.ascontiguousarray(np.asarray(record, dtype=np.uint64))
    head = int(row[0])
    h, w = head >> 32, head & 0xFFFFFFFF
    size = h * w * 3
    if row.shape[0] < 1 + (size + 7) // 8:
        raise ValueError(f"an image record of {h}x{w} pixels needs {1 + (size + 7) // 8} words; found {row.shape[0]}")
    return row[1:].view(np.uint8)[:size].reshape(h, w, 3)


class EncodedImageRequestCodec:
    """``image/jpeg`` or ``image/png``: one encoded image per request."""

    max_records = 1
    separator = b""

    def __init__(self, content_type: str):
        if content_type not in ("image/jpeg", "image/png"):
            raise ValueError(f"content_type must be image/jpeg or image/png; found {content_type!r}")
        self.content_type = content_type
        self._format = "JPEG" if content_type == "image/jpeg" else "PNG"

    def encode_records(self, rows: Sequence) -> list[bytes]:
        from PIL import Image

        pieces = []
        for row in rows:
            buffer = io.BytesIO()
            options = {"quality": JPEG_QUALITY, "subsampling": 0} if self._format == "JPEG" else {}
            Image.fromarray(unpack_record(row)).save(buffer, format=self._format, **options)
            pieces.append(buffer.getvalue())
        return pieces

    def join(self, pieces: Sequence[bytes]) -> bytes:
        if len(pieces) != 1:
            raise ValueError(f"{self.content_type} requests hold one image; found {len(pieces)}")
        return pieces[0]

    def wrap(self, records: bytes) -> bytes:
        return records

    def overhead(self) -> int:
        return 0


def _npy_header(shape: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


class NpyRequestCodec:
    """``application/x-npy``: several images per request as one (N, H, W, 3) uint8 array."""

    content_type = "application/x-npy"
    max_records = None
    separator = b""

    def encode_records(self, rows: Sequence) -> list[bytes]:
        pieces = []
        for row in rows:
            image = unpack_record(row)
            pieces.append(_npy_header(image.shape) + image.tobytes())
        return pieces

    def join(self, pieces: Sequence[bytes]) -> bytes:
        return self.wrap(b"".join(pieces))

    def wrap(self, records: bytes) -> bytes:
        """Records (each an (H, W, 3) ``.npy``, all of one shape) as one (N, H, W, 3) ``.npy``."""
        if not records:
            return _npy_header((0, 0, 0, 3))
        stream = io.BytesIO(records)
        np.lib.format.read_magic(stream)
        shape, _, _ = np.lib.format.read_array_header_1_0(stream)
        header_len = stream.tell()
        size = int(np.prod(shape))
        record_len = header_len + size
        n = len(records) // record_len
        if n * record_len != len(records):
            raise ValueError("application/x-npy records of one request must all have the same image size")
        data = np.frombuffer(records, dtype=np.uint8).reshape(n, record_len)[:, header_len:]
        return _npy_header((n, *shape)) + data.tobytes()

    def overhead(self) -> int:
        return 0


def image_request_codec(content_type: str):
    """The request codec of an image media type (``image/jpg`` is read as ``image/jpeg``)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("image/jpeg", "image/jpg"):
        return EncodedImageRequestCodec("image/jpeg")
    if media == "image/png":
        return EncodedImageRequestCodec("image/png")
    if media == "application/x-npy":
        return NpyRequestCodec()
    raise ConfigError("predictor.content_type",
                      f"expected one of {list(IMAGE_CONTENT_TYPES)} for an image model, found {content_type!r}")


def _documents(body: bytes, accept_type: str, n_records: int) -> list:
    """The reply as one JSON document per image (JSON Lines), or one document for all."""
    text = body_text(body, accept_type)
    if accept_type == "application/jsonlines":
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) != n_records:
            raise ModelError(f"the model returned {len(lines)} JSON lines for a request of {n_records} "
                             f"image(s): {excerpt(text)}")
        return [load_json(line, "a line of the model's reply") for line in lines]
    return [load_json(text, "the model's reply")]


def _unwrap(doc):
    if isinstance(doc, dict) and "prediction" in doc:
        return doc["prediction"]
    if isinstance(doc, dict) and "predictions" in doc:
        return doc["predictions"]
    return doc


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class ClassifierResponseCodec:
    """Class scores per image (see the module docstring for the shapes read)."""

    def __init__(self, accept_type: str = "application/json", probability: str | None = None):
        self.accept_type = accept_type
        self._path = None
        if probability is not None:
            import jmespath
            import jmespath.exceptions

            try:
                self._path = jmespath.compile(probability)
            except jmespath.exceptions.JMESPathError as exc:
                raise ConfigError("predictor.probability", f"not a valid JMESPath ({exc}): {probability!r}") from exc

    def _scores(self, doc):
        return self._path.search(doc) if self._path is not None else _unwrap(doc)

    def decode(self, body: bytes, n_records: int) -> ModelOutput:
        docs = _documents(body, self.accept_type, n_records)
        if len(docs) > 1:
            rows = [self._scores(d) for d in docs]
        else:
            found = self._scores(docs[0])
            if isinstance(found, list) and found and all(_is_number(v) for v in found):
                rows = [found]
            else:
                rows = found
        if not isinstance(rows, list) or len(rows) != n_records or not all(
                isinstance(r, list) and r and all(_is_number(v) for v in r) for r in rows):
            raise ModelError(
                f"expected class scores for {n_records} image(s): a list of numbers per image "
                f"([p0, p1, ...] or {{\"prediction\": [p0, p1, ...]}}, or predictor.probability pointing at "
                f"it); found: {excerpt(repr(body[:400]))}")
        widths = {len(r) for r in rows}
        if len(widths) > 1:
            raise ModelError(f"the model returned different numbers of class scores per image ({sorted(widths)}) "
                             f"in one reply: {excerpt(repr(body[:400]))}")
        return ModelOutput(labels=None, scores=np.asarray(rows, dtype=np.float64))


def _is_detection_list(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(d, list) and len(d) == 6 and all(_is_number(v) for v in d) for d in value)


class DetectionResponseCodec:
    """Detections per image, padded to :data:`DETECTION_SLOTS` rows of 6 (NaN padding)."""

    def __init__(self, accept_type: str = "application/json", slots: int = DETECTION_SLOTS):
        self.accept_type = accept_type
        self.slots = slots
        self._dropped_logged = False

    def decode(self, body: bytes, n_records: int) -> ModelOutput:
        docs = [_unwrap(d) for d in _documents(body, self.accept_type, n_records)]
        if len(docs) > 1:
            per_image = docs
        else:
            found = docs[0]
            single = isinstance(found, list) and (
                (found and isinstance(found[0], list) and found[0] and _is_number(found[0][0]))
                or (not found and n_records == 1))
            per_image = [found] if single else found
        if not isinstance(per_image, list) or len(per_image) != n_records or not all(
                _is_detection_list(d) for d in per_image):
            raise ModelError(
                f"expected detections for {n_records} image(s): per image a list of "
                f"[class_id, score, xmin, ymin, xmax, ymax] ({{\"prediction\": [...]}} for one image, a list "
                f"of such lists for a batch); found: {excerpt(repr(body[:400]))}")
        out = np.full((n_records, self.slots, 6), np.nan)
        for i, dets in enumerate(per_image):
            arr = np.asarray(dets, dtype=np.float64).reshape(-1, 6)
            arr = arr[arr[:, 0] >= 0]  # class -1 marks padding in the GluonCV detectors' output
            if arr.shape[0] > self.slots:
                if not self._dropped_logged:
                    log.info("The detector returned %d detections for an image; the %d highest scores are kept.",
                             arr.shape[0], self.slots)
                    self._dropped_logged = True
                arr = arr[np.argsort(-arr[:, 1], kind="stable")[: self.slots]]
            out[i, : arr.shape[0]] = arr
        return ModelOutput(labels=None, scores=out.reshape(n_records, self.slots * 6))


def detections(scores: np.ndarray) -> np.ndarray:
    """Scores of :class:`DetectionResponseCodec` (n, slots * 6) as detections (n, slots, 6)."""
    return scores.reshape(scores.shape[0], -1, 6)


def image_response_codec(model_type: str, accept_type: str = "application/json", probability: str | None = None):
    """The reply codec of a computer-vision model (``IMAGE_CLASSIFICATION`` / ``OBJECT_DETECTION``)."""
    media = accept_type.split(";", 1)[0].strip().lower()
    if media not in ("application/json", "application/jsonlines"):
        raise ConfigError("predictor.accept_type",
                          f"expected application/json or application/jsonlines for an image model, found {accept_type!r}")
    if model_type == "OBJECT_DETECTION":
        return DetectionResponseCodec(media)
    return ClassifierResponseCodec(media, probability)


def image_score_fn(scores: Callable[[np.ndarray], np.ndarray], detection: bool) -> Callable[[np.ndarray], np.ndarray]:
    """The score function of a remote image model: images in, class scores or detections out.

    Parameters
    ----------
    scores : callable
        ``scores(records) -> ndarray`` for records of :func:`pack_images`, e.g. the job's
        metered scorer over a predictor whose batcher has an image request codec and a
        classifier or detection reply codec. The batcher packs the masked images into requests
        within the payload limit, sends them concurrently with retries, and never sends two
        identical images in one call.
    detection : bool
        The model is a detector: the answer is reshaped to (n, slots, 6) detections.

    Returns
    -------
    callable
        ``score_fn(images (n, H, W, 3) uint8)`` -> (n, D) scores or (n, slots, 6) detections.
    """

    def score(images: np.ndarray) -> np.ndarray:
        out = np.asarray(scores(pack_images(images)), dtype=np.float64)
        return detections(out) if detection else out

    return score
