#!/usr/bin/env python3
"""sys-usb's configuration checker (driver-vms/usb/bk-config) on the host.

    test_sysusb_config.py [BK_CONFIG]

One good configuration and one malformed configuration per rule
(docs/sysusb.md "Configuration"): each malformed one exits 1 with nothing
on stdout and the exact line and problem on stderr, under busybox sh and
dash (config_cases.py). Prints TAP. No VMs, no root.
"""
import os
import sys

from config_cases import config_cases

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

GOOD = ('# sys-usb\n\npin work vidpid 46F4:0001   # before its link line\n'
        'link work 52:54:00:AA:00:01\n'
        '  link p-2\t52:54:00:aa:00:02\n'
        'pin p-2 serial ABC_1.x-9\n'
        'pin work port 1-1.2\n'
        'pin work serial abc\n'
        'input keyboard allow\n'
        'input pointer deny')
GOOD_OUT = '''PIN_1_APP=work
PIN_1_BY=vidpid
PIN_1_VALUE=46f4:0001
LINK_1_APP=work
LINK_1_MAC=52:54:00:aa:00:01
LINK_2_APP=p-2
LINK_2_MAC=52:54:00:aa:00:02
PIN_2_APP=p-2
PIN_2_BY=serial
PIN_2_VALUE=ABC_1.x-9
PIN_3_APP=work
PIN_3_BY=port
PIN_3_VALUE=1-1.2
PIN_4_APP=work
PIN_4_BY=serial
PIN_4_VALUE=abc
LINK_COUNT=2
PIN_COUNT=4
INPUT_KEYBOARD=allow
INPUT_POINTER=deny
'''
L = 'link a 52:54:00:00:00:01\n'
APP_RULE = "is not 1 to 32 of a-z, 0-9 and '-', starting with a letter"
PORT_RULE = 'is not a USB port (BUS-PORT[.PORT...], as 1-1 or 1-1.2)'
MAC_RULE = "is not six hex bytes separated by ':'"


def port(p):
    return ('port %s' % p, L + 'pin a port %s\n' % p,
            "line 2: pin a: port '%s' %s" % (p, PORT_RULE))


# (what, configuration, the exact error)
BAD = [
    ('too large', L + '#' * 16384 + '\n',
     'the configuration is %d bytes (at most 16384)' % (len(L) + 16385)),
    ('unknown key', L + 'attach a 1-1\n',
     "line 2: unknown key 'attach' (known: link, pin, input)"),
    ('an upper-case app', 'link A 52:54:00:00:00:01\n', "line 1: app name 'A' " + APP_RULE),
    ('an app starting with a digit', 'link 1a 52:54:00:00:00:01\n',
     "line 1: app name '1a' " + APP_RULE),
    ('an app with shell syntax', 'link $(reboot) 52:54:00:00:00:01\n',
     "line 1: app name '$(reboot)' " + APP_RULE),
    ('an app of 33 characters', 'link %s 52:54:00:00:00:01\n' % ('a' * 33),
     "line 1: app name '%s' is longer than 32 characters" % ('a' * 33)),
    ('a MAC of five bytes', 'link a 52:54:00:00:01\n',
     "line 1: link a: MAC '52:54:00:00:01' " + MAC_RULE),
    ('a MAC with a bad digit', 'link a 52:54:00:00:00:0g\n',
     "line 1: link a: MAC '52:54:00:00:00:0g' " + MAC_RULE),
    ('a multicast MAC', 'link a 01:00:5e:00:00:01\n',
     'line 1: link a: MAC 01:00:5e:00:00:01 is a multicast address'),
    ('an app linked twice', L + 'link a 52:54:00:00:00:02\n',
     'line 2: link a is given twice (first on line 1)'),
    ('a MAC twice', L + 'link b 52:54:00:00:00:01\n',
     'line 2: link b: MAC 52:54:00:00:00:01 is already app a\'s (line 1)'),
    ('link without a MAC', 'link a\n', "line 1: expected 'link APP MAC'"),
    ('a pin for an app without a link', L + 'pin b vidpid 46f4:0001\n',
     'line 2: pin b: app b has no link line'),
    ('a pin of an unknown kind', L + 'pin a class 08\n',
     "line 2: pin a: 'class' is not vidpid, serial or port"),
    ('a pin without a value', L + 'pin a vidpid\n',
     "line 2: expected 'pin APP vidpid|serial|port VALUE'"),
    ('a vidpid of 3 digits', L + 'pin a vidpid 46f:0001\n',
     "line 2: pin a: vidpid '46f:0001' is not VVVV:PPPP (hex)"),
    ('a vidpid with a glob', L + 'pin a vidpid 46f4:*\n',
     "line 2: pin a: vidpid '46f4:*' is not VVVV:PPPP (hex)"),
    ('a serial with a slash', L + 'pin a serial ab/c\n',
     "line 2: pin a: serial 'ab/c' is not 1 to 64 of A-Z, a-z, 0-9, '.', '_' "
     "and '-'"),
    ('a serial of 65 characters', L + 'pin a serial %s\n' % ('x' * 65),
     "line 2: pin a: serial '%s' is longer than 64 characters" % ('x' * 40)),
    port('1-'), port('-1'), port('1-1..2'), port('1-1.'), port('1-1.2-3'),
    port('a-1'), port('1-1.$x'), port('usb1'),
    ('a device pinned twice', L + 'pin a vidpid 46f4:0001\npin a vidpid 46F4:0001\n',
     'line 3: pin a: vidpid 46f4:0001 is already pinned (line 2)'),
    ('the same serial twice (case kept)', L + 'pin a serial AB\npin a serial ab\n'
     'pin a serial AB\n', 'line 4: pin a: serial AB is already pinned (line 2)'),
    ('257 pins', L + ''.join('pin a port 1-%d\n' % i for i in range(1, 258)),
     'line 258: more than 256 pin lines'),
    ('33 links', ''.join('link a%d 52:54:00:00:01:%02x\n' % (i, i) for i in range(33)),
     'line 33: more than 32 link lines'),
    ('input of a third class', 'input joystick allow\n',
     "line 1: input: 'joystick' is not keyboard or pointer"),
    ('input neither allow nor deny', 'input keyboard yes\n',
     "line 1: input keyboard: 'yes' is not allow or deny"),
    ('input twice', 'input pointer deny\ninput pointer allow\n',
     'line 2: input pointer is given twice (first on line 1)'),
    ('control character', L + 'link b\x01 52:54:00:00:00:02\n',
     'line 2: a character that is not printable ASCII'),
    ('NUL byte', L + 'pin a\x00 port 1-1\n', 'line 2: a character that is not printable ASCII'),
    ('carriage return', 'link a 52:54:00:00:00:01\r\n',
     'line 1: a character that is not printable ASCII'),
]


def main(argv):
    bk_config = argv[1] if len(argv) > 1 else os.path.join(
        ROOT, 'driver-vms/usb/bk-config')
    return config_cases(bk_config, GOOD, GOOD_OUT, BAD)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
