#!/usr/bin/env python3
"""bulkhead-blk's instructions per request (issue 18), counted by
callgrind: the worker under `valgrind --tool=callgrind` on an nbdkit
file export, driven by blkgen (tests/bench/blkgen.c: a virtio-blk driver
doing 4 KiB random reads at a queue depth, sleeping on the call eventfd
between completions, as a guest does). Two runs, of FEW and MANY reads;
the difference of their totals over MANY - FEW is what one request
costs, start-up, handshakes and teardown cancelling out. User-space
instructions only (the worker, libnbd, libc): the kernel's side of its
system calls is not counted.

The worker runs unconfined (--no-sandbox): valgrind and seccomp do not
mix (valgrind's own system calls are not on the worker's list).

Usage: blk_callgrind.py BUILD_DIR [DISK_FILE]
Prints one line per queue depth, then the functions that take the most
per request at depth 1."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'vm'))
from vmlib import stop, wait_socket  # noqa: E402

FEW, MANY = 1000, 6000
DEPTHS = (1, 16)
VOLUME_BYTES = 64 << 20
TOTALS = re.compile(r'^(?:summary|totals):\s*(\d+)', re.M)
FUNC_LINE = re.compile(r'^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$')


def functions(out_file):
    """{function: self instructions} from a callgrind output file."""
    r = subprocess.run(['callgrind_annotate', '--inclusive=no',
                        '--threshold=100', out_file], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    funcs, started = {}, False
    for line in r.stdout.splitlines():
        if 'file:function' in line:
            started = True
            continue
        m = FUNC_LINE.match(line) if started else None
        if m:
            # file:function [object] -> function [object's file name]
            name = re.sub(r'^.*:(?=[^:/]+ \[)', '', m.group(2))
            name = re.sub(r'\[.*/([^/\]]+)\]$', r'[\1]', name)
            funcs[name] = funcs.get(name, 0) + int(m.group(1).replace(',', ''))
    return funcs


def one_run(build, work, nbd_sock, count, depth):
    """(total instructions, callgrind file) of the worker serving COUNT
    reads at DEPTH."""
    vu = os.path.join(work, 'cg-vu.sock')
    out = os.path.join(work, 'callgrind.%d.%d' % (depth, count))
    if os.path.exists(vu):
        os.unlink(vu)
    log = open(os.path.join(work, 'cg-blk.log'), 'a')
    worker = subprocess.Popen(
        ['valgrind', '--tool=callgrind', '--callgrind-out-file=' + out,
         os.path.join(build, 'vmm', 'bulkhead-blk'), '--socket', vu,
         '--nbd', nbd_sock, '--no-sandbox', '--name', 'callgrind'],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
    try:
        if not wait_socket(vu, worker, 60):
            raise RuntimeError('bulkhead-blk under valgrind did not listen')
        gen = subprocess.run([os.path.join(build, 'tests', 'bench', 'blkgen'),
                              vu, str(count), str(depth), str(VOLUME_BYTES)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=600)
        if gen.returncode != 0:
            raise RuntimeError('blkgen: ' + gen.stdout.strip())
    finally:
        # callgrind writes its file as the worker exits.
        stop(worker, grace=30)
    with open(out) as f:
        m = TOTALS.search(f.read())
    if not m:
        raise RuntimeError('no totals in ' + out)
    return int(m.group(1)), out


def measure(build, disk=None, work=None):
    """{'per_request': {depth: instructions}, 'top': [(function,
    instructions per request)] at depth 1}."""
    own = work is None
    work = work or tempfile.mkdtemp(prefix='bulkhead-blkcg-')
    nbd_sock = os.path.join(work, 'cg-nbd.sock')
    nbdkit = None
    try:
        if disk is None:
            disk = os.path.join(work, 'cg-disk.raw')
            with open(disk, 'wb') as f:
                f.truncate(VOLUME_BYTES)
        nbdkit = subprocess.Popen(['nbdkit', '-f', '-U', nbd_sock, 'file', disk],
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        if not wait_socket(nbd_sock, nbdkit, 20):
            raise RuntimeError('nbdkit did not listen')
        res = {'per_request': {}, 'top': []}
        for depth in DEPTHS:
            few, few_out = one_run(build, work, nbd_sock, FEW, depth)
            many, many_out = one_run(build, work, nbd_sock, MANY, depth)
            res['per_request'][depth] = (many - few) / (MANY - FEW)
            if depth == 1:
                a, b = functions(few_out), functions(many_out)
                diff = {k: (b.get(k, 0) - a.get(k, 0)) / (MANY - FEW)
                        for k in b}
                res['top'] = sorted(diff.items(), key=lambda kv: -kv[1])[:12]
        return res
    finally:
        stop(nbdkit)
        if own:
            shutil.rmtree(work, ignore_errors=True)


def main(argv):
    if len(argv) < 2:
        print(__doc__.split('\n\n')[-1], file=sys.stderr)
        return 2
    res = measure(argv[1], argv[2] if len(argv) > 2 else None)
    for depth, ir in res['per_request'].items():
        print('instructions/request 4K read QD%d: %.0f' % (depth, ir))
    print('per request at QD1, by function (self):')
    for name, ir in res['top']:
        print('  %8.0f  %s' % (ir, name))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
