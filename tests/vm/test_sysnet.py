#!/usr/bin/env python3
"""The net driver VM (sys-net) between an app VM and an outside network.

    test_sysnet.py [BULKHEAD_LINK [BUILD_IMAGES]]

    app VM --vhost-user-- bulkhead-link --vhost-user-- sys-net --e1000e/tap--
      outside (a network namespace: HTTP server, DHCP server)

The outside world is a network namespace created for the run (bk-sysnet-PID)
holding a tap device (192.168.77.1/24), HTTP servers (python3 -m
http.server; ports 80, 8080, 8081) serving a deterministic 4 MiB file, and
busybox udhcpd, which leases 192.168.77.2 to sys-net's uplink. sys-net's
QEMU runs inside that namespace (`ip netns exec`), so its `-netdev tap`
opens the namespace's tap: the tap, the servers and the "NIC" share one namespace, as a real NIC and its
network would, and nothing of it is in the host's namespace. Its vhost-user
and agent sockets are unix sockets on the filesystem, which QEMU reaches
from any network namespace.

Case 1 (a good configuration, uplink by DHCP): sys-net's agent reports READY
on its virtio-serial channel and stays ALIVE; the app VM (bk.ip=dhcp) gets
its address from sys-net, pings the outside host, downloads the file
byte-exact; the HTTP server saw sys-net's uplink address (masquerade); its
firewall (in the configuration) denies TCP 8080 (the GET fails, the server
there logs nothing) and leaves 8081 to its policy (accept: the GET works);
a second app VM on a second link to the same sys-net downloads from outside
too and serves on port 80, and the first can neither ping it nor connect to
it; the link counted packets both ways. Then an app VM on the same link
with an address that is not its own (10.200.1.99, set statically) reaches
nothing.

Case 2 (a malformed configuration: case 1's plus a downstream line with a
bad MAC): the agent reports "ERROR config: line 5: ..." naming it and never
READY; an app VM with case 1's address and gateway set statically cannot
reach the outside host, and the HTTP server sees nothing: sys-net does not
half-work.

Prints TAP; always stops the VMs, the link and the servers and removes the
namespace (with its tap) and the temporary directory. Needs root (network
namespaces) and busybox on the host (udhcpd). Environment:
  BULKHEAD_LINK        the binary, when not given as an argument
  BULKHEAD_IMAGE_DIR   the image cache (as for guest-os/build-images)
  BULKHEAD_SYSNET_MEM  sys-net's RAM in MiB (default 64: what the issue
                       asks it to forward in, with its own kernel,
                       sysnet-vmlinuz; see docs/sysnet.md)
  BULKHEAD_VM_KEEP=1   keep the temporary directory (consoles, logs)
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

from vmlib import (Agent, Procs, eui64, run_main, vm_test, find, image_dir,
                   link_status, results, stop, tail, wait_socket)

T0 = time.monotonic()
MTU = 1500
SYSNET_MEM_MB = int(os.environ.get('BULKHEAD_SYSNET_MEM', '64'))
APP_MEM_MB = 256
OUTSIDE_IP = '192.168.77.1'
UPLINK_IP = '192.168.77.2'
UPLINK_MAC = '52:54:00:77:00:02'
DS_MAC = '52:54:00:5e:00:01'      # sys-net's downstream (link side b)
DS_GW = '10.200.1.1'
APP_MAC = '52:54:00:a0:00:01'     # the app VM (link side a)
APP_IP = '10.200.1.2'
SPOOF_IP = '10.200.1.99'
DS2_MAC = '52:54:00:5e:00:02'     # sys-net's second downstream (link "two")
DS2_GW = '10.200.2.1'
APP2_MAC = '52:54:00:a0:00:02'    # the second app VM
APP2_IP = '10.200.2.2'
# IPv6: the outside's /64 (radvd there: sys-net's uplink takes its address
# by SLAAC), each downstream's /64 (sys-net's radvd: the app VMs take theirs).
OUTSIDE_IP6 = 'fd00:77::1'
DS_NET6 = 'fd00:b1:1::'
DS_GW6 = DS_NET6 + '1'
DS2_NET6 = 'fd00:b1:2::'
SPOOF_IP6 = DS_NET6 + '99'


UPLINK_IP6 = eui64('fd00:77::', UPLINK_MAC)
APP_IP6 = eui64(DS_NET6, APP_MAC)
APP2_IP6 = eui64(DS2_NET6, APP2_MAC)
FILE_SIZE = 4 << 20
FILE_SEED = b'bulkhead-sysnet-outside-v1'
READY_TIMEOUT = 150
APP_TIMEOUT = 240
ERROR_TIMEOUT = 90
NS_PREFIX = 'bk-sysnet-'

# Outside servers besides port 80: the app VM's firewall denies DENIED_PORT
# and leaves POLICY_PORT to its policy (accept).
DENIED_PORT = 8080
POLICY_PORT = 8081
GOOD_CONFIG = '''# sys-net test configuration (tests/vm/test_sysnet.py)
version 1
uplink dhcp mac=%s
downstream mac=%s address=%s/24 address6=%s/64 app-mac=%s app-ip=%s policy=accept
firewall allow dst=%s/32 proto=tcp port=80
firewall deny dst=192.168.77.0/24 proto=tcp port=%d
firewall deny dst=fd00:77::/64 proto=tcp port=%d
downstream mac=%s address=%s/24 address6=%s1/64 app-mac=%s app-ip=%s
''' % (UPLINK_MAC, DS_MAC, DS_GW, DS_GW6, APP_MAC, APP_IP, OUTSIDE_IP,
       DENIED_PORT, DENIED_PORT, DS2_MAC, DS2_GW, DS2_NET6, APP2_MAC, APP2_IP)
# The line after the good configuration is malformed.
BAD_CONFIG = GOOD_CONFIG + \
    'downstream mac=52:54:00:5e:00:03 address=10.200.3.1/24 ' \
    'app-mac=52:54:00:zz:00:03 app-ip=10.200.3.2\n'
BAD_LINE = 'line %d' % (GOOD_CONFIG.count('\n') + 1)
BAD_WHAT = "app-mac '52:54:00:zz:00:03'"


def elapsed():
    return time.monotonic() - T0


def sh(*cmd, check=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if check and r.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(cmd), r.returncode,
                                                r.stdout.strip()))
    return r


def outside_file():
    out = bytearray()
    i = 0
    while len(out) < FILE_SIZE:
        out += hashlib.sha256(FILE_SEED + i.to_bytes(8, 'little')).digest()
        i += 1
    return bytes(out[:FILE_SIZE])


class Run(Procs):
    """Everything one run starts, so that cleanup() can stop all of it."""

    def __init__(self, tmp):
        super().__init__(tmp, NS_PREFIX + str(os.getpid()))
        self.agents = []
        self.tap = 'bkup%d' % (os.getpid() % 100000)
        self.ns_made = False

    def stop(self, *names):
        for name in names:
            stop(self.procs.pop(name, None))

    def cleanup(self):
        for a in self.agents:
            a.stop()
        # The VMs first, then the links, then the servers.
        for kind in ('app', 'sysnet', 'link', ''):
            for name in list(self.procs):
                if name.startswith(kind):
                    self.stop(name)
        if self.ns_made:
            sh('ip', '-n', self.ns, 'link', 'del', self.tap, check=False)
            sh('ip', 'netns', 'del', self.ns, check=False)


def ensure_busybox():
    if shutil.which('busybox'):
        return True
    r = subprocess.run(['apt-get', 'install', '-y', '-qq',
                        '--no-install-recommends', 'busybox-static'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
    return r.returncode == 0 and shutil.which('busybox') is not None


def setup_outside(run, served):
    """The namespace, its tap, the HTTP server and the DHCP server."""
    ns, tapdev = run.ns, run.tap
    sh('ip', 'netns', 'add', ns)
    run.ns_made = True
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up')
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', tapdev, 'mode', 'tap')
    sh('ip', '-n', ns, 'addr', 'add', OUTSIDE_IP + '/24', 'dev', tapdev)
    sh('ip', '-n', ns, 'addr', 'add', OUTSIDE_IP6 + '/64', 'dev', tapdev, 'nodad')
    sh('ip', '-n', ns, 'link', 'set', tapdev, 'up')
    # The outside's router advertisements (sys-net's uplink SLAAC).
    sh('ip', 'netns', 'exec', ns, 'sh', '-c',
       'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding')
    radvd_conf = run.path('radvd.conf')
    with open(radvd_conf, 'w') as f:
        f.write('interface %s {\n\tAdvSendAdvert on;\n\tMinRtrAdvInterval 3;\n'
                '\tMaxRtrAdvInterval 10;\n\tprefix fd00:77::/64 {\n'
                '\t\tAdvOnLink on;\n\t\tAdvAutonomous on;\n\t};\n};\n' % tapdev)
    run.start('radvd', ['radvd', '-n', '-C', radvd_conf, '-p',
                        run.path('radvd.pid'), '-m', 'stderr'], netns=True)
    www = run.path('www')
    os.makedirs(www)
    with open(os.path.join(www, 'test.bin'), 'wb') as f:
        f.write(served)
    for name, port in (('http', 80), ('http-denied', DENIED_PORT),
                       ('http-policy', POLICY_PORT)):
        # '::': one dual-stack socket, IPv4 and IPv6.
        run.start(name, ['python3', '-u', '-m', 'http.server', str(port),
                         '--bind', '::', '--directory', www], netns=True)
    conf = run.path('udhcpd.conf')
    with open(conf, 'w') as f:
        f.write('interface %s\nstart %s\nend %s\nmax_leases 1\n'
                'static_lease %s %s\nlease_file %s\n'
                'option subnet 255.255.255.0\noption router %s\n'
                'option dns %s\noption lease 3600\n' % (
                    tapdev, UPLINK_IP, UPLINK_IP, UPLINK_MAC, UPLINK_IP,
                    run.path('udhcpd.leases'), OUTSIDE_IP, OUTSIDE_IP))
    open(run.path('udhcpd.leases'), 'w').close()
    run.start('udhcpd', ['busybox', 'udhcpd', '-f', conf], netns=True)
    http_ok = True
    for name in ('http', 'http-denied', 'http-policy'):
        end = time.monotonic() + 10
        while time.monotonic() < end:
            with open(run.path(name + '.log')) as f:
                if 'Serving HTTP' in f.read():
                    break
            if run.procs[name].poll() is not None:
                break
            time.sleep(0.1)
        http_ok = http_ok and run.procs[name].poll() is None and \
            'Serving HTTP' in open(run.path(name + '.log')).read()
    return http_ok and run.procs['udhcpd'].poll() is None and \
        run.procs['radvd'].poll() is None


def http_requests(run, name='http'):
    """[(client address, request line)] an HTTP server logged (an IPv4
    client as A.B.C.D, not as the dual-stack socket's ::ffff:A.B.C.D)."""
    try:
        text = open(run.path(name + '.log')).read()
    except OSError:
        return []
    return [(re.sub(r'^::ffff:', '', c), r) for c, r in
            re.findall(r'^(\S+) - - \[[^]]*\] "([^"]*)"', text, re.M)]


def start_link(run, name, link_bin, mac_a=APP_MAC, mac_b=DS_MAC):
    socks = {s: run.path('%s-%s.sock' % (name, s)) for s in ('a', 'b')}
    control = run.path(name + '-control.sock')
    proc = run.start('link-' + name, [link_bin, '--a', socks['a'], '--b', socks['b'],
                              '--control', control, '--mac-a', mac_a,
                              '--mac-b', mac_b, '--name', name])
    up = all(wait_socket(p, proc, 10) for p in (*socks.values(), control))
    return socks, control, up


def memfd(mem_mb):
    return ['-object', 'memory-backend-memfd,id=mem,size=%dM,share=on' % mem_mb,
            '-numa', 'node,memdev=mem']


def common(mem_mb, console):
    return ['qemu-system-x86_64', '-M', 'q35', '-accel', 'tcg', '-smp', '1',
            '-m', str(mem_mb), '-nodefaults', '-no-user-config', '-no-reboot',
            '-display', 'none', '-monitor', 'none', '-serial', 'file:' + console]


def sysnet_cmd(run, images, config, ds_sock, agent_sock, console, ds2_sock=None):
    # vhost-user under TCG: shared memfd memory and no MSI-X on the
    # virtio-net device (docs in /work/shared/design.md). virtio-serial
    # keeps MSI-X: only vhost's notifiers crash with it.
    return common(SYSNET_MEM_MB, console) + memfd(SYSNET_MEM_MB) + [
        '-kernel', os.path.join(images, 'sysnet-vmlinuz'),
        '-initrd', os.path.join(images, 'sysnet-initramfs.cpio.gz'),
        '-append', 'console=ttyS0 panic=-1 quiet',
        '-fw_cfg', 'name=opt/bulkhead/config,file=' + config,
        '-netdev', 'tap,id=up,ifname=%s,script=no,downscript=no' % run.tap,
        '-device', 'e1000e,netdev=up,mac=%s,romfile=' % UPLINK_MAC,
        '-chardev', 'socket,id=ds1,path=%s,reconnect=1' % ds_sock,
        '-netdev', 'vhost-user,id=ds1,chardev=ds1',
        '-device', 'virtio-net-pci,netdev=ds1,mac=%s,host_mtu=%d,vectors=0,'
                   'romfile=' % (DS_MAC, MTU),
        '-device', 'virtio-serial-pci',
        '-chardev', 'socket,id=agent,path=%s,server=on,wait=off' % agent_sock,
        '-device', 'virtserialport,chardev=agent,name=org.bulkhead.agent',
    ] + ([
        '-chardev', 'socket,id=ds2,path=%s,reconnect=1' % ds2_sock,
        '-netdev', 'vhost-user,id=ds2,chardev=ds2',
        '-device', 'virtio-net-pci,netdev=ds2,mac=%s,host_mtu=%d,vectors=0,'
                   'romfile=' % (DS2_MAC, MTU),
    ] if ds2_sock else [])


def app_cmd(images, sock, console, append, mac=APP_MAC):
    return common(APP_MEM_MB, console) + memfd(APP_MEM_MB) + [
        '-kernel', os.path.join(images, 'vmlinuz'),
        '-initrd', os.path.join(images, 'app-initramfs.cpio.gz'),
        '-append', 'console=ttyS0 panic=-1 bk.role=client bk.mtu=%d %s'
                   % (MTU, append),
        '-chardev', 'socket,id=c0,path=%s,reconnect=1' % sock,
        '-netdev', 'vhost-user,id=n0,chardev=c0',
        '-device', 'virtio-net-pci,netdev=n0,mac=%s,host_mtu=%d,vectors=0,'
                   'romfile=' % (mac, MTU),
    ]


def console_lines(path, pattern):
    try:
        text = open(path, 'rb').read().decode('utf-8', 'replace')
    except OSError:
        return []
    return [m.group(0).strip() for m in re.finditer(pattern, text, re.M)]


def wait_app(run, name, console):
    """Waits for the app VM's "done" (or its exit); its BK-RESULT lines."""
    end = time.monotonic() + APP_TIMEOUT
    proc = run.procs[name]
    while time.monotonic() < end:
        if find(results(console), 'done') or proc.poll() is not None:
            time.sleep(0.2)
            break
        time.sleep(0.2)
    return results(console)


def vm_trouble(run, name, console):
    proc = run.procs.get(name)
    try:
        q = open(run.path(name + '.log')).read().strip()
    except OSError:
        q = ''
    return '%s: QEMU %s\nQEMU output: %s\nconsole tail:\n%s' % (
        name, 'exited with %s' % proc.returncode if proc and proc.poll() is not None
        else 'still running', q or '(none)', tail(console, 25))


def good_case(tap, run, images, link_bin, want_sha):
    socks, control, up = start_link(run, 'good', link_bin)
    socks2, _, up2 = start_link(run, 'two', link_bin, APP2_MAC, DS2_MAC)
    if not tap.check(up and up2, 'bulkhead-link listening (two links)',
                     None if up and up2 else tail(run.path('link-good.log')) +
                     tail(run.path('link-two.log'))):
        return
    config = run.path('good.conf')
    with open(config, 'w') as f:
        f.write(GOOD_CONFIG)
    console = run.path('sysnet-good.console')
    agent_sock = run.path('agent-good.sock')
    started = time.monotonic()
    proc = run.start('sysnet-good', sysnet_cmd(run, images, config, socks['b'],
                                               agent_sock, console, socks2['b']),
                     netns=True)
    agent = Agent(agent_sock, proc)
    run.agents.append(agent)

    # READY: booted, configured, forwarding.
    end = time.monotonic() + READY_TIMEOUT
    ready = None
    while time.monotonic() < end and proc.poll() is None:
        ready = agent.first('READY')
        if ready or agent.first('ERROR'):
            break
        time.sleep(0.1)
    mem = console_lines(console, r'^sysnet: uplink .*memory:.*$')
    state = console_lines(console, r'^sysnet: state READY.*$')
    if not tap.check(ready is not None and ready[1] == 'READY forwarding',
                     'sys-net agent reports READY forwarding',
                     'boot-to-forwarding %.1f s from QEMU start (-m %d, TCG); '
                     'guest: %s; %s' % (ready[0] - started, SYSNET_MEM_MB,
                                        state[0] if state else '?',
                                        mem[0] if mem else '')
                     if ready else 'agent said: %s\n%s' % (
                         [l for _, l in agent.snapshot()][-5:],
                         vm_trouble(run, 'sysnet-good', console))):
        # The malformed case needs the tap this sys-net holds.
        run.stop('sysnet-good')
        return

    # A second app VM on the second link: it downloads from outside too,
    # serves on port 80 (which it checks itself) and stays up while the
    # first one tries to reach it.
    two_console = run.path('app-two.console')
    run.start('app-two', app_cmd(images, socks2['a'], two_console,
                                 'bk.ip=dhcp bk.peer=%s bk.wait=60 bk.serve=1 '
                                 'bk.probe=127.0.0.1:80,[%s]:80 bk.linger=60'
                                 % (OUTSIDE_IP, APP2_IP6), mac=APP2_MAC))
    end = time.monotonic() + APP_TIMEOUT
    while time.monotonic() < end and run.procs['app-two'].poll() is None and \
            not find(results(two_console), 'dhcp'):
        time.sleep(0.2)

    # The app VM takes its address by DHCP, pings, downloads.
    app_console = run.path('app-good.console')
    app_started = time.monotonic()
    denied = '%s:%d' % (OUTSIDE_IP, DENIED_PORT)
    policy = '%s:%d' % (OUTSIDE_IP, POLICY_PORT)
    out6 = '[%s]:80' % OUTSIDE_IP6
    denied6 = '[%s]:%d' % (OUTSIDE_IP6, DENIED_PORT)
    app2_6 = '[%s]:80' % APP2_IP6
    run.start('app-good', app_cmd(images, socks['a'], app_console,
                                  'bk.ip=dhcp bk.peer=%s bk.wait=60 '
                                  'bk.probe=%s,%s,%s:80,ping:%s,ping:%s,%s,%s,%s,'
                                  'ping:%s'
                                  % (OUTSIDE_IP, denied, policy, APP2_IP, APP2_IP,
                                     OUTSIDE_IP6, out6, denied6, app2_6, APP2_IP6)))
    res = wait_app(run, 'app-good', app_console)
    took = time.monotonic() - app_started
    dhcp = find(res, 'dhcp')
    tap.check(dhcp is not None and dhcp.startswith(
        'dhcp ok ip=%s/24 router=%s' % (APP_IP, DS_GW)),
        'app VM got %s/24, router %s, by DHCP from sys-net' % (APP_IP, DS_GW),
        'app VM: %s' % dhcp if dhcp else vm_trouble(run, 'app-good', app_console))
    ping = find(res, 'ping')
    tap.check(ping == 'ping ok 5/5', 'app VM pinged the outside host: 5/5',
              'app VM: %s; %s; %s' % (ping, find(res, 'peer-reachable'),
                                      find(res, 'ping-big')))
    got = (find(res, 'sha256') or '').split()[1:]
    tap.check(got == [want_sha],
              'HTTP download from outside is byte-exact (sha256)',
              'app VM %s, served %s; %s; app VM done %.1f s after start' % (
                  got[0] if got else None, want_sha, find(res, 'wget'), took))
    reqs = http_requests(run)
    tap.check(any(c == UPLINK_IP and 'GET /test.bin' in r for c, r in reqs),
              'the outside saw the request from sys-net\'s uplink %s (NAT)'
              % UPLINK_IP, 'HTTP server log: %s' % reqs)

    # The firewall: port 80 allowed by a rule (the download above), DENIED_PORT
    # denied by a rule (rejected: the app VM's GET fails, and the server there
    # never sees a connection), POLICY_PORT left to the policy (accept).
    probe = find(res, 'probe ' + denied)
    denied_log = [l for l in open(run.path('http-denied.log')).read().splitlines()
                  if not l.startswith('Serving HTTP')]
    tap.check(probe is not None and probe.startswith('probe %s fail' % denied) and
              not denied_log and run.procs['http-denied'].poll() is None,
              'firewall: TCP %d denied by the app VM\'s rule (the server there '
              'saw nothing)' % DENIED_PORT,
              'app VM: %s; server on %d logged: %s' % (
                  probe, DENIED_PORT, denied_log))
    probe = find(res, 'probe ' + policy)
    tap.check(probe == 'probe %s ok %s' % (policy, want_sha) and
              any(c == UPLINK_IP for c, _ in http_requests(run, 'http-policy')),
              'firewall: TCP %d allowed by the app VM\'s policy (accept)'
              % POLICY_PORT,
              'app VM: %s; server on %d logged: %s' % (
                  probe, POLICY_PORT, http_requests(run, 'http-policy')))

    # IPv6: the app VM's address by SLAAC (sys-net's radvd), a ping and a
    # byte-exact download from the outside's IPv6 address, which saw
    # sys-net's uplink address (NAT66, the uplink's own SLAAC address); the
    # firewall's IPv6 rule denies TCP 8080 there.
    v6 = find(res, 'ipv6')
    tap.check(v6 is not None and v6.startswith('ipv6 ok %s/64 ' % APP_IP6),
              'app VM took its IPv6 address %s by SLAAC from sys-net' % APP_IP6,
              'app VM: %s' % v6)
    p_ping6 = find(res, 'probe ping:' + OUTSIDE_IP6)
    p_get6 = find(res, 'probe ' + out6)
    reqs6 = [c for c, r in http_requests(run) if ':' in c]
    tap.check(p_ping6 == 'probe ping:%s ok' % OUTSIDE_IP6 and
              p_get6 == 'probe %s ok %s' % (out6, want_sha) and
              reqs6 == [UPLINK_IP6],
              'IPv6: the app VM pings the outside and downloads from it '
              'byte-exact; the outside saw sys-net\'s uplink %s (NAT66)'
              % UPLINK_IP6,
              'app VM: %s; %s; IPv6 clients the server saw: %s' % (
                  p_ping6, p_get6, reqs6))
    probe = find(res, 'probe ' + denied6)
    tap.check(probe is not None and probe.startswith('probe %s fail' % denied6) and
              not [l for l in open(run.path('http-denied.log')).read().splitlines()
                   if not l.startswith('Serving HTTP')],
              'firewall: IPv6 TCP %d denied by the app VM\'s dst=fd00:77::/64 '
              'rule' % DENIED_PORT, 'app VM: %s' % probe)

    # Two app VMs: both reach outside; the first cannot reach the second
    # (ping, TCP 80), which is up and serving (it fetched from itself).
    end = time.monotonic() + 30
    while time.monotonic() < end and run.procs['app-two'].poll() is None and \
            not find(results(two_console), 'lingering'):
        time.sleep(0.2)
    res2 = results(two_console)
    sha2 = (find(res2, 'sha256') or '').split()[1:]
    tap.check(find(res2, 'dhcp') is not None and
              find(res2, 'dhcp').startswith('dhcp ok ip=%s/24' % APP2_IP) and
              sha2 == [want_sha] and
              (find(res2, 'ipv6') or '').startswith('ipv6 ok %s/64 ' % APP2_IP6) and
              (find(res2, 'probe 127.0.0.1:80') or '').startswith(
                  'probe 127.0.0.1:80 ok') and
              (find(res2, 'probe [%s]:80' % APP2_IP6) or '').startswith(
                  'probe [%s]:80 ok' % APP2_IP6),
              'a second app VM on a second link: lease %s, SLAAC %s, '
              'byte-exact download from outside, serving on port 80 (both '
              'families)' % (APP2_IP, APP2_IP6),
              'app VM 2: %s' % ('; '.join(res2[-6:]) if res2 else
                                vm_trouble(run, 'app-two', two_console)))
    p_tcp = find(res, 'probe %s:80' % APP2_IP)
    p_ping = find(res, 'probe ping:%s' % APP2_IP)
    p_tcp6 = find(res, 'probe ' + app2_6)
    p_ping6 = find(res, 'probe ping:%s' % APP2_IP6)
    tap.check(p_tcp is not None and p_tcp.startswith('probe %s:80 fail' % APP2_IP) and
              p_ping == 'probe ping:%s fail no reply' % APP2_IP and
              p_tcp6 is not None and p_tcp6.startswith('probe %s fail' % app2_6) and
              p_ping6 == 'probe ping:%s fail no reply' % APP2_IP6 and
              run.procs['app-two'].poll() is None,
              'app VM 1 cannot reach app VM 2 (ping, TCP 80; IPv4 and IPv6) '
              'while both reach outside',
              'app VM 1: %s; %s; %s; %s; app VM 2 %s' % (
                  p_tcp, p_ping, p_tcp6, p_ping6,
                  'running' if run.procs['app-two'].poll() is None
                  else 'exited'))
    run.stop('app-two')

    # ALIVE keeps coming after READY, with a growing uptime.
    time.sleep(max(0, ready[0] + 5 - time.monotonic()))
    alive = [float(l.split()[1]) for t, l in agent.snapshot()
             if t > ready[0] and re.fullmatch(r'ALIVE [0-9.]+', l)]
    last = [l for _, l in agent.snapshot()][-6:]
    tap.check(len(alive) >= 2 and alive == sorted(alive) and alive[0] < alive[-1],
              'sys-net agent stays ALIVE after READY (a line per 2 s)',
              'ALIVE uptimes since READY: %s; last lines: %s' % (alive, last))

    st = link_status(control)
    if st is None:
        tap.check(False, 'link counted packets both ways', 'no link status')
    else:
        ab, ba = st['a_to_b'], st['b_to_a']
        tap.check(ab['packets'] > 0 and ba['packets'] > 0 and
                  ab['drops']['spoofed'] == 0 and ba['drops']['spoofed'] == 0,
                  'link counted packets both ways, none spoofed',
                  'a_to_b (app->sys-net): packets %d bytes %d drops %s\n'
                  'b_to_a (sys-net->app): packets %d bytes %d drops %s' % (
                      ab['packets'], ab['bytes'], json.dumps(ab['drops']),
                      ba['packets'], ba['bytes'], json.dumps(ba['drops'])))

    # An app VM that uses another address of its subnet (its link and MAC
    # are right): sys-net's anti-spoofing drops all it sends (ARP included),
    # so it reaches nothing. Without those rules it would: the address is
    # on-link for sys-net, and the masquerade would carry it out.
    run.stop('app-good')
    http_before = len(http_requests(run))
    spoof_console = run.path('app-spoof.console')
    run.start('app-spoof', app_cmd(images, socks['a'], spoof_console,
                                   'bk.ip=%s/24 bk.gw=%s bk.ip6=%s/64 bk.gw6=%s '
                                   'bk.first=ping:%s,[%s]:80 bk.peer=%s bk.wait=15'
                                   % (SPOOF_IP, DS_GW, SPOOF_IP6, DS_GW6,
                                      OUTSIDE_IP6, OUTSIDE_IP6, OUTSIDE_IP)))
    res = wait_app(run, 'app-spoof', spoof_console)
    st2 = link_status(control)
    crossed = st2['a_to_b']['packets'] - st['a_to_b']['packets'] if st and st2 else None
    tap.check(find(res, 'error peer %s unreachable' % OUTSIDE_IP) is not None and
              find(res, 'ping') is None and len(http_requests(run)) == http_before and
              (find(res, 'probe ping:' + OUTSIDE_IP6) or '').startswith(
                  'probe ping:%s fail' % OUTSIDE_IP6) and
              (find(res, 'probe [%s]:80' % OUTSIDE_IP6) or '').startswith(
                  'probe [%s]:80 fail' % OUTSIDE_IP6),
              'an app VM using addresses not its own (%s, %s) reaches nothing'
              % (SPOOF_IP, SPOOF_IP6),
              'app VM: %s; frames it sent across the link: %s; HTTP requests '
              '%d -> %d' % ('; '.join(res[-3:]) if res else
                            vm_trouble(run, 'app-spoof', spoof_console),
                            crossed, http_before, len(http_requests(run))))
    run.stop('app-spoof', 'sysnet-good', 'link-good', 'link-two')
    agent.stop()


def bad_case(tap, run, images, link_bin):
    socks, control, up = start_link(run, 'bad', link_bin)
    if not up:
        tap.diag('bulkhead-link did not start:\n' + tail(run.path('link-bad.log')))
        return
    config = run.path('bad.conf')
    with open(config, 'w') as f:
        f.write(BAD_CONFIG)
    console = run.path('sysnet-bad.console')
    agent_sock = run.path('agent-bad.sock')
    proc = run.start('sysnet-bad', sysnet_cmd(run, images, config, socks['b'],
                                              agent_sock, console), netns=True)
    agent = Agent(agent_sock, proc)
    run.agents.append(agent)
    end = time.monotonic() + ERROR_TIMEOUT
    err = None
    while time.monotonic() < end and proc.poll() is None:
        err = agent.first('ERROR')
        if err or agent.first('READY'):
            break
        time.sleep(0.1)
    line = err[1] if err else ''
    tap.check(line.startswith('ERROR config: ' + BAD_LINE + ':') and BAD_WHAT in line,
              'malformed configuration: the agent reports ERROR config naming '
              'the line and the value',
              'agent: %s' % (line or [l for _, l in agent.snapshot()][-5:]))

    # The app VM knows its address and gateway: only sys-net could stop it.
    http_before = len(http_requests(run))
    app_console = run.path('app-bad.console')
    run.start('app-bad', app_cmd(images, socks['a'], app_console,
                                 'bk.ip=%s/24 bk.gw=%s bk.peer=%s bk.wait=20'
                                 % (APP_IP, DS_GW, OUTSIDE_IP)))
    res = wait_app(run, 'app-bad', app_console)
    refused = console_lines(console, r'^sysnet: refusing to forward.*$')
    unreachable = find(res, 'error peer %s unreachable' % OUTSIDE_IP)
    tap.check(unreachable is not None and find(res, 'ping') is None and
              len(http_requests(run)) == http_before and
              agent.first('READY') is None,
              'malformed configuration: sys-net does not forward (the app VM '
              'cannot reach outside, never READY)',
              'app VM: %s; sys-net: %s; HTTP requests %d -> %d' % (
                  '; '.join(res[-4:]) if res else vm_trouble(run, 'app-bad', app_console),
                  refused, http_before, len(http_requests(run))))
    run.stop('app-bad', 'sysnet-bad', 'link-bad')
    agent.stop()


def report_cleanup(tap, run):
    if run.ns in sh('ip', 'netns', 'list', check=False).stdout.split():
        tap.diag('namespace %s still exists after cleanup' % run.ns)
    tap.diag('total run time %.1f s' % elapsed())


def main(argv):
    return vm_test(argv, 21, 'bulkhead-sysnet-', Run, steps, report_cleanup)


def steps(tap, run, link_bin, build_images):
    # 1: the images.
    t = time.monotonic()
    r = subprocess.run([build_images], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    images = image_dir()
    ok = r.returncode == 0 and os.path.exists(
        os.path.join(images, 'sysnet-initramfs.cpio.gz'))
    if not tap.check(ok, 'guest images built (sys-net and app VM)',
                     '%s (%.1f s)\n%s' % (build_images, time.monotonic() - t,
                                          r.stdout.strip())):
        return
    with open(os.path.join(images, 'manifest.json')) as f:
        manifest = json.load(f)
    tap.diag('sys-net initramfs %d bytes (%d unpacked)' % (
        os.path.getsize(os.path.join(images, 'sysnet-initramfs.cpio.gz')),
        manifest['sysnet']['unpacked_bytes']))
    # NIC firmware from non-free-firmware: what the shipped drivers name.
    fw = manifest['sysnet'].get('firmware') or {}
    files = fw.get('files', [])
    tap.check(any(f.startswith('rtl_nic/') for f in files) and
              any(f.startswith('tigon/') for f in files) and
              'intel/ice/ddp/ice.pkg' in files and not fw.get('not_in_packages'),
              'sys-net carries the firmware its NIC drivers name (r8169, tg3, '
              'ice): %d files, %d bytes xz' % (len(files), fw.get('xz_bytes', 0)),
              'manifest: %s (build-images says why when non-free-firmware is '
              'unreachable)' % json.dumps(fw)[:500])

    # 2: the outside world.
    if os.geteuid() != 0:
        tap.check(False, 'outside namespace, tap, HTTP and DHCP servers',
                  'needs root (ip netns)')
        return
    if not ensure_busybox():
        tap.check(False, 'outside namespace, tap, HTTP and DHCP servers',
                  'no busybox on the host (udhcpd), and apt-get could not '
                  'install busybox-static')
        return
    served = outside_file()
    try:
        ok = setup_outside(run, served)
        why = '' if ok else 'http: %s\nudhcpd: %s' % (
            tail(run.path('http.log'), 5), tail(run.path('udhcpd.log'), 5))
    except RuntimeError as e:
        ok, why = False, str(e)
    if not tap.check(ok, 'outside namespace %s: tap %s %s/24, HTTP and DHCP '
                     'servers' % (run.ns, run.tap, OUTSIDE_IP), why or None):
        return

    # 3-15: a good configuration; 16-17: a malformed one.
    good_case(tap, run, images, link_bin, hashlib.sha256(served).hexdigest())
    bad_case(tap, run, images, link_bin)


if __name__ == '__main__':
    run_main(main)
