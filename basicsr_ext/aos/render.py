"""Rendering one simulated scene: the ground with the crowns' shadows, the person, wood and leaf layers painted per
view with the exact pinhole parallax of their height, and the GT (the centre view without forest). The rules and their
sources: the overview in :mod:`basicsr_ext.aos.simulator`.
"""

import math

import cv2
import numpy as np

from basicsr_ext.aos.forest import WOOD_FRACTION, LeafLayer, sample_forest, tree_branches
from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.person import PERSON_GREY, draw_capsules, person_capsules, place_capsules
from basicsr_ext.aos.scene import sun_geometry
from basicsr_ext.aos.thermal import ground_grey, to_grey

GROUND_PATTERN_STD = 0.8  # grey levels of the faint pixel-scale pattern on the real ground
SHADOW_GREY = 24.0  # deepest canopy shadow on the ground (at ambient light 0), grey levels


def _blend(img, r0, c0, alpha, value):
    region = img[r0 : r0 + alpha.shape[0], c0 : c0 + alpha.shape[1]]
    region += alpha * (value - region)


def _draw_trunk(img, p0, p1, width_px, grey):
    """Anti-aliased trunk from ``p0`` to ``p1`` ((row, col) floats) blended into ``img`` (float32)."""
    h, w = img.shape
    pad = width_px / 2 + 2
    r0 = max(int(math.floor(min(p0[0], p1[0]) - pad)), 0)
    r1 = min(int(math.ceil(max(p0[0], p1[0]) + pad)) + 1, h)
    c0 = max(int(math.floor(min(p0[1], p1[1]) - pad)), 0)
    c1 = min(int(math.ceil(max(p0[1], p1[1]) + pad)) + 1, w)
    if r0 >= r1 or c0 >= c1:
        return
    mask = np.zeros((r1 - r0, c1 - c0), np.uint8)
    # cv2 anti-aliases only 8-bit images; draw there with 4 fractional bits, then blend as alpha
    pts = [(int(round((p[1] - c0) * 16)), int(round((p[0] - r0) * 16))) for p in (p0, p1)]
    cv2.line(mask, pts[0], pts[1], 255, max(1, int(round(width_px))), cv2.LINE_AA, 4)
    _blend(img, r0, c0, mask.astype(np.float32) / 255, np.float32(grey))


def render_sample(params, camera=None, rng=None, trees=None, texture=True, shadows=True):
    """Render the views and the GT of one scene.

    Args:
        params (SceneParams): Scene settings.
        camera (CameraModel | None): Camera; None for the course camera (512 px, 50 deg, 35 m, 11 views 1 m apart).
        rng (np.random.Generator | None): Randomness for the forest, the person's pose and the ground pattern; None
            for a fresh one.
        trees (list[Tree] | None): Forest to render; None draws one with :func:`sample_forest` (``[]`` for none).
        texture (bool): The faint pixel-scale pattern on the ground; False renders a uniform ground (for geometry
            tests). Default: True.
        shadows (bool): Let crowns shade the ground in the views. Default: True.

    Returns:
        tuple: views uint8 (num_views, H, W) (pose_0 ... pose_10) and gt uint8 (H, W) (the centre view without forest).
    """
    camera = camera or CameraModel()
    rng = rng if rng is not None else np.random.default_rng()
    if trees is None:
        trees = sample_forest(rng, params, camera)
    size, c, f, alt = camera.size, camera.center_px, camera.focal_px, camera.altitude
    s0 = camera.pixels_per_metre(0.0)
    ys = camera.view_y(np.arange(camera.num_views))
    cos_zenith, sun_offset = sun_geometry(params)

    # ground canvas in centre-view pixels, padded left and right so every view's shifted crop lies inside it
    pad = int(math.ceil(s0 * float(np.abs(ys).max()))) + 2
    shape = (size, size + 2 * pad)
    ground = np.full(shape, ground_grey(params), np.float32)
    if texture:
        ground += GROUND_PATTERN_STD * rng.standard_normal(shape, dtype=np.float32)

    # drawn before the forest, so the GT does not depend on the trees
    person = None
    if params.has_person:
        parts = person_capsules(rng, params.person_shape)
        person = (
            place_capsules(parts, params.person_x, params.person_y, params.person_rotation_deg),
            rng.uniform(*PERSON_GREY),
        )
    layers = []
    for tree in trees:
        heights = tree.layer_heights()
        for i, z in enumerate(heights):
            layers.append(LeafLayer(rng, tree, float(z), len(heights) - 1 - i, params, cos_zenith))
    layers.sort(key=lambda layer: layer.z)  # painter's order: low layers first, high layers occlude them

    view_canvas = ground
    if shadows and layers and cos_zenith > 0:
        # sunlight reaching the ground through all layers; parallel rays keep each layer's size in metres
        light = np.ones(shape, np.float32)
        for layer in layers:
            sx, sy = layer.x + layer.z * sun_offset[0], layer.y + layer.z * sun_offset[1]
            hit = layer.alpha_and_grey(c - s0 * sx, c - s0 * sy + pad, s0, shape)
            if hit is not None:
                r0, c0, alpha, _ = hit
                light[r0 : r0 + alpha.shape[0], c0 : c0 + alpha.shape[1]] *= 1 - alpha
        depth = SHADOW_GREY * (1 - params.ambient_light) * cos_zenith
        view_canvas = np.maximum(ground - depth * (1 - light), 0)

    gt = ground[:, pad : pad + size].copy()
    if person is not None:
        draw_capsules(gt, person[0], camera, 0.0, person[1])
    wood = [
        (tree_branches(rng, t), rng.uniform(*WOOD_FRACTION) * max(float(to_grey(t.temperature_k)), 20.0))
        for t in trees
        if t.trunk_radius > 0
    ]
    views = np.empty((camera.num_views, size, size), np.float32)
    for k, y_k in enumerate(ys):
        # view k sees the ground point of centre-view column j at column j + s0 * y_k
        m = np.array([[1, 0, pad - s0 * y_k], [0, 1, 0]], np.float32)
        view = cv2.warpAffine(view_canvas, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        if person is not None:
            draw_capsules(view, person[0], camera, float(y_k), person[1])
        for segments, grey in wood:
            for p0, p1, radius in segments:
                s_a, s_b = f / (alt - p0[2]), f / (alt - p1[2])
                a = (c - s_a * p0[0], c - s_a * (p0[1] - y_k))
                b = (c - s_b * p1[0], c - s_b * (p1[1] - y_k))
                _draw_trunk(view, a, b, radius * (s_a + s_b), grey)
        for layer in layers:
            scale = f / (alt - layer.z)
            hit = layer.alpha_and_grey(c - scale * layer.x, c - scale * (layer.y - y_k), scale, (size, size))
            if hit is not None:
                _blend(view, *hit)
        views[k] = view
    return _to_uint8(views), _to_uint8(gt)


def _to_uint8(img):
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
