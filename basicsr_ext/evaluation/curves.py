"""Training curves of basicsr-ext runs, plotted to a PNG: read from the run's TensorBoard events (``tb_logger/<name>``,
written with ``logger.use_tb_logger: true``) or, as the fallback, parsed from the ``[<name>..][epoch: ...]`` and
``Validation`` lines of its train log."""

import glob
import re
from os import path as osp

from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import atomic_write

_TRAIN = re.compile(r'\]\[epoch:\s*\d+, iter:\s*([\d,]+), lr:\([^)]*\)\] \[[^\]]*\] (.*)$')
_VAL_HEAD = re.compile(r'Validation (\S+) @ (\d+) iter')
_VAL_METRIC = re.compile(r'^\s*# (\S+): (\S+)')
_NAME = re.compile(r'^\s*name: (\S+)\s*$')


def parse_train_log(path):
    """``{'name', 'train': {loss: [(iter, value)]}, 'val': {dataset: {metric: [(iter, value)]}}}`` of one log."""
    if not osp.isfile(path):
        raise UserError(f'log file not found: {path}')
    name, train, val = None, {}, {}
    current = None  # (dataset, iter) of the validation block being read
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            if name is None and (m := _NAME.match(line)):
                name = m.group(1)
            if m := _TRAIN.search(line):
                it = int(m.group(1).replace(',', ''))
                for key, value in re.findall(r'(\w+): (\S+)', m.group(2)):
                    train.setdefault(key, []).append((it, float(value)))
                current = None
            elif m := _VAL_HEAD.search(line):
                current = (m.group(1), int(m.group(2)))
            elif current and (m := _VAL_METRIC.match(line)):
                points = val.setdefault(current[0], {}).setdefault(m.group(1), [])
                if points and points[-1][0] == current[1]:  # the final validation repeats the last iteration
                    points.pop()
                points.append((current[1], float(m.group(2))))
            elif line.strip() and not line.startswith((' ', '\t')):
                current = None
    if not train and not val:
        raise UserError(f'{path}: no training or validation lines found (is it a basicsr-ext train log?)')
    return {'name': name or osp.basename(path), 'train': train, 'val': val}


def read_tb_events(path):
    """The :func:`parse_train_log` dict of a run's TensorBoard events: its ``tb_logger/<name>`` folder (every event
    file in it, so a resumed run's too) or one event file. Tags as written by BasicSR's ``MessageLogger``
    (``losses/<loss>``, other training values under their own name) and by ``validation.py``
    (``metrics/<dataset>/<metric>``). None when the events hold no scalars."""
    from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

    events = EventAccumulator(path, size_guidance={SCALARS: 0}).Reload()  # 0: every point, not a sample of 10000
    train, val = {}, {}
    for tag in events.Tags()[SCALARS]:
        # event files are read oldest first; a resumed run logs the steps after its checkpoint again: the last wins
        points = sorted({e.step: e.value for e in events.Scalars(tag)}.items())
        kind, _, rest = tag.partition('/')
        if kind == 'metrics' and '/' in rest:
            dataset, _, metric = rest.rpartition('/')
            val.setdefault(dataset, {})[metric] = points
        else:
            train[rest if kind == 'losses' else tag] = points
    if not train and not val:
        return None
    folder = path if osp.isdir(path) else osp.dirname(osp.abspath(path))
    return {'name': osp.basename(osp.normpath(folder)), 'train': train, 'val': val}


def _has_events(folder):
    return osp.isdir(folder) and bool(glob.glob(osp.join(glob.escape(folder), '*tfevents*')))


def load_run(path):
    """The curves of one run, TensorBoard events first. ``path`` is a ``tb_logger/<name>`` folder or an event file
    (events only), an ``experiments/<name>`` folder (the events in ``tb_logger/<name>`` next to ``experiments/``,
    else its newest train log) or a train log (parsed)."""
    if not osp.exists(path):
        raise UserError(
            f'not found: {path} (expected a train log, a tb_logger/<name> or experiments/<name> folder, '
            'or an event file)'
        )
    if 'tfevents' in osp.basename(path) or _has_events(path):
        run = read_tb_events(path)
        if run is None:
            raise UserError(f'{path}: no scalars in its TensorBoard events (is it a tb_logger/<name> folder of a run?)')
        return run
    if not osp.isdir(path):
        return parse_train_log(path)
    name = osp.basename(osp.normpath(path))
    tb_folder = osp.join(osp.dirname(osp.dirname(osp.abspath(path))), 'tb_logger', name)
    run = read_tb_events(tb_folder) if _has_events(tb_folder) else None
    if run is not None:
        return run
    logs = sorted(glob.glob(osp.join(glob.escape(path), 'train_*.log')))  # train_<name>_<time>.log: oldest first
    if not logs:
        raise UserError(
            f'{path}: no TensorBoard events (in {tb_folder}) and no train_*.log; expected a tb_logger/<name> or '
            'experiments/<name> folder, an event file or a train log'
        )
    return parse_train_log(logs[-1])


def plot_curves(logs, out_png, metric='psnr', loss='l_pix', labels=None, references=None):
    """Plot ``loss`` (left) and validation ``metric`` (right) of several runs to ``out_png``.

    ``logs`` are paths :func:`load_run` reads (train logs, ``tb_logger/<name>`` or ``experiments/<name>`` folders,
    event files).

    ``references`` maps labels to constant values drawn as dashed lines on the metric panel (e.g. a bicubic
    baseline). Returns the last value of ``metric`` per (run label, dataset).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    parsed = [load_run(p) for p in logs]
    labels = labels or [p['name'] for p in parsed]
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 4))
    finals = {}
    for run, label in zip(parsed, labels):
        if loss in run['train']:
            its, values = zip(*run['train'][loss])
            ax_loss.plot(its, values, label=label, linewidth=1)
        for dataset, metrics in run['val'].items():
            if metric in metrics:
                its, values = zip(*metrics[metric])
                ax_val.plot(its, values, marker='o', markersize=3, label=f'{label} ({dataset})')
                finals[(label, dataset)] = values[-1]
    for i, (label, value) in enumerate((references or {}).items()):
        ax_val.axhline(value, linestyle='--', color=f'C{len(parsed) + i}', label=f'{label}: {value:g}')
    if not finals:
        raise UserError(f'no validation values of {metric!r} in {", ".join(logs)}')
    ax_loss.set(xlabel='iteration', ylabel=loss, yscale='log', title=f'training {loss}')
    ax_val.set(xlabel='iteration', ylabel=metric, title=f'validation {metric}')
    for ax in (ax_loss, ax_val):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        atomic_write(out_png, lambda tmp: fig.savefig(tmp, dpi=110, format='png'))
    finally:
        plt.close(fig)
    return finals
