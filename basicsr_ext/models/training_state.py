"""Checkpoints and training states: atomic writes, weights-only loads, every rank's RNG state, exact resume.

A part of :class:`~basicsr_ext.models.ext_sr_model.ExtSRModel`. A training state holds the optimizers, schedulers,
GradScaler, best-metric records, guard counters and the RNG states of every rank, so ``--auto_resume`` continues
exactly; files are written to a temp name and renamed, so a kill leaves the previous complete file.
"""

import random
from collections import OrderedDict
from os import path as osp

import numpy as np
import torch
import torch.distributed as dist
from basicsr.utils import get_root_logger
from basicsr.utils.dist_util import master_only

from basicsr_ext.models.lr_scheduler import extend_schedulers
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import atomic_torch_save, load_network_params


def rng_state():
    """Python, NumPy, torch (and CUDA) RNG states as tensors and numbers (loadable with ``weights_only``)."""
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


def set_rng_state(state):
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


class TrainingState:
    """``save``/``save_network``/``save_training_state``/``resume_training``/``load_network`` of basicsr-ext models."""

    def load_network(self, net, load_path, strict=True, param_key='params'):
        """BaseModel's, loading with ``weights_only=True`` and failing with one line that names the file and key."""
        logger = get_root_logger()
        net = self.get_bare_model(net)
        load_net, param_key = load_network_params(load_path, param_key, logger)
        logger.info(f'Loading {net.__class__.__name__} model from {load_path}, with param key: [{param_key}].')
        self._print_different_keys_loading(net, load_net, strict)
        try:
            net.load_state_dict(load_net, strict=strict)
        except RuntimeError as err:
            summary = ' '.join(str(err).split())[:400]
            raise UserError(
                f'{load_path} does not fit {net.__class__.__name__} (strict={strict}): {summary}. '
                'Check network options against the checkpoint, or set path.strict_load_g: false'
            ) from None

    def _check_state_fits(self, resume_state):
        """One line when the training state belongs to another network or optimizer setup (BasicSR would fail later
        with a tensor-size error deep in the optimizer step)."""
        path = self.opt['path'].get('resume_state') or 'the training state'
        saved = resume_state.get('optimizers') or []
        if len(saved) != len(self.optimizers):
            raise UserError(f'{path}: holds {len(saved)} optimizer states, this run has {len(self.optimizers)}')
        for i, (optimizer, state) in enumerate(zip(self.optimizers, saved)):
            params = [p for group in optimizer.param_groups for p in group['params']]
            ids = [i for group in state.get('param_groups', []) for i in group.get('params', [])]
            if len(ids) != len(params):
                raise UserError(
                    f'{path}: optimizer {i} was saved for {len(ids)} parameter tensors, this network has '
                    f'{len(params)} (a training state of another network or trainable_params setting)'
                )
            for index, param in zip(ids, params):
                for name, value in (state.get('state', {}).get(index) or {}).items():
                    if hasattr(value, 'shape') and value.dim() > 0 and value.shape != param.shape:
                        raise UserError(
                            f'{path}: optimizer state {name!r} of parameter {index} has shape {tuple(value.shape)}, '
                            f"the network's parameter has {tuple(param.shape)} (a training state of another network)"
                        )

    def save(self, epoch, current_iter):
        # every rank's RNG state goes into the training state that rank 0 writes
        rng = rng_state()
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
            'rng': getattr(self, '_rng_to_save', [rng_state()]),
            'best_metric_results': getattr(self, 'best_metric_results', {}),
            'best_checkpoint': self.best_checkpoint,
            'nonfinite_steps': self.nonfinite_steps,
            'optimizer_steps': self.optimizer_steps,
            'total_iter': self.opt['train'].get('total_iter'),  # to extend tied schedules when a run is continued
        }
        atomic_torch_save(state, osp.join(self.opt['path']['training_states'], f'{current_iter}.state'))

    def resume_training(self, resume_state):
        self._check_state_fits(resume_state)
        super().resume_training(resume_state)
        old_total, new_total = resume_state.get('total_iter'), self.opt['train'].get('total_iter')
        if old_total is not None and new_total is not None and int(old_total) != int(new_total):
            changed = extend_schedulers(self.schedulers, int(old_total), int(new_total))
            get_root_logger().info(
                f'train.total_iter {old_total} -> {new_total}: '
                + (', '.join(changed) if changed else 'no schedule was tied to it')
            )
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
            set_rng_state(rng[rank % len(rng)])
