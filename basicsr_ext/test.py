"""Test a model from a BasicSR option file: ``python basicsr_ext/test.py -opt options/test_srcnn.yml``.

BasicSR's test pipeline (basicsr/test.py) with basicsr-ext's option resolution; results go to
``<path.root or cwd>/results/<name>/``.
"""

import sys
from os import path as osp

if __package__ in (None, ''):  # run as a script from a checkout that is not installed
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import basicsr_ext  # noqa: E402,F401  (first: applies compat before anything imports basicsr, then registers)


def test_pipeline(argv=None):
    import torch
    from basicsr.data import build_dataloader, build_dataset
    from basicsr.models import build_model
    from basicsr.utils import get_env_info, get_time_str, make_exp_dirs
    from basicsr.utils.options import dict2str

    from basicsr_ext.data.prepare import run_prepare
    from basicsr_ext.utils.dist import barrier
    from basicsr_ext.utils.logger import setup_logger
    from basicsr_ext.utils.options import check_paths
    from basicsr_ext.utils.run_setup import parse_options, save_resolved_options

    opt, args, resolved = parse_options(is_train=False, argv=argv)
    torch.backends.cudnn.benchmark = True
    setup_logger()  # console logging for data preparation; the log file is added below
    if opt.get('prepare_data') and opt['rank'] == 0:
        run_prepare(opt['prepare_data'], args.opt)
    barrier(opt)  # the other ranks read what rank 0 prepared
    check_paths(opt, args.opt)

    make_exp_dirs(opt)
    if opt['rank'] == 0:
        save_resolved_options(resolved, args.opt, opt['path']['results_root'])
    log_file = osp.join(opt['path']['log'], f'test_{opt["name"]}_{get_time_str()}.log')
    logger = setup_logger(log_file)
    logger.info(get_env_info())
    logger.info(dict2str(opt))

    test_loaders = []
    for _, dataset_opt in sorted(opt['datasets'].items()):
        test_set = build_dataset(dataset_opt)
        test_loader = build_dataloader(
            test_set, dataset_opt, num_gpu=opt['num_gpu'], dist=opt['dist'], sampler=None, seed=opt['manual_seed']
        )
        logger.info(f'Number of test images in {dataset_opt["name"]}: {len(test_set)}')
        test_loaders.append(test_loader)

    model = build_model(opt)
    for test_loader in test_loaders:
        logger.info(f'Testing {test_loader.dataset.opt["name"]}...')
        model.validation(
            test_loader, current_iter=opt['name'], tb_logger=None, save_img=opt.get('val', {}).get('save_img', True)
        )
    return model


def main(argv=None):
    from basicsr_ext.utils.dist import shutdown
    from basicsr_ext.utils.errors import UserError, one_line

    finished = False
    try:
        test_pipeline(argv)
        finished = True
    except UserError as err:
        print(f'basicsr-ext: error: {one_line(err)}', file=sys.stderr)
        sys.exit(2)
    finally:
        shutdown(finished)


if __name__ == '__main__':
    main()
