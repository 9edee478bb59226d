from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn


@ARCH_REGISTRY.register()
class PlaneSelect(nn.Module):
    """Parameter-free baseline for focal stacks: returns one plane (by index) as the restored image.

    With plane 0 at 0 m this is the raw integral, the row every AOS results table compares against
    (``options/test_aos_integral.yml``).

    Args:
        plane (int): Index of the plane to return. Default: 0.
    """

    def __init__(self, plane=0):
        super().__init__()
        self.plane = plane

    def forward(self, x):
        if not -x.shape[1] <= self.plane < x.shape[1]:
            raise ValueError(f'PlaneSelect plane {self.plane} but the input has {x.shape[1]} planes')
        return x[:, self.plane : self.plane + 1]  # b, 1, h, w
