"""Inference on users' own data: shipped restorer checkpoints, input readers, the AOS restorer and its report."""

from basicsr_ext.inference.aos_inputs import AOSInput, load_input
from basicsr_ext.inference.aos_restorer import AOSRestorer
from basicsr_ext.inference.export import export_restorer

__all__ = ['AOSInput', 'AOSRestorer', 'export_restorer', 'load_input']
