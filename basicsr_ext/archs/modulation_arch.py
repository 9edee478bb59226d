"""Continuous-level modulation (Afrimi 2021): AdaFM layers (He et al., CVPR 2019), Filter Transition Networks (Lee et
al. 2020) and the AdaFM-Net they were measured on, plus a way to add either to any registered conv net.

A modulated network is its base network with small extra layers; a coefficient slides it from the base level
(coefficient 0: exactly the base network) to the end level the extra layers were trained for (coefficient 1).

AdaFM (:class:`AdaFM`, after a conv's output)::

    AdaFM(x) = x + lambda * (g' * x + b)      g': depth-wise k x k filter, b: bias, both zero at start

so lambda scales the layer's weight and bias (the paper's g* = I + lambda (g - I) with g = I + g'); lambda 0 is the
identity. Parameters per layer with C channels: C k^2 + C.

FTN (:class:`FTN`, on a conv's filter tensor f of shape out x in x k x k)::

    FTN(f) = W2 * PReLU(W1 * f + b1) + b2     W1, W2: 1x1 convs over the out channels of f, groups g
    conv uses  (1 - alpha) f + alpha FTN(f)   (the conv's bias is not transformed)

f is read as ``in`` images of ``out`` channels and k x k pixels. W1, W2 start as identity matrices, b1, b2 at zero
and the PReLU slopes at 1, so FTN(f) = f at start and the network is the base network at every alpha. With C = out
channels and g = gcd(groups, C) (a layer whose C the groups do not divide uses the largest group count that does,
e.g. the 3-channel output conv under groups 16 uses 1), one FTN has::

    2 (C^2 / g + C) + C   parameters (two grouped 1x1 convs with biases, one PReLU slope per channel)

No official FTN code exists; these formulas reproduce the paper's Table 3 counts for the denoising AdaFM-Net with an
FTN on every conv: 1,406,787 -> 1,832,094 parameters (1.41M -> 1.83M) and 1,440,414 with groups 16 (1.44M); groups 4
gives 1,518,750. (AdaFM layers 5 x 5 at the 33 normalisation positions give Table 3's 1.46M: 1,461,699.)

Adding modulation to a network replaces the chosen ``nn.Conv2d`` modules by :class:`AdaFMConv2d` /
:class:`FTNConv2d`, which keep the conv's own parameters under the same names and hold the new layer as a child
(``<conv>.adafm.weight``, ``<conv>.ftn.conv1.weight``, ...): a base checkpoint loads into the modulated network
with only the new layers missing (``ModulationModel`` allows exactly that), and ``train.trainable_params: [adafm]``
or ``[ftn]`` selects them for stage 2.
"""

import math
import re

import torch
from basicsr.archs.arch_util import ResidualBlockNoBN, default_init_weights, make_layer
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn
from torch.nn import functional as F

from basicsr_ext.utils.errors import UserError

MODULATION_TYPES = ('adafm', 'ftn')


def _coef(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(f'{where}: expected a number (0 = base level, 1 = end level), got {value!r}')
    return float(value)


class AdaFM(nn.Module):
    """Adaptive feature modification: ``x + coef * (depth-wise k x k conv of x)``, identity at start.

    Args:
        num_channels (int): channels of the feature map.
        kernel_size (int): odd filter size; 1 in the paper's released model (its experiments also use 3, 5, 7).
        coef (float): lambda; 0 is the identity (the base level), 1 the level the layer was trained for.
    """

    def __init__(self, num_channels, kernel_size=1, coef=1.0):
        super().__init__()
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise UserError(f'modulation.kernel_size: expected an odd int >= 1, got {kernel_size!r}')
        self.num_channels = num_channels
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.zeros(num_channels, 1, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.coef = _coef(coef, 'modulation.coef')

    def forward(self, x):
        if self.coef == 0:
            return x
        c = self.coef
        return x + F.conv2d(x, self.weight * c, self.bias * c, padding=self.kernel_size // 2, groups=self.num_channels)

    def extra_repr(self):
        return f'{self.num_channels}, kernel_size={self.kernel_size}, coef={self.coef}'


def _identity_1x1_(conv):
    """Set a grouped 1x1 conv (C -> C) to the identity map."""
    with torch.no_grad():
        conv.weight.zero_()
        per_group = conv.weight.shape[1]
        idx = torch.arange(conv.out_channels)
        conv.weight[idx, idx % per_group, 0, 0] = 1.0
        conv.bias.zero_()


class FTN(nn.Module):
    """Filter transition network: maps a conv's filter tensor (out x in x k x k) to another of the same shape.

    ``conv1`` (1x1 over the out channels, groups g) -> PReLU (one slope per channel, 1 at start) -> ``conv2``; both
    convs start as the identity, so ``FTN(f) == f`` at start.

    Args:
        num_channels (int): the filter's output channels C.
        groups (int): 1 (the paper's FTN), 4 or 16 (FTN-gc4 / FTN-gc16); g = gcd(groups, C) is used.
    """

    def __init__(self, num_channels, groups=1):
        super().__init__()
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise UserError(f'modulation.groups: expected an int >= 1, got {groups!r}')
        self.groups = math.gcd(groups, num_channels)
        self.conv1 = nn.Conv2d(num_channels, num_channels, 1, groups=self.groups)
        self.act = nn.PReLU(num_channels, init=1.0)
        self.conv2 = nn.Conv2d(num_channels, num_channels, 1, groups=self.groups)
        _identity_1x1_(self.conv1)
        _identity_1x1_(self.conv2)

    def forward(self, weight):
        x = weight.transpose(0, 1)  # in x out x k x k: `in` images with `out` channels
        return self.conv2(self.act(self.conv1(x))).transpose(0, 1)


def ftn_num_params(out_channels, groups=1):
    """Parameters of one FTN on a conv with ``out_channels`` outputs (the formula in the module docstring)."""
    g = math.gcd(groups, out_channels)
    return 2 * (out_channels * out_channels // g + out_channels) + out_channels


def adafm_num_params(channels, kernel_size=1):
    """Parameters of one AdaFM layer."""
    return channels * kernel_size * kernel_size + channels


class AdaFMConv2d(nn.Conv2d):
    """A ``Conv2d`` followed by an :class:`AdaFM` layer on its output (child ``adafm``)."""

    def forward(self, x):
        return self.adafm(super().forward(x))


class FTNConv2d(nn.Conv2d):
    """A ``Conv2d`` whose filter is ``(1 - coef) f + coef FTN(f)`` (child ``ftn``); coef 0 is the plain conv."""

    def forward(self, x):
        c = self.coef
        weight = self.weight if c == 0 else (1 - c) * self.weight + c * self.ftn(self.weight)
        return self._conv_forward(x, weight, self.bias)

    def extra_repr(self):
        return f'{super().extra_repr()}, coef={self.coef}'


def _converted(conv, cls):
    new = cls(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    new.weight = conv.weight
    new.bias = conv.bias
    new.train(conv.training)
    return new


def conv_names(net):
    """Names of the plain ``nn.Conv2d`` modules of ``net`` (the ones modulation can be added to)."""
    return [name for name, m in net.named_modules() if type(m) is nn.Conv2d]


def add_modulation(net, type='adafm', convs=None, exclude=None, kernel_size=1, groups=1, coef=1.0, where='modulation'):
    """Add AdaFM or FTN layers to the plain ``nn.Conv2d`` modules of ``net`` (in place); returns their names.

    Args:
        type (str): 'adafm' (after the conv's output) or 'ftn' (on the conv's filter).
        convs (list[str] | None): regular expressions; a conv is chosen when one matches its module name
            (``re.search``). None: every conv.
        exclude (list[str] | None): regular expressions of convs to leave alone.
        kernel_size (int): AdaFM filter size (odd). Only for 'adafm'.
        groups (int): FTN groups (1, 4, 16 in the paper). Only for 'ftn'.
        coef (float): the modulation coefficient the network starts with (1 = the trained end level).
    """
    if type not in MODULATION_TYPES:
        raise UserError(f'{where}.type: expected one of {", ".join(MODULATION_TYPES)}, got {type!r}')
    patterns = {}
    for key, value in (('convs', convs), ('exclude', exclude)):
        if value is None:
            patterns[key] = None
            continue
        if isinstance(value, str):
            value = [value]
        try:
            patterns[key] = [re.compile(str(p)) for p in value]
        except (TypeError, re.error) as err:
            raise UserError(f'{where}.{key}: expected a list of regular expressions, got {value!r} ({err})') from None
    coef = _coef(coef, f'{where}.coef')
    available = conv_names(net)
    chosen = [
        n
        for n in available
        if (patterns['convs'] is None or any(p.search(n) for p in patterns['convs']))
        and not any(p.search(n) for p in patterns['exclude'] or ())
    ]
    if not chosen:
        shown = ', '.join(available[:12]) + (', ...' if len(available) > 12 else '')
        cls = net.__class__.__name__
        raise UserError(f'{where}.convs: no nn.Conv2d of {cls} matches; its convs: {shown or "none"}')
    modules = dict(net.named_modules())
    with torch.random.fork_rng(devices=[]):  # building the new layers leaves the caller's random stream alone
        for name in chosen:
            _replace(net, modules, name, type, kernel_size, groups, coef)
    return chosen


def _replace(net, modules, name, type, kernel_size, groups, coef):
    conv = modules[name]
    parent_name, _, child = name.rpartition('.')
    parent = modules[parent_name] if parent_name else net
    if type == 'adafm':
        new = _converted(conv, AdaFMConv2d)
        new.adafm = AdaFM(conv.out_channels, kernel_size, coef).to(conv.weight.device)
    else:
        new = _converted(conv, FTNConv2d)
        new.ftn = FTN(conv.out_channels, groups).to(conv.weight.device)
        new.coef = coef
    parent._modules[child] = new


def modulation_layers(net):
    """``{name: module}`` of the modulated convs of ``net``."""
    return {n: m for n, m in net.named_modules() if isinstance(m, (AdaFMConv2d, FTNConv2d))}


def set_modulation_coef(net, coef):
    """Set the coefficient (AdaFM's lambda, FTN's alpha) of every modulation layer of ``net``; returns their count."""
    coef = _coef(coef, 'modulation coefficient')
    layers = modulation_layers(net)
    for m in layers.values():
        if isinstance(m, AdaFMConv2d):
            m.adafm.coef = coef
        else:
            m.coef = coef
    return len(layers)


def modulation_coefs(net):
    """The coefficients of the modulation layers of ``net``, sorted, each once (one value after
    :func:`set_modulation_coef`; empty without layers)."""
    return sorted({m.adafm.coef if isinstance(m, AdaFMConv2d) else m.coef for m in modulation_layers(net).values()})


def modulation_param_names(net):
    """Names of the parameters that belong to the modulation layers (not to the base network)."""
    names = set()
    for name, m in modulation_layers(net).items():
        child = m.adafm if isinstance(m, AdaFMConv2d) else m.ftn
        prefix = f'{name}.{"adafm" if isinstance(m, AdaFMConv2d) else "ftn"}.'
        names.update(prefix + n for n, _ in child.named_parameters())
    return names


def _modulate(net, modulation, where, default_convs=None):
    if modulation is None:
        return
    if not isinstance(modulation, dict):
        raise UserError(f'{where}: expected a mapping such as {{type: adafm, kernel_size: 1}}, got {modulation!r}')
    opts = dict(modulation)
    mtype = opts.pop('type', None)
    allowed = {'convs', 'exclude', 'coef', 'kernel_size' if mtype == 'adafm' else 'groups'}
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise UserError(f'{where}: unknown keys {unknown} for type {mtype!r}; expected {sorted(allowed)}')
    if default_convs is not None and mtype in default_convs:
        opts.setdefault('convs', default_convs[mtype])
    add_modulation(net, mtype, where=where, **opts)


@ARCH_REGISTRY.register()
def ModulatedNet(base, modulation):  # noqa: N802 (a registered network type, named as BasicSR's are)
    """Any registered network with AdaFM or FTN layers added: ``{type: ModulatedNet, base: {type: MSRResNet, ...},
    modulation: {type: adafm | ftn, convs, exclude, kernel_size | groups, coef}}``.

    Returns the base network itself (its class and parameter names unchanged) with the chosen convs modulated, so
    checkpoints of the plain base network load into it (see :func:`add_modulation`).
    """
    from basicsr.archs import build_network

    if not isinstance(base, dict) or 'type' not in base:
        raise UserError(f'network_g.base: expected the base network options with a type, got {base!r}')
    net = build_network(dict(base))
    _modulate(net, modulation, 'network_g.modulation')
    return net


# AdaFM's positions in the paper's network: after both convs of every block and after the conv closing the trunk
ADAFM_NET_ADAFM_CONVS = [r'^body\.\d+\.conv[12]$', r'^conv_body$']


@ARCH_REGISTRY.register()
class AdaFMNet(nn.Module):
    """The residual network of AdaFM (He et al. 2019) and FTN's denoising experiments (the official ``AdaResNet``).

    ::

        conv_first   3x3, stride 2 (downsample) or 1      num_in_ch -> F
        body         num_block x [conv1 3x3, ReLU, conv2 3x3] + identity
        conv_body    3x3, then + conv_first's output      F -> F
        upsample     conv 3x3 F -> 4F, PixelShuffle(2), ReLU        (downsample only; 'upconv': nearest x2, conv
                                                                     F -> F, ReLU)
        conv_hr      3x3, ReLU                            F -> F
        conv_last    3x3                                  F -> num_out_ch

    The defaults (F = 64, 16 blocks, stride-2 head, pixel-shuffle tail) are the paper's denoising network with
    1,406,787 parameters (Table 3 of the FTN paper: 1.41M). ``downsample: false`` keeps full resolution throughout
    (no stride, no upsampler). Inputs of odd size are padded (reflect) to even and cropped back. Convs start as
    Kaiming normal x 0.1 with zero biases (the official initialisation).

    ``modulation: {type: adafm, kernel_size: 1}`` adds AdaFM after both convs of every block and after ``conv_body``
    (33 layers: the official ``norm_type: adafm`` positions); ``{type: ftn, groups: 1 | 4 | 16}`` adds an FTN to
    every conv. ``convs`` / ``exclude`` choose other convs (see :func:`add_modulation`).
    """

    def __init__(
        self,
        num_in_ch=3,
        num_out_ch=3,
        num_feat=64,
        num_block=16,
        downsample=True,
        upsampler='pixelshuffle',
        res_scale=1.0,
        modulation=None,
    ):
        super().__init__()
        for key, value, minimum in (
            ('num_in_ch', num_in_ch, 1),
            ('num_out_ch', num_out_ch, 1),
            ('num_feat', num_feat, 1),
            ('num_block', num_block, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise UserError(f'network_g.{key}: expected an int >= {minimum}, got {value!r}')
        if upsampler not in ('pixelshuffle', 'upconv'):
            raise UserError(f"network_g.upsampler: expected 'pixelshuffle' or 'upconv', got {upsampler!r}")
        self.downsample = bool(downsample)
        self.upsampler = upsampler
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 2 if self.downsample else 1, 1)
        # BasicSR's conv-ReLU-conv block (AdaFM, when added, follows each conv: conv-AdaFM-ReLU-conv-AdaFM); every
        # conv is initialised below
        self.body = make_layer(ResidualBlockNoBN, num_block, num_feat=num_feat, res_scale=res_scale, pytorch_init=True)
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        if self.downsample:
            if upsampler == 'pixelshuffle':
                self.upsample = nn.Sequential(
                    nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2), nn.ReLU(inplace=True)
                )
            else:
                self.upsample = nn.Sequential(
                    nn.Upsample(scale_factor=2, mode='nearest'),
                    nn.Conv2d(num_feat, num_feat, 3, 1, 1),
                    nn.ReLU(inplace=True),
                )
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)
        default_init_weights([m for m in self.modules() if isinstance(m, nn.Conv2d)], scale=0.1)
        _modulate(self, modulation, 'network_g.modulation', {'adafm': ADAFM_NET_ADAFM_CONVS})

    def forward(self, x):
        h, w = x.shape[-2:]
        if self.downsample and (h % 2 or w % 2):
            mode = 'reflect' if min(h, w) > 1 else 'replicate'
            x = F.pad(x, (0, w % 2, 0, h % 2), mode=mode)
        feat = self.conv_first(x)
        feat = self.conv_body(self.body(feat)) + feat
        if self.downsample:
            feat = self.upsample(feat)
        out = self.conv_last(self.relu(self.conv_hr(feat)))
        return out[..., :h, :w]
