"""A run set up from its checked options: what BasicSR's ``parse_options`` does once the file is read.

The distributed process group, the seed, the GPU count, each dataset's phase and scale, and the experiment or results
folders, as BasicSR's models and runners expect them; and the resolved options saved with the run.
"""

import os
import random
import sys
import time
from os import path as osp

from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.yaml_io import dump_yaml, load_yaml


def parse_options(is_train=True, argv=None):
    """What ``basicsr.utils.options.parse_options`` does, on the checked options of
    :func:`~basicsr_ext.utils.options.read_options`.

    Returns ``(opt, args, resolved)``: the runtime option dict BasicSR's models read, the parsed flags, and the
    resolved user-level options (written to the experiment folder so the run can be repeated).
    """
    import torch
    from basicsr.utils import set_random_seed
    from basicsr.utils.dist_util import get_dist_info

    from basicsr_ext.utils.dist import init_dist
    from basicsr_ext.utils.options import read_options

    opt, args, resolved = read_options(is_train, argv)
    opt.setdefault('num_gpu', 'auto')
    opt.setdefault('path', {})
    logger_opt = opt.setdefault('logger', {})
    logger_opt.setdefault('print_freq', 100)
    logger_opt.setdefault('save_checkpoint_freq', 5000)

    # distributed settings
    if args.launcher == 'none':
        opt['dist'] = False
    else:
        opt['dist'] = True
        dist_params = dict(opt.get('dist_params') or {})
        backend = dist_params.pop('backend', None) or ('nccl' if torch.cuda.is_available() else 'gloo')
        if args.launcher == 'slurm':
            init_dist('slurm', backend=backend, port=dist_params.get('port'))
        else:
            init_dist('pytorch', backend=backend)
    opt['rank'], opt['world_size'] = get_dist_info()

    seed = opt.get('manual_seed')
    if seed is None:
        seed = random.randint(1, 10000)
        opt['manual_seed'] = seed
    set_random_seed(seed + opt['rank'])

    opt['auto_resume'] = args.auto_resume
    opt['is_train'] = is_train
    if args.debug and not opt['name'].startswith('debug'):
        opt['name'] = 'debug_' + opt['name']
    if opt['num_gpu'] == 'auto':
        opt['num_gpu'] = torch.cuda.device_count()
    elif opt['num_gpu'] > torch.cuda.device_count():
        raise UserError(
            f'{args.opt}: num_gpu: {opt["num_gpu"]} requested but {torch.cuda.device_count()} CUDA '
            'devices are visible (use num_gpu: auto, or 0 for CPU)'
        )

    for phase, dataset in opt['datasets'].items():
        dataset['phase'] = phase.split('_')[0]  # val_1, val_2 -> val
        if 'scale' in opt:
            dataset['scale'] = opt['scale']
        for key in ('dataroot_gt', 'dataroot_lq'):
            if isinstance(dataset.get(key), str):
                dataset[key] = osp.expanduser(dataset[key])
    for key, val in opt['path'].items():
        if isinstance(val, str) and ('resume_state' in key or 'pretrain_network' in key):
            opt['path'][key] = osp.expanduser(val)

    # experiments go under path.root (default: the directory the user runs from), never inside site-packages
    root = osp.abspath(osp.expanduser(opt['path'].get('root') or os.getcwd()))
    opt['root_path'] = opt['path']['root'] = root
    if is_train:
        experiments_root = osp.join(root, 'experiments', opt['name'])
        opt['path']['experiments_root'] = experiments_root
        opt['path']['models'] = osp.join(experiments_root, 'models')
        opt['path']['training_states'] = osp.join(experiments_root, 'training_states')
        opt['path']['log'] = experiments_root
        opt['path']['visualization'] = osp.join(experiments_root, 'visualization')
        if 'debug' in opt['name']:
            if 'val' in opt:
                opt['val']['val_freq'] = 8
            opt['logger']['print_freq'] = 1
            opt['logger']['save_checkpoint_freq'] = 8
    else:
        results_root = osp.join(root, 'results', opt['name'])
        opt['path']['results_root'] = results_root
        opt['path']['log'] = results_root
        opt['path']['visualization'] = osp.join(results_root, 'visualization')
    return opt, args, resolved


def save_resolved_options(resolved, opt_file, folder):
    """Write the fully resolved option file (``_base_`` merged, overrides applied) into ``folder``.

    When a resumed run's options differ from the copy already there (e.g. a larger ``train.total_iter``), the old
    copy is kept as ``<name>_until_<time>.yml`` next to the new one, so every stretch of the run stays reproducible.
    """
    header = (
        f'# Resolved from {opt_file} on {time.asctime()}\n# CMD: {" ".join(sys.argv)}\n'
        '# _base_ files merged and --cfg-options applied: this file alone reproduces the run.\n\n'
    )
    path = osp.join(folder, osp.basename(opt_file))
    if osp.isfile(path):
        try:
            previous = load_yaml(path)
        except UserError:
            previous = None
        if previous != resolved:
            stem, ext = osp.splitext(path)
            os.replace(path, f'{stem}_until_{time.strftime("%Y%m%d_%H%M%S")}{ext}')
    dump_yaml(resolved, path, header=header)
