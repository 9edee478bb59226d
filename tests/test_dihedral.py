"""Dihedral self-ensemble, batched in chunks of transforms."""

import pytest
import torch
from torch import nn

from basicsr_ext.utils.dihedral import TRANSFORMS_8, apply, auto_chunk, invert, self_ensemble


def test_transforms_are_distinct_and_invertible():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    seen = set()
    for k, flip in TRANSFORMS_8:
        y = apply(x, k, flip)
        seen.add(tuple(y.flatten().tolist()) + tuple(y.shape))
        assert torch.equal(invert(y, k, flip), x)
    assert len(seen) == 8


def test_equivariant_function_is_returned_unchanged():
    blur = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        blur.weight.copy_(torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16)
    x = torch.rand(3, 1, 9, 7)
    with torch.no_grad():
        expected = blur(x)
        for reduce in ('median', 'mean'):
            for n in (4, 8):
                assert torch.allclose(self_ensemble(blur, x, n, reduce), expected, atol=1e-6)


@pytest.mark.parametrize('shape', [(3, 2, 8, 8), (2, 2, 6, 10)])
@pytest.mark.parametrize('reduce', ['median', 'mean'])
@pytest.mark.parametrize('chunk', [None, 1, 3, 8])
def test_every_chunking_equals_a_per_sample_loop(shape, reduce, chunk):
    """Batched by ``chunk`` transforms per forward (None: by device, 1 on the CPU), the result is the per-sample loop's,
    with ceil(transforms / chunk) forwards per group of equal shape (two groups when not square)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1))
    x = torch.rand(*shape)
    calls = []

    def counted(batch):
        calls.append(batch.shape[0])
        return net(batch)

    with torch.no_grad():
        batched = self_ensemble(counted, x, 8, reduce, chunk=chunk)
        per_forward = auto_chunk(x, 8) if chunk is None else chunk
        groups = [8] if shape[-1] == shape[-2] else [4, 4]
        assert len(calls) == sum(-(-g // per_forward) for g in groups)
        assert sum(calls) == 8 * shape[0]
        for i in range(shape[0]):
            outs = torch.stack([invert(net(apply(x[i : i + 1], k, f)), k, f) for k, f in TRANSFORMS_8])
            ref = outs.median(dim=0).values if reduce == 'median' else outs.mean(dim=0)
            assert torch.allclose(batched[i : i + 1], ref, atol=1e-6)


def test_auto_chunk_is_one_on_the_cpu_and_fills_a_gpu_within_its_budget():
    assert auto_chunk(torch.zeros(4, 1, 512, 512), 8) == 1
    if torch.cuda.is_available():
        assert auto_chunk(torch.zeros(1, 1, 512, 512, device='cuda'), 8) == 4
        assert auto_chunk(torch.zeros(1, 1, 64, 64, device='cuda'), 8) == 8


def test_bad_arguments():
    with pytest.raises(ValueError, match='4 or 8'):
        self_ensemble(lambda t: t, torch.zeros(1, 1, 4, 4), transforms=2)
    with pytest.raises(ValueError, match='median'):
        self_ensemble(lambda t: t, torch.zeros(1, 1, 4, 4), reduce='max')
    with pytest.raises(ValueError, match='chunk'):
        self_ensemble(lambda t: t, torch.zeros(1, 1, 4, 4), chunk=0)
