"""Shared helpers of the VM tests (tests/vm/test_*.py): TAP output, guest
consoles, bulkhead-link's control socket, processes.

Guests report on their serial consoles with "BK-RESULT ..." lines (see
guest-os/build-images); results() and find() read them.
"""
import json
import os
import re
import signal
import socket
import subprocess
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Tap:
    """TAP version 12 output: a plan, then one line per check."""

    def __init__(self, planned):
        self.n = 0
        self.failed = 0
        print('1..%d' % planned, flush=True)
        self.planned = planned

    def diag(self, text):
        for line in str(text).splitlines() or ['']:
            print('# ' + line, flush=True)

    def check(self, ok, what, diag=None):
        self.n += 1
        if not ok:
            self.failed += 1
        print('%s %d - %s' % ('ok' if ok else 'not ok', self.n, what), flush=True)
        if diag:
            self.diag(diag)
        return ok

    def finish(self):
        while self.n < self.planned:
            self.check(False, 'not reached (an earlier step failed)')


def clean(text):
    """Console text without escape sequences and control characters."""
    text = re.sub(r'\x1b\[[0-9;?]*[A-Za-z]', '', text)
    return re.sub(r'[^\x09\x0a\x20-\x7e]', '', text)


def tail(path, lines=30):
    try:
        with open(path, 'rb') as f:
            text = clean(f.read().decode('utf-8', 'replace'))
    except FileNotFoundError:
        return ('(no %s: QEMU has not started the guest; it waits for the '
                'vhost-user back end, or failed)' % os.path.basename(path))
    except OSError as e:
        return '(%s)' % e
    if not text.strip():
        return '(%s is empty: the guest printed nothing)' % os.path.basename(path)
    return '\n'.join(text.splitlines()[-lines:])


def console_text(path):
    """A console file's text without control characters ('' if none)."""
    try:
        with open(path, 'rb') as f:
            return clean(f.read().decode('utf-8', 'replace'))
    except OSError:
        return ''


def results(path):
    """The BK-RESULT lines of a console so far, without the prefix."""
    try:
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return []
    return [clean(m.group(1)).strip()
            for m in re.finditer(r'BK-RESULT ([^\r\n]*)', text)]


def find(res, prefix):
    for r in res:
        if r == prefix or r.startswith(prefix + ' '):
            return r
    return None


def link_status(path):
    """bulkhead-link's JSON status from its control socket, or None."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(path)
        data = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data)
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def link_live(state_dir, topo, name):
    """What link NAME of topology TOPO says on its control socket (its path
    from the supervisor's STATE_DIR/TOPO/links.json), or {}: read
    directly, as `bulkhead status` would, without asking every driver VM
    (seconds each) on the way."""
    try:
        with open(os.path.join(state_dir, topo, 'links.json')) as f:
            path = next(lk['control'] for lk in json.load(f)['links']
                        if lk['name'] == name)
    except (OSError, ValueError, StopIteration, KeyError):
        return {}
    return link_status(path) or {}


def side_ok(status, side):
    s = status['sides'][side]
    return s['connected'] and all(q['state'] == 'ok' for q in s['queues'])


def stop(proc, grace=5.0):
    """SIGTERM, then SIGKILL; returns the exit status."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def wait_socket(path, proc, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def image_dir():
    return os.environ.get('BULKHEAD_IMAGE_DIR', '/var/cache/bulkhead/images')


def link_and_images(argv):
    """The bulkhead-link binary and guest-os/build-images, from the command
    line (ARGV[1], ARGV[2]) or their defaults."""
    link_bin = argv[1] if len(argv) > 1 else os.environ.get(
        'BULKHEAD_LINK', os.path.join(ROOT, 'build-test/vmm/bulkhead-link'))
    build_images = argv[2] if len(argv) > 2 else os.path.join(
        ROOT, 'guest-os/build-images')
    return link_bin, build_images


def _on_signal(signum, _frame):
    # SystemExit unwinds through the tests' finally blocks: VMs, links and
    # namespaces are cleaned up on SIGTERM (meson's timeout) too. A second
    # signal must not cut that cleanup short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def run_main(main):
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sys.exit(main(sys.argv))


def app_vm_cmd(images, sock, console, append, mac, mem_mb=256, accel='tcg',
               mtu=1500, queues=1):
    """QEMU for an app-image VM whose one NIC is a vhost-user virtio-net on
    SOCK (memfd shared memory; no MSI-X vectors: vhost-user's notifiers
    crash QEMU 7.2 under TCG with them), APPEND after the console
    settings. queues > 1: that many vCPUs and queue pairs (queues=N,
    mq=on; the link must offer them)."""
    mq = ',queues=%d' % queues if queues > 1 else ''
    return [
        'qemu-system-x86_64', '-M', 'q35', '-accel', accel, '-smp', str(queues),
        '-m', str(mem_mb), '-nodefaults', '-no-user-config', '-no-reboot',
        '-display', 'none', '-monitor', 'none', '-serial', 'file:' + console,
        '-object', 'memory-backend-memfd,id=mem,size=%dM,share=on' % mem_mb,
        '-numa', 'node,memdev=mem',
        '-kernel', os.path.join(images, 'vmlinuz'),
        '-initrd', os.path.join(images, 'app-initramfs.cpio.gz'),
        '-append', 'console=ttyS0 panic=-1 ' + append,
        '-chardev', 'socket,id=c0,path=%s,reconnect=1' % sock,
        '-netdev', 'vhost-user,id=n0,chardev=c0' + mq,
        '-device', 'virtio-net-pci,netdev=n0,mac=%s,host_mtu=%d,vectors=0,'
                   'romfile=%s' % (mac, mtu, ',mq=on' if queues > 1 else ''),
    ]


def kvm_boots(images, tmp):
    """Whether a Linux guest (the app image in IMAGES) gets to /init under
    KVM within 20 s (its console in TMP). /dev/kvm existing is not enough:
    on some hosts the guest hangs in early boot."""
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return False
    console = os.path.join(tmp, 'kvm-probe.console')
    proc = subprocess.Popen(
        ['qemu-system-x86_64', '-M', 'q35', '-accel', 'kvm', '-m', '128',
         '-nodefaults', '-no-user-config', '-no-reboot', '-display', 'none',
         '-monitor', 'none', '-serial', 'file:' + console,
         '-kernel', os.path.join(images, 'vmlinuz'),
         '-initrd', os.path.join(images, 'app-initramfs.cpio.gz'),
         '-append', 'console=ttyS0 panic=-1 bk.role=probe'],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 20
        while time.monotonic() < end and proc.poll() is None:
            if find(results(console), 'init'):
                return True
            time.sleep(0.2)
        return bool(find(results(console), 'init'))
    finally:
        stop(proc, grace=1)


class Agent:
    """Reads a driver VM's agent channel (a unix socket QEMU listens on) in
    a thread; lines are kept with the time they arrived. send() writes to
    it (a configuration update)."""

    def __init__(self, path, proc):
        self.path, self.proc = path, proc
        self.lines = []
        self.lock = threading.Lock()
        self.stopping = False
        self.sock = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        s = None
        while not self.stopping and self.proc.poll() is None:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.path)
                break
            except OSError:
                s.close()
                s = None
                time.sleep(0.05)
        if s is None:
            return
        s.settimeout(0.5)
        self.sock = s
        buf = b''
        with s:
            while not self.stopping:
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b'\n' in buf:
                    line, buf = buf.split(b'\n', 1)
                    with self.lock:
                        self.lines.append((time.monotonic(),
                                           line.decode('ascii', 'replace').strip()))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def first(self, prefix):
        for t, line in self.snapshot():
            if line.startswith(prefix):
                return t, line
        return None

    def send(self, text):
        """TEXT to the VM; False when the channel is not connected."""
        try:
            self.sock.sendall(text.encode())
            return True
        except (AttributeError, OSError):
            return False

    def stop(self):
        self.stopping = True
        self.thread.join(2)


def check(tap, ok, what, why):
    """tap.check with WHY (a function) said only when the check fails."""
    return tap.check(bool(ok), what, None if ok else why())


def qmp(path, *commands):
    """Runs QMP COMMANDS (dicts) in order on the QMP socket at PATH; the
    replies."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    f = s.makefile('rwb')
    f.readline()
    replies = []
    for c in ({'execute': 'qmp_capabilities'},) + commands:
        f.write(json.dumps(c).encode() + b'\n')
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if 'return' in reply or 'error' in reply:
                replies.append(reply)
                break
    s.close()
    return replies[1:]


def wait_line(agent, proc, prefixes, timeout, after=0.0):
    """The first line of AGENT (a driver VM's) after AFTER starting with
    one of PREFIXES; None after TIMEOUT s or when PROC (its QEMU) ended."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for t, line in agent.snapshot():
            if t > after and line.startswith(prefixes):
                return line
        if proc.poll() is not None:
            return None
        time.sleep(0.2)
    return None


def driver_image_built(tap, build_images, image, what, mem_mb):
    """Runs BUILD_IMAGES (guest-os/build-images); checks that driver VM
    IMAGE's initramfs is there (WHAT names the check) and says its size
    and MEM_MB. The image directory, or None after a failed build."""
    t = time.monotonic()
    r = subprocess.run([build_images], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    images = image_dir()
    initrd = os.path.join(images, image + '-initramfs.cpio.gz')
    if not check(tap, r.returncode == 0 and os.path.exists(initrd),
                 'guest images built (%s)' % what,
                 lambda: '%s (%.1f s)\n%s' % (build_images, time.monotonic() - t,
                                              r.stdout.strip())):
        return None
    with open(os.path.join(images, 'manifest.json')) as f:
        part = json.load(f)[image]
    tap.diag('%s initramfs %d bytes (%d unpacked), %d MiB of RAM'
             % (image, os.path.getsize(initrd), part['unpacked_bytes'], mem_mb))
    return images


class Procs:
    """Processes a test starts, each logging to TMP/NAME.log; with NS, a
    command may run in that network namespace (ip netns exec execs it: the
    pid is the command's)."""

    def __init__(self, tmp, ns=None):
        self.tmp, self.ns = tmp, ns
        self.procs = {}

    def path(self, name):
        return os.path.join(self.tmp, name)

    def start(self, name, cmd, netns=False):
        with open(self.path(name + '.log'), 'a') as out:
            if netns:
                cmd = ['ip', 'netns', 'exec', self.ns] + cmd
            self.procs[name] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                                stdout=out, stderr=out)
        return self.procs[name]


def keep_or_remove(tap, tmp):
    """The run's directory stays with BULKHEAD_VM_KEEP=1 (consoles, logs)."""
    if os.environ.get('BULKHEAD_VM_KEEP') == '1':
        tap.diag('kept ' + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


# What a VM test leaves when it is killed past its cleanup (SIGKILL, a
# second timeout): its directory in /tmp (one of these prefixes; an "owner"
# file holds the test's pid), processes naming or working in it (QEMU,
# links, the supervisor, servers), libvirt domains booting from it, and
# network namespaces named bk-...PID.
TEST_DIR_PREFIXES = ('bk-orch-', 'bulkhead-vm-', 'bulkhead-sysnet-',
                     'bulkhead-ltap-', 'bulkhead-ruleset-',
                     'bulkhead-blkbench-', 'bulkhead-sysstorage-',
                     'bulkhead-sysusb-', 'bulkhead-template-')
TEST_NS = re.compile(r'bk-[a-z0-9-]*[a-z-](\d+)')
OWNER = 'owner'


def test_dir(prefix):
    """A VM test's temporary directory, marked with its owner (this pid) so
    that sweep() tells a live run's from a killed one's."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.chmod(tmp, 0o755)  # QEMU's user walks to the sockets
    with open(os.path.join(tmp, OWNER), 'w') as f:
        f.write('%d\n' % os.getpid())
    return tmp


def _alive(pid):
    return os.path.exists('/proc/%d' % pid)


def _procs_in(paths):
    """Pids whose command line or working directory names one of PATHS."""
    out = []
    for pid in (int(p) for p in os.listdir('/proc') if p.isdigit()):
        if pid == os.getpid():
            continue
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
            cwd = os.readlink('/proc/%d/cwd' % pid)
        except OSError:
            continue
        if any(p in cmd or cwd == p or cwd.startswith(p + '/') for p in paths):
            out.append(pid)
    return out


def remove_dir(path):
    """Kills the processes naming or working in PATH (a test's directory)
    and removes it: what a guard does when its test died before cleaning
    up. Returns the pids killed."""
    pids = _procs_in([path])
    _kill_all(pids)
    shutil.rmtree(path, ignore_errors=True)
    return pids


def _dir_stale(path):
    try:
        with open(os.path.join(path, OWNER)) as f:
            return not _alive(int(f.read().strip()))
    except (OSError, ValueError):
        # Made before owners were recorded: stale unless in use.
        return not _procs_in([path])


def _kill_all(pids):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        for _ in range(30):
            pids = [p for p in pids if _alive(p) and not _zombie(p)]
            if not pids:
                return
            time.sleep(0.1)


def _zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except (OSError, IndexError):
        return True


def down_topologies(bulkhead, tmp, uri='qemu:///system'):
    """`bulkhead down` of every topology a test run brought up with its
    state in TMP/state (logs TMP/log), from the copy of the file up kept
    there: its domains, supervisor, links, taps and the namespaces up made,
    even after an up cut short. BULKHEAD: the command, a list. Returns one
    line per topology."""
    state = os.path.join(tmp, 'state')
    env = dict(os.environ, BULKHEAD_STATE_DIR=state,
               BULKHEAD_LOG_DIR=os.path.join(tmp, 'log'),
               BULKHEAD_DATA_DIR=os.path.join(tmp, 'data'))
    out = []
    for name in sorted(os.listdir(state)) if os.path.isdir(state) else []:
        applied = os.path.join(state, name, name + '.yaml')
        if os.path.isfile(applied):
            r = subprocess.run(bulkhead + ['--connect', uri, 'down', applied],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, timeout=300, cwd='/')
            out.append('down %s: exit %d %s' % (applied, r.returncode,
                                                r.stdout[-500:]))
    return out


def sweep(bulkhead=None, uri='qemu:///system'):
    """Removes what earlier, killed VM test runs left (TEST_DIR_PREFIXES,
    TEST_NS): with BULKHEAD, `bulkhead down` of each topology in a stale
    directory's state first (domains, supervisor, links, taps, the
    namespaces up made); then domains booting from a stale or vanished
    directory, processes naming one, namespaces whose pid is gone, the
    directories. Returns what it removed, one line each."""
    tmp = tempfile.gettempdir()
    stale = [os.path.join(tmp, d) for d in sorted(os.listdir(tmp))
             if d.startswith(TEST_DIR_PREFIXES) and
             os.path.isdir(os.path.join(tmp, d))]
    stale = [d for d in stale if _dir_stale(d)]
    removed = []
    run = lambda *c, **kw: subprocess.run(c, stdout=subprocess.PIPE,  # noqa: E731
                                          stderr=subprocess.STDOUT, text=True,
                                          **kw)
    for d in stale if bulkhead else []:
        removed += down_topologies([bulkhead], d, uri)
    r = run('virsh', '-c', uri, 'list', '--all', '--name')
    for dom in r.stdout.split() if r.returncode == 0 else []:
        if not dom.startswith('bulkhead-'):
            continue
        xml = run('virsh', '-c', uri, 'dumpxml', dom).stdout
        dirs = set(re.findall(r'(%s/(?:%s)[^/<\'"]+)' % (
            re.escape(tmp), '|'.join(map(re.escape, TEST_DIR_PREFIXES))), xml))
        if dirs and any(d in stale or not os.path.isdir(d) for d in dirs):
            run('virsh', '-c', uri, 'destroy', dom)
            run('virsh', '-c', uri, 'undefine', '--keep-nvram', dom)
            removed.append('domain ' + dom)
    pids = _procs_in(stale) if stale else []
    _kill_all(pids)
    removed += ['process %d' % p for p in pids]
    r = run('ip', 'netns', 'list')
    for line in r.stdout.splitlines():
        name = (line.split() or [''])[0]
        m = TEST_NS.fullmatch(name)
        if m and not _alive(int(m.group(1))):
            inside = run('ip', 'netns', 'pids', name).stdout.split()
            _kill_all([int(p) for p in inside])
            run('ip', 'netns', 'delete', name)
            removed.append('namespace ' + name)
    for d in stale:
        shutil.rmtree(d, ignore_errors=True)
        removed.append('directory ' + d)
    return removed


def vm_test(argv, planned, prefix, make_run, steps, after=None):
    """A VM test's frame: PLANNED checks, a temporary directory (PREFIX...)
    and MAKE_RUN(tmp)'s process table, cleaned up whatever STEPS(tap, run,
    link_bin, build_images) did; AFTER(tap, run) reports on the cleanup.
    Returns the exit status."""
    link_bin, build_images = link_and_images(argv)
    tap = Tap(planned)
    for line in sweep():
        tap.diag('an earlier run\'s leftover removed: ' + line)
    tmp = test_dir(prefix)
    run = make_run(tmp)
    try:
        steps(tap, run, link_bin, build_images)
    finally:
        run.cleanup()
        tap.finish()
        if after:
            after(tap, run)
        keep_or_remove(tap, tmp)
    return 1 if tap.failed else 0


def eui64(prefix, mac):
    """The address SLAAC gives MAC in the /64 PREFIX (RFC 4291 appendix A:
    the universal/local bit flipped, ff:fe in the middle)."""
    b = bytes.fromhex(mac.replace(':', ''))
    iid = bytes([b[0] ^ 2]) + b[1:3] + b'\xff\xfe' + b[3:]
    p = socket.inet_pton(socket.AF_INET6, prefix)
    return socket.inet_ntop(socket.AF_INET6, p[:8] + iid)
