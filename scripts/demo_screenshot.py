"""Drive the web demo in headless Chromium (Debian's ``chromium``) as a person would, and save what the page shows.

    python scripts/demo_screenshot.py [--out docs/figures] [--chromium chromium] [--port N]

Starts ``scripts/demo.py`` on a free local port and waits until it serves; opens it in headless Chromium, driven
through the DevTools protocol over ``--remote-debugging-pipe`` (no extra package); in each tab clicks Restore on the
preselected example, waits for the outputs and saves ``demo_aos.png``, ``demo_modulation.png``, ``demo_zoo.png``; then
uploads a file that is no image in the zoo tab, clicks Restore and saves the message the page shows
(``demo_error.png``). Prints the start-up time and the seconds each click took until its outputs were on screen.
Stops the browser and the demo it started. Install the browser with ``apt-get install -y chromium``.
"""

import argparse
import base64
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from os import path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
WIDTH, HEIGHT = 1400, 1000
BAD_UPLOAD = b'this is not an image'


class Browser:
    """Headless Chromium and one page, spoken to with the DevTools protocol over a pipe (JSON messages ending in NUL
    on file descriptors 3 (commands) and 4 (replies) of the browser)."""

    def __init__(self, chromium, profile):
        to_browser, self._cmd = os.pipe()
        self._replies, from_browser = os.pipe()
        flags = [
            '--headless',
            '--no-sandbox',  # root in a container
            '--disable-gpu',
            '--hide-scrollbars',
            '--force-device-scale-factor=1',
            f'--window-size={WIDTH},{HEIGHT}',
            f'--user-data-dir={profile}',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--remote-debugging-pipe',
            'about:blank',
        ]
        script = f'exec "$0" "$@" 3<&{to_browser} 4>&{from_browser}'
        self.proc = subprocess.Popen(
            ['sh', '-c', script, chromium, *flags],
            pass_fds=(to_browser, from_browser),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._id = b'', 0
        page = next(t for t in self.send('Target.getTargets')['targetInfos'] if t['type'] == 'page')
        self.session = self.send('Target.attachToTarget', targetId=page['targetId'], flatten=True)['sessionId']

    def send(self, method, timeout=60, to_browser=False, **params):
        self._id += 1
        message = {'id': self._id, 'method': method, 'params': params}
        if not to_browser and getattr(self, 'session', None):  # the page's session, once attached
            message['sessionId'] = self.session
        os.write(self._cmd, json.dumps(message).encode() + b'\0')
        deadline = time.monotonic() + timeout
        while True:
            while b'\0' not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                    raise TimeoutError(f'{method}: no reply from Chromium in {timeout} s')
                chunk = os.read(self._replies, 1 << 20)
                if not chunk:
                    raise RuntimeError('Chromium closed the DevTools pipe (did it start?)')
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b'\0', 1)
            reply = json.loads(raw)
            if reply.get('id') == self._id:
                if 'error' in reply:
                    raise RuntimeError(f'{method}: {reply["error"]}')
                return reply.get('result', {})

    def js(self, expression):
        result = self.send('Runtime.evaluate', expression=expression, returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in result:
            raise RuntimeError(f'{expression}: {result["exceptionDetails"].get("text")}')
        return result['result'].get('value')

    def wait(self, expression, timeout, what):
        """Seconds until the JavaScript ``expression`` is true (polled every 0.1 s)."""
        start = time.monotonic()
        while not self.js(expression):
            if time.monotonic() - start > timeout:
                raise TimeoutError(f'{what}: not on the page after {timeout} s')
            time.sleep(0.1)
        return time.monotonic() - start

    def screenshot(self, path):
        height = self.js('document.documentElement.scrollHeight')
        clip = {'x': 0, 'y': 0, 'width': WIDTH, 'height': max(HEIGHT, int(height)), 'scale': 1}
        data = self.send('Page.captureScreenshot', format='png', clip=clip, captureBeyondViewport=True)['data']
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.send('Browser.close', timeout=10, to_browser=True)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def shown(selector, text):
    """JavaScript: ``selector``'s text holds ``text`` and every image in the tab has loaded."""
    return (
        f'(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return false;'
        f' const tab = e.closest("[role=tabpanel]") || document;'
        f' return e.innerText.includes({json.dumps(text)}) &&'
        f' [...tab.querySelectorAll("img")].every(i => i.complete && i.naturalWidth > 0); }})()'
    )


def click(selector):
    return f'document.querySelector({json.dumps(selector)}).click()'


def open_tab(name):
    tabs = '[...document.querySelectorAll("button[role=tab]")]'
    return f'{tabs}.find(b => b.innerText.trim() == {json.dumps(name)}).click()'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_serving(url, proc, timeout):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f'scripts/demo.py exited with status {proc.returncode} before serving')
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f'{url}: not serving after {timeout} s')


def drive(browser, url, out):
    browser.send('Page.enable')
    browser.send('Page.navigate', url=url)
    seconds = browser.wait(shown('#aos-integral', ''), 120, 'the example integral')
    print(f'page open with the example integral shown: {seconds:.1f} s', flush=True)
    steps = [
        ('AOS de-occlusion', '#aos-restore', '#aos-info', 'Restored from', 'demo_aos.png'),
        ('Modulation', '#modulation-restore', '#modulation-info', 'coefficient', 'demo_modulation.png'),
        ('Zoo model', '#zoo-restore', '#zoo-info', '->', 'demo_zoo.png'),
    ]
    for tab, button, info, text, name in steps:
        browser.js(open_tab(tab))
        browser.js(click(button))
        seconds = browser.wait(shown(info, text), 300, f'{tab} output')
        browser.screenshot(osp.join(out, name))
        print(f'{tab}: Restore clicked -> outputs on screen in {seconds:.1f} s -> {osp.join(out, name)}', flush=True)
    bad = osp.join(tempfile.mkdtemp(prefix='demo-shot-'), 'holiday.png')
    with open(bad, 'wb') as f:
        f.write(BAD_UPLOAD)
    root = browser.send('DOM.getDocument')['root']['nodeId']
    node = browser.send('DOM.querySelector', nodeId=root, selector='#zoo-file input[type=file]')['nodeId']
    browser.send('DOM.setFileInputFiles', files=[bad], nodeId=node)
    browser.wait(shown('#zoo-file', 'holiday.png'), 60, 'the uploaded file')
    browser.js(click('#zoo-restore'))
    seconds = browser.wait('document.body.innerText.includes("cannot read the image")', 60, 'the error message')
    time.sleep(0.5)  # the message slides in
    browser.screenshot(osp.join(out, 'demo_error.png'))
    message = browser.js('[...document.querySelectorAll(".toast-body")].map(t => t.innerText).join(" | ")')
    traceback = browser.js('document.body.innerText.includes("Traceback")')
    print(f'bad upload: message in {seconds:.1f} s: {message!r}; traceback in the page: {traceback}', flush=True)
    return not traceback


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=osp.join(REPO, 'docs', 'figures'), help='folder for the PNGs')
    parser.add_argument('--chromium', default='chromium', help='the browser (default: %(default)s)')
    parser.add_argument('--port', type=int, help='port for the demo (default: a free one)')
    args = parser.parse_args(argv)
    chromium = shutil.which(args.chromium)
    if chromium is None:
        print(f'demo_screenshot: error: {args.chromium} not found (apt-get install -y chromium)', file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    port = args.port or free_port()
    url = f'http://127.0.0.1:{port}/'
    demo = subprocess.Popen([sys.executable, osp.join(REPO, 'scripts', 'demo.py'), '--port', str(port)])
    profile = tempfile.mkdtemp(prefix='demo-chromium-')
    browser = None
    try:
        print(f'demo serving {url} {wait_serving(url, demo, 300):.1f} s after it was started', flush=True)
        browser = Browser(chromium, profile)
        ok = drive(browser, url, args.out)
    finally:
        if browser is not None:
            browser.close()
        demo.terminate()
        try:
            demo.wait(timeout=20)
        except subprocess.TimeoutExpired:
            demo.kill()
        shutil.rmtree(profile, ignore_errors=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
