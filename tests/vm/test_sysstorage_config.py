#!/usr/bin/env python3
"""sys-storage's configuration checker (driver-vms/storage/bk-config) on
the host.

    test_sysstorage_config.py [BK_CONFIG]

One good configuration and one malformed configuration per rule
(docs/sysstorage.md "Configuration"): each malformed one exits 1 with
nothing on stdout and the exact line and problem on stderr, under busybox
sh and dash (config_cases.py). Prints TAP. No VMs, no root.
"""
import os
import sys

from config_cases import config_cases

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

GOOD = ('# volumes of the app VMs\n\npool-warn-percent 75\n'
        'volume work-root 10240\n'
        '  volume personal\t1   # a comment\n'
        'volume x 1048576\n'
        'remove old-vm\n'
        'volume 0a-b 3')
GOOD_OUT = '''WARN_PERCENT=75
VOL_1_NAME=work-root
VOL_1_SIZE=10240
VOL_1_LINE=4
VOL_2_NAME=personal
VOL_2_SIZE=1
VOL_2_LINE=5
VOL_3_NAME=x
VOL_3_SIZE=1048576
VOL_3_LINE=6
RM_1_NAME=old-vm
RM_1_LINE=7
VOL_4_NAME=0a-b
VOL_4_SIZE=3
VOL_4_LINE=8
VOL_COUNT=4
RM_COUNT=1
'''
V = 'volume a 10\n'
NAME_RULE = "is not 1 to 32 of a-z, 0-9 and '-', starting with a letter or digit"
SIZE_RULE = 'is not a whole number in 1..1048576'

# (what, configuration, the exact error)
BAD = [
    ('empty', '', 'the configuration is empty'),
    ('too large', V + '#' * 65536 + '\n',
     'the configuration is %d bytes (at most 65536)' % (len(V) + 65537)),
    ('unknown key', V + 'snapshot a\n',
     "line 2: unknown key 'snapshot' (known: pool-warn-percent, volume, remove)"),
    ('key in capitals', 'VOLUME a 10\n',
     "line 1: unknown key 'VOLUME' (known: pool-warn-percent, volume, remove)"),
    ('upper-case name', 'volume Work 10\n', "line 1: volume: name 'Work' " + NAME_RULE),
    ('name with a dot', 'volume a.b 10\n', "line 1: volume: name 'a.b' " + NAME_RULE),
    ('name with a slash', 'volume ../etc 10\n',
     "line 1: volume: name '../etc' " + NAME_RULE),
    ('name with an underscore', 'volume a_b 10\n',
     "line 1: volume: name 'a_b' " + NAME_RULE),
    ('name starting with -', 'volume -a 10\n', "line 1: volume: name '-a' " + NAME_RULE),
    ('name of 33 characters', 'volume %s 10\n' % ('a' * 33),
     "line 1: volume: name '%s' is longer than 32 characters" % ('a' * 33)),
    ('the pool\'s name', 'volume pool 10\n', "line 1: volume: name 'pool' is the "
     "thin pool's own"),
    ('an LVM reserved name', 'volume snapshot1 10\n',
     "line 1: volume: name 'snapshot1': LVM keeps names starting with snapshot or "
     "pvmove"),
    ('shell syntax in a name', 'volume $(reboot) 10\n',
     "line 1: volume: name '$(reboot)' " + NAME_RULE),
    ('glob as a name', 'volume * 10\n', "line 1: volume: name '*' " + NAME_RULE),
    ('size 0', 'volume a 0\n', "line 1: volume a: size '0' " + SIZE_RULE),
    ('size too large', 'volume a 1048577\n', "line 1: volume a: size '1048577' "
     + SIZE_RULE),
    ('size huge', 'volume a 99999999999999999999\n',
     "line 1: volume a: size '99999999999999999999' " + SIZE_RULE),
    ('size with a leading zero', 'volume a 010\n', "line 1: volume a: size '010' "
     + SIZE_RULE),
    ('size with a unit', 'volume a 10G\n', "line 1: volume a: size '10G' " + SIZE_RULE),
    ('size negative', 'volume a -1\n', "line 1: volume a: size '-1' " + SIZE_RULE),
    ('size missing', 'volume a\n', "line 1: expected 'volume NAME SIZE_MIB'"),
    ('an extra field', 'volume a 10 ext4\n', "line 1: expected 'volume NAME SIZE_MIB'"),
    ('a volume twice', V + V, 'line 2: volume a is listed twice (first on line 1)'),
    ('a volume to keep and remove', V + 'remove a\n',
     'line 2: remove a: volume a is also listed to be kept (line 1)'),
    ('a volume to remove and keep', 'remove a\n' + V,
     'line 2: volume a is also to be removed (line 1)'),
    ('a remove twice', 'remove a\nremove a\n',
     'line 2: remove a is listed twice (first on line 1)'),
    ('remove without a name', 'remove\n', "line 1: expected 'remove NAME'"),
    ('remove a bad name', 'remove A\n', "line 1: remove: name 'A' " + NAME_RULE),
    ('257 volumes', ''.join('volume v%d 1\n' % i for i in range(257)),
     'line 257: more than 256 volume lines'),
    ('257 removes', ''.join('remove v%d\n' % i for i in range(257)),
     'line 257: more than 256 remove lines'),
    ('warn percent 0', 'pool-warn-percent 0\n',
     "line 1: pool-warn-percent '0' is not a whole number in 1..100"),
    ('warn percent 101', 'pool-warn-percent 101\n',
     "line 1: pool-warn-percent '101' is not a whole number in 1..100"),
    ('warn percent twice', 'pool-warn-percent 80\npool-warn-percent 90\n',
     'line 2: pool-warn-percent is given twice (first on line 1)'),
    ('warn percent missing', 'pool-warn-percent\n', "line 1: expected 'pool-warn-percent N'"),
    ('control character', V + 'volume b\x01 10\n',
     'line 2: a character that is not printable ASCII'),
    ('NUL byte', V + 'volume b\x00 10\n', 'line 2: a character that is not printable ASCII'),
    ('carriage return', 'volume a 10\r\n', 'line 1: a character that is not printable ASCII'),
    ('non-ASCII', 'volume caf\u00e9 10\n', 'line 1: a character that is not printable ASCII'),
]


def main(argv):
    bk_config = argv[1] if len(argv) > 1 else os.path.join(
        ROOT, 'driver-vms/storage/bk-config')
    return config_cases(bk_config, GOOD, GOOD_OUT, BAD)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
