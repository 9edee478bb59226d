"""The simulator's thermal model: kelvin to 8-bit grey as the Gazebo PhotoShoot plugin maps it, its sun terms, and the
flat ground's grey level calibrated on the public course GTs. Sources: the overview in :mod:`basicsr_ext.aos.simulator`.
"""

import numpy as np

# thermal model of the Gazebo PhotoShoot plugin and its example world
LOWER_K, UPPER_K = 285.0, 330.0
DIRECT_FACTOR, INDIRECT_FACTOR = 64.0, 5.0
SUN_DIFFUSE = 0.8

# ground calibrated on the public course GTs: flat, 0-210 grey, dark (< 10) in about a quarter of the samples
GROUND_ZERO_K = 272.0
GROUND_GREY_PER_K = 5.0
GROUND_MAX_GREY = 210.0


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


def ground_grey(params):
    """The flat ground's grey level for a scene: ``clip(5 (T - 272) + 20 (ambient - 0.75), 0, 210)``."""
    level = GROUND_GREY_PER_K * (params.ground_temperature_k - GROUND_ZERO_K) + 20.0 * (params.ambient_light - 0.75)
    return float(np.clip(level, 0.0, GROUND_MAX_GREY))
