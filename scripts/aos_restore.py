"""Restore AOS focal stacks you already have (TIFFs, per-plane PNG folders, raw 11-view samples); no GT needed.

The command-line tool of ``basicsr_ext/cli/aos_restore.py`` (installed as ``basicsr-ext-aos-restore``; ``restore``
with an AOS model does the same): ``--help`` lists the flags; details in docs/aos_restore.md.
"""

import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.cli.aos_restore import main  # noqa: E402

if __name__ == '__main__':
    main()
