#!/usr/bin/env python3
"""The storage benchmark of issue 18: the same guest, fio on its
virtio-blk disk, under two back ends, alternating A B A B A B, the median
of RUNS for each figure:

  A  QEMU's own virtio-blk-pci on a raw file on the host (cache=none,
     aio=native when the file system takes O_DIRECT, else writeback with
     aio=threads);
  B  vhost-user-blk-pci served by bulkhead-blk (confined, as the
     supervisor starts it) over NBD from nbdkit's file plugin on the same
     file (cache=none with A's cache=none: neither keeps the disk's data
     in the host's page cache), over a unix socket.

  C  the same bulkhead-blk, its NBD server the sys-storage driver VM
     (driver-vms/storage/: QEMU's emulated NVMe over a sparse host file,
     an LVM thin volume, nbdkit on a virtio-serial port, 1 vCPU, 128 MiB)
     as the supervisor wires it: the whole path of issue 18. The volume
     is filled with the same bytes as A's file once (NBD writes), then
     sys-storage boots afresh for each run (its pool activated).

The guest
(blk_guest.py: the app VM's kernel and modules, fio from Debian) runs
4 KiB random reads at queue depth 1 and 16, 1 MiB sequential reads and
writes (depth 4), each RAMP s unmeasured then RUNTIME s, libaio with
O_DIRECT on /dev/vda, and prints fio's JSON on its console. One VM per
run, 1 vCPU, the same memory (a shared memfd, which vhost-user needs) in
all three. Then bulkhead-blk's instructions per request (blk_callgrind.py).
Prints the table: the median (min-max) of each figure for A and B, B/A
and the issue's goal. Nothing is asserted.

Usage: blk_compare.py [--build DIR] [--runs 3] [--runtime 15] [--ramp 3]
                      [--disk-mib 512] [--mem-mib 1024] [--accel auto]
                      [--quiet-wait 600] [--no-callgrind] [--keep]
Before each run it waits (up to --quiet-wait s) until no other QEMU runs
and other processes use less than 5 % of a core; what they used during
each run is printed ("others").
It boots VMs: run it alone (flock -o /tmp/bulkhead-vm-suite.lock ...).
--accel auto uses KVM when a guest boots under it (vmlib.kvm_boots),
else TCG. A guard process removes the run's directory and every process
in it if this script dies without cleaning up (even by SIGKILL)."""
import argparse
import ctypes
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'vm'))
sys.dont_write_bytecode = True
import blk_callgrind  # noqa: E402
import blk_guest  # noqa: E402
from compare import wait_no_vm  # noqa: E402
from vmlib import (Agent, image_dir, kvm_boots, link_status,  # noqa: E402
                   remove_dir, run_main, stop, sweep, tail, test_dir,
                   wait_line, wait_socket)

# (key, what, unit, goal B/A from the issue)
METRICS = (('randread-4k-qd1', '4K random read QD1', 'IOPS', 0.5),
           ('randread-4k-qd16', '4K random read QD16', 'IOPS', 0.5),
           ('read-1m', '1M sequential read', 'MiB/s', 0.3),
           ('write-1m', '1M sequential write', 'MiB/s', 0.1))
CONFIGS = ('A', 'B', 'C')
NAMES = {'A': 'QEMU virtio-blk', 'B': 'bulkhead-blk', 'C': 'via sys-storage'}
# C's driver VM: as the topology's default for a storage driver VM.
STORAGE_MEM_MIB = 128
STORAGE_READY_S = 180
VOLUME = 'bench'
NBD_IO = os.path.join(ROOT, 'tests', 'vm', 'nbd_io.py')
QUEUE_SIZE = 256    # virtio-blk-pci's default, set on both devices
LIBC = ctypes.CDLL(None, use_errno=True)


def figures(fio):
    """{metric: value} from fio's JSON: IOPS for the random reads,
    MiB/s for the sequential jobs; and the QD1 mean completion latency."""
    jobs = {j['jobname']: j for j in fio['jobs']}
    out = {}
    for key, _what, unit, _goal in METRICS:
        j = jobs[key]
        side = j['write'] if key.startswith('write') else j['read']
        out[key] = side['iops'] if unit == 'IOPS' else side['bw_bytes'] / 2**20
        if j.get('error'):
            raise RuntimeError('fio job %s: error %s' % (key, j['error']))
    # Submission to completion as fio sees it (clat): the device's part
    # of a request; under TCG the guest's own work per request is the
    # rest of 1 / IOPS.
    out['qd1-lat-us'] = jobs['randread-4k-qd1']['read']['clat_ns']['mean'] / 1000
    return out


def console_fio(console):
    """fio's JSON between the guest's BK-FIO-BEGIN and BK-FIO-END."""
    with open(console, 'rb') as f:
        text = f.read().decode('utf-8', 'replace').replace('\r', '')
    b, e = text.find('BK-FIO-BEGIN\n'), text.find('\nBK-FIO-END')
    if b < 0 or e < b:
        return None
    return json.loads(text[b + len('BK-FIO-BEGIN\n'):e])


def cpu_seconds(pid):
    """utime + stime of PID (all threads), or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, IndexError, ValueError):
        return None


def machine_busy():
    """Busy CPU seconds of the whole machine so far."""
    v = [int(x) for x in open('/proc/stat').readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf('SC_CLK_TCK')


def die_with_parent():
    """Children die with this script (SIGKILL on its death): QEMU and
    nbdkit. bulkhead-blk drops it when it changes its user; the guard
    takes care of it."""
    LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Run:
    """One configuration's VM, its back end, their logs in the run's
    directory."""

    def __init__(self, args, tmp, cfg, n, accel, cache, initrd):
        self.args, self.tmp, self.cfg, self.n = args, tmp, cfg, n
        self.accel, self.cache, self.initrd = accel, cache, initrd
        self.procs = {}
        self.console = os.path.join(tmp, 'run%d-%s.console' % (n, cfg))

    def log(self, name):
        return open(os.path.join(self.tmp, 'run%d-%s.%s.log'
                                 % (self.n, self.cfg, name)), 'w')

    def start(self, name, cmd, **kw):
        with self.log(name) as out:
            self.procs[name] = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, **kw)
        return self.procs[name]

    def qemu_cmd(self, disk_args):
        mem = self.args.mem_mib
        return ['qemu-system-x86_64', '-M', 'q35', '-accel', self.accel,
                '-smp', '1', '-m', str(mem), '-nodefaults', '-no-user-config',
                '-no-reboot', '-display', 'none', '-monitor', 'none',
                '-serial', 'file:' + self.console,
                '-object', 'memory-backend-memfd,id=mem,size=%dM,share=on' % mem,
                '-numa', 'node,memdev=mem',
                '-kernel', os.path.join(self.args.images, 'vmlinuz'),
                '-initrd', self.initrd,
                '-append', 'console=ttyS0 panic=-1 loglevel=1'] + disk_args

    def storage_vm(self):
        """C's sys-storage booted to READY; the path of its volume's
        port (a unix socket QEMU listens on)."""
        port = os.path.join(self.tmp, 'vol.sock')
        agent = os.path.join(self.tmp, 'agent.sock')
        config = os.path.join(self.tmp, 'storage.config')
        nvme = os.path.join(self.tmp, 'nvme.raw')
        for p in (port, agent):
            if os.path.exists(p):
                os.unlink(p)
        if not os.path.exists(nvme):
            # The volume, the pool's metadata and LVM's own room.
            with open(nvme, 'wb') as f:
                f.truncate((self.args.disk_mib + 128) << 20)
        with open(config, 'w') as f:
            f.write('pool-warn-percent 99\nvolume %s %d\n'
                    % (VOLUME, self.args.disk_mib))
        images = self.args.images
        vm = self.start('sysstorage', [
            'qemu-system-x86_64', '-M', 'q35', '-accel', self.accel,
            '-smp', '1', '-m', str(STORAGE_MEM_MIB), '-nodefaults',
            '-no-user-config', '-no-reboot', '-display', 'none',
            '-monitor', 'none', '-serial', 'file:' + os.path.join(
                self.tmp, 'run%d-C.storage.console' % self.n),
            '-kernel', os.path.join(images, 'sysstorage-vmlinuz'),
            '-initrd', os.path.join(images, 'sysstorage-initramfs.cpio.gz'),
            '-append', 'console=ttyS0 panic=-1 quiet',
            '-fw_cfg', 'name=opt/bulkhead/config,file=' + config,
            '-drive', 'file=%s,if=none,id=disk,format=raw,cache=none,'
                      'aio=native' % nvme if self.cache == 'none' else
                      'file=%s,if=none,id=disk,format=raw' % nvme,
            '-device', 'nvme,drive=disk,serial=bk-bench',
            '-device', 'virtio-serial-pci,id=vser',
            '-chardev', 'socket,id=agent,path=%s,server=on,wait=off' % agent,
            '-device', 'virtserialport,bus=vser.0,chardev=agent,'
                       'name=org.bulkhead.agent',
            '-chardev', 'socket,id=vol,path=%s,server=on,wait=off' % port,
            '-device', 'virtserialport,bus=vser.0,chardev=vol,'
                       'name=org.bulkhead.volume.' + VOLUME],
            preexec_fn=die_with_parent)
        self.agent = Agent(agent, vm)
        state = wait_line(self.agent, vm, ('READY', 'ERROR'), STORAGE_READY_S)
        if not (state or '').startswith('READY'):
            raise RuntimeError('run %d C: sys-storage said %r; console:\n%s'
                               % (self.n, state, tail(os.path.join(
                                   self.tmp, 'run%d-C.storage.console'
                                   % self.n))))
        filled = os.path.join(self.tmp, 'volume-filled')
        if not os.path.exists(filled):
            # A's bytes: reads then cost what they cost on A's file, not
            # a thin volume's unprovisioned zeros.
            r = subprocess.run([NBD_IO, port, 'write', '0',
                                os.path.join(self.tmp, 'disk.raw')],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=1800)
            if r.returncode != 0:
                raise RuntimeError('filling the volume: ' + r.stdout[-1000:])
            open(filled, 'w').close()
        return port

    def back_end(self):
        """B's nbdkit (C's sys-storage) and bulkhead-blk; the QEMU
        arguments of the disk."""
        disk = os.path.join(self.tmp, 'disk.raw')
        if self.cfg == 'A':
            aio = 'native' if self.cache == 'none' else 'threads'
            return ['-drive', 'file=%s,if=none,id=d0,format=raw,cache=%s,aio=%s'
                    % (disk, self.cache, aio),
                    '-device', 'virtio-blk-pci,drive=d0,num-queues=1,'
                    'queue-size=%d' % QUEUE_SIZE]
        nbd = os.path.join(self.tmp, 'nbd.sock')
        vu = os.path.join(self.tmp, 'blk.sock')
        self.control = os.path.join(self.tmp, 'blk-control.sock')
        for p in (nbd, vu, self.control):
            if os.path.exists(p):
                os.unlink(p)
        if self.cfg == 'C':
            nbd = self.storage_vm()
        else:
            cache = ['cache=none'] if self.cache == 'none' else []
            nbdkit = self.start('nbdkit', ['nbdkit', '-f', '-U', nbd, 'file',
                                           disk] + cache,
                                preexec_fn=die_with_parent)
            if not wait_socket(nbd, nbdkit, 20):
                raise RuntimeError('nbdkit did not listen')
        # As the supervisor starts it (orchestration/kinds/storage): as
        # root, confining itself (its own uid, seccomp, no capabilities).
        blk = self.start('blk', [
            os.path.join(self.args.build, 'vmm', 'bulkhead-blk'), '--socket', vu,
            '--nbd', nbd, '--serial', 'bench', '--control', self.control,
            '--name', 'bench'])
        if not wait_socket(self.control, blk, 20):
            raise RuntimeError('bulkhead-blk did not start: ' +
                               tail(os.path.join(self.tmp, 'run%d-%s.blk.log'
                                                 % (self.n, self.cfg))))
        return ['-chardev', 'socket,id=c0,path=' + vu,
                '-device', 'vhost-user-blk-pci,chardev=c0,num-queues=1,'
                'queue-size=%d' % QUEUE_SIZE]

    def go(self, timeout):
        """Boots the guest and waits for it to power off; returns the
        run's figures and CPU times."""
        disk_args = self.back_end()
        # From here: sys-storage's boot and the volume's filling are not
        # the run's.
        busy0, t0, times0 = machine_busy(), time.monotonic(), os.times()
        servers0 = {name: cpu_seconds(proc.pid) or 0
                    for name, proc in self.procs.items()}
        qemu = self.start('qemu', self.qemu_cmd(disk_args),
                          preexec_fn=die_with_parent)
        try:
            qemu.wait(timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError('run %d %s: no result in %d s; console:\n%s'
                               % (self.n, self.cfg, timeout, tail(self.console)))
        took = time.monotonic() - t0
        fio = console_fio(self.console)
        if fio is None:
            raise RuntimeError('run %d %s: no fio output; console:\n%s'
                               % (self.n, self.cfg, tail(self.console)))
        res = figures(fio)
        res['seconds'] = took
        # QEMU's CPU time: what the one child reaped meanwhile added.
        times1 = os.times()
        res['qemu_cpu'] = ours = (times1.children_user + times1.children_system -
                                  times0.children_user - times0.children_system)
        if self.cfg != 'A':
            st = link_status(self.control) or {}
            res['blk_requests'] = st.get('requests')
            res['blk_bytes'] = (st.get('bytes_read', 0) +
                                st.get('bytes_written', 0))
            for name in ('blk', 'nbdkit', 'sysstorage'):
                if name in self.procs:
                    now = cpu_seconds(self.procs[name].pid)
                    res[name + '_cpu'] = (None if now is None else
                                          now - servers0.get(name, 0))
                    ours += res[name + '_cpu'] or 0
        res['others_cpu_share'] = max(0.0, (machine_busy() - busy0 - ours) / took)
        return res

    def stop(self):
        for name in ('qemu', 'blk', 'nbdkit', 'sysstorage'):
            stop(self.procs.get(name), grace=5)
        if getattr(self, 'agent', None):
            self.agent.stop()


def run_config(args, tmp, cfg, n, accel, cache, initrd, timeout):
    r = Run(args, tmp, cfg, n, accel, cache, initrd)
    try:
        return r.go(timeout)
    finally:
        r.stop()


def guard(tmp):
    """A process that removes TMP and every process in it once this
    script's end of its pipe closes, whatever ended the script."""
    code = ('import sys; sys.path.insert(0, %r); sys.stdin.read(); '
            'import vmlib; vmlib.remove_dir(%r)'
            % (os.path.join(ROOT, 'tests', 'vm'), tmp))
    return subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE,
                            start_new_session=True)


def make_disk(path, mib):
    """MIB MiB of pseudo-random bytes (not sparse: every read reaches the
    file's blocks)."""
    block = os.urandom(1 << 20)
    with open(path, 'wb') as f:
        for i in range(mib):
            f.write(block[i % 4096:] + block[:i % 4096])
        f.flush()
        os.fsync(f.fileno())


def direct_io_works(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    except OSError:
        return False
    os.close(fd)
    return True


def ensure_images(images):
    if all(os.path.isfile(os.path.join(images, f))
           for f in ('vmlinuz', 'app-initramfs.cpio.gz', 'sysstorage-vmlinuz',
                     'sysstorage-initramfs.cpio.gz')):
        return
    subprocess.run([os.path.join(ROOT, 'guest-os', 'build-images'), '--quiet'],
                   check=True, stdout=subprocess.DEVNULL)


def fmt(values, digits):
    med = statistics.median(values)
    return '%.*f (%.*f-%.*f)' % (digits, med, digits, min(values), digits,
                                 max(values))


def report(args, results, accel, cache, disk_info, cg, took):
    print('# storage benchmark (issue 18): fio in the guest on /dev/vda, '
          'O_DIRECT, %s; %d runs alternating A B, median (min-max)'
          % (blk_guest.IOENGINE, args.runs))
    print('# guest: 1 vCPU, %d MiB (memfd, shared), %s, kernel %s; %d s per job '
          'after %d s ramp; disk %d MiB raw file, pseudo-random contents'
          % (args.mem_mib, accel.upper(), disk_info.get('kernel', '?'),
             args.runtime, args.ramp, args.disk_mib))
    print('# A: virtio-blk-pci, cache=%s aio=%s, queue-size %d; guest sees %s'
          % (cache, 'native' if cache == 'none' else 'threads', QUEUE_SIZE,
             disk_info.get('A', '?')))
    print('# B: vhost-user-blk-pci, queue-size %d -> bulkhead-blk (confined) -> '
          'NBD (unix socket) -> nbdkit file%s; guest sees %s'
          % (QUEUE_SIZE, ' cache=none' if cache == 'none' else '',
             disk_info.get('B', '?')))
    print('# C: the same bulkhead-blk -> NBD over a virtio-serial port -> '
          'sys-storage (TCG, 1 vCPU, %d MiB: emulated NVMe, LVM thin volume, '
          'nbdkit); guest sees %s' % (STORAGE_MEM_MIB, disk_info.get('C', '?')))
    print('# took %d s' % took)
    w = 26
    print('%-*s %22s %22s %22s %6s %6s %6s' % (
        w, 'figure', 'A ' + NAMES['A'], 'B ' + NAMES['B'], 'C ' + NAMES['C'],
        'B/A', 'C/A', 'goal'))
    for key, what, unit, goal in METRICS:
        a, b, c = ([r[key] for r in results[cfg]] for cfg in CONFIGS)
        digits = 0 if unit == 'IOPS' else 1
        rb = statistics.median(b) / statistics.median(a)
        rc = statistics.median(c) / statistics.median(a)
        print('%-*s %22s %22s %22s %6.2f %6.2f %6s %s' % (
            w, what + ' ' + unit, fmt(a, digits), fmt(b, digits),
            fmt(c, digits), rb, rc, '>=%.1f' % goal,
            'met' if min(rb, rc) >= goal else 'MISSED'))
    a, b, c = ([r['qd1-lat-us'] for r in results[cfg]] for cfg in CONFIGS)
    print('%-*s %22s %22s %22s %6.2f %6.2f' % (
        w, 'QD1 fio clat mean us', fmt(a, 0), fmt(b, 0), fmt(c, 0),
        statistics.median(b) / statistics.median(a),
        statistics.median(c) / statistics.median(a)))
    print('# per run: seconds, host CPU s (QEMU; bulkhead-blk, nbdkit or '
          'sys-storage\'s QEMU), others\' CPU (share of a core)')
    for cfg in CONFIGS:
        for i, r in enumerate(results[cfg], 1):
            extra = ''
            if cfg != 'A':
                # For all four jobs together: most of the bytes are the
                # sequential jobs', most of the requests the random ones'.
                server = 'nbdkit' if cfg == 'B' else 'sysstorage'
                extra = ('; bulkhead-blk %.2f s (%s requests, %.1f GiB), '
                         '%s %.2f s' % (r['blk_cpu'] or 0,
                                        r.get('blk_requests'),
                                        r.get('blk_bytes', 0) / 2**30,
                                        'nbdkit' if cfg == 'B' else
                                        'sys-storage',
                                        r.get(server + '_cpu') or 0))
            print('#   run %d %s: %.0f s, QEMU %.1f s%s; others %.2f' % (
                i, cfg, r['seconds'], r['qemu_cpu'], extra,
                r['others_cpu_share']))
    if cg:
        print('instructions/request, bulkhead-blk (callgrind), 4K read: QD1 %.0f, '
              'QD16 %.0f' % (cg['per_request'][1], cg['per_request'][16]))
        memset = sum(v for k, v in cg['top'] if 'memset' in k)
        print('#   of which libc memset (libnbd zeroing the read buffer; '
              'callgrind counts each byte of rep stosb): %.0f' % memset)
        print('#   by function at QD1 (self, per request):')
        for name, ir in cg['top']:
            print('#   %8.0f  %s' % (ir, name))
        print('#   for context: bulkhead-link forwards a 64 B frame in 359 '
              '(docs/performance.md; in-process, no system calls)')


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--build', default=os.path.join(ROOT, 'build-release'))
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--runtime', type=int, default=15)
    p.add_argument('--ramp', type=int, default=3)
    p.add_argument('--disk-mib', type=int, default=512)
    p.add_argument('--mem-mib', type=int, default=1024)
    p.add_argument('--accel', default='auto', choices=('auto', 'tcg', 'kvm'))
    p.add_argument('--images', default=image_dir())
    p.add_argument('--quiet-wait', type=int, default=600)
    p.add_argument('--no-callgrind', action='store_true')
    p.add_argument('--keep', action='store_true')
    args = p.parse_args(argv[1:])
    args.build = os.path.abspath(args.build)
    for tool in ('fio', 'nbdkit', 'qemu-system-x86_64', 'valgrind'):
        if not shutil.which(tool):
            sys.exit('blk_compare: %s missing (tests/install-deps)' % tool)
    t0 = time.monotonic()
    for line in sweep():
        print('# an earlier run\'s leftover removed: ' + line, file=sys.stderr)
    ensure_images(args.images)
    tmp = test_dir('bulkhead-blkbench-')
    guardian = None if args.keep else guard(tmp)
    try:
        return measure(args, tmp, t0)
    finally:
        if args.keep:
            print('# kept ' + tmp, file=sys.stderr)
        else:
            remove_dir(tmp)
            guardian.stdin.close()
            guardian.wait()


def measure(args, tmp, t0):
    initrd = os.path.join(tmp, 'bench-initramfs.cpio.gz')
    blk_guest.build(args.images, initrd, args.runtime, args.ramp, tmp)
    disk = os.path.join(tmp, 'disk.raw')
    make_disk(disk, args.disk_mib)
    cache = 'none' if direct_io_works(disk) else 'writeback'
    accel = args.accel
    if accel == 'auto':
        accel = 'kvm' if kvm_boots(args.images, tmp) else 'tcg'
    print('# %s, cache=%s, guest image %d MiB' % (
        accel, cache, os.path.getsize(initrd) >> 20), file=sys.stderr, flush=True)
    # Boot, 4 jobs, fio's output; under TCG the boot takes most of a
    # minute.
    timeout = 240 + len(blk_guest.JOBS) * (args.runtime + args.ramp) * 2
    results = {c: [] for c in CONFIGS}
    disk_info = {}
    for n in range(1, args.runs + 1):
        for cfg in CONFIGS:
            # Each run starts on a quiet machine (no other VM, others
            # below 5 % of a core), waiting up to --quiet-wait s for it;
            # what others used during the run is in the table.
            if not wait_no_vm(args.quiet_wait):
                print('# note: the machine was still busy before run %d %s'
                      % (n, cfg), file=sys.stderr)
            res = run_config(args, tmp, cfg, n, accel, cache, initrd, timeout)
            results[cfg].append(res)
            console = os.path.join(tmp, 'run%d-%s.console' % (n, cfg))
            for line in open(console, errors='replace'):
                if 'BK-RESULT disk ' in line:
                    words = dict(w.split('=', 1) for w in line.split()
                                 if '=' in w)
                    disk_info['kernel'] = words.pop('kernel', '?')
                    disk_info[cfg] = ' '.join('%s=%s' % kv for kv in
                                              sorted(words.items()))
            print('# run %d %s: %s' % (n, cfg, ', '.join(
                '%s %.1f' % (k, res[k]) for k, *_ in METRICS)),
                file=sys.stderr, flush=True)
    cg = None
    if not args.no_callgrind:
        cg = blk_callgrind.measure(args.build, None, tmp)
    report(args, results, accel, cache, disk_info, cg, time.monotonic() - t0)
    return 0


if __name__ == '__main__':
    # SIGTERM and SIGINT unwind through the cleanups (vmlib.run_main).
    run_main(main)
