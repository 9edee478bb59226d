"""The person position and the window around it: one value each, from the raw sample to the loss and the report.

A person stands where ``Parameters.txt`` puts it: ``x``, ``y`` metres on the ground, in the world frame of
``aos/geometry.py``. Which pixel that is depends on the camera the views were taken and integrated with, so
:class:`PersonPosition` carries its :class:`CameraModel`: the converter stores both in the stack's metadata
(``person`` and ``camera``), LMDB keeps the stack file's bytes (metadata included), and the dataset, the montages and
``aos_restore.py`` compute pixels with :meth:`PersonPosition.pixels` only. The metres in stack file names
(``{run}_{sim}_{x}_{y}_integral.tiff``) index the data; they are read as a position only for stacks without metadata
(TIFFs made by other tools), with the course camera.

:class:`PersonWindow` is the square the position-enhanced loss weighs, the person PSNR measures and the montages
draw: ``patch_size`` pixels on ``image_size``-wide images (the AOS course report, section 4.2: 96 px at 512 px),
scaled with the width of the full image so a crop keeps the window's size in metres.
"""

from dataclasses import asdict, dataclass, field, replace
from typing import Optional

import numpy as np

from basicsr_ext.aos.geometry import CameraModel


@dataclass(frozen=True)
class PersonPosition:
    """A person on the ground, in metres, with the camera that maps it to pixels.

    Args:
        x (float): World x in metres (image rows, decreasing).
        y (float): World y in metres (image columns, decreasing).
        camera (CameraModel): The camera of the views the person was seen in. Default: the course camera, 512 px.
        shape (str | None): 'idle', 'sitting', 'laying', or None when unknown.
    """

    x: float
    y: float
    camera: CameraModel = field(default_factory=CameraModel)
    shape: Optional[str] = None

    @classmethod
    def from_params(cls, params, camera):
        """The person of an ``AOSParameters`` seen by ``camera``, or None when the sample has no person."""
        if not params.has_person:
            return None
        return cls(float(params.person_pose[0]), float(params.person_pose[1]), camera, params.person_shape)

    @classmethod
    def from_meta(cls, meta, size):
        """The person of a focal stack's metadata (``person`` and ``camera``); None without a person.

        A stack written before the camera was recorded gets the course camera at ``size`` pixels.
        """
        person = meta.get('person')
        if not person:
            return None
        camera = CameraModel(**meta['camera']) if meta.get('camera') else CameraModel(size=size)
        return cls(float(person['x']), float(person['y']), camera, person.get('shape'))

    def to_meta(self):
        """The ``person`` entry of focal-stack metadata (the camera is stored beside it, as ``camera``)."""
        return {'x': self.x, 'y': self.y, 'shape': self.shape}

    @property
    def camera_meta(self):
        return asdict(self.camera)

    @property
    def xy(self):
        return self.x, self.y

    def pixels(self, size=None, mapping='geometric'):
        """``(row, col)`` float pixels in the centre view; ``size`` rescales the camera to an image of that width
        (None: the camera's own size). ``mapping='course_report'`` is the AOS course report's
        ``floor(size/2 (1 - v / 16))``."""
        camera = self.camera if size is None or size == self.camera.size else replace(self.camera, size=int(size))
        row, col = camera.metres_to_pixels(self.x, self.y, mapping=mapping)
        return float(row), float(col)


@dataclass(frozen=True)
class PersonWindow:
    """The square around the person: ``patch_size`` px on ``image_size``-wide images, scaled to the full width.

    Args:
        patch_size (int): Side at ``image_size`` pixels. Default: 96.
        image_size (int | None): Width the patch size refers to; None = the full width. Default: 512.
        full_size (int | None): Width of the full images when the input is a crop; None = the input width.
    """

    patch_size: int = 96
    image_size: Optional[int] = 512
    full_size: Optional[int] = None

    KEYS = ('patch_size', 'image_size', 'full_size')

    @classmethod
    def from_options(cls, opt):
        """The window of an option mapping (loss or metric options); keys it lacks take the defaults."""
        return cls(**{k: opt[k] for k in cls.KEYS if k in (opt or {})})

    def side(self, width):
        """Side in pixels on an image ``width`` pixels wide."""
        full = self.full_size or width
        return max(1, int(round(self.patch_size * full / (self.image_size or full))))

    def box(self, pos, height, width):
        """``(top, left, bottom, right)`` of the window centred on the pixel holding ``pos`` (row, col), clipped to
        the image; pixel i covers positions [i - 0.5, i + 0.5). Empty (bottom <= top) when it lies outside."""
        p = self.side(width)
        r, c = (int(np.floor(float(v) + 0.5)) for v in pos)
        top, left = r - p // 2, c - p // 2
        return max(0, top), max(0, left), min(height, top + p), min(width, left + p)
