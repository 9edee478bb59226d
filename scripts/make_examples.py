"""Make the example inputs in ``examples/`` from the project's own simulator (no third-party data).

    python scripts/make_examples.py            # rewrites examples/aos (about a minute)

``examples/aos``: three simulated focal stacks at the course's 512 px scale, planes at 0, 0.4 and 0.8 m (the
shipped ``aos_person``'s), each with its GT beside it (``<stem>_gt.png``, picked up by ``scripts/aos_restore.py``):
a person the 0 m integral shows clearly under canopy, a person the canopy mostly hides, and a forest without a
person. They come from a seed no training, validation or test split uses, with the main job's crown range
(``options/train_aos.yml``: tree tops 295-318 K), and are drawn in order until each kind is found, so the same command
always writes the same files.
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='examples', help='folder for the examples (default: %(default)s)')
    args = parser.parse_args(argv)
    make_aos(osp.join(args.out, 'aos'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
