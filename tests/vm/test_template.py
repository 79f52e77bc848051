#!/usr/bin/env python3
"""The Debian app VM template (docs/templates.md) booted under plain QEMU as
the host boots it: direct kernel boot of templates/debian/current, a fresh
qcow2 overlay on its root.qcow2 as /dev/vda, a private volume as /dev/vdb,
a user-mode NIC (restrict=on: DHCP from QEMU, no way out), qemu-ga on a
unix socket. The test speaks qemu-ga's JSON protocol itself.

    test_template.py [UNUSED [BUILD_IMAGES]]

Boot 1, a blank private volume: qemu-ga answers guest-ping; the machine id
and host name are the command line's; the volume was formatted (ext4,
bk-private) and mounted at /rw, /home is on it; SSH host keys in /rw/ssh,
none in /etc/ssh, sshd running; the user account, logged in on the
console; an IPv4 lease and the EUI-64 SLAAC address (only) on the NIC;
a file written to /home and one to /; guest-shutdown powers it off.
Boot 2, a new overlay and the same volume: the file in /home is there,
the volume was not formatted again, the host keys are the same, the file
in / is gone. (Another VM's blank volume, other host keys: the
orchestration test, test_template_vms.py.)

Prints TAP (boot-to-qemu-ga seconds as comments); always stops QEMU and
removes the temporary directory (SIGTERM too: vmlib.run_main). Root: the
image cache. Environment:
  BULKHEAD_IMAGE_DIR   the image cache (as for guest-os/build-images)
  BULKHEAD_VM_KEEP=1   keep the temporary directory (consoles, disks)
"""
import base64
import json
import os
import re
import socket
import subprocess
import time

from vmlib import (Procs, check, console_text, eui64, image_dir, run_main,
                   stop, tail, vm_test)

T0 = time.monotonic()
MEM_MB = 512
# Under TCG on an idle machine qemu-ga answered after 27-30 s
# (docs/templates.md); the rest is for a loaded one.
QGA_S = 300
SHUTDOWN_S = 120
PRIVATE_SIZE = '1G'
QGA_PORT = 'org.qemu.guest_agent.0'
MAC = '52:54:00:b4:00:01'
# qemu-ga's replies are small here; more means a broken exchange.
REPLY_CAP = 1 << 20


class QgaError(Exception):
    pass


class Qga:
    """One connection to qemu-ga through QEMU's socket: resync, then one
    command per exchange."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b''
        self.next_id = int.from_bytes(os.urandom(4), 'little')

    def close(self):
        self.sock.close()

    def _line(self, deadline):
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QgaError('no reply')
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise QgaError('no reply') from None
            if not data:
                raise QgaError('the socket closed')
            self.buf += data
            if len(self.buf) > REPLY_CAP:
                raise QgaError('reply longer than %d bytes' % REPLY_CAP)
        line, self.buf = self.buf.split(b'\n', 1)
        return line

    def sync(self, timeout):
        """guest-sync-delimited: a 0xFF resets qemu-ga's parser, its reply
        follows a 0xFF of its own; replies to earlier (timed out) syncs
        are skipped by their ids."""
        self.next_id += 1
        want = self.next_id
        self.buf = b''
        self.sock.sendall(b'\xff' + json.dumps(
            {'execute': 'guest-sync-delimited',
             'arguments': {'id': want}}).encode() + b'\n')
        deadline = time.monotonic() + timeout
        while True:
            line = self._line(deadline)
            if b'\xff' not in line:
                continue
            try:
                reply = json.loads(line.rsplit(b'\xff', 1)[1])
            except ValueError:
                continue
            if isinstance(reply, dict) and reply.get('return') == want:
                return

    def cmd(self, execute, arguments=None, timeout=30):
        req = {'execute': execute}
        if arguments is not None:
            req['arguments'] = arguments
        self.sock.sendall(json.dumps(req).encode() + b'\n')
        reply = json.loads(self._line(time.monotonic() + timeout))
        if 'error' in reply:
            raise QgaError('%s: %s' % (execute, reply['error']))
        return reply['return']

    def sh(self, script, timeout=120):
        """(exit code, stdout, stderr) of /bin/sh -c SCRIPT as root."""
        pid = self.cmd('guest-exec', {'path': '/bin/sh',
                                      'arg': ['-c', script],
                                      'capture-output': True})['pid']
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.cmd('guest-exec-status', {'pid': pid})
            if st.get('exited'):
                dec = lambda k: base64.b64decode(st.get(k, '')).decode(  # noqa: E731
                    'utf-8', 'replace')
                return st.get('exitcode', -1), dec('out-data'), dec('err-data')
            time.sleep(0.2)
        raise QgaError('%r still running after %d s' % (script, timeout))

    def out(self, script, timeout=120):
        """SCRIPT's stdout, stripped ('' when it failed)."""
        code, out, _err = self.sh(script, timeout)
        return out.strip() if code == 0 else ''


class Run(Procs):
    """The VM of each boot and its qemu-ga connection."""

    def __init__(self, tmp):
        super().__init__(tmp)
        self.qga = None
        self.boot = 0

    def stop_vm(self):
        if self.qga:
            self.qga.close()
            self.qga = None
        stop(self.procs.pop('qemu', None))

    def cleanup(self):
        self.stop_vm()


def qemu_cmd(run, tpl, overlay, private, machine_id, name):
    return [
        'qemu-system-x86_64', '-M', 'q35', '-accel', 'tcg', '-smp', '1',
        '-m', str(MEM_MB), '-nodefaults', '-no-user-config', '-no-reboot',
        '-display', 'none', '-monitor', 'none',
        '-serial', 'file:' + run.path('console-%d.log' % run.boot),
        '-kernel', os.path.join(tpl, 'vmlinuz'),
        '-initrd', os.path.join(tpl, 'initrd.img'),
        '-append', 'console=ttyS0 root=/dev/vda rw panic=-1 '
                   'systemd.machine_id=%s systemd.hostname=%s'
                   % (machine_id, name),
        '-drive', 'file=%s,if=none,id=root,format=qcow2' % overlay,
        '-device', 'virtio-blk-pci,drive=root,serial=bk-root',
        '-drive', 'file=%s,if=none,id=priv,format=qcow2' % private,
        '-device', 'virtio-blk-pci,drive=priv,serial=bk-private',
        '-netdev', 'user,id=n0,restrict=on',
        '-device', 'virtio-net-pci,netdev=n0,mac=%s,romfile=' % MAC,
        '-device', 'virtio-serial-pci,id=vser',
        '-chardev', 'socket,id=qga,path=%s,server=on,wait=off'
                    % run.path('qga.sock'),
        '-device', 'virtserialport,bus=vser.0,chardev=qga,name=' + QGA_PORT,
    ]


def qemu_img(*args):
    subprocess.run(['qemu-img', *args], check=True, stdout=subprocess.DEVNULL)


def boot(tap, run, tpl, private, machine_id, name):
    """Starts a VM on a fresh overlay of the template with PRIVATE as its
    volume; True once qemu-ga answered guest-ping (the check says when)."""
    run.boot += 1
    overlay = run.path('root-%d.qcow2' % run.boot)
    qemu_img('create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b',
             os.path.join(tpl, 'root.qcow2'), overlay)
    sock = run.path('qga.sock')
    if os.path.exists(sock):
        os.unlink(sock)
    t = time.monotonic()
    proc = run.start('qemu', qemu_cmd(run, tpl, overlay, private, machine_id,
                                      name))
    why = 'no answer'
    while time.monotonic() - t < QGA_S and proc.poll() is None:
        try:
            if run.qga is None:
                run.qga = Qga(sock)
            run.qga.sync(3)
            run.qga.cmd('guest-ping')
            break
        except FileNotFoundError:
            time.sleep(0.2)
        except (OSError, QgaError, ValueError) as e:
            why = str(e)
            if not isinstance(e, QgaError) or 'closed' in why:
                if run.qga:
                    run.qga.close()
                run.qga = None
                time.sleep(0.5)
    else:
        return check(tap, False, 'boot %d: qemu-ga answers guest-ping'
                     % run.boot, lambda: '%s (QEMU %s)\n%s' % (
                         why, 'exited %s' % proc.returncode
                         if proc.poll() is not None else 'running',
                         tail(run.path('console-%d.log' % run.boot), 30)))
    took = time.monotonic() - t
    tap.diag('boot %d: boot-to-qemu-ga %.1f s' % (run.boot, took))
    return check(tap, True, 'boot %d: qemu-ga answers guest-ping (%.0f s)'
                 % (run.boot, took), None)


def shutdown(run):
    """guest-shutdown (no reply comes); whether QEMU exited in time."""
    try:
        run.qga.sock.sendall(json.dumps({'execute': 'guest-shutdown'}).encode()
                             + b'\n')
    except OSError:
        pass
    proc = run.procs['qemu']
    try:
        proc.wait(SHUTDOWN_S)
        ok = True
    except subprocess.TimeoutExpired:
        ok = False
    run.stop_vm()
    return ok


def host_keys(qga):
    """{type: fingerprint} of /rw/ssh's host keys (rsa asked for too: the
    template makes none, so one found fails the checks)."""
    out = qga.out('for t in ed25519 rsa; do k=/rw/ssh/ssh_host_${t}_key.pub;'
                  ' [ -e $k ] || continue; printf "%s " $t; '
                  'ssh-keygen -lf $k; done')
    keys = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            keys[parts[0]] = parts[2]
    return keys


def first_boot(tap, run, tpl, private, machine_id):
    """Boot 1's checks; the host keys, or None when it did not boot."""
    if not boot(tap, run, tpl, private, machine_id, 'bk-tpl-a'):
        return None
    qga = run.qga
    got = (qga.out('cat /etc/machine-id'), qga.out('hostname'))
    check(tap, got == (machine_id, 'bk-tpl-a'),
          '/etc/machine-id and the host name are the command line\'s',
          lambda: 'got %r, want %r' % (got, (machine_id, 'bk-tpl-a')))
    rw = qga.out('findmnt -n -o SOURCE,FSTYPE /rw; '
                 'blkid -o value -s LABEL /dev/vdb; '
                 'journalctl -b -o cat -u bk-private | grep -c formatting || :')
    check(tap, rw.split() == ['/dev/vdb', 'ext4', 'bk-private', '1'],
          'the blank private volume was formatted (ext4, bk-private) and '
          'mounted at /rw', lambda: rw)
    home = qga.out('findmnt -n -o SOURCE /home; stat -c "%U %a" /home/user')
    check(tap, home.split() == ['/dev/vdb[/home]', 'user', '700'],
          '/home is /rw/home (bind mount), /home/user is the user\'s',
          lambda: home)
    keys = host_keys(qga)
    etc = qga.out('ls /etc/ssh; systemctl is-active ssh')
    check(tap, set(keys) == {'ed25519'} and
          'ssh_host' not in etc and etc.endswith('active'),
          'SSH host key in /rw/ssh (ed25519 only), none in /etc/ssh, sshd '
          'active', lambda: '%s\n%s' % (keys, etc))
    user = qga.out('id user; runuser -u user -- sudo -n id -u')
    login = 'bk-tpl-a login: user (automatic login)' in console_text(
        run.path('console-1.log'))
    check(tap, user.splitlines() == [
        'uid=1000(user) gid=1000(user) groups=1000(user),27(sudo)', '0'] and
        login, 'user: uid 1000, group sudo, sudo without a password, logged '
        'in on the console', lambda: '%s\nconsole login: %s' % (user, login))
    # The masked modprobe@ units' modules come when first used: opening
    # their /dev node loads dm_mod, loop and fuse (cryptsetup, losetup and
    # FUSE need nothing more).
    nodes = qga.out('for n in mapper/control loop-control fuse; do'
                    ' (: < /dev/$n) 2>/dev/null && echo "ok $n" ||'
                    ' echo "no $n"; done; for m in dm_mod loop fuse; do'
                    ' [ -d /sys/module/$m ] && echo "loaded $m"; done; true')
    check(tap, nodes.split('\n') == [
        'ok mapper/control', 'ok loop-control', 'ok fuse', 'loaded dm_mod',
        'loaded loop', 'loaded fuse'],
        'device-mapper, loop and fuse load on first use (their modprobe@'
        ' units masked)', lambda: nodes)
    # QEMU's user-mode network: DHCP gives 10.0.2.15, router advertisements
    # the prefix fec0::/64 (site-local: scope site, not global).
    net = qga.out('for i in $(seq 60); do '
                  'ip -4 -o addr show scope global | grep -q inet && '
                  'ip -6 -o addr show scope site | grep -q inet6 && break; '
                  'sleep 1; done; ip -o addr show dev enp0s3; '
                  'systemctl is-active systemd-networkd systemd-resolved')
    v6 = [a for a in re.findall(r' inet6 (\S+) ', net)
          if not a.startswith('fe80:')]
    check(tap, ' inet 10.0.2.15/24 ' in net and
          v6 == ['%s/64' % eui64('fec0::', MAC)] and
          net.endswith('active\nactive'),
          'the NIC got its IPv4 lease and only its EUI-64 IPv6 address '
          '(networkd), resolved runs', lambda: net)
    mem = qga.out('free -m | awk \'/^Mem:/ {print $3}\'')
    tap.diag('boot 1: %s MiB used of %d' % (mem, MEM_MB))
    wrote = qga.sh('echo kept > /home/user/kept && chown user: /home/user/kept'
                   ' && echo gone > /written-to-root && sync')
    check(tap, wrote[0] == 0 and shutdown(run),
          'a file written to /home and one to /; guest-shutdown powered the '
          'VM off', lambda: '%s\n%s' % (wrote, tail(run.path('console-1.log'))))
    return keys


def second_boot(tap, run, tpl, private, machine_id, keys):
    if not boot(tap, run, tpl, private, machine_id, 'bk-tpl-a'):
        return
    qga = run.qga
    got = qga.out('cat /home/user/kept; '
                  'journalctl -b -o cat -u bk-private | grep -c formatting || :')
    check(tap, got.split() == ['kept', '0'],
          'boot 2, the same private volume: the file in /home is there, '
          'the volume was not formatted again', lambda: got)
    again = host_keys(qga)
    check(tap, again == keys and len(keys) == 1,
          'the same SSH host keys', lambda: '%s, then %s' % (keys, again))
    gone = qga.sh('test -e /written-to-root')[0]
    check(tap, gone == 1, 'the file written to / is gone (a fresh overlay)',
          lambda: 'test -e: %s' % gone)
    run.stop_vm()


def steps(tap, run, _unused, build_images):
    t = time.monotonic()
    r = subprocess.run([build_images, '--quiet'], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    tpl = os.path.realpath(os.path.join(image_dir(), 'templates', 'debian',
                                        'current'))
    try:
        with open(os.path.join(tpl, 'manifest.json')) as f:
            m = json.load(f)
    except (OSError, ValueError):
        m = None
    if not check(tap, r.returncode == 0 and m,
                 'guest images built (the Debian template)',
                 lambda: '%s (%.1f s)\n%s' % (build_images,
                                              time.monotonic() - t, r.stdout)):
        return
    tap.diag('template %s: kernel %s, %d packages, tree %d MiB, root.qcow2 '
             '%d MiB, initrd.img %.1f MiB, built in %.0f s' % (
                 m['version'], m['kernel_version'], len(m['packages']),
                 m['tree_bytes'] >> 20, m['qcow2_bytes'] >> 20,
                 os.path.getsize(os.path.join(tpl, 'initrd.img')) / (1 << 20),
                 m['build_seconds']))
    private = run.path('private-1.qcow2')
    qemu_img('create', '-q', '-f', 'qcow2', private, PRIVATE_SIZE)
    machine_id = os.urandom(16).hex()
    keys = first_boot(tap, run, tpl, private, machine_id)
    run.stop_vm()
    if keys is None:
        return
    # Another VM's blank volume gives other host keys: the orchestration
    # test's two VMs on one template check that (test_template_vms.py).
    second_boot(tap, run, tpl, private, machine_id, keys)
    run.stop_vm()


def report(tap, _run):
    tap.diag('total run time %.1f s' % (time.monotonic() - T0))


def main(argv):
    return vm_test(argv, 14, 'bulkhead-template-', Run, steps, report)


if __name__ == '__main__':
    run_main(main)
