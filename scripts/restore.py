"""Restore your own images (and AOS focal stacks) with a zoo model or any BasicSR checkpoint.

The command-line tool of ``basicsr_ext/cli/restore.py`` (installed as ``basicsr-ext-restore``): ``--help`` lists the
flags, Real-ESRGAN's included (-i, -o, -n, -s, -t, --suffix, --ext, --fp32).
"""

import sys
from os import path as osp

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.cli.restore import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
