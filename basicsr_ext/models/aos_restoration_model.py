"""AOS restoration: a focal stack in, the occlusion-free centre view out (seed 000, sections 4.2-4.4).

On top of :class:`ExtSRModel` (all shared training features), this model adds:

- ``train.position_opt``: :class:`PositionEnhancedLoss` fed with the batch's person positions (``pos``) and
  ``has_person``; ``train.pixel_opt`` may be used with it or instead of it.
- ``train.multipass_finetune`` (false): seed 4.4.6. Every sample's loss alternates between the single-pass output
  and the double-pass output (the network applied to its own output), by sample index and iteration, so half of each
  batch trains the second pass.
- ``val.self_ensemble: {transforms: 8 | 4, reduce: median | mean}`` (off when absent): batched dihedral
  self-ensemble at inference (seed 4.3.1).
- ``val.multipass: {max_passes: K}`` (1 = off): seed 4.3.2. Pass k + 1 is kept for a sample only if its standard
  deviation is lower than that of pass k; a sample stops at its first rejected pass.

``val.report`` (test runs, ``basicsr_ext/test.py``): seed 000's table. Every variant in ``variants`` (default
``[integral, simple, self_ensemble, multipass]``; ``+MP`` includes self-ensemble, as the seed's rows add up) is run over
each test set, and ``<results>/<dataset>_report.md`` / ``.csv`` get one row per variant and one column per metric.
``montages: N`` (default 8) writes ``<results>/<dataset>_montages/<name>.png`` for the first N samples: integral |
each variant's output | GT, the person-loss window drawn where the sample has a person.
``self_ensemble`` / ``max_passes`` inside ``val.report`` set the +SE / +MP variants (defaults: 8 transforms, median;
2 passes).

For more than one focal plane, the next pass's input is the previous input with plane ``multipass_plane``
(``network_g``-independent option under ``val``/``train``, default 0: the lowest height) replaced by the output.
"""

import csv
import io
import math
from collections import OrderedDict
from os import path as osp

import torch
from basicsr.losses import build_loss
from basicsr.utils import get_root_logger, tensor2img
from basicsr.utils.registry import MODEL_REGISTRY

from basicsr_ext.aos.position import PersonWindow
from basicsr_ext.models.ext_sr_model import ExtSRModel
from basicsr_ext.utils.dihedral import self_ensemble
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import write_text_atomic
from basicsr_ext.utils.montage import draw_box, make_montage, to_bgr_uint8, write_png

SE_REDUCE = ('median', 'mean')
REPORT_VARIANTS = {
    'integral': 'Integral (0 m plane)',
    'simple': 'Simple',
    'self_ensemble': '+ Self-ensemble',
    'multipass': '+ Multi-pass',
}


def next_pass_input(lq, output, plane=0):
    """Input of the next pass: ``lq`` (b, p, h, w) with plane ``plane`` replaced by ``output`` (b, 1, h, w)."""
    if lq.shape[1] == 1:
        return output
    nxt = lq.clone()
    nxt[:, plane : plane + 1] = output
    return nxt


def multipass(fn, lq, max_passes, plane=0):
    """Seed 4.3.2 per sample: keep pass k + 1 only where its std is lower than pass k's; stop at the first refusal.

    Returns:
        tuple[Tensor, Tensor]: the output (b, c, h, w) and the number of passes accepted per sample (b,).
    """
    out = fn(lq)
    passes = torch.ones(lq.shape[0], dtype=torch.long, device=lq.device)
    active = torch.ones(lq.shape[0], dtype=torch.bool, device=lq.device)
    for _ in range(max_passes - 1):
        if not active.any():
            break
        idx = active.nonzero().flatten()
        cand = fn(next_pass_input(lq[idx], out[idx], plane))
        better = cand.flatten(1).std(dim=1) < out[idx].flatten(1).std(dim=1)
        out = out.clone()
        out[idx[better]] = cand[better]
        passes[idx[better]] += 1
        active[idx[~better]] = False
        lq = lq.clone()
        lq[idx[better]] = next_pass_input(lq[idx[better]], cand[better], plane)
    return out, passes


@MODEL_REGISTRY.register()
class AOSRestorationModel(ExtSRModel):
    """ExtSRModel + position-enhanced loss, multi-pass fine-tuning, self-ensemble and multi-pass inference."""

    def init_training_settings(self):
        train_opt = self.opt['train']
        self.cri_pos = build_loss(train_opt['position_opt']).to(self.device) if train_opt.get('position_opt') else None
        self.multipass_finetune = bool(train_opt.get('multipass_finetune', False))
        self.multipass_plane = int(train_opt.get('multipass_plane', 0))
        if self.cri_pos is None or train_opt.get('pixel_opt') or train_opt.get('perceptual_opt'):
            super().init_training_settings()
            return
        # SRModel refuses to set up training without a pixel or perceptual loss; the position loss is one, so give
        # it a zero-weight placeholder for the check and drop it again
        train_opt['pixel_opt'] = {'type': 'L1Loss', 'loss_weight': 0.0}
        try:
            super().init_training_settings()
        finally:
            train_opt.pop('pixel_opt')
        self.cri_pix = None

    def has_validation_loss(self):
        return self.is_train and (self.cri_pos is not None or self.cri_pix is not None)

    def validation_loss(self):
        return float(self._losses_of(self.output)[0])

    def feed_data(self, data):
        super().feed_data(data)
        if 'pos' in data:
            self.pos = data['pos'].to(self.device)
        if 'has_person' in data:
            self.has_person = data['has_person'].to(self.device)
        paths = data.get('lq_path')
        self._sample_name = osp.splitext(osp.basename(str(paths[0])))[0] if paths else None

    def extra_metric_data(self):
        # the person position of the (batch-1) validation sample, for calculate_person_psnr
        pos = getattr(self, 'pos', None)
        return {} if pos is None else {'pos': tuple(pos[0].tolist())}

    def _losses_of(self, output):
        l_total = 0
        loss_dict = OrderedDict()
        if self.cri_pos is not None:
            l_pos = self.cri_pos(output, self.gt, self.pos, getattr(self, 'has_person', None))
            l_total += l_pos
            loss_dict['l_pos'] = l_pos
        if self.cri_pix is not None:
            l_pix = self.cri_pix(output, self.gt)
            l_total += l_pix
            loss_dict['l_pix'] = l_pix
        return l_total, loss_dict

    def compute_losses(self):
        self.output = self.net_g(self.lq)
        if self.multipass_finetune:
            b = self.lq.shape[0]
            parity = getattr(self, '_finetune_step', 0) % 2
            self._finetune_step = getattr(self, '_finetune_step', 0) + 1
            double = (torch.arange(b, device=self.lq.device) + parity) % 2 == 1
            if double.any():
                second = self.net_g(next_pass_input(self.lq[double], self.output[double], self.multipass_plane))
                output = self.output.clone()
                output[double] = second
                self.output = output
        return self._losses_of(self.output)

    def _inference_settings(self):
        """(self-ensemble options or None, max passes, plane) from ``val`` or the report variant being run."""
        val_opt = self.opt.get('val') or {}
        variant = getattr(self, '_variant', None)
        if variant is not None:
            return variant['self_ensemble'], variant['max_passes'], variant['plane']
        se = check_self_ensemble(val_opt.get('self_ensemble'), 'val.self_ensemble')
        mp = val_opt.get('multipass') or {}
        max_passes = int_option(mp.get('max_passes', 1), 'val.multipass.max_passes', 1)
        return se, max_passes, int_option(mp.get('plane', 0), 'val.multipass.plane', 0)

    def test(self):
        net = self.net_g_ema if hasattr(self, 'net_g_ema') else self.get_bare_model(self.net_g)
        se, max_passes, plane = self._inference_settings()
        if plane >= self.lq.shape[1]:
            key = 'val.report.plane' if getattr(self, '_variant', None) is not None else 'val.multipass.plane'
            raise UserError(f'{key}: plane {plane} asked for, but the input has {self.lq.shape[1]} planes')
        if getattr(self, '_variant', None) is not None and self._variant['name'] == 'integral':
            self.output = self.lq[:, plane : plane + 1].clone()
            self.passes = torch.zeros(self.lq.shape[0], dtype=torch.long, device=self.lq.device)
            self._capture_sample()
            return

        def forward(x):
            if se:
                return self_ensemble(net, x, int(se.get('transforms', 8)), se.get('reduce', 'median'))
            return net(x)

        was_training = net.training
        net.eval()
        with torch.no_grad():
            self.output, self.passes = multipass(forward, self.lq, max_passes, plane)
        net.train(was_training)
        if max_passes > 1:
            get_root_logger().debug(f'multi-pass: passes per sample {self.passes.tolist()}')
        self._capture_sample()

    # ------------------------------------------------------------------------------------------- test report
    def _capture_sample(self):
        store = getattr(self, '_captured', None)
        if store is None or len(store) >= self._capture_limit:
            return
        plane = self._variant['plane']
        store.append(
            {
                'integral': tensor2img([self.lq[0, plane : plane + 1].detach().cpu()]),
                'output': tensor2img([self.output[0].detach().float().cpu()]),
                'gt': tensor2img([self.gt[0].detach().cpu()]) if hasattr(self, 'gt') else None,
                'pos': self.pos[0].tolist() if hasattr(self, 'pos') else None,
                'has_person': bool(self.has_person[0]) if hasattr(self, 'has_person') else False,
                'passes': int(self.passes[0]),
                'name': self._sample_name,
            }
        )

    def _report_variants(self, report):
        names = report.get('variants', list(REPORT_VARIANTS))
        if not isinstance(names, list) or not names or any(n not in REPORT_VARIANTS for n in names):
            raise UserError(f'val.report.variants: expected a list of {", ".join(REPORT_VARIANTS)}; got {names}')
        se = report.get('self_ensemble', {'transforms': 8, 'reduce': 'median'})
        se = check_self_ensemble(se, 'val.report.self_ensemble')
        max_passes = int_option(report.get('max_passes', 2), 'val.report.max_passes', 2)
        plane = int_option(report.get('plane', 0), 'val.report.plane', 0)
        settings = {
            'integral': (None, 1),
            'simple': (None, 1),
            'self_ensemble': (se, 1),
            'multipass': (se, max_passes),
        }
        return [
            {'name': n, 'self_ensemble': settings[n][0], 'max_passes': settings[n][1], 'plane': plane} for n in names
        ]

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        report = (self.opt.get('val') or {}).get('report')
        if report and not self.is_train:
            self.write_report(dataloader, current_iter, save_img, report)
            return
        super().nondist_validation(dataloader, current_iter, tb_logger, save_img)

    def dist_validation(self, dataloader, current_iter, tb_logger, save_img):
        report = (self.opt.get('val') or {}).get('report')
        if report and not self.is_train:
            if self.opt['rank'] == 0:
                self.write_report(dataloader, current_iter, save_img, report)
            return
        super().dist_validation(dataloader, current_iter, tb_logger, save_img)

    def write_report(self, dataloader, current_iter, save_img, report):
        """Seed 000's table for one test set: every variant x every metric, markdown + CSV, plus montages."""
        dataset_name = dataloader.dataset.opt['name']
        variants = self._report_variants(report)
        limit = int_option(report.get('montages', 8), 'val.report.montages', 0)
        rows, captured = [], {}
        logger = get_root_logger()
        for variant in variants:
            logger.info(f'{dataset_name}: testing {REPORT_VARIANTS[variant["name"]]} ({len(dataloader)} samples)')
            self._variant, self._captured, self._capture_limit = variant, [], limit
            try:
                results = self.validate_loop(dataloader, f'{current_iter}_{variant["name"]}', save_img)
            finally:
                captured[variant['name']] = self._captured
                self._variant = self._captured = None
            rows.append((variant['name'], results))
            self.after_validation(f'{dataset_name} [{REPORT_VARIANTS[variant["name"]]}]', results, current_iter, None)
        out_dir = self.opt['path']['results_root']
        metrics_opt = self.opt['val'].get('metrics') or {}
        md, table_csv = format_report(rows, metrics_opt)
        write_text_atomic(osp.join(out_dir, f'{dataset_name}_report.md'), md)
        write_text_atomic(osp.join(out_dir, f'{dataset_name}_report.csv'), table_csv)
        self.report_rows = rows
        logger.info(f'Report for {dataset_name} ({out_dir}/{dataset_name}_report.md):\n{md}')
        self._write_montages(captured, osp.join(out_dir, f'{dataset_name}_montages'))

    def _write_montages(self, captured, folder):
        order = list(captured)
        count = min(len(v) for v in captured.values()) if captured else 0
        for i in range(count):
            first = captured[order[0]][i]
            tiles = [first['integral']]
            labels = ['integral']
            for name in order:
                if name == 'integral':
                    continue
                sample = captured[name][i]
                tiles.append(sample['output'])
                label = REPORT_VARIANTS[name].replace('+ ', '+')
                labels.append(f'{label} ({sample["passes"]} passes)' if name == 'multipass' else label)
            if first['gt'] is not None:
                tiles.append(first['gt'])
                labels.append('GT')
            width = tiles[0].shape[1]
            zoom = max(1, 256 // width)  # small test images are shown at >= 256 px (nearest neighbour)
            tiles = [to_bgr_uint8(t.repeat(zoom, axis=0).repeat(zoom, axis=1)) for t in tiles]
            if first['has_person'] and first['pos'] is not None:
                window = self._person_window(width) * zoom
                centre = [v * zoom + (zoom - 1) / 2 for v in first['pos']]
                for tile in tiles:
                    draw_box(tile, centre, window, (0, 0, 255), 1)
            name = first['name'] or f'{i:04d}'
            write_png(osp.join(folder, f'{name}.png'), make_montage(tiles, labels, cols=len(tiles)))

    def _person_window(self, width):
        """Side of the person window at this image width, with the person_psnr metric's settings when it is used."""
        for opt_ in (self.opt['val'].get('metrics') or {}).values():
            if opt_.get('type') == 'calculate_person_psnr':
                return PersonWindow.from_options(opt_).side(width)
        return PersonWindow().side(width)


def check_self_ensemble(se, key):
    """``{transforms: 4 | 8, reduce: median | mean}`` or a falsy value (off); returns it or raises UserError."""
    if not se:
        return None
    valid = isinstance(se, dict) and se.get('transforms', 8) in (4, 8) and se.get('reduce', 'median') in SE_REDUCE
    if not valid:
        raise UserError(f'{key}: expected {{transforms: 4 | 8, reduce: median | mean}}, got {se}')
    return se


def int_option(value, key, minimum):
    """``value`` as an int >= ``minimum``, or a UserError naming ``key``."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number != value or number < minimum:
        kind = '' if number is not None and number == value else ' (an integer)'
        raise UserError(f'{key}: expected >= {minimum}, got {value!r}{kind}')
    return number


def format_report(rows, metrics_opt):
    """(markdown, csv) of ``rows`` = [(variant, {metric: value})]; lower-is-better metrics are marked."""
    names = [n for n in rows[0][1]]
    head = [
        f'{n} ({"lower" if (metrics_opt.get(n) or {}).get("better") == "lower" or n == "val_loss" else "higher"})'
        for n in names
    ]
    lines = ['| | ' + ' | '.join(head) + ' |', '|---|' + '---:|' * len(names)]
    for variant, results in rows:
        cells = [_fmt(results[n]) for n in names]
        lines.append(f'| {REPORT_VARIANTS[variant]} | ' + ' | '.join(cells) + ' |')
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['variant', *names])
    for variant, results in rows:
        writer.writerow([variant, *(repr(float(results[n])) for n in names)])
    return '\n'.join(lines) + '\n', buf.getvalue()


def _fmt(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 'nan'
    return f'{value:.4f}' if abs(value) >= 0.1 else f'{value:.5f}'
