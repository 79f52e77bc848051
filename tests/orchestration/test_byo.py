#!/usr/bin/env python3
"""An app VM on an image of its own, end to end (docs/templates.md "Bring
your own image"): the Debian cloud image guest-os/build-cloud-image makes
(its own GRUB, cloud-init, qemu-guest-agent; nothing of bulkhead in it)
brought as a person's qcow2 through `bulkhead up` with sys-net, under
TCG, talked to through qemu-guest-agent only.

  1. `bulkhead check` refuses a qcow2 whose backing file is /etc/shadow, a
     qcow2 cut inside its header and a missing path, naming each path and
     what is wrong
  2. up: the VM ready (qemu-ga answers, it holds sys-net's lease); the
     image was copied by qemu-img running as the VM's own uid (its
     domain's DAC label)
  3. it booted by its own boot loader (no <kernel> in its domain; GRUB's
     BOOT_IMAGE on its command line)
  4. ready only once cloud-init finished (up says its status); it
     applied the seed: host name the VM's name, the user with
     the authorized key and sudo, no password
  5. its NIC: the IPv4 lease from sys-net, the EUI-64 SLAAC address of its
     MAC as its one global IPv6 address
  6. up with firmware: uefi restarts it on OVMF (SMM off) with a variable
     store of its own (the VM's uid's while it runs, 0600, beside its
     disk): the guest sees EFI, booted the image's BOOTX64.EFI, a file
     written under BIOS is still there
  7. stopped, its disk and variable store are root's, 0600, nothing left
     of the copy, the store holds OVMF's boot entries; a file written
     survives stop and start (its own persistent disk)
  8. up with a second disk VM on the /etc/shadow image refuses naming it;
     the first still runs and answers
  9. the person's image is byte-unchanged after all of it

    test_byo.py BULKHEAD

Needs root, libvirt, the guest images; builds the cloud image when it is
not current (about 3 minutes)."""
import ipaddress
import os
import re
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import run_main  # noqa: E402
from orchlib import sh, sha, topology_test  # noqa: E402

BULKHEAD = os.path.abspath(sys.argv[1])
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
BUILDER = os.path.join(SRC, 'guest-os', 'build-cloud-image')
NS, OUT_IP = 'bk-b-out%d' % os.getpid(), '10.207.9.1'
MAC = '52:54:00:7c:01:01'
KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBulkheadTestKeyNotARealOne0000'
       '00000000 test@bulkhead')
TOPO = '''version: 2
name: bkbyo
accel: tcg
driver-vms:
  - name: b-net
    kind: net
    devices:
      - {emulated: e1000e, netns: %(ns)s, bridge: br0, mac: "52:54:00:7c:00:02"}
app-vms:
  - name: b-own
    disk: %(disk)s
    memory: 512
%(firmware)s    cloud_init:
      user: ann
      ssh_keys:
        - "%(key)s"
    net: {via: b-net, mac: "%(mac)s", ip: 10.207.1.2/24}
'''
BAD = '''  - name: b-bad
    disk: %s
    net: {via: b-net, mac: "52:54:00:7c:01:02", ip: 10.207.2.2/24}
'''
PLANNED = 1 + 3 + 6 + 1 + 1 + 2 + 2


def eui64(mac, prefix):
    b = bytearray(int(x, 16) for x in mac.split(':'))
    iid = bytes([b[0] ^ 2]) + b[1:3] + b'\xff\xfe' + b[3:6]
    return ipaddress.IPv6Address(prefix.network_address.packed[:8] + iid)


def prepare(tmp):
    """The cloud image (through the builder) and the bad ones."""
    r = sh(BUILDER, '--quiet', timeout=1800)
    m = re.search(r'^([0-9a-f]{64})  (\S+disk\.qcow2)$', r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise RuntimeError('build-cloud-image: %s' % r.stdout[-2000:])
    shadow = os.path.join(tmp, 'shadow.qcow2')
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', '/etc/shadow', '-F',
       'raw', shadow, '64M', check=True)
    cut = os.path.join(tmp, 'cut.qcow2')
    with open(m.group(2), 'rb') as f, open(cut, 'wb') as g:
        g.write(f.read(60))
    return m.group(2), m.group(1), shadow, cut


def write_topo(tmp, name, disk, extra='', firmware=None):
    path = os.path.join(tmp, name)
    with open(path, 'w') as f:
        f.write(TOPO % {'ns': NS, 'disk': disk, 'key': KEY, 'mac': MAC,
                        'firmware': '    firmware: %s\n' % firmware
                        if firmware else ''} + extra)
    return path


def steps(t, tmp, bk, _sums, image, image_sha, shadow, cut):
    t.diag('the cloud image: %s (%d MiB)' % (image, os.path.getsize(image) >> 20))
    # 1. Refused before anything is made.
    missing = os.path.join(tmp, 'nothere.qcow2')
    for disk, why in ((shadow, 'a qcow2 image with a backing file'),
                      (cut, 'truncated: a qcow2 header is at least 72 bytes'),
                      (missing, 'no such file')):
        r = bk('check', write_topo(tmp, 'bad.yaml', disk))
        t.check(r.returncode != 0 and '%s: %s' % (disk, why) in r.stdout,
                'check refuses %s: %s' % (os.path.basename(disk), why),
                r.stdout[-1500:])

    # 2. Up.
    path = write_topo(tmp, 'byo.yaml', image)
    r = bk('up', path)
    up_out = r.stdout
    ready = re.search(r'up: b-own: ready, .* \(([0-9.]+) s\)', r.stdout)
    t.check(r.returncode == 0 and ready, 'up: b-own on its own image ready'
            ' (qemu-ga answers, sys-net\'s lease held)',
            r.stdout[-3000:])
    if not ready:
        return
    t.diag('first boot (a copy of the image, cloud-init) to qemu-ga and the'
           ' lease under TCG: %s s' % ready.group(1))
    # The copy (qemu-img parsing the person's file) ran as b-own's own
    # uid, the one its QEMU runs as (its domain's DAC label).
    copied = re.search(r'^up: copying %s \(.*\) into (\S+) as uid (\d+)$'
                       % re.escape(image), r.stdout, re.M)
    xml = sh('virsh', '-c', 'qemu:///system', 'dumpxml', 'bulkhead-b-own').stdout
    label = re.search(r"model='dac'[^>]*>\s*<label>\+(\d+):\+(\d+)</label>",
                      xml)
    t.check(copied and label and copied.group(2) == label.group(1) ==
            label.group(2) and int(copied.group(2)) != 0,
            'the image was copied as b-own\'s own uid (its QEMU\'s)',
            r.stdout[-1500:] + (label.group(0) if label else xml[:1500]))
    disk = copied.group(1) if copied else ''

    # 3. Its own boot loader.
    xml = sh('virsh', '-c', 'qemu:///system', 'dumpxml', 'bulkhead-b-own').stdout
    cmdline = bk('exec', 'b-own', 'cat /proc/cmdline').stdout
    t.check('<kernel>' not in xml and "<boot dev='hd'/>" in xml and
            cmdline.startswith('BOOT_IMAGE=/vmlinuz'),
            'b-own booted by its own boot loader (no kernel in its domain,'
            ' GRUB\'s BOOT_IMAGE on its command line)', cmdline + xml[:1500])

    # 4. The seed applied, at once: ready is qemu-ga, the lease and
    # cloud-init's last stage finished (up says which status), so nothing
    # here waits for it. Every module of the test image's cloud-init
    # succeeds with this seed (a failed one says "error").
    said = re.search(r'up: b-own: ready, .*, cloud-init (done) \(',
                     up_out)
    r = bk('exec', 'b-own', 'cloud-init status;'
           ' hostname; id ann; cat ~ann/.ssh/authorized_keys;'
           ' sudo -n -u ann sudo -n true && echo sudo-ok;'
           ' echo "password=$(getent shadow ann | cut -d: -f2)";'
           ' cloud-init status --long')
    out = r.stdout
    t.check(said and re.match(r'status: %s\nb-own\n' % said.group(1), out)
            and 'uid=' in out and KEY in out and
            'sudo-ok' in out and re.search(r'^password=[!*]', out, re.M),
            'ready once cloud-init finished (up: cloud-init %s, and so it'
            ' says at once); the seed applied: host name b-own, user ann with'
            ' the key and sudo, no password'
            % (said.group(1) if said else '?'), out[-1500:] + up_out[-800:])
    t.diag('cloud-init: %s' % ' '.join(re.findall(r'^(?:status|detail|'
                                                   r'errors?):.*$|^\s+- .*$',
                                                   out, re.M))[:600])

    # 5. Its network as sys-net wants it.
    r = bk('exec', 'b-own', 'ip -o addr show scope global')
    v4 = re.findall(r'inet (\S+)', r.stdout)
    v6 = [ipaddress.IPv6Interface(a) for a in
          re.findall(r'inet6 (\S+)', r.stdout)]
    good6 = all(a.ip == eui64(MAC, a.network) for a in v6)
    t.check(v4 == ['10.207.1.2/24'] and good6,
            'b-own: the IPv4 lease from b-net%s' % (
                ', its EUI-64 SLAAC address' if v6 else ' (no IPv6 given)'),
            r.stdout)
    t.diag('global IPv6: %s' % ([str(a) for a in v6] or 'none'))

    # 6. The same disk under UEFI: up sees the changed firmware and
    # restarts b-own on OVMF with a variable store of its own.
    bk('exec', 'b-own', 'echo kept > /var/tmp/mark; sync')
    uefi_topo = write_topo(tmp, 'byo-uefi.yaml', image, firmware='uefi')
    r = bk('up', uefi_topo)
    ready = re.search(r'up: b-own: ready, .* \(([0-9.]+) s\)', r.stdout)
    xml = sh('virsh', '-c', 'qemu:///system', 'dumpxml', 'bulkhead-b-own').stdout
    nvram = os.path.join(os.path.dirname(disk), 'nvram.fd') if disk else ''
    loader = re.search(r'<loader ([^>]*)>/usr/share/OVMF/OVMF_CODE_4M\.fd'
                       r'</loader>', xml)
    t.check(r.returncode == 0 and ready and loader and
            "readonly='yes'" in loader.group(1) and
            "type='pflash'" in loader.group(1) and
            re.search(r"<nvram[^>]*>%s</nvram>" % re.escape(nvram), xml) and
            "<smm state='off'/>" in xml,
            'up with firmware: uefi restarted b-own on OVMF (no Secure Boot,'
            ' SMM off) with its own variable store %s' % nvram,
            r.stdout[-2000:] + xml[:2500])
    if ready:
        t.diag('boot under UEFI (its second boot) to qemu-ga and the lease:'
               ' %s s' % ready.group(1))
    st = os.lstat(nvram) if nvram and os.path.exists(nvram) else None
    vars_bytes = os.path.getsize('/usr/share/OVMF/OVMF_VARS_4M.fd')
    r = bk('exec', 'b-own', 'test -d /sys/firmware/efi && echo efi;'
           ' cat /var/tmp/mark; cat /proc/cmdline')
    t.check(st and stat.S_ISREG(st.st_mode) and label and
            st.st_uid == int(label.group(1)) and
            stat.S_IMODE(st.st_mode) == 0o600 and
            st.st_size == vars_bytes and
            re.match(r'efi\nkept\nBOOT_IMAGE=/vmlinuz', r.stdout),
            'b-own under UEFI: the guest sees EFI, GRUB from its ESP booted'
            ' it, the file written under BIOS is still there; its variable'
            ' store is its own uid\'s while it runs, 0600',
            '%r\n%s' % (st, r.stdout))

    # 7. Stopped: its disk and variable store are root's, 0600 (libvirt
    # hands them to the VM's uid only while it runs), nothing left of the
    # copy; the store holds what OVMF wrote (its boot entries). Started
    # again (its domain, which has an NVRAM, undefined and defined anew):
    # still UEFI, the file still there.
    r1 = bk('stop', 'b-own')
    owned = {}
    for path in (disk, nvram):
        st = os.lstat(path) if path and os.path.exists(path) else None
        owned[path] = (st and stat.S_ISREG(st.st_mode) and st.st_uid == 0
                       and st.st_gid == 0 and stat.S_IMODE(st.st_mode) == 0o600)
    left = [f for f in os.listdir(os.path.dirname(disk))
            if f.startswith('disk.qcow2.') or f.startswith('nvram.fd.')
            ] if disk else []
    # The seed never was the VM's: root's, read through its group.
    seed = os.path.join(os.path.dirname(disk), 'seed.iso') if disk else ''
    st = os.lstat(seed) if seed and os.path.exists(seed) else None
    owned[seed] = (st and stat.S_ISREG(st.st_mode) and st.st_uid == 0 and
                   label and st.st_gid == int(label.group(2)) and
                   stat.S_IMODE(st.st_mode) == 0o640)
    written = bool(nvram) and os.path.exists(nvram) and sh(
        'cmp', '-s', nvram, '/usr/share/OVMF/OVMF_VARS_4M.fd').returncode == 1
    t.check(r1.returncode == 0 and all(owned.values()) and not left and
            written,
            'b-own stopped: its disk and variable store are root\'s, 0600,'
            ' its seed root\'s and its group\'s, 0640, nothing left beside'
            ' them; the store holds what OVMF wrote',
            '%s %r %r written=%r' % (r1.stdout[-800:], owned, left, written))
    r2 = bk('start', 'b-own')
    r = bk('exec', 'b-own', 'cat /var/tmp/mark; test -d /sys/firmware/efi &&'
           ' echo efi')
    t.check(r2.returncode == 0 and r.stdout.split() == ['kept', 'efi'],
            'a file written survives stop and start of b-own (still UEFI)',
            r2.stdout[-1500:] + r.stdout)

    # 8. A bad image beside it: refused, it keeps running.
    r = bk('up', write_topo(tmp, 'byo2.yaml', image, BAD % shadow,
                            firmware='uefi'))
    alive = bk('exec', 'b-own', 'cat /var/tmp/mark')
    t.check(r.returncode != 0 and '%s: a qcow2 image with a backing file'
            % shadow in r.stdout and alive.stdout.startswith('kept'),
            'up with b-bad on the /etc/shadow image refused naming it; b-own'
            ' still answers', r.stdout[-1500:])

    # 9. The person's file.
    t.check(sha(sh('sha256sum', image).stdout) == image_sha, 'the image brought is'
            ' byte-unchanged (%s)' % image_sha[:16])


def main(_argv):
    return topology_test(BULKHEAD, PLANNED, 'bk-byo-', NS, OUT_IP,
                         {'f.bin': 1 << 20}, steps, prepare=prepare)


if __name__ == '__main__':
    run_main(main)
