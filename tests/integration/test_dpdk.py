#!/usr/bin/env python3
"""bulkhead-link against DPDK 22.11's virtio_user front end (testpmd):
txonly on one side, rxonly on the other, split and packed rings, with and
without mergeable receive buffers; io forwarding both ways; the source-MAC
check. No VM needed.

Usage: test_dpdk.py BULKHEAD_LINK"""
import shutil
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
            tap.check(st['a_to_b']['drops']['malformed'] == 0 and
                      st['sides']['a']['protocol_errors'] == 0 and
                      st['sides']['b']['protocol_errors'] == 0,
                      f'{label}: no malformed frames, no protocol errors',
                      st)
        tap.check(link.alive(), f'{label}: link still running', link.text())
    finally:
        for p in (tx, rx):
            if p:
                p.stop()
        link.stop()
        shutil.rmtree(work, ignore_errors=True)


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


if __name__ == '__main__':
    main_guard(run)
