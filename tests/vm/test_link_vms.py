#!/usr/bin/env python3
"""Two real VMs wired through bulkhead-link: a ping and an HTTP download.

    test_link_vms.py [BULKHEAD_LINK [BUILD_IMAGES]]

Builds (or reuses) the app VM images with guest-os/build-images, starts
bulkhead-link with a control socket, and boots two QEMU VMs (q35, shared
memfd memory, virtio-net-pci over vhost-user with vectors=0): side a is the
server (10.0.0.1, serves a 4 MiB file over HTTP), side b the client
(10.0.0.2: pings, downloads the file, prints its sha256 and powers off).
The guests report on their serial consoles with "BK-RESULT ..." lines (see
guest-os/build-images). MTU 1500 (host_mtu, so the link learns it too),
offloads as the guests negotiate them (checksum, TSO).

Prints TAP. Always kills QEMU and the link and removes its temporary
directory. Environment:
  BULKHEAD_ACCEL      tcg (default), kvm, or auto: boot the kernel under KVM
                      first and use KVM only if it reaches /init (on the
                      project's machines /dev/kvm opens but a Linux guest
                      hangs, so the default is TCG)
  BULKHEAD_LINK       the binary, when not given as an argument
  BULKHEAD_IMAGE_DIR  the image cache (as for guest-os/build-images)
  BULKHEAD_VM_KEEP=1  keep the temporary directory (consoles, link log)
  BULKHEAD_VM_QUEUES  N > 1: both VMs with N vCPUs and N queue pairs, the
                      link with --queues N (multiqueue, issue 19); one more
                      check: both guests negotiated MQ and ran every pair.
                      The vm suite runs it with N = 2 (link_vms_mq)
"""
import json
import os
import re
import subprocess
import time

from vmlib import (app_vm_cmd, keep_or_remove, kvm_boots, link_and_images,
                   run_main, Tap, sweep, test_dir,
                   find, link_status, results, side_ok, stop, tail,
                   wait_socket)

MTU = 1500
SERVER = {'name': 'server', 'side': 'a', 'mac': '52:54:00:b1:00:01',
          'ip': '10.0.0.1', 'peer': '10.0.0.2'}
CLIENT = {'name': 'client', 'side': 'b', 'mac': '52:54:00:b1:00:02',
          'ip': '10.0.0.2', 'peer': '10.0.0.1'}
SERVER_READY_TIMEOUT = 120
CLIENT_DONE_TIMEOUT = 240
MEM_MB = 256
QUEUES = int(os.environ.get('BULKHEAD_VM_QUEUES', '1'))
# virtio-net feature bits: CSUM, GUEST_TSO4, HOST_TSO4.
TSO_BITS = 1 << 0 | 1 << 7 | 1 << 11
# VIRTIO_NET_F_MQ (virtio 1.2, 5.1.3).
MQ_BIT = 1 << 22

T0 = time.monotonic()


def elapsed():
    return time.monotonic() - T0


def qemu_cmd(vm, images, sock, console, accel):
    return app_vm_cmd(images, sock, console,
                      'bk.role=%s bk.ip=%s/24 bk.peer=%s bk.mtu=%d'
                      % (vm['name'], vm['ip'], vm['peer'], MTU),
                      vm['mac'], MEM_MB, accel, MTU, QUEUES)


def main(argv):
    link_bin, build_images = link_and_images(argv)
    tap = Tap(13 + 2 * (QUEUES > 1))
    accel = os.environ.get('BULKHEAD_ACCEL', 'tcg')
    for line in sweep():
        tap.diag('an earlier run\'s leftover removed: ' + line)
    tmp = test_dir('bulkhead-vm-')
    procs = {}
    link_log = os.path.join(tmp, 'link.log')
    try:
        run(tap, tmp, procs, link_bin, build_images, accel, link_log)
    finally:
        for name in ('client', 'server'):
            stop(procs.get(name))
        stop(procs.get('link'))
        for f in procs.values():
            for stream in (f.stdout, f.stderr):
                if stream:
                    stream.close()
        tap.finish()
        tap.diag('total run time %.1f s' % elapsed())
        keep_or_remove(tap, tmp)
    return 1 if tap.failed else 0


def run(tap, tmp, procs, link_bin, build_images, accel, link_log):
    # 1: the images.
    t = time.monotonic()
    r = subprocess.run([build_images], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    took = time.monotonic() - t
    if not tap.check(r.returncode == 0, 'guest images built',
                     '%s (%.1f s)\n%s' % (build_images, took, r.stdout.strip())):
        return
    images = os.environ.get('BULKHEAD_IMAGE_DIR', '/var/cache/bulkhead/images')
    if accel == 'auto':
        accel = 'kvm' if kvm_boots(images, tmp) else 'tcg'
        tap.diag('accelerator: %s (probed)' % accel)
    elif accel not in ('kvm', 'tcg'):
        tap.diag('BULKHEAD_ACCEL=%s: not kvm, tcg or auto; using tcg' % accel)
        accel = 'tcg'
    with open(os.path.join(images, 'manifest.json')) as f:
        manifest = json.load(f)
    want_sha = manifest['test_file']['sha256']

    # 2: the link.
    socks = {s: os.path.join(tmp, s + '.sock') for s in ('a', 'b')}
    control = os.path.join(tmp, 'control.sock')
    log = open(link_log, 'w')
    procs['link'] = subprocess.Popen(
        [link_bin, '--a', socks['a'], '--b', socks['b'], '--control', control,
         '--mac-a', SERVER['mac'], '--mac-b', CLIENT['mac'], '--name', 'vmtest']
        + (['--queues', str(QUEUES)] if QUEUES > 1 else []),
        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
    up = all(wait_socket(p, procs['link'], 10) for p in (socks['a'], socks['b'], control))
    if not tap.check(up, 'bulkhead-link listening', None if up else tail(link_log)):
        return

    # Both VMs boot at once; the client waits for the server to answer.
    tap.diag('booting server (side a) and client (side b) under %s' % accel)
    started = {}
    consoles = {}
    for vm in (SERVER, CLIENT):
        name = vm['name']
        consoles[name] = os.path.join(tmp, name + '.console')
        out = open(os.path.join(tmp, name + '.qemu'), 'w')
        started[name] = time.monotonic()
        procs[name] = subprocess.Popen(
            qemu_cmd(vm, images, socks[vm['side']], consoles[name], accel),
            stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        out.close()

    def vm_trouble(name):
        q = open(os.path.join(tmp, name + '.qemu')).read().strip()
        return ('%s VM: QEMU %s\nQEMU output: %s\nconsole tail:\n%s\nlink log tail:\n%s'
                % (name, 'exited with %s' % procs[name].returncode
                   if procs[name].poll() is not None else 'still running',
                   q or '(none)', tail(consoles[name]), tail(link_log, 15)))

    # 3: the server gets ready; 4: the client finishes.
    ready_at = done_at = None
    connected_snapshot = None
    last_status = None
    next_poll = 0.0
    deadline_ready = time.monotonic() + SERVER_READY_TIMEOUT
    deadline_done = time.monotonic() + CLIENT_DONE_TIMEOUT
    while True:
        now = time.monotonic()
        if ready_at is None and find(results(consoles['server']), 'server-ready'):
            ready_at = now - started['server']
        cres = results(consoles['client'])
        if find(cres, 'done'):
            done_at = now - started['client']
        if now >= next_poll:
            st = link_status(control)
            if st:
                last_status = st
                if connected_snapshot is None and side_ok(st, 'a') and side_ok(st, 'b'):
                    connected_snapshot = st
            next_poll = now + 0.5
        if done_at is not None:
            break
        if ready_at is None and now > deadline_ready:
            break
        if now > deadline_done:
            break
        if procs['server'].poll() is not None or procs['client'].poll() is not None:
            # The client powers off after "done": read its console once more.
            time.sleep(0.2)
            if find(results(consoles['client']), 'done'):
                done_at = time.monotonic() - started['client']
            break
        time.sleep(0.1)

    sres = results(consoles['server'])
    cres = results(consoles['client'])
    if not tap.check(ready_at is not None, 'server VM booted and serving',
                     'boot-to-ready %.1f s (%s)' % (ready_at, find(sres, 'server-ready'))
                     if ready_at is not None else vm_trouble('server')):
        return
    if not tap.check(done_at is not None, 'client VM ran its job to the end',
                     'boot-to-done %.1f s; client: %s' % (done_at, '; '.join(cres))
                     if done_at is not None else vm_trouble('client')):
        return

    # 5: both front ends connected, every queue running, during the run;
    # 6: offloads and MTU as configured.
    st = connected_snapshot
    tap.check(st is not None, 'both sides connected with all queues ok',
              None if st else
              'last status: %s' % json.dumps(last_status and last_status['sides']))
    if st:
        feats = {s: int(st['sides'][s]['features'], 16) for s in ('a', 'b')}
        mtus = {s: st['sides'][s]['mtu'] for s in ('a', 'b')}
        tso = all(f & TSO_BITS == TSO_BITS for f in feats.values())
        tap.check(tso and all(m == MTU for m in mtus.values()),
                  'both guests negotiated CSUM/GUEST_TSO4/HOST_TSO4 and MTU %d' % MTU,
                  'features a=%#x b=%#x, mtu a=%s b=%s' % (
                      feats['a'], feats['b'], mtus['a'], mtus['b']))
    else:
        tap.check(False, 'both guests negotiated CSUM/GUEST_TSO4/HOST_TSO4 and MTU %d'
                  % MTU, 'no status with both sides connected')

    # Multiqueue: both guests negotiated MQ (the link offers it only with
    # --queues > 1, QEMU masks it without) and had every pair running at
    # once (pairs past the first run only once the guest's driver asks
    # QEMU for them on its control queue: SET_VRING_ENABLE); what each
    # vring carried is printed.
    if QUEUES > 1:
        fin = link_status(control) or last_status
        per_q = {s: [q.get('used', 0) for q in fin['sides'][s]['queues']]
                 for s in ('a', 'b')} if fin else None
        seen = st or last_status
        mq = {s: bool(int(seen['sides'][s]['features'], 16) & MQ_BIT)
              for s in ('a', 'b')} if seen else None
        states = {s: [q['state'] for q in seen['sides'][s]['queues']]
                  for s in ('a', 'b')} if seen else None
        tap.check(st is not None and all(mq.values()) and
                  all(states[s] == ['ok'] * (2 * QUEUES) for s in ('a', 'b')),
                  'both guests (%d vCPUs) negotiated MQ and ran all %d queue pairs'
                  % (QUEUES, QUEUES),
                  'MQ negotiated %s, vring states %s; last status: %s'
                  % (json.dumps(mq), json.dumps(states),
                     json.dumps(last_status and last_status['sides'])))
        tap.diag('used entries per vring (a, b): %s' % json.dumps(per_q))
        # Pair 1 carried frames end to end: what a side sent on its
        # transmitq 1 (vring 3) came out of the other side's receiveq 1
        # (vring 2), in at least one direction (which CPU, hence which
        # transmit queue, a guest sends from is its own choice; the
        # client's full-size pings are pinned to CPU 1, so pair 1 carries
        # them at least).
        crossed = [(s, r) for s, r in (('a', 'b'), ('b', 'a'))
                   if per_q and per_q[s][3] > 0 and per_q[r][2] > 0]
        tap.check(crossed != [],
                  'frames a guest sent on pair 1 arrived on the other\'s pair 1',
                  'sent on pair 1 then received on pair 1: %s' % (
                      ', '.join('%s to %s' % c for c in crossed) if crossed
                      else 'neither way (used per vring %s)' % json.dumps(per_q)))

    # 7, 8: pings.
    ping = find(cres, 'ping')
    tap.check(ping == 'ping ok 5/5', 'client pinged the server: 5/5 answered',
              'client: %s; %s' % (ping, find(cres, 'peer-reachable')))
    big = find(cres, 'ping-big')
    tap.check(big is not None and big.startswith('ping-big ok 3/3'),
              'full-size packets (MTU %d) cross the link' % MTU, 'client: %s' % big)

    # 9: the file.
    got = (find(cres, 'sha256') or '').split()[1:]
    served = (find(sres, 'server-sha256') or '').split()[1:]
    tap.check(got and got == served and got[0] == want_sha,
              'downloaded file sha256 equals the served one',
              'client %s, server %s, image manifest %s; %s' % (
                  got[0] if got else None, served[0] if served else None,
                  want_sha, find(cres, 'wget')))

    # Final counters, once the client is gone.
    final = link_status(control) or last_status
    if final is None:
        tap.check(False, 'link status readable')
        return
    ab, ba = final['a_to_b'], final['b_to_a']
    counters = ('a_to_b (server->client): packets %d bytes %d gso_frames %d '
                'tso_segmented %d csum_completed %d drops %s\n'
                'b_to_a (client->server): packets %d bytes %d gso_frames %d '
                'tso_segmented %d csum_completed %d drops %s' % (
                    ab['packets'], ab['bytes'], ab['gso_frames'], ab['tso_segmented'],
                    ab['csum_completed'], json.dumps(ab['drops']),
                    ba['packets'], ba['bytes'], ba['gso_frames'], ba['tso_segmented'],
                    ba['csum_completed'], json.dumps(ba['drops'])))
    if os.environ.get('BULKHEAD_VM_SHOW_STATUS'):
        # The demo shows what crossed the link, not only pass/fail.
        print('client: %s | %s | %s' % (find(cres, 'ping'), find(cres, 'wget'),
                                       find(cres, 'sha256')))
        print(counters, flush=True)
    # 10, 11, 12: the counters.
    tap.check(ab['packets'] > 0 and ba['packets'] > 0,
              'link counted packets both ways', counters)
    tap.check(ab['gso_frames'] > 0,
              'TSO segments crossed server->client whole (gso_frames > 0)',
              'a_to_b.gso_frames %d, tso_segmented %d' % (ab['gso_frames'],
                                                           ab['tso_segmented']))
    bad = {d: ab['drops'][d] + ba['drops'][d]
           for d in ('spoofed', 'malformed', 'oversize')}
    tap.check(not any(bad.values()), 'no frame dropped as spoofed, malformed or oversize',
              json.dumps(bad))

    # 13: the link stops cleanly (and its sanitizers found nothing).
    for name in ('client', 'server'):
        stop(procs[name])
    rc = stop(procs['link'], grace=10)
    with open(link_log, errors='replace') as f:
        text = f.read()
    sanitizer = re.search(r'(ERROR: \w+Sanitizer|runtime error:)', text)
    tap.check(rc == 0 and not sanitizer, 'bulkhead-link exits cleanly on SIGTERM',
              'exit %s; link log:\n%s' % (rc, tail(link_log, 40)))


if __name__ == '__main__':
    run_main(main)
