#!/usr/bin/env python3
"""The installed bulkhead stands alone: nothing of the checkout is used.

    test_install.py BUILD_DIR SOURCE_DIR PREFIX BINDIR LIBEXECDIR DATADIR

`meson install --destdir D` of BUILD_DIR; then every installed command runs
in a mount namespace of its own (unshare -m) where an empty read-only tmpfs
hides SOURCE_DIR (and BUILD_DIR, when outside it) and D's PREFIX is laid
over PREFIX (a read-only overlay), so the installed files sit at the paths
compiled into them and the checkout is out of reach. The link supervisor
and the links that `up` starts stay in that namespace. Checks:

- the files are where docs/install.md says, and the installed command's
  loaded data names no path of the checkout or the build;
- the installed image builder, pointed at the image cache (through a
  scratch directory of links to it, so nothing in the cache changes), finds
  everything it reads and judges the cached images current (same cache
  key: nothing rebuilt);
- check, up (sys-net with an emulated e1000e into an outside namespace with
  a DHCP server, one app VM), a download through it, status, and down of a
  small topology, with the installed link binary (its /proc/PID/exe) and
  the installed supervisor; after down nothing is left. up runs as
  bulkhead@.service runs it (docs/orchestration.md "Under systemd"): its
  output a file standing in for the journal, named by JOURNAL_STREAM; it
  returns with the supervisor, the unit's main process, named by its pid
  file and logging there.

Needs root, libvirt and the images (BULKHEAD_IMAGE_DIR, default
/var/cache/bulkhead/images; built by ./run test before the VM suites).
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import Tap, down_topologies, keep_or_remove, run_main, sweep, test_dir  # noqa: E402
from orchlib import (URI, Outside, bulkhead_env, domains, ensure_libvirtd,  # noqa: E402
                     mount_view, sanitizer_reports, sh)

IMAGE_DIR = os.environ.get('BULKHEAD_IMAGE_DIR', '/var/cache/bulkhead/images')
NS = 'bk-t-inst%d' % os.getpid()
OUT_IP = '192.168.78.1'
SMALL = 1 << 20
TOPO = '''version: 1
name: bkinstall
accel: tcg
driver-vms:
  - name: t-inet
    kind: net
    devices:
      - emulated: e1000e
        netns: %s
        bridge: br0
        mac: "52:54:00:78:00:02"
app-vms:
  - name: t-iapp
    net: t-inet
    mac: "52:54:00:78:01:01"
    ip: 10.203.1.2/24
''' % NS
# The sys-net files build-images copies into its image (SYSNET_FILES).
SYSNET_FILES = ['bk-health', 'bk-config', 'bk-lib', 'bk-ruleset',
                'bk-update', 'init', 'udhcpc-uplink']

class Installed:
    def __init__(self, argv):
        (self.build, self.source, self.prefix, bindir, libexecdir,
         datadir) = [os.path.abspath(a) if i < 2 else a
                     for i, a in enumerate(argv[1:7])]
        self.tmp = test_dir('bk-orch-install-')
        self.dest = os.path.join(self.tmp, 'dest')
        self.bulkhead = os.path.join(self.prefix, bindir, 'bulkhead')
        self.link = os.path.join(self.prefix, libexecdir, 'bulkhead-link')
        self.data = os.path.join(self.prefix, datadir)
        self.env = bulkhead_env(self.tmp, {
            k: v for k, v in os.environ.items() if k != 'BULKHEAD_WORKER_DIR'})

    def staged(self, path):
        """Where PATH (an install path) is in DESTDIR."""
        return self.dest + path

    def hidden(self, *cmd):
        """CMD as it runs with the checkout hidden and the installed files
        in place: a command line."""
        return mount_view(cmd, hide=(self.source, self.build),
                          overlays=[(self.dest + self.prefix, self.prefix)])

    def run(self, *cmd, timeout=900, env=None):
        """CMD, hidden(); from "/", so no working directory leads into the
        checkout."""
        return sh(*self.hidden(*cmd), timeout=timeout, env=env or self.env,
                  cwd='/')

    def bk(self, *args, timeout=900):
        return self.run(self.bulkhead, '--connect', URI, *args, timeout=timeout)


def exe_of(pid):
    try:
        return os.readlink('/proc/%d/exe' % pid)
    except OSError:
        return None


# The image directory's own apt state for the firmware packages (their
# versions are part of the cache key); copied, as a rebuild updates it.
FIRMWARE_APT = '.apt-non-free-firmware'


def linked_images(src, dst):
    """DST: a directory of links to SRC's images, so that a rebuild there
    replaces links, not SRC's files; its own copy of SRC's FIRMWARE_APT.
    Templates (templates/NAME/VERSION): a directory of its own for each
    NAME, its versions linked and its `current` copied, so that a new
    version is built there, not into SRC."""
    os.mkdir(dst)
    for name in os.listdir(src):
        if name == FIRMWARE_APT:
            shutil.copytree(os.path.join(src, name), os.path.join(dst, name),
                            symlinks=True)
        elif name == 'templates':
            for tpl in os.listdir(os.path.join(src, name)):
                s, d = os.path.join(src, name, tpl), os.path.join(dst, name, tpl)
                os.makedirs(d)
                for entry in os.listdir(s):
                    if os.path.islink(os.path.join(s, entry)):
                        os.symlink(os.readlink(os.path.join(s, entry)),
                                   os.path.join(d, entry))
                    elif not entry.startswith('.'):
                        os.symlink(os.path.join(s, entry), os.path.join(d, entry))
        elif not name.startswith('.'):
            os.symlink(os.path.join(src, name), os.path.join(dst, name))
    return dst


def steps(t, i):
    r = sh('meson', 'install', '-C', i.build, '--no-rebuild', '--quiet',
           '--destdir', i.dest)
    t.check(r.returncode == 0, 'meson install --destdir', r.stdout[-2000:])
    want = [i.bulkhead, i.link, os.path.join(i.data, 'demo'),
            os.path.join(i.data, 'guest-os', 'build-images'),
            os.path.join(i.data, 'guest-os', 'template-debian', 'usr', 'lib',
                         'bulkhead', 'bk-private')] + \
        [os.path.join(i.data, 'driver-vms', 'net', f) for f in SYSNET_FILES] + \
        [os.path.join(i.data, 'driver-vms', 'common', f)
         for f in ('bk-agent', 'bk-modalias')]
    files = want + [os.path.join(i.data, f) for f in (
        'demo.yaml', 'guest-os/sysnet_kernel.py', 'guest-os/sysnet-kernel.config',
        'guest-os/image_util.py', 'guest-os/debian_apt.py',
        'guest-os/initramfs.py', 'guest-os/app_image.py',
        'guest-os/driver_image.py', 'guest-os/template_image.py',
        'guest-os/template-desktop/etc/xdg/weston/weston.ini',
        'driver-vms/net/image.py')]
    missing = [f for f in files if not os.path.isfile(i.staged(f))]
    not_exec = [f for f in want if not os.access(i.staged(f), os.X_OK)]
    t.check(not missing and not not_exec,
            'installed: bulkhead in bin, bulkhead-link in libexec/bulkhead, the '
            'image builder, sys-net\'s files and the demo in share/bulkhead',
            'missing %s, not executable %s' % (missing, not_exec))
    # What a package ships (debug information stripped) names no path of
    # the checkout or of the build.
    stripped = os.path.join(i.tmp, 'bulkhead.stripped')
    sh('objcopy', '--strip-debug', i.staged(i.bulkhead), stripped, check=True)
    with open(stripped, 'rb') as f:
        data = f.read()
    named = [p for p in (i.source, i.build) if p.encode() in data]
    t.check(not named, 'the installed command names no path of the checkout '
            'or the build', str(named))

    # The image builder: the checkout's first, on links to the cache (the
    # cache is current for this checkout under ./run test; when another
    # checkout built it, the images are rebuilt into the scratch directory
    # and the cache is left alone), then the installed one on links to
    # what that left: current, so the same cache key, nothing rebuilt.
    ours = linked_images(IMAGE_DIR, os.path.join(i.tmp, 'images-checkout'))
    r = sh(os.path.join(i.source, 'guest-os', 'build-images'), timeout=1200,
           env=dict(i.env, BULKHEAD_IMAGE_DIR=ours))
    installed = linked_images(ours, os.path.join(i.tmp, 'images-installed'))
    r2 = i.run(os.path.join(i.data, 'guest-os', 'build-images'), timeout=300,
               env=dict(i.env, BULKHEAD_IMAGE_DIR=installed))
    t.check(r.returncode == 0 and r2.returncode == 0 and
            'cached images are current' in r2.stdout,
            'the installed image builder finds what it reads and judges the '
            'checkout\'s images current (the same cache key)',
            r.stdout[-800:] + '\n' + r2.stdout[-1500:])

    outside = Outside(NS, OUT_IP, i.tmp)
    i.outside = outside
    sums = outside.up({'small.bin': SMALL})
    path = os.path.join(i.tmp, 'install.yaml')
    with open(path, 'w') as f:
        f.write(TOPO)
    r = i.bk('check', path)
    t.check(r.returncode == 0, 'installed check', r.stdout[-1500:])
    # up as bulkhead@.service runs it: its output the journal (a file
    # standing in, named by JOURNAL_STREAM), returning with the supervisor
    # left running as the unit's main process (its PIDFile).
    journal = os.path.join(i.tmp, 'journal')
    with open(journal, 'w') as out:
        st = os.fstat(out.fileno())
        rc = subprocess.run(
            i.hidden(i.bulkhead, '--connect', URI, 'up', path), cwd='/',
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=900,
            env=dict(i.env, JOURNAL_STREAM='%d:%d' % (st.st_dev, st.st_ino),
                     BULKHEAD_TOPOLOGY='bkinstall')).returncode
    with open(journal) as f:
        logged = f.read()
    t.check(rc == 0, 'installed up, as the unit runs it', logged[-3000:])
    state = os.path.join(i.env['BULKHEAD_STATE_DIR'], 'bkinstall')
    try:
        with open(os.path.join(state, 'supervisor.pid')) as f:
            main_pid = int(f.read())
    except (OSError, ValueError):
        main_pid = 0
    t.check(main_pid and exe_of(main_pid) == i.bulkhead and
            'supervisor: running for %s' % state in logged and
            not os.path.exists(os.path.join(state, 'supervisor.log')),
            'up returned with the supervisor running: its pid file names the '
            'installed bulkhead, its log went to the journal (no '
            'supervisor.log)', 'pid %s exe %s\n%s' % (
                main_pid, exe_of(main_pid) if main_pid else None,
                logged[-2000:]))
    doms = domains('bulkhead-t-i')
    t.check(doms == {'bulkhead-t-inet': 'running', 'bulkhead-t-iapp': 'running'},
            'both domains run', str(doms))
    r = i.bk('exec', 't-iapp', 'wget -q -O - http://%s/small.bin | sha256sum'
             % OUT_IP)
    t.check(r.returncode == 0 and sums['small.bin'] in r.stdout,
            't-iapp downloads from outside through sys-net, byte-exact',
            r.stdout[-1000:])
    r = i.bk('status', '--json')
    try:
        st = [x for x in json.loads(r.stdout) if x['topology'] == 'bkinstall'][0]
    except (ValueError, IndexError, KeyError, TypeError):
        st = {}
    links = [l.get('pid') for l in st.get('links', []) if l.get('running')]
    exes = {exe_of(p) for p in links}
    sup = exe_of(st.get('supervisor_pid') or 0)
    t.check(links and exes == {i.link} and sup == i.bulkhead,
            'the links run the installed bulkhead-link, the supervisor the '
            'installed bulkhead', 'links %s %s, supervisor %s\n%s' % (
                links, exes, sup, r.stdout[-1500:]))
    r = i.bk('down', path)
    left = sh('pgrep', '-f', 'bulkhead.*' +
              re.escape(i.env['BULKHEAD_STATE_DIR'])).stdout.split()
    t.check(r.returncode == 0 and not domains('bulkhead-t-i') and
            not os.path.exists(state) and not left,
            'installed down: no domain, state or process left',
            '%s\n%s %s' % (r.stdout[-1500:], domains('bulkhead-t-i'), left))
    reports = sanitizer_reports(i.tmp)
    t.check(not reports, 'no sanitizer report', reports)


def main(argv):
    t = Tap(13)
    for line in sweep(os.path.join(argv[1], 'orchestration', 'bulkhead')):
        t.diag('an earlier run\'s leftover removed: ' + line)
    i = Installed(argv)
    i.outside = None
    try:
        t.check(ensure_libvirtd(), 'libvirtd runs (started by the harness if not)')
        steps(t, i)
    except Exception as ex:  # a failure in a step: the rest is not reached
        t.diag('error: %r' % ex)
    finally:
        # Also reached on SIGTERM and SIGINT (run_main).
        for line in down_topologies(i.hidden(i.bulkhead), i.tmp):
            t.diag(line)
        if domains('bulkhead-t-i'):
            i.bk('down', os.path.join(i.tmp, 'install.yaml'))
        if i.outside:
            i.outside.down()
        t.finish()
        keep_or_remove(t, i.tmp)
    return 1 if t.failed else 0


if __name__ == '__main__':
    run_main(main)
