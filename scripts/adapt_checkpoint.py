"""Adapt a 3-channel (RGB) or 1-channel Swin2SR / SwinIR checkpoint to N input planes (an AOS focal stack).

python scripts/adapt_checkpoint.py Swin2SR_ColorJPEG_X1.pth -o swin2sr_3planes.pth --in-chans 3 [--mode average]

``conv_first`` is collapsed to one grey filter and copied to the N planes (``average``: scaled by 1/N, so a stack of
identical planes gives the original's grey response; ``replicate``: unscaled), ``conv_last`` (or a
pixelshuffledirect ``upsample.0``) is averaged to one grey output and copied to the N outputs; every parameter group
of a BasicSR zoo file (``params``, ``params_ema``) is adapted, other entries are kept. Details:
``basicsr_ext.archs.swin2sr_arch.adapt_first_conv``. Load the result with ``network_g.in_chans: N`` and
``path.pretrain_network_g``; with ``gray_head: true`` add ``strict_load_g: false`` (``conv_gray`` is new).
"""

import argparse
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import basicsr_ext  # noqa: E402,F401
from basicsr_ext.archs.swin2sr_arch import adapt_first_conv  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import atomic_torch_save, safe_torch_load  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='Swin2SR / SwinIR checkpoint (bare state dict or BasicSR zoo layout)')
    parser.add_argument('-o', '--output', required=True, help='adapted checkpoint to write (atomically)')
    parser.add_argument('--in-chans', type=int, required=True, help='number of input planes N')
    parser.add_argument('--mode', default='average', choices=['average', 'replicate'])
    args = parser.parse_args(argv)
    try:
        if args.in_chans < 1:
            raise UserError(f'--in-chans: expected >= 1, got {args.in_chans}')
        state = safe_torch_load(args.checkpoint)
        if not isinstance(state, dict):
            raise UserError(f'{args.checkpoint}: expected a state dict, got {type(state).__name__}')
        try:
            adapted = adapt_first_conv(state, args.in_chans, args.mode)
        except (KeyError, ValueError) as err:
            raise UserError(f'{args.checkpoint}: {str(err).strip(chr(39))}') from None
        atomic_torch_save(adapted, args.output)
    except UserError as err:
        print(f'basicsr-ext: error: {err}', file=sys.stderr)
        sys.exit(2)
    print(f'wrote {args.output} ({args.in_chans} input planes, mode {args.mode})')


if __name__ == '__main__':
    main()
