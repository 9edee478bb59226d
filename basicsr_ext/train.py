"""Train a model from a BasicSR option file: ``python basicsr_ext/train.py -opt options/train_srcnn.yml``.

Multi-GPU: ``torchrun --nproc_per_node=N basicsr_ext/train.py -opt ... --launcher pytorch``.

This is BasicSR's training loop (``basicsr/train.py``, ``train_pipeline``), copied and changed, because the
changes sit inside the loop where no hook reaches. BasicSR's own functions are still called for the parts that need
no change (``create_train_val_dataloader``, ``init_tb_loggers``, ``build_model``, the prefetchers, ``MessageLogger``).
The changes, each marked where it is made:

- options come from ``utils.run_setup.parse_options`` (``_base_``, ``--cfg-options``, registry and consistency checks)
  and ``prepare_data`` entries build missing data on rank 0 first;
- resume is ``utils.resume.load_resume_state`` (any device, weights-only, the run's own experiment folder) and
  continues after the batches the saved epoch already trained on (BasicSR restarts the epoch from its first batch);
- the train loader's iterators are seeded from their own generator, so a resumed run draws the same global random
  stream as an uninterrupted one;
- epochs run until ``total_iter`` is reached (BasicSR's epoch count rounds iterations per epoch up while the loader
  drops the last partial batch, so with small datasets its loop ends early);
- user mistakes (no train set, no full batch) are one-line ``UserError`` s (exit 2);
- after distributed training, ``utils.dist.check_replicas_in_sync`` checks that every rank holds the same weights;
- the eta counts the iterations left (BasicSR's is one short: ``-1 day, 23:59:59`` on the last iteration), and the
  final validation is skipped when the loop has just validated the last iteration.
"""

import datetime
import sys
import time
from os import path as osp

if __package__ in (None, ''):  # run as a script from a checkout that is not installed
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import basicsr_ext  # noqa: E402,F401  (first: applies compat before anything imports basicsr, then registers)


def _skip_first_batches(train_loader, num_batches):
    """Make the next pass over ``train_loader`` start after its first ``num_batches`` batches, without loading them
    (loading would draw augmentation randomness the resumed run must not consume)."""
    import itertools

    from torch.utils.data import Sampler

    class SkipOnce(Sampler):
        def __init__(self, sampler, skip):
            self.sampler, self.skip = sampler, skip

        def __iter__(self):
            skip, self.skip = self.skip, 0
            return itertools.islice(iter(self.sampler), skip, None)

        def __len__(self):
            return len(self.sampler)

    batch_sampler = train_loader.batch_sampler
    batch_sampler.sampler = SkipOnce(batch_sampler.sampler, num_batches * batch_sampler.batch_size)


def train_pipeline(argv=None):
    import basicsr.train as bs_train
    import torch
    from basicsr.utils import get_env_info, get_time_str, make_exp_dirs, mkdir_and_rename
    from basicsr.utils.options import dict2str

    from basicsr_ext.data.prepare import run_prepare
    from basicsr_ext.utils.dist import barrier
    from basicsr_ext.utils.file_io import remove_stale_temp_files
    from basicsr_ext.utils.logger import setup_logger
    from basicsr_ext.utils.options import check_paths
    from basicsr_ext.utils.resume import load_resume_state
    from basicsr_ext.utils.run_setup import parse_options, save_resolved_options

    opt, args, resolved = parse_options(is_train=True, argv=argv)
    torch.backends.cudnn.benchmark = True
    setup_logger()  # console logging for data preparation; the log file is added below

    # data an option file asks for is generated once, by rank 0, before anything reads it
    if opt.get('prepare_data') and opt['rank'] == 0:
        run_prepare(opt['prepare_data'], args.opt)
    barrier(opt)
    check_paths(opt, args.opt)

    resume_state = load_resume_state(opt)
    if resume_state is None:
        make_exp_dirs(opt)
        if opt['logger'].get('use_tb_logger') and 'debug' not in opt['name'] and opt['rank'] == 0:
            mkdir_and_rename(osp.join(opt['root_path'], 'tb_logger', opt['name']))
    elif opt['rank'] == 0:  # temp files of a save the previous run was killed in
        for folder in (opt['path']['models'], opt['path']['training_states']):
            remove_stale_temp_files(folder)
    if opt['rank'] == 0:
        save_resolved_options(resolved, args.opt, opt['path']['experiments_root'])
    barrier(opt)

    log_file = osp.join(opt['path']['log'], f'train_{opt["name"]}_{get_time_str()}.log')
    logger = setup_logger(log_file)
    logger.info(get_env_info())
    logger.info(dict2str(opt))
    tb_logger = bs_train.init_tb_loggers(opt)
    try:  # the TensorBoard writer's thread is closed also when training fails
        return _train(opt, args, logger, tb_logger, resume_state)
    finally:
        if tb_logger:
            tb_logger.close()


def _train(opt, args, logger, tb_logger, resume_state):
    """The training loop of :func:`train_pipeline`, from the data loaders to the last checkpoint."""
    import basicsr.train as bs_train
    import torch
    from basicsr.data.prefetch_dataloader import CPUPrefetcher, CUDAPrefetcher
    from basicsr.models import build_model
    from basicsr.utils import AvgTimer, MessageLogger

    from basicsr_ext.utils.dist import check_replicas_in_sync
    from basicsr_ext.utils.errors import UserError

    try:
        train_loader, train_sampler, val_loaders, _, total_iters = bs_train.create_train_val_dataloader(opt, logger)
    except ZeroDivisionError:  # BasicSR divides total_iter by the iterations per epoch: 0 for an empty train set
        train = opt['datasets'].get('train') or {}
        roots = ', '.join(str(v) for k, v in train.items() if str(k).startswith('dataroot') and v) or 'its dataroot'
        raise UserError(f'{args.opt}: datasets.train: the train set is empty (no samples in {roots})') from None
    if train_loader is None:
        raise UserError(f'{args.opt}: datasets: a train dataset (key datasets.train) is required for training')
    # iterators draw their base seed from the loader's generator instead of torch's global RNG: a resumed run makes
    # them at other points than an uninterrupted one and must not shift the global stream the training state restored
    train_loader.generator = torch.Generator().manual_seed(opt['manual_seed'] + opt['rank'])

    model = build_model(opt)
    if resume_state:
        model.resume_training(resume_state)
        logger.info(f'Resuming training from epoch: {resume_state["epoch"]}, iter: {resume_state["iter"]}.')
        start_epoch = resume_state['epoch']
        current_iter = resume_state['iter']
        # BasicSR restarts the saved epoch from its first batch and trains again on the batches seen before the save;
        # continue after them instead (with the next epoch when the state was saved at the end of one)
        done = current_iter - start_epoch * len(train_loader)
        if done == len(train_loader):
            start_epoch += 1
        elif 0 < done < len(train_loader):
            _skip_first_batches(train_loader, done)
        elif done != 0:
            logger.warning(
                f'Iter {current_iter} does not lie in epoch {start_epoch} with {len(train_loader)} '
                'iters per epoch (batch size or data changed?): the epoch restarts from its first batch.'
            )
    else:
        start_epoch = 0
        current_iter = 0

    msg_logger = MessageLogger(opt, current_iter, tb_logger)
    # BasicSR's eta counts total_iter - iter - 1 iterations left (-1 s on the last one): count total_iter - iter
    msg_logger.max_iters += 1
    if opt['datasets']['train'].get('prefetch_mode') == 'cuda':  # ~, cpu or cuda; pin_memory (checked with options)
        prefetcher = CUDAPrefetcher(train_loader, opt)
    else:
        prefetcher = CPUPrefetcher(train_loader)

    val_opt = opt.get('val')
    logger.info(f'Start training from epoch: {start_epoch}, iter: {current_iter}')
    data_timer, iter_timer = AvgTimer(), AvgTimer()
    start_time = time.time()
    # epochs run until total_iter is reached: BasicSR's epoch count rounds iters per epoch up while the loader drops
    # the last partial batch, so with small datasets its loop ends early
    epoch = start_epoch
    while current_iter < total_iters:
        train_sampler.set_epoch(epoch)
        prefetcher.reset()
        train_data = prefetcher.next()
        if train_data is None:
            raise UserError(
                f'{args.opt}: datasets.train: {len(train_loader.dataset)} samples give no full batch of '
                f'batch_size_per_gpu={opt["datasets"]["train"]["batch_size_per_gpu"]} per rank '
                f'(world size {opt["world_size"]}); lower the batch size or raise dataset_enlarge_ratio'
            )
        while train_data is not None and current_iter < total_iters:
            data_timer.record()
            current_iter += 1
            model.update_learning_rate(current_iter, warmup_iter=opt['train'].get('warmup_iter', -1))
            model.feed_data(train_data)
            model.optimize_parameters(current_iter)
            iter_timer.record()
            if current_iter == 1:
                msg_logger.reset_start_time()
            if current_iter % opt['logger']['print_freq'] == 0:
                log_vars = {
                    'epoch': epoch,
                    'iter': current_iter,
                    'lrs': model.get_current_learning_rate(),
                    'time': iter_timer.get_avg_time(),
                    'data_time': data_timer.get_avg_time(),
                }
                log_vars.update(model.get_current_log())
                msg_logger(log_vars)
            if current_iter % opt['logger']['save_checkpoint_freq'] == 0:
                logger.info('Saving models and training states.')
                model.save(epoch, current_iter)
            if val_opt is not None and current_iter % val_opt['val_freq'] == 0:
                for val_loader in val_loaders:
                    model.validation(val_loader, current_iter, tb_logger, val_opt.get('save_img', False))
            data_timer.start()
            iter_timer.start()
            train_data = prefetcher.next()
        epoch += 1

    consumed_time = str(datetime.timedelta(seconds=int(time.time() - start_time)))
    logger.info(f'End of training. Time consumed: {consumed_time}')
    logger.info('Save the latest model.')
    model.save(epoch=-1, current_iter=-1)  # -1 stands for the latest
    if val_opt is not None and current_iter % val_opt['val_freq'] != 0:  # else the loop just validated this iter
        for val_loader in val_loaders:
            model.validation(val_loader, current_iter, tb_logger, val_opt.get('save_img', False))
    if opt['dist']:
        check_replicas_in_sync(model, logger)
    return model


def main(argv=None):
    from basicsr_ext.utils.dist import shutdown
    from basicsr_ext.utils.errors import UserError, one_line

    finished = False
    try:
        train_pipeline(argv)
        finished = True
    except UserError as err:
        print(f'basicsr-ext: error: {one_line(err)}', file=sys.stderr)
        sys.exit(2)
    finally:
        shutdown(finished)


if __name__ == '__main__':
    main()
