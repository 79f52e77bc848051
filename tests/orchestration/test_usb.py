#!/usr/bin/env python3
"""USB devices from sys-usb to app VMs, end to end (docs/sysusb.md):
`bulkhead up` of sys-net, sys-usb (QEMU's emulated xHCI with two sticks
over host files and a keyboard) and two app VMs served by it: u-work on
the app image, u-mail on the Debian template. A device
reaches an app VM over USB/IP in the kernel, on that app VM's own link
to sys-usb (a bulkhead-link pair); the host only lists and assigns.

  1. up: sys-usb READY; each app VM's USB link runs; the stick pinned to
     u-work (by serial) is attached to it by itself
  2. usb list: the two sticks (46f4:0001) and the keyboard (hid), the
     pinned one attached to u-work
  3. u-work reads the pinned stick byte-exact (its host file's hash)
  4. usb attach of the second stick to u-mail: within the goal (3 s), and
     u-mail reads it byte-exact; it mounts the stick's ext4 file system
     (read-only) and reads the file on it byte-exact
  5. the same stick to u-work while u-mail has it: refused, naming
     u-mail; the keyboard: refused (input stays in sys-usb); a device
     that is not there: refused
  6. usb detach: gone from u-mail (goal 1 s); attached again, read again;
     detached while u-mail reads it: the reader gets an I/O error
  7. kill -9 of sys-usb's QEMU while u-work reads its stick: the reader
     gets an I/O error within seconds, nothing hangs; sys-usb comes back
     by itself and the pinned stick is u-work's again, the attached one
     is not (a new device: attach it again)
  8. down: nothing left; the stick files kept

    test_usb.py BULKHEAD

Needs root, libvirt and the guest images."""
import glob
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import run_main  # noqa: E402
from orchlib import domains, qemu_pid, sh, sha, topo_status, \
    topology_test  # noqa: E402

BULKHEAD = os.path.abspath(sys.argv[1])
URI = 'qemu:///system'
NS, OUT_IP = 'bk-u-out%d' % os.getpid(), '10.205.9.1'
STICK_MIB = 16
TOPO = '''version: 2
name: bkusb
accel: tcg
driver-vms:
  - name: u-net
    kind: net
    devices:
      - {emulated: e1000e, netns: %s, bridge: br0, mac: "52:54:00:7a:00:02"}
  - name: u-usb
    kind: usb
    memory: 128
    input: {keyboard: allow}
    devices:
      - {emulated: usb-storage, file: %s, size: 16M}
      - {emulated: usb-storage, file: %s, size: 16M}
      - {emulated: usb-kbd}
app-vms:
  - name: u-work
    net: {via: u-net, mac: "52:54:00:7a:01:01", ip: 10.205.1.2/24}
    usb:
      via: u-usb
      pin:
        - serial: bk-u-usb-0
  - name: u-mail
    template: debian
    memory: 384
    net: {via: u-net, mac: "52:54:00:7a:01:02", ip: 10.205.2.2/24}
    usb: {via: u-usb}
'''
# The first disk the app VM's USB/IP import gave it (vhci's only device):
# its first STICK_MIB MiB, hashed, read past the page cache.
READ = ('d=$(bk-usb-status | awk \'$5 ~ /^sd/ {print $5; exit}\');'
        ' [ -n "$d" ] || { echo "no usb disk"; exit 1; };'
        ' echo 3 > /proc/sys/vm/drop_caches;'
        ' dd if=/dev/$d bs=1M count=%d iflag=direct 2>/dev/null | sha256sum'
        % STICK_MIB)
# A long read (the stick over and over) that reports how it ended.
LONG_READ = ('d=$(bk-usb-status | awk \'$5 ~ /^sd/ {print $5; exit}\');'
             ' for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do'
             ' dd if=/dev/$d of=/dev/null bs=64k iflag=direct 2>/tmp/dd.err ||'
             ' { echo "read failed: $(tail -n 1 /tmp/dd.err)"; exit 0; };'
             ' done; echo "read whole"')


# The second stick holds an ext4 file system with this file on it.
STICK_FILE_MIB = 8
MOUNT = ('d=$(bk-usb-status | awk \'$5 ~ /^sd/ {print $5; exit}\');'
         ' mkdir -p /mnt/stick && mount -o ro /dev/$d /mnt/stick &&'
         ' sha256sum /mnt/stick/data.bin; umount /mnt/stick')


def file_sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read(STICK_MIB << 20)).hexdigest()


def devices(bk):
    """usb list's rows: {serial: {device, id, class, to}}."""
    r = bk('usb', 'list', 'u-usb')
    rows = {}
    for line in r.stdout.splitlines()[1:]:
        f = line.split()
        if len(f) >= 6:
            rows[f[5] if f[5] != '-' else f[1] + '@' + f[0]] = {
                'device': f[0], 'id': f[1], 'class': f[3], 'to': f[4]}
    return rows, r


def wait_for(fn, secs):
    end = time.time() + secs
    while time.time() < end:
        got = fn()
        if got:
            return got
        time.sleep(2)
    return fn()


def read_hash(bk, vm, tries=20):
    out = ''
    for _ in range(tries):
        r = bk('exec', vm, READ)
        out = r.stdout
        if r.returncode == 0 and sha(out):
            return sha(out), out
        time.sleep(2)
    return None, out


def steps(t, tmp, bk, sticks):
    path = os.path.join(tmp, 'usb.yaml')
    with open(path, 'w') as f:
        f.write(TOPO % (NS, sticks[0], sticks[1]))
    want = [file_sha(s) for s in sticks]
    r = bk('up', path)
    links = [l for l in topo_status(bk, 'bkusb').get('links', [])
             if l.get('kind') == 'usb']
    t.check(r.returncode == 0 and re.search(r'u-usb: READY', r.stdout) and
            sorted(l.get('name') for l in links if l.get('running')) ==
            ['u-mail.usb', 'u-work.usb'],
            'up: sys-usb READY, each app VM\'s USB link running',
            r.stdout[-3000:] + json.dumps(links)[:1500])
    # The keyboard is allowed to reach the host, whose kernel here has no
    # uinput: its input worker says so once and is not restarted.
    time.sleep(3)
    kbd_link = next((l for l in topo_status(bk, 'bkusb').get('links', [])
                     if l.get('name') == 'u-usb.keyboard'), {})
    logs = glob.glob(os.path.join(tmp, 'state', '*', 'link-u-usb.keyboard.log'))
    log = open(logs[0]).read() if logs else ''
    have_uinput = os.path.exists('/dev/uinput')
    t.check(have_uinput or (not kbd_link.get('running') and
                            kbd_link.get('last_exit') == 'exit status 78' and
                            kbd_link.get('restarts') == 0 and
                            'no /dev/uinput' in log),
            'the keyboard\'s input worker on a host without uinput: one clear'
            ' error, exit 78, not restarted' + (' (this host has uinput)'
                                                if have_uinput else ''),
            json.dumps(kbd_link) + log[-800:])
    if r.returncode != 0:
        return
    rows, lr = wait_for(lambda: (lambda x: x if x[0].get('bk-u-usb-0', {}).get(
        'to') == 'u-work' else None)(devices(bk)), 60) or devices(bk)
    kbd = [v for k, v in rows.items() if v['class'] == 'hid']
    t.check(lr.returncode == 0 and rows.get('bk-u-usb-0', {}).get('id') ==
            '46f4:0001' and rows.get('bk-u-usb-1', {}).get('to') == '-' and
            rows['bk-u-usb-0']['to'] == 'u-work' and len(kbd) == 1,
            'usb list: both sticks and the keyboard; the pinned stick'
            ' attached to u-work by itself, the other to none', lr.stdout)
    got, out = read_hash(bk, 'u-work')
    t.check(got == want[0], 'u-work reads the pinned stick byte-exact'
            ' (%d MiB, its file\'s hash)' % STICK_MIB, out[-800:])
    stick1 = rows.get('bk-u-usb-1', {}).get('device', 'u-usb:1-2')
    r = bk('usb', 'attach', stick1, 'u-mail')
    m = re.search(r'attached to u-mail in ([0-9.]+) s', r.stdout)
    got, out = read_hash(bk, 'u-mail')
    t.check(r.returncode == 0 and m and got == want[1],
            'usb attach of the second stick to u-mail (%s s; goal 3 s), read'
            ' there byte-exact' % (m.group(1) if m else '?'),
            r.stdout + out[-800:])
    t.diag('attach latency: %s s' % (m.group(1) if m else '?'))
    r = bk('exec', 'u-mail', MOUNT)
    t.check(r.returncode == 0 and sha(r.stdout) == sticks_file_sha(tmp),
            'u-mail (on the Debian template) mounts the stick\'s ext4'
            ' read-only and reads its %d MiB file byte-exact' % STICK_FILE_MIB,
            r.stdout[-800:])
    r1 = bk('usb', 'attach', stick1, 'u-work')
    r2 = bk('usb', 'attach', kbd[0]['device'] if kbd else 'u-usb:1-3', 'u-work')
    r3 = bk('usb', 'attach', 'u-usb:1-7', 'u-work')
    r4 = bk('usb', 'attach', 'u-usb:1-2;reboot', 'u-work')
    t.check(r1.returncode != 0 and 'attached to u-mail; detach it first' in
            r1.stdout and r2.returncode != 0 and 'is an input device' in
            r2.stdout and r3.returncode != 0 and 'has no device at 1-7' in
            r3.stdout and r4.returncode == 2 and 'is not a device' in r4.stdout,
            'refused with the reason: a stick another app VM has, the'
            ' keyboard, a port with nothing, a malformed device name',
            '\n'.join(x.stdout for x in (r1, r2, r3, r4)))
    r = bk('usb', 'detach', stick1)
    m = re.search(r'detached from u-mail in ([0-9.]+) s', r.stdout)
    gone = bk('exec', 'u-mail', 'bk-usb-status')
    r2 = bk('usb', 'attach', stick1, 'u-mail')
    got, out = read_hash(bk, 'u-mail')
    t.check(r.returncode == 0 and m and 'PORT' not in gone.stdout and
            r2.returncode == 0 and got == want[1],
            'usb detach: gone from u-mail (%s s; goal 1 s); attached again and'
            ' read again' % (m.group(1) if m else '?'),
            r.stdout + gone.stdout + r2.stdout + out)
    t.diag('detach latency: %s s' % (m.group(1) if m else '?'))
    # Detach while u-mail reads the stick: its reader gets an error,
    # u-work's stick reads on.
    reader = subprocess.Popen(
        [BULKHEAD, '--connect', URI, 'exec', 'u-mail', LONG_READ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=bk.env)
    time.sleep(4)
    r = bk('usb', 'detach', stick1)
    try:
        out, _ = reader.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        reader.kill()
        out = 'the reader hung\n' + (reader.communicate()[0] or '')
    got, out2 = read_hash(bk, 'u-work')
    t.check(r.returncode == 0 and 'read failed' in out and got == want[0],
            'detach while u-mail reads: its reader gets an I/O error; u-work'
            '\'s stick unaffected', r.stdout + out[-500:] + out2[-300:])
    # sys-usb killed while u-work reads: an error, not a hang.
    pid = qemu_pid('bulkhead-u-usb')
    reader = subprocess.Popen(
        [BULKHEAD, '--connect', URI, 'exec', 'u-work', LONG_READ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=bk.env)
    time.sleep(4)
    killed = time.time()
    if pid:
        os.kill(pid, signal.SIGKILL)
    try:
        out, _ = reader.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        reader.kill()
        out = 'the reader hung\n' + (reader.communicate()[0] or '')
    took = time.time() - killed
    t.check(pid and 'read failed' in out and took < 60,
            'kill -9 of sys-usb mid-read: the reader in u-work gets an I/O'
            ' error after %.0f s, nothing hangs' % took, out[-800:])
    back = wait_for(lambda: (lambda x: x if x[0].get('bk-u-usb-0', {}).get(
        'to') == 'u-work' else None)(devices(bk)), 240)
    rows = back[0] if back else devices(bk)[0]
    got, out = read_hash(bk, 'u-work', 40)
    t.check(back and qemu_pid('bulkhead-u-usb') not in (0, pid) and
            rows.get('bk-u-usb-1', {}).get('to') == '-' and got == want[0],
            'sys-usb back by itself: the pinned stick u-work\'s again (read'
            ' byte-exact), the attached one nobody\'s (a new device now)',
            json.dumps(rows) + out[-500:])
    r = bk('down', path)
    left = sh('pgrep', '-f', 'bulkhead.*' + re.escape(tmp)).stdout.split()
    t.check(r.returncode == 0 and not domains('bulkhead-u-') and not left and
            all(file_sha(s) == w for s, w in zip(sticks, want)),
            'down: no domain or process left; the stick files kept unchanged',
            r.stdout[-1500:] + ' left %s' % left)


def sticks_file_sha(tmp):
    with open(os.path.join(tmp, 'stick-fs', 'data.bin'), 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_sticks(tmp):
    """Stick 0: random bytes; stick 1: ext4 holding data.bin (random)."""
    sticks = [os.path.join(tmp, 'stick%d.raw' % i) for i in range(2)]
    with open(sticks[0], 'wb') as f:
        f.write(os.urandom(STICK_MIB << 20))
    tree = os.path.join(tmp, 'stick-fs')
    os.mkdir(tree)
    with open(os.path.join(tree, 'data.bin'), 'wb') as f:
        f.write(os.urandom(STICK_FILE_MIB << 20))
    with open(sticks[1], 'wb') as f:
        f.truncate(STICK_MIB << 20)
    subprocess.run(['mkfs.ext4', '-q', '-F', '-d', tree, sticks[1]], check=True)
    return (sticks,)


def main(argv):
    del argv
    return topology_test(
        BULKHEAD, 14, 'bk-orch-usb-', NS, OUT_IP, {},
        lambda t, tmp, bk, _sums, sticks: steps(t, tmp, bk, sticks),
        make_sticks)


if __name__ == '__main__':
    run_main(main)
