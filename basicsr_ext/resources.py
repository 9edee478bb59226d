"""Where the shipped files are: the zoo (``weights/``: ``zoo.yml`` and the weight files), the training option files
(``options/``) and the AOS example stacks (``examples/aos``).

In a checkout (``python scripts/...``, an editable install) they are the repository's own folders; in an installed
wheel they are package data under ``basicsr_ext/_data/`` (``setup.py`` copies them there when the wheel is built).
"""

from os import path as osp

PACKAGE = osp.dirname(osp.abspath(__file__))
CHECKOUT = osp.dirname(PACKAGE)


def shipped_dir(name):
    """The folder of the shipped ``name`` ('weights', 'options' or 'examples/aos'): the checkout's when the package
    runs from one, else the installed package data."""
    checkout = osp.join(CHECKOUT, name)
    if osp.isfile(osp.join(CHECKOUT, 'pyproject.toml')) and osp.isdir(checkout):
        return checkout
    return osp.join(PACKAGE, '_data', name)
