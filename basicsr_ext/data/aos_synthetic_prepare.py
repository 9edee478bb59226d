"""``prepare_data: [{type: aos_synthetic, ...}]``: a synthetic AOS dataset made on first use (simulate + convert)."""

import os
import time
from os import path as osp

from basicsr.utils import get_root_logger

from basicsr_ext.data.prepare import PREPARE_REGISTRY, build_atomically


@PREPARE_REGISTRY.register()
def aos_synthetic(
    root,
    num_samples=200,
    size=512,
    heights=(0.0, 0.5, 1.0, 1.5),
    seed=0,
    val=0.1,
    test=0.1,
    workers=None,
    keep_raw=True,
    tree_top_k=None,
):
    """Simulate ``num_samples`` raw samples and convert them into ``root`` (``aos_prepare.py``'s layout).

    ``root/{train,val,test}/{stacks,gt}``, ``root/report.json`` and ``root/montages/``; the raw samples are kept in
    ``root/raw`` unless ``keep_raw`` is false. Built in a temp folder and renamed into place when complete, so an
    interrupted run leaves nothing behind and the next run starts over. ``tree_top_k`` ([low, high] kelvin) widens
    the tree top temperatures beyond the course's 295-312 K (:func:`~basicsr_ext.aos.scene.sample_scene`).
    """
    from basicsr_ext.aos.convert import convert
    from basicsr_ext.aos.simulator import simulate

    workers = workers or min(2, os.cpu_count() or 1)
    scene = {} if tree_top_k is None else {'tree_top_k': _kelvin_range(tree_top_k)}

    def build(tmp):
        logger = get_root_logger()
        raw = osp.join(tmp, 'raw')
        start = time.time()
        logger.info(f'aos_synthetic: simulating {num_samples} samples of {size}x{size} px ({workers} workers)')
        simulate(raw, num_samples, seed=seed, size=size, workers=workers, progress=True, **scene)
        logger.info(
            f'aos_synthetic: simulated in {time.time() - start:.0f} s; integrating at heights {list(heights)} m'
        )
        start = time.time()
        recorded = osp.join(osp.abspath(root), 'raw')  # the final path, not the temp build folder's
        kwargs = dict(seed=seed, val=val, test=test, workers=1, progress=True, recorded_raw_folder=recorded)
        report = convert(raw, tmp, list(heights), **kwargs)
        logger.info(
            f'aos_synthetic: integrated in {time.time() - start:.0f} s: {report["counts"]}, '
            f'bad samples: {len(report["bad"])}'
        )
        if not keep_raw:
            import shutil

            logger.info('aos_synthetic: removing the raw views (keep_raw: false)')
            shutil.rmtree(raw)

    return build_atomically(root, build)


def _kelvin_range(value):
    from basicsr_ext.utils.errors import UserError

    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value)
    if not ok or not 0 < value[0] <= value[1]:
        raise UserError(f'tree_top_k: expected [low, high] in whole kelvin, low <= high, got {value!r}')
    return tuple(value)
