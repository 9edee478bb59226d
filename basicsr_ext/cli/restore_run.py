"""What ``restore`` does once its arguments are parsed (``basicsr_ext/cli/restore.py`` holds the parser and the
flags' meaning): list the inputs, build the Restorer, restore, write, score against --gt."""

import csv
import io
import os
import sys
import time
from os import path as osp

import cv2
import numpy as np
from tqdm import tqdm

from basicsr_ext.inference.devices import pick_device
from basicsr_ext.inference.restorer import Restorer
from basicsr_ext.inference.zoo import describe, load_zoo, resolve
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import atomic_write, check_output_folder, write_text_atomic
from basicsr_ext.utils.images import IMG_EXTENSIONS, read_image


def list_inputs(items, recursive=False):
    """``[(path, name)]``: the image files of ``items`` (files, or folders: one level, or every level with
    ``recursive``), in order, without duplicates; ``name`` is the output's stem, with its subfolder under a folder
    scanned recursively."""
    found = []
    for item in items:
        if osp.isdir(item):
            names = []
            for root, dirs, files in os.walk(item):
                dirs.sort()
                names += [
                    osp.relpath(osp.join(root, n), item) for n in sorted(files) if n.lower().endswith(IMG_EXTENSIONS)
                ]
                if not recursive:
                    break
            if not names:
                where = ' in it or its subfolders' if recursive else ''
                raise UserError(f'--input {item}: no images{where} ({", ".join(IMG_EXTENSIONS)})')
            found += [(osp.join(item, n), osp.splitext(n)[0]) for n in names]
        elif osp.isfile(item):
            found.append((item, osp.splitext(osp.basename(item))[0]))
        else:
            raise UserError(f'--input {item}: no such file or folder')
    names = {}
    for path, name in found:
        if name in names and names[name] != path:
            raise UserError(f'two inputs would both write {name}: {names[name]} and {path}')
        names[name] = path
    return list(dict.fromkeys(found))


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


EXT_ALIASES = {'.jpeg': 'jpg', '.jpg': 'jpg', '.tif': 'tiff', '.tiff': 'tiff', '.png': 'png'}


def output_name(name, img, ext='png', source=None, suffix=''):
    """``<name>[_<suffix>].<ext>``: ``ext`` png, jpg or tiff, or 'auto' (the ``source`` file's own format, PNG for
    others); a float image is always a float TIFF (PNG and JPEG hold integers only: float TIFF in, float TIFF out)."""
    img = np.asarray(img)
    if np.issubdtype(img.dtype, np.floating):
        ext = 'tiff'
    elif ext == 'auto':
        ext = EXT_ALIASES.get(osp.splitext(source or '')[1].lower(), 'png')
    if ext == 'jpg' and img.dtype != np.uint8:
        raise UserError(
            f'--ext jpg: the output of {source or name} is {img.dtype}; JPEG holds 8 bits (use png or tiff)'
        )
    return f'{name}_{suffix}.{ext}' if suffix else f'{name}.{ext}'


def write_image(path, img):
    """Write ``img`` atomically through OpenCV (channel order as it reads them): PNG, JPEG or TIFF (a float image as a
    float32 TIFF); its subfolder is made."""
    suffix = osp.splitext(path)[1]
    if np.issubdtype(np.asarray(img).dtype, np.floating):
        img = np.ascontiguousarray(img, dtype=np.float32)
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)

    def write(tmp):
        if not cv2.imwrite(tmp, img):
            raise UserError(f'cannot write {path}')

    atomic_write(path, write, suffix=suffix)


def build_restorer(args):
    """The Restorer of ``--model`` (an AOS model of one plane takes the 0 m integral as a grey image)."""
    entry = resolve(args.model)
    if entry is not None and entry.task == 'aos':
        flags = {'--opt': args.opt, '--param-key': args.param_key, '--coef': args.coef, '--dni': args.dni}
        given = [flag for flag, value in flags.items() if value is not None]
        if given:
            raise UserError(f'{", ".join(given)}: not for the AOS restorer {entry.name} (image restorers only)')
    return Restorer(
        args.model,
        opt=args.opt,
        param_key=args.param_key,
        device=args.device,
        precision=precision_of(args, entry),
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
    for path, name in files:
        for ext in ('png', 'tiff', 'jpg'):
            out = osp.join(folder, f'{name}.{ext}')
            if osp.exists(out) and osp.samefile(out, path):
                raise UserError(
                    f'--output {folder}: would replace the input {path}; write the outputs to another folder'
                )


def precision_of(args, entry=None):
    """--precision, or fp32 with --fp32, else Real-ESRGAN's default: half precision on a GPU, fp32 on the CPU (and for
    the AOS zoo models, whose pooled ground level is only checked in fp32, as aos_restore's default)."""
    if args.fp32:
        if args.precision not in (None, 'fp32'):
            raise UserError(f'--fp32 and --precision {args.precision}: give one')
        return 'fp32'
    if args.precision is not None:
        return args.precision
    if entry is not None and entry.task == 'aos':
        return 'fp32'
    return 'fp16' if pick_device(args.device).type == 'cuda' else 'fp32'


def outscaled(out, img, outscale, scale, note):
    """The output resized to ``outscale`` x the input (Lanczos, as Real-ESRGAN's ``--outscale``), or as it is."""
    if outscale is None or outscale == scale:
        return out
    h, w = np.asarray(img).shape[:2]
    size = (max(1, int(round(w * outscale))), max(1, int(round(h * outscale))))
    note(f'output resized from x{scale} to x{outscale:g} by Lanczos interpolation (--outscale)')
    resized = cv2.resize(out, size, interpolation=cv2.INTER_LANCZOS4)
    return resized.clip(0, 1).astype(out.dtype) if np.issubdtype(out.dtype, np.floating) else resized


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
    if args.outscale is not None and not args.outscale > 0:
        raise UserError(f'--outscale: expected a scale > 0, got {args.outscale:g}')
    if args.gt and not osp.isdir(args.gt):
        raise UserError(f'--gt: not a folder: {args.gt}')
    restorer = build_restorer(args)
    if restorer.descriptor.is_aos and len(restorer.heights) > 1:
        return run_stacks(args, restorer)
    files = list_inputs(args.input, args.recursive)
    check_outputs(files, args.output, args.input)
    gts = {path: find_gt(args.gt, osp.basename(name)) for path, name in files} if args.gt else {}
    if not restorer.descriptor.is_aos:
        print(restorer.settings, flush=True)
    crop_border, y_channel = metric_settings(args, restorer)
    rows, failed, start = [], [], time.time()
    for path, name in tqdm(files, unit='image', disable=len(files) < 2, file=sys.stderr):
        try:  # everything is read and checked before the output is written: a failing image writes nothing
            img = read_image(path)
            gt = read_image(gts[path], what='ground truth') if args.gt else None
            try:
                out = outscaled(restorer.restore(img), img, args.outscale, restorer.scale, restorer.note)
            except UserError as err:  # about the image's content: name it
                raise UserError(f'{path}: {err}') from None
            target = osp.join(args.output, output_name(name, out, args.ext, path, args.suffix))
            if args.gt:
                base = baseline(img, out, restorer.scale)
                row = (name, *scores(out, gt, crop_border, y_channel, gts[path]))
                rows.append(row + scores(base, gt, crop_border, y_channel, gts[path]))
            write_image(target, out)
        except UserError as err:
            if len(files) == 1:
                raise
            failed.append(path)
            print(f'restore: {name}: {err}', file=sys.stderr)
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


def run_stacks(args, restorer):
    """An AOS model of several focal planes: the inputs are focal stacks, restored as ``aos_restore`` does."""
    from basicsr_ext.cli.aos_restore import build_parser as aos_parser
    from basicsr_ext.cli.aos_restore_run import run as aos_run

    image_flags = {
        '--outscale': args.outscale,
        '--suffix': args.suffix or None,
        '--ext': None if args.ext == 'png' else args.ext,
        '--recursive': args.recursive or None,
        '--crop-border': args.crop_border,
        '--y-channel': args.y_channel or None,
        '--tile-overlap': args.tile_overlap,
    }
    given = [flag for flag, value in image_flags.items() if value is not None]
    if given:
        raise UserError(f'{", ".join(given)}: for image restorers; {args.model} restores focal stacks')
    argv = ['--input', *args.input, '--output', args.output, '--model', args.model]
    argv += ['--gt', args.gt] if args.gt else []
    return aos_run(aos_parser().parse_args(argv), restorer)


def baseline(img, out, scale):
    """What a restoration must beat, in the output's size and channel layout: the input upscaled by OpenCV's bicubic
    (``INTER_CUBIC``) for a super-resolution net, the input itself (the noisy image, the integral) otherwise."""
    base = np.asarray(img)
    if base.ndim == 3 and base.shape[2] == 4:
        base = base[..., :3]
    if base.shape[:2] != out.shape[:2]:
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
