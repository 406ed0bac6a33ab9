"""The batched HTTP client for an image model, as the job builds it."""

from __future__ import annotations

from clarify_engine.predict import Batcher, HttpTransport
from clarify_engine.predict.codecs._image import image_request_codec, image_response_codec, image_score_fn


def remote_score_fn(url: str, content_type: str, model_type: str, **batcher_options):
    """(score_fn, batcher, transport) for the model server at ``url``."""
    transport = HttpTransport(url + "/invocations", timeout=30, pool_size=4, max_reply_bytes=8_000_000, deadline=60)
    batcher = Batcher(transport, image_request_codec(content_type), image_response_codec(model_type),
                      **batcher_options)
    return image_score_fn(lambda records: batcher.predict(records).scores, model_type == "OBJECT_DETECTION"), \
        batcher, transport
