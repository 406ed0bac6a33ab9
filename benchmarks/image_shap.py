"""Image SHAP: seconds per image against the model-call floor, and accuracy per model call
against shap, side by side (docs/images.md, "Benchmark").

Images: photographs that scikit-image ships (chelsea, coffee, astronaut, rocket), resized to
``--size`` pixels square. Baseline: gray. Segments: SLIC with ``num_segments`` 20 and
``--compactness`` (default 30: Clarify's default 5 gives these photographs 8 to 10 segments,
30 gives 14 to 20; the real count M is printed).

Speed, with a small convolutional classifier in NumPy (3x3 convolution to 8 channels, ReLU,
4x4 average pooling, a linear layer, softmax over 10 classes; weights drawn from a seed):

* **ours**: :func:`clarify_engine.explain.image.explain_image` with the default budget
  (``2M + 2048`` coalitions), the whole explanation: SLIC, masking, the model, the regression;
* **floor**: the same number of masked images, built before the clock starts, sent to the same
  model by a bare loop in batches of the same size (what any explainer must pay for the model);
* **shap**: ``shap.KernelExplainer`` over the same superpixels (the masking function of shap's
  superpixel example) with ``nsamples`` = the same budget.

Accuracy, with two models whose Shapley values over the segments are known exactly:

* **cubic**: ``f = L1 + L2 L3 L4`` (``Li`` fixed linear functionals of the pixels; third-order
  interactions, which paired sampling does not cancel), values in closed form (:meth:`Cubic.exact`);
* **smooth**: a small network, ``f = sigmoid(v . tanh(L) + b)`` with 16 hidden units ``L`` linear
  in the pixels: not a polynomial, interactions of every order; values by enumerating all
  ``2^M`` coalitions (:meth:`Smooth.exact`, ``M <= 15`` here).

For each budget and seed, ours (the default: regression-adjusted where it applies,
``docs/images.md``) and shap explain the same image with the same segments, the same gray
baseline and the same model; the error is measured against the exact Shapley values of that game
(no reference estimate).
The columns are the RMS error over segments and seeds, the model calls (images) each made, and
the ratio ours / shap of the RMS errors with its standard error over the seeds (delta method).

Both estimate the same game: ``shap.KernelExplainer`` is given the superpixel masking function
(shap's superpixel example), so it estimates the Shapley values of "segments present, the others
from the baseline", as we do. shap's ``Partition`` explainer with an image masker would not:
it estimates Owen values over a hierarchical split of the pixels, another game with other
values, so it is not compared here.

Run::

    python benchmarks/image_shap.py                # full: 4 images at 128 px, budgets 100..2088, 20 seeds
    python benchmarks/image_shap.py --tables smooth --names astronaut,rocket   # a part of it
    python benchmarks/image_shap.py --quick        # one 40 px image, small budgets
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.explain.naive's oracle

from clarify_engine.explain._coalitions import default_num_samples  # noqa: E402
from clarify_engine.explain.image import Masker, callable_score_fn, explain_image, segment_image  # noqa: E402
from clarify_engine.explain.image import ImageSpec  # noqa: E402
from tests.explain.naive import game_shapley  # noqa: E402

NAMES = ("chelsea", "coffee", "astronaut", "rocket")


def load_images(size: int, names) -> list[np.ndarray]:
    from PIL import Image
    from skimage import data

    out = []
    for name in names:
        img = getattr(data, name)()
        out.append(np.asarray(Image.fromarray(img).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)))
    return out


class TinyCNN:
    """3x3 conv (8 channels) -> ReLU -> 4x4 average pool -> linear -> softmax (10 classes)."""

    def __init__(self, size: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.kernel = rng.normal(0, 0.3, (3, 3, 3, 8))
        pooled = (size - 2) // 4
        self.dense = rng.normal(0, 0.05, (pooled * pooled * 8, 10))
        self.pooled = pooled
        self.images = 0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.images += images.shape[0]
        x = images.astype(np.float32) / 255.0
        n, h, w, _ = x.shape
        conv = np.zeros((n, h - 2, w - 2, 8), np.float32)
        for dy in range(3):
            for dx in range(3):
                conv += x[:, dy:dy + h - 2, dx:dx + w - 2, :] @ self.kernel[dy, dx].astype(np.float32)
        np.maximum(conv, 0, out=conv)
        p = self.pooled
        pooled = conv[:, : 4 * p, : 4 * p].reshape(n, p, 4, p, 4, 8).mean(axis=(2, 4))
        logits = pooled.reshape(n, -1) @ self.dense.astype(np.float32)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float64)


def _linear(images, w):
    """``Lk(image) = sum w_k * pixels / 255`` for each image (n, K): a matrix product in chunks
    (float64: the errors measured are near 1e-9)."""
    flat = w.reshape(w.shape[0], -1)
    out = np.empty((images.shape[0], w.shape[0]))
    for lo in range(0, images.shape[0], 256):
        out[lo: lo + 256] = images[lo: lo + 256].reshape(-1, flat.shape[1]).astype(np.float64) @ flat.T
    return out / 255.0


def _coefficients(w, image, baseline, segments):
    """``Lk(masked image z) = Lk(baseline) + sum_j z_j c_kj`` for linear functionals ``w`` (K, H, W, 3)
    of the pixels / 255: returns ``Lk(baseline)`` (K,) and ``c`` (K, M)."""
    m = int(segments.max()) + 1
    delta = (image.astype(np.float64) - baseline.astype(np.float64)) / 255.0
    c = np.stack([np.bincount(segments.ravel(), weights=np.einsum("hwc,hwc->hw", delta, w[k]).ravel(),
                              minlength=m) for k in range(w.shape[0])])
    return np.einsum("hwc,khwc->k", baseline.astype(np.float64) / 255.0, w), c


class Smooth:
    """A small network on the pixels: ``f = sigmoid(v . tanh(L) + b)``, ``L`` 16 linear functionals
    of the pixels (a hidden layer). Smooth, not a polynomial: interactions of every order between
    segments. Exact Shapley values by enumerating the ``2^M`` coalitions of the game, each
    coalition's ``L`` from the segments' contributions (``L`` is linear in the pixels)."""

    def __init__(self, size: int, seed: int = 1):
        rng = np.random.default_rng(seed)
        self.w = rng.normal(0, 40.0 / (size * size), (16, size, size, 3))
        self.v = rng.normal(0, 1.0, 16)
        self.b = float(rng.normal())
        self.images = 0

    def _out(self, lin):
        return 1.0 / (1.0 + np.exp(-(np.tanh(lin) @ self.v + self.b)))

    def __call__(self, images):
        self.images += images.shape[0]
        return self._out(_linear(images, self.w))[:, None]

    def exact(self, image, baseline, segments):
        base, c = _coefficients(self.w, image, baseline, segments)
        return game_shapley(lambda z: self._out(base[None, :] + z @ c.T), c.shape[1])


MODELS = {"cubic": "f = L1 + L2 L3 L4", "smooth": "f = sigmoid(v . tanh(L) + b), 16 hidden units"}


class Cubic:
    """``f = L1 + L2 L3 L4`` with ``Li`` linear in the pixels: Shapley values in closed form."""

    def __init__(self, size: int, seed: int = 1):
        rng = np.random.default_rng(seed)
        self.w = rng.normal(0, 3.0 / (size * size), (4, size, size, 3))
        self.images = 0

    def lin(self, images):
        return _linear(images, self.w)

    def __call__(self, images):
        self.images += images.shape[0]
        li = self.lin(images)
        return (li[:, 0] + li[:, 1] * li[:, 2] * li[:, 3])[:, None]

    def exact(self, image, baseline, segments):
        """Each factor ``Li(S) = Li(b) + sum_{j in S} c_ij``; expanding the product over the
        choice of ``Li(b)`` or one ``c_ij z_j`` per factor gives a multilinear polynomial whose
        monomial over the set ``T`` of chosen segments is a unanimity game: its coefficient is
        shared equally by the members of ``T``."""
        base, c = _coefficients(self.w, image, baseline, segments)  # (4,), (4, M)
        m = c.shape[1]
        phi = c[0].copy()
        options = [[(None, base[i])] + [(j, c[i, j]) for j in range(m)] for i in (1, 2, 3)]
        for a in options[0]:
            for b in options[1]:
                for d in options[2]:
                    members = {x[0] for x in (a, b, d) if x[0] is not None}
                    if members:
                        share = a[1] * b[1] * d[1] / len(members)
                        for j in members:
                            phi[j] += share
        return phi


def shap_kernel(model, image, baseline, segments, budget, seed):
    """shap.KernelExplainer over the superpixels (shap's superpixel example's masking)."""
    import shap

    m = int(segments.max()) + 1
    masker = Masker(image, baseline, segments)
    cls = int(np.argmax(model(image[None])[0]))

    def f(z):
        return model(masker.compose(np.asarray(z) > 0.5))[:, cls]

    np.random.seed(seed)
    explainer = shap.KernelExplainer(f, np.zeros((1, m)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = explainer.shap_values(np.ones((1, m)), nsamples=budget, silent=True, l1_reg=False)
    return np.asarray(values).reshape(-1)[:m]


def speed(images, args):
    print(f"## CPU seconds per image (tiny CNN, {args.size} px, num_segments 20, "
          f"budget {args.speed_budget or 'default'})\n")
    print("CPU time of this process (time.process_time), so that other load on the machine does not count.\n")
    warm = images[0][:24, :24]  # compile the numba kernels and import SLIC before the clock runs
    explain_image("warm-up", warm, np.full_like(warm, 128), ImageSpec(
        model_type="IMAGE_CLASSIFICATION", num_segments=6, label_headers=tuple("0123456789"), num_samples=20),
        callable_score_fn(TinyCNN(24), False))
    print("| image | M | images sent | ours s | floor s | ours/floor | shap s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, image in zip(args.names, images):
        baseline = np.full_like(image, 128)
        model = TinyCNN(image.shape[0])
        spec = ImageSpec(model_type="IMAGE_CLASSIFICATION", num_segments=20, compactness=args.compactness,
                         label_headers=tuple("0123456789"), seed=0, num_samples=args.speed_budget)
        t0 = time.process_time()
        out = explain_image(name, image, baseline, spec, callable_score_fn(model, False))
        ours = time.process_time() - t0
        sent = model.images
        m = out.n_segments
        # floor: the same number of masked images, built beforehand, sent by a bare loop
        rng = np.random.default_rng(0)
        masks = rng.random((sent, m)) < 0.5
        masked = Masker(image, baseline, out.segments).compose(masks)
        batch = max(1, (64 * 2 ** 20) // image.nbytes)
        floor_model = TinyCNN(image.shape[0])
        t0 = time.process_time()
        for lo in range(0, sent, batch):
            floor_model(masked[lo: lo + batch])
        floor = time.process_time() - t0
        shap_s = float("nan")
        if not args.no_shap:
            budget = args.speed_budget or (default_num_samples(m) if m >= 2 else 1)
            t0 = time.process_time()
            shap_kernel(TinyCNN(image.shape[0]), image, baseline, out.segments, budget, 0)
            shap_s = time.process_time() - t0
        print(f"| {name} | {m} | {sent} | {ours:.2f} | {floor:.2f} | {ours / floor:.2f}x | {shap_s:.2f} |")
    print()


def accuracy(images, args, kind):
    model_class = Cubic if kind == "cubic" else Smooth
    print(f"## RMS error against the exact Shapley values ({MODELS[kind]}, {args.size} px, "
          f"{args.seeds} seeds)\n")
    print("| image | M | budget | ours RMS | ours images | shap RMS | shap images | ours/shap |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, image in zip(args.names, images):
        baseline = np.full_like(image, 128)
        segments = segment_image(image, 20, args.compactness)
        m = int(segments.max()) + 1
        truth = model_class(image.shape[0]).exact(image, baseline, segments)
        for budget in args.budgets:
            errs, sent, serrs, ssent = [], [], [], []
            for seed in range(args.seeds):
                model = model_class(image.shape[0])
                spec = ImageSpec(model_type="IMAGE_CLASSIFICATION", num_segments=20, compactness=args.compactness,
                                 label_headers=("y",), num_samples=budget, seed=seed)
                out = explain_image(name, image, baseline, spec, callable_score_fn(model, False))
                errs.append(np.mean((out.targets[0].values - truth) ** 2))
                sent.append(model.images)
                if not args.no_shap:
                    sm = model_class(image.shape[0])
                    vals = shap_kernel(sm, image, baseline, segments, budget, seed)
                    serrs.append(np.mean((vals - truth) ** 2))
                    ssent.append(sm.images)
            ours = np.sqrt(np.mean(errs))
            cells = "- | - | -"
            if serrs:
                theirs = np.sqrt(np.mean(serrs))
                ratio = ours / theirs
                # delta method on the mean squared errors: sd(ratio) ~ ratio/2 * sqrt(cv_a^2 + cv_b^2)
                cv = [np.std(e, ddof=1) / np.mean(e) / np.sqrt(len(e)) if len(e) > 1 else np.nan for e in (errs, serrs)]
                cells = f"{theirs:.2e} | {np.mean(ssent):.0f} | {ratio:.2f} ± {ratio / 2 * np.hypot(*cv):.2f}"
            print(f"| {name} | {m} | {budget} | {ours:.2e} | {np.mean(sent):.0f} | {cells} |")
    print()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--names", type=lambda s: s.split(","), default=None,
                        help="these images only, comma-separated (default: the first --images of " + ", ".join(NAMES) + ")")
    parser.add_argument("--budgets", type=lambda s: [int(v) for v in s.split(",")], default=[100, 300, 1000, 2088])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--compactness", type=float, default=30.0)
    parser.add_argument("--speed-budget", type=int, default=None, help="budget of the speed table (default: "
                        "Clarify's, 2M + 2048 capped at 2^M - 2)")
    parser.add_argument("--quick", action="store_true", help="one 40 px image, budget 40, two seeds")
    parser.add_argument("--no-shap", action="store_true")
    parser.add_argument("--tables", type=lambda s: s.split(","), default=["speed", "cubic", "smooth"],
                        help="tables to print, comma-separated: speed, cubic, smooth (default: all three)")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.images, args.budgets, args.seeds, args.speed_budget = 40, 1, [40], 2, 100
    logging.getLogger("clarify_engine").setLevel(logging.WARNING)
    logging.getLogger("shap").setLevel(logging.WARNING)
    names = args.names = args.names or list(NAMES[:args.images])
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        parser.error(f"--names: unknown image(s) {', '.join(unknown)}; choose among {', '.join(NAMES)}")
    images = load_images(args.size, names)
    if "speed" in args.tables:
        speed(images, args)
    for kind in ("cubic", "smooth"):
        if kind in args.tables:
            accuracy(images, args, kind)


if __name__ == "__main__":
    main()
