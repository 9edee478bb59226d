"""The simulated forest: trees on Gazebo's jittered grid (:func:`sample_forest`), their wood (trunk, forking branches)
and the leaf layers of their crowns, each a density and grey field that the renderer warps into every view.
Sources and calibration: the overview in :mod:`basicsr_ext.aos.simulator`.
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.scene import sun_geometry
from basicsr_ext.aos.thermal import SUN_DIFFUSE, sun_kelvin, to_grey

# leaves in the thermal model of the Gazebo PhotoShoot plugin (the albedo is ours)
LEAF_ALBEDO = 0.12
# ours, calibrated: leaves read this much cooler than PhotoShoot's formula gives, so that the 0 m integral minus the GT
# is about +3 grey levels (median) as on the course data, i.e. the canopy is as often darker than the ground as brighter
LEAF_OFFSET_K = -6.0
LEAF_JITTER_K = 5.0  # ours: per leaf cell (0.15 m), brings the integrals' fine-detail energy to the course data's
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
    (ox, oy), reach = sun_geometry(params)[1], 1.35 * CROWN_RADIUS_M[1]
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


def _smooth_noise(rng, shape, cell_px):
    """Zero-mean, unit-std smooth noise of ``shape`` with features about ``cell_px`` pixels wide (float32)."""
    low = (max(2, int(math.ceil(shape[0] / cell_px)) + 2), max(2, int(math.ceil(shape[1] / cell_px)) + 2))
    grid = rng.standard_normal(low).astype(np.float32)
    # sample the grid on a cell_px lattice (not resize-to-fit) so the feature size is the same for every shape
    m = np.array([[1 / cell_px, 0, 0.5], [0, 1 / cell_px, 0.5]], np.float32)
    out = cv2.warpAffine(grid, m, (shape[1], shape[0]), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
    std = float(out.std())
    return out / std if std > 0 else out


def tree_branches(rng, tree):
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


class LeafLayer:
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
