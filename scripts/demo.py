"""The web demo: restore a focal stack, slide the modulation coefficient, run any zoo model, in the browser.

    pip install -e ".[demo]"
    python scripts/demo.py [--port 7860] [--host 127.0.0.1] [--device cpu] [--cache DIR]

Serves a Gradio page on localhost (no share link, no analytics); details and timings in docs/demo.md.
"""

import sys
import time

START = time.perf_counter()  # the start-up time printed counts the imports too

from os import path as osp  # noqa: E402

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from basicsr_ext.demo.app import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main(started=START))
