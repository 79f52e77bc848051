#!/usr/bin/env python3
"""bulkhead-link with the host's own port on side a (--tap-a).

    test_link_tap.py [BULKHEAD_LINK [BUILD_IMAGES]]

    network namespace (stands in for the host): tap bktPID 10.0.0.1
      --tap-a-- bulkhead-link --vhost-user-- VM (app image, bk.role=server,
      10.0.0.2, serving a 4 MiB file over HTTP)

The tap is made beforehand, persistent and owned by the link's user, as
the bulkhead command makes a host port's: the link attaches to it before
it confines itself, and the host's address on it outlives the link.
Checks: the server VM answers pings from the namespace and serves its file
byte-exact over the tap; the link counted both directions; a frame the
namespace sends from another MAC is dropped by --mac-a (counted spoofed)
while the namespace's own traffic crosses; the tap taken down and brought
up again: traffic resumes; the link killed (SIGKILL) and started again on
the same tap: the namespace's address is still there and traffic resumes.

Needs root (namespaces, taps). Prints TAP.
"""
import os
import signal
import subprocess
import time

from vmlib import (Procs, app_vm_cmd, run_main, vm_test, find, image_dir,
                   link_status, results, stop, tail, wait_socket)

HOST_MAC = '52:54:00:c0:00:01'
HOST_IP = '10.0.0.1'
VM_MAC = '52:54:00:c0:00:02'
VM_IP = '10.0.0.2'
MTU = 1500
MEM_MB = 256
READY_TIMEOUT = 150


def sh(*cmd, check=True, timeout=60):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout)
    if check and r.returncode:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(cmd), r.returncode,
                                                r.stdout.strip()))
    return r


class Run(Procs):
    def __init__(self, tmp):
        super().__init__(tmp, 'bk-ltap-%d' % os.getpid())
        self.tapdev = 'bkt%d' % (os.getpid() % 100000)

    def in_ns(self, *cmd, timeout=60):
        return sh('ip', 'netns', 'exec', self.ns, *cmd, check=False,
                  timeout=timeout)

    def cleanup(self):
        for name in ('vm', 'link'):
            stop(self.procs.pop(name, None))
        sh('ip', '-n', self.ns, 'link', 'del', self.tapdev, check=False)
        sh('ip', 'netns', 'del', self.ns, check=False)


def fetch_sha(run):
    """sha256 of the server's file fetched from the namespace, or the error."""
    code = ('import hashlib,urllib.request;'
            'print(hashlib.sha256(urllib.request.urlopen('
            '"http://%s/test.bin", timeout=30).read()).hexdigest())' % VM_IP)
    r = run.in_ns('python3', '-c', code, timeout=90)
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else '(nothing)'


def pings(run, n=3):
    r = run.in_ns('busybox', 'ping', '-c', str(n), '-W', '2', VM_IP, timeout=30)
    for line in r.stdout.splitlines():
        if 'packets received' in line:
            return int(line.split(',')[1].split()[0])
    return 0


def start_link(run, link_bin, sock, control):
    # ip netns exec: the tap is looked up by name in the link's namespace.
    proc = run.start('link', [link_bin, '--tap-a', run.tapdev, '--b', sock,
                              '--mac-a', HOST_MAC, '--mac-b', VM_MAC,
                              '--control', control, '--name', 'host'],
                     netns=True)
    return wait_socket(sock, proc, 10) and wait_socket(control, proc, 10)


def spoofed_frames(run, count):
    """Sends COUNT broadcast frames from another MAC into the tap, from the
    namespace (a packet socket: what the host's stack would never send)."""
    code = ('import socket,time\n'
            's=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n'
            's.bind(("%s",0))\n'
            'f=bytes.fromhex("ffffffffffff"+"525400c00099"+"88b5")+b"bulkhead"*8\n'
            'for i in range(%d):\n'
            '    s.send(f); time.sleep(0.01)\n' % (run.tapdev, count))
    return run.in_ns('python3', '-c', code).returncode == 0


def main(argv):
    return vm_test(argv, 11, 'bulkhead-ltap-', Run, steps)


def steps(tap, run, link_bin, build_images):
    r = subprocess.run([build_images], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    images = image_dir()
    if not tap.check(r.returncode == 0, 'guest images built', r.stdout.strip()
                     if r.returncode else None):
        return
    if os.geteuid() != 0:
        tap.check(False, 'namespace and tap', 'needs root')
        return
    sock, control = run.path('b.sock'), run.path('control.sock')
    try:
        sh('ip', 'netns', 'add', run.ns)
        sh('ip', '-n', run.ns, 'link', 'set', 'lo', 'up')
        # Persistent, owned by the link's user: what `bulkhead up` makes.
        sh('ip', '-n', run.ns, 'tuntap', 'add', 'dev', run.tapdev, 'mode',
           'tap', 'user', 'bulkhead')
        sh('ip', '-n', run.ns, 'link', 'set', run.tapdev, 'address', HOST_MAC)
        sh('ip', '-n', run.ns, 'addr', 'add', HOST_IP + '/24', 'dev', run.tapdev)
        sh('ip', '-n', run.ns, 'link', 'set', run.tapdev, 'up')
        ok, why = start_link(run, link_bin, sock, control), None
        if not ok:
            why = tail(run.path('link.log'))
    except RuntimeError as e:
        ok, why = False, str(e)
    if not tap.check(ok, 'namespace %s, persistent tap %s %s/24, bulkhead-link '
                     '--tap-a on it' % (run.ns, run.tapdev, HOST_IP), why):
        return
    # A name no interface can have: the link says which and stops.
    bad_name = 'bk-name-too-long-for-ifnamsiz'
    r = subprocess.run(
        [link_bin, '--tap-a', bad_name, '--b', run.path('bad.sock'),
         '--no-sandbox'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=10)
    tap.check(r.returncode != 0 and bad_name in r.stdout and
              'File name too long' in r.stdout,
              '--tap-a with a name longer than an interface name: a clear '
              'error naming it', r.stdout.strip())

    console = run.path('vm.console')
    run.start('vm', app_vm_cmd(images, sock, console,
                               'bk.role=server bk.ip=%s/24 bk.peer=%s bk.mtu=%d'
                               % (VM_IP, HOST_IP, MTU), VM_MAC, MEM_MB))
    end = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < end and run.procs['vm'].poll() is None and \
            not find(results(console), 'server-ready'):
        time.sleep(0.2)
    res = results(console)
    served = (find(res, 'server-sha256') or '').split()[1:]
    if not tap.check(find(res, 'server-ready') is not None and served,
                     'server VM booted on side b, serving', tail(console)
                     if not served else None):
        return
    want = served[0]

    n = pings(run)
    got = fetch_sha(run)
    tap.check(n == 3 and got == want,
              'the namespace pings the VM through the tap (3/3) and downloads '
              'its file byte-exact', 'pings %d/3; sha256 %s, served %s\n%s' % (
                  n, got, want, tail(run.path('link.log'), 10)))
    st = link_status(control)
    ab = st['a_to_b'] if st else None
    ba = st['b_to_a'] if st else None
    tap.check(st is not None and ab['packets'] > 0 and ba['bytes'] > 4 << 20 and
              ba['tso_segmented'] > 4 << 20 >> 11 and ab['drops']['spoofed'] == 0,
              'link counted both directions (VM->tap: the 4 MiB, its TSO '
              'frames cut in software for the tap), nothing spoofed',
              None if st and ba['tso_segmented'] > 2048 else 'status: %s' % st)

    # Another source MAC from the host's side: dropped by --mac-a.
    before = ab['drops']['spoofed'] if st else 0
    sent = spoofed_frames(run, 5)
    time.sleep(0.5)
    st2 = link_status(control)
    after = st2['a_to_b']['drops']['spoofed'] if st2 else None
    tap.check(sent and after == before + 5 and pings(run, 2) == 2,
              '5 frames from another MAC into the tap: dropped (spoofed %s -> '
              '%s); the namespace\'s own still cross' % (before, after),
              'sent %s' % sent)

    # The tap down and up again: the link keeps it, traffic resumes.
    sh('ip', '-n', run.ns, 'link', 'set', run.tapdev, 'down')
    time.sleep(0.5)
    sh('ip', '-n', run.ns, 'link', 'set', run.tapdev, 'up')
    n = 0
    end = time.monotonic() + 20
    while time.monotonic() < end and n == 0:
        n = pings(run, 2)
    tap.check(n > 0 and run.procs['link'].poll() is None,
              'tap down and up: the link keeps running, pings cross again',
              'pings %d; link %s' % (n, 'running' if run.procs['link'].poll()
                                     is None else 'exited'))

    # The link killed and started again on the same tap: the host's side
    # (address, routes) is untouched, the VM reconnects, traffic resumes.
    run.procs['link'].send_signal(signal.SIGKILL)
    run.procs['link'].wait()
    addr = run.in_ns('ip', '-o', '-4', 'addr', 'show', 'dev', run.tapdev).stdout
    for p in (sock, control):
        if os.path.exists(p):
            os.unlink(p)
    started = start_link(run, link_bin, sock, control)
    n = 0
    t0 = time.monotonic()
    end = t0 + 60
    while time.monotonic() < end and n == 0:
        n = pings(run, 2)
    tap.check(HOST_IP + '/24' in addr, 'link killed: the tap and the '
              'namespace\'s address %s stay' % HOST_IP, 'tap: %r' % addr)
    got = fetch_sha(run) if n else None
    tap.check(started and n > 0 and got == want,
              'a new link on the same tap: the VM reconnects (%.1f s), pings '
              'and a byte-exact download cross again' % (time.monotonic() - t0),
              'started %s; pings %d; sha256 %s\n%s' % (
                  started, n, got, tail(run.path('link.log'), 10)))
    tap.check(run.procs['vm'].poll() is None, 'the VM kept running throughout',
              tail(console, 10))


if __name__ == '__main__':
    run_main(main)
