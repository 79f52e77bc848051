"""Shared pieces of the link's integration tests: TAP output, a
bulkhead-link process with its control socket, and DPDK testpmd front
ends."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


class Tap:
    """TAP on stdout: one "ok"/"not ok" line per check."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, cond, name, diag=None):
        self.n += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {name}", flush=True)
        if not cond:
            self.failed += 1
            for line in str(diag or '').splitlines()[-40:]:
                print(f"# {line}")
        return cond

    def note(self, text):
        for line in str(text).splitlines():
            print(f"# {line}", flush=True)

    def finish(self):
        print(f"1..{self.n}", flush=True)
        return 1 if self.failed or self.n == 0 else 0


class Link:
    """A bulkhead-link process on sockets in a scratch directory."""

    def __init__(self, binary, workdir, *extra, name='test', pass_fds=()):
        self.dir = workdir
        self.a = os.path.join(workdir, 'a.sock')
        self.b = os.path.join(workdir, 'b.sock')
        self.control = os.path.join(workdir, 'control.sock')
        self.log_path = os.path.join(workdir, f'{name}.log')
        self.log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(
            [binary, '--a', self.a, '--b', self.b, '--control', self.control,
             '--name', name, *extra],
            stdout=self.log, stderr=subprocess.STDOUT, pass_fds=pass_fds)
        deadline = time.time() + 10
        # "listening" is logged once the worker is confined.
        while not os.path.exists(self.control) or 'listening on' not in self.text():
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f'bulkhead-link did not start: {self.text()}')
            time.sleep(0.05)

    def status(self):
        return control_status(self.control)

    def alive(self):
        return self.proc.poll() is None

    def fd_count(self):
        return len(os.listdir(f'/proc/{self.proc.pid}/fd'))

    def rss_kib(self):
        with open(f'/proc/{self.proc.pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        return 0

    def text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


TESTPMD = shutil.which('dpdk-testpmd')


class Testpmd:
    """A DPDK testpmd front end (virtio_user) on one or two sockets."""

    def __init__(self, workdir, prefix, ports, mode, extra_args=(),
                 pre_vdevs=(), post_vdevs=(), queues=1):
        """ports: list of (socket path, devargs string); pre_vdevs and
        post_vdevs: other --vdev strings, probed (numbered as ports)
        before and after the virtio_user ones; queues: queue pairs per
        virtio_user port (and testpmd's --rxq/--txq)."""
        self.log_path = os.path.join(workdir, f'testpmd-{prefix}.log')
        self.log = open(self.log_path, 'w')
        vdevs = []
        for arg in pre_vdevs:
            vdevs += ['--vdev', arg]
        for i, (path, devargs) in enumerate(ports):
            arg = f'net_virtio_user{i},path={path},queues={queues}'
            if devargs:
                arg += ',' + devargs
            vdevs += ['--vdev', arg]
        for arg in post_vdevs:
            vdevs += ['--vdev', arg]
        cmd = [TESTPMD, '-l', '0,1', '--no-huge', '-m', '1024', '--no-pci',
               '--single-file-segments', f'--file-prefix=bk{prefix}{os.getpid()}',
               *vdevs, '--', f'--forward-mode={mode}', '--stats-period', '1',
               '--nb-cores=1', '--txd=256', '--rxd=256',
               '--total-num-mbufs=8192',
               *([f'--rxq={queues}', f'--txq={queues}'] if queues > 1 else []),
               *extra_args]
        self.proc = subprocess.Popen(cmd, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def last(self, field):
        """The last value testpmd printed for a counter (RX-packets, ...)."""
        values = re.findall(rf'{field}:\s+(\d+)', self.text())
        return int(values[-1]) if values else 0


def control_status(path):
    """A worker's JSON status from its control socket at path."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)


def scratch_dir():
    return tempfile.mkdtemp(prefix='bulkhead-test-')


def wait_for(pred, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def main_guard(fn):
    tap = Tap()
    try:
        fn(tap)
    except Exception as e:  # a crash of the harness is a failed check
        import traceback
        tap.check(False, f'harness: {e!r}', traceback.format_exc())
    sys.exit(tap.finish())
