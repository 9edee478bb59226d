"""Restore your own images with a zoo model or any BasicSR checkpoint: super-resolution, denoising, modulation.

    python scripts/restore.py --list
    python scripts/restore.py --model srcnn_x2 --input photos/ --output out [--gt hr/] [--tile 256]
    python scripts/restore.py --model adafm_denoise --coef 0.5 --input noisy/ --output out
    python scripts/restore.py --model net_g_latest.pth --opt options/train_srcnn.yml --input a.png --output out
    python scripts/restore.py --model A.pth --dni B.pth --alpha 0.3 --opt options/train_modulation_dni.yml ...

Writes OUT/<stem>.png (the input's bit depth; grey stays grey). With --gt DIR (files of the same stem): PSNR and SSIM
per image and their mean, as test.py computes them (crop_border = the scale), printed and in OUT/report.csv. An input
that cannot be read is reported by name and the others still run (exit code 2 at the end; a single input ends with
its one error line). Nothing is written for an image that fails, and an output that would replace an input is refused.
AOS focal stacks: scripts/aos_restore.py.
"""

import argparse
import csv
import io
import os
import sys
import time
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from basicsr_ext.inference.restorer import Restorer  # noqa: E402
from basicsr_ext.inference.zoo import describe, load_zoo, resolve  # noqa: E402
from basicsr_ext.utils.errors import UserError  # noqa: E402
from basicsr_ext.utils.file_io import atomic_write, check_output_folder, write_text_atomic  # noqa: E402
from basicsr_ext.utils.images import IMG_EXTENSIONS, read_image  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(prog='restore', description=__doc__.splitlines()[0])
    parser.add_argument('--list', action='store_true', help='print the zoo, one model a line, and exit')
    parser.add_argument('--model', help='zoo name (see --list) or checkpoint path')
    parser.add_argument('--input', nargs='+', help='image files and/or folders')
    parser.add_argument('--output', help='output folder')
    parser.add_argument('--opt', help='option file whose network_g builds the net (for checkpoint paths)')
    parser.add_argument(
        '--param-key',
        choices=('auto', 'params', 'params_ema'),
        help="checkpoint group (default auto: the zoo entry's; with --opt, the group its validation scored: params_ema "
        'when the option file trains an EMA, else params; otherwise the EMA when present)',
    )
    parser.add_argument('--gt', help="folder of ground-truth images with the inputs' stems: PSNR/SSIM")
    parser.add_argument('--crop-border', type=int, help="border cropped for PSNR/SSIM (default: the zoo's, or scale)")
    parser.add_argument('--y-channel', action='store_true', help="PSNR/SSIM on the Y channel (default: the zoo's)")
    parser.add_argument('--coef', type=float, help='modulation coefficient of AdaFM / FTN layers (0 = base)')
    parser.add_argument('--dni', help='second checkpoint: weights (1 - alpha) MODEL + alpha DNI')
    parser.add_argument('--alpha', type=float, help='DNI weight of --dni (default 0.5)')
    parser.add_argument('--tile', type=int, help='tile side in input pixels for large images')
    parser.add_argument('--tile-overlap', type=int, help='tile overlap in input pixels (default: tile / 8)')
    parser.add_argument('--self-ensemble', action='store_true', help='median over the 8 dihedral transforms')
    parser.add_argument('--device', help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'fp16', 'bf16'], help='fp16/bf16: GPU only')
    return parser


def list_inputs(items):
    """Image files of ``items`` (files, or folders scanned one level), in order, without duplicates."""
    files = []
    for item in items:
        if osp.isdir(item):
            names = sorted(n for n in os.listdir(item) if n.lower().endswith(IMG_EXTENSIONS))
            if not names:
                raise UserError(f'--input {item}: no images ({", ".join(IMG_EXTENSIONS)})')
            files += [osp.join(item, n) for n in names]
        elif osp.isfile(item):
            files.append(item)
        else:
            raise UserError(f'--input {item}: no such file or folder')
    stems = {}
    for path in files:
        stem = osp.splitext(osp.basename(path))[0]
        if stem in stems and stems[stem] != path:
            raise UserError(f'two inputs would both write {stem}.png: {stems[stem]} and {path}')
        stems[stem] = path
    return list(dict.fromkeys(files))


def find_gt(folder, stem):
    for ext in IMG_EXTENSIONS:
        path = osp.join(folder, stem + ext)
        if osp.isfile(path):
            return path
    raise UserError(f'--gt {folder}: no ground truth for {stem} ({stem}.png, ...)')


def scores(out, gt, crop_border, y_channel, gt_path='ground truth'):
    """PSNR and SSIM as test.py computes them (BasicSR's metrics on uint8 images)."""
    from basicsr.metrics import calculate_psnr, calculate_ssim

    def to8(img):
        if img.dtype == np.uint8:
            return img
        if img.dtype == np.uint16:
            return np.rint(img / 257.0).astype(np.uint8)
        return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)

    out, gt = to8(out), to8(gt)
    if gt.ndim == 3 and out.ndim == 2:
        gt = cv2.cvtColor(gt[..., :3], cv2.COLOR_BGR2GRAY)
    if out.shape != gt.shape[: out.ndim] or (gt.ndim == 3 and out.ndim == 3 and gt.shape[2] != out.shape[2]):
        raise UserError(f'{gt_path}: ground truth is {gt.shape}, the output {out.shape}')
    if 2 * crop_border >= min(out.shape[:2]):
        raise UserError(
            f'--crop-border {crop_border}: leaves nothing of the {out.shape[0]}x{out.shape[1]} output to score'
        )
    y = y_channel and out.ndim == 3
    return (
        calculate_psnr(out, gt, crop_border=crop_border, test_y_channel=y),
        calculate_ssim(out, gt, crop_border=crop_border, test_y_channel=y),
    )


def metric_settings(args, restorer):
    """(crop_border, y_channel): the flags, else the zoo entry's ``metrics``, else the scale and all channels."""
    zoo = (restorer.entry.extra.get('metrics') if restorer.entry is not None else None) or {}
    default = restorer.scale if restorer.scale > 1 else 0
    crop = args.crop_border if args.crop_border is not None else zoo.get('crop_border', default)
    y_channel = args.y_channel or bool(zoo.get('test_y_channel', False))
    return int(crop), y_channel


def output_name(path, img=None):
    """``<stem>.png``, or ``<stem>.tiff`` for a float image (a PNG holds integers only: float TIFF in, float TIFF
    out)."""
    stem = osp.splitext(osp.basename(path))[0]
    floating = img is not None and np.issubdtype(np.asarray(img).dtype, np.floating)
    return f'{stem}.tiff' if floating else f'{stem}.png'


def write_image(path, img):
    """Write ``img`` atomically through OpenCV (channel order as it reads them): PNG, or a float32 TIFF."""
    suffix = osp.splitext(path)[1]
    if suffix == '.tiff':
        img = np.ascontiguousarray(img, dtype=np.float32)

    def write(tmp):
        if not cv2.imwrite(tmp, img):
            raise UserError(f'cannot write {path}')

    atomic_write(path, write, suffix=suffix)


def build_restorer(args):
    """The Restorer of ``--model`` (an AOS zoo model takes the 0 m integral as a grey image)."""
    entry = resolve(args.model)
    if entry is not None and entry.task == 'aos':
        flags = {'--opt': args.opt, '--param-key': args.param_key, '--coef': args.coef, '--dni': args.dni}
        flags['--tile-overlap'] = args.tile_overlap
        given = [flag for flag, value in flags.items() if value is not None]
        if given:
            raise UserError(f'{", ".join(given)}: not for the AOS restorer {entry.name} (image restorers only)')
        return Restorer(
            entry.name, device=args.device, tile=args.tile, self_ensemble=args.self_ensemble, precision=args.precision
        )
    return Restorer(
        args.model,
        opt=args.opt,
        param_key=args.param_key,
        device=args.device,
        precision=args.precision,
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        self_ensemble=args.self_ensemble,
        coef=args.coef,
        dni=args.dni,
        alpha=0.5 if args.alpha is None else args.alpha,
    )


def check_outputs(files, folder, inputs):
    """Refuse an --output folder that is a file or an --input folder, and outputs that would replace an input."""
    check_output_folder(folder, '--output', inputs=inputs)
    for path in files:
        stem = osp.splitext(osp.basename(path))[0]
        for out in (osp.join(folder, f'{stem}.png'), osp.join(folder, f'{stem}.tiff')):
            if osp.exists(out) and osp.samefile(out, path):
                raise UserError(
                    f'--output {folder}: would replace the input {path}; write the outputs to another folder'
                )


def run(args):
    if args.list:
        given = [f'--{flag}' for flag in ('model', 'input', 'output') if getattr(args, flag) is not None]
        if given:
            raise UserError(f'--list prints the zoo and restores nothing; drop {", ".join(given)} (or --list)')
        for entry in load_zoo().values():
            print(describe(entry))
        return 0
    for flag in ('model', 'input', 'output'):
        if getattr(args, flag) is None:
            raise UserError(f'--{flag} is required (or --list)')
    if args.alpha is not None and args.dni is None:
        raise UserError('--alpha: only with --dni (the weight of the second checkpoint)')
    if args.crop_border is not None and args.crop_border < 0:
        raise UserError(f'--crop-border: expected pixels >= 0, got {args.crop_border}')
    files = list_inputs(args.input)
    check_outputs(files, args.output, args.input)
    if args.gt:
        if not osp.isdir(args.gt):
            raise UserError(f'--gt: not a folder: {args.gt}')
        gts = {path: find_gt(args.gt, osp.splitext(osp.basename(path))[0]) for path in files}
    restorer = build_restorer(args)
    if not restorer.descriptor.is_aos:
        print(f'weights: {restorer.param_key} of {args.model} ({restorer.param_key_why})', flush=True)
    crop_border, y_channel = metric_settings(args, restorer)
    rows, failed, start = [], [], time.time()
    for path in tqdm(files, unit='image', disable=len(files) < 2, file=sys.stderr):
        stem = osp.splitext(osp.basename(path))[0]
        try:  # everything is read and checked before the output is written: a failing image writes nothing
            img = read_image(path)
            gt = read_image(gts[path], what='ground truth') if args.gt else None
            try:
                out = restorer.restore(img)
            except UserError as err:  # about the image's content: name it
                raise UserError(f'{path}: {err}') from None
            if args.gt:
                base = baseline(img, out, restorer.scale)
                row = (stem, *scores(out, gt, crop_border, y_channel, gts[path]))
                rows.append(row + scores(base, gt, crop_border, y_channel, gts[path]))
            write_image(osp.join(args.output, output_name(path, out)), out)
        except UserError as err:
            if len(files) == 1:
                raise
            failed.append(path)
            print(f'restore: {stem}: {err}', file=sys.stderr)
    for note in dict.fromkeys(restorer.notes):
        print(f'note: {note}')
    print(
        f'restored {len(files) - len(failed)} of {len(files)} image(s) in {time.time() - start:.1f} s '
        f'on {restorer.device} -> {args.output}'
    )
    if rows:
        print(f'PSNR/SSIM: crop_border {crop_border}, {"Y channel" if y_channel else "all channels"}')
        report(rows, args.output, baseline_name(restorer.scale))
    if failed:
        print(
            f'restore: error: {len(failed)} of {len(files)} inputs failed (reasons above): {", ".join(failed)}',
            file=sys.stderr,
        )
        return 2
    return 0


def baseline(img, out, scale):
    """What a restoration must beat, in the output's size and channel layout: the input upscaled by OpenCV's bicubic
    (``INTER_CUBIC``) for a super-resolution net, the input itself (the noisy image, the integral) otherwise."""
    base = np.asarray(img)
    if base.ndim == 3 and base.shape[2] == 4:
        base = base[..., :3]
    if scale > 1:
        base = cv2.resize(base, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_CUBIC)
    if base.ndim == 2 and out.ndim == 3:
        base = np.repeat(base[..., None], out.shape[2], axis=2)
    elif base.ndim == 3 and out.ndim == 2:
        base = cv2.cvtColor(base, cv2.COLOR_BGR2GRAY)
    return base


def baseline_name(scale):
    return f'bicubic x{scale} (cv2.INTER_CUBIC)' if scale > 1 else 'the input'


def report(rows, folder, baseline_label):
    """Per image and the mean: PSNR/SSIM of the output and of the baseline, the gain, and a flag where the output
    is below the baseline (printed as markdown, written to report.csv)."""
    n = len(rows)
    mean = ('mean', *(sum(r[i] for r in rows) / n for i in range(1, 5)))
    below = [r[0] for r in rows if r[1] < r[3]]
    print(f'baseline: {baseline_label}')
    print('| image | PSNR (dB) | SSIM | baseline PSNR (dB) | baseline SSIM | gain (dB) | |')
    print('|---|---:|---:|---:|---:|---:|---|')
    for stem, psnr, ssim, base_psnr, base_ssim in [*rows, mean]:
        flag = 'below the baseline' if psnr < base_psnr else ''
        cells = f'{psnr:.2f} | {ssim:.4f} | {base_psnr:.2f} | {base_ssim:.4f} | {psnr - base_psnr:+.2f}'
        print(f'| {stem} | {cells} | {flag} |')
    if below:
        print(f'below the baseline ({baseline_label}) on {len(below)} of {n} image(s): {", ".join(below)}')
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['image', 'psnr', 'ssim', 'baseline_psnr', 'baseline_ssim', 'gain_db', 'below_baseline'])
    for stem, psnr, ssim, base_psnr, base_ssim in [*rows, mean]:
        values = [repr(float(v)) for v in (psnr, ssim, base_psnr, base_ssim, psnr - base_psnr)]
        writer.writerow([stem, *values, str(psnr < base_psnr).lower()])
    write_text_atomic(osp.join(folder, 'report.csv'), buf.getvalue())


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except UserError as err:
        print(f'restore: error: {err}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
