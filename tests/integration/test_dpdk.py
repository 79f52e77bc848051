#!/usr/bin/env python3
"""bulkhead-link against DPDK 22.11's virtio_user front end (testpmd):
txonly on one side, rxonly on the other, split and packed rings, with and
without mergeable receive buffers; io forwarding both ways; the source-MAC
check; two queue pairs (queues=2) against --queues 2. No VM needed.

Usage: test_dpdk.py BULKHEAD_LINK"""
import os
import random
import shutil
import struct
import sys
import time

from linktest import Link, Testpmd, main_guard, scratch_dir, wait_for

MAC_A = '02:00:00:00:00:0a'
MAC_B = '02:00:00:00:00:0b'


def connected(link, *sides):
    def pred():
        st = link.status()
        return all(st['sides'][s]['connected'] and
                   all(q['state'] == 'ok' for q in st['sides'][s]['queues'])
                   for s in sides)
    return pred


def one_way(tap, binary, label, devargs_a, devargs_b, link_args=(),
            expect_spoofed=False):
    work = scratch_dir()
    link = Link(binary, work, *link_args, name=label)
    rx = tx = None
    try:
        rx = Testpmd(work, 'rx', [(link.b, devargs_b)], 'rxonly')
        tap.check(wait_for(connected(link, 'b'), 30),
                  f'{label}: receiver connects, both queues ok',
                  rx.text() + link.text())
        tx = Testpmd(work, 'tx', [(link.a, devargs_a)], 'txonly')
        tap.check(wait_for(connected(link, 'a'), 30),
                  f'{label}: sender connects, both queues ok',
                  tx.text() + link.text())
        # testpmd takes seconds after connecting before it sends.
        key = 'spoofed' if expect_spoofed else None
        wait_for(lambda: (link.status()['a_to_b']['drops']['spoofed'] if key
                          else link.status()['a_to_b']['packets']) > 0, 30)
        time.sleep(2)
        tx.stop()
        time.sleep(1)
        rx.stop()
        st = link.status()
        sent = st['a_to_b']['packets']
        got = rx.last('RX-packets')
        tap.note(f'{label}: link a_to_b {st["a_to_b"]}, testpmd rx {got}')
        if expect_spoofed:
            tap.check(got == 0 and sent == 0 and
                      st['a_to_b']['drops']['spoofed'] > 0,
                      f'{label}: spoofed frames dropped and counted', st)
        else:
            tap.check(sent > 1000, f'{label}: link forwarded frames', st)
            tap.check(0 < got <= sent and got >= sent * 0.9,
                      f'{label}: receiver got what the link forwarded '
                      f'({got} of {sent})', rx.text())
            check_clean(tap, label, st)
        tap.check(link.alive(), f'{label}: link still running', link.text())
    finally:
        stop_all(link, work, tx, rx)


def check_clean(tap, label, st, queues_up=False):
    """No malformed frames, no protocol errors; with queues_up (a status
    taken while both front ends run) every queue ok."""
    tap.check(st['a_to_b']['drops']['malformed'] == 0 and
              st['sides']['a']['protocol_errors'] == 0 and
              st['sides']['b']['protocol_errors'] == 0 and
              (not queues_up or
               all(q['state'] == 'ok' for side in 'ab'
                   for q in st['sides'][side]['queues'])),
              f'{label}: no malformed frames, no protocol errors'
              + (', queues ok' if queues_up else ''), st)


def stop_all(link, work, *pmds):
    for p in pmds:
        if p:
            p.stop()
    link.stop()
    shutil.rmtree(work, ignore_errors=True)


# virtio 1.2 feature bit 35: buffers used in the order they were made
# available (the link returns a transmit batch with one used entry).
VIRTIO_F_IN_ORDER = 1 << 35


def pcap_write(path, frames):
    """A classic pcap file (microsecond, Ethernet) of these frames."""
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack('<IIII', i, 0, len(fr), len(fr)) + fr)


def pcap_read(path):
    """The frames of a pcap file written by DPDK's pcap PMD (either
    byte order, micro- or nanosecond magic)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return []
    endian = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    frames, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack(endian + 'IIII', data[off:off + 16])[2]
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


def in_order_exact(tap, binary, label, devargs):
    """DPDK's front end with VIRTIO_F_IN_ORDER (in_order=1) on both
    sides: the feature is negotiated, and frames of every size from a
    pcap file (read by a pcap port, sent through side a) arrive on side b
    (written by another pcap port) byte for byte and in order."""
    work = scratch_dir()
    rng = random.Random(19)
    dst = bytes.fromhex(MAC_B.replace(':', ''))
    src = bytes.fromhex(MAC_A.replace(':', ''))
    frames = []
    # Fewer than the 256 descriptors of the sender's transmit ring: the
    # pcap port reads the file faster than any link forwards, and testpmd
    # drops what does not fit in the ring (its loss, not the link's).
    for i in range(224):
        size = (60, 1514, rng.randint(60, 1514))[i % 3]
        body = bytes(rng.getrandbits(8) for _ in range(size - 12))
        frames.append(dst + src + body)
    in_pcap = os.path.join(work, 'in.pcap')
    out_pcap = os.path.join(work, 'out.pcap')
    pcap_write(in_pcap, frames)
    link = Link(binary, work, '--mac-a', MAC_A, name=label)
    rx = tx = None
    try:
        # Side b's testpmd: virtio_user port 0 -> pcap port 1 (io).
        rx = Testpmd(work, 'rx', [(link.b, devargs)], 'io',
                     post_vdevs=[f'net_pcap0,tx_pcap={out_pcap}'])
        tap.check(wait_for(connected(link, 'b'), 30),
                  f'{label}: receiver connects', rx.text() + link.text())
        # Side a's: pcap port 0 (the file, once) -> virtio_user port 1.
        # --no-flush-rx: testpmd otherwise drains its ports before it
        # forwards, and the pcap port's frames would be read and freed.
        tx = Testpmd(work, 'tx', [(link.a, f'mac={MAC_A},{devargs}')], 'io',
                     extra_args=['--no-flush-rx'],
                     pre_vdevs=[f'net_pcap1,rx_pcap={in_pcap},'
                                f'tx_pcap={os.path.join(work, "back.pcap")}'])
        tap.check(wait_for(connected(link, 'a'), 30),
                  f'{label}: sender connects', tx.text() + link.text())
        wait_for(lambda: link.status()['a_to_b']['packets'] >= len(frames), 30)
        time.sleep(1)
        st = link.status()
        for side in 'ab':
            feats = int(st['sides'][side]['features'], 16)
            tap.check(feats & VIRTIO_F_IN_ORDER,
                      f'{label}: side {side} negotiated VIRTIO_F_IN_ORDER '
                      f'(features {st["sides"][side]["features"]})', st)
        tx.stop()
        rx.stop()
        got = pcap_read(out_pcap)
        tap.note(f'{label}: link a_to_b {st["a_to_b"]}; {len(got)} of '
                 f'{len(frames)} frames in the receiver\'s pcap')
        same = sum(1 for a, b in zip(frames, got) if a == b)
        tap.check(len(got) == len(frames) and same == len(frames),
                  f'{label}: {same} of {len(frames)} frames arrived byte for '
                  f'byte, in order ({len(got)} arrived)',
                  rx.text() + tx.text() + link.text())
        check_clean(tap, label, st, queues_up=True)
        tap.check(link.alive(), f'{label}: link still running', link.text())
    finally:
        stop_all(link, work, tx, rx)


def both_ways(tap, binary, devargs):
    work = scratch_dir()
    link = Link(binary, work, '--mac-a', MAC_A, '--mac-b', MAC_B, name='io')
    pmd = None
    try:
        pmd = Testpmd(work, 'io', [(link.a, f'mac={MAC_A},{devargs}'),
                                   (link.b, f'mac={MAC_B},{devargs}')],
                      'io', extra_args=['--tx-first'])
        tap.check(wait_for(connected(link, 'a', 'b'), 30),
                  'io: both sides connect', pmd.text() + link.text())
        wait_for(lambda: link.status()['b_to_a']['packets'] > 0, 30)
        time.sleep(2)
        st = link.status()
        tap.note(f'io: a_to_b {st["a_to_b"]["packets"]} '
                 f'b_to_a {st["b_to_a"]["packets"]}')
        tap.check(st['a_to_b']['packets'] > 1000 and
                  st['b_to_a']['packets'] > 1000,
                  'io: frames loop through the link both ways', st)
    finally:
        if pmd:
            pmd.stop()
        link.stop()
        shutil.rmtree(work, ignore_errors=True)


# virtio-net feature bit 22: more than one queue pair.
VIRTIO_NET_F_MQ = 1 << 22


def multiqueue(tap, binary, label, devargs):
    """DPDK's front end with queues=2 on both sides (testpmd --rxq=2
    --txq=2; its control queue stays in the front end) against a link
    with --queues 2: MQ negotiated, all four vrings of each side ok, both
    of A's transmit queues carry frames, both of B's receive queues get
    them (pair i to pair i), the receiver counts what the link
    delivered."""
    work = scratch_dir()
    link = Link(binary, work, '--queues', '2', '--mac-a', MAC_A, name=label)
    rx = tx = None
    try:
        rx = Testpmd(work, 'rx', [(link.b, devargs)], 'rxonly', queues=2)
        tap.check(wait_for(connected(link, 'b'), 30),
                  f'{label}: receiver connects, its 4 queues ok',
                  rx.text() + link.text())
        tx = Testpmd(work, 'tx',
                     [(link.a, ','.join(filter(None, (f'mac={MAC_A}', devargs))))],
                     'txonly', queues=2)
        tap.check(wait_for(connected(link, 'a'), 30),
                  f'{label}: sender connects, its 4 queues ok',
                  tx.text() + link.text())
        wait_for(lambda: link.status()['a_to_b']['packets'] > 0, 30)
        time.sleep(2)
        st = link.status()
        qa, qb = st['sides']['a']['queues'], st['sides']['b']['queues']
        tap.note(f'{label}: a tx chains {qa[1]["used"]} + {qa[3]["used"]}, '
                 f'b rx buffers {qb[0]["used"]} + {qb[2]["used"]}')
        tap.check(len(qa) == 4 and len(qb) == 4 and
                  all(int(st['sides'][s]['features'], 16) & VIRTIO_NET_F_MQ
                      for s in 'ab'),
                  f'{label}: 4 vrings a side, MQ negotiated on both', st)
        tap.check(qa[1]['used'] > 1000 and qa[3]['used'] > 1000,
                  f'{label}: both of A\'s transmit queues carry frames', st)
        tap.check(qb[0]['used'] > 1000 and qb[2]['used'] > 1000,
                  f'{label}: both of B\'s receive queues get them', st)
        check_clean(tap, label, st, queues_up=True)
        tx.stop()
        time.sleep(1)
        rx.stop()
        st = link.status()
        sent, got = st['a_to_b']['packets'], rx.last('RX-packets')
        tap.check(0 < got <= sent and got >= sent * 0.9,
                  f'{label}: receiver got what the link forwarded '
                  f'({got} of {sent})', rx.text())
        tap.check(link.alive(), f'{label}: link still running', link.text())
    finally:
        stop_all(link, work, tx, rx)


def run(tap):
    binary = sys.argv[1]
    mac_args = ('--mac-a', MAC_A)
    one_way(tap, binary, 'split', f'mac={MAC_A}', '', mac_args)
    one_way(tap, binary, 'packed', f'mac={MAC_A},packed_vq=1',
            'packed_vq=1', mac_args)
    one_way(tap, binary, 'no-mrg-rxbuf', f'mac={MAC_A}', 'mrg_rxbuf=0',
            mac_args)
    one_way(tap, binary, 'spoofed', f'mac={MAC_A}', '',
            ('--mac-a', '02:00:00:00:00:99'), expect_spoofed=True)
    both_ways(tap, binary, '')
    in_order_exact(tap, binary, 'in-order split', 'in_order=1')
    in_order_exact(tap, binary, 'in-order packed', 'in_order=1,packed_vq=1')
    one_way(tap, binary, 'no-in-order', f'mac={MAC_A},in_order=0',
            'in_order=0', mac_args)
    multiqueue(tap, binary, 'queues=2 split', '')
    multiqueue(tap, binary, 'queues=2 packed', 'packed_vq=1')


if __name__ == '__main__':
    main_guard(run)
