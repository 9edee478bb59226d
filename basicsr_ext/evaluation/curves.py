"""Training curves from BasicSR log files: parse the ``[<name>..][epoch: ...]`` and ``Validation`` lines, plot a PNG."""

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


def plot_curves(logs, out_png, metric='psnr', loss='l_pix', labels=None, references=None):
    """Plot ``loss`` (left) and validation ``metric`` (right) of several logs to ``out_png``.

    ``references`` maps labels to constant values drawn as dashed lines on the metric panel (e.g. a bicubic
    baseline). Returns the last value of ``metric`` per (run label, dataset).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    parsed = [parse_train_log(p) for p in logs]
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
