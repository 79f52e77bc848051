#!/usr/bin/env python3
"""The storage driver VM (sys-storage, docs/sysstorage.md) booted alone under
QEMU, checked from the host with real NBD clients (nbd_io.py, libnbd).

    test_sysstorage.py [UNUSED [BUILD_IMAGES]]

sys-storage gets an emulated NVMe disk over a sparse raw file, its
configuration in fw_cfg, its agent channel and one virtio-serial port per
volume (org.bulkhead.volume.NAME), each a unix socket here, and a QMP socket
to hot-add ports as the host would.

Boot 1, an empty 128 MiB disk: READY; the pool was created; each volume's
NBD size is what the configuration says; 8 MiB written, flushed, read back
byte-exact on a new connection; then QEMU is killed (-9).
Boot 2, the same disk: READY; the pool was activated, not created; the
flushed 8 MiB are there. Live updates over the agent channel (bk-update):
a second volume added (its port hot-plugged first) and served; hostile
configurations (a bad name, size 0, 257 volumes, an unknown key) refused
naming the line, with nothing changed; the second volume left out (no
longer served, kept), listed again (its data there), removed (gone: listed
again it reads as zeros); trim (our nbdkit plugin's BLKDISCARD): 36 MiB
written to the first volume raise the pool's data percentage in the READY
line, 32 MiB of them trimmed bring it back down, the trimmed range reads
zeros and the data outside it is unchanged; the first volume filled: the
state warns that the pool is past pool-warn-percent.
Boot 3, a disk holding an ext4 filesystem: "ERROR pool: /dev/nvme0n1 holds
a filesystem or signature (ext4)..." and the disk's bytes unchanged.
Boot 4, a configuration with a bad line on an empty disk: "ERROR config:
line N: ..." and the disk still all zeros.

Prints TAP; always stops QEMU and removes the temporary directory (SIGTERM
too: vmlib.run_main). Environment:
  BULKHEAD_IMAGE_DIR        the image cache (as for guest-os/build-images)
  BULKHEAD_SYSSTORAGE_MEM   sys-storage's RAM in MiB (default 128)
  BULKHEAD_VM_KEEP=1        keep the temporary directory (consoles, logs)
"""
import hashlib
import os
import re
import subprocess
import time

import vmlib
from vmlib import (HERE, Agent, Procs, check, console_text,
                   driver_image_built, run_main, stop, tail, vm_test,
                   wait_line)

T0 = time.monotonic()
MEM_MB = int(os.environ.get('BULKHEAD_SYSSTORAGE_MEM', '128'))
NBD_IO = os.path.join(HERE, 'nbd_io.py')
DISK_MIB = 128
MIB = 1 << 20
READY_S = 120
PORT = 'org.bulkhead.volume.'
# Boot 1's configuration: a volume large enough that filling it passes the
# warning threshold of this small pool.
CONFIG = '# sys-storage test\npool-warn-percent 80\nvolume a 100\n'


def elapsed():
    return time.monotonic() - T0


def pattern(seed, size):
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(b'%s %d' % (seed, i)).digest()
        i += 1
    return bytes(out[:size])


class Run(Procs):
    """The QEMU of each boot and its agent reader, stopped by cleanup()."""

    def __init__(self, tmp):
        super().__init__(tmp)
        self.agent = None
        self.boot = 0

    def stop_vm(self, sig=None):
        if self.agent:
            self.agent.stop()
            self.agent = None
        proc = self.procs.pop('qemu', None)
        if proc and sig:
            proc.send_signal(sig)
            proc.wait()
        stop(proc)

    def cleanup(self):
        self.stop_vm()


def qemu_cmd(run, images, disk, config, volumes):
    """sys-storage as the host would start it (mostly), its sockets in the
    run's directory: the agent, QMP, one port per volume in VOLUMES."""
    cmd = [
        'qemu-system-x86_64', '-M', 'q35', '-accel', 'tcg', '-smp', '1',
        '-m', str(MEM_MB), '-nodefaults', '-no-user-config', '-no-reboot',
        '-display', 'none', '-monitor', 'none',
        '-serial', 'file:' + run.path('console-%d.log' % run.boot),
        '-qmp', 'unix:%s,server=on,wait=off' % run.path('qmp.sock'),
        '-kernel', os.path.join(images, 'sysstorage-vmlinuz'),
        '-initrd', os.path.join(images, 'sysstorage-initramfs.cpio.gz'),
        '-append', 'console=ttyS0 panic=-1 quiet',
        '-fw_cfg', 'name=opt/bulkhead/config,file=' + config,
        '-drive', 'file=%s,if=none,id=disk,format=raw' % disk,
        '-device', 'nvme,drive=disk,serial=bk-test',
        '-device', 'virtio-serial-pci,id=vser',
        '-chardev', 'socket,id=agent,path=%s,server=on,wait=off'
                    % run.path('agent.sock'),
        '-device', 'virtserialport,bus=vser.0,chardev=agent,'
                   'name=org.bulkhead.agent',
    ]
    for name in volumes:
        cmd += ['-chardev', 'socket,id=v-%s,path=%s,server=on,wait=off'
                % (name, vol_sock(run, name)),
                '-device', 'virtserialport,bus=vser.0,chardev=v-%s,name=%s%s'
                % (name, PORT, name)]
    return cmd


def vol_sock(run, name):
    return run.path('vol-%s.sock' % name)


def boot(run, images, disk, config_text, volumes):
    """Starts sys-storage; returns when its agent reported READY or ERROR
    (the line), or None after READY_S."""
    run.boot += 1
    config = run.path('config-%d' % run.boot)
    with open(config, 'w') as f:
        f.write(config_text)
    for p in ('agent.sock', 'qmp.sock'):
        if os.path.exists(run.path(p)):
            os.unlink(run.path(p))
    proc = run.start('qemu', qemu_cmd(run, images, disk, config, volumes))
    run.agent = Agent(run.path('agent.sock'), proc)
    return wait_state(run, ('READY', 'ERROR'), READY_S)


def wait_state(run, prefixes, timeout, after=0.0):
    """The first agent line after AFTER starting with one of PREFIXES."""
    return wait_line(run.agent, run.procs['qemu'], prefixes, timeout, after)


def console(run, boot_no=None):
    return console_text(run.path('console-%d.log' % (boot_no or run.boot)))


def trouble(run):
    return 'agent: %s\nconsole:\n%s' % (
        [l for _, l in run.agent.snapshot()][-5:] if run.agent else None,
        tail(run.path('console-%d.log' % run.boot), 25))


def nbd(run, name, *args, timeout=60):
    """nbd_io.py on volume NAME's socket: (ok, output)."""
    try:
        r = subprocess.run([NBD_IO, vol_sock(run, name)] + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, 'no answer in %d s' % timeout
    return r.returncode == 0, r.stdout.strip()


def write(run, name, offset, data, timeout=60):
    """DATA at OFFSET of volume NAME, then a flush."""
    path = run.path('data.bin')
    with open(path, 'wb') as f:
        f.write(data)
    return nbd(run, name, 'write', offset, path, timeout=timeout)


def read(run, name, offset, length):
    path = run.path('read.bin')
    ok, out = nbd(run, name, 'read', offset, length, path)
    if not ok:
        return None, out
    with open(path, 'rb') as f:
        return f.read(), out


def size_mib(run, name, timeout=60):
    ok, out = nbd(run, name, 'size', timeout=timeout)
    return int(out) // MIB if ok and out.isdigit() else out


def update(run, lines, update_id, timeout=60):
    """A configuration over the agent channel (bk-agent's CONFIG-BEGIN);
    the answer line, or None."""
    t = time.monotonic()
    text = 'CONFIG-BEGIN %s\n' % update_id
    text += ''.join('CONFIG-LINE %s\n' % l for l in lines.splitlines())
    run.agent.send(text + 'CONFIG-END\n')
    line = wait_state(run, ('UPDATED %s ' % update_id,
                            'UPDATE-ERROR %s ' % update_id), timeout, t)
    return line


def qmp(run, *commands):
    return vmlib.qmp(run.path('qmp.sock'), *commands)


def add_port(run, name):
    """Hot-plugs volume NAME's port, as the host does before an update."""
    return qmp(run, {'execute': 'chardev-add', 'arguments': {
        'id': 'v-' + name, 'backend': {'type': 'socket', 'data': {
            'addr': {'type': 'unix', 'data': {'path': vol_sock(run, name)}},
            'server': True, 'wait': False}}}},
        {'execute': 'device_add', 'arguments': {
            'driver': 'virtserialport', 'bus': 'vser.0', 'chardev': 'v-' + name,
            'id': 'port-' + name, 'name': PORT + name}})


def file_sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(MIB), b''):
            h.update(block)
    return h.hexdigest()


def sparse_disk(run, name, mib=DISK_MIB):
    path = run.path(name)
    with open(path, 'wb') as f:
        f.truncate(mib * MIB)
    return path


def pool_data_pct(line):
    m = re.search(r'pool data (\d+)%', line or '')
    return int(m.group(1)) if m else None


def wait_pool(run, ok, timeout, after):
    """The pool's data percentage in the newest READY line after AFTER once
    OK(percentage) holds; the newest seen (or None) after TIMEOUT s."""
    end = time.monotonic() + timeout
    seen = None
    while True:
        for t, line in run.agent.snapshot():
            if t > after and line.startswith('READY'):
                seen = pool_data_pct(line)
        if (seen is not None and ok(seen)) or time.monotonic() >= end:
            return seen
        time.sleep(0.5)


def trim_frees(tap, run, data):
    """36 MiB written to volume a at 40 MiB raise the pool's use; 32 MiB of
    them trimmed lower it again; the data outside the range is kept."""
    t = time.monotonic()
    before = wait_pool(run, lambda p: True, 15, 0)
    more = pattern(b'trim', 36 * MIB)
    ok, out = write(run, 'a', 40 * MIB, more, timeout=180)
    # 32 MiB of a pool of about 116 MiB: some 27 points.
    full = wait_pool(run, lambda p: p >= before + 25, 30, t) if ok else None
    t = time.monotonic()
    ok2, out2 = nbd(run, 'a', 'trim', 40 * MIB, 32 * MIB)
    after = wait_pool(run, lambda p: p <= before + 5, 30, t) if ok2 else None
    check(tap, ok and ok2 and full is not None and after is not None and
          full >= before + 25 and after <= before + 5,
          'trim frees pool space: 36 MiB written, pool data %s%% -> %s%%; '
          '32 MiB trimmed, -> %s%%' % (before, full, after),
          lambda: '%s %s %s' % (out, out2, trouble(run)))
    zeros, out = read(run, 'a', 40 * MIB, 32 * MIB)
    kept, out2 = read(run, 'a', 72 * MIB, 4 * MIB)
    old, out3 = read(run, 'a', 3 * MIB, len(data))
    check(tap, zeros == bytes(32 * MIB) and kept == more[32 * MIB:] and
          old == data, 'the trimmed range reads zeros; the 4 MiB after it and '
          'the flushed 8 MiB before it are unchanged',
          lambda: '%s %s %s' % (out, out2, out3))


def boot_first(tap, run, images, disk, data):
    """Boot 1: the pool created, a volume's size, 8 MiB flushed and read
    back, kill -9."""
    t = time.monotonic()
    state = boot(run, images, disk, CONFIG, ['a'])
    if not check(tap, state and state.startswith('READY pool data 0% metadata'),
                 'empty disk: READY, pool usage reported (%s, %.1f s)'
                 % (state, time.monotonic() - t), lambda: trouble(run)):
        return False
    log = console(run)
    check(tap, 'creating volume group bk and thin pool bk/pool' in log and
          'disk /dev/nvme0n1: NVMe namespace' in log,
          'the NVMe namespace was found and the pool created on it',
          lambda: trouble(run))
    check(tap, size_mib(run, 'a') == 100, 'volume a serves 100 MiB over NBD',
          lambda: 'size: %s' % size_mib(run, 'a'))
    ok, out = write(run, 'a', 3 * MIB, data)
    back, out2 = read(run, 'a', 3 * MIB, len(data))
    check(tap, ok and back == data,
          '8 MiB written and flushed, read back byte-exact on a new '
          'connection', lambda: '%s %s %s' % (out, out2, trouble(run)))
    mem = re.search(r'memory: MemTotal: (\d+) kB MemAvailable: (\d+) kB', log)
    if mem:
        tap.diag('sys-storage with %d MiB: %d MiB available after boot'
                 % (MEM_MB, int(mem.group(2)) // 1024))
    run.stop_vm(9)
    return True


def boot_again(tap, run, images, disk, data):
    """Boot 2: activated, the data kept; then the live updates."""
    state = boot(run, images, disk, CONFIG, ['a'])
    if not check(tap, state and state.startswith('READY'),
                 'after kill -9, the same disk: READY (%s)' % state,
                 lambda: trouble(run)):
        return
    log = console(run)
    check(tap, 'pool bk/pool on /dev/nvme0n1 activated' in log and
          'creating' not in log,
          'the pool was activated, not created again',
          lambda: '\n'.join(l for l in log.splitlines() if 'pool' in l))
    back, out = read(run, 'a', 3 * MIB, len(data))
    check(tap, back == data, 'the flushed 8 MiB survived kill -9 byte-exact',
          lambda: out if back is None else 'differs')

    # A second volume, live: its port first (the host's order).
    replies = add_port(run, 'b')
    ans = update(run, CONFIG + 'volume b 16\n', '1')
    data_b = pattern(b'b', 2 * MIB)
    ok, out = write(run, 'b', 0, data_b) if ans and ans.startswith('UPDATED') \
        else (False, '')
    check(tap, ans == 'UPDATED 1 2 volume(s) served' and size_mib(run, 'b') == 16
          and ok, 'a second volume added live (port hot-plugged, '
          'bk-update): served, 16 MiB (%s)' % ans,
          lambda: '%s %s %s' % (replies, out, trouble(run)))

    # Lines 1 to 4 are CONFIG's and volume b's (volume 2).
    hostile = [('volume B 10', 'line 5: volume: name \'B\''),
               ('volume c 0', 'line 5: volume c: size \'0\''),
               (''.join('volume v%d 1\n' % i for i in range(255)),
                'line 259: more than 256 volume lines'),
               ('volume c 10 \nsnapshots 3', 'line 6: unknown key \'snapshots\'')]
    answers = []
    for i, (extra, want) in enumerate(hostile):
        ans = update(run, CONFIG + 'volume b 16\n' + extra, 'e%d' % i) or ''
        answers.append((ans, want))
    all_refused = all(a.startswith('UPDATE-ERROR') and 'config: ' + w in a
                      for a, w in answers)
    check(tap, all_refused, 'hostile configurations (a bad name, size 0, 257 '
          'volumes, an unknown key) refused naming the line',
          lambda: '\n'.join('%r (want %r)' % aw for aw in answers))
    log = console(run)
    check(tap, size_mib(run, 'a') == 100 and size_mib(run, 'b') == 16 and
          'volume c' not in log and 'volume v0' not in log and
          wait_state(run, ('READY',), 15, time.monotonic()),
          'after them nothing changed: both volumes served as before, '
          'none created', lambda: trouble(run))

    # Left out: no longer served, kept; listed again: its data there.
    ans = update(run, CONFIG, '2')
    unserved = size_mib(run, 'b', timeout=5)
    ans2 = update(run, CONFIG + 'volume b 16\n', '3')
    back, out = read(run, 'b', 0, len(data_b))
    check(tap, ans == 'UPDATED 2 1 volume(s) served' and
          not isinstance(unserved, int) and ans2 and
          ans2.startswith('UPDATED') and back == data_b,
          'a volume left out of the configuration is no longer served but '
          'kept (listed again, its data is there)',
          lambda: '%s; b then: %s; %s; %s' % (ans, unserved, ans2, out))

    # Removed: gone (listed again, it is a new, empty volume).
    ans = update(run, CONFIG + 'remove b\n', '4')
    log = console(run)
    ans2 = update(run, CONFIG + 'volume b 16\n', '5')
    back, out = read(run, 'b', 0, len(data_b))
    check(tap, ans == 'UPDATED 4 1 volume(s) served' and 'volume b removed' in log
          and back == bytes(len(data_b)),
          'remove b: its server stopped and the volume removed (created '
          'again, it reads as zeros)', lambda: '%s; %s; %s' % (ans, ans2, out))

    trim_frees(tap, run, data)

    # The pool warning: volume a filled (100 of the pool's 116 MiB). About
    # 3 s on an idle host; the timeout allows for a loaded one.
    t = time.monotonic()
    fill = pattern(b'fill', 100 * MIB)
    ok, out = write(run, 'a', 0, fill, timeout=180)
    warn = wait_state(run, ('READY WARNING pool data',), 20, t)
    check(tap, ok and warn and re.fullmatch(
        r'READY WARNING pool data (8[0-9]|9[0-9]|100)% full \(warning at 80%\)',
        warn), 'volume a filled: the state warns (%s)' % warn,
        lambda: '%s %s' % (out, trouble(run)))
    run.stop_vm()


def boot_foreign(tap, run, images):
    """Boot 3: a disk with a filesystem is refused and left as it was."""
    disk = sparse_disk(run, 'ext4.img', 64)
    subprocess.run(['mkfs.ext4', '-q', '-F', disk], check=True)
    before = file_sha(disk)
    state = boot(run, images, disk, CONFIG, ['a'])
    run.stop_vm()
    check(tap, state and state.startswith(
        'ERROR pool: /dev/nvme0n1 holds a filesystem or signature (ext4)') and
        file_sha(disk) == before,
        'a disk holding an ext4 filesystem: refused (%s), its bytes unchanged'
        % state, lambda: trouble(run))


def boot_bad_config(tap, run, images):
    """Boot 4: a bad line refuses the whole configuration before the pool."""
    disk = sparse_disk(run, 'empty.img')
    state = boot(run, images, disk, CONFIG + 'volume b 16\nvolume c 0\n', ['a'])
    run.stop_vm()
    with open(disk, 'rb') as f:
        untouched = f.read().count(0) == DISK_MIB * MIB
    check(tap, state == "ERROR config: line 5: volume c: size '0' is not a "
          "whole number in 1..1048576" and untouched,
          'a configuration with a bad line: ERROR naming it, the empty '
          'disk not touched (%s)' % state, lambda: trouble(run))


def steps(tap, run, _unused, build_images):
    images = driver_image_built(tap, build_images, 'sysstorage', 'sys-storage',
                                MEM_MB)
    if not images:
        return
    disk = sparse_disk(run, 'disk.img')
    data = pattern(b'flushed', 8 * MIB)
    if boot_first(tap, run, images, disk, data):
        boot_again(tap, run, images, disk, data)
    run.stop_vm()
    boot_foreign(tap, run, images)
    boot_bad_config(tap, run, images)


def report(tap, _run):
    tap.diag('total run time %.1f s' % elapsed())


def main(argv):
    return vm_test(argv, 18, 'bulkhead-sysstorage-', Run, steps, report)


if __name__ == '__main__':
    run_main(main)
