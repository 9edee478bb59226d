"""Human silhouettes for the AOS simulator: head, torso, arms and legs as 3-D capsules, projected per view.

The course's Gazebo world places actor models in three poses ('idle' = standing, 'sitting', 'laying'); seen from
35 m they are warm silhouettes with limbs. Measured on public course GTs (AOS_FORMAT.md) their hot area seen from
above is about 1.5 m2 (median; 0.96-1.67 m2 on the public samples) and a laying person spans about 3 m, i.e. the
actors are drawn at about 1.4-1.75 times human size. We build a 1.75 m skeleton out of capsules (segment + radius, in
metres) in body coordinates, pose the limbs at random, scale it by ``PERSON_SCALE`` and rotate it by the scene's
angle. Each capsule has its own temperature offset (torso and head warmest, limbs cooler), which gives the internal
shading of the real silhouettes.

Points keep their height above ground, so every view projects them with the exact pinhole camera: a standing
person's head lands further from the nadir than its feet, and the views see it with the parallax of its height.
"""

import math

import numpy as np

# the actors' size relative to a 1.75 m human (fits the hot areas measured on the public course GTs)
PERSON_SCALE = (1.4, 1.75)
# grey of the warmest part (the real GTs' person maximum is 164-255, mostly 248-255)
PERSON_GREY = (244.0, 255.0)


def _capsule(p0, p1, radius, cool):
    return np.array([*p0, *p1, radius, cool], np.float64)


def _limb(rng, root, direction_deg, lengths, radii, cools, bend_deg=40.0, z_end=None):
    """Two capsules from ``root`` (u, v, z): a segment in ``direction_deg`` (in the u-v plane), a bent second one."""
    parts = []
    angle = math.radians(direction_deg)
    point = np.asarray(root, np.float64)
    for i, (length, radius, cool) in enumerate(zip(lengths, radii, cools)):
        if i:
            angle += math.radians(rng.uniform(-bend_deg, bend_deg))
        end = point + length * np.array([math.cos(angle), math.sin(angle), 0.0])
        if z_end is not None:
            end[2] = z_end[i]
        parts.append(_capsule(point, end, radius, cool))
        point = end
    return parts


def _laying(rng):
    z = 0.15
    parts = [_capsule((0.58, 0, z), (-0.02, 0, z), 0.17, 0.0), _capsule((0.83, 0, z), (0.83, 0, z), 0.11, 0.0)]
    for side in (1, -1):
        spread = rng.uniform(0, 25)
        parts += _limb(rng, (-0.05, 0.09 * side, z), 180 - side * spread, (0.46, 0.46), (0.085, 0.065), (6, 10), 15)
        arm = rng.uniform(20, 175)  # 180 = along the body, 90 = straight out
        parts += _limb(rng, (0.5, 0.19 * side, z), side * arm, (0.3, 0.3), (0.055, 0.045), (8, 12))
    return parts


def _sitting(rng):
    lean = rng.uniform(-0.05, 0.15)
    parts = [_capsule((0, 0, 0.15), (lean, 0, 0.65), 0.22, 0.0), _capsule((lean, 0, 0.86), (lean, 0, 0.86), 0.12, 0.0)]
    knees_up = rng.random() < 0.5
    for side in (1, -1):
        splay = rng.uniform(0, 20)
        # knees drawn up (thighs rise forward, shins come back down) or legs stretched out on the ground
        lengths, z_end = ((0.42, 0.2), (0.4, 0.05)) if knees_up else ((0.45, 0.45), (0.1, 0.06))
        parts += _limb(rng, (0, 0.1 * side, 0.1), 180 - side * splay, lengths, (0.085, 0.065), (6, 10), 10, z_end=z_end)
        arm = rng.uniform(110, 200)  # forward to the knees or back to the ground
        parts += _limb(
            rng, (lean, 0.2 * side, 0.55), side * arm, (0.3, 0.28), (0.055, 0.045), (8, 12), z_end=(0.35, 0.2)
        )
    return parts


def _idle(rng):
    parts = [_capsule((0, 0, 0.95), (0, 0, 1.45), 0.21, 0.0), _capsule((0, 0, 1.63), (0, 0, 1.63), 0.12, 0.0)]
    for side in (1, -1):
        stance = 0.1 + rng.uniform(0, 0.12)
        parts.append(_capsule((0, stance * side, 0.0), (0, 0.1 * side, 0.95), 0.09, 8))
        lift = rng.uniform(0, 0.6)  # 0 = arms hanging, 0.6 = held out sideways
        hand = (rng.uniform(-0.1, 0.25), (0.25 + 0.45 * lift) * side, 0.85 + 0.55 * lift)
        parts.append(_capsule((0, 0.2 * side, 1.42), hand, 0.06, 10))
    return parts


POSES = {'laying': _laying, 'sitting': _sitting, 'idle': _idle}


def person_capsules(rng, shape):
    """Capsules of a random person in ``shape`` ('idle', 'sitting', 'laying') at actor size, body coordinates.

    Returns:
        np.ndarray: (N, 8) rows ``u0, v0, z0, u1, v1, z1, radius, cool`` in metres (u: towards the head or, for
        'sitting', the back; v: to the person's side; z: up) and kelvin-like grey offsets below the warmest part.
    """
    if shape not in POSES:
        raise ValueError(f'person shape must be one of {tuple(POSES)}, got {shape!r}')
    parts = np.stack(POSES[shape](rng))
    scale = rng.uniform(*PERSON_SCALE)
    parts[:, :7] *= scale
    return parts


def place_capsules(parts, x, y, rotation_deg):
    """Rotate body coordinates by ``rotation_deg`` about z and move them to world (x, y) metres."""
    theta = math.radians(rotation_deg)
    cos, sin = math.cos(theta), math.sin(theta)
    out = parts.copy()
    for a in (0, 3):
        u, v = parts[:, a], parts[:, a + 1]
        out[:, a] = x + u * cos - v * sin
        out[:, a + 1] = y + u * sin + v * cos
    return out


def draw_capsules(canvas, world, camera, view_y, base_grey):
    """Alpha-blend world capsules into ``canvas`` (float32, H x W) as seen from the camera at world y ``view_y``.

    Each end point is projected with the pinhole camera at its own height; the radius uses the scale at the
    capsule's mean height. Edges are anti-aliased over one pixel; where capsules overlap the warmest one shows.
    """
    f, c, alt = camera.focal_px, camera.center_px, camera.altitude
    ends = []
    for a in (0, 3):
        scale = f / (alt - world[:, a + 2])
        ends.append((c - scale * world[:, a], c - scale * (world[:, a + 1] - view_y)))  # row, col
    (r0, c0), (r1, c1) = ends
    radius = world[:, 6] * f / (alt - 0.5 * (world[:, 2] + world[:, 5]))
    top = int(math.floor(min(r0.min(), r1.min()) - radius.max() - 2))
    left = int(math.floor(min(c0.min(), c1.min()) - radius.max() - 2))
    bottom = int(math.ceil(max(r0.max(), r1.max()) + radius.max() + 2)) + 1
    right = int(math.ceil(max(c0.max(), c1.max()) + radius.max() + 2)) + 1
    h, w = canvas.shape
    rt, rb, cl, cr = max(top, 0), min(bottom, h), max(left, 0), min(right, w)
    if rt >= rb or cl >= cr:
        return
    rows = np.arange(rt, rb, dtype=np.float64)[:, None, None]
    cols = np.arange(cl, cr, dtype=np.float64)[None, :, None]
    dr, dc = r1 - r0, c1 - c0
    length2 = np.maximum(dr * dr + dc * dc, 1e-12)
    t = np.clip(((rows - r0) * dr + (cols - c0) * dc) / length2, 0, 1)
    dist = np.hypot(rows - (r0 + t * dr), cols - (c0 + t * dc)) - radius  # H, W, N (pixels, signed)
    alpha_each = np.clip(0.5 - dist, 0, 1)
    grey_each = base_grey - world[:, 7]
    alpha = alpha_each.max(axis=2)
    # the warmest covering capsule sets the grey; soft edges blend towards the ground below
    grey = np.where(alpha_each > 0, grey_each, -np.inf).max(axis=2)
    grey = np.where(alpha > 0, grey, 0.0)
    region = canvas[rt:rb, cl:cr]
    region += (alpha * (grey - region)).astype(np.float32)


__all__ = ['PERSON_GREY', 'PERSON_SCALE', 'POSES', 'draw_capsules', 'person_capsules', 'place_capsules']
