#!/usr/bin/env python3
"""bulkhead-link side by side with DPDK testpmd (vhost io forwarding),
driven by the same load generator (linkgen: both VMs' drivers in one
process, on core 0; the back end alone on core 1). Several runs of every
figure, interleaved; one table with the median and the spread (min-max)
of each, and the ratio bulkhead / DPDK. Then both back ends under DPDK's
virtio_user front end (frontend_compare.py), instructions per frame
(callgrind on the in-process harness), idle cost, and one cross-check with
DPDK's own virtio_user front ends (link_throughput.py).

Usage: compare.py --build BUILD_DIR [--runs 3] [--seconds 4]
                  [--idle-seconds 10] [--no-crosscheck] [--ignore-vm]
Measures only while no QEMU VM runs (waits for one to end)."""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTPMD = shutil.which('dpdk-testpmd')
GEN_CORE, BACKEND_CORE = 0, 1
FRAMES = ('64', '1518', 'tso')


IGNORE_VM = False
# A measurement during which other processes used more than this share
# of one core (a VM started meanwhile) is taken again.
OTHER_CPU_MAX = 0.05


def busy_share(seconds=1.0):
    """Share of one core the machine used over a second (nothing of ours
    runs meanwhile)."""
    def busy():
        v = [int(x) for x in open('/proc/stat').readline().split()[1:]]
        return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    b0 = busy()
    time.sleep(seconds)
    return (busy() - b0) / os.sysconf('SC_CLK_TCK') / seconds


def wait_no_vm(max_wait=7200):
    """Two cores: a TCG VM (or any other busy process: a build, a fuzzer)
    would take one of them. Wait until the machine is quiet."""
    waited = 0
    if IGNORE_VM:
        return True
    while subprocess.run(['pgrep', '-f', 'qemu-system'],
                         stdout=subprocess.DEVNULL).returncode == 0 or \
            busy_share() > OTHER_CPU_MAX:
        if waited == 0:
            print('# waiting: a QEMU VM or another busy process is running',
                  file=sys.stderr, flush=True)
        if waited >= max_wait:
            return False
        time.sleep(5)
        waited += 5
    return True


def wait_path(path, proc, timeout=20):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > deadline or proc.poll() is not None:
            return False
        time.sleep(0.05)
    return True


class Backend:
    """A back end process on core 1 with two vhost-user sockets A and B."""

    def __init__(self, kind, workdir, link=None):
        self.kind = kind
        self.a = os.path.join(workdir, 'a.sock')
        self.b = os.path.join(workdir, 'b.sock')
        for p in (self.a, self.b):
            if os.path.exists(p):
                os.unlink(p)
        self.log = open(os.path.join(workdir, f'{kind}.log'), 'w')
        pin = ['taskset', '-c', str(BACKEND_CORE)]
        if kind.startswith('bulkhead'):
            cmd = [link, '--a', self.a, '--b', self.b, '--name', kind]
            if kind == 'bulkhead-poll':
                cmd.append('--poll')
            self.proc = subprocess.Popen(pin + cmd, stdout=self.log,
                                         stderr=subprocess.STDOUT)
            self.stdin = None
        else:
            # Both lcores (main and forwarding) on core 1; tso=1 so the
            # vhost PMD offers TSO and checksum offload (the most
            # favourable set-up for 64 KiB frames); "dpdk-plain" is the
            # vhost PMD as its users start it, without.
            tso = ',tso=1' if kind == 'dpdk' else ''
            cmd = [TESTPMD, '--lcores=0@%d,1@%d' % (BACKEND_CORE, BACKEND_CORE),
                   '--main-lcore', '0', '--no-huge', '-m', '1024', '--no-pci',
                   '--single-file-segments', f'--file-prefix=bkcmp{os.getpid()}',
                   '--vdev', f'net_vhost0,iface={self.a}{tso}',
                   '--vdev', f'net_vhost1,iface={self.b}{tso}',
                   '--', '--forward-mode=io', '--nb-cores=1', '--rxq=1',
                   '--txq=1', '--txd=256', '--rxd=256', '--burst=32',
                   '--total-num-mbufs=16384']
            # Without -i testpmd forwards at once and waits for a line on
            # stdin to quit.
            self.proc = subprocess.Popen(pin + cmd, stdin=subprocess.PIPE,
                                         stdout=self.log,
                                         stderr=subprocess.STDOUT, text=True)
            self.stdin = self.proc.stdin
        if not (wait_path(self.a, self.proc) and wait_path(self.b, self.proc)):
            self.stop()
            raise RuntimeError(f'{kind} did not start')
        time.sleep(0.3)

    def stop(self):
        if self.proc.poll() is None:
            if self.stdin:
                try:
                    self.stdin.write('\n')
                    self.stdin.flush()
                except OSError:
                    pass
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def linkgen(build, *args):
    exe = os.path.join(build, 'tests', 'bench', 'linkgen')
    r = subprocess.run([exe, *map(str, args)], capture_output=True, text=True,
                       timeout=120)
    line = (r.stdout.strip().splitlines() or ['{}'])[-1]
    try:
        out = json.loads(line)
    except ValueError:
        out = {'error': r.stderr.strip()[-200:]}
    out['stderr'] = r.stderr.strip()
    return out


def measure(build, kind, frame, seconds, workdir, tries=30):
    for _ in range(tries):
        wait_no_vm()
        be = Backend(kind, workdir, os.path.join(build, 'vmm', 'bulkhead-link'))
        try:
            r = linkgen(build, '--a', be.a, '--b', be.b, '--frame', frame,
                        '--seconds', seconds, '--warmup', 1,
                        '--pid', be.proc.pid, '--core', GEN_CORE)
        finally:
            be.stop()
        other = r.get('other_cpu_s', 0) / max(r.get('seconds', 1), 0.1)
        if IGNORE_VM or 'error' in r or other <= OTHER_CPU_MAX:
            return r
        print(f'# again: {kind} {frame}: other processes used '
              f'{other * 100:.0f} % of a core', file=sys.stderr, flush=True)
    r['error'] = 'machine never quiet'
    return r


def idle(build, kind, seconds, workdir):
    wait_no_vm()
    be = Backend(kind, workdir, os.path.join(build, 'vmm', 'bulkhead-link'))
    try:
        return linkgen(build, '--a', be.a, '--b', be.b, '--frame', '64',
                       '--idle', seconds, '--pid', be.proc.pid,
                       '--core', GEN_CORE)
    finally:
        be.stop()


def callgrind(build):
    script = os.path.join(HERE, 'net-link-callgrind.sh')
    bench = os.path.join(build, 'tests', 'bench', 'bench_net_link')
    if not shutil.which('valgrind'):
        return {}
    r = subprocess.run([script, bench], capture_output=True, text=True,
                       timeout=600)
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            out[parts[0]] = float(parts[1])
    return out


def crosscheck(build, seconds):
    """frames/s with DPDK's own virtio_user front ends (link_throughput.py)."""
    wait_no_vm()
    r = subprocess.run([sys.executable, os.path.join(HERE, 'link_throughput.py'),
                        os.path.join(build, 'vmm', 'bulkhead-link'), str(seconds)],
                       capture_output=True, text=True, timeout=900)
    return r.stdout.strip()


def frontend(build, runs, seconds):
    """Both back ends under DPDK's virtio_user front end
    (frontend_compare.py): its lines."""
    wait_no_vm()
    r = subprocess.run([sys.executable, os.path.join(HERE, 'frontend_compare.py'),
                        build, str(runs), str(seconds)],
                       capture_output=True, text=True, timeout=1800)
    return r.stdout.strip() or r.stderr.strip()[-1000:]


def parse_front(text):
    """frontend_compare.py's "FRAME KIND MEDIAN MIN MAX" lines as
    {(frame, kind): (median, min, max)}."""
    out = {}
    for line in (text or '').splitlines():
        f = line.split()
        if len(f) == 5 and f[0].isdigit():
            try:
                out[(f[0], f[1])] = tuple(float(x) for x in f[2:])
            except ValueError:
                pass
    return out


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt(s, digits=2):
    if s is None:
        return 'n/a'
    med, lo, hi = s
    return f'{med:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})'


def machine():
    model = '?'
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    return (f'{platform.node()}: {model}, {os.cpu_count()} cores, '
            f'Linux {platform.release()}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--seconds', type=float, default=4)
    ap.add_argument('--idle-seconds', type=float, default=10)
    ap.add_argument('--no-crosscheck', action='store_true')
    ap.add_argument('--ignore-vm', action='store_true',
                    help='measure even while a QEMU VM runs (trying the '
                    'script only: such figures are not comparable)')
    args = ap.parse_args()
    global IGNORE_VM
    IGNORE_VM = args.ignore_vm
    build = os.path.abspath(args.build)
    kinds = ['bulkhead-poll', 'bulkhead-event'] + (['dpdk'] if TESTPMD else [])
    work = tempfile.mkdtemp(prefix='bulkhead-compare-')
    res = {(k, f): [] for k in kinds for f in FRAMES}
    notes = {}
    memcpy = []
    t_start = time.time()
    try:
        for run in range(args.runs):
            for frame in FRAMES:
                for kind in kinds:
                    r = measure(build, kind, frame, args.seconds, work)
                    res[(kind, frame)].append(r)
                    if 'error' in r:
                        notes[(kind, frame)] = r['error']
                    print(f'# run {run + 1} {kind:<15} {frame:>5}: '
                          + (f"{r['mpps']:.3f} Mpps {r['gbps']:.2f} Gbit/s "
                             f"{r['cpu_ns_per_frame']:.1f} ns/frame"
                             if 'mpps' in r else r.get('error', '?')),
                          file=sys.stderr, flush=True)
            for _ in range(10):
                wait_no_vm()
                m = linkgen(build, '--memcpy', '--core', BACKEND_CORE,
                            '--seconds', args.seconds)
                if IGNORE_VM or subprocess.run(
                        ['pgrep', '-f', 'qemu-system'],
                        stdout=subprocess.DEVNULL).returncode != 0:
                    break
            memcpy.append(m)
        idles = {k: idle(build, k, args.idle_seconds, work)
                 for k in ('bulkhead-event', 'bulkhead-poll') +
                 (('dpdk',) if TESTPMD else ())}
        instr = callgrind(build)
        cross = None if args.no_crosscheck or not TESTPMD else \
            crosscheck(build, args.seconds)
        front = None if args.no_crosscheck or not TESTPMD else \
            frontend(build, args.runs, args.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def fig(kind, frame, key):
        return stats([r.get(key) for r in res.get((kind, frame), [])
                      if 'error' not in r])

    def ratio(a, b):
        return a[0] / b[0] if a and b and b[0] else None

    mc = stats([m.get('memcpy_gbps') for m in memcpy])
    mc_hot = stats([m.get('memcpy_hot_gbps') for m in memcpy])
    rows = []
    for frame, unit, key in (('64', 'Mpps', 'mpps'), ('1518', 'Mpps', 'mpps'),
                             ('tso', 'Gbit/s', 'gbps')):
        name = {'64': '64 B', '1518': '1518 B', 'tso': '64 KiB TSO'}[frame]
        d = fig('dpdk', frame, key)
        p = fig('bulkhead-poll', frame, key)
        e = fig('bulkhead-event', frame, key)
        rows.append((f'{name} {unit}, poll', p, d, ratio(p, d)))
        rows.append((f'{name} {unit}, event', e, d, ratio(e, d)))
    for frame in FRAMES:
        name = {'64': '64 B', '1518': '1518 B', 'tso': '64 KiB TSO'}[frame]
        d = fig('dpdk', frame, 'cpu_ns_per_frame')
        for mode in ('poll', 'event'):
            b = fig(f'bulkhead-{mode}', frame, 'cpu_ns_per_frame')
            rows.append((f'{name} CPU ns/frame, {mode}', b, d, ratio(b, d)))

    # Both back ends under DPDK's own front end (issue 19): the
    # link against the vhost PMD as its users start it (dpdk-plain).
    fe = parse_front(front)
    for frame in ('64', '1518'):
        d = fe.get((frame, 'dpdk-plain'))
        for mode in ('poll', 'event'):
            b = fe.get((frame, f'bulkhead-{mode}'))
            rows.append((f'{frame} B Mpps, DPDK front end, {mode}', b, d,
                         ratio(b, d)))

    print(f'# {machine()}')
    print(f'# generator (linkgen, both VMs\' drivers) pinned to core {GEN_CORE}; '
          f'back end pinned to core {BACKEND_CORE} (taskset); queue size 256, '
          f'batch 32, mergeable RX buffers (2 KiB; 4 KiB for TSO)')
    print(f'# {args.runs} runs x {args.seconds:g} s per figure, interleaved; '
          f'median (min-max); DPDK: testpmd 22.11 vhost PMD, io forwarding, '
          f'which only polls (its event rows repeat its poll figure)')
    print(f'# took {time.time() - t_start:.0f} s')
    w = 34
    print(f'{"figure":<{w}} {"bulkhead":>24} {"DPDK testpmd":>24} {"ratio":>6}')
    for name, b, d, r in rows:
        print(f'{name:<{w}} {fmt(b, 2):>24} {fmt(d, 2):>24} '
              f'{(f"{r:.2f}" if r else "n/a"):>6}')
    p_tso = fig('bulkhead-poll', 'tso', 'gbps')
    e_tso = fig('bulkhead-event', 'tso', 'gbps')
    print(f'{"memcpy 64 KiB, same buffers, Gbit/s":<{w}} {fmt(mc, 1):>24}')
    print(f'{"memcpy 64 KiB, one block, Gbit/s":<{w}} {fmt(mc_hot, 1):>24}')
    for k, v in idles.items():
        print(f'{"idle " + str(int(args.idle_seconds)) + " s CPU s, " + k:<{w}} '
              f'{v.get("backend_cpu_s", float("nan")):>24.3f}')
    for f, v in sorted(instr.items(), key=lambda kv: int(kv[0])):
        print(f'{"instructions/frame " + f + " B (callgrind)":<{w}} {v:>24.1f}')

    print('# targets')

    def verdict(ok):
        return 'met' if ok else 'MISSED'

    for frame in ('64', '1518'):
        r = ratio(fig('bulkhead-poll', frame, 'mpps'), fig('dpdk', frame, 'mpps'))
        print(f'#  poll >= 1.3x DPDK at {frame} B: '
              f'{r and f"{r:.2f}x"} {verdict(r and r >= 1.3)}')
    if p_tso and mc:
        share = p_tso[0] / mc[0]
        print(f'#  64 KiB TSO >= 70 % of memcpy: poll {share * 100:.0f} % '
              f'{verdict(share >= 0.7)}'
              + (f', event {e_tso[0] / mc[0] * 100:.0f} %' if e_tso else ''))
    for frame, key in (('64', 'mpps'), ('1518', 'mpps'), ('tso', 'gbps')):
        r = ratio(fig('bulkhead-event', frame, key),
                  fig('bulkhead-poll', frame, key))
        print(f'#  event >= 0.5x poll at {frame}: {r and f"{r:.2f}x"} '
              f'{verdict(r and r >= 0.5)}')
    ie = idles.get('bulkhead-event', {}).get('backend_cpu_s')
    if ie is not None:
        print(f'#  idle event mode ~0 CPU: {ie:.3f} s in '
              f'{args.idle_seconds:g} s {verdict(ie < 0.05)}')
    if '64' in instr:
        print(f'#  <= 400 instructions per 64 B frame: {instr["64"]:.0f} '
              f'{verdict(instr["64"] <= 400)}')
        print(f'#  <= 250 instructions per 64 B frame (issue 19): '
              f'{instr["64"]:.0f} {verdict(instr["64"] <= 250)}')
    if p_tso and mc:
        share = p_tso[0] / mc[0]
        print(f'#  64 KiB TSO >= 80 % of memcpy (issue 19): poll '
              f'{share * 100:.0f} % {verdict(share >= 0.8)}')
    for frame in ('64', '1518'):
        d = fe.get((frame, 'dpdk-plain'))
        for mode in ('poll', 'event'):
            r = ratio(fe.get((frame, f'bulkhead-{mode}')), d)
            print(f'#  DPDK front end, {mode} >= 1.3x DPDK at {frame} B: '
                  f'{r and f"{r:.2f}x"} {verdict(r and r >= 1.3)}')
    for (k, f), e in notes.items():
        print(f'# note: {k} {f}: {e}')
    dt = [r for r in res.get(('dpdk', 'tso'), []) if 'error' not in r]
    if dt:
        r = dt[0]
        print(f'# note: dpdk tso: frames arrive with gso_type '
              f'{r.get("rx_gso_type")} in {r.get("rx_buffers_per_frame")} '
              f'buffers, checksum completed in software: '
              f'{r.get("rx_csum_completed")}')
    bt = [r for r in res.get(('bulkhead-poll', 'tso'), []) if 'error' not in r]
    if bt:
        r = bt[0]
        print(f'# note: bulkhead tso: frames arrive with gso_type '
              f'{r.get("rx_gso_type")} in {r.get("rx_buffers_per_frame")} '
              f'buffers, checksum completed in software: '
              f'{r.get("rx_csum_completed")}')
    if front:
        print('# both back ends under DPDK\'s virtio_user front end'
              ' (frontend_compare.py; Mpps the front end received, median'
              ' min max; dpdk-plain: the vhost PMD without tso=1):')
        for line in front.splitlines():
            print('#   ' + line)
    if cross:
        print('# cross-check, DPDK virtio_user front ends (link_throughput.py):')
        for line in cross.splitlines():
            print(f'#   {line}')
    sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
