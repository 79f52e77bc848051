#!/usr/bin/env python3
"""The app VM's USB/IP import (guest-os/app_image.py: bk-usb-import,
bk-usb-status) on the host, against a fake vhci directory.

    test_sysusb_import.py

bk-usb-import reads one header line "BKUSB DEVID SPEED" from its stdin (in
the app VM: the connection from sys-usb) and writes "PORT 0 DEVID SPEED"
to vhci's attach for a free port of the right kind (docs/sysusb.md "USB/IP
over the link"). Each good header must give exactly that write; each
malformed one (a peer that is not sys-usb's bk-usb-send, or a broken one)
no write at all, exit 1 and a "refused" log line. Runs the scripts under
busybox sh, the app VM's shell. Prints TAP. No VMs, no root.
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'guest-os'))
sys.dont_write_bytecode = True
import app_image  # noqa: E402

HEAD = 'hub port sta spd dev      sockfd local_busid\n'
# vhci's status with hs port 0 and ss port 2 in use.
STATUS = HEAD + ('hs  0000 006 003 00010002 000003 1-1\n'
                 'hs  0001 004 000 00000000 000000 0-0\n'
                 'ss  0002 006 005 00020003 000004 2-1\n'
                 'ss  0003 004 000 00000000 000000 0-0\n')
FULL = HEAD + ('hs  0000 006 003 00010002 000003 1-1\n'
               'ss  0001 006 005 00020003 000004 2-1\n')

# (what, stdin bytes, vhci status, the attach line written or None)
CASES = [
    ('high speed to the free hs port', b'BKUSB 65538 3\n', STATUS, '1 0 65538 3'),
    ('full speed to the free hs port', b'BKUSB 65538 2\n', STATUS, '1 0 65538 2'),
    ('super speed to the free ss port', b'BKUSB 131074 5\n', STATUS, '3 0 131074 5'),
    ('the data after the line is not read', b'BKUSB 65538 1\n\x00\x01garbage',
     STATUS, '1 0 65538 1'),
    ('no free port of the kind', b'BKUSB 65538 3\n', FULL, None),
    ('speed 4 (wireless)', b'BKUSB 65538 4\n', STATUS, None),
    ('speed 6 (super plus)', b'BKUSB 65538 6\n', STATUS, None),
    ('speed 0', b'BKUSB 65538 0\n', STATUS, None),
    ('devid 0', b'BKUSB 0 3\n', STATUS, None),
    ('devnum 0', b'BKUSB 65536 3\n', STATUS, None),
    ('devnum 128', b'BKUSB 65664 3\n', STATUS, None),
    ('busnum 0', b'BKUSB 2 3\n', STATUS, None),
    ('devid past 32 bits', b'BKUSB 4294967296 3\n', STATUS, None),
    ('devid of 20 digits', b'BKUSB 99999999999999999999 3\n', STATUS, None),
    ('devid with a leading zero', b'BKUSB 065538 3\n', STATUS, None),
    ('devid negative', b'BKUSB -65538 3\n', STATUS, None),
    ('devid in hex', b'BKUSB 0x10002 3\n', STATUS, None),
    ('a fourth field (a port of our choosing)', b'BKUSB 65538 3 0\n', STATUS, None),
    ('two spaces', b'BKUSB  65538 3\n', STATUS, None),
    ('a tab', b'BKUSB\t65538 3\n', STATUS, None),
    ('lower-case magic', b'bkusb 65538 3\n', STATUS, None),
    ('another magic', b'USBIP 65538 3\n', STATUS, None),
    ('shell syntax', b'BKUSB $(reboot) 3\n', STATUS, None),
    ('a carriage return', b'BKUSB 65538 3\r\n', STATUS, None),
    ('no newline before EOF', b'BKUSB 65538 3', STATUS, None),
    ('nothing', b'', STATUS, None),
    ('a USB/IP request instead (binary)', bytes.fromhex('01110003') + b'\x00' * 44,
     STATUS, None),
    ('a line of 4096 bytes', b'BKUSB ' + b'1' * 4090 + b'\n', STATUS, None),
]


def main():
    if not shutil.which('busybox'):
        print('1..0 # SKIP no busybox on this host')
        return 0
    tmp = tempfile.mkdtemp(prefix='bk-usb-import-test-')
    n = failed = 0
    print('1..%d' % (len(CASES) + 1), flush=True)
    try:
        imp = os.path.join(tmp, 'bk-usb-import')
        with open(imp, 'w') as f:
            f.write(app_image.USB_IMPORT)
        vhci = os.path.join(tmp, 'vhci')
        os.mkdir(vhci)
        log = os.path.join(tmp, 'log')
        env = dict(os.environ, BK_VHCI=vhci, BK_USB_LOG=log)
        for what, data, status, want in CASES:
            with open(os.path.join(vhci, 'status'), 'w') as f:
                f.write(status)
            for p in (os.path.join(vhci, 'attach'), log):
                if os.path.exists(p):
                    os.unlink(p)
            r = subprocess.run(['busybox', 'sh', imp], input=data, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=20)
            try:
                with open(os.path.join(vhci, 'attach')) as f:
                    got = f.read().strip()
            except FileNotFoundError:
                got = None
            try:
                with open(log) as f:
                    said = f.read()
            except FileNotFoundError:
                said = ''
            if want is None:
                ok = r.returncode == 1 and got is None and 'refused' in said
            else:
                ok = r.returncode == 0 and got == want
            n += 1
            failed += not ok
            print('%s %d - %s' % ('ok' if ok else 'not ok', n, what), flush=True)
            if not ok:
                print('# exit %d, attach %r (want %r), log %r, output %r'
                      % (r.returncode, got, want, said, r.stdout), flush=True)

        # bk-usb-status over a fake vhci with two ports in use, one with
        # its disk (sda) below the ss root hub's port 2-2.
        st = os.path.join(tmp, 'bk-usb-status')
        with open(st, 'w') as f:
            f.write(app_image.USB_STATUS)
        with open(os.path.join(vhci, 'status'), 'w') as f:
            f.write(STATUS)
        for bus, speed in (('usb3', '480'), ('usb4', '5000')):
            os.makedirs(os.path.join(vhci, bus))
            for name, val in (('busnum', bus[3:]), ('speed', speed)):
                with open(os.path.join(vhci, bus, name), 'w') as f:
                    f.write(val + '\n')
        r = subprocess.run(['busybox', 'sh', st], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=20)
        want = 'PORT 0 3 65538 -\nPORT 2 5 131075 -\n'
        ok = r.returncode == 0 and r.stdout == want
        n += 1
        failed += not ok
        print('%s %d - bk-usb-status: one line per port in use' %
              ('ok' if ok else 'not ok', n), flush=True)
        if not ok:
            print('# %r (want %r)' % (r.stdout, want), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
