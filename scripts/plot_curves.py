"""Plot training loss and validation curves of one or more basicsr-ext runs to a PNG.

python scripts/plot_curves.py tb_logger/<name> -o docs/curves.png --metric psnr

A run is read from its TensorBoard events (``logger.use_tb_logger: true``, as the shipped option files have): a
``tb_logger/<name>`` folder or an event file. An ``experiments/<name>`` folder reads the events in
``tb_logger/<name>`` beside ``experiments/`` and falls back to its newest train log when there are none; a
``train_*.log`` file given is parsed as text.
"""

import argparse
import math
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.evaluation.curves import plot_curves  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import check_output_file  # noqa: E402


def parse_references(items):
    """``{label: value}`` of ``--reference LABEL=VALUE`` items (finite values)."""
    references = {}
    for item in items:
        label, sep, value = item.rpartition('=')
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not label or number is None or not math.isfinite(number):
            raise UserError(f'--reference {item!r}: expected LABEL=VALUE with a finite number, e.g. bicubic=33.10')
        references[label] = number
    return references


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'logs',
        nargs='+',
        metavar='RUN',
        help='tb_logger/<name> or experiments/<name> folders, event files or train_*.log files of basicsr_ext/train.py',
    )
    parser.add_argument('-o', '--output', required=True, help='PNG to write')
    parser.add_argument('--metric', default='psnr', help='validation metric to plot (psnr, ssim, val_loss, ...)')
    parser.add_argument('--loss', default='l_pix', help='training loss to plot')
    parser.add_argument('--labels', nargs='+', help='legend labels, one per run (default: experiment names)')
    parser.add_argument(
        '--reference',
        nargs='+',
        default=[],
        metavar='LABEL=VALUE',
        help='constant reference lines on the metric panel, e.g. bicubic=33.10',
    )
    args = parser.parse_args(argv)
    try:
        references = parse_references(args.reference)
        if args.labels is not None and len(args.labels) != len(args.logs):
            raise UserError(f'--labels: {len(args.labels)} label(s) for {len(args.logs)} log(s); give one per log')
        check_output_file(args.output, '-o', inputs=args.logs)
        finals = plot_curves(args.logs, args.output, args.metric, args.loss, args.labels, references)
    except UserError as err:
        print(f'plot_curves: error: {err}', file=sys.stderr)
        return 2
    for (label, dataset), value in finals.items():
        print(f'{label} ({dataset}): final {args.metric} {value:.4f}')
    print(f'wrote {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
