"""Sweep a continuous-level denoiser (AdaFM, FTN, DNI; Afrimi 2021) over coefficients x noise levels.

python scripts/modulation_sweep.py -opt options/train_modulation_adafm.yml \\
    --checkpoint experiments/train_AdaFMNet_adafm_sigma80/models/net_g_latest.pth -o results/modulation_sweep_adafm
python scripts/modulation_sweep.py -opt options/train_modulation_base.yml -o results/modulation_sweep_dni \\
    --dni experiments/train_AdaFMNet_base_sigma20/models/net_g_best.pth \\
          experiments/train_AdaFMNet_dni_sigma80/models/net_g_latest.pth

Options: [--levels 20 40 60 80] [--coefs 0 0.1 ... 1 | --steps 11] [--images FOLDER] [--strip-image NAME]
[--strip-level 60] [--seed 0] [--param-key params] [--device cpu]

The network is the option file's ``network_g`` (``_base_`` resolved): with ``modulation:`` the coefficient is set on
its AdaFM / FTN layers (0 = base level, 1 = end level); a plain network needs ``--dni A.pth B.pth`` and the
coefficient is the DNI alpha, ``(1 - alpha) * A + alpha * B``. The images (clean; default ``datasets.val.dataroot_gt``)
get Gaussian noise of each ``--levels`` sigma (0-255), seeded per image by ``--seed`` (default ``datasets.val.seed``)
and clipped as ``datasets.val.noise.clip`` says. Writes ``sweep.md`` (PSNR table, best coefficient per level in
bold), ``sweep.csv``, ``sweep.json`` and ``strip.png`` (one image at one level across the coefficients) into ``-o``
and prints the table. Mistakes in the options print one ``error:`` line and exit with status 2.
"""

import argparse
import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import basicsr_ext  # noqa: E402,F401
from basicsr_ext.evaluation.modulation_sweep import run_sweep, sweep_markdown, write_sweep  # noqa: E402
from basicsr_ext.inference.devices import pick_device  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import check_output_folder  # noqa: E402
from basicsr_ext.utils.options import resolve_options  # noqa: E402

DEFAULT_LEVELS = [20, 40, 60, 80]  # the tunable-models report's levels: a = 20 (base), b = 80 (end), two in between


def sweep(args):
    """Resolve the defaults from the option file, run the sweep and write it; returns (result, paths, title)."""
    if not osp.isfile(args.opt):
        raise UserError(f'-opt: option file not found: {args.opt}')
    check_output_folder(args.output, '-o')
    device = pick_device(args.device)
    opt = resolve_options(args.opt)
    val = (opt.get('datasets') or {}).get('val') or {}
    noise = val.get('noise') or {}
    images = args.images or val.get('dataroot_gt')
    if images is None:
        raise UserError(f'{args.opt}: datasets.val.dataroot_gt missing; give the clean images with --images')
    if args.dni is None and args.checkpoint is None:
        raise UserError('--checkpoint: required (the trained modulated network), or --dni A.pth B.pth')
    if args.steps is not None and args.steps < 2:
        raise UserError(f'--steps: expected >= 2, got {args.steps}')
    steps = args.steps or 11
    coefs = args.coefs if args.coefs is not None else [round(i / (steps - 1), 10) for i in range(steps)]
    param_key = args.param_key or (opt.get('path') or {}).get('param_key_g') or 'params'
    result = run_sweep(
        opt.get('network_g'),
        args.levels,
        coefs,
        images,
        checkpoint=args.checkpoint,
        dni=args.dni,
        param_key=param_key,
        seed=val.get('seed', 0) if args.seed is None else args.seed,
        clip=noise.get('clip', False),  # NoisyPairDataset's default for Gaussian noise
        device=device,
        strip_image=args.strip_image,
        strip_level=args.strip_level,
        progress=True,
    )
    source = 'DNI of ' + ' and '.join(args.dni) if args.dni else args.checkpoint
    title = f'Modulation sweep: {opt.get("name", osp.basename(args.opt))} ({result["method"]}, {source})'
    return result, write_sweep(result, args.output, title), title


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-opt', required=True, help='option file whose network_g (and datasets.val) to use')
    parser.add_argument('--checkpoint', help='checkpoint of the modulated network (stage 2)')
    parser.add_argument('--dni', nargs=2, metavar=('A', 'B'), help='two checkpoints of a plain net: alpha 0, alpha 1')
    parser.add_argument('--levels', nargs='+', type=float, default=DEFAULT_LEVELS, help='Gaussian sigmas (0-255)')
    coefs = parser.add_mutually_exclusive_group()
    coefs.add_argument('--coefs', nargs='+', type=float, help='coefficients (default: 0, 0.1, ..., 1)')
    coefs.add_argument('--steps', type=int, help='that many coefficients evenly from 0 to 1')
    parser.add_argument('--images', help='folder of clean images (default: datasets.val.dataroot_gt)')
    parser.add_argument('--strip-image', help='image of strip.png (file name; default: the first)')
    parser.add_argument('--strip-level', type=float, help='level of strip.png (default: the middle of --levels)')
    parser.add_argument('--seed', type=int, help='noise seed (default: datasets.val.seed, else 0)')
    parser.add_argument('--param-key', help='parameter group (default: path.param_key_g, else params)')
    parser.add_argument('--device', help='cpu or cuda (default: cuda when available)')
    parser.add_argument('-o', '--output', required=True, help='folder for sweep.md/.csv/.json and strip.png')
    args = parser.parse_args(argv)
    try:
        result, paths, title = sweep(args)
    except UserError as err:
        print(f'basicsr-ext: error: {err}', file=sys.stderr)
        sys.exit(2)
    print(sweep_markdown(result, title))
    for path in paths.values():
        print(f'wrote {path}')


if __name__ == '__main__':
    main()
