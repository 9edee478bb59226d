"""Inference on users' own data: one :class:`Restorer` for every zoo model and checkpoint (AOS focal stacks included),
its model descriptor, input readers for focal stacks, and restorer export."""

from basicsr_ext.inference.aos_inputs import AOSInput, load_input
from basicsr_ext.inference.descriptor import ModelDescriptor
from basicsr_ext.inference.export import export_restorer
from basicsr_ext.inference.restorer import Restorer

__all__ = ['AOSInput', 'ModelDescriptor', 'Restorer', 'export_restorer', 'load_input']
