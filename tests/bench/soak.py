#!/usr/bin/env python3
"""Soak: one bulkhead-link under load with a reconnect every few seconds.

    soak.py BUILD_DIR [SECONDS]      (default 600)

Starts bulkhead-link (confined, as the supervisor runs it) and, until
SECONDS have passed, runs rounds of the load generator (linkgen: both
VMs' drivers in one process): each round connects both sides, sends for 2
seconds (64-byte frames, 1518-byte frames and 64 KiB TSO segments in
turn) and disconnects, so the link goes
through a full vhost-user reset and reconnect every round. After each round
it samples the link's resident memory (VmRSS) and open descriptors
(/proc/PID/fd).

Prints one line per minute and a summary; exits 1 when the link died, a
round delivered nothing, or RSS or the descriptor count grew: flat means
the last sample's RSS is within 1 MiB of the sample after the warm-up
rounds (the allocator settles in the first few) and, between rounds, the
descriptor count is what it was before the first connection.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 600.0
WARMUP_ROUNDS = 5
FRAMES = ['64', '1518', 'tso']


def sample(pid):
    with open('/proc/%d/status' % pid) as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))
    return rss, len(os.listdir('/proc/%d/fd' % pid))


def main():
    tmp = tempfile.mkdtemp(prefix='bk-soak-')
    os.chmod(tmp, 0o755)
    a, b, ctl = (os.path.join(tmp, n) for n in ('a.sock', 'b.sock', 'ctl.sock'))
    link = subprocess.Popen(
        [os.path.join(BUILD, 'vmm', 'bulkhead-link'), '--a', a, '--b', b,
         '--control', ctl, '--name', 'soak'],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, 'link.log'), 'w'))
    for _ in range(100):
        if os.path.exists(b):
            break
        time.sleep(0.05)
    gen = os.path.join(BUILD, 'tests', 'bench', 'linkgen')
    idle_rss, idle_fds = sample(link.pid)
    samples, frames, failures = [], 0, []
    t0 = time.monotonic()
    last_print = t0
    rnd = 0
    while time.monotonic() - t0 < SECONDS:
        frame = FRAMES[rnd % len(FRAMES)]
        r = subprocess.run([gen, '--a', a, '--b', b, '--frame', frame,
                            '--seconds', '2', '--warmup', '0'],
                           capture_output=True, text=True, timeout=60)
        rnd += 1
        try:
            got = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            got = {}
        n = int(got.get('frames', 0) or 0)
        frames += n
        if r.returncode != 0 or n == 0:
            failures.append('round %d (%s): exit %d, %d frames: %s' % (
                rnd, frame, r.returncode, n, r.stderr.strip()[-200:]))
        if link.poll() is not None:
            failures.append('the link died: exit %s' % link.returncode)
            break
        # The link closes a disconnected side's descriptors as it notices
        # the hang-up: give it a moment before counting.
        for _ in range(20):
            if sample(link.pid)[1] <= idle_fds:
                break
            time.sleep(0.1)
        samples.append(sample(link.pid))
        now = time.monotonic()
        if now - last_print >= 60:
            last_print = now
            print('%4.0f s: round %d, %d frames so far, RSS %d KiB, %d fds'
                  % (now - t0, rnd, frames, samples[-1][0], samples[-1][1]),
                  flush=True)
    link.terminate()
    link.wait(5)
    ok = not failures and len(samples) > WARMUP_ROUNDS
    if len(samples) > WARMUP_ROUNDS:
        base_rss, base_fds = samples[WARMUP_ROUNDS]
        last_rss, last_fds = samples[-1]
        max_rss = max(s[0] for s in samples)
        first_fds = idle_fds
        rss_flat = last_rss <= base_rss + 1024
        fds_flat = last_fds == first_fds and all(s[1] == first_fds for s in samples)
        ok = ok and rss_flat and fds_flat
        print('soak: %.0f s, %d rounds (a reconnect each), %d frames through the link'
              % (time.monotonic() - t0, rnd, frames))
        print('soak: RSS KiB: first %d, after %d rounds %d, last %d, max %d: %s'
              % (samples[0][0], WARMUP_ROUNDS, base_rss, last_rss, max_rss,
                 'flat' if rss_flat else 'GREW'))
        print('soak: open fds between rounds: idle %d, last %d, min %d, max %d: %s'
              % (first_fds, last_fds, min(s[1] for s in samples),
                 max(s[1] for s in samples), 'flat' if fds_flat else 'CHANGED'))
    for f in failures[:10]:
        print('soak: ' + f)
    subprocess.run(['rm', '-rf', tmp])
    print('soak: %s' % ('ok' if ok else 'FAILED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
