"""Deep Network Interpolation (DNI): blend two networks fine-tuned from one base, (1 - alpha) * A + alpha * B.

python scripts/dni_interpolate.py net_sigma15.pth net_sigma75.pth --alpha 0.3 -o net_dni_0.3.pth
python scripts/dni_interpolate.py RRDB_PSNR_x4.pth RRDB_ESRGAN_x4.pth --alpha 0 0.5 1 -o 'rrdb_dni_{alpha}.pth'

alpha weights the SECOND checkpoint: 0 gives A exactly, 1 gives B exactly (ESRGAN's net_interp.py convention);
values outside [0, 1] extrapolate (with a warning). With several alphas, ``-o`` must contain ``{alpha}``. Both files
are bare state dicts or both BasicSR checkpoints: every parameter group in both (``params``, ``params_ema``; or
those named by ``--param-key``) is interpolated, a group in one file only is dropped with a note. Floating-point
tensors are blended, integer buffers must be equal. Load the result like either input
(``path.pretrain_network_g``). Details: ``basicsr_ext.utils.dni``.
"""

import argparse
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import basicsr_ext  # noqa: E402,F401
from basicsr_ext.utils.dni import check_alpha, interpolate_checkpoint_dicts  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import atomic_torch_save, check_output_file, safe_torch_load  # noqa: E402


def _parse_alpha(text):
    try:
        value = float(text)
    except ValueError:
        raise UserError(f'--alpha: expected a number, got {text!r}') from None
    return check_alpha(value)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint_a', help='model A (alpha 0): bare state dict or BasicSR checkpoint')
    parser.add_argument('checkpoint_b', help='model B (alpha 1), same architecture and layout')
    parser.add_argument('--alpha', nargs='+', required=True, help='weight(s) of B; 0 = A, 1 = B')
    parser.add_argument('-o', '--output', required=True, help="checkpoint to write; '{alpha}' is replaced by alpha")
    parser.add_argument('--param-key', nargs='+', help='parameter groups to interpolate (default: all in both)')
    args = parser.parse_args(argv)
    try:
        alphas = [_parse_alpha(text) for text in args.alpha]
        if len(alphas) > 1 and '{alpha}' not in args.output:
            raise UserError(f"-o {args.output}: several alphas need '{{alpha}}' in the output name")
        outputs = [args.output.replace('{alpha}', f'{alpha:.10g}') for alpha in alphas]
        if len(set(outputs)) < len(outputs):
            raise UserError(f'--alpha {" ".join(args.alpha)}: repeated value (outputs would overwrite each other)')
        for output in outputs:
            check_output_file(output, '-o', inputs=[args.checkpoint_a, args.checkpoint_b])
        for alpha in alphas:
            if not 0 <= alpha <= 1:
                print(f'warning: alpha {alpha:.10g} is outside [0, 1]: extrapolating beyond A and B', file=sys.stderr)
        ckpt_a, ckpt_b = safe_torch_load(args.checkpoint_a), safe_torch_load(args.checkpoint_b)
        names = (args.checkpoint_a, args.checkpoint_b)
        # only alpha changes between outputs, so every other error surfaces before the first file is written
        for i, (alpha, output) in enumerate(zip(alphas, outputs)):
            ckpt, notes = interpolate_checkpoint_dicts(ckpt_a, ckpt_b, alpha, args.param_key, names)
            for note in notes if i == 0 else []:
                print(f'note: {note}', file=sys.stderr)
            atomic_torch_save(ckpt, output)
            bare = any(hasattr(v, 'shape') for v in ckpt.values())
            groups = {None: ckpt} if bare else ckpt
            count = sum(v.is_floating_point() for sd in groups.values() for v in sd.values() if hasattr(v, 'shape'))
            layout = 'bare state dict' if bare else f'groups {", ".join(groups)}'
            print(f'wrote {output} (alpha {alpha:.10g}: {count} tensors interpolated, {layout})')
    except UserError as err:
        print(f'basicsr-ext: error: {err}', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
