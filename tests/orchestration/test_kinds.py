#!/usr/bin/env python3
"""A driver-VM kind added by one folder and one table line: the tests' own
kind `dummy` (tests/kinds/dummy/, in test builds only) boots, reports READY
and serves nobody; up, status and down handle it as they handle sys-net.

    test_kinds.py BULKHEAD

Needs root, libvirt and the guest images (the app image boots it)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import Tap, down_topologies, run_main, sweep, test_dir  # noqa: E402

BULKHEAD = os.path.abspath(sys.argv[1])
URI = 'qemu:///system'
TOPO = '''version: 1
name: bkkinds
accel: tcg
driver-vms:
  - name: k-dummy
    kind: dummy
    memory: 256
'''


def main(argv):
    del argv
    t = Tap(9)
    # What a killed earlier run left goes first; this run's directory is
    # marked so that a later one can tell (vmlib.sweep).
    for line in sweep(BULKHEAD):
        t.diag('swept: ' + line)
    tmp = test_dir('bk-orch-kinds-')
    env = dict(os.environ, BULKHEAD_STATE_DIR=os.path.join(tmp, 'state'),
               BULKHEAD_LOG_DIR=os.path.join(tmp, 'log'))

    def bk(*args):
        return subprocess.run([BULKHEAD, '--connect', URI] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=env, timeout=600)
    path = os.path.join(tmp, 'kinds.yaml')
    try:
        with open(path, 'w') as f:
            f.write(TOPO.replace('kind: dummy', 'kind: gpu'))
        r = bk('check', path)
        t.check(r.returncode == 2 and
                "%s:6: driver-vms[0].kind: 'gpu' is not one of net, storage,"
                " usb, dummy"
                % path
                in r.stdout, 'a kind that does not exist: exit 2, file:line,'
                ' the kinds there are', r.stdout)
        # An app VM's network through a driver VM whose kind serves none.
        with open(path, 'w') as f:
            f.write(TOPO.replace('version: 1', 'version: 2') +
                    'app-vms:\n  - name: k-app\n    net: {via: k-dummy,'
                    ' mac: "52:54:00:d0:00:01", ip: 10.203.0.2/24}\n')
        r = bk('check', path)
        t.check(r.returncode == 2 and
                "%s:10: app-vms[0].net.via: 'k-dummy' is a dummy driver VM,"
                " which serves no net (kinds that do: net)" % path in r.stdout,
                'net through the dummy kind (which serves nobody): exit 2,'
                ' file:line, the kinds that serve net', r.stdout)
        with open(path, 'w') as f:
            f.write(TOPO)
        r = bk('up', path)
        t.check(r.returncode == 0 and 'k-dummy: READY' in r.stdout,
                'up: the dummy driver VM boots and reports READY', r.stdout[-2000:])
        st = json.loads(bk('status', '--json').stdout or '[]')
        topo = next((x for x in st if x['topology'] == 'bkkinds'), {})
        vm = next((v for v in topo.get('vms', []) if v['name'] == 'k-dummy'), {})
        t.check(vm.get('role') == 'dummy' and vm.get('state') == 'running' and
                vm.get('uid') and vm['uid'] >= 0x70b10000,
                'status: k-dummy running, role dummy, its own uid',
                json.dumps(topo)[:1500])
        idle = next((l for l in topo.get('links', [])
                     if l['name'] == 'k-dummy.idle'), {})
        cmd = ''
        if idle.get('pid'):
            with open('/proc/%d/cmdline' % idle['pid'], 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode()
        t.check(len(topo.get('links', [])) == 1 and idle.get('kind') == 'dummy'
                and idle.get('running') and cmd == '/bin/sleep infinity ' and
                idle.get('control') == 'no control socket',
                'status: its one link, the worker its kind asked for (binary'
                ' and arguments as given), run by the supervisor',
                json.dumps(topo)[:800] + '\n' + cmd)
        table = bk('status').stdout
        t.check(any(l.split()[:2] == ['k-dummy.idle', 'running'] and
                    'no control socket' in l for l in table.splitlines()),
                'status\'s table: the dummy kind\'s link in a table of its'
                ' own', table)
        r = bk('up', path)
        t.check(r.returncode == 0 and 'k-dummy: running, unchanged' in r.stdout,
                'a second up changes nothing', r.stdout[-1000:])
        r = bk('down', path)
        doms = subprocess.run(['virsh', '-c', URI, 'list', '--all', '--name'],
                              stdout=subprocess.PIPE, text=True).stdout.split()
        t.check(r.returncode == 0 and 'bulkhead-k-dummy' not in doms,
                'down: the domain is gone', r.stdout[-1000:])
        t.check(not os.path.exists(os.path.join(tmp, 'state', 'bkkinds')),
                'down: no state left')
    finally:
        # Also reached on SIGTERM and SIGINT (run_main).
        down_topologies([BULKHEAD, '--connect', URI], tmp)
        subprocess.run(['rm', '-rf', tmp])
    t.finish()
    return 1 if t.failed else 0


if __name__ == '__main__':
    run_main(main)
