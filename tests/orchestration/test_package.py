#!/usr/bin/env python3
"""The Debian package (docs/install.md "Debian package"), without VMs:

    test_package.py SOURCE_DIR VERSION

Builds it with tests/run-package (`./run package`: dpkg-buildpackage of
debian/, debhelper's meson build) into a directory of the test's, then:

- `dpkg-deb -I`: package bulkhead, meson's project version, amd64, and
  Depends declaring what it runs with (qemu-system-x86,
  libvirt-daemon-system, libcyaml1, libseccomp2, libvirt0, adduser);
- `dpkg-deb -c`: the command, link worker, image builder, sys-net's files,
  demo, man pages, completion and the unit under Debian's prefixes
  (/usr, /lib/systemd/system), /var/cache/bulkhead and /var/lib/bulkhead
  (root's alone), /etc/bulkhead; nothing under /usr/local;
- lintian (tests/install-deps installs it) reports no error or warning;
- unpacked (`dpkg-deb -x`) into a scratch root laid over / in a mount
  namespace where the checkout is hidden (orchlib.mount_view): the
  package's command names no path of the checkout or its build and knows
  the install paths; `/usr/bin/bulkhead --version` prints the version;
  `check` of a small topology passes, and one that does not check is
  refused naming its value; `man -w` finds both pages; the packaged unit
  passes `systemd-analyze verify`; `enable --root` of the scratch root
  links the unit there (/lib/systemd/system/bulkhead@.service);
- the maintainer scripts parse (sh -n) and postinst makes the user the
  link workers run as.

Needs root (mount namespaces; the package build runs as root here).
"""
import os
import re
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import Tap, keep_or_remove, run_main, test_dir  # noqa: E402
from orchlib import mount_view, root_steps, sh, write_in  # noqa: E402

TOPO = '''version: 1
name: pkg
accel: tcg
driver-vms:
  - name: pk-net
    kind: net
    devices:
      - emulated: e1000e
        netns: bk-pk-outside
        bridge: br0
        mac: "52:54:00:7a:00:02"
app-vms:
  - name: pk-app
    net: pk-net
    mac: "%s"
    ip: 10.205.1.2/24
'''
DEPENDS = ['qemu-system-x86', 'libvirt-daemon-system', 'libcyaml1',
           'libseccomp2', 'libvirt0', 'libnbd0', 'adduser']
EXECUTABLES = ['usr/bin/bulkhead', 'usr/libexec/bulkhead/bulkhead-link',
               'usr/libexec/bulkhead/bulkhead-blk',
               'usr/libexec/bulkhead/bulkhead-input',
               'usr/share/bulkhead/driver-vms/usb/init',
               'usr/share/bulkhead/driver-vms/usb/bk-request',
               'usr/share/bulkhead/guest-os/build-images',
               'usr/share/bulkhead/guest-os/template-debian/usr/lib/bulkhead/'
               'bk-private',
               'usr/share/bulkhead/demo',
               'usr/share/bulkhead/driver-vms/common/bk-agent',
               'usr/share/bulkhead/driver-vms/net/init',
               'usr/share/bulkhead/driver-vms/net/bk-config']
FILES = ['usr/share/bulkhead/demo.yaml',
         'usr/share/bulkhead/guest-os/driver_image.py',
         'usr/share/bulkhead/driver-vms/net/image.py',
         'usr/share/bulkhead/driver-vms/usb/image.py',
         'usr/share/bulkhead/guest-os/sysnet_kernel.py',
         'usr/share/bulkhead/guest-os/template_image.py',
         'usr/share/bulkhead/guest-os/template-desktop/etc/systemd/system/'
         'bk-desktop.service',
         'usr/share/bulkhead/guest-os/sysnet-kernel.config',
         'usr/share/man/man8/bulkhead.8.gz',
         'usr/share/man/man5/bulkhead-topology.5.gz',
         'usr/share/bash-completion/completions/bulkhead',
         'lib/systemd/system/bulkhead@.service',
         'usr/share/doc/bulkhead/copyright']
DIRS = {'var/cache/bulkhead': 'drwxr-xr-x', 'var/lib/bulkhead': 'drwx------',
        'etc/bulkhead': 'drwxr-xr-x'}
PLAN = 14


def contents(deb):
    """{path without ./ and trailing /: mode string} of dpkg-deb -c."""
    r = sh('dpkg-deb', '-c', deb, check=True)
    out = {}
    for line in r.stdout.splitlines():
        fields = line.split(None, 5)
        if len(fields) == 6:
            path = fields[5].split(' -> ')[0]
            out[path[2:].rstrip('/')] = fields[0]
    return out


def field(info, name):
    m = re.search(r'^ %s: (.*)$' % re.escape(name), info, re.M)
    return m.group(1) if m else None


class Package:
    def __init__(self, argv):
        self.source = os.path.abspath(argv[1])
        self.version = argv[2]
        self.tmp = test_dir('bk-orch-package-')
        self.out = os.path.join(self.tmp, 'out')
        self.root = os.path.join(self.tmp, 'root')
        self.deb = None

    def run(self, *cmd):
        """CMD with the package's files laid over / and the checkout
        hidden."""
        overlays = [(os.path.join(self.root, 'usr'), '/usr'),
                    (os.path.join(self.root, 'lib/systemd/system'),
                     '/lib/systemd/system')]
        return sh(*mount_view(cmd, hide=(self.source,), overlays=overlays),
                  cwd='/', timeout=120)

    def write(self, name, text):
        return write_in(self.tmp, name, text)


def build(t, p):
    # A group of its own: killed (a suite's timeout, SIGTERM), the test
    # takes dpkg-buildpackage and its compilers down with it.
    proc = subprocess.Popen([os.path.join(p.source, 'tests', 'run-package')],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True,
                            env=dict(os.environ, PACKAGE_DIR=p.out))
    try:
        out, _ = proc.communicate(timeout=1100)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lines = out.strip().splitlines()
    p.deb = lines[-1] if lines else ''
    t.check(proc.returncode == 0 and os.path.isfile(p.deb) and
            os.path.basename(p.deb) == 'bulkhead_%s_amd64.deb' % p.version,
            './run package: bulkhead_%s_amd64.deb' % p.version,
            out[-3000:])


def control(t, p):
    info = sh('dpkg-deb', '-I', p.deb, check=True).stdout
    t.check(field(info, 'Package') == 'bulkhead' and
            field(info, 'Version') == p.version and
            field(info, 'Architecture') == 'amd64',
            'dpkg-deb -I: bulkhead %s amd64' % p.version, info[:1500])
    depends = [d.strip().split()[0] for d in
               (field(info, 'Depends') or '').split(',') if d.strip()]
    missing = [d for d in DEPENDS if d not in depends]
    t.check(not missing, 'Depends declares %s' % ', '.join(DEPENDS),
            'missing %s in %s' % (missing, depends))

    files = contents(p.deb)
    bad = [f for f in EXECUTABLES if not files.get(f, '').startswith('-rwxr-xr-x')]
    bad += [f for f in FILES if not files.get(f, '').startswith('-rw-r--r--')]
    t.check(not bad, 'dpkg-deb -c: the command, link worker, image builder, '
            'sys-net\'s files, demo, man pages, completion, the unit in '
            '/lib/systemd/system', 'missing or wrong mode: %s' % bad)
    bad = {d: files.get(d) for d, mode in DIRS.items() if files.get(d) != mode}
    local = [f for f in files if f.startswith('usr/local')]
    t.check(not bad and not local,
            '/var/cache/bulkhead, /var/lib/bulkhead (root\'s alone), '
            '/etc/bulkhead; nothing under /usr/local', '%s %s' % (bad, local))
    if not shutil.which('lintian'):
        t.check(False, 'lintian is installed (tests/install-deps)')
    else:
        changes = p.deb[:-len('.deb')] + '.changes'
        r = sh('lintian', '--tag-display-limit', '0', changes, timeout=300)
        tags = [l for l in r.stdout.splitlines() if re.match(r'[EW]: ', l)]
        t.check(not tags, 'lintian: no error or warning', '\n'.join(tags) or
                r.stdout[-1000:])


def installed(t, p):
    sh('dpkg-deb', '-x', p.deb, p.root, check=True)
    # What ships names no path of the checkout or of the package's build
    # (its debug information went to the dbgsym package).
    with open(os.path.join(p.root, 'usr/bin/bulkhead'), 'rb') as f:
        data = f.read()
    named = [x for x in (p.source, p.out) if x.encode() in data]
    # The link workers' directory (bulkhead-link, bulkhead-blk), as a
    # whole string.
    knows = [x for x in ('/usr/libexec/bulkhead\0',
                         '/usr/share/bulkhead/guest-os/build-images')
             if x.encode() not in data]
    t.check(not named and not knows, 'the packaged command names no path of '
            'the checkout or its build, and names the install paths',
            'names %s, lacks %s' % (named, knows))
    r = p.run('/usr/bin/bulkhead', '--version')
    t.check(r.returncode == 0 and r.stdout == 'bulkhead %s\n' % p.version,
            'installed /usr/bin/bulkhead --version, the checkout hidden',
            r.stdout)
    good = p.write('pkg.yaml', TOPO % '52:54:00:7a:01:01')
    r = p.run('/usr/bin/bulkhead', 'check', good)
    t.check(r.returncode == 0, 'installed check of a topology', r.stdout[-1500:])
    bad = p.write('bad.yaml', TOPO % '52:54:00:7a:01:zz')
    r = p.run('/usr/bin/bulkhead', 'check', bad)
    t.check(r.returncode == 2 and "bad.yaml:15:" in r.stdout and
            "'52:54:00:7a:01:zz'" in r.stdout,
            'installed check refuses a bad file: exit 2, its line and value',
            r.stdout[-1500:])
    r = p.run('sh', '-c', 'man -w bulkhead && man -w 5 bulkhead-topology')
    t.check(r.returncode == 0 and
            '/usr/share/man/man8/bulkhead.8.gz' in r.stdout and
            '/usr/share/man/man5/bulkhead-topology.5.gz' in r.stdout,
            'man -w finds bulkhead(8) and bulkhead-topology(5)', r.stdout)
    r = p.run('systemd-analyze', 'verify', 'bulkhead@pkg.service')
    t.check(r.returncode == 0 and not r.stdout.strip(),
            'the packaged bulkhead@.service: systemd-analyze verify says '
            'nothing', r.stdout[-1500:])
    r = p.run('/usr/bin/bulkhead', 'enable', '--root', p.root, good)
    link = os.path.join(p.root, 'etc/systemd/system/multi-user.target.wants',
                        'bulkhead@pkg.service')
    t.check(r.returncode == 0 and os.path.islink(link) and
            os.readlink(link) == '/lib/systemd/system/bulkhead@.service' and
            os.path.isfile(os.path.join(p.root, 'etc/bulkhead/pkg.yaml')),
            'installed enable --root: /etc/bulkhead/pkg.yaml and the link to '
            '/lib/systemd/system/bulkhead@.service', r.stdout[-1500:])


def scripts(t, p):
    ctl = os.path.join(p.tmp, 'control')
    sh('dpkg-deb', '-e', p.deb, ctl, check=True)
    bad = [s for s in ('postinst', 'postrm')
           if sh('sh', '-n', os.path.join(ctl, s)).returncode != 0]
    with open(os.path.join(ctl, 'postinst')) as f:
        postinst = f.read()
    t.check(not bad and re.search(r'adduser --system --group .*bulkhead',
                                  postinst, re.S),
            'postinst and postrm parse; postinst makes the system user '
            'bulkhead', '%s\n%s' % (bad, postinst))


def main(argv):
    t = Tap(PLAN)
    p = Package(argv)
    return root_steps(t, PLAN, p.tmp, [
        lambda: build(t, p), lambda: control(t, p), lambda: installed(t, p),
        lambda: scripts(t, p)], keep_or_remove)


if __name__ == '__main__':
    run_main(main)
