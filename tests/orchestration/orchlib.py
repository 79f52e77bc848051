"""Shared helpers of the bulkhead command's tests (test_bulkhead.py,
test_install.py, test_systemd.py, test_package.py): commands, libvirt's
domains, the "outside" network namespace a driver VM's emulated NIC
joins, a view of installed files, the skeleton of a test without VMs.
"""
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import time

URI = 'qemu:///system'


def sh(*cmd, check=False, timeout=600, env=None, cwd=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout, env=env, cwd=cwd)
    if check and r.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(cmd), r.returncode,
                                                r.stdout[-2000:]))
    return r


def mount_view(cmd, hide=(), overlays=()):
    """CMD as a command line run in a mount namespace of its own (unshare
    -m, nothing leaks out) where each directory of HIDE (that exists and
    is not hidden already) is under an empty read-only tmpfs and each
    (STAGED, PATH) of OVERLAYS lays STAGED over PATH, read-only (overlayfs):
    installed files at the paths compiled into them, the checkout out of
    reach."""
    script = ['set -e']
    for d in hide:
        script.append('if [ -d {0} ] && ! mountpoint -q {0}; then mount -t tmpfs'
                      ' -o ro,mode=0755 bulkhead-hidden {0}; fi'
                      .format(shlex.quote(d)))
    for staged, path in overlays:
        script.append('mount -t overlay -o ro,lowerdir={}:{} bulkhead-installed {}'
                      .format(shlex.quote(staged), shlex.quote(path),
                              shlex.quote(path)))
    script.append('exec "$@"')
    return ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
            '\n'.join(script), 'view', *cmd]


def write_in(directory, name, text):
    """DIRECTORY/NAME, holding TEXT: its path."""
    path = os.path.join(directory, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def root_steps(t, planned, tmp, steps, keep):
    """A test without VMs that needs root: without it, its PLANNED cases
    skipped; with it, each of STEPS (functions of no argument) in turn,
    a failure in one leaving the rest not reached. Ends the TAP plan and
    lets KEEP (vmlib.keep_or_remove) remove TMP, killed too (vmlib.run_main
    unwinds through here). The exit status."""
    try:
        if os.geteuid() != 0:
            for _ in range(planned):
                t.check(True, 'needs root # SKIP not root')
            return 0
        for step in steps:
            step()
    except Exception as ex:  # a failure in a step: the rest is not reached
        t.diag('error: %r' % ex)
    finally:
        t.finish()
        keep(t, tmp)
    return 1 if t.failed else 0


def domains(prefix='bulkhead-'):
    """{name: state} of every libvirt domain with the prefix."""
    r = sh('virsh', '-c', URI, 'list', '--all', '--name')
    out = {}
    for name in r.stdout.split():
        if name.startswith(prefix):
            st = sh('virsh', '-c', URI, 'domstate', name).stdout.strip()
            out[name] = st
    return out


def ensure_libvirtd():
    if sh('pgrep', '-x', 'libvirtd').returncode != 0:
        sh('virtlogd', '-d')
        sh('libvirtd', '-d', check=True)
    for _ in range(100):
        if sh('virsh', '-c', URI, 'version').returncode == 0:
            return True
        time.sleep(0.2)
    return False


def bulkhead_env(tmp, base=None):
    """The environment of a test's bulkhead commands: state and logs in
    TMP (as vmlib.down_topologies and sweep expect), sanitizer reports of
    the command and of its daemon (the link supervisor, whose own output
    goes to a log that down removes) in TMP/san.*."""
    env = dict(os.environ if base is None else base,
               BULKHEAD_STATE_DIR=os.path.join(tmp, 'state'),
               BULKHEAD_LOG_DIR=os.path.join(tmp, 'log'),
               BULKHEAD_DATA_DIR=os.path.join(tmp, 'data'))
    for var in ('ASAN_OPTIONS', 'UBSAN_OPTIONS'):
        if var in env:
            env[var] += ':log_path=' + os.path.join(tmp, 'san')
    return env


def sanitizer_reports(tmp):
    """The reports bulkhead_env's commands wrote, joined (empty: none)."""
    out = ''
    for f in sorted(os.listdir(tmp)):
        if f.startswith('san.'):
            with open(os.path.join(tmp, f)) as r:
                out += r.read()[:3000]
    return out


def test_file(name, size):
    """SIZE bytes derived from NAME, and their sha256."""
    block = hashlib.sha256(name.encode()).digest() * 32768
    data = (block * (size // len(block) + 1))[:size]
    return data, hashlib.sha256(data).hexdigest()


class Outside:
    """An "outside" network: namespace NS with bridge br0 at IP/24 (a
    driver VM's emulated NIC joins it), busybox udhcpd handing out .2 to .20,
    and an HTTP server on port 80 serving FILES ({name: size}) from TMP/www.
    up() returns {name: sha256}; down() stops it all and removes NS."""

    def __init__(self, ns, ip, tmp):
        self.ns, self.ip, self.tmp = ns, ip, tmp
        self.procs = []

    def up(self, files):
        ns, ip, tmp = self.ns, self.ip, self.tmp
        net = ip.rsplit('.', 1)[0]
        sh('ip', 'netns', 'add', ns, check=True)
        sh('ip', '-n', ns, 'link', 'set', 'lo', 'up', check=True)
        sh('ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge', check=True)
        sh('ip', '-n', ns, 'addr', 'add', ip + '/24', 'dev', 'br0', check=True)
        sh('ip', '-n', ns, 'link', 'set', 'br0', 'up', check=True)
        www = os.path.join(tmp, 'www')
        os.makedirs(www, exist_ok=True)
        sums = {}
        for name, size in files.items():
            data, sums[name] = test_file(name, size)
            with open(os.path.join(www, name), 'wb') as f:
                f.write(data)
        conf = os.path.join(tmp, 'udhcpd.conf')
        with open(conf, 'w') as f:
            f.write('start %s.2\nend %s.20\ninterface br0\n'
                    'lease_file %s/leases\npidfile %s/udhcpd.pid\n'
                    'option subnet 255.255.255.0\noption router %s\n'
                    'option dns %s\n' % (net, net, tmp, tmp, ip, ip))
        open(os.path.join(tmp, 'leases'), 'w').close()
        sh('ip', 'netns', 'exec', ns, 'busybox', 'udhcpd', '-S', conf, check=True)
        self.start(['python3', '-m', 'http.server', '--bind', ip, '80'], cwd=www)
        return sums

    def start(self, cmd, cwd=None):
        """CMD in the namespace, logging to TMP/http.log; stopped by down()."""
        with open(os.path.join(self.tmp, 'http.log'), 'a') as log:
            self.procs.append(subprocess.Popen(
                ['ip', 'netns', 'exec', self.ns] + cmd, cwd=cwd, stdout=log,
                stderr=subprocess.STDOUT))

    def down(self):
        for p in self.procs:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            with open(os.path.join(self.tmp, 'udhcpd.pid')) as f:
                os.kill(int(f.read().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        sh('ip', 'netns', 'delete', self.ns)


def sha(text):
    """The first SHA-256 in TEXT (sha256sum's output), or None."""
    m = re.search(r'\b([0-9a-f]{64})\b', text)
    return m.group(1) if m else None


def qemu_pid(domain):
    """The pid of DOMAIN's QEMU (libvirt's pid file), or 0."""
    try:
        with open('/run/libvirt/qemu/%s.pid' % domain) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def topo_status(bk, topology):
    """TOPOLOGY's entry of `bulkhead status --json` (BK runs the command),
    or {}."""
    r = bk('status', '--json')
    try:
        return next(x for x in json.loads(r.stdout)
                    if x['topology'] == topology)
    except (ValueError, StopIteration, KeyError, TypeError):
        return {}


def topology_test(bulkhead, planned, prefix, ns, out_ip, files, steps,
                  prepare=None):
    """The frame of a test that brings topologies up: PLANNED checks
    (one more here: libvirtd, one after: no sanitizer report), a test
    directory (PREFIX...) with the command's state in it, the Outside
    network NS at OUT_IP serving FILES; STEPS(t, tmp, bk, sums, *extra)
    with EXTRA what PREPARE(tmp) returns. Whatever STEPS did, every
    topology it brought up is taken down (also on SIGTERM and SIGINT:
    vmlib.run_main). Returns the exit status."""
    # vmlib is the VM tests' library beside this directory.
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), '..', 'vm'))
    from vmlib import Tap, down_topologies, keep_or_remove, sweep, test_dir
    t = Tap(planned)
    for line in sweep(bulkhead):
        t.diag('swept: ' + line)
    tmp = test_dir(prefix)
    env = bulkhead_env(tmp)
    extra = prepare(tmp) if prepare else ()

    def bk(*args):
        return sh(bulkhead, '--connect', URI, *args, env=env, timeout=900)
    bk.env = env
    outside = None
    try:
        t.check(ensure_libvirtd(), 'libvirtd runs')
        outside = Outside(ns, out_ip, tmp)
        sums = outside.up(files)
        steps(t, tmp, bk, sums, *extra)
    except Exception as ex:  # a failure in a step: the rest is not reached
        t.diag('error: %r' % ex)
    finally:
        for line in down_topologies([bulkhead], tmp):
            t.diag(line)
        if outside:
            outside.down()
        reports = sanitizer_reports(tmp)
        t.check(not reports, 'no sanitizer report', reports)
        t.finish()
        keep_or_remove(t, tmp)
    return 1 if t.failed else 0
