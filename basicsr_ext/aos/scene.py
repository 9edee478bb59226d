"""Scene settings of one simulated AOS sample: what its ``Parameters.txt`` states (:class:`SceneParams`), drawn in the
real runs' ranges (:func:`sample_scene`), and the sun geometry they imply. The forest layout is drawn at render time
(:mod:`basicsr_ext.aos.forest`).
"""

import math
from dataclasses import dataclass
from typing import Optional

from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.parameters import PERSON_SHAPES, AOSParameters

DEFAULT_DENSITIES = (100, 200)
COURSE_TREE_TOP_K = (295, 312)  # the course runs' tree top temperatures (AOS_FORMAT.md), inclusive


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


def sample_scene(rng, densities=DEFAULT_DENSITIES, p_no_trees=0.1, p_no_person=0.1, tree_top_k=COURSE_TREE_TOP_K):
    """Draw scene settings in the real runs' ranges (AOS_FORMAT.md).

    Args:
        rng (np.random.Generator): Source of randomness.
        densities (tuple[int]): Trees per ha to choose from when there are trees (runs 0, 1: 100; run 2: 200).
            Default: (100, 200).
        p_no_trees (float): Probability of no forest. Default: 0.1.
        p_no_person (float): Probability of no person. Default: 0.1.
        tree_top_k (tuple[int, int]): Range of the tree top temperature in kelvin, both ends included. Default: the
            course's (295, 312). A higher top end gives the bright crowns of some real integrals (docs/aos_person.md).

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
        tree_top_temperature_k=int(rng.integers(int(tree_top_k[0]), int(tree_top_k[1]) + 1)),
    )


def sun_geometry(params):
    """Unit-free sun geometry: (cos of the zenith angle, horizontal shadow offset per metre of height as (dx, dy))."""
    tilt, compass = math.radians(params.sun_azimuth_deg), math.radians(params.sun_compass_deg)
    return math.cos(tilt), (math.tan(tilt) * math.cos(compass), math.tan(tilt) * math.sin(compass))
