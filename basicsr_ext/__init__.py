"""basicsr-ext: registered BasicSR extensions.

Importing the package is cheap: it arranges for BasicSR, whenever it is first imported (by our code, by BasicSR's own
``train.py``, by yours), to be adapted to the current stack (:mod:`basicsr_ext.compat`) and to find every arch,
dataset, loss, metric and model of this package in its registries. So ``scripts/restore.py --help`` and ``import
basicsr_ext.inference`` start without the training stack, and ``import basicsr_ext`` followed by BasicSR's
``build_network`` / ``build_model`` finds ours as before. :func:`register` does the same at once (it is called here
when BasicSR was imported before this package).
"""

import importlib.abc
import importlib.machinery
import sys

__version__ = '0.1.0'

_REGISTERED = False


def register():
    """Adapt BasicSR (:mod:`basicsr_ext.compat`) and register every arch, dataset, loss, metric and model of the
    package (idempotent)."""
    global _REGISTERED
    if _REGISTERED:
        return
    _REGISTERED = True
    _uninstall()
    from basicsr_ext import compat

    compat.apply()
    from basicsr_ext import archs, data, losses, metrics, models  # noqa: F401  (registration)


class _RegisterAfterBasicSR(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``basicsr`` as the path finder does, runs the compat patch BasicSR's import needs first, executes it, then
    :func:`register`."""

    def find_spec(self, name, path=None, target=None):
        if name != 'basicsr':
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        self.loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        from basicsr_ext import compat

        _uninstall()
        compat.torchvision_functional_tensor()  # basicsr's own import fails without it
        self.loader.exec_module(module)
        register()


_FINDER = _RegisterAfterBasicSR()


def _uninstall():
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


if 'basicsr' in sys.modules:  # too late to wait for it
    register()
elif _FINDER not in sys.meta_path:
    sys.meta_path.insert(0, _FINDER)
