#!/usr/bin/env python3
"""The template numbers of issue 16 (docs/templates.md "Measured"),
printed, not asserted:

  - boot of an app VM on the Debian template to qemu-ga's answer plus
    sys-net's lease through `bulkhead up` (its "ready" line), a first start
    (blank private volume: formatted, host keys made) and a restart, against
    the same template booted by plain QEMU to qemu-ga's first answer in the
    same run (tests/vm/test_template.py: what a libvirt or QEMU user gets
    without Bulkhead), as a ratio;
  - a disposable taken from the paused pool (`preload: true`): `bulkhead
    start` until it runs and until its clock is set, twice (the second
    after the supervisor refilled the pool), against what a libvirt user
    does by hand to a paused domain in the same run (`virsh resume` and
    `virsh qemu-agent-command` guest-ping until it answers);
  - disk used per app VM over the template (its overlay and private
    volume, allocated bytes, after boot);
  - the template's build time and sizes, as its manifest recorded them.

Boots VMs under TCG, about 8 minutes: run it alone.

    template_bench.py --build BUILD"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
sys.path.insert(0, os.path.join(ROOT, 'tests', 'orchestration'))
from orchlib import Outside  # noqa: E402

IMAGE_DIR = os.environ.get('BULKHEAD_IMAGE_DIR', '/var/cache/bulkhead/images')
NS, OUT_IP = 'bk-tb-out%d' % os.getpid(), '10.208.9.1'
TOPO = '''version: 2
name: bktb
accel: tcg
driver-vms:
  - name: b-net
    kind: net
    devices:
      - {emulated: e1000e, netns: %s, bridge: br0, mac: "52:54:00:7d:00:02"}
app-vms:
  - name: b-work
    template: debian
    memory: 512
    net: {via: b-net, mac: "52:54:00:7d:01:01", ip: 10.208.1.2/24}
'''
DISP = '''  - name: b-disp
    template: debian
    memory: 384
    disposable: true
    preload: true
    net: {via: b-net, mac: "52:54:00:7d:01:02", ip: 10.208.2.2/24}
'''


def run(cmd, env=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, cwd=ROOT, env=env)
    return r.returncode, r.stdout


def allocated(path):
    try:
        return os.stat(path).st_blocks * 512
    except OSError:
        return 0


def status_state(bk, env, vm):
    rc, out = run(bk + ['status', '--json'], env)
    try:
        return [v.get('state') for t in json.loads(out)
                for v in t.get('vms', []) if v.get('name') == vm][0]
    except (ValueError, IndexError):
        return None


def virsh_take(domain):
    """Seconds from `virsh resume` of paused DOMAIN to qemu-ga's answer."""
    virsh = ['virsh', '-c', 'qemu:///system']
    run(virsh + ['suspend', domain])
    t0 = time.monotonic()
    run(virsh + ['resume', domain])
    while time.monotonic() - t0 < 30:
        rc, _ = run(virsh + ['qemu-agent-command', domain,
                             '{"execute":"guest-ping"}'])
        if rc == 0:
            return time.monotonic() - t0
    return None


def pool_takes(bk, env, path, errors):
    """[(running s, clock set s, command s) per take], [virsh's s]."""
    with open(path, 'a') as f:
        f.write(DISP)
    rc, out = run(bk + ['up', path], env)
    if rc:
        errors.append(out[-600:])
        return [], []
    takes, peer = [], []
    for _ in range(2):
        deadline = time.time() + 300
        while status_state(bk, env, 'b-disp') != 'paused' and \
                time.time() < deadline:
            time.sleep(2)
        t0 = time.monotonic()
        rc, out = run(bk + ['start', 'b-disp'], env)
        wall = time.monotonic() - t0
        m = re.search(r'running \(([0-9.]+) s; clock set ([0-9.]+) s\)', out)
        if rc or not m:
            errors.append(out[-600:])
            break
        takes.append((float(m.group(1)), float(m.group(2)), wall))
        peer.append(virsh_take('bulkhead-b-disp'))
        run(bk + ['stop', 'b-disp'], env)
    return takes, peer


def bulkhead_boots(bulkhead):
    """(first, restart) seconds to ready, disk bytes after boot, the pool's
    takes and the virsh peer's, errors."""
    tmp = tempfile.mkdtemp(prefix='bk-orch-tbench-')
    os.chmod(tmp, 0o755)
    env = dict(os.environ, BULKHEAD_STATE_DIR=os.path.join(tmp, 'state'),
               BULKHEAD_LOG_DIR=os.path.join(tmp, 'log'),
               BULKHEAD_DATA_DIR=os.path.join(tmp, 'data'))
    path = os.path.join(tmp, 'tb.yaml')
    with open(path, 'w') as f:
        f.write(TOPO % NS)
    bk = [bulkhead, '--connect', 'qemu:///system']
    outside = Outside(NS, OUT_IP, tmp)
    times, disk, errors, takes, peer = [], 0, [], [], []
    try:
        outside.up({})
        rc, out = run(bk + ['up', path], env)
        m = re.search(r'b-work: ready, .* \(([0-9.]+) s\)', out)
        times.append(float(m.group(1)) if m else None)
        if rc:
            errors.append(out[-600:])
        vm = os.path.join(tmp, 'data', 'bktb', 'b-work')
        disk = (allocated(os.path.join(vm, 'root.qcow2')) +
                allocated(os.path.join(vm, 'private.qcow2')))
        run(bk + ['stop', 'b-work'], env)
        rc, out = run(bk + ['start', 'b-work'], env)
        m = re.search(r'b-work: ready, .* \(([0-9.]+) s\)', out)
        times.append(float(m.group(1)) if m else None)
        if rc:
            errors.append(out[-600:])
        takes, peer = pool_takes(bk, env, path, errors)
    finally:
        run(bk + ['down', path], env)
        outside.down()
        subprocess.run(['rm', '-rf', tmp])
    return times, disk, takes, peer, errors


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--build', required=True)
    a = p.parse_args(argv)
    bulkhead = os.path.join(a.build, 'orchestration', 'bulkhead')
    link = os.path.join(a.build, 'vmm', 'bulkhead-link')
    rc, out = run([sys.executable, 'tests/vm/test_template.py', link,
                   'guest-os/build-images'])
    plain = [float(x) for x in re.findall(r'boot-to-qemu-ga ([0-9.]+) s', out)]
    times, disk, takes, peer, errors = bulkhead_boots(bulkhead)
    cur = os.path.join(IMAGE_DIR, 'templates', 'debian', 'current')
    try:
        with open(os.path.join(cur, 'manifest.json')) as f:
            man = json.load(f)
    except (OSError, ValueError):
        man = {}
    print('Debian template under TCG (one vCPU, 512 MiB; goal <= 30 s on an'
          ' idle machine)')
    print('  plain QEMU to qemu-ga: %s s (first boot, same volume, another'
          ' blank volume)%s' % (', '.join('%.1f' % x for x in plain),
                                '' if rc == 0 else '  [test_template failed]'))
    print('  bulkhead up to qemu-ga + lease: first %s s, restart %s s' %
          tuple('%.1f' % x if x else '?' for x in (times + [None, None])[:2]))
    if plain and times and times[0] and len(plain) >= 2 and times[1]:
        print('  ratio bulkhead / plain QEMU: first %.2f, restart %.2f' %
              (times[0] / plain[0], times[1] / plain[1]))
    print('  disk per app VM over the template after boot: %.1f MiB'
          ' (goal < 10)' % (disk / 1048576.0))
    for i, (ran, clock, wall) in enumerate(takes):
        p_s = peer[i] if i < len(peer) else None
        print('  disposable from the paused pool, take %d: running %.2f s,'
              ' clock set %.2f s, the whole command %.2f s (goal <= 1 s);'
              ' virsh resume + guest-ping %s s%s' % (
                  i + 1, ran, clock, wall, '%.2f' % p_s if p_s else '?',
                  ', ratio %.2f' % (wall / p_s) if p_s else ''))
    if man:
        print('  template build: %s s recorded (%d packages, kernel %s),'
              ' root.qcow2 %.0f MiB, initrd %.1f MiB' % (
                  man.get('build_seconds'), len(man.get('packages', [])),
                  man.get('kernel_version'),
                  man.get('qcow2_bytes', 0) / 1048576.0,
                  man.get('initrd_bytes', 0) / 1048576.0))
    for e in errors:
        print('error: ' + e)
    return 1 if errors or rc else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
