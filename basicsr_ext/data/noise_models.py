"""Synthetic corruptions of Noise2Noise (Lehtinen et al. 2018, section 3), as numpy functions.

Every function takes a float32 HxWxC image in [0, 1] and an explicit ``np.random.Generator`` and returns a new
float32 image; :func:`bernoulli` also returns the valid-pixel mask. The level of a corruption (sigma, lambda, p)
is fixed per call: drawing it (from a training range) is :func:`draw_level`'s job, so the functions stay plain.

:data:`NOISE_MODELS` maps a name to the function, the name of its level parameter and the paper's training range
and validation value. Where a number comes from is said next to it:

- "official": NVlabs/noise2noise (commit 7355519), ``config.py`` and ``train.py`` (``AugmentGaussian``,
  ``AugmentPoisson``). It implements only Gaussian and Poisson noise. Its images are in [-0.5, 0.5]; the formulas
  below are the same ones on [0, 1].
- "paper, unverified": the paper's section 3.2 as quoted in this project's issue; we could not read the paper's
  text here, so these were not checked against it.
"""

import string
from collections import namedtuple

import cv2
import numpy as np

from basicsr_ext.utils.errors import UserError

# the official code draws lambda from [0.001, lam_max]: lambda = 0 would divide by zero
POISSON_MIN_LAMBDA = 0.001

_TEXT_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
)
_TEXT_CHARS = string.ascii_letters + string.digits


def _finish(img, clip):
    img = img.astype(np.float32, copy=False)
    return np.clip(img, 0.0, 1.0, out=img) if clip else img


def gaussian(img, rng, sigma, clip=False):
    """Additive white Gaussian noise, independent per pixel and channel.

    Args:
        img (ndarray): HxWxC float32 image in [0, 1].
        rng (np.random.Generator): the random source.
        sigma (float): standard deviation on the 0-255 scale.
        clip (bool): clip the result to [0, 1]. The official code does not clip (the noise stays zero-mean).
    """
    return _finish(img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(sigma / 255.0), clip)


def poisson(img, rng, lam, clip=False):
    """Poisson (shot) noise: ``poisson(lam * x) / lam``, independent per pixel and channel.

    ``lam`` is the photon count of a pixel of value 1 (the official code's ``chi``): the result has mean x and
    variance x / lam, so a larger ``lam`` means less noise.

    Args:
        img (ndarray): HxWxC float32 image in [0, 1].
        rng (np.random.Generator): the random source.
        lam (float): photon count scale, > 0.
        clip (bool): clip the result to [0, 1]. The official code does not clip (values above 1 occur).
    """
    if lam <= 0:
        raise ValueError(f'poisson: lam must be > 0, got {lam}')
    counts = rng.poisson(np.float64(lam) * np.maximum(img, 0.0))
    return _finish(counts / lam, clip)


def bernoulli(img, rng, p):
    """Multiplicative Bernoulli noise: each pixel is dropped (set to 0 in every channel) with probability p.

    Args:
        img (ndarray): HxWxC float32 image in [0, 1].
        rng (np.random.Generator): the random source.
        p (float): probability that a pixel is dropped, in [0, 1].

    Returns:
        tuple[ndarray, ndarray]: the image and the HxWx1 float32 mask of valid (kept) pixels. The paper computes
        the loss only where the target's mask is 1.
    """
    mask = (rng.random(img.shape[:2] + (1,)) >= p).astype(np.float32)
    return (img * mask).astype(np.float32, copy=False), mask


def impulse(img, rng, p):
    """Random-valued impulse noise: each pixel is replaced, with probability p, by a colour drawn uniformly from
    [0, 1]^C (independently per pixel).

    Args:
        img (ndarray): HxWxC float32 image in [0, 1].
        rng (np.random.Generator): the random source.
        p (float): replacement probability, in [0, 1].
    """
    hit = rng.random(img.shape[:2]) < p
    out = img.astype(np.float32, copy=True)
    out[hit] = rng.random((int(hit.sum()), img.shape[2]), dtype=np.float32)
    return out


def text_overlay(img, rng, p, max_strings=10000):
    """Random text drawn over the image until about a fraction p of its pixels is covered (the paper's text
    removal task).

    Each string has a random length (1-12 letters/digits), Hershey font, height (3% to 15% of the shorter side,
    at least 5 px), stroke thickness, colour (uniform in [0, 1]^C) and position (it may run off the edges). A string
    that would overshoot the target coverage is kept only if it ends closer to the target than without it, and then
    drawing stops; other overshooting strings are skipped, so the coverage ends within about half a short string
    of p.

    Args:
        img (ndarray): HxWxC float32 image in [0, 1].
        rng (np.random.Generator): the random source.
        p (float): target coverage, in [0, 1).
        max_strings (int): attempts before giving up (coverage near 1 is reached only slowly).
    """
    h, w = img.shape[:2]
    out = img.astype(np.float32, copy=True)
    covered = np.zeros((h, w), bool)
    target = p * h * w
    count = 0
    lo = max(5, round(0.03 * min(h, w)))
    hi = max(lo + 1, round(0.15 * min(h, w)))
    for _ in range(max_strings):
        if count >= target:
            break
        stroke = _draw_string(rng, h, w, lo, hi)
        new = int(np.count_nonzero(stroke & ~covered))
        if new == 0:
            continue
        overshoot = count + new - target
        if overshoot > 0 and overshoot >= target - count:
            continue  # farther from the target than stopping here: try another (smaller or overlapping) string
        out[stroke] = rng.random(img.shape[2], dtype=np.float32)
        covered |= stroke
        count += new
        if overshoot > 0:
            break
    return out


def _draw_string(rng, h, w, lo, hi):
    """An HxW bool mask of one random string."""
    text = ''.join(rng.choice(list(_TEXT_CHARS), size=int(rng.integers(1, 13))))
    font = int(rng.choice(_TEXT_FONTS))
    height = int(rng.integers(lo, hi + 1))
    thickness = int(rng.integers(1, max(1, height // 8) + 1))
    scale = cv2.getFontScaleFromHeight(font, height, thickness)
    (tw, th), baseline = cv2.getTextSize(text, font, scale, thickness)
    # draw on a canvas the size of the text, then paste it at a random place (partly outside the image is fine)
    pad = thickness + 1
    canvas = np.zeros((th + baseline + 2 * pad, tw + 2 * pad), np.uint8)
    cv2.putText(canvas, text, (pad, pad + th), font, scale, 1, thickness, cv2.LINE_8)
    ch, cw = canvas.shape
    top, left = int(rng.integers(-ch // 2, h - ch // 2)), int(rng.integers(-cw // 2, w - cw // 2))
    mask = np.zeros((h, w), bool)
    t0, l0, t1, l1 = max(top, 0), max(left, 0), min(top + ch, h), min(left + cw, w)
    mask[t0:t1, l0:l1] = canvas[t0 - top : t1 - top, l0 - left : l1 - left].astype(bool)
    return mask


# param: the level's option key; train: [lo, hi] drawn uniformly per corruption; val: the fixed validation level;
# bounds: the allowed levels (lo, hi, hi included); clip: the default of the clip option (None: no such option,
# the result stays in [0, 1] by construction)
NoiseModel = namedtuple('NoiseModel', 'func param train val bounds clip')

NOISE_MODELS = {
    # official: config.py gaussian_noise_config (train_stddev_rng_range (0, 50), validation_stddev 25); train.py
    # draws one sigma per image (shape [1, 1, 1]) and adds the noise without clipping
    'gaussian': NoiseModel(gaussian, 'sigma', (0.0, 50.0), 25.0, (0.0, float('inf')), False),
    # official: config.py poisson_noise_config (lam_max 50); train.py AugmentPoisson draws chi in [0.001, lam_max] per
    # image, validation chi = 30, poisson(chi * x) / chi, no clipping. The paper states the range as [0, 50].
    'poisson': NoiseModel(poisson, 'lam', (POISSON_MIN_LAMBDA, 50.0), 30.0, (0.0, float('inf')), False),
    # paper, unverified: p in [0, 0.95] in training, p = 0.5 in validation; loss masked to the target's valid pixels
    'bernoulli': NoiseModel(bernoulli, 'p', (0.0, 0.95), 0.5, (0.0, 1.0), None),
    # paper, unverified: p in [0, 0.95] in training. The validation value 0.7 is not from the paper: it is what the
    # widely used unofficial reproduction (yu4u/noise2noise, README: --val_noise_model impulse,70,70) validates with
    'impulse': NoiseModel(impulse, 'p', (0.0, 0.95), 0.7, (0.0, 1.0), None),
    # paper, unverified: coverage p in [0, 0.5] in training, p = 0.25 in validation
    'text': NoiseModel(text_overlay, 'p', (0.0, 0.5), 0.25, (0.0, 0.99), None),
}


class NoiseSpec:
    """A parsed ``noise`` option: ``{type: gaussian, sigma: [0, 50], clip: false}``.

    The level (``sigma``, ``lam`` or ``p``, see :data:`NOISE_MODELS`) is a number (fixed) or ``[lo, hi]`` (drawn
    uniformly per corruption); without it, the paper's training range (``phase: train``) or validation value.

    Args:
        opt (dict): the option.
        phase (str): 'train' or another phase (validation defaults).
        where (str): the option's location for error messages, e.g. 'datasets.train.noise'.
    """

    def __init__(self, opt, phase, where='noise'):
        if not isinstance(opt, dict) or 'type' not in opt:
            names = ', '.join(NOISE_MODELS)
            raise UserError(f'{where}: expected a mapping with a type key (one of {names}), got {opt!r}')
        self.type = opt['type']
        if self.type not in NOISE_MODELS:
            raise UserError(f'{where}.type: unknown noise {self.type!r}; expected one of {", ".join(NOISE_MODELS)}')
        model = NOISE_MODELS[self.type]
        allowed = (model.param, 'type') + (('clip',) if model.clip is not None else ())
        for key in opt:
            if key not in allowed:
                raise UserError(f'{where}.{key}: not an option of {self.type} noise; expected {", ".join(allowed)}')
        self.model = model
        default = model.train if phase == 'train' else model.val
        self.level = _parse_level(opt.get(model.param, default), model, f'{where}.{model.param}')
        self.clip = opt.get('clip', model.clip)
        if self.clip is not None and not isinstance(self.clip, bool):
            raise UserError(f'{where}.clip: expected true or false, got {self.clip!r}')

    def apply(self, img, rng):
        """One corruption of ``img`` (its level drawn from ``rng`` when a range): ``(image, mask)``, where mask is
        the HxWx1 valid-pixel mask (Bernoulli) or None."""
        level = draw_level(self.level, rng)
        if self.type == 'poisson':
            level = max(level, POISSON_MIN_LAMBDA)
        kwargs = {} if self.clip is None else {'clip': self.clip}
        out = self.model.func(img, rng, level, **kwargs)
        return out if isinstance(out, tuple) else (out, None)


def draw_level(level, rng):
    """A fixed level as is, a ``(lo, hi)`` range as a uniform draw."""
    return float(rng.uniform(*level)) if isinstance(level, tuple) else level


def _parse_level(value, model, where):
    lo_ok, hi_ok = model.bounds
    expect = f'a number or [lo, hi] within [{lo_ok:g}, {hi_ok:g}]'
    if model.param == 'lam':
        expect += ' (a fixed lam must be > 0)'
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(values) not in (1, 2) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise UserError(f'{where}: expected {expect}, got {value!r}')
    values = [float(v) for v in values]
    if not all(lo_ok <= v <= hi_ok for v in values) or values[0] > values[-1]:
        raise UserError(f'{where}: expected {expect}, got {value!r}')
    if len(values) == 1 or not isinstance(value, (list, tuple)):
        if model.param == 'lam' and values[0] <= 0:
            raise UserError(f'{where}: expected {expect}, got {value!r}')
        return values[0]
    if model.param == 'lam' and values[1] <= 0:
        raise UserError(f'{where}: expected {expect}, got {value!r}')
    return tuple(values)
