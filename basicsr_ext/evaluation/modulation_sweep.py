"""Continuous-level sweeps (Afrimi 2021): PSNR/SSIM of one network over modulation coefficients x noise levels.

A modulated network (AdaFM / FTN layers, ``network_g.modulation``) is run at each coefficient (0 = base level,
1 = end level); a plain network swept with DNI is the blend ``(1 - alpha) * A + alpha * B`` of two checkpoints at
each alpha. Every (coefficient, level) cell is the mean over a folder of clean images, each corrupted by
:class:`NoisyPairDataset` (mode n2c, Gaussian sigma on the 0-255 scale, noise seeded by (seed, image index)) and
measured with BasicSR's ``calculate_psnr`` / ``calculate_ssim`` on ``tensor2img`` images (RGB, no border crop):
the numbers ``basicsr_ext/test.py`` prints for the same options.

:func:`run_sweep` measures, :func:`write_sweep` writes ``sweep.md``, ``sweep.csv``, ``sweep.json`` and
``strip.png`` (one image at one level: noisy input, the output at every coefficient, clean).
"""

import csv
import io
import json
import math
import numbers
import os
from os import path as osp

import torch

from basicsr_ext.archs.modulation_arch import modulation_layers, modulation_param_names, set_modulation_coef
from basicsr_ext.data.noisy_pair_dataset import NoisyPairDataset
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.file_io import load_network_params, write_text_atomic
from basicsr_ext.utils.images import IMG_EXTENSIONS, check_image_file


def _numbers(values, where, minimum=None):
    """Finite real numbers (ints kept as ints, integral floats made ints: ``20.0`` -> ``20``), at least one."""
    values = [values] if isinstance(values, (numbers.Real, str)) else list(values if values is not None else [])
    out = []
    for v in values:
        ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or (minimum is not None and v < minimum):
            bound = f' >= {minimum}' if minimum is not None else ''
            raise UserError(f'{where}: expected finite numbers{bound}, got {v!r}')
        out.append(int(v) if float(v).is_integer() else float(v))
    if not out:
        raise UserError(f'{where}: expected at least one number')
    return out


def _build(net_opt):
    from basicsr.archs import build_network

    if not isinstance(net_opt, dict) or 'type' not in net_opt:
        raise UserError(f'network_g: expected the network options with a type, got {net_opt!r}')
    try:
        return build_network(net_opt)
    except KeyError as err:  # BasicSR's registry: no such type
        raise UserError(f'network_g.type: {err.args[0] if err.args else err}') from None
    except TypeError as err:  # an option the network does not take
        raise UserError(f'network_g ({net_opt["type"]}): {err}') from None


def _fitted(net, state, path):
    """``state`` when it loads strictly into ``net``; otherwise one line naming the file and the first misfit."""
    own = net.state_dict()
    missing, unexpected = [k for k in own if k not in state], [k for k in state if k not in own]
    wrong = [k for k in own if k in state and state[k].shape != own[k].shape]
    cls = net.__class__.__name__
    if missing and set(missing) <= modulation_param_names(net) and not unexpected:
        raise UserError(
            f'{path}: a checkpoint without the modulation layers of network_g ({len(missing)} tensors missing, e.g. '
            f'{missing[0]}); give the stage-2 checkpoint of the modulated network'
        )
    if missing or unexpected:
        what = f'missing {missing[:3]}' if missing else f'unexpected {unexpected[:3]}'
        raise UserError(
            f'{path} does not fit network_g ({cls}): {what} ({len(missing)} missing, {len(unexpected)} unexpected keys)'
        )
    if wrong:
        k = wrong[0]
        raise UserError(
            f'{path} does not fit network_g ({cls}): {k} has shape {tuple(state[k].shape)} in the '
            f'checkpoint, {tuple(own[k].shape)} in the network'
        )
    return state


def _noisy_sets(images, levels, seed, clip):
    """Per level: ``[(name, lq tensor CxHxW, lq uint8, gt uint8)]`` for every image (BGR uint8, tensor2img's)."""
    from basicsr.utils import tensor2img

    sets = {}
    for level in levels:
        dataset = NoisyPairDataset(
            {
                'phase': 'val',
                'mode': 'n2c',
                'dataroot_gt': images,
                'io_backend': {'type': 'disk'},
                'noise': {'type': 'gaussian', 'sigma': level, 'clip': clip},
                'seed': seed,
            }
        )
        items = [dataset[i] for i in range(len(dataset))]
        sets[level] = [
            (osp.splitext(osp.basename(it['gt_path']))[0], it['lq'], tensor2img(it['lq']), tensor2img(it['gt']))
            for it in items
        ]
    return sets


def _metrics(img, gt):
    """PSNR, SSIM and, for colour images, the colour error (``zoo_check.colour_error``; None for grey)."""
    from basicsr.metrics import calculate_psnr, calculate_ssim

    from basicsr_ext.evaluation.zoo_check import colour_error

    colour = colour_error(img, gt) if img.ndim == 3 and img.shape[2] == 3 else None
    return float(calculate_psnr(img, gt, crop_border=0)), float(calculate_ssim(img, gt, crop_border=0)), colour


def _mean(values):
    return sum(values) / len(values)


def run_sweep(
    net_opt,
    levels,
    coefs,
    images,
    checkpoint=None,
    dni=None,
    param_key='params',
    seed=0,
    clip=True,
    device='cpu',
    strip_image=None,
    strip_level=None,
    progress=False,
):
    """Measure a continuous-level network at every coefficient and noise level.

    Args:
        net_opt (dict): ``network_g`` options (BasicSR's ``build_network``); with ``modulation:`` unless ``dni``.
        levels (list[float]): Gaussian noise sigmas (0-255 scale).
        coefs (list[float]): modulation coefficients (0 = base level, 1 = end level), or the DNI alphas.
        images (str): folder of clean images.
        checkpoint (str | None): checkpoint of the modulated network, loaded strictly. None: its initial weights.
        dni (tuple[str, str] | None): checkpoints A and B of a plain network; coefficient c runs
            ``(1 - c) * A + c * B``.
        param_key (str): parameter group of the checkpoints (``params_ema`` falls back to ``params``; any other
            must exist).
        seed (int): noise seed (the noise of image i depends on (seed, i) only). Default: 0.
        clip (bool): clip the noisy images to [0, 1]. Default: True.
        device (str | torch.device): where the network runs. Default: 'cpu'.
        strip_image (str | None): image for the strip (file name, with or without extension). None: the first.
        strip_level (float | None): level for the strip, one of ``levels``. None: ``levels[len(levels) // 2]``.
        progress (bool): show a tqdm bar (for scripts).

    Returns:
        dict: ``method`` ('dni', 'adafm', 'ftn'), ``coefs``, ``levels``, ``images`` (names), ``psnr`` and ``ssim``
        (``[coef][level]``, means over the images), ``best`` (``{level: coef}``, the PSNR argmax),
        ``input_psnr`` / ``input_ssim`` (``{level: value}`` of the noisy inputs), ``seed``, ``clip`` and ``strip``
        (``image``, ``level``, ``input_psnr``, ``psnr`` per coef and the BGR uint8 ``noisy``, ``outputs``, ``clean``).

    Raises:
        UserError: bad coefficients or levels, an image folder without images, a missing or misfitting checkpoint,
            a modulated sweep of a net without modulation layers, or DNI of a net with them.
    """
    from basicsr.utils import tensor2img
    from tqdm import tqdm

    coefs, levels = _numbers(coefs, 'coefs'), _numbers(levels, 'levels', minimum=0)
    if len(set(levels)) < len(levels):
        raise UserError(f'levels: each level once, got {levels}')
    strip_level = levels[len(levels) // 2] if strip_level is None else _numbers(strip_level, 'strip_level')[0]
    if strip_level not in levels:
        raise UserError(f'strip_level: {strip_level:g} is not one of the levels {levels}')
    images = os.fspath(images)
    if not osp.isdir(images):
        raise UserError(f'images: folder not found: {images}')
    names = sorted(n for n in os.listdir(images) if n.lower().endswith(IMG_EXTENSIONS))
    if not names:
        raise UserError(f'images: no images ({", ".join(IMG_EXTENSIONS)}) in {images}')
    for name in names:  # an empty, truncated or non-image file is named before anything runs
        check_image_file(osp.join(images, name))
    fallback = param_key == 'params_ema'  # BasicSR's: a checkpoint without EMA has params
    if dni is not None:
        if checkpoint is not None:
            raise UserError('checkpoint: not used with dni (the two DNI checkpoints are the weights); give one')
        if isinstance(dni, (str, bytes)) or len(dni) != 2:
            raise UserError(f'dni: expected two checkpoints (A: alpha 0, B: alpha 1), got {dni!r}')
        from basicsr_ext.utils.dni import interpolate_state_dicts  # DNI sweeps only

        states = [load_network_params(p, param_key, fallback=fallback)[0] for p in dni]
    else:
        states = [] if checkpoint is None else [load_network_params(checkpoint, param_key, fallback=fallback)[0]]

    net = _build(net_opt)
    layers = modulation_layers(net)
    if dni is not None and layers:
        raise UserError(
            f'network_g.modulation: DNI interpolates two plain networks, but network_g has {len(layers)} modulation '
            'layers; remove network_g.modulation (or sweep the modulated net without dni)'
        )
    if dni is None and not layers:
        raise UserError(
            f'network_g.modulation: {net_opt["type"]} has no modulation layers to sweep; add network_g.modulation '
            '({type: adafm} or {type: ftn}), or interpolate two plain checkpoints with dni'
        )
    paths = list(dni) if dni is not None else [checkpoint]
    states = [_fitted(net, s, p) for s, p in zip(states, paths)]
    if dni is None and states:
        net.load_state_dict(states[0], strict=True)
    net.to(device).eval()

    sets = _noisy_sets(images, levels, seed, clip)
    names = [s[0] for s in sets[levels[0]]]
    if strip_image is None:
        strip_index = 0
    else:
        stems = [osp.splitext(os.fspath(strip_image))[0], os.fspath(strip_image)]
        strip_index = next((i for i, n in enumerate(names) if n in stems), None)
        if strip_index is None:
            raise UserError(f'strip_image: no image {strip_image!r} in {images} (images: {", ".join(names[:8])})')

    inputs = {lv: [_metrics(lq_img, gt) for _, _, lq_img, gt in sets[lv]] for lv in levels}
    psnr, ssim, colour, strip_outputs, strip_psnr = [], [], [], [], []
    bar = tqdm(total=len(coefs) * len(levels), desc='sweep', unit='cell') if progress else None
    with torch.no_grad():
        for coef in coefs:
            if dni is not None:
                net.load_state_dict(interpolate_state_dicts(states[0], states[1], coef), strict=True)
            else:
                set_modulation_coef(net, coef)
            psnr.append([])
            ssim.append([])
            colour.append([])
            for level in levels:
                cell = []
                for i, (_, lq, _, gt) in enumerate(sets[level]):
                    out = tensor2img(net(lq.unsqueeze(0).to(device)))  # 1xCxHxW -> HxWxC BGR uint8
                    cell.append(_metrics(out, gt))
                    if level == strip_level and i == strip_index:
                        strip_outputs.append(out)
                        strip_psnr.append(cell[-1][0])
                psnr[-1].append(_mean([m[0] for m in cell]))
                ssim[-1].append(_mean([m[1] for m in cell]))
                colours = [m[2] for m in cell if m[2] is not None]
                colour[-1].append(_mean(colours) if colours else None)
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()

    best = {lv: coefs[max(range(len(coefs)), key=lambda i: psnr[i][j])] for j, lv in enumerate(levels)}
    _, _, noisy, clean = sets[strip_level][strip_index]
    if dni is not None:
        method = 'dni'
    else:
        method = '+'.join(sorted({'adafm' if hasattr(m, 'adafm') else 'ftn' for m in layers.values()}))
    return {
        'method': method,
        'coefs': coefs,
        'levels': levels,
        'images': names,
        'psnr': psnr,
        'ssim': ssim,
        'colour': colour,
        'best': best,
        'input_psnr': {lv: _mean([m[0] for m in inputs[lv]]) for lv in levels},
        'input_ssim': {lv: _mean([m[1] for m in inputs[lv]]) for lv in levels},
        'seed': seed,
        'clip': clip,
        'strip': {
            'image': names[strip_index],
            'level': strip_level,
            'input_psnr': inputs[strip_level][strip_index][0],
            'psnr': strip_psnr,
            'noisy': noisy,
            'outputs': strip_outputs,
            'clean': clean,
        },
    }


def _coef_name(result):
    return 'alpha' if result.get('method') == 'dni' else 'coef'


def sweep_markdown(result, title):
    """The sweep as markdown: PSNR table (rows: coefficient, columns: level, best per level in bold) and a summary."""
    coefs, levels, psnr = result['coefs'], result['levels'], result['psnr']
    meaning = (
        'DNI alpha (0 = checkpoint A, 1 = checkpoint B)'
        if result.get('method') == 'dni'
        else 'modulation coefficient (0 = base level, 1 = end level)'
    )
    lines = [
        f'# {title}',
        '',
        f'PSNR (dB; RGB, no border crop) averaged over {len(result["images"])} images; rows: {meaning}; columns: '
        f'Gaussian noise sigma (0-255), seeded per image (seed {result["seed"]}, clip {result["clip"]}). The best '
        'coefficient per level is in bold; SSIM is in sweep.csv.',
        '',
        f'| {_coef_name(result)} | ' + ' | '.join(f'sigma {lv:g}' for lv in levels) + ' |',
        '|---:|' + '---:|' * len(levels),
    ]
    for i, coef in enumerate(coefs):
        cells = []
        for j, lv in enumerate(levels):
            text = f'{psnr[i][j]:.2f}'
            cells.append(f'**{text}**' if coef == result['best'][lv] else text)
        lines.append(f'| {coef:g} | ' + ' | '.join(cells) + ' |')
    lines.append('| noisy input | ' + ' | '.join(f'{result["input_psnr"][lv]:.2f}' for lv in levels) + ' |')
    best = ', '.join(
        f'sigma {lv:g}: {result["best"][lv]:g} ({psnr[coefs.index(result["best"][lv])][j]:.2f} dB)'
        for j, lv in enumerate(levels)
    )
    lines += ['', f'Best {_coef_name(result)} per level: {best}.', '']
    if any(c is not None for row in result['colour'] for c in row):
        lines += [
            'Colour error (grey levels: the mean over channels of |mean(output) - mean(clean)|, averaged over the '
            'colour images): a colour cast, which PSNR hardly shows.',
            '',
            f'| {_coef_name(result)} | ' + ' | '.join(f'sigma {lv:g}' for lv in levels) + ' |',
            '|---:|' + '---:|' * len(levels),
        ]
        for coef, row in zip(coefs, result['colour']):
            lines.append(f'| {coef:g} | ' + ' | '.join('n/a' if c is None else f'{c:.2f}' for c in row) + ' |')
        lines.append('')
    return '\n'.join(lines)


def _csv(result):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['coef', 'level', 'psnr', 'ssim', 'colour_error', 'best'])
    for i, coef in enumerate(result['coefs']):
        for j, lv in enumerate(result['levels']):
            best = int(coef == result['best'][lv])
            colour = result['colour'][i][j]
            colour = '' if colour is None else f'{colour:.4f}'
            writer.writerow([coef, lv, f'{result["psnr"][i][j]:.4f}', f'{result["ssim"][i][j]:.6f}', colour, best])
    return buf.getvalue()


def write_sweep(result, out_dir, title):
    """Write ``sweep.md``, ``sweep.csv``, ``sweep.json`` and ``strip.png`` into ``out_dir`` (each atomically).

    Returns:
        dict: ``{'md', 'csv', 'json', 'png'}`` -> the paths written.
    """
    from basicsr_ext.utils.montage import make_montage, write_png

    strip = result['strip']
    plain = {k: v for k, v in result.items() if k != 'strip'}
    plain['strip'] = {k: strip[k] for k in ('image', 'level', 'input_psnr', 'psnr')}
    name = _coef_name(result)
    tiles = [strip['noisy'], *strip['outputs'], strip['clean']]
    labels = [f'noisy sigma {strip["level"]:g}: {strip["input_psnr"]:.2f} dB']
    labels += [f'{name} {c:g}: {p:.2f} dB' for c, p in zip(result['coefs'], strip['psnr'])]
    labels.append(f'clean ({strip["image"]})')
    texts = {'md': sweep_markdown(result, title), 'csv': _csv(result), 'json': json.dumps(plain, indent=2) + '\n'}
    montage = make_montage(tiles, labels, cols=len(tiles))  # everything is made before anything is written
    paths = {key: osp.join(out_dir, f'sweep.{key}') for key in texts}
    for key, text in texts.items():
        write_text_atomic(paths[key], text)
    paths['png'] = osp.join(out_dir, 'strip.png')
    write_png(paths['png'], montage)
    return paths
