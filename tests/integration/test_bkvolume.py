#!/usr/bin/python3
"""sys-storage's nbdkit plugin (driver-vms/storage/bk-volume-plugin.c) on
the host, over a loop device on a sparse file (a loop device discards by
punching holes in its file, so the file's allocation shows what a trim
freed, as the pool's data percentage does in the VM test): what it
advertises; 40 MiB written, 32 MiB of it trimmed, the file's allocation
falling by that much, the data around unchanged and the trimmed range
reading zeros; zero with and without may-trim reading zeros; an unaligned
zero (nbdkit writes it); a path that is not a block device refused.

Usage: test_bkvolume.py PLUGIN.so (root: losetup)"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, '/usr/lib/python3/dist-packages')
import nbd  # noqa: E402  (python3-libnbd)

MIB = 1 << 20
results = []


def check(ok, what):
    results.append((bool(ok), what))


def allocated_mib(path):
    return os.stat(path).st_blocks * 512 // MIB


def connect(plugin, device, strict_align=True):
    h = nbd.NBD()
    if not strict_align:
        h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_ALIGN)
    h.connect_command(['nbdkit', '-s', '--exit-with-parent', plugin,
                       'device=' + device])
    return h


def run(plugin, work):
    back = os.path.join(work, 'back.img')
    with open(back, 'wb') as f:
        f.truncate(64 * MIB)
    loop = subprocess.run(['losetup', '-f', '--show', back], check=True,
                          capture_output=True, text=True).stdout.strip()
    try:
        h = connect(plugin, loop)
        check(h.get_size() == 64 * MIB, 'size 64 MiB (BLKGETSIZE64)')
        check(h.can_trim() and h.can_zero() and h.can_flush() and h.can_fua(),
              'trim, zero, flush, FUA advertised')
        check(not h.can_multi_conn() and not h.can_fast_zero(),
              'no multi-conn, no fast zero')
        check(h.get_block_size(nbd.SIZE_MINIMUM) == 512,
              'minimum block size 512 (the kernel\'s unit for the ioctls)')
        data = bytes(range(256)) * (MIB // 256)
        for i in range(40):
            h.pwrite(data, i * MIB)
        h.flush()
        before = allocated_mib(back)
        check(before >= 40, 'allocated after 40 MiB written: %d MiB' % before)
        h.trim(32 * MIB, 4 * MIB)
        h.flush()
        after = allocated_mib(back)
        check(before - after >= 32,
              'trim of 32 MiB frees it: %d MiB -> %d MiB' % (before, after))
        check(h.pread(4 * MIB, 0) == data * 4 and
              h.pread(4 * MIB, 36 * MIB) == data * 4,
              'data around the trimmed range unchanged')
        check(h.pread(32 * MIB, 4 * MIB) == bytes(32 * MIB),
              'the trimmed range reads zeros')
        h.zero(MIB, 36 * MIB, nbd.CMD_FLAG_NO_HOLE)
        h.zero(MIB, 38 * MIB, nbd.CMD_FLAG_FUA)
        check(h.pread(MIB, 36 * MIB) == bytes(MIB) and
              h.pread(MIB, 38 * MIB) == bytes(MIB) and
              h.pread(MIB, 37 * MIB) == data and
              h.pread(MIB, 39 * MIB) == data,
              'zero (no hole; may trim with FUA) reads zeros, the rest kept')
        h.pwrite(data[:4096], 0, nbd.CMD_FLAG_FUA)
        h.shutdown()
        h = connect(plugin, loop, strict_align=False)
        h.zero(100, 1000)
        d = h.pread(4096, 0)
        check(d[1000:1100] == bytes(100) and d[:1000] == data[:1000] and
              d[1100:4096] == data[1100:4096],
              'an unaligned zero (ENOTSUP: nbdkit writes zeros) exact')
        h.shutdown()
        try:
            connect(plugin, back)
            check(False, 'a regular file refused')
        except nbd.Error as e:
            check(True, 'a regular file refused (%s)' % str(e).splitlines()[0])
    finally:
        subprocess.run(['losetup', '-d', loop], check=False)


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: test_bkvolume.py PLUGIN.so')
    if os.geteuid() != 0:
        print('1..0 # SKIP needs root (losetup)')
        return 0
    with tempfile.TemporaryDirectory(prefix='bkvolume-') as work:
        run(os.path.abspath(sys.argv[1]), work)
    print('1..%d' % len(results))
    for i, (ok, what) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', i, what))
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
