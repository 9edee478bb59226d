"""basicsr-ext: registered BasicSR extensions. Importing the package adapts basicsr 1.4.2 to the current stack
(:mod:`basicsr_ext.compat`) and registers every arch, dataset, loss and model of the package."""

from basicsr_ext import compat

compat.apply()

from basicsr_ext import archs, data, losses, metrics, models  # noqa: E402,F401  (registration)

__version__ = '0.1.0'
