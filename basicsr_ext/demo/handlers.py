"""What the demo's three tabs do, numpy in and numpy out, without gradio: the page (``demo/app.py``) only wires them up.

Every restoration is the project's inference code: :class:`~basicsr_ext.inference.restorer.Restorer` (the
shipped default AOS restorer, self-ensemble and multi-pass as ``scripts/aos_restore.py`` runs them), the AOS input
readers of ``inference/aos_inputs.py`` (TIFF stacks, plane PNG folders, raw 11-view samples) and the report's
scores, and :class:`~basicsr_ext.inference.restorer.Restorer` for the zoo and the modulation coefficient (``--coef`` of
``scripts/restore.py``). Mistakes in an upload raise :class:`~basicsr_ext.utils.errors.UserError` with one line that
names the file by its own name (not the temporary folder it was copied to).
"""

import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from os import path as osp

import numpy as np

from basicsr_ext.aos.focal_stack import read_gt
from basicsr_ext.aos.gt_person import locate_person
from basicsr_ext.demo import examples
from basicsr_ext.demo.views import aos_info, as_uint8, boxed, psnr_line
from basicsr_ext.inference.aos_inputs import discover, find_gt, integral_plane, load, select_planes
from basicsr_ext.inference.aos_report import score
from basicsr_ext.inference.restorer import Restorer
from basicsr_ext.inference.zoo import DEFAULT_AOS_MODEL, load_zoo
from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.images import read_image

MULTIPASS = 3  # passes of the multi-pass toggle (the rule keeps pass k + 1 only where it lowers the output's std)
NOISE_SEED = 0  # the noise added in the modulation tab is the same for every coefficient, so outputs compare
WHOLE_MAX, TILE = 1024, 512  # images with a side above WHOLE_MAX px run in tiles of TILE px (bounded memory)
MAX_SIDE = 4096  # larger uploads are refused: scripts/restore.py --tile is the tool for them


class LRU:
    """A small thread-safe cache: restorers (building one reads and checks its weights, 0.1-0.5 s) and loaded AOS
    samples (a raw sample is integrated when read, about 1 s at 512 px)."""

    def __init__(self, size):
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key, make):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


@contextmanager
def staged(paths):
    """The uploaded files copied into one fresh folder under their own names (a folder of planes or a raw sample is
    uploaded as its files); UserErrors raised inside name them without that folder."""
    folder = tempfile.mkdtemp(prefix='basicsr-ext-demo-')
    try:
        seen = set()
        for path in paths:
            name = osp.basename(path)
            if name in seen:
                raise UserError(f'two uploaded files are both called {name}')
            seen.add(name)
            shutil.copyfile(path, osp.join(folder, name))
        try:
            yield folder
        except UserError as err:
            raise UserError(str(err).replace(folder + os.sep, '').replace(folder, 'the upload')) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Demo:
    """The demo's state: the bundled examples and the restorers built so far.

    Args:
        device (str): 'cpu' (default) or 'cuda'.
        cache (str | None): Folder for the bundled examples (default: :func:`examples.default_cache`).
    """

    def __init__(self, device='cpu', cache=None):
        self.device = device
        self.aos_examples, self.image_examples = examples.make_examples(cache)
        self.zoo = load_zoo()
        self.models, self.samples = LRU(32), LRU(4)

    # ------------------------------------------------------------------------------------------------ models
    def aos_restorer(self, self_ensemble=False, multipass=1, model=DEFAULT_AOS_MODEL):
        key = ('aos', model, bool(self_ensemble), int(multipass))
        return self.models.get(
            key, lambda: Restorer(model, device=self.device, self_ensemble=bool(self_ensemble), multipass=multipass)
        )

    def restorer(self, name, coef=None, self_ensemble=False, shape=None):
        """A zoo model by name (an AOS one takes the 0 m integral as an image, as ``scripts/restore.py`` runs it); in
        tiles for an image ``shape`` with a side above WHOLE_MAX."""
        if name not in self.zoo:
            raise UserError(f'model: expected one of {", ".join(self.zoo)}, got {name!r}')
        if self.zoo[name].task == 'aos':
            return self.aos_restorer(self_ensemble, 1, name)  # it tiles images above 512 px itself
        coef = None if coef is None else round(float(coef), 4)
        tile = TILE if shape is not None and max(shape[:2]) > WHOLE_MAX else None
        key = (name, coef, bool(self_ensemble), tile)
        return self.models.get(
            key, lambda: Restorer(name, device=self.device, coef=coef, self_ensemble=bool(self_ensemble), tile=tile)
        )

    # ------------------------------------------------------------------------------------------------ inputs
    def _pick(self, example, files, examples_):
        """``(paths, None)`` for an upload, or ``(None, example path)``; an upload wins over the example."""
        files = [f for f in (files or []) if f]
        if files:
            return files, None
        if example not in examples_:
            raise UserError('upload a file or pick one of the examples')
        return None, examples_[example]

    def aos_sample(self, example, files):
        """``(AOSInput, gt uint8 or None, kind)`` of the example or the upload (cached: the plane view and the
        restore read it again)."""
        paths, location = self._pick(example, files, self.aos_examples)
        heights = self.aos_restorer().heights
        integrate_at = sorted({*examples.HEIGHTS, *heights})  # raw samples: the display planes and the model's
        key = tuple(paths) if paths else location
        if paths:
            return self.samples.get(key, lambda: self._stage_and_read(paths, integrate_at))
        return self.samples.get(key, lambda: read_aos(location, examples.gt_folder(location), integrate_at))

    @staticmethod
    def _stage_and_read(paths, integrate_at):
        with staged(paths) as folder:
            sample, gt, kind = read_aos(folder, folder, integrate_at)
            sample.source = sample.source.replace(folder + os.sep, '').replace(folder, 'the upload')  # for errors
            return sample, gt, kind

    def image(self, example, file):
        """``(image, name)``: the example photo or the uploaded image, as OpenCV reads it (BGR)."""
        paths, location = self._pick(example, [file] if file else None, self.image_examples)
        if location is not None:
            img, name = read_image(location), osp.basename(location)
        else:
            with staged(paths) as folder:
                name = osp.basename(paths[0])
                img = read_image(osp.join(folder, name))
        if max(img.shape[:2]) > MAX_SIDE:
            raise UserError(
                f'{name}: {img.shape[1]}x{img.shape[0]} px is more than the demo takes ({MAX_SIDE} px a side); '
                'scripts/restore.py --tile 512 restores it'
            )
        return img, osp.splitext(name)[0]

    # ------------------------------------------------------------------------------------------------ tab 1: AOS
    def aos_planes(self, example, files):
        """Heights (metres) of the sample's planes, lowest first."""
        sample, _, _ = self.aos_sample(example, files)
        return sorted(sample.heights)

    def aos_view(self, example, files, plane=None):
        """``(RGB view of the plane, its height)``: the plane nearest ``plane`` metres (None: the lowest), with the
        person window when the position is known."""
        sample, gt, _ = self.aos_sample(example, files)
        index = plane_index(sample.heights, plane)
        return boxed(sample.stack[index], person_of(sample, gt)), sample.heights[index]

    def aos_restore(self, example, files, plane=None, self_ensemble=False, multipass=False):
        """Restore the sample with the shipped weights; returns ``{integral, restored, gt, info, png, stem}``: RGB
        views (integral at the chosen plane, restored, GT or None) with the person window, the Markdown summary,
        and the restored image itself (uint8 (H, W)) for the download."""
        sample, gt, kind = self.aos_sample(example, files)
        restorer = self.aos_restorer(self_ensemble, MULTIPASS if multipass else 1)
        planes, _ = select_planes(sample, restorer.heights)
        start = time.perf_counter()
        restored = np.clip(np.rint(restorer.restore_stack(planes.astype(np.float32) / 255.0) * 255.0), 0, 255)
        seconds = time.perf_counter() - start
        restored = restored.astype(np.uint8)
        person = person_of(sample, gt)
        view, height = self.aos_view(example, files, plane)
        scores = score(restored, integral_plane(sample)[0], gt, person) if gt is not None else None
        info = aos_info(sample, kind, height, restorer, seconds, person, scores, self.device)
        return {
            'integral': view,
            'restored': boxed(restored, person),
            'gt': None if gt is None else boxed(gt, person),
            'info': info,
            'png': restored,
            'stem': sample.stem,
        }

    # ------------------------------------------------------------------------------------------------ tab 2
    def modulate(self, example, file, model, sigma, coef):
        """Add Gaussian noise of ``sigma`` (0-255 scale, seeded; 0: none) to the image and restore it with the
        modulation model at ``coef``; returns ``{noisy, out, info, stem}`` (BGR/grey uint8, the PSNRs against the
        clean image when noise was added)."""
        from basicsr_ext.data.noise_models import gaussian

        img, stem = self.image(example, file)
        clean = as_uint8(img)
        sigma, coef = float(sigma or 0), float(coef)
        if not 0 <= coef <= 1:
            raise UserError(f'coefficient: expected 0..1, got {coef:g}')
        if sigma < 0:
            raise UserError(f'noise sigma: expected >= 0, got {sigma:g}')
        if sigma > 0:
            rng = np.random.default_rng(NOISE_SEED)
            noisy = gaussian(clean.astype(np.float32) / 255.0, rng, sigma, clip=True)
            noisy = np.rint(noisy * 255.0).astype(np.uint8)
        else:
            noisy = clean
        restorer = self.restorer(model, coef=coef, shape=noisy.shape)
        start = time.perf_counter()
        out = restorer.restore(noisy)
        seconds = time.perf_counter() - start
        lines = [
            f'**{model}** at coefficient **{coef:g}** on {stem} ({noisy.shape[1]}x{noisy.shape[0]}): '
            f'{seconds:.2f} s on {self.device}'
        ]
        if sigma > 0:
            metrics = self.zoo[model].extra.get('metrics') or {}
            lines.append(
                f'Gaussian noise sigma {sigma:g} added (seed {NOISE_SEED}); PSNR against the clean upload: '
                + psnr_line(noisy, out, clean, metrics)
            )
        else:
            lines.append('No noise added: the upload is taken as the noisy image (no clean image, no PSNR).')
        return {'noisy': noisy, 'out': out, 'info': '\n\n'.join(lines), 'stem': f'{stem}_{model}_coef{coef:g}'}

    # ------------------------------------------------------------------------------------------------ tab 3
    def run_zoo(self, example, file, model, self_ensemble=False):
        """Any zoo model on the image; returns ``{input, out, info, stem}`` (the output in the input's bit depth)."""
        img, stem = self.image(example, file)
        restorer = self.restorer(model, self_ensemble=self_ensemble, shape=img.shape)
        notes = len(restorer.notes)
        start = time.perf_counter()
        if restorer.descriptor.is_aos:
            try:
                out = restorer.restore(img)
            except UserError as err:
                raise UserError(f'{stem}: {err} ({restorer.entry.name} takes a 0 m integral)') from None
        else:
            out = restorer.restore(img)
        seconds = time.perf_counter() - start
        shown = list(dict.fromkeys(restorer.notes))  # its own (a training stage) and this call's
        del restorer.notes[notes:]  # a cached restorer would otherwise collect one note per call
        entry = self.zoo[model]
        lines = [
            f'**{model}** ({entry.task}, {entry.network_g["type"]}{", self-ensemble x8" if self_ensemble else ""}) on '
            f'{stem}: {img.shape[1]}x{img.shape[0]} -> {out.shape[1]}x{out.shape[0]} in {seconds:.2f} s on '
            f'{self.device}',
            *[f'note: {n}' for n in shown],
        ]
        if entry.task == 'modulation':
            lines.append('at its trained level (coefficient 1); the Modulation tab slides it')
        return {'input': img, 'out': out, 'info': '\n\n'.join(lines), 'stem': f'{stem}_{model}'}


def read_aos(location, gt_dir, integrate_at):
    """``(AOSInput, gt or None, kind)`` of the one sample at ``location`` (a TIFF, or a folder holding one sample)."""
    found = discover(location)
    if not found:
        raise UserError(
            'no focal stack in the upload (expected a .tif/.tiff stack, plane PNGs such as 000.png 040.png, or a raw '
            "sample's 11 views R_S_pose_k_thermal.png)"
        )
    if len(found) > 1:
        raise UserError(f'the upload holds {len(found)} samples ({", ".join(s for _, _, s in found)}); upload one')
    kind, loc, stem = found[0]
    sample = load(kind, loc, None, None, integrate_at)
    gt_path = sample.gt_path or (find_gt(gt_dir, stem) if gt_dir else None)
    gt = read_gt(gt_path) if gt_path else None
    if gt is not None and gt.shape != sample.stack.shape[1:]:
        raise UserError(f'{osp.basename(gt_path)}: GT size {gt.shape} differs from the stack {sample.stack.shape[1:]}')
    return sample, gt, kind


def plane_index(heights, plane):
    """Index of the plane nearest ``plane`` metres (a number or its text); the lowest for None or ''."""
    if plane is None or str(plane).strip() == '':
        return int(np.argmin(heights))
    try:
        wanted = float(str(plane).replace('m', '').strip())
    except ValueError:
        raise UserError(f'focal plane: expected a height in metres, got {plane!r}') from None
    return int(np.argmin([abs(h - wanted) for h in heights]))


def person_of(sample, gt):
    """(row, col) of the person: from the stack's metadata or Parameters.txt, else the GT's brightest blob (as
    ``scripts/aos_restore.py`` finds it); None when there is none or it is unknown."""
    if sample.person is False:
        return None
    if sample.person is not None:
        return sample.person
    return locate_person(gt) if gt is not None else None
