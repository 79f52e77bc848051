#!/usr/bin/env python3
"""The USB numbers of issue 17 (docs/performance.md "USB"), printed, not
asserted: reading an emulated stick in an app VM through sys-usb (USB/IP
over its link) against reading it inside sys-usb, the same stick in the
same run (tests/vm/test_sysusb.py measures both); attach and detach
latency through `bulkhead usb` (tests/orchestration/test_usb.py, three
runs' worth: each test run attaches and detaches). Boots VMs under TCG,
about 10 minutes: run it alone.

    usb_bench.py --build BUILD"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, cwd=ROOT)
    return r.returncode, r.stdout


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--build', required=True)
    p.add_argument('--runs', type=int, default=2)
    a = p.parse_args(argv)
    link = os.path.join(a.build, 'vmm', 'bulkhead-link')
    bulkhead = os.path.join(a.build, 'orchestration', 'bulkhead')
    reads, attach, detach, failed = [], [], [], 0
    for _ in range(a.runs):
        rc, out = run([sys.executable, 'tests/vm/test_sysusb.py', link,
                       'guest-os/build-images'])
        failed += rc != 0
        m = re.search(r'read MiB/s: inside sys-usb ([0-9.]+), in the app VM'
                      r' ([0-9.]+) and ([0-9.]+)', out)
        if m:
            reads.append(tuple(float(x) for x in m.groups()))
        rc, out = run([sys.executable, 'tests/orchestration/test_usb.py',
                       bulkhead])
        failed += rc != 0
        attach += [float(x) for x in re.findall(r'attach latency: ([0-9.]+) s', out)]
        detach += [float(x) for x in re.findall(r'detach latency: ([0-9.]+) s', out)]
    print('USB under TCG, %d runs (%d with a failed check)' % (a.runs, failed))
    print('%-44s %s' % ('read, O_DIRECT (MiB/s)', 'runs'))
    for inside, app1, app2 in reads:
        print('  inside sys-usb %6.1f   app VM over USB/IP %6.1f, %6.1f'
              '   ratio %.2f (goal >= 0.10)' % (inside, app1, app2,
                                                 min(app1, app2) / inside))
    if attach:
        print('attach (s): %s   max %.1f (goal <= 3)' %
              (' '.join('%.1f' % x for x in attach), max(attach)))
    if detach:
        print('detach (s): %s   max %.1f (goal <= 1)' %
              (' '.join('%.1f' % x for x in detach), max(detach)))
    return 1 if failed or not reads or not attach else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
