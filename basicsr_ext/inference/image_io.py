"""Images in and out of a restorer: any OpenCV image becomes a float tensor in [0, 1], and the output comes back in
the input's type.

Images are numpy arrays as OpenCV reads them (or paths, read so): (H, W) grey, (H, W, 3) BGR or (H, W, 4) BGRA,
uint8, uint16 or float in [0, 1]; the output has the input's dtype and range. An alpha channel is kept: resized to the
output by bicubic interpolation, not restored (as Real-ESRGAN's inference can). The network's input channels decide:
a grey image given to a colour net is repeated to three channels, a colour image given to a grey net is converted to
grey. Colour images reach the net as RGB, as BasicSR's datasets feed it. What was changed is said through ``note``.
"""

import os

import cv2
import numpy as np
import torch

from basicsr_ext.utils.errors import UserError
from basicsr_ext.utils.images import read_image

PEAKS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def check_float_range(img):
    """A float image must hold finite values in [0, 1] (the range every restorer takes): one a tool saved in [0, 255]
    would come out clipped white, a NaN would spread through the network."""
    if img.size and not np.isfinite(img).all():
        raise UserError(f'expected finite values in a {img.dtype} image, got NaN or infinity')
    if img.size and (img.min() < 0 or img.max() > 1):
        raise UserError(
            f'expected a {img.dtype} image in [0, 1], got values from {float(img.min()):g} to {float(img.max()):g}'
        )


def image_array(img):
    """``img`` as a numpy array; a path (str or ``os.PathLike``) is read as OpenCV reads it unchanged (EXIF
    orientation applied), a missing or unreadable file being a UserError naming it; None (what ``cv2.imread`` returns
    for a file it cannot read) is a UserError saying so, not a dtype puzzle."""
    if img is None:
        raise UserError('expected an image array, got None (cv2.imread returns None for a missing or unreadable file)')
    if isinstance(img, (str, os.PathLike)):
        return read_image(os.fspath(img))
    return np.asarray(img)


def peak_of(img):
    """The value of white for ``img``'s dtype (255, 65535, or 1.0 for a float image checked to lie in [0, 1])."""
    if img.dtype in PEAKS:
        return PEAKS[img.dtype]
    if not np.issubdtype(img.dtype, np.floating):
        raise UserError(f'expected a uint8, uint16 or float image, got {img.dtype}')
    check_float_range(img)
    return 1.0


def to_tensor(img, in_channels, note):
    """``(tensor (1, C, H, W) float in [0, 1] RGB with the net's channel count, undo)`` of an image or path."""
    img = image_array(img)
    peak = peak_of(img)
    alpha = None
    if img.ndim == 3 and img.shape[2] == 4:  # the alpha channel is kept: resized, not restored (to_image)
        alpha, img = img[..., 3].astype(np.float32) / peak, img[..., :3]
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
        raise UserError(f'expected an (H, W) or (H, W, 3) image, got shape {img.shape}')
    grey_in = img.ndim == 2
    x = img.astype(np.float32) / peak
    if in_channels == 3 and grey_in:
        x = np.repeat(x[..., None], 3, axis=2)
        note('grey input repeated to the 3 channels the network takes')
    elif in_channels == 1 and not grey_in:
        x = cv2.cvtColor(x, cv2.COLOR_BGR2GRAY)
        note('colour input converted to grey for the 1-channel network')
    x = x[..., ::-1].transpose(2, 0, 1) if x.ndim == 3 else x[None]  # BGR -> RGB, CHW
    return torch.from_numpy(np.ascontiguousarray(x))[None], (img.dtype, peak, grey_in, alpha)


def to_image(y, undo, note):
    """The output tensor (C, H, W) in the input's type, layout and range (see the module docstring)."""
    dtype, peak, grey_in, alpha = undo
    y = y.float().clamp(0, 1).cpu().numpy()
    y = y[0] if y.shape[0] == 1 else y[::-1].transpose(1, 2, 0)  # RGB -> BGR
    if grey_in and y.ndim == 3:
        y = cv2.cvtColor(np.ascontiguousarray(y), cv2.COLOR_BGR2GRAY)
    if alpha is not None:
        note('alpha channel kept: resized by bicubic interpolation, not restored')
        if y.ndim == 2:
            y = np.repeat(y[..., None], 3, axis=2)
        a = cv2.resize(alpha, (y.shape[1], y.shape[0]), interpolation=cv2.INTER_CUBIC).clip(0, 1)
        y = np.dstack([y, a])
    if np.issubdtype(dtype, np.floating):
        return y.astype(dtype)
    return np.clip(np.rint(y * peak), 0, peak).astype(dtype)


def grey_plane(img):
    """``(plane (H, W) float32 in [0, 1], undo)`` of an image given to a one-plane AOS restorer (the 0 m integral as a
    grey image, uint8, uint16 or float; three equal channels are one grey image, a colour image is refused)."""
    img = image_array(img)
    if img.ndim == 3:  # integrals stored with three equal channels; a colour image is no integral
        colour = img[..., : min(img.shape[2], 3)]
        if any(not np.array_equal(colour[..., 0], colour[..., c]) for c in range(1, colour.shape[2])):
            raise UserError(f'expected a grey integral image, got {img.shape[2]} channels that differ (a colour image)')
        img = img[..., 0]
    peak = peak_of(img)
    return img.astype(np.float32) / peak, (img.dtype, peak)


def from_plane(out, undo):
    """The restored plane (H, W) in [0, 1] back in the input's dtype and range."""
    dtype, peak = undo
    if peak == 1.0:
        return out.astype(dtype)
    return np.clip(np.rint(out * peak), 0, peak).astype(dtype)
