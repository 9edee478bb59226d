"""The demo's Gradio page: three tabs wired to :class:`basicsr_ext.demo.handlers.Demo` (docs/demo.md).

    python scripts/demo.py [--port 7860] [--host 127.0.0.1] [--device cpu] [--cache DIR]

:func:`build_app` returns the ``gr.Blocks`` (it makes the bundled examples first); :func:`launch` serves it on
localhost with Gradio's analytics and version check off and no share link; :func:`main` is the command line. Errors in
what a user gave (:class:`~basicsr_ext.utils.errors.UserError`) reach the page as one line (``gr.Error``); anything
else is logged with its traceback on the console and shown as one line too, never as a traceback in the page.
"""

import argparse
import atexit
import functools
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from os import path as osp

import cv2

from basicsr_ext.utils.errors import UserError, one_line

DEFAULT_HOST = '127.0.0.1'
DEFAULT_PORT = 7860
CACHE_CLEANUP = (3600, 3600)  # Gradio deletes the uploads and outputs it keeps once they are an hour old
CONCURRENCY = 'restore'  # one restoration at a time: the CPU is the bottleneck
logger = logging.getLogger('basicsr_ext.demo')
UPLOAD_HELP = (
    "One sample: a focal-stack TIFF (+ its GT PNG), a folder's plane PNGs (`000.png 040.png ... gt.png`), or a raw "
    "sample's 11 views (`R_S_pose_k_thermal.png`, + GT and `Parameters.txt`); see docs/aos_restore.md."
)
COEF_HELP = 'adafm_denoise: 0 = the sigma-20 base network, 1 = the sigma-80 level; releasing the slider re-runs it'

INTRO = """# basicsr-ext demo
Restores with the shipped weights of `weights/zoo.yml` on **{device}**, through the project's own inference code
(`Restorer`; on the command line `scripts/aos_restore.py`, `scripts/restore.py`). The examples were made
on this machine: AOS samples by the project's simulator, photos from scikit-image."""


def quiet_gradio():
    """No analytics, no version check, no Hugging Face telemetry: the demo talks to nothing but its own page."""
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    os.environ.setdefault('HF_HUB_DISABLE_TELEMETRY', '1')
    os.environ.setdefault('HF_HUB_OFFLINE', '1')


def guarded(fn):
    """Turn a UserError into ``gr.Error`` (its one line), and any other failure into one line plus a console log."""
    import gradio as gr

    @functools.wraps(fn)
    def run(*args):
        try:
            return fn(*args)
        except gr.Error:
            raise
        except UserError as err:
            raise gr.Error(one_line(err), print_exception=False) from None
        except Exception as err:  # the page gets one line; the traceback goes to the console
            logger.exception('demo: %s failed', fn.__name__)
            first = (str(err).strip().splitlines() or [''])[0]
            raise gr.Error(f'{type(err).__name__}: {first} (details on the console)', print_exception=False) from None

    return run


def png_file(folder, stem, img):
    """Write ``img`` (OpenCV's BGR or grey) as ``<stem>.png`` in a fresh sub-folder of ``folder``; returns its path."""
    path = osp.join(tempfile.mkdtemp(dir=folder), f'{stem}.png')
    if not cv2.imwrite(path, img):
        raise UserError(f'cannot write {stem}.png')
    return path


def build_app(demo=None, device='cpu', cache=None):
    """The page as ``gr.Blocks`` (not launched). ``demo``: a :class:`~basicsr_ext.demo.handlers.Demo` to reuse."""
    quiet_gradio()
    import gradio as gr

    from basicsr_ext.demo.handlers import MULTIPASS, Demo
    from basicsr_ext.demo.views import to_rgb
    from basicsr_ext.inference.zoo import DEFAULT_AOS_MODEL as DEFAULT_MODEL

    demo = demo or Demo(device=device, cache=cache)
    out_dir = tempfile.mkdtemp(prefix='basicsr-ext-demo-out-')  # the PNGs offered for download, until the exit
    atexit.register(shutil.rmtree, out_dir, True)
    modulation = [n for n, e in demo.zoo.items() if e.task == 'modulation']
    image_models = [n for n, e in demo.zoo.items() if e.task != 'aos'] or [None]  # the default: a photo model
    events = {'concurrency_limit': 1, 'concurrency_id': CONCURRENCY}

    def image(label, elem_id):
        return gr.Image(label=label, type='numpy', format='png', interactive=False, elem_id=elem_id)

    def dropdown(choices, label, default=None):
        choices = list(choices)
        return gr.Dropdown(choices, value=default or (choices[0] if choices else None), label=label)

    def aos_input(example, files):
        heights = [f'{h:g}' for h in demo.aos_planes(example, files)]
        view, _ = demo.aos_view(example, files, heights[0])
        return gr.Dropdown(choices=heights, value=heights[0]), view, None, None, '', None

    def aos_plane(example, files, plane):
        return demo.aos_view(example, files, plane)[0]

    def aos_restore(example, files, plane, self_ensemble, multipass):
        r = demo.aos_restore(example, files, plane, self_ensemble, multipass)
        return r['integral'], r['restored'], r['gt'], r['info'], png_file(out_dir, f'{r["stem"]}_restored', r['png'])

    def modulate(example, file, model, sigma, coef):
        r = demo.modulate(example, file, model, sigma, coef)
        return to_rgb(r['noisy']), to_rgb(r['out']), r['info'], png_file(out_dir, r['stem'], r['out'])

    def run_zoo(example, file, model, self_ensemble):
        r = demo.run_zoo(example, file, model, self_ensemble)
        return to_rgb(r['input']), to_rgb(r['out']), r['info'], png_file(out_dir, r['stem'], r['out'])

    with gr.Blocks(title='basicsr-ext demo', analytics_enabled=False, delete_cache=CACHE_CLEANUP) as app:
        gr.Markdown(INTRO.format(device=demo.device))
        with gr.Tab('AOS de-occlusion', elem_id='tab-aos'):
            with gr.Row():
                with gr.Column(scale=1, min_width=300):
                    a_example = dropdown(demo.aos_examples, 'bundled simulated example')
                    a_files = gr.File(file_count='multiple', label='or upload one sample (used instead)')
                    gr.Markdown(UPLOAD_HELP)
                    a_plane = gr.Dropdown(label='focal plane shown (m)', allow_custom_value=True)
                    a_se = gr.Checkbox(
                        label='self-ensemble (median of 8 flips, 8x slower)',
                        value=demo.zoo[DEFAULT_MODEL].self_ensemble,  # the model's default, as the CLIs
                    )
                    a_mp = gr.Checkbox(label=f'multi-pass (up to {MULTIPASS} passes)')
                    a_run = gr.Button('Restore', variant='primary', elem_id='aos-restore')
                with gr.Column(scale=3):
                    with gr.Row():
                        a_integral = image('integral at the chosen plane', 'aos-integral')
                        a_restored = image(f'restored ({DEFAULT_MODEL})', 'aos-restored')
                        a_gt = image('GT (when known)', 'aos-gt')
                    a_info = gr.Markdown(elem_id='aos-info')
                    a_png = gr.File(label='restored PNG (input size, 8-bit grey)')
            for trigger in (a_example.change, a_files.change, app.load):
                trigger(
                    guarded(aos_input),
                    [a_example, a_files],
                    [a_plane, a_integral, a_restored, a_gt, a_info, a_png],
                    api_visibility='private',
                    **events,
                )
            a_plane.input(guarded(aos_plane), [a_example, a_files, a_plane], a_integral, api_visibility='private')
            a_inputs = [a_example, a_files, a_plane, a_se, a_mp]
            a_outputs = [a_integral, a_restored, a_gt, a_info, a_png]
            a_run.click(guarded(aos_restore), a_inputs, a_outputs, api_name='aos_restore', **events)
        with gr.Tab('Modulation', elem_id='tab-modulation'):
            with gr.Row():
                with gr.Column(scale=1, min_width=300):
                    m_example = dropdown(demo.image_examples, 'example (a clean photo)')
                    m_file = gr.File(label='or upload an image (used instead)', file_types=['image'])
                    m_model = dropdown(modulation, 'model (the zoo models with a coefficient)')
                    m_sigma = gr.Slider(0, 80, value=50, step=5, label='Gaussian noise to add (sigma; 0: none)')
                    m_coef = gr.Slider(0, 1, value=0.5, step=0.05, label='modulation coefficient', info=COEF_HELP)
                    m_run = gr.Button('Restore', variant='primary', elem_id='modulation-restore')
                with gr.Column(scale=3):
                    with gr.Row():
                        m_noisy = image('input (noise added)', 'modulation-input')
                        m_out = image('output', 'modulation-output')
                    m_info = gr.Markdown(elem_id='modulation-info')
                    m_png = gr.File(label='output PNG')
            m_inputs, m_outputs = [m_example, m_file, m_model, m_sigma, m_coef], [m_noisy, m_out, m_info, m_png]
            m_run.click(guarded(modulate), m_inputs, m_outputs, api_name='modulate', **events)
            for trigger in (m_coef.release, m_sigma.release):  # sliding re-runs it
                trigger(guarded(modulate), m_inputs, m_outputs, api_visibility='private', **events)
        with gr.Tab('Zoo model', elem_id='tab-zoo'):
            with gr.Row():
                with gr.Column(scale=1, min_width=300):
                    z_example = dropdown(demo.image_examples, 'example')
                    z_file = gr.File(
                        label='or upload an image (used instead)', file_types=['image'], elem_id='zoo-file'
                    )
                    z_model = dropdown(demo.zoo, 'zoo model (weights/zoo.yml)', default=image_models[0])
                    z_se = gr.Checkbox(label='self-ensemble (8x slower)')
                    z_run = gr.Button('Restore', variant='primary', elem_id='zoo-restore')
                with gr.Column(scale=3):
                    with gr.Row():
                        z_input = image('input', 'zoo-input')
                        z_out = image('output', 'zoo-output')
                    z_info = gr.Markdown(elem_id='zoo-info')
                    z_png = gr.File(label='output PNG (the input bit depth)')
            z_inputs, z_outputs = [z_example, z_file, z_model, z_se], [z_input, z_out, z_info, z_png]
            z_run.click(guarded(run_zoo), z_inputs, z_outputs, api_name='zoo_restore', **events)
    return app


def launch(app, host=DEFAULT_HOST, port=DEFAULT_PORT, block=True):
    """Serve ``app`` on ``host:port`` (never a share link); returns the local URL once it answers."""
    quiet_gradio()
    app.queue(default_concurrency_limit=1)
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        share=False,
        prevent_thread_lock=True,
        show_error=False,
        quiet=True,
        ssr_mode=False,
        mcp_server=False,
        footer_links=[],
    )
    if block:
        app.block_thread()
    return url


def check_port(host, port):
    """UserError when ``host:port`` cannot be bound (out of range, taken, not an address of this machine)."""
    if not 0 < port < 65536:
        raise UserError(f'--port: expected 1..65535, got {port}')
    try:
        with socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET) as s:
            s.bind((host, port))
    except OSError as err:
        raise UserError(
            f'--host {host} --port {port}: cannot serve there ({err.strerror or err}); try --port N'
        ) from None


def build_parser():
    parser = argparse.ArgumentParser(prog='demo', description='The basicsr-ext web demo (Gradio), on localhost.')
    parser.add_argument('--port', type=int, default=DEFAULT_PORT, help='port (default: %(default)s)')
    parser.add_argument(
        '--host', default=DEFAULT_HOST, help='address to bind (default: %(default)s, this machine only)'
    )
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda'")
    parser.add_argument('--cache', help='folder for the bundled examples (default: <temp>/basicsr-ext-demo)')
    return parser


def main(argv=None, started=None):
    """The command line; ``started``: ``time.perf_counter()`` at the process start, for the start-up time printed."""
    args = build_parser().parse_args(argv)
    start = time.perf_counter() if started is None else started
    try:
        import gradio  # noqa: F401
    except ImportError:
        print('demo: error: gradio is not installed: pip install -e ".[demo]"', file=sys.stderr)
        return 2
    try:
        check_port(args.host, args.port)  # before the examples are made: a taken port fails at once
        from basicsr_ext.inference.devices import pick_device

        device = str(pick_device(args.device))
        app = build_app(device=device, cache=args.cache)
    except UserError as err:
        print(f'demo: error: {one_line(err)}', file=sys.stderr)
        return 2
    url = launch(app, args.host, args.port, block=False)
    print(
        f'demo: serving {url} on {device}, ready {time.perf_counter() - start:.1f} s after start (Ctrl-C stops it)',
        flush=True,
    )
    signal.signal(signal.SIGTERM, _interrupt)  # a kill ends it as Ctrl-C does: the server closes, atexit cleans up
    try:
        app.block_thread()  # returns after Ctrl-C, having closed the server
    except KeyboardInterrupt:
        pass
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt
