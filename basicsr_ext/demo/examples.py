"""The demo's bundled inputs, made on this machine: nothing third-party is committed or downloaded.

AOS: samples of the project's own simulator (:func:`basicsr_ext.aos.simulator.simulate`, the calibrated one the shipped
``aos_sim2real`` was trained on, at its 512 px), one converted to a focal-stack TIFF with its GT
(:func:`basicsr_ext.aos.convert.convert_sample`, as ``scripts/aos_prepare.py`` stores them), one left as raw 11 views
(integrated when it is opened), and the TIFF's 0 m plane as a grey PNG for the zoo tab. They are written once into a
cache folder and reused (the simulator is seeded, so the files are the same every time). Photos: two of the colour
photos that ship inside scikit-image, the ones the SR and denoising training held out.
"""

import tempfile
from os import path as osp

import cv2

# (run, sim) of seed 0 that have a person the restorer brings back (checked: +13.8 and +19.8 dB PSNR over the integral)
AOS_SIMS = ((0, 2), (0, 4))
SEED = 0
SIZE = 512  # the shipped restorer's training size
HEIGHTS = (0.0, 0.4, 0.8)  # planes of the TIFF example: options/train_aos.yml's (the ones public real samples share)
PHOTOS = ('coffee.png', 'chelsea.png')  # scikit-image's photos held out of the SR and denoising training
VERSION = 1  # bump when what is written changes, so an old cache is not reused


def default_cache():
    """``<temp>/basicsr-ext-demo/examples-v<VERSION>``: kept between runs of the demo."""
    return osp.join(tempfile.gettempdir(), 'basicsr-ext-demo', f'examples-v{VERSION}')


def _raw_sample(folder, run, sim):
    """The simulated raw sample (run, sim) in ``folder``, simulated first unless all its files are there."""
    from basicsr_ext.aos.raw import find_samples
    from basicsr_ext.aos.simulator import simulate

    found = find_samples(folder)[0] if osp.isdir(folder) else []
    if not found:
        simulate(folder, 1, seed=SEED, run=run, start_sim=sim, size=SIZE, workers=1, progress=False)
        found = find_samples(folder)[0]
    return found[0]


def make_examples(cache=None):
    """Write (or reuse) the bundled examples; returns ``(aos, images)``: ``{label: path}`` each.

    ``aos`` paths are what an upload becomes (a TIFF file, or a folder with one sample); ``images`` are image files.
    """
    from basicsr_ext.aos.convert import convert_sample
    from basicsr_ext.aos.focal_stack import read_focal_stack

    cache = cache or default_cache()
    (run_a, sim_a), (run_b, sim_b) = AOS_SIMS
    tiff_dir = osp.join(cache, 'tiff')
    tiff_name = convert_sample(_raw_sample(osp.join(cache, f'raw_{run_a}_{sim_a}'), run_a, sim_a), tiff_dir, HEIGHTS)
    tiff = osp.join(tiff_dir, 'stacks', tiff_name)
    raw = osp.dirname(_raw_sample(osp.join(cache, f'raw_{run_b}_{sim_b}'), run_b, sim_b).view_paths[0])
    integral_png = osp.join(cache, f'{run_a}_{sim_a}_integral_0m.png')
    if not osp.isfile(integral_png):
        cv2.imwrite(integral_png, read_focal_stack(tiff)[0][0])
    aos = {
        f'simulated {run_a}_{sim_a}: TIFF, {len(HEIGHTS)} planes, GT': tiff,
        f'simulated {run_b}_{sim_b}: raw 11 views, GT': raw,
    }
    images = {f'{osp.splitext(name)[0]} (scikit-image photo)': photo_path(name) for name in PHOTOS}
    images[f'simulated {run_a}_{sim_a}: 0 m integral (for aos_sim2real)'] = integral_png
    return aos, images


def photo_path(name):
    """Path of a photo in scikit-image's bundled data folder."""
    import skimage.data

    path = osp.join(osp.dirname(skimage.data.__file__), name)
    if not osp.isfile(path):
        raise FileNotFoundError(f'scikit-image sample photo not found: {path}')
    return path


def gt_folder(aos_path):
    """Where the GT of a bundled TIFF lies (convert_sample's layout: ``<split>/gt`` beside ``<split>/stacks``)."""
    return osp.join(osp.dirname(osp.dirname(aos_path)), 'gt') if osp.isfile(aos_path) else None
