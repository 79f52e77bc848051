#!/usr/bin/env python3
"""Writes seed inputs for fuzz_vhost_user_msg: message streams in its
format (12-byte header, payload, one byte of descriptor count) that walk
a back end through a normal start, a memory-slot change and a reset.
Usage: gen_vu_seeds.py DIR"""
import struct
import sys

VERSION, NEED_REPLY = 1, 8
UVA = 0x7f0000000000
GPA = 0x100000000


def msg(req, payload=b'', nfds=0, flags=VERSION):
    return struct.pack('<III', req, flags, len(payload)) + payload + bytes([nfds])


def u64(v):
    return struct.pack('<Q', v)


def state(i, n):
    return struct.pack('<II', i, n)


def region(gpa, size, uva, off):
    return struct.pack('<QQQQ', gpa, size, uva, off)


def start(packed=False):
    feats = (1 << 32) | (1 << 15) | (1 << 28) | (1 << 29) | (1 << 30)
    if packed:
        feats |= 1 << 34
    s = msg(1) + msg(15) + msg(16, u64(1 << 3)) + msg(3)
    s += msg(2, u64(feats), flags=VERSION | NEED_REPLY)
    s += msg(5, struct.pack('<II', 1, 0) + region(GPA, 65536, UVA, 0), 1,
             flags=VERSION | NEED_REPLY)
    for q in (0, 1):
        base = q * 16384
        s += msg(8, state(q, 64))
        s += msg(10, state(q, 0x8000 if packed else 0))
        s += msg(9, struct.pack('<IIQQQQ', q, 0, UVA + base, UVA + base + 2048,
                                UVA + base + 1024, 0))
        s += msg(13, u64(q), 1)
        s += msg(12, u64(q), 1)
        s += msg(18, state(q, 1))
    return s


def main(out):
    seeds = {
        'start-split': start(),
        'start-packed': start(packed=True),
        'start-stop': start() + msg(11, state(0, 0)) + msg(11, state(1, 0)),
        'mem-slots': msg(36) + msg(37, u64(0) + region(GPA, 65536, UVA, 0), 1)
                     + msg(38, u64(0) + region(GPA, 65536, UVA, 0), 1),
        'reset': start() + msg(34) + msg(4) + msg(17) + msg(20, u64(1500)),
    }
    for name, data in seeds.items():
        with open(f'{out}/{name}', 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main(sys.argv[1])
