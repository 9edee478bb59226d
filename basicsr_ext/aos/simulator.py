"""A fast stand-in for the course's Gazebo simulator: renders raw AOS samples in exactly the real format.

Each sample is a scene drawn in the real runs' parameter ranges (:func:`~basicsr_ext.aos.scene.sample_scene`),
rendered as 11 nadir thermal views plus the GT (the centre view without forest,
:func:`~basicsr_ext.aos.render.render_sample`) and written with :func:`basicsr_ext.aos.raw.write_raw_sample`
(:func:`simulate`). The parts, one module each: ``scene`` (settings), ``thermal`` (kelvin to grey), ``forest`` (trees,
wood, leaf layers), ``person`` (silhouettes) and ``render`` (the views and the GT); this module draws and writes
samples, in parallel. Facts and their sources are in AOS_FORMAT.md; what the renderer takes from where:

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
  (:func:`~basicsr_ext.aos.thermal.ground_grey`), plus a faint pixel-scale pattern; a canopy's shadow darkens it in
  the views by at most ``SHADOW_GREY (1 - ambient)``; the GT, rendered without forest, has none.
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

import os
from multiprocessing import Pool

import cv2
import numpy as np

from basicsr_ext.aos.geometry import CameraModel
from basicsr_ext.aos.raw import write_raw_sample
from basicsr_ext.aos.render import render_sample
from basicsr_ext.aos.scene import sample_scene


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
        **scene_kwargs: Passed to :func:`~basicsr_ext.aos.scene.sample_scene` (``densities``, ``p_no_trees``,
            ``p_no_person``).

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


__all__ = ['sample_rng', 'simulate', 'simulate_sample']
