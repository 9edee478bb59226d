"""The base model of basicsr-ext: BasicSR's SRModel plus the training features every experiment here shares.

All features are driven by options (``options/train_srcnn.yml`` shows each key with its default):

- ``train.accumulate_grad_batches`` (1): the optimizer steps every k iterations on the summed gradients of k
  batches (losses are divided by k, so k batches of b equal one batch of k*b). Iterations still count batches;
  DDP skips the gradient all-reduce on the k-1 intermediate batches. Keep ``save_checkpoint_freq`` a multiple of k.
- ``train.use_amp`` (false), ``train.amp_dtype`` (fp16 on GPU, bf16 on CPU): autocast for the forward and losses;
  fp16 uses a GradScaler (its state is in the training state).
- ``train.grad_clip_norm`` (none): clip the global gradient norm before each step; the norm is logged.
- ``train.optim_g.type``: any ``torch.optim`` optimizer by name (Adam, AdamW, SGD, ...).
- ``train.scheduler.type``: BasicSR's schedulers or any ``torch.optim.lr_scheduler`` by name, including
  ``ReduceLROnPlateau`` with ``monitor: <metric>`` (stepped after each validation of the first val dataset), and
  ours (``RampDownLR``; its ``total_iter: ~`` means ``train.total_iter``).
- validation loss: the pixel loss on the validation set, logged as ``val_loss`` next to the metrics.
- ``val.save_best: {metric: psnr, mode: max}``: keep ``models/net_g_best.pth`` for the best value so far.
- ``train.ema_decay``: BasicSR's EMA (net_g_ema, saved as params_ema), updated after each optimizer step.
- ``train.trainable_params`` (all): regular expressions (``re.search`` on parameter names); only matching parameters
  train, the rest are frozen before the network is wrapped for DDP and stay bit-identical (also in the EMA copy).
  The log states how many parameters train. Stage 2 of modulation training uses ``[adafm]`` or ``[ftn]``.
- ``train.max_nonfinite_steps`` (10): a step whose loss or gradients are NaN/Inf is skipped; after that many in a
  row training stops with a message saying where and what to try.
- checkpoints and training states are written atomically; training states carry the RNG states of every rank, the
  GradScaler, the best-metric records and the guard counters, so ``--auto_resume`` continues exactly.
"""

import random
import re
from collections import OrderedDict
from contextlib import nullcontext
from os import path as osp

import numpy as np
import torch
import torch.distributed as dist
from basicsr.metrics import calculate_metric
from basicsr.models.sr_model import SRModel
from basicsr.utils import get_root_logger, imwrite, tensor2img
from basicsr.utils.dist_util import master_only
from basicsr.utils.registry import MODEL_REGISTRY
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from basicsr_ext.models.lr_scheduler import get_scheduler_class, is_plateau
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import atomic_torch_save

AMP_DTYPES = {'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16, 'fp16': torch.float16, 'float16': torch.float16}


class TrainingDiverged(UserError):
    """Too many consecutive non-finite steps."""


def _rng_state():
    np_state = np.random.get_state()
    state = {
        'python': random.getstate(),
        'numpy': {
            'keys': torch.from_numpy(np_state[1].astype(np.int64)),
            'pos': int(np_state[2]),
            'has_gauss': int(np_state[3]),
            'cached_gaussian': float(np_state[4]),
        },
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state):
    random.setstate(state['python'])
    np_state = state['numpy']
    np.random.set_state(
        (
            'MT19937',
            np_state['keys'].numpy().astype(np.uint32),
            np_state['pos'],
            np_state['has_gauss'],
            np_state['cached_gaussian'],
        )
    )
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available() and len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])


def _positive(value, key, cast=int, allow_none=False):
    if value is None and allow_none:
        return None
    try:
        value = cast(value)
    except (TypeError, ValueError):
        value = None
    if value is None or value <= 0:
        raise UserError(f'{key}: expected a positive {cast.__name__}, got {value!r}')
    return value


@MODEL_REGISTRY.register()
class ExtSRModel(SRModel):
    """SRModel with the shared training features of basicsr-ext (see the module docstring for the options)."""

    # ------------------------------------------------------------------------------------------- setup
    def model_to_device(self, net):
        # freeze before DDP wraps the net: DDP registers the parameters that require gradients when it is built
        if self.opt.get('is_train') and not hasattr(self, 'frozen_param_names'):
            self.frozen_param_names = self._freeze_untrainable(net)
        return super().model_to_device(net)

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

    def model_ema(self, decay=0.999):
        super().model_ema(decay)
        if self.frozen_param_names:  # frozen parameters stay bit-identical in the EMA copy too
            net = dict(self.get_bare_model(self.net_g).named_parameters())
            ema = dict(self.net_g_ema.named_parameters())
            for name in self.frozen_param_names:
                ema[name].data.copy_(net[name].data)

    def init_training_settings(self):
        train_opt = self.opt['train']
        self.accumulate_grad_batches = _positive(
            train_opt.get('accumulate_grad_batches', 1), 'train.accumulate_grad_batches'
        )
        self.grad_clip_norm = _positive(train_opt.get('grad_clip_norm'), 'train.grad_clip_norm', float, True)
        self.use_amp = bool(train_opt.get('use_amp', False))
        amp_dtype = train_opt.get('amp_dtype') or ('fp16' if self.device.type == 'cuda' else 'bf16')
        if amp_dtype not in AMP_DTYPES:
            raise UserError(f'train.amp_dtype: expected one of {", ".join(AMP_DTYPES)}, got {amp_dtype!r}')
        self.amp_dtype = AMP_DTYPES[amp_dtype]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.max_nonfinite_steps = _positive(train_opt.get('max_nonfinite_steps', 10), 'train.max_nonfinite_steps')
        self.nonfinite_steps = 0  # consecutive skipped steps
        self.optimizer_steps = 0
        self._window_nonfinite = False  # a non-finite loss since the last optimizer step
        save_best = (self.opt.get('val') or {}).get('save_best')
        self.best_checkpoint = None
        if save_best:
            if 'metric' not in save_best:
                raise UserError('val.save_best: expected {metric: <name>, mode: max|min}')
            mode = save_best.get('mode', 'min' if save_best['metric'] == 'val_loss' else 'max')
            if mode not in ('max', 'min'):
                raise UserError(f"val.save_best.mode: expected 'max' or 'min', got {mode!r}")
            self.best_checkpoint = {'metric': save_best['metric'], 'mode': mode, 'value': None, 'iter': -1}
        super().init_training_settings()
        logger = get_root_logger()
        logger.info(
            f'Training features: accumulate_grad_batches={self.accumulate_grad_batches}, '
            f'use_amp={self.use_amp} ({amp_dtype if self.use_amp else "-"}), '
            f'grad_clip_norm={self.grad_clip_norm}, max_nonfinite_steps={self.max_nonfinite_steps}'
        )

    def get_optimizer(self, optim_type, params, lr, **kwargs):
        cls = getattr(torch.optim, str(optim_type), None)
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
            known = sorted(
                n
                for n in dir(torch.optim)
                if isinstance(getattr(torch.optim, n), type)
                and issubclass(getattr(torch.optim, n), torch.optim.Optimizer)
                and n != 'Optimizer'
            )
            raise UserError(f'train.optim_g.type: unknown optimizer {optim_type!r}; torch.optim has {", ".join(known)}')
        try:
            return cls(params, lr, **kwargs)
        except TypeError as err:
            raise UserError(f'train.optim_g: {optim_type}: {err}') from None

    def setup_schedulers(self):
        sched_opt = dict(self.opt['train'].get('scheduler') or {})
        self.plateau_monitor = None
        if not sched_opt:
            return
        name = sched_opt.pop('type', None)
        cls = get_scheduler_class(name)
        if 'total_iter' in sched_opt and sched_opt['total_iter'] is None:  # RampDownLR: ~ = the run's length
            sched_opt['total_iter'] = int(self.opt['train']['total_iter'])
        if issubclass(cls, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.plateau_monitor = sched_opt.pop('monitor', None)
            if not self.plateau_monitor:
                raise UserError(
                    'train.scheduler.monitor: ReduceLROnPlateau needs the validation metric to watch '
                    '(e.g. monitor: psnr with mode: max, or monitor: val_loss with mode: min)'
                )
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

    # ------------------------------------------------------------------------------------------- training step
    def compute_losses(self):
        """Forward and losses for the current batch. Returns ``(l_total, loss_dict)``; subclasses override this."""
        self.output = self.net_g(self.lq)
        l_total = 0
        loss_dict = OrderedDict()
        if self.cri_pix:
            l_pix = self.cri_pix(self.output, self.gt)
            l_total += l_pix
            loss_dict['l_pix'] = l_pix
        if self.cri_perceptual:
            l_percep, l_style = self.cri_perceptual(self.output, self.gt)
            if l_percep is not None:
                l_total += l_percep
                loss_dict['l_percep'] = l_percep
            if l_style is not None:
                l_total += l_style
                loss_dict['l_style'] = l_style
        return l_total, loss_dict

    def optimize_parameters(self, current_iter):
        k = self.accumulate_grad_batches
        step_now = current_iter % k == 0
        skip_sync = not step_now and isinstance(self.net_g, DistributedDataParallel)
        with self.net_g.no_sync() if skip_sync else nullcontext():
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
                l_total, loss_dict = self.compute_losses()
            if not torch.isfinite(l_total.detach()).all():
                self._window_nonfinite = True
            self.scaler.scale(l_total / k).backward()
        if step_now:
            grad_norm = self._optimizer_step(current_iter, loss_dict)
            if grad_norm is not None:
                loss_dict['grad_norm'] = grad_norm
        self.log_dict = self.reduce_loss_dict(OrderedDict((n, v.detach().float()) for n, v in loss_dict.items()))

    def _optimizer_step(self, current_iter, loss_dict):
        """Unscale, measure/clip the gradient norm, guard against NaN/Inf, step, update EMA."""
        self.scaler.unscale_(self.optimizer_g)
        params = [p for group in self.optimizer_g.param_groups for p in group['params'] if p.grad is not None]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, self.grad_clip_norm or float('inf')) if params else None
        bad = self._window_nonfinite
        if grad_norm is not None and not self.scaler.is_enabled():  # with a scaler, Inf grads are its business
            bad = bad or not bool(torch.isfinite(grad_norm))
        if self.opt['dist']:  # every rank must take the same decision
            flag = torch.tensor([float(bad)], device=self.device)
            dist.all_reduce(flag)
            bad = flag.item() > 0
        self._window_nonfinite = False
        if bad:
            self.optimizer_g.zero_grad(set_to_none=True)
            if self.scaler.is_enabled():
                self.scaler.update()
            self.nonfinite_steps += 1
            losses = ', '.join(f'{n}={float(v.detach()):.4g}' for n, v in loss_dict.items())
            get_root_logger().warning(
                f'iter {current_iter}: non-finite loss or gradient ({losses}); step skipped '
                f'({self.nonfinite_steps}/{self.max_nonfinite_steps} in a row)'
            )
            if self.nonfinite_steps >= self.max_nonfinite_steps:
                raise TrainingDiverged(
                    f'training diverged: {self.nonfinite_steps} consecutive steps with non-finite loss or gradients '
                    f'up to iter {current_iter} ({losses}). Lower train.optim_g.lr, set train.grad_clip_norm, or '
                    'check the data; train.max_nonfinite_steps sets this limit'
                )
            return None
        self.nonfinite_steps = 0
        self.scaler.step(self.optimizer_g)
        self.scaler.update()
        self.optimizer_g.zero_grad(set_to_none=True)
        self.optimizer_steps += 1
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)
        return grad_norm

    # ------------------------------------------------------------------------------------------- inference
    def test(self):
        # the bare net: a DDP forward on rank 0 alone must not try to talk to the other ranks
        net = self.net_g_ema if hasattr(self, 'net_g_ema') else self.get_bare_model(self.net_g)
        was_training = net.training
        net.eval()
        with torch.no_grad():
            self.output = net(self.lq)
        net.train(was_training)

    # ------------------------------------------------------------------------------------------- validation
    def has_validation_loss(self):
        return self.opt['is_train'] and getattr(self, 'cri_pix', None) is not None

    def validation_loss(self):
        """The training loss of the current validation output (``self.output`` vs ``self.gt``); subclasses with other
        losses override this and :meth:`has_validation_loss`."""
        return float(self.cri_pix(self.output, self.gt))

    def _val_result_names(self):
        names = list((self.opt['val'].get('metrics') or {}).keys())
        if self.has_validation_loss():
            names.append('val_loss')
        return names

    def _first_val_name(self):
        for phase, dataset in self.opt['datasets'].items():
            if phase.startswith('val'):
                return dataset.get('name')
        return None

    def _initialize_best_metric_results(self, dataset_name):
        if hasattr(self, 'best_metric_results') and dataset_name in self.best_metric_results:
            return
        if not hasattr(self, 'best_metric_results'):
            self.best_metric_results = {}
        record = {}
        metrics = self.opt['val'].get('metrics') or {}
        for name in self._val_result_names():
            better = 'lower' if name == 'val_loss' else metrics[name].get('better', 'higher')
            record[name] = dict(better=better, val=float('-inf') if better == 'higher' else float('inf'), iter=-1)
        self.best_metric_results[dataset_name] = record

    def validate_loop(self, dataloader, current_iter, save_img):
        """Run the model over a validation loader; returns the mean of every metric (and ``val_loss``)."""
        dataset_name = dataloader.dataset.opt['name']
        metrics_opt = self.opt['val'].get('metrics') or {}
        names = self._val_result_names()
        sums = dict.fromkeys(names, 0.0)
        count = 0
        pbar = tqdm(total=len(dataloader), unit='image') if self.opt['val'].get('pbar', False) else None
        for val_data in dataloader:
            img_name = osp.splitext(osp.basename(val_data['lq_path'][0]))[0]
            self.feed_data(val_data)
            self.test()
            if 'val_loss' in sums and hasattr(self, 'gt'):
                with torch.no_grad():
                    sums['val_loss'] += self.validation_loss()
            visuals = self.get_current_visuals()
            metric_data = {'img': tensor2img([visuals['result']]), **self.extra_metric_data()}
            if 'gt' in visuals:
                metric_data['img2'] = tensor2img([visuals['gt']])
                del self.gt
            del self.lq
            del self.output
            if save_img:
                self.save_val_image(metric_data['img'], img_name, dataset_name, current_iter)
            for name, opt_ in metrics_opt.items():
                sums[name] += float(calculate_metric(metric_data, opt_))
            count += 1
            if pbar is not None:
                pbar.update(1)
                pbar.set_description(f'Test {img_name}')
        if pbar is not None:
            pbar.close()
        return {name: value / max(count, 1) for name, value in sums.items()}

    def extra_metric_data(self):
        """Inputs for metrics besides the two images (BasicSR's metrics ignore keys they do not take)."""
        return {}

    def save_val_image(self, img, img_name, dataset_name, current_iter):
        if self.opt['is_train']:
            path = osp.join(self.opt['path']['visualization'], img_name, f'{img_name}_{current_iter}.png')
        else:
            suffix = self.opt['val'].get('suffix') or self.opt['name']
            path = osp.join(self.opt['path']['visualization'], dataset_name, f'{img_name}_{suffix}.png')
        imwrite(img, path)

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        results = self.validate_loop(dataloader, current_iter, save_img)
        self.after_validation(dataloader.dataset.opt['name'], results, current_iter, tb_logger)

    def dist_validation(self, dataloader, current_iter, tb_logger, save_img):
        # rank 0 validates (as BasicSR does); results are broadcast so every rank steps its schedulers alike
        names = self._val_result_names()
        values = torch.full((len(names),), float('nan'), dtype=torch.float64, device=self.device)
        if self.opt['rank'] == 0:
            results = self.validate_loop(dataloader, current_iter, save_img)
            values = torch.tensor([results[n] for n in names], dtype=torch.float64, device=self.device)
        dist.broadcast(values, src=0)
        self.after_validation(
            dataloader.dataset.opt['name'], dict(zip(names, values.tolist())), current_iter, tb_logger
        )

    def after_validation(self, dataset_name, results, current_iter, tb_logger):
        """Record best values, log, step ReduceLROnPlateau and keep the best checkpoint."""
        self._initialize_best_metric_results(dataset_name)
        for name, value in results.items():
            self._update_best_metric_result(dataset_name, name, value, current_iter)
        self.metric_results = results
        self._log_validation_metric_values(current_iter, dataset_name, tb_logger)
        if not self.opt['is_train'] or dataset_name != self._first_val_name():  # a training run's first val set
            return
        if self.plateau_monitor is not None:
            if self.plateau_monitor not in results:
                raise UserError(
                    f'train.scheduler.monitor: {self.plateau_monitor!r} is not a validation result; '
                    f'available: {", ".join(results)}'
                )
            for scheduler in self.schedulers:
                if is_plateau(scheduler):
                    scheduler.step(results[self.plateau_monitor])
        best = self.best_checkpoint
        if best is not None:
            if best['metric'] not in results:
                raise UserError(
                    f'val.save_best.metric: {best["metric"]!r} is not a validation result; '
                    f'available: {", ".join(results)}'
                )
            value = results[best['metric']]
            improved = best['value'] is None or (
                value > best['value'] if best['mode'] == 'max' else value < best['value']
            )
            if improved and np.isfinite(value):
                best.update(value=value, iter=current_iter)
                self.save_best_network()
                get_root_logger().info(f'Saved best checkpoint: {best["metric"]} = {value:.4f} @ {current_iter} iter')

    def _log_validation_metric_values(self, current_iter, dataset_name, tb_logger):
        # SRModel's layout, plus the iteration on the header line so curves can be read back from the log
        log_str = f'Validation {dataset_name} @ {current_iter} iter\n'
        for metric, value in self.metric_results.items():
            best = self.best_metric_results[dataset_name][metric]
            log_str += f'\t # {metric}: {value:.4f}\tBest: {best["val"]:.4f} @ {best["iter"]} iter\n'
        get_root_logger().info(log_str)
        if tb_logger:
            for metric, value in self.metric_results.items():
                tb_logger.add_scalar(f'metrics/{dataset_name}/{metric}', value, current_iter)

    @master_only
    def save_best_network(self):
        if hasattr(self, 'net_g_ema'):
            self.save_network([self.net_g, self.net_g_ema], 'net_g', 'best', param_key=['params', 'params_ema'])
        else:
            self.save_network(self.net_g, 'net_g', 'best')

    # ------------------------------------------------------------------------------------------- checkpoints
    def save(self, epoch, current_iter):
        # every rank's RNG state goes into the training state that rank 0 writes
        rng = _rng_state()
        if self.opt['dist']:
            gathered = [None] * self.opt['world_size']
            dist.all_gather_object(gathered, rng)
            rng = gathered
        else:
            rng = [rng]
        self._rng_to_save = rng
        super().save(epoch, current_iter)

    @master_only
    def save_network(self, net, net_label, current_iter, param_key='params'):
        if current_iter == -1:
            current_iter = 'latest'
        nets = net if isinstance(net, list) else [net]
        param_keys = param_key if isinstance(param_key, list) else [param_key]
        save_dict = {}
        for net_, param_key_ in zip(nets, param_keys):
            state_dict = self.get_bare_model(net_).state_dict()
            save_dict[param_key_] = OrderedDict(
                (key[7:] if key.startswith('module.') else key, param.cpu()) for key, param in state_dict.items()
            )
        atomic_torch_save(save_dict, osp.join(self.opt['path']['models'], f'{net_label}_{current_iter}.pth'))

    @master_only
    def save_training_state(self, epoch, current_iter):
        if current_iter == -1:
            return
        state = {
            'epoch': epoch,
            'iter': current_iter,
            'optimizers': [o.state_dict() for o in self.optimizers],
            'schedulers': [s.state_dict() for s in self.schedulers],
            'scaler': self.scaler.state_dict(),
            'rng': getattr(self, '_rng_to_save', [_rng_state()]),
            'best_metric_results': getattr(self, 'best_metric_results', {}),
            'best_checkpoint': self.best_checkpoint,
            'nonfinite_steps': self.nonfinite_steps,
            'optimizer_steps': self.optimizer_steps,
        }
        atomic_torch_save(state, osp.join(self.opt['path']['training_states'], f'{current_iter}.state'))

    def resume_training(self, resume_state):
        super().resume_training(resume_state)
        if 'scaler' in resume_state:
            self.scaler.load_state_dict(resume_state['scaler'])
        if resume_state.get('best_metric_results'):
            self.best_metric_results = resume_state['best_metric_results']
        if resume_state.get('best_checkpoint') and self.best_checkpoint is not None:
            self.best_checkpoint.update(
                value=resume_state['best_checkpoint']['value'], iter=resume_state['best_checkpoint']['iter']
            )
        self.nonfinite_steps = resume_state.get('nonfinite_steps', 0)
        self.optimizer_steps = resume_state.get('optimizer_steps', 0)
        rng = resume_state.get('rng')
        if rng:
            rank = self.opt.get('rank', 0)
            if len(rng) != self.opt.get('world_size', 1):
                get_root_logger().warning(
                    f'Training state has RNG states of {len(rng)} ranks, this run has '
                    f'{self.opt.get("world_size", 1)}: random streams will differ.'
                )
            _set_rng_state(rng[rank % len(rng)])
