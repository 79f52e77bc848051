#!/usr/bin/env python3
"""sys-net's configuration checker (driver-vms/net/bk-config) on the host.

    test_sysnet_config.py [BK_CONFIG]

Feeds bk-config one good configuration and one malformed configuration per
rule (docs/sysnet.md) and expects, for each malformed one, exit 1, nothing
on stdout (so /init can never use half of it) and the exact line and
problem on stderr. Runs it under each POSIX shell the host has of busybox
sh (what the VM runs) and dash. Prints TAP. No VMs, no root.
"""
import os
import sys

from config_cases import config_cases

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

V = 'version 1\n'
U = 'uplink dhcp\n'
D = ('downstream mac=52:54:00:5e:00:01 address=10.200.1.1/24 '
     'app-mac=52:54:00:a0:00:01 app-ip=10.200.1.2\n')


def ds(mac='52:54:00:5e:00:02', address='10.200.2.1/24',
       app_mac='52:54:00:a0:00:02', app_ip='10.200.2.2', extra=''):
    return 'downstream mac=%s address=%s app-mac=%s app-ip=%s%s\n' % (
        mac, address, app_mac, app_ip, extra)


GOOD = ('# a comment\n' + V +
        'uplink static address=192.168.77.2/24 gateway=192.168.77.1 '
        'dns=192.168.77.1,9.9.9.9 mac=52:54:00:77:00:02 '
        'address6=2001:DB8:77::2/64 gateway6=fe80::1\n' + D +
        'firewall allow dst=192.168.77.1/32 proto=tcp port=80  # the web\n' +
        'firewall deny proto=udp port=1000-2000\n'
        'firewall allow proto=icmp\n'
        'firewall deny dst=10.0.0.0/8\n' +
        ds(mac='52:54:00:5E:00:02', address='10.200.2.1/30',
           extra=' policy=drop address6=fd00:b1:2::1/64') +
        'firewall allow dst=0.0.0.0/0 proto=tcp\n'
        'firewall allow dst=9.9.9.9/32 proto=udp port=53\n'
        'firewall deny dst=2001:db8:77::/48 proto=tcp port=25\n'
        'firewall allow dst=::/0 proto=icmp\n'
        'talk 10.200.2.2 10.200.1.2\n' + '  # end')
GOOD_OUT = '''UPLINK_MODE=static
UPLINK_ADDR=192.168.77.2
UPLINK_PREFIX=24
UPLINK_GW=192.168.77.1
UPLINK_DNS='192.168.77.1 9.9.9.9'
UPLINK_ADDR6=2001:0db8:0077:0000:0000:0000:0000:0002
UPLINK_PREFIX6=64
UPLINK_GW6=fe80:0000:0000:0000:0000:0000:0000:0001
UPLINK_MAC=52:54:00:77:00:02
DS_1_MAC=52:54:00:5e:00:01
DS_1_APP_MAC=52:54:00:a0:00:01
DS_1_ADDR=10.200.1.1
DS_1_PREFIX=24
DS_1_MASK=255.255.255.0
DS_1_APP_IP=10.200.1.2
DS_1_LINE=4
DS_1_ADDR6=
DS_1_POLICY=accept
DS_1_FW_1='accept 192.168.77.1/32 tcp 80'
DS_1_FW_2='drop any udp 1000-2000'
DS_1_FW_3='accept any icmp'
DS_1_FW_4='drop 10.0.0.0/8 any'
DS_2_MAC=52:54:00:5e:00:02
DS_2_APP_MAC=52:54:00:a0:00:02
DS_2_ADDR=10.200.2.1
DS_2_PREFIX=30
DS_2_MASK=255.255.255.252
DS_2_APP_IP=10.200.2.2
DS_2_LINE=9
DS_2_ADDR6=fd00:00b1:0002:0000:0000:0000:0000:0001
DS_2_NET6=fd00:00b1:0002:0000:0000:0000:0000:0000
DS_2_APP_IP6=fd00:00b1:0002:0000:5054:00ff:fea0:0002
DS_2_APP_LL6=fe80:0000:0000:0000:5054:00ff:fea0:0002
DS_2_POLICY=drop
DS_2_FW_1='accept 0.0.0.0/0 tcp'
DS_2_FW_2='accept 9.9.9.9/32 udp 53'
DS_2_FW_3='drop 2001:0db8:0077:0000:0000:0000:0000:0000/48 tcp 25'
DS_2_FW_4='accept 0000:0000:0000:0000:0000:0000:0000:0000/0 icmp'
TALK_1='2 1'
DS_1_FW_COUNT=4
DS_2_FW_COUNT=4
DS_COUNT=2
TALK_COUNT=1
'''

# (what, configuration, the exact error)
BAD = [
    ('empty', '', 'the configuration is empty'),
    ('comments only', '# nothing\n\n', "no 'version 1' line (nothing but comments)"),
    ('too large', V + U + D + '#' * 16384 + '\n',
     'the configuration is %d bytes (at most 16384)' % (len(V + U + D) + 16385)),
    ('no version line', U + D, "line 1: expected 'version 1' first, not 'uplink'"),
    ('unknown version', 'version 2\n' + U + D, "line 1: version: only 'version 1' is known"),
    ('second version', V + V + U + D, 'line 2: a second version line'),
    ('no uplink', V + D, 'no uplink line'),
    ('no downstream', V + U, 'no downstream line'),
    ('two uplinks', V + U + U + D, 'line 3: a second uplink line (the first is line 2)'),
    ('uplink mode missing', V + 'uplink\n' + D, 'line 2: uplink: dhcp or static is missing'),
    ('uplink mode unknown', V + 'uplink pppoe\n' + D,
     "line 2: uplink: 'pppoe' is neither dhcp nor static"),
    ('dhcp with an address', V + 'uplink dhcp address=1.2.3.4/24\n' + D,
     "line 2: uplink: unknown key 'address' (known: mac)"),
    ('static without gateway', V + 'uplink static address=1.2.3.4/24\n' + D,
     'line 2: uplink: gateway= is missing'),
    ('octet > 255', V + 'uplink static address=1.2.3.256/24 gateway=1.2.3.1\n' + D,
     "line 2: uplink: address '1.2.3.256/24': '1.2.3.256' is not an IPv4 address"),
    ('prefix > 30', V + 'uplink static address=1.2.3.4/31 gateway=1.2.3.1\n' + D,
     "line 2: uplink: address '1.2.3.4/31': prefix length 31 is not in 1..30"),
    ('no prefix', V + 'uplink static address=1.2.3.4 gateway=1.2.3.1\n' + D,
     "line 2: uplink: address '1.2.3.4' is not ADDRESS/PREFIX"),
    ('gateway off-subnet', V + 'uplink static address=1.2.3.4/24 gateway=1.2.4.1\n' + D,
     "line 2: uplink: gateway '1.2.4.1' is outside 1.2.3.0/24"),
    ('gateway is self', V + 'uplink static address=1.2.3.4/24 gateway=1.2.3.4\n' + D,
     'line 2: uplink: gateway 1.2.3.4 is the uplink\'s own address'),
    ('network address', V + 'uplink static address=1.2.3.0/24 gateway=1.2.3.1\n' + D,
     "line 2: uplink: address '1.2.3.0/24' is the network address"),
    ('loopback address', V + 'uplink static address=127.0.0.2/8 gateway=127.0.0.1\n' + D,
     "line 2: uplink: address '127.0.0.2/8' is not a unicast host address"),
    ('four DNS servers', V + 'uplink static address=1.2.3.4/24 gateway=1.2.3.1 '
     'dns=1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4\n' + D, 'line 2: uplink: dns: at most 3 servers'),
    ('uplink overlaps a downstream', V +
     'uplink static address=10.200.1.7/24 gateway=10.200.1.1\n' + D,
     'line 3: downstream: 10.200.1.0/24 overlaps 10.200.1.0/24 (uplink line 2)'),
    ('bad MAC', V + U + D + ds(app_mac='52:54:00:zz:00:02'),
     "line 4: downstream: app-mac '52:54:00:zz:00:02' is not a MAC address "
     "(xx:xx:xx:xx:xx:xx)"),
    ('multicast MAC', V + U + D + ds(app_mac='53:54:00:a0:00:02'),
     'line 4: downstream: app-mac 53:54:00:a0:00:02 is a multicast address'),
    ('zero MAC', V + U + D + ds(mac='00:00:00:00:00:00'),
     'line 4: downstream: mac 00:00:00:00:00:00 is all zeros'),
    ('duplicate interface MAC', V + U + D + ds(mac='52:54:00:5E:00:01'),
     'line 4: downstream: 52:54:00:5e:00:01 is already used (downstream mac (line 3))'),
    ('app MAC equals the uplink MAC', V + 'uplink dhcp mac=52:54:00:a0:00:01\n' + D,
     'line 3: downstream: 52:54:00:a0:00:01 is already used (uplink mac (line 2))'),
    ('overlapping downstreams', V + U + D + ds(address='10.200.1.129/25',
                                               app_ip='10.200.1.130'),
     'line 4: downstream: 10.200.1.128/25 overlaps 10.200.1.0/24 (downstream line 3)'),
    ('app IP off-subnet', V + U + D + ds(app_ip='10.200.3.2'),
     "line 4: downstream: app-ip '10.200.3.2' is outside 10.200.2.0/24"),
    ('app IP is broadcast', V + U + D + ds(app_ip='10.200.2.255'),
     "line 4: downstream: app-ip '10.200.2.255' is the broadcast address"),
    ('app IP is the gateway', V + U + D + ds(app_ip='10.200.2.1'),
     "line 4: downstream: app-ip 10.200.2.1 is sys-net's own address"),
    ('leading zero', V + U + D + ds(app_ip='010.200.2.2'),
     "line 4: downstream: app-ip '010.200.2.2' is not an IPv4 address"),
    ('prefix < 8', V + U + D + ds(address='10.200.2.1/7'),
     "line 4: downstream: address '10.200.2.1/7': prefix length 7 is not in 8..30"),
    ('missing key', V + U + D + 'downstream mac=52:54:00:5e:00:02 address=10.200.2.1/24 '
     'app-mac=52:54:00:a0:00:02\n', 'line 4: downstream: app-ip= is missing'),
    ('repeated key', V + U + D + ds(extra=' app-ip=10.200.2.3'),
     'line 4: downstream: app-ip given twice'),
    ('empty value', V + U + D + ds(mac=''), 'line 4: downstream: mac is empty'),
    ('unknown key', V + U + D + ds(extra=' colour=red'),
     "line 4: downstream: unknown key 'colour' (known: mac address address6 app-mac "
     "app-ip policy)"),
    ('unknown policy', V + U + D + ds(extra=' policy=reject'),
     "line 4: downstream: policy 'reject' is neither accept nor drop"),
    ('rule before any downstream', V + U + 'firewall allow\n' + D,
     'line 3: firewall: a rule before any downstream line (a rule belongs to '
     'the downstream above it)'),
    ('rule without action', V + U + D + 'firewall\n',
     'line 4: firewall: allow or deny is missing'),
    ('rule action unknown', V + U + D + 'firewall permit proto=tcp\n',
     "line 4: firewall: 'permit' is neither allow nor deny"),
    ('rule key unknown', V + U + D + 'firewall allow dport=80\n',
     "line 4: firewall: unknown key 'dport' (known: dst proto port)"),
    ('rule dst without prefix', V + U + D + 'firewall allow dst=192.168.77.1\n',
     "line 4: firewall: dst '192.168.77.1' is not NETWORK/PREFIX"),
    ('rule dst not an address', V + U + D + 'firewall deny dst=10.0.0.256/24\n',
     "line 4: firewall: dst '10.0.0.256/24': '10.0.0.256' is not an IPv4 or IPv6 "
     "address"),
    # IPv6
    ('address6 not an address', V + U + D + ds(extra=' address6=fd00::g/64'),
     "line 4: downstream: address6 'fd00::g/64': 'fd00::g' is not an IPv6 address"),
    ('address6 with two ::', V + U + D + ds(extra=' address6=fd00::1::2/64'),
     "line 4: downstream: address6 'fd00::1::2/64': 'fd00::1::2' is not an IPv6 address"),
    ('address6 with nine groups', V + U + D + ds(extra=' address6=1:2:3:4:5:6:7:8:9/64'),
     "line 4: downstream: address6 '1:2:3:4:5:6:7:8:9/64': '1:2:3:4:5:6:7:8:9' is "
     "not an IPv6 address"),
    ('address6 group of five digits', V + U + D + ds(extra=' address6=fd00::12345/64'),
     "line 4: downstream: address6 'fd00::12345/64': 'fd00::12345' is not an IPv6 "
     "address"),
    ('address6 not a /64', V + U + D + ds(extra=' address6=fd00:1::1/48'),
     "line 4: downstream: address6 'fd00:1::1/48': prefix length 48 is not in 64..64"),
    ('address6 link-local', V + U + D + ds(extra=' address6=fe80::1/64'),
     "line 4: downstream: address6 'fe80::1/64' is not a global or unique-local "
     "unicast address"),
    ('address6 the network', V + U + D + ds(extra=' address6=fd00:1::/64'),
     "line 4: downstream: address6 'fd00:1::/64' is the network address"),
    ('address6 is the app VM\'s', V + U + D +
     ds(extra=' address6=fd00:1::5054:ff:fea0:2/64'),
     "line 4: downstream: address6 'fd00:1::5054:ff:fea0:2/64' is the app VM's own "
     "address (SLAAC from app-mac)"),
    ('overlapping IPv6 downstreams', V + U +
     D.replace('\n', ' address6=fd00:1::1/64\n') +
     ds(extra=' address6=fd00:1:0:0:8000::1/64'),
     'line 4: downstream: fd00:1:0:0:0:0:0:0/64 overlaps fd00:1:0:0:0:0:0:0/64 '
     '(downstream line 3)'),
    ('IPv6 downstream inside the uplink\'s', V +
     'uplink static address=1.2.3.4/24 gateway=1.2.3.1 address6=fd00::2/32 '
     'gateway6=fd00::1\n' + D.replace('\n', ' address6=fd00:0:5::1/64\n'),
     'line 3: downstream: fd00:0:5:0:0:0:0:0/64 overlaps fd00:0:0:0:0:0:0:0/32 '
     '(uplink line 2)'),
    ('dhcp with address6', V + 'uplink dhcp address6=fd00::2/64\n' + D,
     "line 2: uplink: unknown key 'address6' (known: mac)"),
    ('gateway6 without address6', V +
     'uplink static address=1.2.3.4/24 gateway=1.2.3.1 gateway6=fe80::1\n' + D,
     'line 2: uplink: gateway6= without address6='),
    ('address6 without gateway6', V +
     'uplink static address=1.2.3.4/24 gateway=1.2.3.1 address6=fd00::2/64\n' + D,
     'line 2: uplink: address6= without gateway6='),
    ('uplink address6 prefix 128', V +
     'uplink static address=1.2.3.4/24 gateway=1.2.3.1 address6=fd00::2/128 '
     'gateway6=fe80::1\n' + D,
     "line 2: uplink: address6 'fd00::2/128': prefix length 128 is not in 1..127"),
    ('gateway6 multicast', V +
     'uplink static address=1.2.3.4/24 gateway=1.2.3.1 address6=fd00::2/64 '
     'gateway6=ff02::1\n' + D,
     "line 2: uplink: gateway6 'ff02::1' is not a unicast address"),
    ('gateway6 is self', V +
     'uplink static address=1.2.3.4/24 gateway=1.2.3.1 address6=fd00::2/64 '
     'gateway6=fd00:0::2\n' + D,
     "line 2: uplink: gateway6 fd00:0::2 is the uplink's own address"),
    ('rule IPv6 dst host bits', V + U + D + 'firewall deny dst=2001:db8::1/32\n',
     "line 4: firewall: dst '2001:db8::1/32' has host bits set (the network is "
     "2001:db8:0:0:0:0:0:0/32)"),
    ('rule IPv6 dst prefix > 128', V + U + D + 'firewall deny dst=2001:db8::/129\n',
     "line 4: firewall: dst '2001:db8::/129': prefix length 129 is not in 0..128"),
    ('rule IPv6 dst not an address', V + U + D + 'firewall deny dst=2001:db8:::/64\n',
     "line 4: firewall: dst '2001:db8:::/64': '2001:db8:::' is not an IPv6 address"),
    ('rule dst prefix > 32', V + U + D + 'firewall deny dst=10.0.0.0/33\n',
     "line 4: firewall: dst '10.0.0.0/33': prefix length 33 is not in 0..32"),
    ('rule dst prefix not a number', V + U + D + 'firewall deny dst=10.0.0.0/x\n',
     "line 4: firewall: dst '10.0.0.0/x': prefix length 'x' is not a number"),
    ('rule dst host bits', V + U + D + 'firewall deny dst=10.1.2.3/16\n',
     "line 4: firewall: dst '10.1.2.3/16' has host bits set (the network is "
     "10.1.0.0/16)"),
    ('rule proto unknown', V + U + D + 'firewall allow proto=sctp\n',
     "line 4: firewall: proto 'sctp' is not tcp, udp, icmp or any"),
    ('rule port without proto', V + U + D + 'firewall allow port=80\n',
     'line 4: firewall: port= needs proto=tcp or proto=udp'),
    ('rule port with icmp', V + U + D + 'firewall allow proto=icmp port=8\n',
     'line 4: firewall: port= needs proto=tcp or proto=udp'),
    ('rule port 0', V + U + D + 'firewall deny proto=tcp port=0\n',
     "line 4: firewall: port '0' is not a port (1..65535) or a range P-Q"),
    ('rule port > 65535', V + U + D + 'firewall deny proto=tcp port=65536\n',
     "line 4: firewall: port '65536' is not a port (1..65535) or a range P-Q"),
    ('rule port leading zero', V + U + D + 'firewall deny proto=udp port=080\n',
     "line 4: firewall: port '080' is not a port (1..65535) or a range P-Q"),
    ('rule port not a number', V + U + D + 'firewall deny proto=udp port=http\n',
     "line 4: firewall: port 'http' is not a port (1..65535) or a range P-Q"),
    ('rule port range bad end', V + U + D + 'firewall deny proto=tcp port=80-x\n',
     "line 4: firewall: port '80-x': 'x' is not a port (1..65535)"),
    ('rule port range reversed', V + U + D + 'firewall deny proto=tcp port=90-80\n',
     "line 4: firewall: port range '90-80' is empty or a single port"),
    ('rule repeated key', V + U + D + 'firewall deny proto=tcp proto=udp\n',
     'line 4: firewall: proto given twice'),
    ('rule shell syntax', V + U + D + "firewall deny proto=tcp port='$(reboot)'\n",
     "line 4: firewall: port ''$(reboot)'' is not a port (1..65535) or a range P-Q"),
    ('65 rules', V + U + D + 'firewall allow proto=icmp\n' * 65,
     'line 68: firewall: more than 64 rules for one downstream'),
    ('not key=value', V + U + D + ds(extra=' stray'),
     "line 4: downstream: 'stray' is not KEY=VALUE"),
    ('unknown keyword', V + U + D + 'route add default\n',
     "line 4: unknown keyword 'route' (known: uplink, downstream, firewall, talk)"),
    ('talk with one address', V + U + D + ds() + 'talk 10.200.1.2\n',
     'line 5: talk: two app-ip addresses expected, not 1'),
    ('talk not an address', V + U + D + ds() + 'talk 10.200.1.2 10.200.2.x\n',
     "line 5: talk: '10.200.2.x' is not an IPv4 address"),
    ('talk before its downstream', V + U + D + 'talk 10.200.1.2 10.200.2.2\n' + ds(),
     'line 4: talk: no downstream line above has app-ip 10.200.2.2'),
    ('talk with itself', V + U + D + ds() + 'talk 10.200.1.2 10.200.1.2\n',
     'line 5: talk: 10.200.1.2 with itself'),
    ('talk pair twice', V + U + D + ds() + 'talk 10.200.1.2 10.200.2.2\n'
     'talk 10.200.2.2 10.200.1.2\n',
     'line 6: talk: 10.200.2.2 and 10.200.1.2 are already paired'),
    ('control character', V + U + D + 'uplink\x01\n',
     'line 4: a character that is not printable ASCII'),
    ('non-ASCII', V + U + D.replace('address', 'addr\u00e9ss'),
     'line 3: a character that is not printable ASCII'),
    ('shell syntax in a value', V + U + D + ds(app_ip='$(reboot)'),
     "line 4: downstream: app-ip '$(reboot)' is not an IPv4 address"),
    ('glob in a value', V + U + D + ds(app_ip='*'),
     "line 4: downstream: app-ip '*' is not an IPv4 address"),
    ('33 downstreams', V + U + ''.join(
        ds(mac='52:54:00:5e:01:%02x' % i, address='10.201.%d.1/24' % i,
           app_mac='52:54:00:a0:01:%02x' % i, app_ip='10.201.%d.2' % i)
        for i in range(33)), 'line 35: more than 32 downstream lines'),
]


def main(argv):
    bk_config = argv[1] if len(argv) > 1 else os.path.join(
        ROOT, 'driver-vms/net/bk-config')
    return config_cases(bk_config, GOOD, GOOD_OUT, BAD)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
