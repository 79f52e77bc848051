#!/usr/bin/env python3
"""A VM suite killed mid-run leaves nothing behind.

    test_killed.py BULKHEAD BUILD_IMAGES

Runs tests/orchestration/test_bulkhead.py (a session of its own) until its
topology's domains run, then:

1. SIGTERM to the test alone (as meson's timeout sends it): it takes down
   its domains, supervisor, links, taps and namespaces and removes its
   directory before it exits;
2. again, SIGKILL instead (no cleanup possible): its domains and links are
   left; vmlib.sweep(), which every VM test runs before it starts, finds
   them from the dead test's directory and namespaces and removes them.

After each: no domain bulkhead-t-*, no namespace bk-t-*PID of the test, no
process naming its directory, no directory. Needs root, libvirt, images.
"""
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'vm'))
from vmlib import OWNER, TEST_NS, Tap, run_main, sweep  # noqa: E402
from orchlib import domains, sh  # noqa: E402

BULKHEAD = os.path.abspath(sys.argv[1])
BUILD_IMAGES = os.path.abspath(sys.argv[2])
RUNNING = {'bulkhead-t-net': 'running', 'bulkhead-t-work': 'running'}


def owned_dir(pid):
    """The bk-orch-* directory test PID made, or None."""
    for d in os.listdir('/tmp'):
        try:
            with open(os.path.join('/tmp', d, OWNER)) as f:
                if d.startswith('bk-orch-') and int(f.read()) == pid:
                    return os.path.join('/tmp', d)
        except (OSError, ValueError):
            continue
    return None


def start_until_up(t, what):
    """test_bulkhead.py, run until its domains run; (process, its dir)."""
    log = open(os.path.join('/tmp', 'bk-killed-%d.log' % os.getpid()), 'w')
    p = subprocess.Popen([sys.executable, os.path.join(HERE, 'test_bulkhead.py'),
                          BULKHEAD, BUILD_IMAGES], stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and p.poll() is None:
        if domains('bulkhead-t-') == RUNNING:
            break
        time.sleep(2)
    up = domains('bulkhead-t-') == RUNNING
    d = owned_dir(p.pid)
    t.check(up and d is not None, '%s: test_bulkhead.py brought its '
            'topology up (pid %d, %s)' % (what, p.pid, d), str(domains('bulkhead-t-')))
    return p, d


def leftovers(pid, d):
    """What remains of test PID (directory D): one line each."""
    out = ['domain %s' % n for n in domains('bulkhead-t-')]
    for line in sh('ip', 'netns', 'list').stdout.splitlines():
        m = TEST_NS.fullmatch((line.split() or [''])[0])
        if m and int(m.group(1)) == pid:
            out.append('namespace ' + m.group(0))
    if d:
        out += ['process ' + p for p in
                sh('pgrep', '-f', re.escape(d)).stdout.split()]
        if os.path.exists(d):
            out.append('directory ' + d)
    return out


def main(_argv):
    t = Tap(6)
    for line in sweep(BULKHEAD):
        t.diag('an earlier run\'s leftover removed: ' + line)
    p = None
    try:
        # 1. SIGTERM: the test cleans up itself.
        p, d = start_until_up(t, 'SIGTERM')
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        rc = p.wait(600)
        left = leftovers(p.pid, d)
        t.check(rc != 0, 'SIGTERM: the test exits (status %d) in %.0f s'
                % (rc, time.monotonic() - t0))
        t.check(not left, 'SIGTERM: no domain, namespace, process or directory '
                'of it left', '\n'.join(left))

        # 2. SIGKILL: the next run's sweep cleans up.
        p, d = start_until_up(t, 'SIGKILL')
        p.send_signal(signal.SIGKILL)
        p.wait(60)
        left = leftovers(p.pid, d)
        t.check(left, 'SIGKILL: its domains and directory are left',
                '\n'.join(left))
        removed = sweep(BULKHEAD)
        t.diag('\n'.join(removed))
        left = leftovers(p.pid, d)
        t.check(not left, 'sweep: no domain, namespace, process or directory '
                'of it left', '\n'.join(left))
    except Exception as ex:  # a failure in a step: the rest is not reached
        t.diag('error: %r' % ex)
    finally:
        if p and p.poll() is None:
            p.kill()
            p.wait()
        sweep(BULKHEAD)
        log = '/tmp/bk-killed-%d.log' % os.getpid()
        if os.path.exists(log):
            if t.failed:
                t.diag('test_bulkhead.py said:\n' + open(log).read()[-3000:])
            os.unlink(log)
        t.finish()
    return 1 if t.failed else 0


if __name__ == '__main__':
    run_main(main)
