"""Adapt a checkpoint's first/last conv to other channel counts (RGB -> grey, or N planes such as an AOS focal stack).

python scripts/adapt_checkpoint.py ESRGAN_SRx4_DF2KOST_official-ff704c30.pth -o esrgan_grey.pth --in-chans 1
python scripts/adapt_checkpoint.py Swin2SR_ColorJPEG_X1.pth -o swin2sr_3planes.pth --in-chans 3 [--mode average]

The first conv is collapsed to one grey filter (the sum over the input colours) and copied to the N input planes
(``average``: scaled by 1/N, so a stack of identical planes gives the original's grey response; ``replicate``:
unscaled); the last conv is averaged to one grey output and copied to the M outputs (``--out-chans``, default N).
Every parameter group of a BasicSR zoo file (``params``, ``params_ema``) is adapted, other entries are kept.

Known layouts (the convs are found from the keys; ``--first``/``--last`` name them for other archs):
SwinIR and Swin2SR (``conv_first``; ``conv_last``, or ``upsample.0`` for pixelshuffledirect), RRDBNet
(``conv_first``, pixel-unshuffled at x2/x1; ``conv_last``), MSRResNet and EDSR (``conv_first``, ``conv_last``),
SRCNN (``conv1``, ``conv3``). Details and caveats (EDSR's fixed RGB mean):
``basicsr_ext.utils.checkpoint_adapt.adapt_channels``. Load the result with the arch's channel options changed
(``num_in_ch``/``num_out_ch``, or ``in_chans``) and ``path.pretrain_network_g``; for Swin2SR with
``gray_head: true`` add ``strict_load_g: false`` (``conv_gray`` is new).
"""

import argparse
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import basicsr_ext  # noqa: E402,F401
from basicsr_ext.utils.checkpoint_adapt import MODES, adapt_channels, find_convs, state_dict_groups  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import atomic_torch_save, check_output_file, safe_torch_load  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='checkpoint to adapt (bare state dict or BasicSR zoo layout)')
    parser.add_argument('-o', '--output', required=True, help='adapted checkpoint to write (atomically)')
    parser.add_argument('--in-chans', type=int, required=True, help='input channels (planes) N of the adapted net')
    parser.add_argument('--out-chans', type=int, help='output channels M of the adapted net (default: N)')
    parser.add_argument('--first', help='first conv (module name, e.g. conv_first); default: detected')
    parser.add_argument('--last', help='last conv (module name, e.g. conv_last); default: detected')
    parser.add_argument('--mode', default='average', choices=MODES)
    parser.add_argument(
        '--colours',
        type=int,
        help='colour count of the original net, for convs with sub-pixel channel groups '
        'that the layout does not tell (default: inferred)',
    )
    args = parser.parse_args(argv)
    out_chans = args.in_chans if args.out_chans is None else args.out_chans
    try:
        for flag, value in (('--in-chans', args.in_chans), ('--out-chans', out_chans), ('--colours', args.colours)):
            if value is not None and value < 1:
                raise UserError(f'{flag}: expected >= 1, got {value}')
        check_output_file(args.output, '-o', inputs=[args.checkpoint])
        state = safe_torch_load(args.checkpoint)
        if not isinstance(state, dict):
            raise UserError(f'{args.checkpoint}: expected a state dict, got {type(state).__name__}')
        try:
            adapted = adapt_channels(
                state, args.in_chans, out_chans, args.first, args.last, args.mode, colours=args.colours
            )
            convs = find_convs(next(iter(state_dict_groups(state).values())), args.first, args.last)
        except (KeyError, ValueError) as err:
            raise UserError(f'{args.checkpoint}: {err.args[0] if err.args else err}') from None
        except (RuntimeError, MemoryError) as err:
            if isinstance(err, RuntimeError) and 'allocate' not in str(err):
                raise
            raise UserError(
                f'--in-chans {args.in_chans} / --out-chans {out_chans}: the adapted convs do not fit in memory'
            ) from None
        atomic_torch_save(adapted, args.output)
    except UserError as err:
        print(f'basicsr-ext: error: {err}', file=sys.stderr)
        sys.exit(2)
    print(
        f'wrote {args.output} ({convs.layout} layout: {convs.first} -> {args.in_chans} input, {convs.last} -> '
        f'{out_chans} output channels, mode {args.mode})'
    )


if __name__ == '__main__':
    main()
