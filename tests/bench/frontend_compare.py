#!/usr/bin/env python3
"""Both back ends under DPDK's own front end (issue 19): bulkhead-link
(poll and event mode) and DPDK testpmd's vhost PMD, each on core 1 with
two vhost-user sockets, driven by one testpmd with two virtio_user ports
on core 0 (io forwarding, default features, `start tx_first 4`: frames
loop front end A -> back end -> front end B -> A). What counts is what
the front end received (its ports' RX-packets over the window), the same
for every back end. Interleaved runs; the median and spread of each, and
the ratio to DPDK's back end, as its users start it (dpdk-plain) and
offering TSO and checksum offload (dpdk, as compare.py's other rows).

Usage: frontend_compare.py BUILD_DIR [RUNS] [SECONDS]
Prints one line per (frame, back end): "FRAME KIND MEDIAN MIN MAX" in
Mpps, then "ratio FRAME KIND PEER R" against each of DPDK's."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import GEN_CORE, TESTPMD, Backend, wait_no_vm  # noqa: E402

PERF = shutil.which('perf')
FRAMES = (64, 1518)
KINDS = ('bulkhead-poll', 'bulkhead-event', 'dpdk-plain', 'dpdk')


def rx_packets(log_path, since):
    """The sum of the ports' RX-packets in the last `show port stats all`
    printed after offset SINCE of the log, or None."""
    with open(log_path) as f:
        f.seek(since)
        text = f.read()
    found = re.findall(r'RX-packets:\s*(\d+)', text)
    return sum(int(n) for n in found[-2:]) if len(found) >= 2 else None


def stats_now(pmd, log_path):
    """Asks testpmd for its port statistics; their RX sum once printed."""
    since = os.path.getsize(log_path)
    pmd.stdin.write('show port stats all\n')
    pmd.stdin.flush()
    for _ in range(50):
        time.sleep(0.05)
        n = rx_packets(log_path, since)
        if n is not None:
            return n, time.monotonic()
    with open(log_path) as f:
        tail = f.read()[-1500:]
    raise RuntimeError('testpmd printed no port statistics:\n' + tail)


def proc_counts(pid):
    """A process's read and write system calls (/proc/PID/io) and its
    CPU seconds (utime + stime, all threads)."""
    io = {}
    with open(f'/proc/{pid}/io') as f:
        for line in f:
            k, v = line.split(':')
            io[k] = int(v)
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    return io['syscr'], io['syscw'], cpu


def window(pids, seconds, work):
    """Waits SECONDS; with perf, counts each process's system calls
    meanwhile (the raw_syscalls:sys_enter tracepoint: kicks, calls and
    epoll_wait alike). Returns their counts, or Nones."""
    if not PERF:
        time.sleep(seconds)
        return [None for _ in pids]
    outs = [os.path.join(work, f'perf-{i}.txt') for i in range(len(pids))]
    procs = [subprocess.Popen([PERF, 'stat', '-e', 'raw_syscalls:sys_enter',
                               '-x,', '-o', out, '-p', str(pid), '--',
                               'sleep', str(seconds)],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
             for pid, out in zip(pids, outs)]
    counts = []
    for p, out in zip(procs, outs):
        p.wait()
        n = None
        with open(out) as f:
            for line in f:
                if 'raw_syscalls' in line and line.split(',')[0].isdigit():
                    n = int(line.split(',')[0])
        counts.append(n)
    return counts


def measure(build, kind, frame, seconds, work):
    """Mpps the front end receives through back end KIND, and per 1000
    frames: the front end's write system calls (its kicks: eventfd
    writes), the back end's reads and writes (kick reads, calls), and the
    back end's CPU ns per frame."""
    wait_no_vm()
    backend = Backend(kind, work, os.path.join(build, 'vmm', 'bulkhead-link'))
    log_path = os.path.join(work, 'frontend.log')
    log = open(log_path, 'w')
    # Its main lcore (waiting at the prompt) and its forwarding lcore
    # both on core 0.
    # stdbuf: its statistics reach the log as printed (a file is
    # otherwise fully buffered).
    cmd = ['stdbuf', '-o0', TESTPMD, '--lcores=0@%d,1@%d' % (GEN_CORE, GEN_CORE),
           '--main-lcore', '0', '--no-huge', '-m', '1024', '--no-pci',
           '--single-file-segments', f'--file-prefix=bkfe{os.getpid()}',
           '--vdev', f'net_virtio_user0,path={backend.a},queues=1',
           '--vdev', f'net_virtio_user1,path={backend.b},queues=1',
           '--', '-i', '--forward-mode=io', '--nb-cores=1', '--txd=256',
           '--rxd=256', '--total-num-mbufs=16384', f'--txpkts={frame - 4}']
    pmd = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log,
                           stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(600):
            if 'testpmd>' in open(log_path).read():
                break
            if pmd.poll() is not None:
                raise RuntimeError('testpmd exited: ' +
                                   open(log_path).read()[-500:])
            time.sleep(0.05)
        time.sleep(0.5)
        pmd.stdin.write('start tx_first 4\n')
        pmd.stdin.flush()
        time.sleep(2)  # warm up
        n0, t0 = stats_now(pmd, log_path)
        fe0, be0 = proc_counts(pmd.pid), proc_counts(backend.proc.pid)
        calls = window([pmd.pid, backend.proc.pid], seconds, work)
        n1, t1 = stats_now(pmd, log_path)
        fe1, be1 = proc_counts(pmd.pid), proc_counts(backend.proc.pid)
        pmd.stdin.write('stop\nquit\n')
        pmd.stdin.flush()
        k = max(n1 - n0, 1) / 1000
        return {'mpps': (n1 - n0) / (t1 - t0) / 1e6,
                'fe_writes': (fe1[1] - fe0[1]) / k,
                'be_reads': (be1[0] - be0[0]) / k,
                'be_writes': (be1[1] - be0[1]) / k,
                'be_ns': (be1[2] - be0[2]) * 1e9 / max(n1 - n0, 1),
                'fe_sys': calls[0] / k if calls[0] is not None else -1,
                'be_sys': calls[1] / k if calls[1] is not None else -1}
    finally:
        try:
            pmd.wait(15)
        except subprocess.TimeoutExpired:
            pmd.kill()
            pmd.wait()
        log.close()
        backend.stop()


def main():
    if not TESTPMD:
        print('# no dpdk-testpmd: skipped')
        return 0
    build = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 4
    work = tempfile.mkdtemp(prefix='bulkhead-frontend-')
    res = {(f, k): [] for f in FRAMES for k in KINDS}
    try:
        for _ in range(runs):
            for frame in FRAMES:
                for kind in KINDS:
                    res[(frame, kind)].append(
                        measure(build, kind, frame, seconds, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    def med(frame, kind, key):
        return statistics.median(r[key] for r in res[(frame, kind)])

    for frame in FRAMES:
        for kind in KINDS:
            v = [r['mpps'] for r in res[(frame, kind)]]
            print(f'{frame} {kind} {statistics.median(v):.3f} {min(v):.3f}'
                  f' {max(v):.3f}', flush=True)
    for frame in FRAMES:
        for peer in KINDS[2:]:
            d = med(frame, peer, 'mpps')
            for kind in KINDS[:2]:
                print(f'ratio {frame} {kind} {peer} '
                      f'{med(frame, kind, "mpps") / d:.2f}')
    print('# per 1000 frames (medians): front end write syscalls (its '
          'kicks), all its syscalls (perf; -1: no perf); back end read / '
          'write / all syscalls; back end CPU ns per frame')
    for frame in FRAMES:
        for kind in KINDS:
            print(f'# calls {frame} {kind}: fe writes '
                  f'{med(frame, kind, "fe_writes"):.2f} all '
                  f'{med(frame, kind, "fe_sys"):.2f}; be reads '
                  f'{med(frame, kind, "be_reads"):.2f} writes '
                  f'{med(frame, kind, "be_writes"):.2f} all '
                  f'{med(frame, kind, "be_sys"):.2f}; be '
                  f'{med(frame, kind, "be_ns"):.1f} ns/frame')
    return 0


if __name__ == '__main__':
    sys.exit(main())
