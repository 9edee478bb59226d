"""The one place for the AOS camera model and the metres <-> pixels mapping.

Conventions (from the JKU course data, see docs/aos.md):

- The drone flies a line of ``num_views`` nadir poses ``spacing`` metres apart at ``altitude`` metres; pose
  ``center_view`` (5 of 0..10) is the centre. ``Parameters.txt`` lists them as ``img_1 (0, -5, 35, ...)`` ...
  ``img_11 (0, 5, 35, ...)``: the line runs along the world **y** axis, and view k sits at y = (k - center) * spacing.
- World **y** maps to image **columns** and world **x** to image **rows**, both decreasing:
  ``row = c - f * x / (altitude - z)``, ``col = c - f * (y - y_cam) / (altitude - z)`` with ``c = size / 2`` and the
  focal length ``f = (size / 2) / tan(fov / 2)`` in pixels (549.04 px for 512 px and 50 deg).
- Hence a point at height h seen from view k appears ``f * y_k / (altitude - h)`` columns to the right of where the
  centre view sees it; integrating view k onto the plane at height h samples it at ``col + f * y_k / (altitude - h)``
  (view 0 moves right by 78.4 px at h = 0). This reproduces LFR's integrals (AOS_FORMAT.md).
- The person position of the AOS course report (Aliyev et al., JKU, Jan 2024), ``floor(256 (1 - x / 16))`` at
  512 px (16 px per metre, which the pinhole gives for a point 0.69 m above ground: 549.0 / (35 - 0.69) = 16.0),
  is available as ``mapping='course_report'`` and scales with the image size like the geometric one. A person's
  position and the camera that maps it travel together as ``aos.position.PersonPosition``.
"""

import math
from dataclasses import dataclass

import numpy as np

MAPPINGS = ('geometric', 'course_report')
OLD_MAPPING_NAMES = {'seed': 'course_report'}  # the name it had before; still read, with a warning (the dataset)


@dataclass(frozen=True)
class CameraModel:
    """Pinhole nadir camera on a straight line of poses.

    Args:
        size (int): Image width = height in pixels. Default: 512.
        fov_deg (float): Horizontal field of view in degrees. Default: 50.
        altitude (float): Flight altitude above ground in metres. Default: 35.
        num_views (int): Number of poses. Default: 11.
        spacing (float): Distance between neighbouring poses in metres. Default: 1.
        center_view (int): Index of the centre pose (the GT view). Default: 5.
    """

    size: int = 512
    fov_deg: float = 50.0
    altitude: float = 35.0
    num_views: int = 11
    spacing: float = 1.0
    center_view: int = 5

    def __post_init__(self):
        if self.size <= 0 or not 0 < self.fov_deg < 180 or self.altitude <= 0 or self.num_views <= 0:
            raise ValueError(f'invalid camera model {self}')
        if not 0 <= self.center_view < self.num_views:
            raise ValueError(f'center_view {self.center_view} outside 0..{self.num_views - 1}')

    @property
    def focal_px(self):
        """Focal length in pixels."""
        return (self.size / 2) / math.tan(math.radians(self.fov_deg) / 2)

    @property
    def center_px(self):
        return self.size / 2

    def view_y(self, k):
        """World y (metres) of view ``k`` (array-friendly)."""
        return (np.asarray(k, dtype=np.float64) - self.center_view) * self.spacing

    def pixels_per_metre(self, height=0.0):
        """Ground sampling at ``height`` metres above ground (15.69 px/m at 0 m for the defaults)."""
        return self.focal_px / (self.altitude - height)

    def footprint_m(self, height=0.0):
        """Width in metres of the plane at ``height`` that the image covers."""
        return self.size / self.pixels_per_metre(height)

    def view_shift_px(self, k, height):
        """Columns to add to a centre-view column to sample view ``k`` on the plane at ``height`` metres."""
        if np.any(np.asarray(height) >= self.altitude):
            raise ValueError(f'focal height {height} m is not below the altitude {self.altitude} m')
        return self.focal_px * self.view_y(k) / (self.altitude - np.asarray(height, dtype=np.float64))

    def metres_to_pixels(self, x, y, z=0.0, mapping='geometric'):
        """World position (metres) -> (row, col) in pixels of the centre view.

        ``mapping='geometric'`` projects the point at height ``z`` (float pixels); ``mapping='course_report'`` is the
        report's ``floor(size/2 * (1 - v / 16))`` for both axes (integers), which ignores ``z``.
        """
        if mapping == 'geometric':
            scale = self.focal_px / (self.altitude - np.asarray(z, dtype=np.float64))
            return self.center_px - scale * np.asarray(x, np.float64), self.center_px - scale * np.asarray(
                y, np.float64
            )
        if mapping == 'course_report':
            half = self.size / 2
            return (
                np.floor(half * (1 - np.asarray(x, np.float64) / 16)),
                np.floor(half * (1 - np.asarray(y, np.float64) / 16)),
            )
        raise ValueError(f'mapping must be one of {MAPPINGS}, got {mapping!r}')

    def pixels_to_metres(self, row, col, z=0.0, mapping='geometric'):
        """Inverse of :meth:`metres_to_pixels` (for ``'course_report'``, the lower edge of the floor's interval)."""
        if mapping == 'geometric':
            scale = self.focal_px / (self.altitude - np.asarray(z, dtype=np.float64))
            return (self.center_px - np.asarray(row, np.float64)) / scale, (
                self.center_px - np.asarray(col, np.float64)
            ) / scale
        if mapping == 'course_report':
            half = self.size / 2
            return 16 * (1 - np.asarray(row, np.float64) / half), 16 * (1 - np.asarray(col, np.float64) / half)
        raise ValueError(f'mapping must be one of {MAPPINGS}, got {mapping!r}')
