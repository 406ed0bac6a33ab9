"""The masker's numba kernel against its plain twin."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.explain.image import Masker

from . import naive


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 7), st.integers(1, 6), st.integers(1, 5), st.integers(0, 5), st.booleans(),
       st.integers(0, 2 ** 32 - 1))
def test_masked_images_match_the_plain_twin(h, w, m, n, windowed, seed):
    rng = np.random.default_rng(seed)
    segments = rng.integers(0, m, (h, w)).astype(np.int32)
    segments.flat[:m] = np.arange(min(m, h * w))  # every label used when the image is big enough
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    baseline = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    same = rng.random((h, w)) < 0.3
    baseline[same] = image[same]  # pixels where masking changes nothing
    window = None
    inside = np.ones((h, w), dtype=bool)
    if windowed:
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        window = (x0, y0, int(rng.integers(x0 + 1, w + 1)), int(rng.integers(y0 + 1, h + 1)))
        inside[:] = False
        inside[window[1]:window[3], window[0]:window[2]] = True
    masker = Masker(image, baseline, segments, window)
    present = rng.random((n, masker.n_segments)) < 0.5
    np.testing.assert_array_equal(masker.compose(present), naive.compose(present, segments, inside, image, baseline))
