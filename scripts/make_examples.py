"""Make the example inputs in ``examples/`` from the project's own simulator (no third-party data).

    python scripts/make_examples.py            # rewrites examples/aos (about a minute)
    python scripts/make_examples.py --photos   # also writes examples/sr and examples/denoise (not committed)

``examples/aos``: three simulated focal stacks at the course's 512 px scale, planes at 0, 0.4 and 0.8 m (the
shipped ``aos_person``'s), each with its GT beside it (``<stem>_gt.png``, picked up by ``scripts/aos_restore.py``):
a person the 0 m integral shows clearly under canopy, a person the canopy mostly hides, and a forest without a
person. They come from a seed no training, validation or test split uses, with the main job's crown range
(``options/train_aos.yml``: tree tops 295-318 K), and are drawn in order until each kind is found, so the same command
always writes the same files.

``--photos`` writes inputs for the image models from two sample photos that ship inside the installed packages (made
here, never committed: they are not the project's own) and that no zoo model trains or validates on: scikit-image's
``coins`` (Greek coins from Pompeii, Brooklyn Museum collection, no known copyright restrictions) and matplotlib's
``grace_hopper`` (US Navy photo, public domain), 256 px centre crops. ``examples/sr``: x2 LR made by MATLAB-style
bicubic (``msrresnet_x2``'s and ``srcnn_x2``'s kind), ``examples/sr_cv2``: by OpenCV ``INTER_CUBIC``
(``msrresnet_x2_cv2``'s), HR in their ``gt`` folders; ``examples/denoise``: Gaussian noise of sigma 25 clipped to 8
bits (seed 0), clean in ``examples/denoise/gt``. Then
``scripts/restore.py -n msrresnet_x2 -i examples/sr -o out --gt examples/sr/gt`` (and ``-n msrresnet_x2_cv2`` on
``examples/sr_cv2``, ``-n n2n_gaussian`` / ``-n adafm_denoise --coef 0.2`` on ``examples/denoise``) prints each
model beside its baseline.
"""

import argparse
import os
import os.path as osp
import sys
from dataclasses import asdict

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.aos.focal_stack import write_focal_stack, write_gt  # noqa: E402
from basicsr_ext.aos.geometry import CameraModel  # noqa: E402
from basicsr_ext.aos.inputs import integrate_stack  # noqa: E402
from basicsr_ext.aos.person_scores import person_scores  # noqa: E402
from basicsr_ext.aos.position import PersonPosition  # noqa: E402
from basicsr_ext.aos.simulator import simulate_sample  # noqa: E402

SEED, RUN = 2026, 9  # the data sets of the option files use seeds 0-3
HEIGHTS = [0.0, 0.4, 0.8]
TREE_TOP_K = (295, 318)
MAX_DRAWS = 200
PHOTOS = ('coins', 'grace_hopper')  # in no zoo model's training or validation data
# stem: (has a person, lowest and highest person contrast kept by the 0 m integral)
KINDS = {
    'person_visible': (True, 0.5, float('inf')),
    'person_hidden': (True, 0.15, 0.35),
    'no_person': (False, None, None),
}


def kind_of(has_person, contrast, wanted):
    """The first wanted kind this draw fits, or None."""
    for stem in wanted:
        person, low, high = KINDS[stem]
        if person != has_person:
            continue
        if not person or low <= contrast <= high:
            return stem
    return None


def make_aos(out, size=512):
    os.makedirs(out, exist_ok=True)
    camera = CameraModel(size=size)
    wanted = list(KINDS)
    for sim in range(MAX_DRAWS):
        params, views, gt = simulate_sample(SEED, RUN, sim, camera, tree_top_k=TREE_TOP_K)
        if not params.trees_per_ha:
            continue  # open ground is no example of de-occlusion
        stack = integrate_stack(views, HEIGHTS, camera)
        contrast = person_scores(stack[0], gt)['contrast'] if params.has_person else None
        stem = kind_of(params.has_person, contrast, wanted)
        if stem is None:
            continue
        position = PersonPosition.from_params(params.to_parameters(camera), camera)
        write_focal_stack(
            osp.join(out, f'{stem}.tiff'),
            stack,
            HEIGHTS,
            person=None if position is None else position.to_meta(),
            source=f'scripts/make_examples.py: simulator seed {SEED}, run {RUN}, sample {sim}',
            camera=asdict(camera),
            compression='zlib',
        )
        write_gt(osp.join(out, f'{stem}_gt.png'), gt)
        shown = '' if contrast is None else f', person contrast kept by the 0 m integral {contrast:.2f}'
        print(f'{stem}: sample {sim}{shown}', flush=True)
        wanted.remove(stem)
        if not wanted:
            return
    raise RuntimeError(f'no {", ".join(wanted)} among the first {MAX_DRAWS} draws of the simulator')


def make_photos(out, size=256):
    """``out/sr`` and ``out/denoise`` (see the module docstring) from the packages' sample photos."""
    import cv2

    from basicsr_ext.data.sample_photos_prepare import downscale
    from basicsr_ext.evaluation.zoo_check import load_photos, noisy

    photos = [p for p in load_photos(size) if p[0] in PHOTOS]
    for folder in ('sr/gt', 'sr_cv2/gt', 'denoise/gt'):
        os.makedirs(osp.join(out, folder), exist_ok=True)
    for i, (name, img, _colour) in enumerate(photos):
        for folder, kind in (('sr', 'matlab'), ('sr_cv2', 'cv2_cubic')):
            cv2.imwrite(osp.join(out, folder, f'{name}.png'), downscale(img, kind, 2))
            cv2.imwrite(osp.join(out, folder, 'gt', f'{name}.png'), img)
        cv2.imwrite(osp.join(out, 'denoise', f'{name}_sigma25.png'), noisy(img, 25, seed=i))
        cv2.imwrite(osp.join(out, 'denoise', 'gt', f'{name}_sigma25.png'), img)
        print(f'{name}: examples/sr/{name}.png, examples/sr_cv2/{name}.png, examples/denoise/{name}_sigma25.png')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='examples', help='folder for the examples (default: %(default)s)')
    parser.add_argument('--photos', action='store_true', help='also the SR and denoising inputs (not committed)')
    parser.add_argument('--photos-only', action='store_true', help='only the SR and denoising inputs')
    args = parser.parse_args(argv)
    if not args.photos_only:
        make_aos(osp.join(args.out, 'aos'))
    if args.photos or args.photos_only:
        make_photos(args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
