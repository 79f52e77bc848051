"""Shared helpers of the VM tests (tests/vm/test_*.py): TAP output, guest
consoles, bulkhead-link's control socket, processes.

Guests report on their serial consoles with "BK-RESULT ..." lines (see
guest-os/build-images); results() and find() read them.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Tap:
    """TAP version 12 output: a plan, then one line per check."""

    def __init__(self, planned):
        self.n = 0
        self.failed = 0
        print('1..%d' % planned, flush=True)
        self.planned = planned

    def diag(self, text):
        for line in str(text).splitlines() or ['']:
            print('# ' + line, flush=True)

    def check(self, ok, what, diag=None):
        self.n += 1
        if not ok:
            self.failed += 1
        print('%s %d - %s' % ('ok' if ok else 'not ok', self.n, what), flush=True)
        if diag:
            self.diag(diag)
        return ok

    def finish(self):
        while self.n < self.planned:
            self.check(False, 'not reached (an earlier step failed)')


def clean(text):
    """Console text without escape sequences and control characters."""
    text = re.sub(r'\x1b\[[0-9;?]*[A-Za-z]', '', text)
    return re.sub(r'[^\x09\x0a\x20-\x7e]', '', text)


def tail(path, lines=30):
    try:
        with open(path, 'rb') as f:
            text = clean(f.read().decode('utf-8', 'replace'))
    except FileNotFoundError:
        return ('(no %s: QEMU has not started the guest; it waits for the '
                'vhost-user back end, or failed)' % os.path.basename(path))
    except OSError as e:
        return '(%s)' % e
    if not text.strip():
        return '(%s is empty: the guest printed nothing)' % os.path.basename(path)
    return '\n'.join(text.splitlines()[-lines:])


def results(path):
    """The BK-RESULT lines of a console so far, without the prefix."""
    try:
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return []
    return [clean(m.group(1)).strip()
            for m in re.finditer(r'BK-RESULT ([^\r\n]*)', text)]


def find(res, prefix):
    for r in res:
        if r == prefix or r.startswith(prefix + ' '):
            return r
    return None


def link_status(path):
    """bulkhead-link's JSON status from its control socket, or None."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(path)
        data = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data)
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def side_ok(status, side):
    s = status['sides'][side]
    return s['connected'] and all(q['state'] == 'ok' for q in s['queues'])


def stop(proc, grace=5.0):
    """SIGTERM, then SIGKILL; returns the exit status."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def wait_socket(path, proc, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def image_dir():
    return os.environ.get('BULKHEAD_IMAGE_DIR', '/var/cache/bulkhead/images')


def link_and_images(argv):
    """The bulkhead-link binary and guest-os/build-images, from the command
    line (ARGV[1], ARGV[2]) or their defaults."""
    link_bin = argv[1] if len(argv) > 1 else os.environ.get(
        'BULKHEAD_LINK', os.path.join(ROOT, 'build-test/vmm/bulkhead-link'))
    build_images = argv[2] if len(argv) > 2 else os.path.join(
        ROOT, 'guest-os/build-images')
    return link_bin, build_images


def _on_signal(signum, _frame):
    # SystemExit unwinds through the tests' finally blocks: VMs, links and
    # namespaces are cleaned up on SIGTERM (meson's timeout) too.
    raise SystemExit(128 + signum)


def run_main(main):
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sys.exit(main(sys.argv))
