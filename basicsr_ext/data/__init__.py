import importlib
from os import path as osp

from basicsr.utils import scandir

# import every *_dataset.py (datasets) and *_prepare.py (data preparers) so they register with the registries
_folder = osp.dirname(osp.abspath(__file__))
_names = sorted(
    osp.splitext(osp.basename(p))[0] for p in scandir(_folder) if p.endswith(('_dataset.py', '_prepare.py'))
)
_modules = [importlib.import_module(f'{__name__}.{name}') for name in _names]
