#!/usr/bin/env python3
"""A topology under systemd, without VMs (docs/orchestration.md "Under
systemd"):

    test_systemd.py BUILD_DIR SOURCE_DIR PREFIX BINDIR UNITDIR

`meson install --destdir D` of BUILD_DIR, then, in a mount namespace where
D's PREFIX (and UNITDIR, when outside it) is laid over the real one and
the checkout is hidden (orchlib.mount_view):

- the installed bulkhead@.service: `systemd-analyze verify` of an
  instance says nothing and exits 0; what it runs (the installed command,
  up and down of /etc/bulkhead/NAME.yaml, the supervisor as main process
  through its pid file) and its ordering (after libvirtd, network-online,
  libvirt-guests; wanted by multi-user.target); verify is seen to fail on
  a unit with a misspelt key and on one naming a missing command;
- `bulkhead enable --root D FILE`: the copy in D/etc/bulkhead/NAME.yaml
  and systemctl's link in multi-user.target.wants to the template; again
  with an edited file: the copy follows;
- enable refuses a file that does not check (exit 2, the file's line and
  the offending value) and leaves nothing behind, and refuses --now where
  no systemd runs or with --root;
- `disable --root D NAME` and `disable --root D FILE`: the link gone, the
  copy kept; a name that is none refused, naming it.

Needs root (mount namespaces) and systemd's tools (tests/install-deps).
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import Tap, keep_or_remove, run_main, test_dir  # noqa: E402
from orchlib import mount_view, sh  # noqa: E402

TOPO = '''version: 1
name: %s
accel: tcg
driver-vms:
  - name: sd-net
    kind: net
    devices:
      - emulated: e1000e
        netns: bk-sd-outside
        bridge: br0
        mac: "52:54:00:79:00:02"
app-vms:
  - name: sd-app
    net: sd-net
    mac: "%s"
    ip: 10.204.1.2/24
'''
PLAN = 21


class Staged:
    def __init__(self, argv):
        (self.build, self.source) = [os.path.abspath(a) for a in argv[1:3]]
        self.prefix, bindir, self.unitdir = argv[3:6]
        self.tmp = test_dir('bk-orch-systemd-')
        self.dest = os.path.join(self.tmp, 'dest')
        self.bulkhead = os.path.join(self.prefix, bindir, 'bulkhead')
        self.unit = os.path.join(self.unitdir, 'bulkhead@.service')
        overlays = [(self.dest + self.prefix, self.prefix)]
        if not (self.unitdir + '/').startswith(self.prefix + '/'):
            overlays.append((self.dest + self.unitdir, self.unitdir))
        self.overlays = overlays

    def run(self, *cmd):
        """CMD with the installed files in place, the checkout hidden."""
        r = sh(*mount_view(cmd, hide=(self.source, self.build),
                           overlays=self.overlays), cwd='/', timeout=120)
        return r

    def bk(self, *args):
        return self.run(self.bulkhead, *args)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path


def unit_lines(text):
    """{key: [values]} of a unit file, sections ignored."""
    keys = {}
    for line in text.splitlines():
        if '=' in line and not line.startswith('#'):
            k, v = line.split('=', 1)
            keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def wants_link(s, name):
    return os.path.join(s.dest, 'etc/systemd/system/multi-user.target.wants',
                        'bulkhead@%s.service' % name)


def verify(s, t):
    r = s.run('systemd-analyze', 'verify', 'bulkhead@lab.service')
    t.check(r.returncode == 0 and not r.stdout.strip(),
            'systemd-analyze verify bulkhead@lab.service: exit 0, nothing said',
            r.stdout[-2000:])
    with open(s.dest + s.unit) as f:
        text = f.read()
    keys = unit_lines(text)
    conf = '/etc/bulkhead/%i.yaml'
    t.check(keys.get('ExecStart') == ['%s up %s' % (s.bulkhead, conf)] and
            keys.get('ExecStop') == ['%s down %s' % (s.bulkhead, conf)] and
            keys.get('ExecReload') == ['%s up %s' % (s.bulkhead, conf)],
            'the unit runs the installed command: up, down, up again to reload',
            text)
    # up returns once everything is ready and leaves the supervisor: the
    # main process, named by the file it holds under its lock.
    t.check(keys.get('Type') == ['forking'] and
            keys.get('PIDFile') == ['/run/bulkhead/%i/supervisor.pid'],
            'Type=forking, the supervisor\'s pid file the main process', text)
    after = ' '.join(keys.get('After', [])).split()
    wants = ' '.join(keys.get('Wants', [])).split()
    t.check({'libvirtd.service', 'network-online.target',
             'libvirt-guests.service'} <= set(after) and
            'network-online.target' in wants and
            'libvirtd.service' not in keys.get('Requires', []) and
            keys.get('WantedBy') == ['multi-user.target'],
            'ordered after libvirtd, libvirt-guests and network-online (so '
            'stopped before them), wanted by multi-user.target', text)
    # Verify is no formality: a misspelt key, a command that is not there.
    bad = os.path.join(s.tmp, 'bad')
    os.mkdir(bad)
    cases = [('Tpye=forking', text.replace('Type=forking', 'Tpye=forking')),
             ('a missing command', text.replace(s.bulkhead + ' up',
                                                s.bulkhead + '-gone up'))]
    for what, body in cases:
        path = os.path.join(bad, 'bulkhead@.service')
        with open(path, 'w') as f:
            f.write(body)
        r = s.run('systemd-analyze', 'verify', path)
        t.check(r.returncode != 0 or r.stdout.strip(),
                'verify objects to a unit with %s' % what, r.stdout[-1000:])


def enable_disable(s, t):
    good = s.write('lab.yaml', TOPO % ('lab', '52:54:00:79:01:01'))
    r = s.bk('enable', '--root', s.dest, good)
    copy = os.path.join(s.dest, 'etc/bulkhead/lab.yaml')
    link = wants_link(s, 'lab')
    t.check(r.returncode == 0, 'enable --root D lab.yaml: exit 0', r.stdout)
    t.check(os.path.isfile(copy) and open(copy).read() == open(good).read(),
            'the file copied to D/etc/bulkhead/lab.yaml', copy)
    t.check(os.path.islink(link) and os.readlink(link) == s.unit,
            'bulkhead@lab.service enabled: its link in multi-user.target.wants '
            'to the template', '%s -> %s' % (
                link, os.readlink(link) if os.path.islink(link) else None))
    edited = TOPO % ('lab', '52:54:00:79:01:07')
    with open(good, 'w') as f:
        f.write(edited)
    r = s.bk('enable', '--root', s.dest, good)
    t.check(r.returncode == 0 and open(copy).read() == edited,
            'enable again with an edited file: the copy follows', r.stdout)

    # Refused: nothing of it left.
    bad_mac = s.write('bad.yaml', TOPO % ('badmac', '52:54:zz:00:00:01'))
    r = s.bk('enable', '--root', s.dest, bad_mac)
    t.check(r.returncode == 2 and 'bad.yaml:15:' in r.stdout and
            "'52:54:zz:00:00:01'" in r.stdout,
            'enable of a file that does not check: exit 2, its line and the '
            'offending value', r.stdout)
    wrong_net = s.write('wrong.yaml', (TOPO % ('wrongnet', '52:54:00:79:01:02'))
                        .replace('net: sd-net', 'net: sd-nowhere'))
    r = s.bk('enable', '--root', s.dest, wrong_net)
    t.check(r.returncode == 2 and "'sd-nowhere'" in r.stdout,
            'enable of a file naming a driver VM it lacks: exit 2, naming it',
            r.stdout)
    left = [p for p in (os.path.join(s.dest, 'etc/bulkhead', n + '.yaml')
                        for n in ('badmac', 'wrongnet')) if os.path.exists(p)]
    left += [p for p in (wants_link(s, 'badmac'), wants_link(s, 'wrongnet'))
             if os.path.lexists(p)]
    t.check(not left, 'refused files leave no copy and no unit enabled',
            str(left))
    r = s.bk('enable', '--now', '--root', s.dest, good)
    t.check(r.returncode == 2 and '--now with --root' in r.stdout,
            'enable --now --root: refused (a unit starts only on the running '
            'system)', r.stdout)
    if os.path.exists('/run/systemd/system'):
        t.check(True, 'enable --now without systemd # SKIP systemd runs here')
    else:
        r = s.bk('enable', '--now', good)
        t.check(r.returncode == 2 and 'systemd does not run here' in r.stdout,
                'enable --now without systemd: refused, bulkhead up named '
                'instead', r.stdout)

    r = s.bk('disable', '--root', s.dest, 'lab')
    t.check(r.returncode == 0 and not os.path.lexists(link) and
            os.path.isfile(copy),
            'disable --root D lab: the link gone, /etc/bulkhead/lab.yaml kept',
            r.stdout)
    r = s.bk('enable', '--root', s.dest, copy)
    t.check(r.returncode == 0 and os.path.islink(link) and
            'copied' not in r.stdout,
            'enable of /etc/bulkhead/lab.yaml itself: enabled, no copy',
            r.stdout)
    r = s.bk('disable', '--root', s.dest, good)
    t.check(r.returncode == 0 and not os.path.lexists(link),
            'disable --root D FILE: its name\'s unit disabled', r.stdout)
    r = s.bk('disable', '--root', s.dest, 'Lab/../x')
    t.check(r.returncode == 2 and "'Lab/../x'" in r.stdout,
            'disable of what is neither a file nor a name: exit 2, naming it',
            r.stdout)


def main(argv):
    t = Tap(PLAN)
    s = Staged(argv)
    try:
        if os.geteuid() != 0:
            for _ in range(PLAN):
                t.check(True, 'test_systemd # SKIP needs root (mount namespaces)')
            return 0
        tool = shutil.which('systemd-analyze') and shutil.which('systemctl')
        t.check(tool, 'systemd-analyze and systemctl are installed '
                '(tests/install-deps)')
        r = sh('meson', 'install', '-C', s.build, '--no-rebuild', '--quiet',
               '--destdir', s.dest)
        t.check(r.returncode == 0 and os.path.isfile(s.dest + s.unit),
                'meson install --destdir: %s' % s.unit, r.stdout[-2000:])
        verify(s, t)
        enable_disable(s, t)
    except Exception as ex:  # a failure in a step: the rest is not reached
        t.diag('error: %r' % ex)
    finally:
        t.finish()
        keep_or_remove(t, s.tmp)
    return 1 if t.failed else 0


if __name__ == '__main__':
    run_main(main)
