"""Synthetic training images with saturated colours, for denoisers trained on a few bundled photos.

The bundled photos (scikit-image's) have muted colours; a denoiser trained on them alone shifts saturated colours it
has never seen (scikit-image's colour wheel: green to olive, cyan lost, 10 grey levels of mean colour error even on a
clean input; docs/zoo.md). :func:`colour_field` draws an image of the colours the photos lack: a smooth field whose hue
turns around a random centre (every hue, saturation rising outwards, as in a colour wheel) under a "dead leaves"
layer of flat and shaded shapes in random saturated colours (sharp edges between unrelated colours, which
natural images have too). Made by the data preparation, seeded: nothing third-party.
"""

import cv2
import numpy as np


def _hsv_to_bgr(h, s, v):
    """uint8 BGR image of float hue (turns, any real), saturation and value in [0, 1] (arrays of one shape)."""
    hsv = np.stack([np.mod(h, 1.0) * 180.0, np.clip(s, 0, 1) * 255.0, np.clip(v, 0, 1) * 255.0], axis=-1)
    return cv2.cvtColor(np.rint(hsv).clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)


def colour_field(rng, size=384, shapes=(8, 24), full_range=False):
    """One ``size`` x ``size`` BGR uint8 image: a hue wheel around a random centre under random saturated shapes.

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Side in pixels. Default: 384.
        shapes (tuple[int, int]): Range of the number of shapes drawn over the field. Default: (8, 24).
        full_range (bool): Colours out to the ends of the 8-bit range, as in scikit-image's colour wheel: the field
            at full value (its brightest channel 255, and 0 in the fully saturated ring) and most shapes too. The
            default field stays below full value: trained on it alone, a denoiser never sees the 255s where clipped
            noise darkens the mean, and leaves them dark (a colour cast on bright saturated colours). The same draws
            either way. Default: False.
    """
    lift = (1.5, 1.5, 0.5) if full_range else (1.0, 1.0, 0.0)  # saturation and value of shapes x, field value +
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / size
    cy, cx = rng.uniform(0.2, 0.8, 2)
    angle = np.arctan2(rows - cy, cols - cx) / (2 * np.pi)
    radius = np.hypot(rows - cy, cols - cx)
    field = _hsv_to_bgr(
        angle * rng.choice([-1, 1]) + rng.uniform(),
        radius / rng.uniform(0.3, 0.7),
        rng.uniform(0.6, 1.0) + lift[2] - rng.uniform(0, 0.5) * radius,
    )
    img = field.copy()
    for _ in range(int(rng.integers(shapes[0], shapes[1] + 1))):
        draws = (rng.uniform(), rng.uniform(0.6, 1.0) * lift[0], rng.uniform(0.2, 1.0) * lift[1])
        hsv = (np.full((1, 1), v) for v in draws)
        colour = tuple(int(c) for c in _hsv_to_bgr(*hsv)[0, 0])
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        extent = int(rng.integers(size // 40, size // 6))
        if rng.uniform() < 0.5:
            cv2.circle(img, centre, extent, colour, -1, lineType=cv2.LINE_AA)
        else:
            half = (extent, int(rng.integers(size // 40, size // 6)))
            box = ((float(centre[0]), float(centre[1])), (2.0 * half[0], 2.0 * half[1]), float(rng.uniform(0, 180)))
            cv2.fillPoly(img, [cv2.boxPoints(box).astype(np.int32)], colour, lineType=cv2.LINE_AA)
    return img


def colour_fields(count, seed, size=384, full_range=False):
    """``count`` images of :func:`colour_field`, seeded."""
    rng = np.random.default_rng(seed)
    return [colour_field(rng, size, full_range=full_range) for _ in range(int(count))]
