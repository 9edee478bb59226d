"""Plot training loss and validation curves of one or more basicsr-ext train logs to a PNG.

python scripts/plot_curves.py experiments/<name>/train_<name>_*.log -o docs/curves.png --metric psnr
"""

import argparse
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.evaluation.curves import plot_curves  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('logs', nargs='+', help='train_*.log files written by basicsr_ext/train.py')
    parser.add_argument('-o', '--output', required=True, help='PNG to write')
    parser.add_argument('--metric', default='psnr', help='validation metric to plot (psnr, ssim, val_loss, ...)')
    parser.add_argument('--loss', default='l_pix', help='training loss to plot')
    parser.add_argument('--labels', nargs='+', help='legend labels, one per log (default: experiment names)')
    parser.add_argument(
        '--reference',
        nargs='+',
        default=[],
        metavar='LABEL=VALUE',
        help='constant reference lines on the metric panel, e.g. bicubic=33.10',
    )
    args = parser.parse_args(argv)
    references = {}
    for item in args.reference:
        label, sep, value = item.rpartition('=')
        try:
            references[label] = float(value)
        except ValueError:
            sep = ''
        if not sep or not label:
            sys.exit(f'plot_curves: error: --reference {item!r}: expected LABEL=VALUE, e.g. bicubic=33.10')
    try:
        finals = plot_curves(args.logs, args.output, args.metric, args.loss, args.labels, references)
    except UserError as err:
        sys.exit(f'plot_curves: error: {err}')
    for (label, dataset), value in finals.items():
        print(f'{label} ({dataset}): final {args.metric} {value:.4f}')
    print(f'wrote {args.output}')


if __name__ == '__main__':
    main()
