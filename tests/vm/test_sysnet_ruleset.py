#!/usr/bin/env python3
"""sys-net's nftables ruleset on a real kernel, with hand-made frames.

    test_sysnet_ruleset.py [DRIVER_VMS_NET_DIR]

bk-config and bk-ruleset (driver-vms/net/) turn a configuration into the
ruleset sys-net loads. This test loads that ruleset into a network
namespace laid out as sys-net is (ds1 and ds2 towards two app VMs, up0
towards the outside; veth pairs), and sends, from the app VMs' side,
frames built byte by byte on a packet socket: what a hostile guest can
send, which the app VM image's own stack never would (a foreign source
MAC with the right IP, a neighbour advertisement for someone else's
address, one whose link-layer option names another MAC).

What passes is seen where it lands: a UDP listener in the outside
namespace records the tag of each datagram that crossed sys-net (and the
source it arrived from: the uplink's, NAT), and sys-net's neighbour table
shows which advertisements it took. Every hostile frame has a control
next to it that differs only in the hostile part and must get through,
so a check cannot pass because nothing works at all.

Needs root (network namespaces) and nft. Prints TAP.
"""
import os
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from vmlib import Tap, eui64, run_main, sweep, test_dir  # noqa: E402

APP_MAC = '52:54:00:a0:00:01'
APP_IP = '10.200.1.2'
APP2_MAC = '52:54:00:a0:00:02'
APP2_IP = '10.200.2.2'
OTHER_MAC = '52:54:00:a0:00:99'
UP_IP, OUT_IP = '192.168.77.2', '192.168.77.1'
UP_IP6, OUT_IP6 = 'fd00:77::2', 'fd00:77::1'
NET6_1, NET6_2 = 'fd00:b1:1::', 'fd00:b1:2::'
PORT = 9999
CONFIG = '''version 1
uplink static address=%s/24 gateway=%s address6=%s/64 gateway6=%s
downstream mac=52:54:00:5e:00:01 address=10.200.1.1/24 address6=%s1/64 app-mac=%s app-ip=%s
downstream mac=52:54:00:5e:00:02 address=10.200.2.1/24 address6=%s1/64 app-mac=%s app-ip=%s
''' % (UP_IP, OUT_IP, UP_IP6, OUT_IP6, NET6_1, APP_MAC, APP_IP,
       NET6_2, APP2_MAC, APP2_IP)


APP_IP6 = eui64(NET6_1, APP_MAC)
APP_LL6 = eui64('fe80::', APP_MAC)
APP2_IP6 = eui64(NET6_2, APP2_MAC)


# Frames, built by hand.

def mac_bytes(m):
    return bytes.fromhex(m.replace(':', ''))


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ether(dst, src, etype, payload):
    return mac_bytes(dst) + mac_bytes(src) + struct.pack('!H', etype) + payload


def udp4(src, dst, tag):
    data = tag.encode()
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    u = struct.pack('!HHHH', 40000, PORT, 8 + len(data), 0) + data
    c = csum(s + d + struct.pack('!BBH', 0, 17, len(u)) + u) or 0xffff
    u = u[:6] + struct.pack('!H', c) + u[8:]
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0, s, d)
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return 0x0800, h + u


def ip6(src, dst, nh, payload, hops=64):
    s = socket.inet_pton(socket.AF_INET6, src)
    d = socket.inet_pton(socket.AF_INET6, dst)
    if nh in (17, 58):
        c = csum(s + d + struct.pack('!I3xB', len(payload), nh) + payload)
        off = 6 if nh == 17 else 2
        payload = payload[:off] + struct.pack('!H', c or 0xffff) + payload[off + 2:]
    return 0x86dd, struct.pack('!IHBB16s16s', 6 << 28, len(payload), nh, hops,
                               s, d) + payload


def udp6(src, dst, tag):
    data = tag.encode()
    return ip6(src, dst, 17,
               struct.pack('!HHHH', 40000, PORT, 8 + len(data), 0) + data)


def neighbour_advert(src, target, lladdr, dst='ff02::1'):
    """An unsolicited advertisement with the override flag and a target
    link-layer address option."""
    body = struct.pack('!BBHI16s', 136, 0, 0, 0x20000000,
                       socket.inet_pton(socket.AF_INET6, target))
    body += struct.pack('!BB6s', 2, 1, mac_bytes(lladdr))
    return ip6(src, dst, 58, body, hops=255)


def send_frames(ifname, frames):
    """Runs inside the app VM's namespace (see main)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    for f in frames:
        s.send(f)
        time.sleep(0.02)


def listen(path, addrs):
    """Runs inside a namespace (the outside, the second app VM's): records
    'TAG SOURCE' lines of what reaches ADDRS."""
    socks = []
    for addr in addrs:
        fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((addr, PORT))
        socks.append(s)
    import select
    with open(path, 'a') as out:
        out.write('LISTENING\n')
        out.flush()
        while True:
            r, _, _ = select.select(socks, [], [])
            for s in r:
                data, src = s.recvfrom(2048)
                out.write('%s %s\n' % (data.decode('ascii', 'replace'), src[0]))
                out.flush()


# The namespaces.

def sh(*cmd, check=True, text_in=None):
    r = subprocess.run(cmd, input=text_in, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if check and r.returncode:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(cmd), r.returncode,
                                                r.stdout.strip()))
    return r.stdout


class Net:
    def __init__(self):
        pid = os.getpid()
        self.ns = {k: 'bk-rs%s-%d' % (k, pid) for k in ('s', 'a', 'b', 'o')}
        self.procs = []

    def ip(self, ns, *args):
        return sh('ip', '-n', self.ns[ns], *args)

    def sysctl(self, ns, key, value):
        sh('ip', 'netns', 'exec', self.ns[ns], 'sh', '-c',
           'echo %s > /proc/sys/%s' % (value, key))

    def setup(self):
        for n in self.ns.values():
            sh('ip', 'netns', 'add', n)
        for ns in self.ns:
            self.ip(ns, 'link', 'set', 'lo', 'up')
        # sys-net side name, peer namespace, peer name, peer MAC.
        for mine, peer_ns, peer, mac in (('ds1', 'a', 'eth0', APP_MAC),
                                         ('ds2', 'b', 'eth0', APP2_MAC),
                                         ('up0', 'o', 'out0', None)):
            self.ip('s', 'link', 'add', mine, 'type', 'veth', 'peer', 'name',
                    peer, 'netns', self.ns[peer_ns])
            if mac:
                self.ip(peer_ns, 'link', 'set', peer, 'address', mac)
        self.sysctl('s', 'net/ipv4/ip_forward', 1)
        self.sysctl('s', 'net/ipv6/conf/all/forwarding', 1)
        for ns, dev, addrs in (
                ('s', 'ds1', ['10.200.1.1/24', NET6_1 + '1/64']),
                ('s', 'ds2', ['10.200.2.1/24', NET6_2 + '1/64']),
                ('s', 'up0', [UP_IP + '/24', UP_IP6 + '/64']),
                ('o', 'out0', [OUT_IP + '/24', OUT_IP6 + '/64']),
                ('a', 'eth0', [APP_IP + '/24']),
                ('b', 'eth0', [APP2_IP + '/24', APP2_IP6 + '/64'])):
            for a in addrs:
                self.ip(ns, 'addr', 'add', a, 'dev', dev,
                        *(['nodad'] if ':' in a else []))
            self.ip(ns, 'link', 'set', dev, 'up')
        self.ip('s', 'route', 'add', 'default', 'via', OUT_IP)
        self.ip('s', '-6', 'route', 'add', 'default', 'via', OUT_IP6)

    def start(self, ns, *cmd):
        p = subprocess.Popen(('ip', 'netns', 'exec', self.ns[ns]) + cmd,
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def run_in(self, ns, *cmd):
        return sh('ip', 'netns', 'exec', self.ns[ns], *cmd)

    def cleanup(self):
        for p in self.procs:
            p.kill()
            p.wait()
        for n in self.ns.values():
            sh('ip', 'netns', 'del', n, check=False)


def main(argv):
    if len(argv) > 2 and argv[1] == '--send':
        frames = [bytes.fromhex(h) for h in argv[3:]]
        send_frames(argv[2], frames)
        return 0
    if len(argv) > 2 and argv[1] == '--listen':
        listen(argv[2], argv[3:])
        return 0
    net_dir = argv[1] if len(argv) > 1 else os.path.join(ROOT, 'driver-vms/net')
    tap = Tap(13)
    if os.geteuid() != 0:
        tap.check(False, 'namespaces', 'needs root')
        tap.finish()
        return 1
    for line in sweep():
        tap.diag('an earlier run\'s leftover removed: ' + line)
    tmp = test_dir('bulkhead-ruleset-')
    net = Net()
    try:
        steps(tap, net, net_dir, tmp)
    finally:
        net.cleanup()
        tap.finish()
        subprocess.run(['rm', '-rf', tmp])
    return 1 if tap.failed else 0


def steps(tap, net, net_dir, tmp):
    conf = os.path.join(tmp, 'config.txt')
    with open(conf, 'w') as f:
        f.write(CONFIG)
    shell = 'busybox' if subprocess.run(['sh', '-c', 'command -v busybox'],
                                        stdout=subprocess.DEVNULL).returncode == 0 else None
    pre = ['busybox', 'sh'] if shell else ['sh']
    cfg = subprocess.run(pre + [os.path.join(net_dir, 'bk-config'), conf],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cfg_sh = os.path.join(tmp, 'config.sh')
    with open(cfg_sh, 'w') as f:
        f.write(cfg.stdout)
    rs = subprocess.run(pre + [os.path.join(net_dir, 'bk-ruleset'), cfg_sh],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not tap.check(cfg.returncode == 0 and rs.returncode == 0,
                     'bk-config and bk-ruleset make a ruleset',
                     cfg.stderr + rs.stderr):
        return
    try:
        net.setup()
        out = subprocess.run(['ip', 'netns', 'exec', net.ns['s'], 'nft', '-f', '-'],
                             input=rs.stdout, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        ok, why = out.returncode == 0, out.stdout
    except RuntimeError as e:
        ok, why = False, str(e)
    if not tap.check(ok, 'the ruleset loads in a namespace laid out as sys-net '
                     '(ds1, ds2, up0)', why or None):
        return
    got = os.path.join(tmp, 'got.txt')
    net.start('o', sys.executable, os.path.abspath(__file__), '--listen', got,
              OUT_IP, OUT_IP6)
    net.start('b', sys.executable, os.path.abspath(__file__), '--listen', got,
              APP2_IP, APP2_IP6)
    end = time.monotonic() + 10
    while time.monotonic() < end and _read(got).count('LISTENING') < 2:
        time.sleep(0.05)

    ds1 = net.run_in('s', 'cat', '/sys/class/net/ds1/address').strip()
    ds2 = net.run_in('s', 'cat', '/sys/class/net/ds2/address').strip()

    def send(ns, frames):
        net.run_in(ns, sys.executable, os.path.abspath(__file__), '--send',
                   'eth0', *[f.hex() for f in frames])

    def frame(src_mac, pkt, dst_mac=ds1):
        etype, payload = pkt
        return ether(dst_mac, src_mac, etype, payload)

    # The neighbour entries sys-net may be talked into (see below) exist
    # before any advertisement, so an accepted one visibly overrides them.
    spoof6 = NET6_1 + '99'
    # The second app VM is known to sys-net (as if it had talked before),
    # so a datagram forwarded to it would not wait for resolution.
    for a in (APP2_IP, APP2_IP6):
        net.ip('s', 'neigh', 'replace', a, 'dev', 'ds2', 'lladdr', APP2_MAC,
               'nud', 'permanent')
    for a in (APP_IP6, spoof6):
        net.ip('s', '-6', 'neigh', 'replace', a, 'dev', 'ds1',
               'lladdr', '02:00:00:00:00:01', 'nud', 'stale')

    # Datagrams to the outside: each hostile one next to its control.
    cases = [
        ('v4-own', APP_MAC, udp4(APP_IP, OUT_IP, 'v4-own'), True),
        ('v4-other-ip', APP_MAC, udp4('10.200.1.99', OUT_IP, 'v4-other-ip'), False),
        ('v4-other-mac', OTHER_MAC, udp4(APP_IP, OUT_IP, 'v4-other-mac'), False),
        ('v6-own', APP_MAC, udp6(APP_IP6, OUT_IP6, 'v6-own'), True),
        ('v6-other-ip', APP_MAC, udp6(spoof6, OUT_IP6, 'v6-other-ip'), False),
        ('v6-other-mac', OTHER_MAC, udp6(APP_IP6, OUT_IP6, 'v6-other-mac'), False),
        ('v4-to-app2', APP_MAC, udp4(APP_IP, APP2_IP, 'v4-to-app2'), False),
        ('v6-to-app2', APP_MAC, udp6(APP_IP6, APP2_IP6, 'v6-to-app2'), False),
    ]
    send('a', [frame(m, p) for _, m, p, _ in cases])
    # Neighbour advertisements (sys-net's table is read after each).
    adverts = [
        ('na-own', neighbour_advert(APP_IP6, APP_IP6, APP_MAC), APP_IP6, True),
        ('na-other-target', neighbour_advert(APP_IP6, spoof6, APP_MAC), spoof6,
         False),
    ]
    seen_neigh = {}
    for name, pkt, target, _ in adverts:
        send('a', [frame(APP_MAC, pkt)])
        time.sleep(0.2)
        seen_neigh[name] = net.ip('s', '-6', 'neigh', 'show', target, 'dev',
                                  'ds1').strip()
    # Its own address, but the link-layer option names another MAC.
    net.ip('s', '-6', 'neigh', 'replace', APP_IP6, 'dev', 'ds1',
           'lladdr', '02:00:00:00:00:01', 'nud', 'stale')
    send('a', [frame(APP_MAC, neighbour_advert(APP_IP6, APP_IP6, OTHER_MAC))])
    time.sleep(0.2)
    seen_neigh['na-other-lladdr'] = net.ip('s', '-6', 'neigh', 'show', APP_IP6,
                                           'dev', 'ds1').strip()

    # Let the last datagrams land.
    end = time.monotonic() + 3
    while time.monotonic() < end and not all(
            _tag_seen(got, t) for t, _, _, ok in cases if ok):
        time.sleep(0.05)
    time.sleep(0.3)
    lines = _read(got).splitlines()

    def arrived(tag):
        return [l.split()[1] for l in lines
                if len(l.split()) == 2 and l.split()[0] == tag]

    for tag, mac, _, want in cases:
        src = arrived(tag)
        if want:
            exp = UP_IP if tag.startswith('v4') else UP_IP6
            tap.check(src == [exp], '%s: from %s, its own MAC: crosses sys-net, '
                      'NAT to %s' % (tag, 'its own address', exp),
                      None if src == [exp] else 'arrived from %s' % (src or 'nowhere'))
        else:
            tap.check(src == [], '%s: dropped (%s)' % (tag, {
                'v4-other-ip': 'IPv4 source not its own',
                'v4-other-mac': 'source MAC not its own (sys-net\'s own check)',
                'v6-other-ip': 'IPv6 source not its own',
                'v6-other-mac': 'source MAC not its own, IPv6',
                'v4-to-app2': 'app VMs do not reach each other',
                'v6-to-app2': 'app VMs do not reach each other, IPv6'}[tag]),
                None if src == [] else 'it arrived, from %s' % src)
    n = seen_neigh['na-own']
    tap.check(APP_MAC in n, 'its advertisement for its own address updates '
              'sys-net\'s neighbour entry (control)', 'entry: %r' % n)
    n = seen_neigh['na-other-target']
    tap.check(APP_MAC not in n and '02:00:00:00:00:01' in n,
              'its advertisement for another address (%s) is dropped' % spoof6,
              'entry: %r' % n)
    n = seen_neigh['na-other-lladdr']
    tap.check(OTHER_MAC not in n and '02:00:00:00:00:01' in n,
              'its advertisement naming another MAC (%s) is dropped' % OTHER_MAC,
              'entry: %r' % n)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ''


def _tag_seen(path, tag):
    return any(l.split()[0] == tag for l in _read(path).splitlines() if l.split())


if __name__ == '__main__':
    run_main(main)
