#!/usr/bin/env python3
"""The desktop template, end to end (docs/templates.md "Desktop"):
`bulkhead up` of sys-net and one app VM on template debian-desktop with
`display: true`, under TCG.

  1. the template: guest-os/build-images --template debian-desktop finds it
     current or builds it (the first run here; cached after)
  2. up: the VM ready (qemu-ga answers, it holds sys-net's lease)
  3. the compositor: weston runs as `user` (uid 1000), in a logind
     session on seat0 that is active; boot-to-desktop seconds (the
     guest's clock when bk-desktop.service became ready) as a diagnostic
  4. the screen (virsh screenshot): weston's background colour covers
     most of it (weston drew, not the text console)
  5. the browser: NetSurf started as the user against a file:// page
     whose background is magenta; its window shows on the screenshot
     (magenta where there was none before), its process is the user's
  6. bulkhead view: the VNC socket's path, a socket only root reaches;
     bulkhead template list: debian-desktop with the VM on its version
  7. down: no domain left

    test_desktop.py BULKHEAD

Needs root, libvirt and the guest images (it builds the desktop template
when it is missing: a few minutes)."""
import json
import os
import re
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import run_main  # noqa: E402
from orchlib import URI, domains, sh, topology_test  # noqa: E402

BULKHEAD = os.path.abspath(sys.argv[1])
BUILD_IMAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            '..', '..', 'guest-os', 'build-images')
NS, OUT_IP = 'bk-d-out%d' % os.getpid(), '10.209.9.1'
VM = 'd-desk'
DOMAIN = 'bulkhead-' + VM
TOPO = '''version: 2
name: bkdesk
accel: tcg
driver-vms:
  - name: d-net
    kind: net
    devices:
      - {emulated: e1000e, netns: %s, bridge: br0, mac: "52:54:00:7e:00:02"}
app-vms:
  - name: d-desk
    template: debian-desktop
    memory: 1024
    private: 256M
    display: true
    net: {via: d-net, mac: "52:54:00:7e:01:01", ip: 10.209.1.2/24}
'''
# weston.ini's background (guest-os/template-desktop/etc/xdg/weston/).
BACKGROUND = (0x23, 0x39, 0x5b)
MAGENTA = (0xff, 0x00, 0xff)
PAGE = ('<html><head><title>bulkhead</title></head>'
        '<body style="background: #ff00ff"><h1>bulkhead desktop</h1>'
        '</body></html>')
# The browser as the user, in the user's Wayland session: a transient
# unit (its output in the journal), so exec returns at once. PAGE has no
# single quote.
BROWSER = ("printf '%s' '" + PAGE + "' > /tmp/bk-page.html &&"
           ' chmod 0644 /tmp/bk-page.html &&'
           ' systemd-run --quiet --uid=user --unit=bk-browser'
           ' --setenv=XDG_RUNTIME_DIR=/run/user/1000'
           ' --setenv=WAYLAND_DISPLAY=wayland-0 --setenv=NO_AT_BRIDGE=1'
           ' /usr/bin/netsurf-gtk file:///tmp/bk-page.html')
DESKTOP_S = 300
DRAWN_S = 120
WINDOW_S = 240


def png_unfilter(raw, w, h, bpp):
    """The rows of RAW (each a filter byte and w * bpp bytes, PNG's five
    filters of its specification, section 9) as one bytes object."""
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        raise ValueError('%d bytes of rows for %dx%d' % (len(raw), w, h))
    out = bytearray(h * stride)
    prev = bytearray(stride)
    for y in range(h):
        kind = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xff
        elif kind == 2:
            row = bytearray((a + b) & 0xff for a, b in zip(row, prev))
        elif kind == 3:
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xff
        elif kind == 4:
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else
                                    b if pb <= pc else c)) & 0xff
        elif kind != 0:
            raise ValueError('row %d: filter %d' % (y, kind))
        out[y * stride:(y + 1) * stride] = row
        prev = row
    return bytes(out)


def screen_pixels(path):
    """(width, height, RGB bytes) of a screenshot: libvirt 9 hands on
    QEMU's PNG (8-bit RGB or RGBA, not interlaced); older ones a PPM."""
    with open(path, 'rb') as f:
        data = f.read()
    if data.startswith(b'P6'):
        m = re.match(rb'P6\s+(\d+)\s+(\d+)\s+255\s', data)
        if not m:
            raise ValueError('%s: not an 8-bit binary PPM' % path)
        w, h = int(m.group(1)), int(m.group(2))
        return w, h, data[m.end():m.end() + w * h * 3]
    if not data.startswith(b'\x89PNG\r\n\x1a\n'):
        raise ValueError('%s: neither PNG nor PPM' % path)
    pos, idat, head = 8, [], None
    while pos + 8 <= len(data):
        size, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        if kind == b'IHDR':
            head = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat.append(body)
        pos += 12 + size
    if not head or head[2] != 8 or head[3] not in (2, 6) or head[6]:
        raise ValueError('%s: not 8-bit RGB(A) without interlace: %r' %
                         (path, head))
    w, h, bpp = head[0], head[1], 3 if head[3] == 2 else 4
    px = png_unfilter(zlib.decompress(b''.join(idat)), w, h, bpp)
    if bpp == 4:
        px = b''.join(px[i:i + 3] for i in range(0, len(px), 4))
    return w, h, px


def screenshot(tmp, name):
    """{'size', 'colours', 'background', 'magenta'} of the domain's screen
    now (shares of its pixels), or {'error'}."""
    path = os.path.join(tmp, name + '.ppm')
    r = sh('virsh', '-c', URI, 'screenshot', DOMAIN, path, timeout=120)
    if r.returncode != 0:
        return {'error': r.stdout[-500:]}
    try:
        w, h, px = screen_pixels(path)
    except (OSError, ValueError, zlib.error, struct.error) as ex:
        return {'error': str(ex)}
    counts = {}
    # Every 7th pixel: enough to tell the shares, fast in Python.
    for i in range(0, w * h * 3, 21):
        c = px[i:i + 3]
        counts[c] = counts.get(c, 0) + 1
    total = sum(counts.values())
    return {'size': '%dx%d' % (w, h), 'colours': len(counts),
            'background': counts.get(bytes(BACKGROUND), 0) / total,
            'magenta': counts.get(bytes(MAGENTA), 0) / total}


def steps(t, tmp, bk, _sums):
    # 1. The template, built here when it is missing.
    t0 = time.monotonic()
    r = sh(BUILD_IMAGES, '--quiet', '--template', 'debian-desktop',
           timeout=1800)
    built = re.search(r'debian-desktop \S+ built in (\d+) s', r.stdout)
    t.check(r.returncode == 0 and 'templates/debian-desktop/' in r.stdout,
            'build-images --template debian-desktop: %s (%.0f s)' % (
                'built' if built else 'current', time.monotonic() - t0),
            r.stdout[-2000:])
    if r.returncode != 0:
        return

    # 2. up.
    path = os.path.join(tmp, 'desk.yaml')
    with open(path, 'w') as f:
        f.write(TOPO % NS)
    up0 = time.monotonic()
    r = bk('up', path)
    ready = re.findall(r'up: d-desk: ready, .* \(([0-9.]+) s\)', r.stdout)
    t.check(r.returncode == 0 and ready,
            'up: an app VM on template debian-desktop with a display ready'
            ' (qemu-ga answers, sys-net\'s lease held)', r.stdout[-3000:])
    if r.returncode != 0:
        return

    # 3. weston, as the user, in an active logind session on seat0.
    deadline = time.monotonic() + DESKTOP_S
    state = ''
    while time.monotonic() < deadline:
        state = bk('exec', VM, 'systemctl is-active bk-desktop.service;'
                   ' true').stdout.strip()
        if state in ('active', 'failed'):
            break
        time.sleep(3)
    host_s = time.monotonic() - up0
    info = bk('exec', VM, 'ps -o user=,comm= -C weston;'
              # The serial console's autologin is a session of the user's
              # too, without a seat.
              ' s=$(loginctl list-sessions --no-legend | awk \'$4 == "seat0"'
              ' {print $1; exit}\'); loginctl show-session "$s" -p Name'
              ' -p Seat -p Active -p Type -p TTY;'
              ' stat -c "%U %F" /run/user/1000/wayland-0;'
              ' systemctl show -p ActiveEnterTimestampMonotonic'
              ' bk-desktop.service')
    out = info.stdout
    boot_us = re.search(r'ActiveEnterTimestampMonotonic=(\d+)', out)
    t.check(state == 'active' and re.search(r'^user\s+weston$', out, re.M)
            and 'Name=user' in out and 'Seat=seat0' in out and
            'Active=yes' in out and
            'Type=wayland' in out and 'user socket' in out,
            'weston runs as user, in an active logind session (seat0,'
            ' wayland), its socket the user\'s', 'bk-desktop: %s\n%s' % (
                state, out) + bk('exec', VM, 'journalctl -b --no-pager -u'
                                 ' bk-desktop.service | tail -30').stdout)
    if boot_us:
        t.diag('boot to the desktop (weston ready) under TCG: %.1f s of'
               ' the guest\'s clock; %.1f s from up to bk-desktop active on'
               ' the host; ready (qemu-ga, lease) %s s' % (
                   int(boot_us.group(1)) / 1e6, host_s, ready[0]))

    # 4. The screen: weston's background, not the text console. weston
    # is ready once its outputs are up; its shell, a client of its own,
    # draws the background after that (seconds later under TCG).
    deadline = time.monotonic() + DRAWN_S
    before = {}
    while time.monotonic() < deadline:
        before = screenshot(tmp, 'before')
        if before.get('background', 0) > 0.5:
            break
        time.sleep(3)
    t.check(before.get('background', 0) > 0.5 and before['colours'] > 1,
            'virsh screenshot: weston\'s background covers most of the'
            ' screen (%s), not one flat colour (%s colours)' % (
                before.get('size'), before.get('colours')), json.dumps(before))
    t.diag('desktop drawn (the screenshot) %.1f s from up on the host' %
           (time.monotonic() - up0))

    # 5. The browser: its page on the screen.
    r = bk('exec', VM, BROWSER)
    launched = time.monotonic()
    after = {}
    while time.monotonic() - launched < WINDOW_S:
        after = screenshot(tmp, 'after')
        if after.get('magenta', 0) > 0.05:
            break
        time.sleep(5)
    took = time.monotonic() - launched
    who = bk('exec', VM, 'ps -o user=,comm= -C netsurf-gtk')
    t.check(r.returncode == 0 and after.get('magenta', 0) > 0.05 and
            before.get('magenta', 1) == 0 and
            re.search(r'^user\s+netsurf-gtk$', who.stdout, re.M),
            'netsurf-gtk started as the user against a file:// page: its'
            ' window shows the page (%.0f%% of the screen magenta, 0 before)'
            % (100 * after.get('magenta', 0)),
            r.stdout[-800:] + json.dumps(after) + who.stdout +
            bk('exec', VM, 'journalctl -b --no-pager -u bk-browser |'
               ' tail -20').stdout)
    t.diag('browser window on the screen %.0f s after it was started' % took)

    # 6. bulkhead view, not on a terminal: where the display is.
    r = bk('view', VM)
    sock = re.search(r'vnc\+unix://(\S+)', r.stdout)
    st = os.stat(sock.group(1)) if sock and os.path.exists(sock.group(1)) \
        else None
    parent = os.stat(os.path.dirname(sock.group(1))) if st else None
    t.check(r.returncode == 0 and st and (st.st_mode & 0o170000) == 0o140000
            and not parent.st_mode & 0o007,
            'bulkhead view: the VNC socket\'s path, in a directory others'
            ' cannot enter', r.stdout[-600:] + (' dir mode %o' % parent.st_mode
                                                if parent else ''))

    listed = bk('template', 'list', '--json')
    try:
        on = {x['template']: [v['vms'] for v in x['versions'] if v['current']]
              for x in json.loads(listed.stdout)}
    except (ValueError, KeyError, TypeError):
        on = {}
    t.check(on.get('debian-desktop') == [['bkdesk/d-desk']] and 'debian' in on,
            'template list: both templates; debian-desktop\'s current version'
            ' with bkdesk/d-desk on it', listed.stdout[-1500:])

    # 7. down.
    r = bk('down', path)
    t.check(r.returncode == 0 and not [d for d in domains()
                                       if d.startswith('bulkhead-d-')],
            'down: no domain left', r.stdout[-1500:])


def main(argv):
    del argv
    return topology_test(BULKHEAD, 10, 'bk-orch-desk-', NS, OUT_IP, {},
                         steps)


if __name__ == '__main__':
    run_main(main)
