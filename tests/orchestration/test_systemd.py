#!/usr/bin/env python3
"""A topology under systemd, without VMs (docs/orchestration.md "Under
systemd"):

    test_systemd.py BUILD_DIR SOURCE_DIR PREFIX BINDIR UNITDIR BULKHEAD

`meson install --destdir D` of BUILD_DIR, then, in a mount namespace where
D's PREFIX (and UNITDIR, when outside it) is laid over the real one and
the checkout is hidden (orchlib.mount_view):

- the installed bulkhead@.service: `systemd-analyze verify` of an
  instance says nothing and exits 0; what it runs (the installed command,
  up and down of /etc/bulkhead/NAME.yaml, the supervisor as main process
  through its pid file) and its ordering (after libvirtd, network-online,
  libvirt-guests; wanted by multi-user.target), BULKHEAD_TOPOLOGY=%i
  (check, as up, refuses a file of another topology under it); verify is
  seen to fail on a unit with a misspelt key and on one naming a missing
  command;
- `bulkhead enable --root D FILE`: the copy in D/etc/bulkhead/NAME.yaml
  and systemctl's link in multi-user.target.wants to the template; again
  with an edited file: the copy follows;
- enable refuses a file that does not check (exit 2, the file's line and
  the offending value) and leaves nothing behind, and refuses --now where
  no systemd runs or with --root;
- `disable --root D NAME` and `disable --root D FILE`: the link gone, the
  copy kept; a name that is none refused, naming it;
- the supervisor's log in the journal: BULKHEAD (the build's command) runs
  `up` as the unit would, against libvirt's in-process test driver with
  images that fail verification, so that up starts the supervisor and its
  link, then fails at the first VM and rolls back, with no VM booted;
  with JOURNAL_STREAM naming up's stderr (a pipe standing in for the
  journal), the supervisor's lines come out there; with it naming another
  stream, they do not (they go to supervisor.log, as without systemd).

Needs root (mount namespaces) and systemd's tools (tests/install-deps).
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import Tap, keep_or_remove, run_main, test_dir  # noqa: E402
from orchlib import mount_view, root_steps, sh, write_in  # noqa: E402

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
PLAN = 24
# What up runs against in journal(): a topology whose first VM cannot
# start (the images are empty files with no manifest).
JOURNAL_TOPO = '''version: 1
name: sdj
accel: tcg
driver-vms:
  - name: sj-net
    kind: net
    devices:
      - emulated: e1000e
        netns: bk-sj-out%d
        bridge: br0
        mac: "52:54:00:7b:00:02"
app-vms:
  - name: sj-app
    net: sj-net
    mac: "52:54:00:7b:01:01"
    ip: 10.206.1.2/24
'''


class Staged:
    def __init__(self, argv):
        (self.build, self.source) = [os.path.abspath(a) for a in argv[1:3]]
        self.prefix, bindir, self.unitdir = argv[3:6]
        self.build_bulkhead = os.path.abspath(argv[6])
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
        return write_in(self.tmp, name, text)


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
            keys.get('PIDFile') == ['/run/bulkhead/%i/supervisor.pid'] and
            keys.get('Environment') == ['BULKHEAD_TOPOLOGY=%i'],
            'Type=forking, the supervisor\'s pid file the main process, the '
            'instance\'s name for up to match', text)
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

    # As the unit runs it: the file must be the instance's topology.
    r = s.run('env', 'BULKHEAD_TOPOLOGY=other', s.bulkhead, 'check', copy)
    r2 = s.run('env', 'BULKHEAD_TOPOLOGY=lab', s.bulkhead, 'check', copy)
    t.check(r.returncode == 2 and "name 'lab' is not 'other'" in r.stdout and
            r2.returncode == 0,
            'under bulkhead@other, a file of topology lab is refused (up '
            'checks as check does); under bulkhead@lab it passes',
            r.stdout + r2.stdout)

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


def up_into_pipe(s, tmp, same_stream):
    """up's output, run with stdout and stderr a pipe and JOURNAL_STREAM
    naming that pipe (SAME_STREAM) or another."""
    r, w = os.pipe()
    other_r, other_w = os.pipe()
    st = os.fstat(w if same_stream else other_w)
    img = os.path.join(tmp, 'img')
    os.makedirs(img, exist_ok=True)
    for f in ('vmlinuz', 'sysnet-vmlinuz', 'sysnet-initramfs.cpio.gz',
              'app-initramfs.cpio.gz'):
        open(os.path.join(img, f), 'w').close()
    topo = os.path.join(tmp, 'sdj.yaml')
    with open(topo, 'w') as f:
        f.write(JOURNAL_TOPO % os.getpid())
    env = dict(os.environ, JOURNAL_STREAM='%d:%d' % (st.st_dev, st.st_ino),
               BULKHEAD_STATE_DIR=os.path.join(tmp, 'state'),
               BULKHEAD_LOG_DIR=os.path.join(tmp, 'log'),
               BULKHEAD_LIB_DIR=os.path.join(tmp, 'lib'))
    proc = subprocess.Popen([s.build_bulkhead, '--connect', 'test:///default',
                             '--images', img, 'up', topo], stdout=w, stderr=w,
                            stdin=subprocess.DEVNULL, env=env)
    os.close(w)
    os.close(other_w)
    chunks = []
    with os.fdopen(r, 'rb') as f:
        # Until every writer is gone: up, the supervisor, its link.
        for chunk in iter(lambda: f.read(65536), b''):
            chunks.append(chunk)
    os.close(other_r)
    return proc.wait(), b''.join(chunks).decode(errors='replace')


def journal(s, t):
    for same in (True, False):
        tmp = os.path.join(s.tmp, 'journal-%s' % ('same' if same else 'other'))
        os.mkdir(tmp)
        rc, out = up_into_pipe(s, tmp, same)
        lines = [l for l in out.splitlines() if ' supervisor: ' in l]
        rolled = rc == 1 and 'link supervisor and its links' in out
        if same:
            t.check(rolled and any('supervisor: running for' in l for l in lines)
                    and any('started bulkhead-link' in l for l in lines),
                    'JOURNAL_STREAM naming up\'s stderr: the supervisor logs '
                    'there (the journal under bulkhead@.service)', out[-3000:])
        else:
            t.check(rolled and not lines,
                    'JOURNAL_STREAM naming another stream: the supervisor logs '
                    'to its file, not to up\'s stderr', out[-3000:])


def installed(s, t):
    tool = shutil.which('systemd-analyze') and shutil.which('systemctl')
    t.check(tool, 'systemd-analyze and systemctl are installed '
            '(tests/install-deps)')
    r = sh('meson', 'install', '-C', s.build, '--no-rebuild', '--quiet',
           '--destdir', s.dest)
    t.check(r.returncode == 0 and os.path.isfile(s.dest + s.unit),
            'meson install --destdir: %s' % s.unit, r.stdout[-2000:])


def main(argv):
    t = Tap(PLAN)
    s = Staged(argv)
    return root_steps(t, PLAN, s.tmp, [
        lambda: installed(s, t), lambda: verify(s, t),
        lambda: enable_disable(s, t), lambda: journal(s, t)], keep_or_remove)


if __name__ == '__main__':
    run_main(main)
