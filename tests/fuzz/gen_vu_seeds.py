#!/usr/bin/env python3
"""Writes seed inputs for fuzz_vhost_user_msg: message streams in its
format (12-byte header, payload, one byte of descriptor count) that walk
a back end through a normal start, a memory-slot change, a reset and a
two-pair start with vrings past the pairs named.
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


def start(packed=False, pairs=1):
    feats = (1 << 32) | (1 << 15) | (1 << 28) | (1 << 29) | (1 << 30)
    if packed:
        feats |= 1 << 34
    if pairs > 1:
        feats |= 1 << 22  # VIRTIO_NET_F_MQ
    s = msg(1) + msg(15) + msg(16, u64(1 << 3)) + msg(3)
    s += msg(2, u64(feats), flags=VERSION | NEED_REPLY)
    s += msg(5, struct.pack('<II', 1, 0) + region(GPA, 65536, UVA, 0), 1,
             flags=VERSION | NEED_REPLY)
    for q in range(2 * pairs):
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
        # Multiqueue (the fuzzer's back end has 2 pairs): both pairs up,
        # GET_QUEUE_NUM, pair 1 disabled and enabled, vrings 4 and 5 named.
        'multiqueue': start(pairs=2) + msg(17) + msg(18, state(2, 0))
                      + msg(18, state(3, 0)) + msg(18, state(3, 1))
                      + msg(18, state(5, 1)) + msg(8, state(4, 64))
                      + msg(12, u64(5), 1) + msg(11, state(5, 0))
                      + msg(11, state(3, 0)),
    }
    for name, data in seeds.items():
        with open(f'{out}/{name}', 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main(sys.argv[1])
