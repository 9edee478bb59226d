"""How long the demo takes on this machine: start-up, and each kind of request as the page sends it.

    python -m basicsr_ext.demo.timing [--repeats 3] [--device cpu]

Starts ``scripts/demo.py`` twice on a free local port, first with an empty example cache (the simulator runs), then
with the cache it left, and times each from the process start until the page answers. Then sends the page's requests
through Gradio's client API on the bundled examples (the AOS TIFF and raw samples at 512 px, scikit-image's coffee at
600x400) and prints the median wall time of ``--repeats`` calls per row as a Markdown table, the round trip included
(upload, restore, PNG encoding, download). Needs the ``demo`` extra.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from os import path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TIFF = 'simulated 0_2: TIFF, 3 planes, GT'
RAW = 'simulated 0_4: raw 11 views, GT'
PHOTO = 'coffee (scikit-image photo)'
INTEGRAL = 'simulated 0_2: 0 m integral (for aos_sim2real)'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_demo(cache, device):
    """``(process, url, seconds from the process start until the page answers)``."""
    port = free_port()
    url = f'http://127.0.0.1:{port}/'
    start = time.perf_counter()
    cmd = [sys.executable, osp.join(REPO, 'scripts', 'demo.py'), '--port', str(port), '--cache', cache]
    proc = subprocess.Popen([*cmd, '--device', device], stdout=subprocess.DEVNULL)
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f'scripts/demo.py exited with status {proc.returncode}')
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url, time.perf_counter() - start
        except OSError:
            if time.perf_counter() - start > 600:
                proc.kill()
                raise TimeoutError(f'{url}: not serving after 600 s') from None
            time.sleep(0.1)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def timed(client, repeats, *args, api_name):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.predict(*args, api_name=api_name)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def requests(client, repeats):
    """``[(what, seconds)]`` of the page's requests (the first call of each row warms its model cache)."""
    rows = []
    for label, example, se, mp in (
        ('AOS, bundled TIFF 512 px', TIFF, False, False),
        ('AOS, bundled TIFF 512 px, self-ensemble x8', TIFF, True, False),
        ('AOS, bundled TIFF 512 px, multi-pass (up to 3)', TIFF, False, True),
        ('AOS, bundled raw 11 views 512 px (integrated once, then cached)', RAW, False, False),
    ):
        client.predict(example, None, None, se, mp, api_name='/aos_restore')
        rows.append((label, timed(client, repeats, example, None, None, se, mp, api_name='/aos_restore')))
    start = time.perf_counter()
    coefs = [0.1 * i for i in range(1, 6)]
    for coef in coefs:  # each coefficient seen for the first time: its restorer is built
        client.predict(PHOTO, None, 'adafm_denoise', 50, coef, api_name='/modulate')
    rows.append(('modulation slider step to a new coefficient, coffee 600x400', (time.perf_counter() - start) / 5))
    rows.append(
        (
            'modulation slider step to a coefficient seen before',
            timed(client, repeats, PHOTO, None, 'adafm_denoise', 50, coefs[0], api_name='/modulate'),
        )
    )
    for model, image in (
        ('srcnn_x2', PHOTO),
        ('n2n_gaussian', PHOTO),
        ('adafm_denoise', PHOTO),
        ('aos_sim2real', INTEGRAL),
    ):
        client.predict(image, None, model, False, api_name='/zoo_restore')
        what = 'the 0 m integral 512 px' if image == INTEGRAL else 'coffee 600x400'
        rows.append(
            (f'zoo tab: {model}, {what}', timed(client, repeats, image, None, model, False, api_name='/zoo_restore'))
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=3, help='calls per request row (median; default 3)')
    parser.add_argument('--device', default='cpu', help='cpu (default) or cuda')
    args = parser.parse_args(argv)
    from gradio_client import Client

    cache = tempfile.mkdtemp(prefix='basicsr-ext-demo-timing-')
    rows = []
    try:
        proc, _, cold = start_demo(cache, args.device)
        stop(proc)
        rows.append(('start-up, empty example cache (simulates the examples)', cold))
        proc, url, warm = start_demo(cache, args.device)
        rows.append(('start-up, examples cached', warm))
        try:
            client = Client(url, verbose=False, download_files=cache, analytics_enabled=False)
            rows += requests(client, max(1, args.repeats))
        finally:
            stop(proc)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    load = ', '.join(f'{v:.2f}' for v in os.getloadavg())
    print(f'{os.cpu_count()} CPU cores, device {args.device}, load average after the run {load}\n')
    print('| what | seconds |\n|---|---:|')
    for what, seconds in rows:
        print(f'| {what} | {seconds:.2f} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
