"""Validation: metrics and ``val_loss`` over a loader, best values, ReduceLROnPlateau, the best checkpoint.

A part of :class:`~basicsr_ext.models.ext_sr_model.ExtSRModel` (read that module's docstring for the options).
``validate_loop`` runs the model over a loader and returns the mean of each result; ``after_validation`` records,
logs and acts on them. Under DDP every rank validates its share of the set (samples rank, rank + world, ...; BasicSR
validates on rank 0 while the others wait) and the sums are all-reduced, so every rank gets the means over the
whole set, those of a single-process run up to float rounding.
"""

import math
from os import path as osp

import numpy as np
import torch
import torch.distributed as dist
from basicsr.metrics import calculate_metric
from basicsr.utils import get_root_logger, imwrite, tensor2img
from basicsr.utils.dist_util import master_only
from torch.utils.data import DataLoader
from tqdm import tqdm

from basicsr_ext.models.lr_scheduler import is_plateau
from basicsr_ext.utils.errors import UserError


class Validation:
    """``nondist_validation``/``dist_validation`` of every basicsr-ext model, ``val.save_best``, ``val_loss``."""

    def init_best_checkpoint(self):
        """Read ``val.save_best`` (called from ``init_training_settings``).

        ``metric`` is one validation result (``psnr``, ``val_loss``, ``person_contrast``, ...) or a weighted sum of
        several, ``{psnr: 1, person_contrast: 10}`` (0.1 of contrast counts as much as 1 dB).
        """
        save_best = (self.opt.get('val') or {}).get('save_best')
        self.best_checkpoint = None
        if save_best:  # checked with the options (ext_sr_model.SaveBest)
            metric = save_best['metric']
            mode = save_best.get('mode') or ('min' if metric == 'val_loss' else 'max')
            self.best_checkpoint = {'metric': metric, 'mode': mode, 'value': None, 'iter': -1}

    def best_checkpoint_value(self, results):
        """The value ``val.save_best`` compares: one result, or the weighted sum of several."""
        metric = self.best_checkpoint['metric']
        weights = metric if isinstance(metric, dict) else {metric: 1.0}
        missing = [name for name in weights if name not in results]
        if missing:
            raise UserError(
                f'val.save_best.metric: {missing[0]!r} is not a validation result; available: {", ".join(results)}'
            )
        if not isinstance(metric, dict):
            return results[metric]
        return sum(float(w) * results[name] for name, w in weights.items())

    def test(self):
        # the bare net: a DDP forward on rank 0 alone must not try to talk to the other ranks
        net = self.net_g_ema if hasattr(self, 'net_g_ema') else self.get_bare_model(self.net_g)
        was_training = net.training
        net.eval()
        with torch.no_grad():
            self.output = net(self.lq)
        net.train(was_training)

    def has_validation_loss(self):
        return self.opt['is_train'] and getattr(self, 'cri_pix', None) is not None

    def validation_loss(self):
        """The training loss of the current validation output (``self.output`` vs ``self.gt``); subclasses with other
        losses override this and :meth:`has_validation_loss`."""
        return float(self.cri_pix(self.output, self.gt))

    def extra_metric_data(self):
        """Inputs for metrics besides the two images (BasicSR's metrics ignore keys they do not take)."""
        return {}

    def validation_result_names(self):
        names = list((self.opt['val'].get('metrics') or {}).keys())
        if self.has_validation_loss():
            names.append('val_loss')
        return names

    def validation_shard(self, dataloader):
        """This rank's share of a validation loader: under DDP the samples rank, rank + world, ... in a loader with the
        same settings (BasicSR's validation loaders have no sampler); the loader itself in a single process."""
        world = self.opt.get('world_size', 1)
        if not self.opt.get('dist') or world <= 1:
            return dataloader
        settings = dict(
            batch_size=dataloader.batch_size,
            num_workers=dataloader.num_workers,
            collate_fn=dataloader.collate_fn,
            pin_memory=dataloader.pin_memory,
            worker_init_fn=dataloader.worker_init_fn,
        )
        if dataloader.num_workers > 0:  # torch refuses these without workers
            settings.update(
                persistent_workers=dataloader.persistent_workers, prefetch_factor=dataloader.prefetch_factor
            )
        shard = list(range(self.opt['rank'], len(dataloader.dataset), world))
        return DataLoader(dataloader.dataset, sampler=shard, **settings)

    def validate_loop(self, dataloader, current_iter, save_img, on_sample=None):
        """Run the model over a validation loader (this rank's share under DDP); returns the mean of every metric (and
        ``val_loss``) over the whole set, the same on every rank.

        ``on_sample`` (optional) is called after each sample's forward, before the tensors are dropped (the AOS test
        report keeps its montage tiles this way).
        """
        dataset_name = dataloader.dataset.opt['name']
        metrics_opt = self.opt['val'].get('metrics') or {}
        names = self.validation_result_names()
        sums = dict.fromkeys(names, 0.0)
        counts = dict.fromkeys(names, 0)  # a metric may be NaN for a sample (a person score without a person)
        dataloader = self.validation_shard(dataloader)
        show = self.opt['val'].get('pbar', False) and self.opt.get('rank', 0) == 0  # one bar: rank 0's share
        pbar = tqdm(total=len(dataloader), unit='image') if show else None
        for val_data in dataloader:
            img_name = osp.splitext(osp.basename(val_data['lq_path'][0]))[0]
            self.feed_data(val_data)
            self.test()
            if on_sample is not None:
                on_sample(img_name)
            if 'val_loss' in sums and hasattr(self, 'gt'):
                with torch.no_grad():
                    sums['val_loss'] += self.validation_loss()
                counts['val_loss'] += 1
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
                value = float(calculate_metric(metric_data, opt_))
                if not math.isnan(value):
                    sums[name] += value
                    counts[name] += 1
            if pbar is not None:
                pbar.update(1)
                pbar.set_description(f'Test {img_name}')
        if pbar is not None:
            pbar.close()
        totals = [sums[name] for name in names] + [counts[name] for name in names]
        if self.opt.get('dist') and self.opt.get('world_size', 1) > 1:
            reduced = torch.tensor(totals, dtype=torch.float64, device=self.device)
            dist.all_reduce(reduced)  # the sums and counts of every rank's share
            totals = reduced.tolist()
        n = len(names)
        return {name: totals[i] / totals[n + i] if totals[n + i] else float('nan') for i, name in enumerate(names)}

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
        # every rank validates its share; validate_loop all-reduces, so every rank records the same results and steps
        # its schedulers alike (logging and the best checkpoint are rank 0's)
        self.nondist_validation(dataloader, current_iter, tb_logger, save_img)

    # ------------------------------------------------------------------------------------------- after validation
    def init_best_metric_results(self, dataset_name):
        """Best-value records of ``dataset_name`` (kept across validations and in the training state)."""
        if not hasattr(self, 'best_metric_results'):
            self.best_metric_results = {}
        if dataset_name in self.best_metric_results:
            return
        record = {}
        metrics = self.opt['val'].get('metrics') or {}
        for name in self.validation_result_names():
            better = 'lower' if name == 'val_loss' else metrics[name].get('better', 'higher')
            record[name] = dict(better=better, val=float('-inf') if better == 'higher' else float('inf'), iter=-1)
        self.best_metric_results[dataset_name] = record

    def after_validation(self, dataset_name, results, current_iter, tb_logger):
        """Record best values, log, step ReduceLROnPlateau and keep the best checkpoint."""
        self.init_best_metric_results(dataset_name)
        for name, value in results.items():
            self._update_best_metric_result(dataset_name, name, value, current_iter)
        self.metric_results = results
        self.log_validation_results(current_iter, dataset_name, tb_logger)
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
        if best is None:
            return
        value = self.best_checkpoint_value(results)
        improved = best['value'] is None or (value > best['value'] if best['mode'] == 'max' else value < best['value'])
        if improved and np.isfinite(value):
            best.update(value=value, iter=current_iter)
            self.save_best_network()
            label = best['metric']
            if isinstance(label, dict):
                label = ' + '.join(f'{w:g} x {name}' for name, w in label.items())
            get_root_logger().info(f'Saved best checkpoint: {label} = {value:.4f} @ {current_iter} iter')

    def _first_val_name(self):
        for phase, dataset in self.opt['datasets'].items():
            if phase.startswith('val'):
                return dataset.get('name')
        return None

    def log_validation_results(self, current_iter, dataset_name, tb_logger):
        # SRModel's layout, plus the iteration on the header line so curves can be read back from the log; a test run
        # (test.py) has no iterations and no best values to show
        training = self.opt['is_train']
        log_str = f'Validation {dataset_name} @ {current_iter} iter\n' if training else f'Test {dataset_name}\n'
        for metric, value in self.metric_results.items():
            best = self.best_metric_results[dataset_name][metric]
            log_str += f'\t # {metric}: {value:.4f}'
            log_str += f'\tBest: {best["val"]:.4f} @ {best["iter"]} iter\n' if training else '\n'
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
