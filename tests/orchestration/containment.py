#!/usr/bin/env python3
"""Containment between the VMs of a running topology, on the host.

Acts as each VM's QEMU would after a guest escape (its uid, gid and
supplementary groups, no capabilities) and tries to reach what belongs to
the other VMs: write the files they boot from (kernel, initrd, fw_cfg
configuration, the image cache), connect to the sockets their QEMUs use
(vhost-user links, agent) and to the links' control sockets, signal and
read their QEMU processes, read the topology's state and console logs.
Every such attempt must fail, while the same identity still reaches its
own (reads its boot files, may connect to its link sockets, signals
itself).

What each VM uses is read from libvirt (the live domain XML) and the host,
not from Bulkhead's own idea of its layout, so the same probe runs against
any version of it:

    containment.py TOPOLOGY STATE_DIR IMAGE_DIR    (prints TAP)

test_bulkhead.py imports check_topology().
"""
import errno
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET

URI = 'qemu:///system'


def sh(*cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def topology_domains(topology):
    """{domain: xml} of the running domains whose metadata names TOPOLOGY."""
    out = {}
    for name in sh('virsh', '-c', URI, 'list', '--name').stdout.split():
        xml = sh('virsh', '-c', URI, 'dumpxml', name).stdout
        if re.search(r'<bulkhead:topology>%s</bulkhead:topology>'
                     % re.escape(topology), xml):
            out[name] = xml
    return out


def qemu_of(domain):
    """(pid, uid, gid, groups) of DOMAIN's QEMU."""
    with open('/run/libvirt/qemu/%s.pid' % domain) as f:
        pid = int(f.read().strip())
    uid = gid = None
    groups = []
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('Uid:'):
                uid = int(line.split()[1])
            elif line.startswith('Gid:'):
                gid = int(line.split()[1])
            elif line.startswith('Groups:'):
                groups = [int(g) for g in line.split()[1:]]
    return pid, uid, gid, groups


def resources(xml):
    """What one domain's QEMU uses, from its live XML."""
    root = ET.fromstring(xml)
    boot = [e.text for e in (root.find('os/kernel'), root.find('os/initrd'))
            if e is not None and e.text]
    boot += [e.get('file') for e in root.iter('entry') if e.get('file')]
    sockets, agents, logs = [], [], []
    for iface in root.iter('interface'):
        src = iface.find('source')
        if iface.get('type') == 'vhostuser' and src is not None:
            sockets.append(src.get('path'))
    for ch in root.iter('channel'):
        src = ch.find('source')
        if ch.get('type') == 'unix' and src is not None and src.get('path'):
            agents.append(src.get('path'))
    for log in root.iter('log'):
        if log.get('file'):
            logs.append(log.get('file'))
    return {'boot': boot, 'sockets': sockets, 'agents': agents, 'logs': logs}


def files_under(top):
    out = []
    for d, _dirs, files in os.walk(top):
        out += [os.path.join(d, f) for f in files]
    return out


def probe(spec):
    """Runs in the child, as the attacker: each attempt and its outcome."""
    res = {}

    def note(kind, what, fn):
        try:
            fn()
            res['%s %s' % (kind, what)] = 'ok'
        except OSError as ex:
            res['%s %s' % (kind, what)] = errno.errorcode.get(ex.errno, str(ex.errno))

    def write(p):
        fd = os.open(p, os.O_WRONLY | os.O_NOFOLLOW)
        os.close(fd)

    def read(p):
        with open(p, 'rb') as f:
            f.read(1)

    def connect(p):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(p)
        finally:
            s.close()

    def may_connect(p):
        os.stat(p)
        if not os.access(p, os.W_OK):
            raise PermissionError(errno.EACCES, 'no write permission')

    def proc_environ(pid):
        read('/proc/%d/environ' % pid)

    def proc_mem(pid):
        os.close(os.open('/proc/%d/mem' % pid, os.O_RDONLY))

    def signal(pid):
        os.kill(pid, 0)
    attempts = [('write', 'write', write), ('read', 'read', read),
                ('connect', 'connect', connect), ('signal', 'signal', signal),
                ('procread', 'environ of', proc_environ),
                ('procread', 'mem of', proc_mem),
                ('own_read', 'own read', read),
                ('own_sockets', 'own may-connect', may_connect),
                ('own_signal', 'own signal', signal)]
    for key, kind, fn in attempts:
        for what in spec[key]:
            note(kind, what, lambda what=what, fn=fn: fn(what))
    return res


def run_as(uid, gid, groups, spec):
    # Debian's own python, and the probe as text: the attacker's uid may
    # not reach this checkout or a python under root's home.
    code = 'import errno, json, os, socket, sys\n%s\nprint(json.dumps(probe(' \
        'json.load(sys.stdin))))\n' % inspect.getsource(probe)
    r = subprocess.run(['/usr/bin/python3', '-c', code], cwd='/',
                       input=json.dumps(spec), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, user=uid, group=gid,
                       extra_groups=groups, timeout=120)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {'probe failed': r.stdout[-1000:]}


def vm_name(domain):
    return domain[len('bulkhead-'):] if domain.startswith('bulkhead-') else domain


def check_topology(t, topology, state_dir, image_dir, expect_vms=3):
    """TAP checks (through t.check) for every VM of TOPOLOGY as attacker;
    5 per VM, plus one for the set found."""
    doms = topology_domains(topology)
    t.check(len(doms) == expect_vms, 'containment: %d VMs of %s running (%s)'
            % (expect_vms, topology, ', '.join(sorted(doms))))
    info = {}
    for d, xml in doms.items():
        info[d] = {'qemu': qemu_of(d), 'res': resources(xml)}
    links_ctl = []
    try:
        with open(os.path.join(state_dir, topology, 'links.json')) as f:
            links_ctl = [l['control'] for l in json.load(f)['links']]
    except (OSError, ValueError, KeyError):
        pass
    images = [p for p in files_under(image_dir)
              if os.path.basename(p) in ('vmlinuz', 'sysnet-vmlinuz',
                                         'manifest.json')
              or p.endswith('-initramfs.cpio.gz')]
    state_files = [p for p in files_under(os.path.join(state_dir, topology))
                   if not stat_is_socket(p) and '/vm/' not in p]
    for a in sorted(doms):
        pid, uid, gid, groups = info[a]['qemu']
        others = [d for d in doms if d != a]
        mine = info[a]['res']
        theirs_boot = [p for d in others for p in info[d]['res']['boot']]
        theirs_socks = [p for d in others for p in
                        info[d]['res']['sockets'] + info[d]['res']['agents']]
        spec = {
            'write': theirs_boot + images,
            'read': state_files + [p for d in doms for p in info[d]['res']['logs']],
            'connect': theirs_socks + mine['agents'] + links_ctl,
            'signal': [info[d]['qemu'][0] for d in others],
            'procread': [info[d]['qemu'][0] for d in others],
            'own_read': mine['boot'],
            'own_sockets': mine['sockets'],
            'own_signal': [pid],
        }
        res = run_as(uid, gid, groups, spec)
        who = "%s's QEMU (uid %d, gid %d, groups %s)" % (vm_name(a), uid, gid,
                                                        groups)

        def got(prefix):
            return {k: v for k, v in res.items() if k.startswith(prefix)}

        def reached(prefix):
            return {k: v for k, v in got(prefix).items() if v == 'ok'}
        bad = reached('write ')
        t.check(not bad and len(got('write ')) == len(spec['write']) and
                spec['write'],
                'containment: %s cannot write any of the %d files other VMs boot'
                ' from or the image cache' % (who, len(spec['write'])),
                json.dumps(bad or res, indent=1)[:3000])
        bad = reached('connect ')
        t.check(not bad and len(got('connect ')) == len(spec['connect']) and
                spec['connect'],
                'containment: %s cannot connect to any of the %d sockets: other'
                ' VMs\' links and agents, its own agent, the links\' control'
                % (who, len(spec['connect'])),
                json.dumps(bad or res, indent=1)[:3000])
        bad = {k: v for k, v in res.items() if v == 'ok' and (
            k.startswith('signal ') or k.startswith('environ of') or
            k.startswith('mem of'))}
        t.check(not bad and spec['signal'],
                'containment: %s cannot signal or read the other %d QEMUs'
                % (who, len(spec['signal'])), json.dumps(bad or res, indent=1)[:3000])
        bad = reached('read ')
        t.check(not bad and spec['read'],
                'containment: %s cannot read the topology\'s %d state files and'
                ' console logs' % (who, len(spec['read'])),
                json.dumps(bad, indent=1)[:3000])
        own = {k: v for k, v in res.items() if k.startswith('own ')}
        t.check(own and all(v == 'ok' for v in own.values()) and
                len(own) == len(mine['boot']) + len(mine['sockets']) + 1,
                'containment: %s still reaches its own (%d boot files, %d link'
                ' sockets, itself)' % (who, len(mine['boot']), len(mine['sockets'])),
                json.dumps(own, indent=1)[:2000])


def stat_is_socket(p):
    try:
        return (os.lstat(p).st_mode & 0o170000) == 0o140000
    except OSError:
        return False


def main():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    '..', 'vm'))
    from vmlib import Tap
    topology, state_dir, image_dir = sys.argv[1:4]
    n = len(topology_domains(topology))
    t = Tap(1 + 5 * n)
    check_topology(t, topology, state_dir, image_dir, expect_vms=n)
    t.finish()
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main())
