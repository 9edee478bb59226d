"""A fast stand-in for the course's Gazebo simulator: renders raw AOS samples in exactly the real format.

Each sample is a scene drawn in the real runs' parameter ranges (:func:`sample_scene`), rendered as 11 nadir thermal
views plus the GT (the centre view without forest, :func:`render_sample`) and written with
:func:`basicsr_ext.aos.raw.write_raw_sample` (:func:`simulate`). Facts and their sources are in AOS_FORMAT.md; what
the renderer takes from where:

- Geometry: the exact pinhole projection of :class:`~basicsr_ext.aos.geometry.CameraModel`. A point at world
  (x, y, z) lands in view k at ``row = c - f x / (alt - z)``, ``col = c - f (y - y_k) / (alt - z)``, so the ground
  moves ``f * spacing / alt`` columns per view and a canopy at height z ``f * spacing / (alt - z)``; everything is in
  metres, so other image sizes keep the scene and change only the sampling.
- Leaves follow the Gazebo PhotoShoot plugin (bostelma/gazebo_sim: plugins/photo_shoot/src/PhotoShoot.cpp,
  worlds/example_photo_shoot.sdf): ``T + 64 (1 - b_dark) (b_lit - b_dark) + 5 (1 - b_dark)`` kelvin, where b_dark and
  b_lit are the surface brightness under ambient light only and with the sun, mapped to 8 bits by
  ``clip((T - 285) / 45 * 255)``. We approximate brightness as ``albedo * light`` with the sun's diffuse 0.8 of that
  world; the albedo is our choice.
- The ground is calibrated on public course samples (docs/aos_sim2real.md): the real GTs are flat (per-image std
  1.5-9 grey levels, most of it the person) at a level that varies per sample over 0-210, dark in about a quarter
  of them. So the ground is one grey level per sample, ``clip(5 (T - 272 K) + 20 (ambient - 0.75), 0, 210)``
  (:func:`ground_grey`), plus a faint pixel-scale pattern; a canopy's shadow darkens it in the views by at most
  ``SHADOW_GREY (1 - ambient)``; the GT, rendered without forest, has none.
- Sun: 'azimuth angle of sun light' (0-45 deg) is taken as the angle from the zenith and the compass direction as
  the direction the light travels (world x = 0 deg, y = 90 deg). Both are our reading of the parameter names.
- Forest: trees on a jittered grid of ``sqrt(10000 / density)`` metre cells, one tree per cell, as Gazebo's forest
  plugin places them (plugins/forest/src/forest.cpp), over an area large enough that parallax and shadows bring trees
  in from outside the footprint. A tree is a trunk with branches that fork towards the crown, plus a crown of a few
  horizontal leaf layers 8-20 m above the ground, each with an irregular edge and holes (the procedural trees' twigs
  are alpha-textured quads, so crowns are partly see-through, which is what lets AOS integration reveal the ground).
  Wood reads cold: trunks and branches are dark in the real views and leave dark residue in the real integrals.
- Person: a warm human silhouette (head, torso, arms, legs) in the drawn pose, at the actors' size and rotated by the
  drawn angle (:mod:`basicsr_ext.aos.person`); every view projects it with the parallax of its height.

Occlusion is a painter's algorithm per view: the ground, the person, then trunks and branches, then every crown
layer from low to high, each warped to its own sub-pixel position in that view. Sample ``sim`` of ``run`` uses an rng
derived from ``(seed, run, sim)``, so the output does not depend on the number of worker processes.
"""

import math
import os
from dataclasses import dataclass
from multiprocessing import Pool
from typing import Optional

import cv2
import numpy as np

from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.person import PERSON_GREY, draw_capsules, person_capsules, place_capsules
from basicsr_ext.aos.raw import PERSON_SHAPES, AOSParameters, write_raw_sample

# thermal model of the Gazebo PhotoShoot plugin and its example world
LOWER_K, UPPER_K = 285.0, 330.0
DIRECT_FACTOR, INDIRECT_FACTOR = 64.0, 5.0
SUN_DIFFUSE = 0.8
LEAF_ALBEDO = 0.12
# ours, calibrated: leaves read this much cooler than PhotoShoot's formula gives, so that the 0 m integral minus the GT
# is about +3 grey levels (median) as on the course data, i.e. the canopy is as often darker than the ground as brighter
LEAF_OFFSET_K = -6.0
LEAF_JITTER_K = 5.0  # ours: per leaf cell (0.15 m), brings the integrals' fine-detail energy to the course data's

# ground calibrated on the public course GTs: flat, 0-210 grey, dark (< 10) in about a quarter of the samples
GROUND_ZERO_K = 272.0
GROUND_GREY_PER_K = 5.0
GROUND_MAX_GREY = 210.0
GROUND_PATTERN_STD = 0.8  # grey levels of the faint pixel-scale pattern on the real ground
SHADOW_GREY = 24.0  # deepest canopy shadow on the ground (at ambient light 0), grey levels
# wood reads cold: trunk and branch grey as a fraction of the leaves' grey
WOOD_FRACTION = (0.12, 0.4)
BRANCHES = (4, 8)  # main branches per tree, each with one fork

# crowns: top height, depth and radius ranges (metres); leaf layers per crown; leaf-field cell size
CROWN_TOP_M = (13.0, 20.0)
CROWN_DEPTH_M = (3.0, 6.0)
CROWN_BOTTOM_MIN_M = 8.0
CROWN_RADIUS_M = (2.8, 4.5)
TRUNK_RADIUS_M = (0.08, 0.18)
CROWN_LAYERS = 3
LEAF_CELL_M = 0.15
_LEAF_THRESHOLD = 0.3
_LEAF_GAIN = 12.0  # density units -> alpha; about a pixel-wide soft edge at the default scale

DEFAULT_DENSITIES = (100, 200)


@dataclass
class SceneParams:
    """What one ``Parameters.txt`` states about a scene (the forest layout itself is drawn at render time).

    Args:
        trees_per_ha (int): Forest density; 0 for no trees.
        person_shape (str | None): 'idle', 'sitting', 'laying' or None for no person.
        person_x (float), person_y (float): Person position in metres (integers in the real runs).
        person_rotation_deg (float): Rotation about z in degrees.
        ambient_light (float): Scene ambient light, 0.5-1.
        sun_azimuth_deg (float): Sun angle from the zenith in degrees, 0-45.
        sun_compass_deg (float): Compass direction of the sunlight in degrees, 0-360.
        ground_temperature_k (float): Ground surface temperature, 260-312 K.
        tree_top_temperature_k (float): Tree top temperature, 295-312 K.
    """

    trees_per_ha: int
    person_shape: Optional[str]
    person_x: float
    person_y: float
    person_rotation_deg: float
    ambient_light: float
    sun_azimuth_deg: float
    sun_compass_deg: float
    ground_temperature_k: float
    tree_top_temperature_k: float

    def __post_init__(self):
        if self.person_shape is not None and self.person_shape not in PERSON_SHAPES:
            raise ValueError(f'person_shape must be one of {PERSON_SHAPES} or None, got {self.person_shape!r}')
        if self.trees_per_ha < 0:
            raise ValueError(f'trees_per_ha must be >= 0, got {self.trees_per_ha}')

    @property
    def has_person(self):
        return self.person_shape is not None

    def to_parameters(self, camera=None):
        """The :class:`AOSParameters` a real run would have written for this scene and camera."""
        camera = camera or CameraModel()
        alt = _num(camera.altitude)
        poses = {'img_GT': (0, 0, alt, 0.0, 1.57, 0)}
        for k in range(camera.num_views):
            poses[f'img_{k + 1}'] = (0, _num(float(camera.view_y(k))), alt, 0.0, 1.57, 0)
        if self.has_person:
            rad = math.radians(self.person_rotation_deg)
            # the pose line holds the angle wrapped to [-pi, pi] (359 deg -> -0.0174533 in the course example)
            pose = (_num(self.person_x), _num(self.person_y), 0, 0, 0, round(math.remainder(rad, 2 * math.pi), 7))
            shape, rot_rad, rot_deg = self.person_shape, rad, float(self.person_rotation_deg)
        else:
            pose = shape = rot_rad = rot_deg = None
        return AOSParameters(
            poses=poses,
            trees_per_ha=int(self.trees_per_ha),
            person_shape=shape,
            person_pose=pose,
            person_rotation_rad=rot_rad,
            person_rotation_deg=rot_deg,
            ambient_light=float(self.ambient_light),
            sun_azimuth_deg=float(self.sun_azimuth_deg),
            sun_compass_deg=float(self.sun_compass_deg),
            ground_temperature_k=_num(self.ground_temperature_k),
            tree_top_temperature_k=_num(self.tree_top_temperature_k),
        )

    @classmethod
    def from_parameters(cls, params):
        """Scene settings of a (real or simulated) :class:`AOSParameters`, e.g. to re-render a real sample's scene."""
        has_person = params.person_shape is not None
        if has_person and params.person_pose is None:
            raise ValueError(f'person shape {params.person_shape!r} without a person pose')
        if has_person and params.person_rotation_deg is not None:
            rot = params.person_rotation_deg
        elif has_person and params.person_rotation_rad is not None:
            rot = math.degrees(params.person_rotation_rad)
        elif has_person:
            rot = math.degrees(params.person_pose[5])
        else:
            rot = 0.0
        return cls(
            trees_per_ha=int(params.trees_per_ha),
            person_shape=params.person_shape,
            person_x=params.person_pose[0] if has_person else 0,
            person_y=params.person_pose[1] if has_person else 0,
            person_rotation_deg=rot,
            ambient_light=params.ambient_light,
            sun_azimuth_deg=params.sun_azimuth_deg,
            sun_compass_deg=params.sun_compass_deg,
            ground_temperature_k=params.ground_temperature_k,
            tree_top_temperature_k=params.tree_top_temperature_k,
        )


def _num(v):
    """An integral value as int (Parameters.txt writes ``35``, ``-5``, ``286``), anything else as float."""
    v = float(v)
    return int(v) if v.is_integer() else v


def sample_scene(rng, densities=DEFAULT_DENSITIES, p_no_trees=0.1, p_no_person=0.1):
    """Draw scene settings in the real runs' ranges (AOS_FORMAT.md).

    Args:
        rng (np.random.Generator): Source of randomness.
        densities (tuple[int]): Trees per ha to choose from when there are trees (runs 0, 1: 100; run 2: 200).
            Default: (100, 200).
        p_no_trees (float): Probability of no forest. Default: 0.1.
        p_no_person (float): Probability of no person. Default: 0.1.

    Returns:
        SceneParams: integers where the real files have integers (positions, temperatures, angles in whole degrees).
    """
    trees = 0 if rng.random() < p_no_trees else int(rng.choice(densities))
    shape = None if rng.random() < p_no_person else PERSON_SHAPES[int(rng.integers(len(PERSON_SHAPES)))]
    return SceneParams(
        trees_per_ha=trees,
        person_shape=shape,
        person_x=int(rng.integers(-10, 11)),
        person_y=int(rng.integers(-10, 11)),
        person_rotation_deg=float(rng.integers(0, 360)),
        ambient_light=float(rng.uniform(0.5, 1.0)),
        sun_azimuth_deg=float(rng.integers(0, 46)),
        sun_compass_deg=float(rng.integers(0, 360)),
        ground_temperature_k=int(rng.integers(260, 313)),
        tree_top_temperature_k=int(rng.integers(295, 313)),
    )


@dataclass
class Tree:
    """One tree: trunk at (x, y) metres, crown from ``crown_bottom`` to ``crown_top`` metres above the ground.

    A crown with ``crown_bottom == crown_top`` is a single leaf layer; ``trunk_radius = 0`` draws no trunk and no
    branches.
    """

    x: float
    y: float
    crown_bottom: float
    crown_top: float
    radius: float
    trunk_radius: float
    temperature_k: float

    def layer_heights(self):
        if self.crown_top <= self.crown_bottom:
            return np.array([self.crown_top])
        return np.linspace(self.crown_bottom, self.crown_top, CROWN_LAYERS)


def _sun(params):
    """Unit-free sun geometry: (cos of the zenith angle, horizontal shadow offset per metre of height as (dx, dy))."""
    tilt, compass = math.radians(params.sun_azimuth_deg), math.radians(params.sun_compass_deg)
    return math.cos(tilt), (math.tan(tilt) * math.cos(compass), math.tan(tilt) * math.sin(compass))


def _ground_box(camera):
    """Half-extents (x, y) in metres of the ground that some view sees."""
    half = camera.footprint_m(0.0) / 2
    line = camera.spacing * max(camera.center_view, camera.num_views - 1 - camera.center_view)
    return half, half + line


def sample_forest(rng, params, camera=None):
    """Trees for ``params.trees_per_ha`` on a jittered grid (one per cell, as Gazebo's forest plugin does).

    The grid covers every place from which a crown or its shadow can reach a view; trees that reach none are dropped.

    Returns:
        list[Tree]: possibly empty.
    """
    if params.trees_per_ha <= 0:
        return []
    camera = camera or CameraModel()
    (ox, oy), reach = _sun(params)[1], 1.35 * CROWN_RADIUS_M[1]
    hx, hy = _ground_box(camera)
    # a shadow lands at p + z * offset, so trees up to z_max * offset upwind of the box can shade it
    top = CROWN_TOP_M[1]
    lo = np.array([-hx - reach - max(0.0, top * ox), -hy - reach - max(0.0, top * oy)])
    hi = np.array([hx + reach + max(0.0, -top * ox), hy + reach + max(0.0, -top * oy)])
    cell = math.sqrt(1e4 / params.trees_per_ha)
    nx, ny = (int(v) + 1 for v in np.ceil((hi - lo) / cell))
    origin = lo - rng.uniform(0, cell, 2)  # random grid phase: no alignment with the camera
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing='ij')
    xs = origin[0] + (ix.ravel() + rng.random(ix.size)) * cell
    ys = origin[1] + (iy.ravel() + rng.random(ix.size)) * cell
    n = xs.size
    tops = rng.uniform(*CROWN_TOP_M, n)
    bottoms = np.maximum(tops - rng.uniform(*CROWN_DEPTH_M, n), CROWN_BOTTOM_MIN_M)
    radii = rng.uniform(*CROWN_RADIUS_M, n)
    trunks = rng.uniform(*TRUNK_RADIUS_M, n)
    temps = params.tree_top_temperature_k + rng.normal(0, 0.7, n)
    # the views see less at crown height than on the ground, so the ground box bounds crowns and trunks alike
    margin = 1.35 * radii
    seen = (np.abs(xs) <= hx + margin) & (np.abs(ys) <= hy + margin)
    mid, spread = (tops + bottoms) / 2, (tops - bottoms) / 2 * math.hypot(ox, oy)
    shade = (np.abs(xs + mid * ox) <= hx + margin + spread) & (np.abs(ys + mid * oy) <= hy + margin + spread)
    columns = (xs, ys, bottoms, tops, radii, trunks, temps)
    return [Tree(*(float(col[i]) for col in columns)) for i in np.flatnonzero(seen | shade)]


def to_grey(kelvin):
    """Gazebo PhotoShoot's 8-bit mapping ``(T - 285) / 45 * 255`` (unclipped, float)."""
    return (np.asarray(kelvin, np.float32) - LOWER_K) * np.float32(255.0 / (UPPER_K - LOWER_K))


def sun_kelvin(albedo, ambient, direct):
    """PhotoShoot's light terms in kelvin for brightness ``albedo * light``; ``direct`` = sun diffuse x cos incidence.

    ``direct`` is 0 in full shadow, where only the indirect (ambient) term is left.
    """
    dark = albedo * ambient
    lit = np.minimum(albedo * (ambient + direct), 1.0)
    return DIRECT_FACTOR * (1 - dark) * (lit - dark) + INDIRECT_FACTOR * (1 - dark)


def _smooth_noise(rng, shape, cell_px):
    """Zero-mean, unit-std smooth noise of ``shape`` with features about ``cell_px`` pixels wide (float32)."""
    low = (max(2, int(math.ceil(shape[0] / cell_px)) + 2), max(2, int(math.ceil(shape[1] / cell_px)) + 2))
    grid = rng.standard_normal(low).astype(np.float32)
    # sample the grid on a cell_px lattice (not resize-to-fit) so the feature size is the same for every shape
    m = np.array([[1 / cell_px, 0, 0.5], [0, 1 / cell_px, 0.5]], np.float32)
    out = cv2.warpAffine(grid, m, (shape[1], shape[0]), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
    std = float(out.std())
    return out / std if std > 0 else out


def ground_grey(params):
    """The flat ground's grey level for a scene: ``clip(5 (T - 272) + 20 (ambient - 0.75), 0, 210)``."""
    level = GROUND_GREY_PER_K * (params.ground_temperature_k - GROUND_ZERO_K) + 20.0 * (params.ambient_light - 0.75)
    return float(np.clip(level, 0.0, GROUND_MAX_GREY))


def _branches(rng, tree):
    """Wood segments ((x, y, z) start, end, radius) of ``tree``: the trunk, main branches and one fork each."""
    top = max(0.8 * tree.crown_top, tree.crown_bottom)
    segments = [((tree.x, tree.y, 0.0), (tree.x, tree.y, top), tree.trunk_radius)]
    for _ in range(int(rng.integers(BRANCHES[0], BRANCHES[1] + 1))):
        z0 = rng.uniform(tree.crown_bottom - 1.5, top)
        azimuth = rng.uniform(0, 2 * math.pi)
        reach = tree.radius * rng.uniform(0.45, 0.95)
        start = np.array([tree.x, tree.y, z0])
        end = start + np.array([reach * math.cos(azimuth), reach * math.sin(azimuth), rng.uniform(0.5, 2.5)])
        radius = tree.trunk_radius * rng.uniform(0.35, 0.6)
        segments.append((tuple(start), tuple(end), radius))
        fork = start + rng.uniform(0.4, 0.7) * (end - start)
        turn = azimuth + rng.choice((-1, 1)) * rng.uniform(0.4, 1.0)
        tip = fork + np.array([0.5 * reach * math.cos(turn), 0.5 * reach * math.sin(turn), rng.uniform(0.3, 1.5)])
        segments.append((tuple(fork), tuple(tip), 0.6 * radius))
    return segments


class _Layer:
    """One horizontal leaf layer of a crown: leaf density and grey on a ``LEAF_CELL_M`` grid centred on the tree."""

    def __init__(self, rng, tree, z, index_from_top, params, cos_zenith):
        radius = tree.radius * (0.75 if index_from_top == 0 and tree.crown_top > tree.crown_bottom else 1.0)
        self.x, self.y, self.z = tree.x, tree.y, z
        self.half_m = 1.35 * radius
        n = int(math.ceil(2 * self.half_m / LEAF_CELL_M)) | 1
        self.n = n
        u = (np.arange(n, dtype=np.float32) - (n - 1) / 2) * LEAF_CELL_M / radius
        d2 = u[:, None] ** 2 + u[None, :] ** 2
        coarse = np.clip(_smooth_noise(rng, (n, n), 1.0 / LEAF_CELL_M), -2, 2)  # lobes of the crown edge
        fine = np.clip(_smooth_noise(rng, (n, n), 1.6), -2.5, 2.5)  # leaf clusters and the holes between them
        density = 0.6 * (1 - d2) + 0.25 * coarse + 0.5 * fine
        density[d2 > 1.35**2 * 0.97] = -1.0
        # leaves lower in the crown are shaded by those above, so they get less of the direct sun term
        shade = 1.0 if index_from_top == 0 else 0.5
        incidence = np.clip(0.35 + 0.65 * rng.random((n, n), dtype=np.float32), 0, 1)  # leaf orientation
        # leaf-scale temperature spread: the fine, high-contrast texture of the real crowns
        jitter = LEAF_JITTER_K * rng.standard_normal((n, n), dtype=np.float32)
        kelvin = tree.temperature_k + LEAF_OFFSET_K - 1.0 * index_from_top + 0.5 * coarse + jitter
        grey = to_grey(
            kelvin + sun_kelvin(LEAF_ALBEDO, params.ambient_light, SUN_DIFFUSE * cos_zenith * shade * incidence)
        )
        self.fields = np.dstack([density, grey]).astype(np.float32)

    def alpha_and_grey(self, row_c, col_c, scale, bounds):
        """Warp the layer to centre (row_c, col_c) at ``scale`` px/m; clipped to ``bounds`` = (rows, cols).

        Returns:
            tuple: (r0, c0, alpha, grey) with alpha, grey float32 of the clipped box, or None when nothing is inside.
        """
        half = self.half_m * scale + 1
        r0, r1 = max(int(math.floor(row_c - half)), 0), min(int(math.ceil(row_c + half)) + 1, bounds[0])
        c0, c1 = max(int(math.floor(col_c - half)), 0), min(int(math.ceil(col_c + half)) + 1, bounds[1])
        if r0 >= r1 or c0 >= c1:
            return None
        step = 1.0 / (scale * LEAF_CELL_M)  # grid cells per pixel
        mid = (self.n - 1) / 2
        m = np.array([[step, 0, (c0 - col_c) * step + mid], [0, step, (r0 - row_c) * step + mid]], np.float32)
        out = cv2.warpAffine(
            self.fields,
            m,
            (c1 - c0, r1 - r0),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(-1.0, 0.0, 0.0, 0.0),
        )
        alpha = np.clip((out[..., 0] - _LEAF_THRESHOLD) * _LEAF_GAIN, 0, 1)
        return r0, c0, alpha, out[..., 1]


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
    cos_zenith, sun_offset = _sun(params)

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
            layers.append(_Layer(rng, tree, float(z), len(heights) - 1 - i, params, cos_zenith))
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
        (_branches(rng, t), rng.uniform(*WOOD_FRACTION) * max(float(to_grey(t.temperature_k)), 20.0))
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


def sample_rng(seed, run, sim):
    """The generator of sample ``sim`` of ``run``: independent of worker count and order."""
    for name, value in (('seed', seed), ('run', run), ('sim', sim)):
        if int(value) < 0:
            raise ValueError(f'{name} must be >= 0, got {value}')
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(run), int(sim)]))


def simulate_sample(seed, run, sim, camera=None, **scene_kwargs):
    """Draw and render sample ``sim`` of ``run``.

    Returns:
        tuple: (SceneParams, views uint8 (N, H, W), gt uint8 (H, W)).
    """
    rng = sample_rng(seed, run, sim)
    params = sample_scene(rng, **scene_kwargs)
    views, gt = render_sample(params, camera, rng)
    return params, views, gt


_WORKER = {}


def _init_worker(out_folder, seed, run, camera, scene_kwargs):
    _WORKER.update(out_folder=out_folder, seed=seed, run=run, camera=camera, scene_kwargs=scene_kwargs)


def _simulate_task(sim):
    w = _WORKER
    params, views, gt = simulate_sample(w['seed'], w['run'], sim, w['camera'], **w['scene_kwargs'])
    write_raw_sample(w['out_folder'], w['run'], sim, views, gt, params.to_parameters(w['camera']))
    return w['run'], sim


def simulate(
    out_folder,
    num_samples,
    seed=0,
    run=0,
    start_sim=0,
    size=512,
    workers=None,
    progress=True,
    camera=None,
    **scene_kwargs,
):
    """Write ``num_samples`` simulated raw samples (13 files each) to ``out_folder``.

    Args:
        out_folder (str): Folder for the raw files (created if missing).
        num_samples (int): Number of simulations.
        seed (int): Base seed; sample S of run R depends only on (seed, R, S). Default: 0.
        run (int): Run number R in the file names. Default: 0.
        start_sim (int): First simulation number S. Default: 0.
        size (int): Image size in pixels (the scene stays the same in metres). Default: 512.
        workers (int | None): Processes; None for one per CPU core, 1 (or 0) to render in this process.
        progress (bool): Show a tqdm progress bar. Default: True.
        camera (CameraModel | None): Overrides ``size`` with a full camera model.
        **scene_kwargs: Passed to :func:`sample_scene` (``densities``, ``p_no_trees``, ``p_no_person``).

    Returns:
        list[tuple[int, int]]: (run, sim) of the written samples, in order.
    """
    if num_samples < 0:
        raise ValueError(f'num_samples must be >= 0, got {num_samples}')
    camera = camera or CameraModel(size=size)
    os.makedirs(out_folder, exist_ok=True)
    sims = range(start_sim, start_sim + num_samples)
    workers = (os.cpu_count() or 1) if workers is None else workers
    workers = max(1, min(int(workers), num_samples))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=num_samples, desc='aos simulate', unit='sample')
    args = (out_folder, seed, run, camera, scene_kwargs)
    done = []
    try:
        if workers == 1:
            previous = dict(_WORKER)
            _WORKER.update(out_folder=out_folder, seed=seed, run=run, camera=camera, scene_kwargs=scene_kwargs)
            try:
                for sim in sims:
                    done.append(_simulate_task(sim))
                    if bar is not None:
                        bar.update()
            finally:
                _WORKER.clear()
                _WORKER.update(previous)
        else:
            chunk = max(1, min(8, num_samples // (4 * workers)))
            # Forked workers inherit cv2's thread pool in whatever state its threads left it; a child touching it
            # (setNumThreads, a parallel warp) can wait forever on a lock held by a thread that does not exist there.
            # With one cv2 thread in the parent while forking, the pool is idle and the children run cv2 serially,
            # which is what one process per core wants anyway.
            cv2_threads = cv2.getNumThreads()
            cv2.setNumThreads(1)
            try:
                with Pool(workers, initializer=_init_worker, initargs=args) as pool:
                    for item in pool.imap(_simulate_task, sims, chunksize=chunk):
                        done.append(item)
                        if bar is not None:
                            bar.update()
            finally:
                cv2.setNumThreads(cv2_threads)
    finally:
        if bar is not None:
            bar.close()
    return done


__all__ = [
    'SceneParams',
    'Tree',
    'render_sample',
    'sample_forest',
    'sample_rng',
    'sample_scene',
    'simulate',
    'simulate_sample',
    'ground_grey',
    'sun_kelvin',
    'to_grey',
]
