"""Where and in what precision a restorer runs."""

import torch

from basicsr_ext.utils.errors import UserError

DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}


def pick_device(device=None):
    """``torch.device``: ``device`` ('cpu', 'cuda', 'cuda:1'), or CUDA when available, else the CPU."""
    if device is None:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserError(f'device: expected cpu, cuda or cuda:N, got {device!r}') from None
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise UserError('device: cuda asked for, but no CUDA device is visible (use --device cpu)')
    return device


def check_precision(precision, device, supported=tuple(DTYPES)):
    """The torch dtype of ``precision`` ('fp32', or on a GPU 'fp16' / 'bf16', of those the model ``supported``)."""
    if precision not in DTYPES or precision not in supported:
        raise UserError(f'precision: expected one of {", ".join(supported)}, got {precision!r}')
    if precision != 'fp32' and device.type != 'cuda':
        raise UserError(f'precision {precision}: half precision runs on a GPU; use fp32 on the CPU')
    return DTYPES[precision]
