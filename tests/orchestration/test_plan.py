#!/usr/bin/env python3
"""What `bulkhead up` would make, checked by the real consumers, no VMs.

    test_plan.py BULKHEAD BK_CONFIG DEMO_YAML

For several topologies, `bulkhead check --show` prints each driver VM's
sys-net configuration and every libvirt domain's XML. Each configuration
goes through sys-net's own checker (driver-vms/net/bk-config, under dash
as in the guest's busybox ash) and must pass with the right number of
downstreams, firewall rules and talk pairs; each domain XML must validate
against libvirt's schema (virt-xml-validate) and carry what the design
needs (shared memfd memory, vectors=0 under TCG, the agent channel, free
root ports on driver VMs). A PCI device on this machine (no IOMMU) is
refused by check with the reason.
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import Tap  # noqa: E402

BULKHEAD, BK_CONFIG, DEMO = sys.argv[1:4]
# The tests' own kind is in this build (-Dtest_triggers=true).
WITH_DUMMY = 'dummy' in sys.argv[4:]


def big_topology():
    """Two driver VMs (one with a static uplink, IPv6 too), 32 app VMs on
    the first (IPv6 auto, off or a /64 of their own), firewall rules
    (IPv4 and IPv6), talk pairs, a host port on the second (its
    downstream first: ua-ds0)."""
    out = ['version: 1', 'name: big', 'driver-vms:',
           '  - name: net-a', '    kind: net', '    devices:',
           '      - emulated: e1000e', '        netns: bk-plan-a',
           '  - name: net-b', '    kind: net', '    memory: 128', '    vcpus: 2',
           '    devices:', '      - emulated: e1000e', '        netns: bk-plan-b',
           '    uplink:', '      mode: static', '      address: 192.0.2.10/24',
           '      gateway: 192.0.2.1', '      dns: [192.0.2.53]',
           '      address6: 2001:DB8:2::10/64', '      gateway6: fe80::1',
           'app-vms:']
    for i in range(31):
        out += ['  - name: app%d' % i, '    net: net-a',
                '    mac: "52:54:00:10:00:%02x"' % (i + 1),
                '    ip: 10.%d.%d.2/24' % (100 + i // 200, i % 200)]
        if i % 5 == 1:
            out += ['    ipv6: off']
        elif i == 4:
            out += ['    ipv6: 2001:db8:4:0::/64']
        if i == 0:
            out += ['    firewall:', '      rules:', '        - action: deny',
                    '          dst: "2001:db8::/32"', '        - action: deny',
                    '          dst: "::/0"', '          proto: udp']
        elif i % 3 == 0:
            out += ['    firewall:', '      policy: drop', '      rules:',
                    '        - action: allow', '          dst: 0.0.0.0/0',
                    '          proto: tcp', '          port: 443',
                    '        - action: allow', '          proto: udp',
                    '          port: "5000-5010"']
    out += ['  - name: solo', '    net: net-b', '    vcpus: 3',
            '    mac: "52:54:00:20:00:01"',
            '    ip: 172.16.5.2/24', '    gateway: 172.16.5.1',
            'talk:', '  - [app0, app1]', '  - [app2, app30]',
            'host-port:', '  net: net-b', '  mac: "52:54:00:30:00:01"',
            '  ip: 10.250.0.2/30', '  netns: bk-plan-host',
            '  default-route: on']
    return '\n'.join(out) + '\n'


PCI = '''version: 1
name: withpci
driver-vms:
  - name: sys-net
    kind: net
    devices:
      - pci: "%s"
app-vms:
  - name: work
    net: sys-net
    mac: "52:54:00:a0:00:01"
    ip: 10.200.1.2/24
'''


NET_FIELDS = ('net', 'mac', 'ip', 'gateway', 'ipv6', 'firewall')


def to_v2(text):
    """TEXT (a version 1 topology) in version 2's spelling: each app VM's
    network fields under net:, the driver VM as via:, the host port's
    too."""
    # BaseLoader: every scalar as written ("off" stays off, not False).
    topo = yaml.load(text, Loader=yaml.BaseLoader)
    topo['version'] = 2
    for app in topo.get('app-vms', []):
        net = {k: app.pop(k) for k in NET_FIELDS if k in app}
        net['via'] = net.pop('net')
        app['net'] = net
    if 'host-port' in topo:
        topo['host-port']['via'] = topo['host-port'].pop('net')
    return yaml.safe_dump(topo, sort_keys=False)


def show(path):
    """check --show's exit status and sections."""
    r = subprocess.run([BULKHEAD, 'check', '--show', path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return r, sections(r.stdout)


# An app VM's usb: and storage: name a driver VM of a kind that serves
# that class (none serves usb yet: sys-usb comes with its kind).
ATTACH = '''version: 2
name: attach
driver-vms:
  - name: sys-net
    kind: net
    devices: [{emulated: e1000e, netns: bk-plan-a}]
app-vms:
  - name: work
    net: {via: sys-net, mac: "52:54:00:a0:00:01", ip: 10.200.1.2/24}
    %s: {via: sys-net}
'''


def to_v1(text):
    """TEXT (a version 2 topology, networks only) in version 1's
    spelling."""
    topo = yaml.load(text, Loader=yaml.BaseLoader)
    topo['version'] = 1
    for app in topo.get('app-vms', []):
        net = app.pop('net')
        app['net'] = net.pop('via')
        app.update(net)
    if 'host-port' in topo:
        topo['host-port']['net'] = topo['host-port'].pop('via')
    return yaml.safe_dump(topo, sort_keys=False)


# What a driver VM's kind takes in its entry (kinds/kind.h "takes"), each
# refused by check at its line: (name, the file after HEAD, message after
# "PATH:").
SECTION_HEAD = 'version: 2\nname: sections\ndriver-vms:\n'
NET_DEVICE = '    devices: [{emulated: e1000e, netns: bk-plan-a}]\n'
SECTIONS = [
    ('net without devices', '  - name: sys-net\n    kind: net\n',
     "4: driver-vms[0].devices: missing; a net driver VM needs at least one"),
    ('net with no device', '  - name: sys-net\n    kind: net\n'
     '    devices: []\n',
     "6: driver-vms[0].devices: 0 entries; a net driver VM needs at least"
     " one"),
    ('two NICs, no uplink mac', '  - name: sys-net\n    kind: net\n'
     '    devices:\n      - {emulated: e1000e, netns: bk-plan-a}\n'
     '      - {emulated: igb, netns: bk-plan-b}\n',
     "4: driver-vms[0].uplink.mac: missing; with 2 devices it must say"
     " which is the uplink"),
    ('an emulated disk on sys-net', '  - name: sys-net\n    kind: net\n'
     '    devices: [{emulated: nvme, file: /var/lib/bk/d.raw, size: 1G}]\n',
     "6: driver-vms[0].devices[0].emulated: a net driver VM emulates no"
     " 'nvme' (kinds that do: storage)"),
    ('an emulated NIC on sys-storage', '  - name: sys-st\n    kind: storage\n'
     + NET_DEVICE,
     "6: driver-vms[0].devices[0].emulated: a storage driver VM emulates no"
     " 'e1000e' (kinds that do: net)"),
    ('storage without devices', '  - name: sys-st\n    kind: storage\n',
     "4: driver-vms[0].devices: missing; a storage driver VM needs at least"
     " one"),
    ('an uplink on sys-storage', '  - name: sys-st\n    kind: storage\n'
     '    devices: [{emulated: nvme, file: /var/lib/bk/d.raw, size: 1G}]\n'
     '    uplink: {mode: dhcp}\n',
     "7: driver-vms[0].uplink: a storage driver VM takes none (kinds that"
     " do: net)"),
    ('input on sys-net', '  - name: sys-n\n    kind: net\n' + NET_DEVICE +
     '    input: {pointer: allow}\n',
     "7: driver-vms[0].input: a net driver VM takes none (kinds that do:"
     " usb)"),
    ('a keyboard on sys-net', '  - name: sys-n\n    kind: net\n'
     '    devices: [{emulated: usb-kbd}]\n',
     "6: driver-vms[0].devices[0].emulated: a net driver VM emulates no"
     " 'usb-kbd' (kinds that do: usb)"),
]
# The tests' dummy kind (test builds) takes neither devices nor uplink.
DUMMY_SECTIONS = [
    ('an uplink on a dummy driver VM', '  - name: sys-x\n    kind: dummy\n'
     '    uplink: {mode: dhcp}\n',
     "6: driver-vms[0].uplink: a dummy driver VM takes none (kinds that"
     " do: net)"),
    ('a device on a dummy driver VM', '  - name: sys-x\n    kind: dummy\n'
     + NET_DEVICE,
     "6: driver-vms[0].devices: a dummy driver VM takes none (kinds that"
     " do: net, storage, usb)"),
]


def check_sections(t, tmp):
    """Each kind's section of a driver-VM entry, refused by check with the
    file's line: NET_DEVICE is taken by net, not by the dummy kind."""
    path = os.path.join(tmp, 'sections.yaml')
    for name, body, msg in SECTIONS + DUMMY_SECTIONS:
        if (name, body, msg) in DUMMY_SECTIONS and not WITH_DUMMY:
            t.check(True, '%s # SKIP no dummy kind in this build' % name)
            continue
        with open(path, 'w') as f:
            f.write(SECTION_HEAD + body)
        r = subprocess.run([BULKHEAD, 'check', path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        t.check(r.returncode == 2 and '%s:%s' % (path, msg) in r.stdout,
                '%s: exit 2, file:line, what the kind takes' % name, r.stdout)


def check_versions(t, tmp, cases):
    """Each file of CASES and its other version's spelling make the same
    configurations and domains: version 1 is converted on load."""
    for path, _drivers, _napps in cases:
        other = os.path.join(tmp, 'other-' + os.path.basename(path))
        with open(path) as f:
            text = f.read()
        with open(other, 'w') as out:
            out.write(to_v2(text) if re.search(r'^version: 1$', text, re.M)
                      else to_v1(text))
        r1, s1 = show(path)
        r2, s2 = show(other)
        t.check(r1.returncode == 0 and r2.returncode == 0 and s1 and s1 == s2,
                '%s: its other version\'s spelling makes the same'
                ' configurations and domains' % os.path.basename(path),
                r2.stdout[-1500:] + open(other).read()[:1500])
    for cls, serving in (('usb', 'usb'), ('storage', 'storage')):
        path = os.path.join(tmp, cls + '.yaml')
        with open(path, 'w') as f:
            f.write(ATTACH % cls)
        r = subprocess.run([BULKHEAD, 'check', path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        t.check(r.returncode == 2 and
                "%s:10: app-vms[0].%s.via: 'sys-net' is a net driver VM, which"
                " serves no %s (kinds that do: %s)" % (path, cls, cls, serving)
                in r.stdout, '%s: on a driver VM whose kind does not serve it:'
                ' exit 2, file:line, the kind' % cls, r.stdout)


def sections(text):
    """{(vm, what): body} from check --show."""
    out = {}
    for m in re.finditer(r'^=== (\S+): ([^\n]+)\n(.*?)(?=^=== |\Z)', text,
                         re.S | re.M):
        body = m.group(3)
        if m.group(2) == 'libvirt domain' and '</domain>' in body:
            body = body[:body.rindex('</domain>') + len('</domain>\n')]
        out[(m.group(1), m.group(2))] = body
    return out


def bk_config(text, tmp):
    path = os.path.join(tmp, 'config')
    with open(path, 'w') as f:
        f.write(text)
    return subprocess.run(['dash', BK_CONFIG, path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


def own_uid(xml):
    """A static DAC label with one id of Bulkhead's range as uid and gid
    (orchestration/core/vm_ids.h)."""
    m = re.search(r"<seclabel type='static' model='dac' relabel='yes'>"
                  r"<label>\+(\d+):\+(\d+)</label></seclabel>", xml)
    return bool(m) and m.group(1) == m.group(2) and \
        0x70b10000 <= int(m.group(1)) < 0x70b20000


def validate(xml, tmp):
    path = os.path.join(tmp, 'domain.xml')
    with open(path, 'w') as f:
        f.write(xml)
    return subprocess.run(['virt-xml-validate', path, 'domain'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


STORAGE_TOPOLOGY = '''version: 2
name: stplan
driver-vms:
  - name: sys-net
    kind: net
    devices: [{emulated: e1000e, netns: bk-plan-a}]
  - name: sys-st
    kind: storage
    memory: 128
    devices: [{emulated: nvme, file: /var/lib/bk-plan/disk.raw, size: 4G}]
app-vms:
  - name: work
    net: {via: sys-net, mac: 52:54:00:a0:00:01, ip: 10.200.1.2/24}
    storage: {via: sys-st, size: 2G}
  - name: mail
    net: {via: sys-net, mac: 52:54:00:a0:00:02, ip: 10.200.2.2/24}
    storage: {via: sys-st}
  - name: web
    net: {via: sys-net, mac: 52:54:00:a0:00:03, ip: 10.200.3.2/24}
'''


BYO_TOPOLOGY = '''version: 2
name: byoplan
driver-vms:
  - name: sys-net
    kind: net
    devices: [{emulated: e1000e, netns: bk-plan-a}]
app-vms:
  - name: own
    disk: %s
    display: true
    net: {via: sys-net, mac: 52:54:00:a0:00:01, ip: 10.200.1.2/24}
'''


def check_byo(t, tmp):
    """An app VM on its own disk (docs/templates.md "Bring your own
    image"): firmware boot, its disk with the chain ended, the seed
    read-only, qemu-ga's channel; valid by libvirt's schema."""
    image = os.path.join(tmp, 'own.raw')
    with open(image, 'wb') as f:
        f.truncate(4 << 20)
    path = os.path.join(tmp, 'byoplan.yaml')
    with open(path, 'w') as f:
        f.write(BYO_TOPOLOGY % image)
    r, sec = show(path)
    xml = sec.get(('own', 'libvirt domain'), '')
    v = validate(xml, tmp)
    t.check(r.returncode == 0 and v.returncode == 0 and own_uid(xml) and
            '<kernel>' not in xml and "<boot dev='hd'/>" in xml and
            '<bulkhead:kernel>' not in xml and
            re.search(r"<source file='[^']*/own/disk\.qcow2'/>\n"
                      r"      <backingStore/>", xml) and
            re.search(r"<source file='[^']*/own/seed\.iso'><seclabel"
                      r" model='dac' relabel='no'/></source>\n"
                      r"      <backingStore/>\n.*\n      <readonly/>", xml) and
            "name='org.qemu.guest_agent.0'" in xml and image not in xml and
            "<graphics type='vnc'>" in xml and '<loader' not in xml and
            '<nvram' not in xml and '<smm' not in xml,
            'a disk VM\'s domain: valid, firmware boot (SeaBIOS: no loader,'
            ' no NVRAM), its own disk (no backing chain) and a read-only'
            ' seed libvirt never relabels, never the image brought, qemu-ga,'
            ' its display',
            r.stdout[-3000:] + v.stdout)
    # firmware: uefi: OVMF named, the VM's own variable store, SMM off.
    with open(path, 'w') as f:
        f.write(BYO_TOPOLOGY.replace('    display: true\n',
                                     '    firmware: uefi\n') % image)
    r, sec = show(path)
    xml = sec.get(('own', 'libvirt domain'), '')
    v = validate(xml, tmp)
    t.check(r.returncode == 0 and v.returncode == 0 and re.search(
        r"<loader readonly='yes' type='pflash'>/usr/share/OVMF/"
        r"OVMF_CODE_4M\.fd</loader>\n    <nvram>[^<]*/own/nvram\.fd</nvram>"
        r"\n    <boot dev='hd'/>", xml) and "<smm state='off'/>" in xml and
            '<kernel>' not in xml,
            'a UEFI disk VM\'s domain: valid, OVMF without Secure Boot as a'
            ' read-only pflash, its own variable store, SMM off',
            r.stdout[-3000:] + v.stdout)


def many_volumes():
    """STORAGE_TOPOLOGY's sys-st serving 31 app VMs' volumes."""
    apps = ''.join('  - name: v%d\n    net: {via: sys-net, mac: "52:54:00:a1:00:%02x",'
                   ' ip: 10.201.%d.2/24}\n    storage: {via: sys-st}\n'
                   % (i, i, i) for i in range(31))
    return STORAGE_TOPOLOGY[:STORAGE_TOPOLOGY.index('app-vms:')] + \
        'app-vms:\n' + apps


def check_storage(t, tmp):
    """A storage driver VM's configuration (a volume per app VM it
    serves, 1G unless the file says) and domain (the emulated NVMe disk,
    a port per volume, no NIC), and its app VMs' vhost-user disk: each
    domain valid by libvirt's schema."""
    path = os.path.join(tmp, 'stplan.yaml')
    with open(path, 'w') as f:
        f.write(STORAGE_TOPOLOGY)
    r, sec = show(path)
    cfg = sec.get(('sys-st', 'sys-storage configuration'), '')
    t.check(r.returncode == 0 and re.findall(r'^volume .*', cfg, re.M) ==
            ['volume work 2048', 'volume mail 1024'] and
            'pool-warn-percent 80' in cfg,
            'sys-storage\'s configuration: a volume per app VM it serves'
            ' (2G as given, 1G by default), none for web', r.stdout[-3000:])
    xml = sec.get(('sys-st', 'libvirt domain'), '')
    v = validate(xml, tmp)
    t.check(v.returncode == 0 and own_uid(xml) and
            "file=/var/lib/bk-plan/disk.raw'" in xml and
            "value='nvme,drive=bkdisk0," in xml and '<interface' not in xml and
            xml.count("name='org.bulkhead.volume.") == 2 and
            "name='org.bulkhead.volume.work'" in xml and
            "name='opt/bulkhead/config'" in xml,
            'sys-storage\'s domain: valid, its own uid, the emulated NVMe'
            ' over its file, a port per volume, no NIC', xml + v.stdout)
    apps = {a: sec.get((a, 'libvirt domain'), '') for a in ('work', 'web')}
    v = validate(apps['work'], tmp)
    t.check(v.returncode == 0 and
            "<disk type='vhostuser' device='disk'>" in apps['work'] and
            re.search(r"<source type='unix' path='[^']*/vm/work/work\.disk'>"
                      r"<reconnect enabled='yes'", apps['work']) and
            "type='vhostuser' device='disk'" not in apps['web'],
            'an app VM it serves gets a vhost-user virtio-blk disk (valid);'
            ' one it does not, none', apps['work'] + v.stdout)
    many = os.path.join(tmp, 'many.yaml')
    with open(many, 'w') as f:
        f.write(many_volumes())
    r = subprocess.run([BULKHEAD, 'check', many], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    t.check(r.returncode == 2 and "%s:%d: app-vms[30].storage.via: 'sys-st'"
            " would serve more than 30 volumes" % (many, 11 + 30 * 3 + 3)
            in r.stdout, 'a storage driver VM serving 31 volumes: refused at'
            ' the 31st, file:line', r.stdout)


def main():
    tmp = tempfile.mkdtemp(prefix='bk-plan-')
    big = os.path.join(tmp, 'big.yaml')
    with open(big, 'w') as f:
        f.write(big_topology())
    # (file, driver VMs -> (downstreams, rules, talk pairs, downstreams
    # with IPv6, uplink address6=), app VM count)
    # The demo's rules and IPv6 links change with the demo: from its file.
    with open(DEMO) as f:
        demo = f.read()
    cases = [(DEMO, {'sys-net': (2, demo.count('- action:'), 0,
                                 2 - demo.count('ipv6: off'), None)}, 2),
             (big, {'net-a': (31, 22, 2, 25, None),
                    'net-b': (2, 0, 0, 1, '2001:db8:2::10/64')}, 32)]
    t = Tap(sum(len(d) * 2 + n for _f, d, n in cases) + 2 * len(cases) + 3 +
            len(SECTIONS) + len(DUMMY_SECTIONS) + 7)
    check_versions(t, tmp, cases)
    check_sections(t, tmp)
    check_storage(t, tmp)
    check_byo(t, tmp)
    for path, drivers, napps in cases:
        r, sec = show(path)
        t.check(r.returncode == 0 and len(sec) == len(drivers) * 2 + napps,
                '%s: check --show prints %d configurations and %d domains'
                % (os.path.basename(path), len(drivers), len(drivers) + napps),
                r.stdout[-2000:])
        for name, (nds, nrules, ntalk, nds6, up6) in drivers.items():
            cfg = sec.get((name, 'sys-net configuration'), '')
            c = bk_config(cfg, tmp)
            env = dict(re.findall(r'^(\w+)=(.*)$', c.stdout, re.M))
            rules = sum(int(v) for k, v in env.items()
                        if re.match(r'DS_\d+_FW_COUNT$', k))
            # IPv6 as written (docs/topology.md): sys-net's ::1 on each
            # /64 but those with ipv6: off, the static uplink's address6
            # in canonical text.
            ds6 = re.findall(r'^downstream .* address6=(\S+::1/64) ', cfg, re.M)
            up = re.search(r'^uplink .*', cfg, re.M)
            up_ok = (up6 is None and 'address6=' not in up.group(0)) or \
                (up6 is not None and ' address6=%s gateway6=fe80::1' % up6
                 in up.group(0)) if up else False
            # A host port's downstream comes first (app VMs added later
            # are appended: applied live).
            first = re.search(r'^downstream .*', cfg, re.M)
            host_ok = 'host-port:\n  net: %s\n' % name not in open(path).read() \
                or (first and 'app-mac=52:54:00:30:00:01 ' in first.group(0))
            t.check(host_ok and c.returncode == 0 and env.get('DS_COUNT') == str(nds) and
                    rules == nrules and env.get('TALK_COUNT', '0') == str(ntalk)
                    and len(ds6) == nds6 and up_ok,
                    '%s: sys-net\'s bk-config accepts its configuration (%d'
                    ' downstreams, %d with IPv6, %d firewall rules, %d talk'
                    ' pairs)' % (name, nds, nds6, nrules, ntalk),
                    cfg + c.stderr + c.stdout[-500:])
            xml = sec.get((name, 'libvirt domain'), '')
            v = validate(xml, tmp)
            ports = xml.count("model='pcie-root-port'")
            t.check(v.returncode == 0 and "source type='memfd'" in xml and
                    xml.count("name='vectors'") == nds and
                    ports == 1 + nds + 1 + 4 and 'org.bulkhead.agent' in xml
                    and '<bulkhead:kernel>sysnet-vmlinuz</bulkhead:kernel>' in xml
                    and '/vm/%s/kernel</kernel>' % name in xml and own_uid(xml),
                    '%s: domain XML valid (libvirt schema), memfd, vectors=0 on'
                    ' %d downstreams, 4 spare root ports, agent, sys-net\'s'
                    ' own kernel as its own copy, its own uid' % (name, nds),
                    v.stdout + xml[-1500:])
        apps = [k for k in sec if k[1] == 'libvirt domain' and k[0] not in drivers]
        for vm, _ in apps:
            xml = sec[(vm, 'libvirt domain')]
            v = validate(xml, tmp)
            t.check(v.returncode == 0 and "type='vhostuser'" in xml and
                    "name='vectors'" in xml and 'bk.role=app' in xml and
                    '<bulkhead:kernel>vmlinuz</bulkhead:kernel>' in xml and
                    '/vm/%s/kernel</kernel>' % vm in xml and own_uid(xml),
                    '%s: app VM domain XML valid, vhost-user with vectors=0,'
                    ' Debian\'s kernel as its own copy, its own uid' % vm,
                    v.stdout + xml[-800:])
    # Multiqueue (issue 19): a queue pair per vCPU on each end of solo's
    # link (solo 3 vCPUs, net-b 2), one pair (no element) elsewhere.
    _r, sec = show(big)
    solo, netb = sec.get(('solo', 'libvirt domain'), ''), \
        sec.get(('net-b', 'libvirt domain'), '')
    t.check(solo.count("<driver queues='3'/>") == 1 and
            netb.count("<driver queues='2'/>") == 1 and
            '<driver queues' not in sec.get(('app0', 'libvirt domain'), '-')
            and netb.count('<driver queues') == 1,
            'queue pairs from vCPUs: solo queues=3, its downstream on net-b'
            ' queues=2, the host port and 1-vCPU VMs none', solo + netb)
    devs = sorted(os.listdir('/sys/bus/pci/devices'))
    pci = os.path.join(tmp, 'pci.yaml')
    with open(pci, 'w') as f:
        f.write(PCI % (devs[0] if devs else '0000:00:1f.0'))
    r = subprocess.run([BULKHEAD, 'check', pci], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    iommu = os.path.isdir('/sys/kernel/iommu_groups') and \
        os.listdir('/sys/kernel/iommu_groups')
    if iommu:
        t.check(True, 'a PCI device with the IOMMU off # SKIP this host has an IOMMU')
    else:
        t.check(r.returncode == 2 and 'IOMMU is off' in r.stdout and
                (devs[0] if devs else '') in r.stdout,
                'check refuses a PCI device on a host without an IOMMU, naming it',
                r.stdout)
    subprocess.run(['rm', '-rf', tmp])
    t.finish()
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main())
