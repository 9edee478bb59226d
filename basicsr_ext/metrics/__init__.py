import importlib
from os import path as osp

from basicsr.utils import scandir

# import every *_metric.py in this folder so its functions register with BasicSR's METRIC_REGISTRY
_folder = osp.dirname(osp.abspath(__file__))
_names = sorted(osp.splitext(osp.basename(p))[0] for p in scandir(_folder) if p.endswith('_metric.py'))
_modules = [importlib.import_module(f'{__name__}.{name}') for name in _names]
