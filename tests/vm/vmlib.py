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
import shutil
import sys
import tempfile
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


def app_vm_cmd(images, sock, console, append, mac, mem_mb=256, accel='tcg',
               mtu=1500):
    """QEMU for an app-image VM whose one NIC is a vhost-user virtio-net on
    SOCK (memfd shared memory; no MSI-X vectors: vhost-user's notifiers
    crash QEMU 7.2 under TCG with them), APPEND after the console
    settings."""
    return [
        'qemu-system-x86_64', '-M', 'q35', '-accel', accel, '-smp', '1',
        '-m', str(mem_mb), '-nodefaults', '-no-user-config', '-no-reboot',
        '-display', 'none', '-monitor', 'none', '-serial', 'file:' + console,
        '-object', 'memory-backend-memfd,id=mem,size=%dM,share=on' % mem_mb,
        '-numa', 'node,memdev=mem',
        '-kernel', os.path.join(images, 'vmlinuz'),
        '-initrd', os.path.join(images, 'app-initramfs.cpio.gz'),
        '-append', 'console=ttyS0 panic=-1 ' + append,
        '-chardev', 'socket,id=c0,path=%s,reconnect=1' % sock,
        '-netdev', 'vhost-user,id=n0,chardev=c0',
        '-device', 'virtio-net-pci,netdev=n0,mac=%s,host_mtu=%d,vectors=0,'
                   'romfile=' % (mac, mtu),
    ]


class Procs:
    """Processes a test starts, each logging to TMP/NAME.log; with NS, a
    command may run in that network namespace (ip netns exec execs it: the
    pid is the command's)."""

    def __init__(self, tmp, ns=None):
        self.tmp, self.ns = tmp, ns
        self.procs = {}

    def path(self, name):
        return os.path.join(self.tmp, name)

    def start(self, name, cmd, netns=False):
        with open(self.path(name + '.log'), 'a') as out:
            if netns:
                cmd = ['ip', 'netns', 'exec', self.ns] + cmd
            self.procs[name] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                                stdout=out, stderr=out)
        return self.procs[name]


def keep_or_remove(tap, tmp):
    """The run's directory stays with BULKHEAD_VM_KEEP=1 (consoles, logs)."""
    if os.environ.get('BULKHEAD_VM_KEEP') == '1':
        tap.diag('kept ' + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def vm_test(argv, planned, prefix, make_run, steps, after=None):
    """A VM test's frame: PLANNED checks, a temporary directory (PREFIX...)
    and MAKE_RUN(tmp)'s process table, cleaned up whatever STEPS(tap, run,
    link_bin, build_images) did; AFTER(tap, run) reports on the cleanup.
    Returns the exit status."""
    link_bin, build_images = link_and_images(argv)
    tap = Tap(planned)
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.chmod(tmp, 0o755)  # QEMU's user walks to the sockets
    run = make_run(tmp)
    try:
        steps(tap, run, link_bin, build_images)
    finally:
        run.cleanup()
        tap.finish()
        if after:
            after(tap, run)
        keep_or_remove(tap, tmp)
    return 1 if tap.failed else 0


def eui64(prefix, mac):
    """The address SLAAC gives MAC in the /64 PREFIX (RFC 4291 appendix A:
    the universal/local bit flipped, ff:fe in the middle)."""
    b = bytes.fromhex(mac.replace(':', ''))
    iid = bytes([b[0] ^ 2]) + b[1:3] + b'\xff\xfe' + b[3:]
    p = socket.inet_pton(socket.AF_INET6, prefix)
    return socket.inet_ntop(socket.AF_INET6, p[:8] + iid)
