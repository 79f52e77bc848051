#!/usr/bin/env python3
"""bulkhead-input against a real uinput: this host's kernel has none
(CONFIG_INPUT_UINPUT unset), so it runs inside a VM with Debian's kernel
(the app image's vmlinuz), whose initramfs is the app image's plus an
overlay: this test's /init, bulkhead-input and its shared libraries,
Debian's uinput.ko and evdev.ko (from the same linux-image package, by
apt-get download, its sha256 checked against the image manifest).

The VM has virtio-serial ports org.bulkhead.input.keyboard and
org.bulkhead.input.pointer whose host sides are unix sockets QEMU
listens on, as sys-usb's will; inside,
bulkhead-input reads the port's /dev/vportNpM (a character device; on
the host it is the socket) and feeds its uinput device; dd copies the
device's /dev/input/eventN to a file, dumped on the console.

Checks: the device has the keyboard's capabilities only (EV_SYN|EV_KEY,
no buttons), an allowed key arrives, out-of-class events (a button, a
motion, an LED) do not, a key held when the port drops is released and
the device destroyed (exit 75); a second worker (the supervisor's
restart) makes the device again on the next connection; a pointer
worker's device has buttons, X/Y/wheels and the tablet's X/Y only, lets
a motion and an in-range position through, not a move of 2000, REL_DIAL,
a key or ABS_X 40000, and releases a held button at the end.

The whole chain, last: a real sys-usb VM (its image, QEMU's usb-kbd and
usb-tablet on its xHCI, `input keyboard allow`, `input pointer deny`)
runs beside this VM. Its keyboard port's socket (QEMU listening, as the
host's bulkhead-input finds it) is connected to a third port of this
VM (org.bulkhead.input.chain, a QEMU socket client), which plays the
host: a key typed on sys-usb's USB keyboard (QMP input-send-event)
arrives on bulkhead-input's uinput device, the tablet's events (the
class sys-usb's policy denies) do not, and a key held when sys-usb is
killed -9 is released and the device destroyed.

Usage: test_input_uinput.py BULKHEAD_INPUT [IMAGE_DIR]
BULKHEAD_INPUT: a build without sanitizers (its libraries are copied)."""
import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from vmlib import Tap, image_dir, qmp, stop  # noqa: E402

EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_LED = 0, 1, 2, 3, 0x11
KEY_A, KEY_B, KEY_C, BTN_LEFT, BTN_RIGHT = 30, 48, 46, 0x110, 0x111
REL_X, REL_Y, REL_DIAL, ABS_X = 0, 1, 7, 0
PORT_NAMES = ('org.bulkhead.input.keyboard', 'org.bulkhead.input.pointer',
              'org.bulkhead.input.chain')
# sys-usb for the chain: no links, the keyboard allowed, pointers denied.
SYSUSB_CONFIG = 'input keyboard allow\ninput pointer deny\n'
SYSUSB_MB = 96
# The guest's lines on the console.
MARK = 'BK-RESULT '

INIT = r'''#!/bin/sh
# bulkhead-input's VM test (tests/vm/test_input_uinput.py).
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
# The initramfs root cannot be pivoted away (pivot_root: EINVAL), as the
# worker's sandbox does: go on in a chroot of a bind mount of it, as a
# root file system on a disk would be.
if [ -z "$BK_CHROOTED" ]; then
	mkdir -p /newroot
	mount --bind / /newroot
	BK_CHROOTED=1 exec chroot /newroot /init
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mkdir -p /run && mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
exec </dev/console >/dev/console 2>&1
res() { echo "BK-RESULT $*"; }
for m in $(cat /etc/bk-modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
for m in evdev uinput; do insmod /lib/modules/$m.ko || res "module-failed $m"; done
# The port named org.bulkhead.input.CLASS: /dev/vportNpM.
port_of() {
	for i in $(seq 100); do
		for d in /sys/class/virtio-ports/*; do
			if [ "$(cat $d/name 2>/dev/null)" = org.bulkhead.input.$1 ] &&
			   [ -e /dev/${d##*/} ]; then
				echo /dev/${d##*/}
				return
			fi
		done
		sleep 0.1
	done
}
host_connected() {
	grep -q 'host_connected: 1' /sys/kernel/debug/virtio-ports/${1#/dev/}
}
# One worker's life (round N, class C, on the port named P, default C):
# waits for the host side, starts bulkhead-input, finds its device,
# copies its events until it goes.
round() {
	n=$1 c=$2
	PORT=$(port_of ${3:-$c})
	res "round $n port $PORT"
	for i in $(seq 600); do host_connected $PORT && break; sleep 0.1; done
	host_connected $PORT || res "round $n host-not-connected"
	/bin/bulkhead-input --port $PORT --class $c --name vmtest \
		--control /tmp/input.ctl >/tmp/input$n.log 2>&1 &
	pid=$!
	ev=
	for i in $(seq 100); do
		for e in /sys/class/input/event*; do
			[ "$(cat $e/device/name 2>/dev/null)" = "bulkhead vmtest $c" ] && ev=$e
		done
		[ -n "$ev" ] && break
		sleep 0.1
	done
	res "round $n device ${ev##*/} ev $(cat $ev/device/capabilities/ev) key $(cat $ev/device/capabilities/key | tr ' ' _) rel $(cat $ev/device/capabilities/rel) abs $(cat $ev/device/capabilities/abs)"
	dd if=/dev/input/${ev##*/} of=/tmp/ev$n bs=24 2>/dev/null &
	res "round $n ready"
	wait $pid
	res "round $n exit $?"
	sleep 1
	gone=yes
	for e in /sys/class/input/event*; do
		[ "$(cat $e/device/name 2>/dev/null)" = "bulkhead vmtest $c" ] && gone=no
	done
	res "round $n gone $gone"
	od -An -v -tx1 -w24 /tmp/ev$n | while read -r l; do res "round $n ev $l"; done
	sed "s/^/BK-LOG $n /" /tmp/input$n.log
}
round 1 keyboard
round 2 keyboard
round 3 pointer
round 4 keyboard chain
res done
sync
poweroff -f
sleep 5
'''


def rec(t, c, v):
    return struct.pack('<qqHHi', 0, 0, t, c, v)


SYN = rec(EV_SYN, 0, 0)


def kernel_package(images):
    with open(os.path.join(images, 'manifest.json')) as f:
        m = json.load(f)
    for p in m['packages']:
        if re.fullmatch(r'linux-image-[0-9.]+-[0-9]+-amd64', p['package']):
            return p
    raise RuntimeError('no linux-image in the image manifest')


def fetch_modules(images, work):
    """Debian's uinput.ko and evdev.ko, from the kernel package the app
    image's vmlinuz came from."""
    pkg = kernel_package(images)
    os.chmod(work, 0o755)
    subprocess.run(['apt-get', 'download', '-q',
                    '%s=%s' % (pkg['package'], pkg['version'])],
                   cwd=work, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    deb = [f for f in os.listdir(work) if f.endswith('.deb')][0]
    with open(os.path.join(work, deb), 'rb') as f:
        if hashlib.sha256(f.read()).hexdigest() != pkg['sha256']:
            raise RuntimeError('%s: sha256 differs from the manifest' % deb)
    root = os.path.join(work, 'kernel')
    subprocess.run(['dpkg-deb', '-x', os.path.join(work, deb), root], check=True)
    os.unlink(os.path.join(work, deb))
    found = {}
    for dirpath, _dirs, files in os.walk(os.path.join(root, 'lib/modules')):
        for name in ('uinput.ko', 'evdev.ko'):
            if name in files:
                found[name] = os.path.join(dirpath, name)
    return found


def libraries(binary):
    """The shared libraries ldd names, and the loader."""
    out = subprocess.run(['ldd', binary], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    return re.findall(r'(/\S+\.so[.\d]*)\s', out)


def make_initramfs(binary, images, work):
    tree = os.path.join(work, 'overlay')
    os.makedirs(os.path.join(tree, 'lib/modules'))
    os.makedirs(os.path.join(tree, 'bin'))
    with open(os.path.join(tree, 'init'), 'w') as f:
        f.write(INIT)
    os.chmod(os.path.join(tree, 'init'), 0o755)
    shutil.copy(binary, os.path.join(tree, 'bin/bulkhead-input'))
    for lib in libraries(binary):
        dest = os.path.join(tree, lib.lstrip('/'))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(os.path.realpath(lib), dest)
        os.chmod(dest, 0o755)
    for name, path in fetch_modules(images, work).items():
        shutil.copy(path, os.path.join(tree, 'lib/modules', name))
    files = subprocess.run(['find', '.', '-mindepth', '1'], cwd=tree, check=True,
                           stdout=subprocess.PIPE).stdout
    overlay = subprocess.run(['cpio', '-o', '-H', 'newc', '--quiet'], cwd=tree,
                             input=files, check=True, stdout=subprocess.PIPE).stdout
    # The kernel unpacks concatenated archives in turn: the overlay's
    # /init replaces the app image's.
    out = os.path.join(work, 'initramfs.cpio.gz')
    with open(out, 'wb') as f:
        with open(os.path.join(images, 'app-initramfs.cpio.gz'), 'rb') as base:
            shutil.copyfileobj(base, f)
        f.write(gzip.compress(overlay))
    return out


def wait_line(console, pattern, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(console, errors='replace') as f:
            m = re.search(pattern, f.read())
        if m:
            return m
        time.sleep(0.2)
    return None


def connect(path, timeout=30):
    deadline = time.time() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def bitmap(words):
    """A sysfs capability bitmap (64-bit hex words, highest first, here
    joined by _) as an int."""
    value = 0
    for word in words.split('_'):
        value = value << 64 | int(word, 16)
    return value


def events(text, n):
    """(type, code, value) of round n's events from the console dump."""
    out = []
    for line in re.findall(r'BK-RESULT round %d ev ([0-9a-f ]+)' % n, text):
        b = bytes(int(x, 16) for x in line.split())
        if len(b) == 24:
            out.append(struct.unpack('<qqHHi', b)[2:])
    return out


def round_dump(console, n, after):
    """The console's text and round N's events, once it printed AFTER (the
    line that follows N's dump: the events come after its "gone" line)."""
    wait_line(console, after, 60)
    text = open(console, errors='replace').read()
    return text, events(text, n)


def main(argv):
    binary = argv[1]
    images = argv[2] if len(argv) > 2 else image_dir()
    # The test run's build has sanitizers; tests/run-tests names the gcc
    # release build's worker beside it (the same sources).
    plain = os.environ.get('BK_TEST_INPUT_PLAIN', '')
    if plain and os.path.exists(plain):
        binary = plain
    if 'libasan' in subprocess.run(['ldd', binary], stdout=subprocess.PIPE,
                                   text=True).stdout:
        print('1..0 # SKIP %s is a sanitizer build (give a build without)' % binary)
        return 0
    tap = Tap(12)
    work = tempfile.mkdtemp(prefix='bulkhead-input-vm-')
    qemu = sysusb = None
    try:
        initrd = make_initramfs(binary, images, work)
        sock = os.path.join(work, 'keyboard.sock')
        psock = os.path.join(work, 'pointer.sock')
        console = os.path.join(work, 'console.log')
        # sys-usb first: this VM's chain port connects to its socket.
        sysusb = subprocess.Popen(sysusb_cmd(images, work),
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT)
        qemu = subprocess.Popen([
            'qemu-system-x86_64', '-M', 'q35', '-accel', 'tcg', '-smp', '1',
            '-m', '256', '-nodefaults', '-no-user-config', '-no-reboot',
            '-display', 'none', '-monitor', 'none', '-serial', 'file:' + console,
            '-kernel', os.path.join(images, 'vmlinuz'), '-initrd', initrd,
            '-append', 'console=ttyS0 panic=-1',
            '-device', 'virtio-serial-pci',
            '-chardev', 'socket,id=in0,path=%s,server=on,wait=off' % sock,
            '-device', 'virtserialport,chardev=in0,name=' + PORT_NAMES[0],
            '-chardev', 'socket,id=in1,path=%s,server=on,wait=off' % psock,
            '-device', 'virtserialport,chardev=in1,name=' + PORT_NAMES[1],
            '-chardev', 'socket,id=in2,path=%s,reconnect=1'
            % os.path.join(work, 'sysusb-keyboard.sock'),
            '-device', 'virtserialport,chardev=in2,name=' + PORT_NAMES[2]],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        conn = connect(sock)
        pconn = connect(psock)
        ready = wait_line(console, r'BK-RESULT round 1 ready', 240)
        text = open(console, errors='replace').read()
        if not check(tap, ready is not None, 'VM up, bulkhead-input confined on '
                         'the port, its uinput device found', text[-3000:]):
            return finish(tap)
        m = re.search(r'round 1 device (\S+) ev (\S+) key (\S+) rel (\S*) abs (\S*)', text)
        key_bits = bitmap(m.group(3)) if m else 0
        check(tap, m and m.group(2) == '3' and m.group(4) == '0' and m.group(5) == '0' and
                  key_bits >> KEY_A & 1 and key_bits >> 248 & 1 and
                  not key_bits >> BTN_LEFT and not key_bits & 1,
                  'the device: EV_SYN|EV_KEY, keys 1..248, no button, no axis',
                  m.group(0) if m else text[-2000:])
        conn.sendall(rec(EV_KEY, KEY_A, 1) + SYN + rec(EV_KEY, KEY_A, 0) + SYN +
                     rec(EV_KEY, BTN_LEFT, 1) + SYN + rec(EV_REL, 0, 5) + SYN +
                     rec(EV_LED, 1, 1) + SYN + rec(EV_KEY, KEY_B, 1) + SYN)
        time.sleep(2)
        conn.close()
        done1 = wait_line(console, r'BK-RESULT round 1 gone (\w+)', 60)
        # Its events are dumped after that line; the next round's first
        # line comes after them.
        text, got = round_dump(console, 1, r'BK-RESULT round 2 port')
        check(tap, got[:4] == [(EV_KEY, KEY_A, 1), (EV_SYN, 0, 0),
                              (EV_KEY, KEY_A, 0), (EV_SYN, 0, 0)],
                  'the allowed key arrives on the host side\'s uinput device', got)
        check(tap, not any(t in (EV_REL, EV_LED) or (t == EV_KEY and c == BTN_LEFT)
                          for t, c, _v in got),
                  'a button, a motion, an LED (out of class) do not', got)
        check(tap, got[4:] == [(EV_KEY, KEY_B, 1), (EV_SYN, 0, 0),
                              (EV_KEY, KEY_B, 0), (EV_SYN, 0, 0)],
                  'the key held when the port dropped is released', got)
        check(tap, re.search(r'round 1 exit 75', text) and done1 and
                  done1.group(1) == 'yes',
                  'port dropped: the device destroyed, exit 75',
                  '\n'.join(l for l in text.splitlines() if 'round 1' in l or 'BK-LOG 1' in l))
        # The supervisor's restart: a new worker, a new connection.
        conn = connect(sock)
        ready2 = wait_line(console, r'BK-RESULT round 2 ready', 60)
        conn.sendall(rec(EV_KEY, KEY_C, 1) + SYN + rec(EV_KEY, KEY_C, 0) + SYN)
        time.sleep(2)
        conn.close()
        text, got = round_dump(console, 2, r'BK-RESULT round 3 port')
        check(tap, ready2 and got == [(EV_KEY, KEY_C, 1), (EV_SYN, 0, 0),
                                     (EV_KEY, KEY_C, 0), (EV_SYN, 0, 0)] and
                  'round 2 exit 75' in text,
                  'a new worker on the next connection: the device made again',
                  '\n'.join(l for l in text.splitlines() if 'round 2' in l or 'BK-LOG 2' in l))
        # The pointer: its own port, its own device.
        ready3 = wait_line(console, r'BK-RESULT round 3 ready', 60)
        pconn.sendall(rec(EV_REL, REL_X, 5) + rec(EV_REL, REL_Y, -3) + SYN +
                      rec(EV_REL, REL_X, 2000) + SYN + rec(EV_REL, REL_DIAL, 1) + SYN +
                      rec(EV_KEY, KEY_A, 1) + SYN + rec(EV_ABS, ABS_X, 40000) + SYN +
                      rec(EV_ABS, ABS_X, 32767) + SYN + rec(EV_KEY, BTN_RIGHT, 1) + SYN)
        time.sleep(2)
        pconn.close()
        text, got = round_dump(console, 3, r'BK-RESULT round 4 port')
        m = re.search(r'round 3 device (\S+) ev (\S+) key (\S+) rel (\S*) abs (\S*)', text)
        key_bits = bitmap(m.group(3)) if m else 0
        check(tap, ready3 and m and m.group(2) == 'f' and m.group(4) == '143' and
              m.group(5) == '3' and key_bits == 0xff << BTN_LEFT,
              'the pointer device: buttons 0x110..0x117, REL X Y HWHEEL WHEEL, ABS X Y',
              m.group(0) if m else text[-2000:])
        check(tap, got == [(EV_REL, REL_X, 5), (EV_REL, REL_Y, -3), (EV_SYN, 0, 0),
                           (EV_ABS, ABS_X, 32767), (EV_SYN, 0, 0),
                           (EV_KEY, BTN_RIGHT, 1), (EV_SYN, 0, 0),
                           (EV_KEY, BTN_RIGHT, 0), (EV_SYN, 0, 0)] and
              'round 3 exit 75' in text,
              'pointer: motion in; a move of 2000, REL_DIAL, a key, ABS_X 40000 out; '
              'the held button released when the port drops',
              '\n'.join(l for l in text.splitlines() if 'round 3' in l or 'BK-LOG 3' in l))
        chain(tap, work, console, sysusb)
        text = open(console, errors='replace').read()
        check(tap, 'module-failed' not in text and 'confined' in text,
                  'modules loaded, the worker confined in the VM',
                  '\n'.join(l for l in text.splitlines() if 'BK-' in l))
    finally:
        for p in (qemu, sysusb):
            if p:
                stop(p)
        if os.environ.get('BULKHEAD_KEEP'):
            print('# kept %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return finish(tap)


def sysusb_cmd(images, work):
    """sys-usb (its own image) with QEMU's USB keyboard and tablet, its
    keyboard and pointer ports listening in WORK, no links."""
    config = os.path.join(work, 'sysusb.config')
    with open(config, 'w') as f:
        f.write(SYSUSB_CONFIG)
    cmd = [
        'qemu-system-x86_64', '-M', 'q35', '-accel', 'tcg', '-smp', '1',
        '-m', str(SYSUSB_MB), '-nodefaults', '-no-user-config', '-no-reboot',
        '-display', 'none', '-monitor', 'none',
        '-serial', 'file:' + os.path.join(work, 'sysusb.console'),
        '-qmp', 'unix:%s,server=on,wait=off' % os.path.join(work, 'sysusb.qmp'),
        '-kernel', os.path.join(images, 'sysusb-vmlinuz'),
        '-initrd', os.path.join(images, 'sysusb-initramfs.cpio.gz'),
        '-append', 'console=ttyS0 panic=-1 loglevel=6',
        '-fw_cfg', 'name=opt/bulkhead/config,file=' + config,
        '-device', 'qemu-xhci,id=xhci',
        '-device', 'usb-kbd,bus=xhci.0,id=kbd',
        '-device', 'usb-tablet,bus=xhci.0,id=tablet',
        '-device', 'virtio-serial-pci,id=vser']
    for cid, name in (('agent', 'org.bulkhead.agent'),
                      ('keyboard', 'org.bulkhead.input.keyboard'),
                      ('pointer', 'org.bulkhead.input.pointer')):
        cmd += ['-chardev', 'socket,id=%s,path=%s,server=on,wait=off'
                % (cid, os.path.join(work, 'sysusb-%s.sock' % cid)),
                '-device', 'virtserialport,bus=vser.0,chardev=%s,name=%s'
                % (cid, name)]
    return cmd


def key(name, down):
    return {'type': 'key', 'data': {'down': down,
                                     'key': {'type': 'qcode', 'data': name}}}


def chain(tap, work, console, sysusb):
    """Round 4: sys-usb's USB keyboard through its port to bulkhead-input's
    uinput device; its tablet (denied) not; a key held when sys-usb is
    killed released."""
    sconsole = os.path.join(work, 'sysusb.console')
    fwd = wait_line(sconsole, r'forwarded as keyboard', 240)
    ready = wait_line(console, r'BK-RESULT round 4 ready', 60)
    if not check(tap, fwd and ready, 'the chain: sys-usb forwards its USB '
                 'keyboard to its port, connected to this VM\'s, where '
                 'bulkhead-input made its device',
                 lambda: open(sconsole, errors='replace').read()[-2000:] +
                 open(console, errors='replace').read()[-1500:]):
        return
    time.sleep(1)
    qpath = os.path.join(work, 'sysusb.qmp')
    r = qmp(qpath, {'execute': 'input-send-event',
                    'arguments': {'events': [key('a', True)]}},
            {'execute': 'input-send-event',
             'arguments': {'events': [key('a', False)]}},
            {'execute': 'input-send-event', 'arguments': {'events': [
                {'type': 'abs', 'data': {'axis': 'x', 'value': 1000}},
                {'type': 'btn', 'data': {'down': True, 'button': 'left'}}]}},
            {'execute': 'input-send-event',
             'arguments': {'events': [key('b', True)]}})
    time.sleep(3)
    sysusb.kill()
    gone = wait_line(console, r'BK-RESULT round 4 gone (\w+)', 60)
    # The events are dumped after that line, "done" after them.
    text, got = round_dump(console, 4, r'BK-RESULT done')
    # sys-usb's kernel repeats a held key (value 2): not what is checked.
    once = [e for e in got if e[2] != 2 and e[0] != EV_SYN]
    check(tap, once == [(EV_KEY, KEY_A, 1), (EV_KEY, KEY_A, 0),
                        (EV_KEY, KEY_B, 1), (EV_KEY, KEY_B, 0)] and
          not any(t in (EV_ABS, EV_REL) or (t == EV_KEY and c >= BTN_LEFT)
                  for t, c, _v in got) and
          'round 4 exit 75' in text and gone and gone.group(1) == 'yes',
          'a key typed on sys-usb\'s USB keyboard arrives on the host side\'s '
          'uinput device; the tablet\'s events (denied by sys-usb\'s policy) '
          'do not; the key held when sys-usb is killed -9 is released, the '
          'device destroyed',
          lambda: '%s\n%s (%d events)\n%s' % (r, once, len(got), '\n'.join(
              l for l in text.splitlines() if 'round 4' in l or 'BK-LOG 4' in l)))


def check(tap, ok, what, diag):
    """A check whose diagnostics (a value, or a function giving it) show
    only when it fails."""
    return tap.check(bool(ok), what,
                     None if ok else diag() if callable(diag) else diag)


def finish(tap):
    tap.finish()
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
