"""What trains and how it steps: frozen parameters, the DDP wrapper, the optimizer, the schedulers, the EMA copy.

A part of :class:`~basicsr_ext.models.ext_sr_model.ExtSRModel` (read that module's docstring for the options).
"""

import re

import torch
from basicsr.utils import get_root_logger
from torch.nn.parallel import DataParallel, DistributedDataParallel

from basicsr_ext.models.lr_scheduler import get_scheduler_class, is_plateau
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.option_lines import check_kwargs
from basicsr_ext.utils.option_models import option_error

PLATEAU_MONITOR_HINT = (
    'ReduceLROnPlateau needs the validation metric to watch (e.g. monitor: psnr with mode: max, or monitor: '
    'val_loss with mode: min)'
)


def check_scheduler(sched_opt):
    """``train.scheduler`` before anything runs: its type, and its arguments against the scheduler's signature (a
    validator of ExtSRModel's ``train`` options). Raises the pydantic error of the first problem."""
    if not isinstance(sched_opt, dict) or not sched_opt:
        return sched_opt
    try:
        sched_cls = get_scheduler_class(sched_opt.get('type'))
    except UserError as err:  # 'train.scheduler.type: ...'
        path, message = str(err).split(': ', 1)
        raise option_error(path, message) from None
    plateau = issubclass(sched_cls, torch.optim.lr_scheduler.ReduceLROnPlateau)
    skip = ('type', 'monitor') if plateau else ('type',)
    problems = check_kwargs(sched_cls, sched_opt, 'train.scheduler', skip, data_args=('optimizer',), lenient=True)
    if plateau and not sched_opt.get('monitor'):
        problems.append(('train.scheduler.monitor', PLATEAU_MONITOR_HINT))
    if problems:
        raise option_error(*problems[0])
    return sched_opt


class OptimizationSetup:
    """``train.trainable_params``, DDP on any device, ``train.optim_g`` by torch name, ``train.scheduler`` by name."""

    def model_to_device(self, net):
        """BaseModel's, with two changes: parameters are frozen before DDP wraps the net (DDP registers the ones that
        require gradients when it is built), and DDP gets ``device_ids`` only on a GPU (gloo on the CPU has none)."""
        if self.opt.get('is_train') and not hasattr(self, 'frozen_param_names'):
            self.frozen_param_names = self._freeze_untrainable(net)
        net = net.to(self.device)
        if self.opt['dist']:
            device_ids = [torch.cuda.current_device()] if self.device.type == 'cuda' else None
            net = DistributedDataParallel(
                net, device_ids=device_ids, find_unused_parameters=self.opt.get('find_unused_parameters', False)
            )
        elif self.opt['num_gpu'] > 1:
            net = DataParallel(net)
        return net

    def _freeze_untrainable(self, net):
        patterns = (self.opt.get('train') or {}).get('trainable_params')
        if patterns is None:
            return set()
        if isinstance(patterns, str):
            patterns = [patterns]
        try:
            compiled = [re.compile(str(p)) for p in patterns]
        except (TypeError, re.error) as err:
            raise UserError(
                f'train.trainable_params: expected a list of regular expressions, got {patterns!r} ({err})'
            ) from None
        params = dict(net.named_parameters())
        for pattern, regex in zip(patterns, compiled):
            if not any(regex.search(name) for name in params):
                shown = ', '.join(list(params)[:6])
                raise UserError(
                    f'train.trainable_params: {pattern!r} matches no parameter of {net.__class__.__name__} '
                    f'(names look like {shown}, ...)'
                )
        frozen = set()
        for name, param in params.items():
            train = any(regex.search(name) for regex in compiled)
            param.requires_grad_(train)
            if not train:
                frozen.add(name)
        n_train = sum(p.numel() for n, p in params.items() if n not in frozen)
        n_all = sum(p.numel() for p in params.values())
        get_root_logger().info(
            f'train.trainable_params {list(patterns)}: {n_train:,} of {n_all:,} parameters train '
            f'({len(params) - len(frozen)} of {len(params)} tensors); the other {n_all - n_train:,} are frozen'
        )
        return frozen

    def setup_optimizers(self):
        # SRModel's, with one line for the frozen parameters instead of a warning per tensor
        train_opt = self.opt['train']
        params = list(self.net_g.named_parameters())
        optim_params = [p for _, p in params if p.requires_grad]
        if len(optim_params) < len(params) and not self.frozen_param_names:
            get_root_logger().warning(f'{len(params) - len(optim_params)} parameter tensors do not require grad')
        optim_type = train_opt['optim_g'].pop('type')
        self.optimizer_g = self.get_optimizer(optim_type, optim_params, **train_opt['optim_g'])
        self.optimizers.append(self.optimizer_g)

    def get_optimizer(self, optim_type, params, lr, **kwargs):
        """Any ``torch.optim`` optimizer by name (BaseModel knows eight); the name and the arguments were checked with
        the options (``utils.option_check``)."""
        try:
            return getattr(torch.optim, optim_type)(params, lr, **kwargs)
        except (TypeError, ValueError) as err:  # values of the right type the optimizer refuses
            raise UserError(f'train.optim_g: {optim_type}: {err}') from None

    def setup_schedulers(self):
        """BasicSR's schedulers, ours and ``torch.optim.lr_scheduler``'s by name; ReduceLROnPlateau gets ``monitor``."""
        sched_opt = dict(self.opt['train'].get('scheduler') or {})
        self.plateau_monitor = None
        if not sched_opt:
            return
        name = sched_opt.pop('type', None)
        cls = get_scheduler_class(name)
        if 'total_iter' in sched_opt and sched_opt['total_iter'] is None:  # RampDownLR: ~ = the run's length
            sched_opt['total_iter'] = int(self.opt['train']['total_iter'])
        if issubclass(cls, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.plateau_monitor = sched_opt.pop('monitor')
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group.setdefault('initial_lr', group['lr'])  # BasicSR's warm-up reads it
            try:
                self.schedulers.append(cls(optimizer, **sched_opt))
            except TypeError as err:
                raise UserError(f'train.scheduler: {name}: {err}') from None

    def update_learning_rate(self, current_iter, warmup_iter=-1):
        # per-iteration schedulers only; ReduceLROnPlateau steps after validation
        all_schedulers = self.schedulers
        self.schedulers = [s for s in all_schedulers if not is_plateau(s)]
        try:
            super().update_learning_rate(current_iter, warmup_iter)
        finally:
            self.schedulers = all_schedulers

    def model_ema(self, decay=0.999):
        super().model_ema(decay)
        if self.frozen_param_names:  # frozen parameters stay bit-identical in the EMA copy too
            net = dict(self.get_bare_model(self.net_g).named_parameters())
            ema = dict(self.net_g_ema.named_parameters())
            for name in self.frozen_param_names:
                ema[name].data.copy_(net[name].data)
