#!/usr/bin/env python3
"""The bulkhead command end to end, under TCG, with libvirt.

    test_bulkhead.py BULKHEAD BUILD_IMAGES

An "outside" network namespace (bridge br0 192.168.79.1/24, busybox udhcpd,
an HTTP server with a 4 MiB file, and one that sends 64 MiB slowly) made by
the test; the
topology (written here) has sys-net (t-net, an emulated e1000e whose tap
joins br0) and app VM t-work; later t-personal is added. Checks:

- malformed files: `check` and `up` name file:line and the field, exit 2,
  and make nothing (no domain, no state directory);
- up: domains running (virsh), the links supervised, t-work downloads from
  outside byte for byte through sys-net;
- a second up changes nothing (same domain ids, same link pids);
- t-personal added to the file and brought up while t-work downloads 64 MiB
  (from a server that sends it over 16 s):
  sys-net is not restarted (same domain id), its downstream is hot-plugged,
  the download completes byte-exact; t-personal reaches outside, not t-work;
  t-personal has 2 vCPUs: its link runs 2 queue pairs on its side;
- a talk pair added: sys-net updated live again, and now t-personal reaches
  t-work; sys-net's memory changed: restarted instead (and t-work gets
  through again);
- containment (containment.py): each VM's QEMU identity reaches nothing
  of the other VMs' (boot files, sockets, processes, state) and still its
  own; a flipped byte in an image refuses the start, naming both hashes;
- stop / start of one app VM while the rest runs;
- kill -9 of a link: the supervisor restarts it, status counts it, traffic
  flows again (the time is printed), and a ping over the other link running
  across the kill loses no packet;
- kill -9 of sys-net's QEMU: the supervisor restarts it, the app VMs stay
  up and reach outside again (the time is printed); a stopped driver VM is
  not restarted;
- rollback: a topology whose sys-net never becomes ready (no DHCP on its
  uplink; --boot-timeout 20) fails and leaves nothing it made (domain,
  tap, the namespace it created, supervisor, state);
- down: no domain, link process, socket, tap or state left.

Needs root, libvirt (started here when no libvirtd runs) and the images
(guest-os/build-images). BULKHEAD_VM_KEEP=1 keeps the temporary directory.
"""
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import (Tap, down_topologies, keep_or_remove, link_live,  # noqa: E402
                   run_main, sweep, test_dir)
import containment  # noqa: E402
from orchlib import (URI, Outside, bulkhead_env, domains, ensure_libvirtd,  # noqa: E402
                     sanitizer_reports, sh)

BULKHEAD = os.path.abspath(sys.argv[1])
BUILD_IMAGES = os.path.abspath(sys.argv[2])
IMAGE_DIR = os.environ.get('BULKHEAD_IMAGE_DIR', '/var/cache/bulkhead/images')
NS = 'bk-t-out%d' % os.getpid()
RB_NS = 'bk-t-rb%d' % os.getpid()
HOST_NS = 'bk-t-host%d' % os.getpid()
OUT_IP = '192.168.79.1'
SMALL = 4 << 20

TOPO_BASE = '''version: 1
name: bktest
accel: tcg
driver-vms:
  - name: t-net
    kind: net
    devices:
      - emulated: e1000e
        netns: %(ns)s
        bridge: br0
        mac: "52:54:00:79:00:02"
app-vms:
  - name: t-work
    net: t-net
    mac: "52:54:00:79:01:01"
    ip: 10.201.1.2/24
'''
# VIRTIO_NET_F_MQ in a side's negotiated features.
MQ_BIT = 1 << 22
# Two vCPUs: its NIC gets two queue pairs (<driver queues='2'/>) and its
# link --queues 2 (issue 19's default from the vCPU count).
PERSONAL = '''  - name: t-personal
    vcpus: 2
    net: t-net
    mac: "52:54:00:79:01:02"
    ip: 10.201.2.2/24
'''
TALK = '''talk:
  - [t-work, t-personal]
'''
# The host port, in a namespace up makes: it stands in for the host, whose
# own routes the test leaves alone.
HOST_PORT = '''host-port:
  net: t-net
  mac: "52:54:00:79:03:01"
  ip: 10.201.9.2/30
  netns: %s
  default-route: yes
''' % HOST_NS
# sys-net's uplink asks for DHCP in a namespace where nobody answers.
TOPO_ROLLBACK = '''version: 1
name: bkrollback
accel: tcg
driver-vms:
  - name: rb-net
    kind: net
    devices:
      - emulated: e1000e
        netns: %(ns)s
app-vms:
  - name: rb-app
    net: rb-net
    mac: "52:54:00:79:02:01"
    ip: 10.202.1.2/24
''' % {'ns': RB_NS}

# (what, file text, expected line, expected field, expected value)
MALFORMED = [
    ('an unknown key', TOPO_BASE.replace('    kind: net', '    kind: net\n    colour: red'),
     7, 'driver-vms[0]', 'colour'),
    ('a bad MAC', TOPO_BASE.replace('52:54:00:79:01:01', '52:54:00:79:zz:01'),
     15, 'app-vms[0].mac', '52:54:00:79:zz:01'),
    ('a driver VM that does not exist', TOPO_BASE.replace('    net: t-net', '    net: t-nte'),
     14, 'app-vms[0].net', 't-nte'),
    ('a YAML syntax error', TOPO_BASE.replace('  - name: t-work', ' - name: t-work\n   x: [', 1),
     None, None, None),
]


# A download that lasts: SLOW_BYTES at about 4 MB/s (16 s), so that it is
# certainly in flight while up changes sys-net.
SLOW_PORT = 8000
SLOW_BYTES = 64 << 20
SLOW_CHUNK = 64 << 10
SLOW_SERVER = '''import http.server, sys, time, hashlib
CHUNK = hashlib.sha256(b'slow').digest() * (%d // 32)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Length', str(%d))
        self.end_headers()
        for _ in range(%d // len(CHUNK)):
            self.wfile.write(CHUNK)
            time.sleep(0.015)
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
''' % (SLOW_CHUNK, SLOW_BYTES, SLOW_BYTES)


def slow_chunk():
    return hashlib.sha256(b'slow').digest() * (SLOW_CHUNK // 32)


class Env:
    def __init__(self):
        self.tmp = test_dir('bk-orch-')
        self.env = bulkhead_env(self.tmp)
        self.outside = None

    def bk(self, *args, timeout=900):
        return sh(BULKHEAD, '--connect', URI, *args, timeout=timeout, env=self.env)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path


def domid(name):
    return sh('virsh', '-c', URI, 'domid', name).stdout.strip()


def link_pids(state_dir):
    r = sh('pgrep', '-f', 'bulkhead-link .*' + re.escape(state_dir))
    return sorted(int(p) for p in r.stdout.split())


def status(e):
    r = e.bk('status', '--json')
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def topo_status(st, name):
    for t in st or []:
        if t['topology'] == name:
            return t
    return None


def link_of(t, name):
    for l in (t or {}).get('links', []):
        if l['name'] == name:
            return l
    return {}


def outside_up(e):
    """The outside network (orchlib.Outside) with the slow server too."""
    e.outside = Outside(NS, OUT_IP, e.tmp)
    sums = e.outside.up({'small.bin': SMALL})
    slow = e.write('slow_server.py', SLOW_SERVER)
    e.outside.start(['python3', slow, OUT_IP, str(SLOW_PORT)])
    h = hashlib.sha256()
    for _ in range(SLOW_BYTES // SLOW_CHUNK):
        h.update(slow_chunk())
    sums['slow'] = h.hexdigest()
    return sums


def taps_left():
    """bkXXXXXXXX taps in the host's namespace and the test's namespaces."""
    out = []
    for ns in (None, NS, RB_NS, HOST_NS):
        cmd = ['ip'] + (['-n', ns] if ns else []) + ['-o', 'link', 'show']
        r = sh(*cmd)
        out += re.findall(r'^\d+: (bkh?[0-9a-f]{8})[:@]', r.stdout, re.M)
    return out


def main(_argv):
    t = Tap(50 + 16 + 3)
    for line in sweep(BULKHEAD):
        t.diag('an earlier run\'s leftover removed: ' + line)
    e = Env()
    state_dir = e.env['BULKHEAD_STATE_DIR']
    t.check(ensure_libvirtd(), 'libvirtd runs (started by the harness if not)')
    r = sh(BUILD_IMAGES, timeout=1800)
    t.check(r.returncode == 0, 'guest images built or cached', r.stdout[-500:])
    sums = None
    try:
        sums = outside_up(e)
        base = TOPO_BASE % {'ns': NS}

        # 1. Malformed files: clear errors, nothing made.
        for what, text, line, field, value in MALFORMED:
            path = e.write('bad.yaml', text % {'ns': NS})
            c = e.bk('check', path)
            u = e.bk('up', path)
            msg = c.stdout.strip().splitlines()[-1] if c.stdout.strip() else ''
            want = '%s:%d: %s' % (path, line, field) if line else path + ':'
            good = (c.returncode == 2 and u.returncode == 2 and want in msg and
                    (value is None or value in msg) and msg in u.stdout)
            t.check(good, 'malformed (%s): check and up exit 2 naming %s%s'
                    % (what, want, " and '%s'" % value if value else ''),
                    'check: %s\nup: %s' % (c.stdout, u.stdout))
        t.check(not domains('bulkhead-t-') and not os.path.exists(state_dir),
                'after the malformed files: no domain, no state',
                '%s %s' % (domains('bulkhead-t-'), os.path.exists(state_dir)))

        # 2. up.
        path = e.write('topo.yaml', base)
        c = e.bk('check', path)
        t.check(c.returncode == 0, 'check accepts the topology', c.stdout)
        t0 = time.monotonic()
        u = e.bk('up', path)
        t.check(u.returncode == 0, 'up (%.0f s)' % (time.monotonic() - t0),
                u.stdout[-3000:])
        doms = domains('bulkhead-t-')
        t.check(doms.get('bulkhead-t-net') == 'running' and
                doms.get('bulkhead-t-work') == 'running',
                'virsh list: bulkhead-t-net and bulkhead-t-work running', str(doms))
        st = topo_status(status(e), 'bktest')
        work_link = link_of(st, 't-work')
        t.check(st is not None and st['supervisor_pid'] > 0 and
                work_link.get('running') and
                all(vm['state'] == 'running' and vm['accel'] == 'tcg'
                    for vm in st['vms']),
                'status --json: VMs running under tcg, link t-work supervised',
                json.dumps(st)[:1500])
        t.check(work_link.get('link', {}).get('sides', {}).get('a', {}).get('connected') and
                work_link['link']['sides']['b']['connected'],
                'link t-work: both sides connected', json.dumps(work_link)[:800])
        r = e.bk('exec', 't-work', 'wget -q -O - http://%s/small.bin | sha256sum' % OUT_IP)
        t.check(r.returncode == 0 and sums['small.bin'] in r.stdout,
                't-work downloads 4 MiB from outside through sys-net, byte-exact',
                r.stdout)
        # IPv6: the address status plans (SLAAC in the link's /64) is the
        # one the app VM took, and sys-net answers on the link's ::1.
        want6 = next((vm.get('ipv6') for vm in (st or {}).get('vms', [])
                      if vm['name'] == 't-work'), None)
        gw6 = str(ipaddress.IPv6Network(want6 + '/64', strict=False)[1]) \
            if want6 else None
        r = e.bk('exec', 't-work', 'n=0; until ip -6 -o addr show dev eth0 scope '
                 'global | grep -v tentative | grep -q inet6; do n=$((n+1)); '
                 '[ $n -gt 50 ] && break; sleep 0.2; done; ip -6 -o addr show '
                 'dev eth0 scope global; ping -c 2 -W 2 %s' % gw6)
        t.check(want6 is not None and (' %s/64 ' % want6) in r.stdout and
                r.returncode == 0,
                't-work took its planned IPv6 address %s (SLAAC) and pings '
                'sys-net at %s' % (want6, gw6), r.stdout)
        text = e.bk('status').stdout
        t.check('t-work' in text and 'running' in text, 'status prints a table',
                text)

        # 3. A second up changes nothing.
        ids = {d: domid(d) for d in ('bulkhead-t-net', 'bulkhead-t-work')}
        pids = link_pids(state_dir)
        sup = st['supervisor_pid'] if st else None
        u2 = e.bk('up', path)
        st2 = topo_status(status(e), 'bktest')
        t.check(u2.returncode == 0 and u2.stdout.count('unchanged') == 2,
                'second up: both VMs "running, unchanged"', u2.stdout)
        t.check({d: domid(d) for d in ids} == ids and link_pids(state_dir) == pids
                and st2 and st2['supervisor_pid'] == sup and len(pids) == 1,
                'second up: same domain ids, link pids and supervisor',
                '%s %s %s' % (ids, pids, link_pids(state_dir)))

        # 4. Add t-personal while t-work downloads 64 MiB (16 s).
        result = {}

        def download():
            result['r'] = e.bk('exec', 't-work', 'wget -q -O -'
                               ' http://%s:%d/ | sha256sum' % (OUT_IP, SLOW_PORT))
            result['end'] = time.monotonic()
        th = threading.Thread(target=download)
        th.start()
        time.sleep(3)
        path2 = e.write('topo2.yaml', base + PERSONAL)
        t_up = time.monotonic()
        proc = subprocess.Popen([BULKHEAD, '--connect', URI, 'up', path2],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=e.env)
        lines, t_live = [], None
        for line in proc.stdout:
            lines.append(line)
            if 'applied live' in line:
                t_live = time.monotonic()
        proc.wait()
        u3 = subprocess.CompletedProcess(proc.args, proc.returncode, ''.join(lines))
        th.join(900)
        dl = result.get('r')
        t.check(u3.returncode == 0 and 'hot-plugged' in u3.stdout and
                'applied live' in u3.stdout,
                'up with t-personal added: downstream hot-plugged, sys-net updated live',
                u3.stdout[-3000:])
        t.check(domid('bulkhead-t-net') == ids['bulkhead-t-net'] and
                domid('bulkhead-t-work') == ids['bulkhead-t-work'],
                'sys-net and t-work were not restarted (same domain ids)')
        t.check(dl is not None and dl.returncode == 0 and sums['slow'] in dl.stdout,
                'the 64 MiB download running across that up completed byte-exact',
                dl.stdout if dl else 'no result')
        t.check(t_live is not None and result.get('end', 0) > t_live,
                'the download was still running when sys-net had been updated'
                ' (update at %.1f s, download done at %.1f s after up began)'
                % ((t_live or t_up) - t_up, result.get('end', t_up) - t_up))
        r = e.bk('exec', 't-personal', 'wget -q -O - http://%s/small.bin | sha256sum' % OUT_IP)
        t.check(r.returncode == 0 and sums['small.bin'] in r.stdout,
                't-personal downloads from outside', r.stdout)
        # Its link after that download: two pairs on its side (MQ
        # negotiated, all four vrings running), sys-net's one-vCPU side
        # connected on one.
        live = link_live(state_dir, 'bktest', 't-personal')
        sides = live.get('sides', {})
        a = sides.get('a', {})
        t.check(int(a.get('features', '0'), 16) & MQ_BIT and
                [q.get('state') for q in a.get('queues', [])] == ['ok'] * 4 and
                sides.get('b', {}).get('connected'),
                't-personal (2 vCPUs): its link runs 2 queue pairs on its'
                " side (MQ negotiated, 4 vrings ok), sys-net's side connected",
                json.dumps(sides)[:1500])
        r = e.bk('exec', 't-personal', 'ping -c 2 -W 1 10.201.1.2')
        t.check(r.returncode != 0, 't-personal cannot ping t-work', r.stdout)

        # 4a. Containment on the host: each VM's QEMU acting as after a
        # guest escape reaches nothing of the other two (containment.py).
        containment.check_topology(t, 'bktest', state_dir, IMAGE_DIR)
        # A flipped byte in an image: the VM refuses to start, naming the
        # file and both hashes; from the real images it starts again.
        bad_images = os.path.join(e.tmp, 'images')
        os.mkdir(bad_images)
        for f in os.listdir(IMAGE_DIR):
            if os.path.isfile(os.path.join(IMAGE_DIR, f)):
                shutil.copy2(os.path.join(IMAGE_DIR, f), bad_images)
        flipped = os.path.join(bad_images, 'app-initramfs.cpio.gz')
        with open(flipped, 'r+b') as f:
            f.seek(1000)
            b = f.read(1)
            f.seek(1000)
            f.write(bytes([b[0] ^ 0x20]))
        with open(flipped, 'rb') as f:
            bad_sum = hashlib.sha256(f.read()).hexdigest()
        with open(os.path.join(IMAGE_DIR, 'manifest.json')) as f:
            good_sum = json.load(f)['sha256']['app-initramfs.cpio.gz']
        e.bk('stop', 't-personal')
        r = e.bk('--images', bad_images, 'start', 't-personal')
        t.check(r.returncode == 1 and flipped in r.stdout and bad_sum in r.stdout
                and good_sum in r.stdout and
                domains('bulkhead-t-').get('bulkhead-t-personal') != 'running',
                'a flipped byte in the app image: t-personal refuses to start,'
                ' naming the file and both hashes', r.stdout[-1500:])
        r = e.bk('start', 't-personal')
        t.check(r.returncode == 0 and
                domains('bulkhead-t-').get('bulkhead-t-personal') == 'running',
                'from the real images t-personal starts again', r.stdout[-1500:])

        # 4b. A talk pair added: applied live (no hot-plug, no restart).
        path3 = e.write('topo3.yaml', base + PERSONAL + TALK)
        u4 = e.bk('up', path3)
        t.check(u4.returncode == 0 and 'applied live' in u4.stdout and
                'hot-plugged' not in u4.stdout and
                domid('bulkhead-t-net') == ids['bulkhead-t-net'],
                'up with talk [t-work, t-personal]: sys-net updated live, not'
                ' restarted', u4.stdout)
        r = e.bk('exec', 't-personal', 'ping -c 2 -W 2 10.201.1.2 && wget -q -O -'
                 ' http://10.201.1.2/test.bin | sha256sum')
        t.check(r.returncode == 0 and ' 0% packet loss' in r.stdout,
                't-personal now reaches t-work (ping, HTTP)', r.stdout)
        path2 = path3

        # 4c. sys-net's own settings changed (memory): not a live update,
        # a restart, and the app VMs get through again.
        path4 = e.write('topo4.yaml', (base + PERSONAL + TALK).replace(
            '    kind: net\n', '    kind: net\n    memory: 112\n', 1))
        u5 = e.bk('up', path4)
        r = e.bk('exec', 't-work', 'n=0; until ping -c 1 -W 1 %s >/dev/null; do'
                 ' n=$((n+1)); [ $n -gt 60 ] && exit 1; done' % OUT_IP)
        t.check(u5.returncode == 0 and 'restarting it' in u5.stdout and
                'applied live' not in u5.stdout and
                domid('bulkhead-t-net') != ids['bulkhead-t-net'] and
                domid('bulkhead-t-work') == ids['bulkhead-t-work'] and
                r.returncode == 0,
                'sys-net\'s memory changed: restarted (not applied live), t-work'
                ' gets through again', '%s\nids %s -> net %s work %s\nping: exit %d %s'
                % (u5.stdout, ids, domid('bulkhead-t-net'), domid('bulkhead-t-work'),
                   r.returncode, r.stdout[-300:]))
        path2 = path4

        # 5. stop / start one VM.
        r = e.bk('stop', 't-personal')
        t.check(r.returncode == 0 and domains('bulkhead-t-').get(
            'bulkhead-t-personal') == 'shut off',
            'stop t-personal: shut off, still defined', r.stdout)
        r = e.bk('exec', 't-work', 'ping -c 2 -W 2 %s' % OUT_IP)
        t.check(r.returncode == 0, 't-work still reaches outside', r.stdout)
        r = e.bk('start', 't-personal')
        t.check(r.returncode == 0 and domains('bulkhead-t-').get(
            'bulkhead-t-personal') == 'running',
            'start t-personal: running and ready again', r.stdout)

        # 6. kill -9 a link: restarted, traffic again; the other link's
        # ping (40 over 10 s, running across the kill) loses nothing.
        st = topo_status(status(e), 'bktest')
        before = link_of(st, 't-work')
        other = {}

        def other_ping():
            other['r'] = e.bk('exec', 't-personal', 'ping -c 40 -i 0.25 -W 1 %s'
                              % OUT_IP)
        th = threading.Thread(target=other_ping)
        th.start()
        time.sleep(2)
        t_kill = time.monotonic()
        os.kill(before['pid'], signal.SIGKILL)
        restarted = None
        for _ in range(100):
            time.sleep(0.2)
            l = link_of(topo_status(status(e), 'bktest'), 't-work')
            if l.get('running') and l.get('pid') != before['pid']:
                restarted = l
                break
        t.check(restarted is not None and restarted['restarts'] == before['restarts'] + 1
                and 'signal 9' in restarted['last_exit'],
                'a killed link is restarted by the supervisor (status counts it)',
                json.dumps(restarted or before)[:600])
        back = None
        while time.monotonic() - t_kill < 60:
            if e.bk('exec', 't-work', 'ping -c 1 -W 1 %s' % OUT_IP).returncode == 0:
                back = time.monotonic() - t_kill
                break
        t.check(back is not None, 't-work reaches outside through the restarted'
                ' link (%.1f s after the kill)' % (back or -1))
        th.join(120)
        o = other.get('r')
        t.check(o is not None and o.returncode == 0 and
                '40 packets received' in o.stdout,
                'a ping over the other link across the kill lost nothing (40/40)',
                o.stdout[-400:] if o else 'no result')
        # 6b. kill -9 of the driver VM's QEMU: the supervisor restarts
        # sys-net; the app VMs stay up and get through again.
        net_id = domid('bulkhead-t-net')
        try:
            with open(os.path.join(state_dir, 'bktest', 'links-state.json')) as f:
                restarts_before = json.load(f).get('driver_vm_restarts', 0)
        except (OSError, ValueError):
            restarts_before = None
        work_id = domid('bulkhead-t-work')
        q = sh('pgrep', '-f', 'guest=bulkhead-t-net,')
        t_kill = time.monotonic()
        for pid in q.stdout.split():
            os.kill(int(pid), signal.SIGKILL)
        back = None
        while time.monotonic() - t_kill < 180:
            if e.bk('exec', 't-work', 'ping -c 1 -W 1 %s' % OUT_IP).returncode == 0:
                back = time.monotonic() - t_kill
                break
            time.sleep(0.5)
        try:
            with open(os.path.join(state_dir, 'bktest', 'links-state.json')) as f:
                vm_restarts = json.load(f).get('driver_vm_restarts')
        except (OSError, ValueError):
            vm_restarts = None
        t.check(q.stdout.strip() != '' and back is not None and
                restarts_before is not None and vm_restarts == restarts_before + 1 and
                domid('bulkhead-t-net') not in ('', net_id) and
                domid('bulkhead-t-work') == work_id,
                'sys-net killed (kill -9 of its QEMU): the supervisor restarts it,'
                ' the app VMs stay up, t-work reaches outside %.1f s after the kill'
                % (back or -1), 'restarts %s, ids %s -> %s' % (
                    vm_restarts, net_id, domid('bulkhead-t-net')))
        r = e.bk('stop', 't-net')
        time.sleep(5)
        t.check(r.returncode == 0 and domains('bulkhead-t-').get('bulkhead-t-net')
                == 'shut off', 'a stopped driver VM stays stopped (no restart)',
                r.stdout)
        r = e.bk('start', 't-net')
        t.check(r.returncode == 0 and domains('bulkhead-t-').get('bulkhead-t-net')
                == 'running', 'start t-net brings it back', r.stdout)

        r = e.bk('logs', 't-work')
        t.check(r.returncode == 0 and 'BK-RESULT' in r.stdout,
                'logs t-work shows its console', r.stdout[-300:])

        # 7. Rollback after a failure in the middle of up.
        rb = e.write('rollback.yaml', TOPO_ROLLBACK)
        r = e.bk('--boot-timeout', '20', 'up', rb)
        rb_dir = os.path.join(state_dir, 'bkrollback')
        t.check(r.returncode == 1 and 'rolling back' in r.stdout and
                'rb-net' in r.stdout,
                'up of a topology whose sys-net never gets ready fails and rolls back',
                r.stdout[-2000:])
        t.check(not [d for d in domains('bulkhead-rb-')] and
                not os.path.exists('/run/netns/' + RB_NS) and
                not os.path.exists(rb_dir) and not link_pids(rb_dir),
                'after the rollback: no domain, namespace, state or link of it',
                '%s %s %s' % (domains('bulkhead-rb-'), os.path.exists(rb_dir),
                              link_pids(rb_dir)))
        t.check(domains('bulkhead-t-').get('bulkhead-t-work') == 'running',
                'the other topology kept running')

        # 7b. A host port: the namespace's traffic through sys-net (its
        # default route), out to the outside server, NAT on the uplink.
        path5 = e.write('topo5.yaml', open(path2).read() + HOST_PORT)
        u6 = e.bk('up', path5)
        fetch = ('import hashlib,urllib.request,time\n'
                 'for i in range(60):\n'
                 '    try:\n'
                 '        d=urllib.request.urlopen("http://%s/small.bin",timeout=10).read()\n'
                 '        print(hashlib.sha256(d).hexdigest()); break\n'
                 '    except OSError as e:\n'
                 '        print(e); time.sleep(1)\n' % OUT_IP)
        r = sh('ip', 'netns', 'exec', HOST_NS, 'python3', '-c', fetch, timeout=180)
        route = sh('ip', '-n', HOST_NS, 'route', 'show', 'default').stdout
        hl = link_of(topo_status(status(e), 'bktest'), 'host.port')
        t.check(u6.returncode == 0 and 'host port: tap bkh' in u6.stdout and
                sums['small.bin'] in r.stdout and '10.201.9.1' in route and
                hl.get('running') and hl.get('kind') == 'net' and
                hl.get('link', {}).get('b_to_a', {}).get('bytes', 0) > SMALL,
                'host port: a namespace standing in for the host downloads 4 MiB'
                ' from outside through sys-net, byte-exact (default route via'
                ' 10.201.9.1; its link supervised, the 4 MiB counted)',
                '%s\nfetch: %s\nroute: %s\nlink: %s' % (
                    u6.stdout[-2000:], r.stdout[-600:], route,
                    json.dumps(hl)[:800]))
        u7 = e.bk('up', path5)
        t.check(u7.returncode == 0 and 'restarting' not in u7.stdout,
                'a second up with the host port changes nothing', u7.stdout[-1500:])
        # The host port taken out of the file: its tap and link go, and
        # the app VMs get through the restarted sys-net again.
        u8 = e.bk('up', path2)
        hl = link_of(topo_status(status(e), 'bktest'), 'host.port')
        r = e.bk('exec', 't-work', 'n=0; until ping -c 1 -W 1 %s >/dev/null; do'
                 ' n=$((n+1)); [ $n -gt 60 ] && exit 1; done' % OUT_IP)
        t.check(u8.returncode == 0 and not hl and
                not re.search(r'bkh[0-9a-f]{8}', sh('ip', '-n', HOST_NS, '-o', 'link',
                                                    'show').stdout) and
                not sh('pgrep', '-f', '--', '--name host.port').stdout.strip() and
                r.returncode == 0,
                'host port taken out of the file: its tap and link are gone, '
                't-work gets through again', u8.stdout[-1500:])
        u9 = e.bk('up', path5)
        t.check(u9.returncode == 0, 'and put back', u9.stdout[-1500:])
        path2 = path5

        # 8. down.
        r = e.bk('down', path2)
        t.check(r.returncode == 0, 'down', r.stdout)
        left = domains('bulkhead-t-')
        t.check(not left, 'after down: no domain', str(left))
        t.check(not link_pids(state_dir) and
                sh('pgrep', '-f', 'bulkhead supervise').returncode != 0 and
                sh('pgrep', '-f', BULKHEAD + ' .*supervise').returncode != 0,
                'after down: no link process, no supervisor')
        t.check(not os.path.exists(os.path.join(state_dir, 'bktest')),
                'after down: no sockets or state (state directory gone)')
        t.check(not taps_left() and not os.path.exists('/run/netns/' + HOST_NS),
                'after down: no tap, and the host port\'s namespace (up made '
                'it) is gone', str(taps_left()))
        t.check(os.path.exists('/run/netns/' + NS),
                'down left the namespace it did not make')
        reports = sanitizer_reports(e.tmp)
        t.check(not reports, 'no sanitizer report from bulkhead or its supervisor',
                reports)
    except Exception as ex:  # a failure in a step: the rest is not reached
        t.diag('error: %r' % ex)
    finally:
        # Also reached on SIGTERM and SIGINT (run_main): what up made goes,
        # whichever step was running.
        for line in down_topologies([BULKHEAD], e.tmp):
            t.diag(line)
        for topo in ('topo5.yaml', 'topo4.yaml', 'topo3.yaml', 'topo2.yaml',
                     'topo.yaml', 'rollback.yaml'):
            p = os.path.join(e.tmp, topo)
            if os.path.exists(p) and (domains('bulkhead-t-') or domains('bulkhead-rb-')):
                e.bk('down', p)
        if e.outside:
            e.outside.down()
        if os.path.exists('/run/netns/' + HOST_NS):
            sh('ip', 'netns', 'delete', HOST_NS)
        t.finish()
        keep_or_remove(t, e.tmp)
    return 1 if t.failed else 0


if __name__ == '__main__':
    run_main(main)
