#!/usr/bin/env python3
"""bulkhead-input on this host, which has no uinput (its kernel lacks
CONFIG_INPUT_UINPUT; the real device is tested in a VM,
tests/vm/test_input_uinput.py). Checks: no /dev/uinput is one clear
error and exit 78; bad options exit 2; with a pipe standing in for
uinput (test builds, BULKHEAD_TEST_UINPUT_FAKE): a port not there yet is
waited for, the worker confines itself, what comes out is exactly the
accepted events, the status JSON counts the rest by reason, and when the
port drops every key down is released, the device destroyed (the
confined UI_DEV_DESTROY ioctl does not kill it) and it exits 75; on
SIGTERM the same, exit 0.

Usage: test_input.py BULKHEAD_INPUT (a build with -Dtest_triggers=true)"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

from linktest import Tap, control_status, scratch_dir, wait_for

EV_SYN, EV_KEY, EV_REL, EV_MSC, EV_LED = 0, 1, 2, 4, 0x11
KEY_A, KEY_B, BTN_LEFT, MSC_SCAN, LED_CAPSL = 30, 48, 0x110, 4, 1
# A confined worker's uid: this base plus its pid (vmm/sandbox/sandbox.h).
ID_BASE = 0x70c00000


def rec(t, c, v):
    return struct.pack('<qqHHi', 12345, 678, t, c, v)


SYN = rec(EV_SYN, 0, 0)


def events(data):
    """(type, code, value) of each struct input_event in data."""
    return [struct.unpack_from('<qqHHi', data, i)[2:]
            for i in range(0, len(data) - len(data) % 24, 24)]


class Worker:
    """bulkhead-input on a port the test listens on (as QEMU does), a
    FIFO for uinput."""

    def __init__(self, binary, work, cls='keyboard', listen_first=True, extra=()):
        self.work = work
        self.port = os.path.join(work, 'port.sock')
        self.control = os.path.join(work, 'control.sock')
        self.fifo = os.path.join(work, 'uinput')
        self.log_path = os.path.join(work, 'input.log')
        os.mkfifo(self.fifo)
        self.reader = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.srv = None
        if listen_first:
            self.listen()
        self.log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(
            [binary, '--port', self.port, '--class', cls, '--control',
             self.control, '--name', 'usbtest', *extra],
            stdout=self.log, stderr=subprocess.STDOUT,
            env=dict(os.environ, BULKHEAD_TEST_UINPUT=self.fifo,
                     BULKHEAD_TEST_UINPUT_FAKE='1'))
        self.conn = None
        self.out = b''

    def listen(self):
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(self.port)
        self.srv.listen(1)

    def accept(self):
        self.srv.settimeout(10)
        self.conn, _ = self.srv.accept()
        return wait_for(lambda: 'confined' in self.text() or
                        self.proc.poll() is not None, 10) and 'confined' in self.text()

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def read_out(self, want, timeout=5):
        """Reads the pipe until want events came (or timeout)."""
        deadline = time.time() + timeout
        while len(self.out) < 24 * want and time.time() < deadline:
            try:
                chunk = os.read(self.reader, 65536)
                self.out += chunk
            except BlockingIOError:
                time.sleep(0.02)
        return events(self.out)

    def status(self):
        return control_status(self.control)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.reader)
        for s in (self.conn, self.srv):
            if s:
                s.close()


def run(binary, *args, env=None):
    p = subprocess.run([binary, *args], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=20,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout


def no_uinput(tap, binary):
    work = scratch_dir()
    try:
        port = os.path.join(work, 'port.sock')
        if not os.path.exists('/dev/uinput'):
            rc, out = run(binary, '--port', port, '--class', 'keyboard')
            tap.check(rc == 78 and 'no /dev/uinput' in out and
                      'CONFIG_INPUT_UINPUT' in out and out.count('\n') == 1,
                      'no /dev/uinput on this host: one line naming it, exit 78',
                      f'exit {rc}: {out}')
        missing = os.path.join(work, 'no-such-uinput')
        rc, out = run(binary, '--port', port, '--class', 'pointer',
                      env={'BULKHEAD_TEST_UINPUT': missing})
        tap.check(rc == 78 and f'no {missing}' in out,
                  'a missing uinput node: exit 78 (before touching the port)',
                  f'exit {rc}: {out}')
        for args, what in ((['--port', port, '--class', 'mouse'], '--class mouse'),
                           (['--port', port, '--class', 'keyboard', '--rate', '0'], '--rate 0'),
                           (['--port', port, '--class', 'keyboard', '--rate', '100001'], '--rate 100001'),
                           (['--class', 'keyboard'], 'no --port'),
                           (['--port', port], 'no --class')):
            rc, out = run(binary, *args)
            tap.check(rc == 2, f'{what}: exit 2', f'exit {rc}: {out}')
    finally:
        shutil.rmtree(work, ignore_errors=True)


def keyboard_stream(tap, binary):
    work = scratch_dir()
    w = Worker(binary, work, listen_first=False)
    try:
        time.sleep(0.5)
        tap.check(w.proc.poll() is None and 'trying again' in w.text(),
                  'the port not there yet: waited for, logged once',
                  w.text())
        w.listen()
        tap.check(w.accept(), 'connects once the port is there, then confined',
                  w.text())
        st = open(f'/proc/{w.proc.pid}/status').read()
        uid = int(st.split('Uid:')[1].split()[0])
        tap.check(uid == ID_BASE + w.proc.pid, 'runs as its own uid', st)
        stream = (rec(EV_MSC, MSC_SCAN, 0x70004) + rec(EV_KEY, KEY_A, 1) +
                  rec(EV_LED, LED_CAPSL, 1) + rec(EV_KEY, BTN_LEFT, 1) +
                  rec(EV_REL, 0, 5) + rec(EV_KEY, 300, 1) + rec(EV_KEY, KEY_B, 7) +
                  SYN)
        # Cut anywhere: a record split across two writes.
        w.conn.sendall(stream[:37])
        time.sleep(0.1)
        w.conn.sendall(stream[37:])
        got = w.read_out(2)
        tap.check(got == [(EV_KEY, KEY_A, 1), (EV_SYN, 0, 0)],
                  'only the allowed key and its SYN_REPORT come out', got)
        w.conn.sendall(rec(EV_KEY, KEY_B, 1) + SYN + rec(EV_KEY, KEY_A, 2) + SYN)
        got = w.read_out(6)
        tap.check(got[2:] == [(EV_KEY, KEY_B, 1), (EV_SYN, 0, 0),
                              (EV_KEY, KEY_A, 2), (EV_SYN, 0, 0)],
                  'a second key, a repeat of the first', got)
        s = w.status()
        d = s['dropped']
        tap.check(s['class'] == 'keyboard' and s['connected'] and s['device'] and
                  s['records'] == 12 and s['passed'] == 6 and s['frames'] == 3 and
                  s['keys_down'] == 2 and d['type'] == 3 and d['code'] == 2 and
                  d['value'] == 1 and s['rate'] == 200 and
                  s['connect_attempts'] > 1 and s['device_creations'] == 1,
                  'status: records, passed, dropped by reason, keys down',
                  json.dumps(s, indent=1))
        # A half record, then the port drops (sys-usb gone).
        w.conn.sendall(rec(EV_KEY, 16, 1)[:11])
        time.sleep(0.1)
        w.conn.close()
        w.conn = None
        rc = w.proc.wait(timeout=10)
        got = w.read_out(9)
        tap.check(rc == 75 and sorted(got[6:8]) == [(EV_KEY, KEY_A, 0), (EV_KEY, KEY_B, 0)] and
                  got[8:] == [(EV_SYN, 0, 0)],
                  'port dropped: both keys released, SYN_REPORT, exit 75 (the '
                  'confined UI_DEV_DESTROY did not kill it)',
                  f'exit {rc}, {got}\n{w.text()}')
        tap.check('UI_DEV_DESTROY' in w.text(),
                  'the destroy was tried confined (fails on the pipe, logged)', w.text())
    finally:
        w.close()
        shutil.rmtree(work, ignore_errors=True)


def sigterm_and_rate(tap, binary):
    work = scratch_dir()
    w = Worker(binary, work, cls='pointer', extra=('--rate', '100'))
    try:
        tap.check(w.accept(), 'pointer worker up', w.text())
        # Burst 33 at 100/s: 40 frames of REL_X + SYN at once, 16 pass.
        w.conn.sendall((rec(EV_REL, 0, 3) + SYN) * 40 + rec(EV_KEY, BTN_LEFT, 1) +
                       rec(EV_KEY, KEY_A, 1) + rec(EV_REL, 0, 2000) + SYN)
        time.sleep(0.5)
        got = w.read_out(1000, timeout=1)
        s = w.status()
        tap.check(len(got) == 32 and s['rate_limited'] == 25 and s['dropped']['code'] == 1 and
                  s['dropped']['value'] == 1 and s['burst'] == 33,
                  'rate cap: the burst passes, the rest is counted', json.dumps(s, indent=1))
        time.sleep(0.1)
        w.conn.sendall(rec(EV_KEY, BTN_LEFT, 1) + SYN)
        got = w.read_out(34)
        tap.check(got[32:] == [(EV_KEY, BTN_LEFT, 1), (EV_SYN, 0, 0)],
                  'a button after the bucket refilled', got[32:])
        w.proc.send_signal(signal.SIGTERM)
        rc = w.proc.wait(timeout=10)
        got = w.read_out(36)
        tap.check(rc == 0 and got[34:] == [(EV_KEY, BTN_LEFT, 0), (EV_SYN, 0, 0)],
                  'SIGTERM: the button released, exit 0', f'exit {rc} {got[34:]}\n{w.text()}')
    finally:
        w.close()
        shutil.rmtree(work, ignore_errors=True)


def other_ioctl(tap, binary):
    """Confined, ioctl is allowed with UI_DEV_DESTROY only: another
    request (the skeleton's test trigger) kills it."""
    work = scratch_dir()
    w = Worker(binary, work, extra=('--test-trigger', 'ioctl'))
    try:
        w.srv.settimeout(10)
        w.conn, _ = w.srv.accept()
        rc = w.proc.wait(timeout=10)
        tap.check(rc == -signal.SIGSYS and 'ioctl FIONREAD' in w.text() and
                  'ioctl returned' not in w.text(),
                  'confined, an ioctl request other than UI_DEV_DESTROY kills it',
                  f'exit {rc}\n{w.text()}')
    finally:
        w.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    binary = sys.argv[1]
    tap = Tap()
    no_uinput(tap, binary)
    keyboard_stream(tap, binary)
    sigterm_and_rate(tap, binary)
    other_ioctl(tap, binary)
    return tap.finish()


if __name__ == '__main__':
    sys.exit(main())
