import importlib
from os import path as osp

from basicsr.utils import scandir

# import every *_loss.py in this folder so its classes register with BasicSR's registries
_folder = osp.dirname(osp.abspath(__file__))
_names = sorted(osp.splitext(osp.basename(p))[0] for p in scandir(_folder) if p.endswith('_loss.py'))
_modules = [importlib.import_module(f'{__name__}.{name}') for name in _names]
