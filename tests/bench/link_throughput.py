#!/usr/bin/env python3
"""Frames per second through bulkhead-link with DPDK's virtio_user front
ends: one testpmd on core 0 with two ports (sides A and B) in io
forwarding, started with `start tx_first 4`, so frames loop A -> link -> B
-> testpmd -> A; the link on core 1. Reports the link's own counters over
a measured window, for 64-byte and 1518-byte frames, in poll and event
mode.

Usage: link_throughput.py BULKHEAD_LINK [SECONDS]
BK_QUEUES=N: N queue pairs per port (queues=N, --rxq/--txq=N) and the
link with --queues N (multiqueue; one link thread serves them all)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
from linktest import Link, TESTPMD, wait_for  # noqa: E402


QUEUES = int(os.environ.get('BK_QUEUES', '1'))


def run(binary, mode, frame, seconds):
    work = tempfile.mkdtemp(prefix='bulkhead-bench-')
    extra = ['--poll'] if mode == 'poll' else []
    if QUEUES > 1:
        extra += ['--queues', str(QUEUES)]
    link = Link(binary, work, *extra, name=f'bench-{mode}-{frame}')
    os.sched_setaffinity(link.proc.pid, {1})
    cmd = [TESTPMD, '-l', '0,1', '--main-lcore', '1', '--no-huge', '-m', '1024',
           '--no-pci', '--single-file-segments', f'--file-prefix=bkb{os.getpid()}',
           '--vdev', f'net_virtio_user0,path={link.a},queues={QUEUES}',
           '--vdev', f'net_virtio_user1,path={link.b},queues={QUEUES}',
           '--', '-i', '--forward-mode=io', '--nb-cores=1',
           f'--rxq={QUEUES}', f'--txq={QUEUES}',
           '--txd=256', '--rxd=256', '--total-num-mbufs=16384',
           f'--txpkts={frame - 4}']
    log = open(os.path.join(work, 'testpmd.log'), 'w')
    pmd = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log,
                           stderr=subprocess.STDOUT, text=True)
    try:
        ok = wait_for(lambda: all(link.status()['sides'][s]['connected']
                                  for s in 'ab'), 30)
        if not ok:
            raise RuntimeError('testpmd did not connect')
        logpath = os.path.join(work, 'testpmd.log')
        # Commands typed before the prompt are lost.
        wait_for(lambda: 'testpmd>' in open(logpath).read(), 30)
        time.sleep(0.5)
        pmd.stdin.write('start tx_first 4\n')
        pmd.stdin.flush()
        time.sleep(2)  # warm up
        st0, t0 = link.status(), time.time()
        cpu0 = os.times()
        time.sleep(seconds)
        st1, t1 = link.status(), time.time()
        frames = sum(st1[d]['packets'] - st0[d]['packets']
                     for d in ('a_to_b', 'b_to_a'))
        pmd.stdin.write('stop\nquit\n')
        pmd.stdin.flush()
        return frames / (t1 - t0)
    finally:
        try:
            pmd.wait(15)
        except subprocess.TimeoutExpired:
            pmd.kill()
        link.stop()
        log.close()
        if os.environ.get('KEEP'):
            print(work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    binary = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5
    print('link on core 1, testpmd (io, two virtio_user ports) on core 0,'
          f' {QUEUES} queue pair(s) each')
    print(f'{"mode":<6} {"frame":>6} {"Mpps":>8} {"Gbit/s":>8}')
    for mode in ('poll', 'event'):
        for frame in (64, 1518):
            rate = run(binary, mode, frame, seconds)
            print(f'{mode:<6} {frame:>6} {rate / 1e6:8.2f} '
                  f'{rate * frame * 8 / 1e9:8.2f}', flush=True)


if __name__ == '__main__':
    main()
