#!/usr/bin/env python3
"""sys-net's kernel configuration check (guest-os/sysnet_kernel.py), on the
host, without compiling: every option guest-os/sysnet-kernel.config asks
for must be in the built .config, and one Kconfig dropped stops the build
naming it. Then, when the image cache holds a built kernel, its .config
passes the same check against today's configuration file.

    test_sysnet_kernel.py

Prints TAP.
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'guest-os'))
sys.path.insert(0, HERE)
import sysnet_kernel  # noqa: E402
from vmlib import Tap, image_dir  # noqa: E402


def verdict(dotconfig_text, fragment=None):
    """None when check_config accepts, else its message."""
    with tempfile.TemporaryDirectory() as d:
        dotconfig = os.path.join(d, '.config')
        with open(dotconfig, 'w') as f:
            f.write(dotconfig_text)
        saved = sysnet_kernel.CONFIG
        if fragment is not None:
            sysnet_kernel.CONFIG = os.path.join(d, 'fragment.config')
            with open(sysnet_kernel.CONFIG, 'w') as f:
                f.write(fragment)
        try:
            sysnet_kernel.check_config(dotconfig)
            return None
        except SystemExit as e:
            return str(e.code)
        finally:
            sysnet_kernel.CONFIG = saved


def main():
    built = os.path.join(image_dir(), 'sysnet-kernel', 'config')
    tap = Tap(8 if os.path.exists(built) else 7)
    want = sysnet_kernel.wanted_options()
    full = ''.join('%s=%s\n' % kv for kv in want.items())
    # A .config as make writes it: what was asked for, plus much else.
    full += '# CONFIG_USB_SUPPORT is not set\nCONFIG_GENERIC_BUG=y\n'
    tap.check(len(want) > 100 and verdict(full) is None,
              'a .config with every option asked for passes (%d options)'
              % len(want), verdict(full) or '')

    dropped = ''.join(l for l in full.splitlines(True)
                      if not l.startswith('CONFIG_NFT_MASQ='))
    msg = verdict(dropped) or ''
    tap.check('CONFIG_NFT_MASQ=y (the kernel has it unset)' in msg,
              'an option Kconfig dropped stops the build, naming it',
              'message: %r' % msg)

    cpus = want['CONFIG_NR_CPUS']
    other = full.replace('CONFIG_NR_CPUS=%s\n' % cpus,
                         'CONFIG_NR_CPUS=%d\n' % (int(cpus) + 1))
    msg = verdict(other) or ''
    tap.check('CONFIG_NR_CPUS=%s (the kernel has %d)' % (cpus, int(cpus) + 1)
              in msg,
              'an option with another value stops the build, naming both',
              'message: %r' % msg)

    module = full.replace('CONFIG_E1000E=m\n', 'CONFIG_E1000E=y\n')
    msg = verdict(module) or ''
    tap.check('CONFIG_E1000E=m (the kernel has y)' in msg,
              'a NIC driver built in instead of a module is caught too '
              '(modalias loading expects modules)', 'message: %r' % msg)

    msg = verdict(full, 'CONFIG_A=y\nthis is not an option\n') or ''
    tap.check('fragment.config:2:' in msg and 'this is not an option' in msg,
              'a malformed line in the configuration file is named by line',
              'message: %r' % msg)

    with tempfile.TemporaryDirectory() as d:
        src = ('linux-source-6.1', '6.1.1-1', 'ab' * 32)
        k1 = sysnet_kernel.key(src)
        k2 = sysnet_kernel.key(src[:1] + ('6.1.1-2',) + src[2:])
        saved = sysnet_kernel.CONFIG
        sysnet_kernel.CONFIG = os.path.join(d, 'c')
        with open(sysnet_kernel.CONFIG, 'w') as f:
            f.write('CONFIG_A=y\n')
        k3 = sysnet_kernel.key(src)
        sysnet_kernel.CONFIG = saved
    tap.check(len({k1, k2, k3}) == 3 and k1 == sysnet_kernel.key(src),
              'the cache key follows the source version and the configuration',
              '%s %s %s' % (k1[:12], k2[:12], k3[:12]))

    # A failed build step: named, with its output's end, the log kept.
    with tempfile.TemporaryDirectory() as d:
        log, kept = os.path.join(d, 'build.log'), os.path.join(d, 'failed.log')
        try:
            sysnet_kernel.step('make bzImage', ['sh', '-c', 'echo ld: boom; exit 3'],
                               log, kept)
            msg = ''
        except SystemExit as e:
            msg = str(e.code)
        kept_ok = os.path.exists(kept) and 'ld: boom' in open(kept).read()
    tap.check('make bzImage failed (exit 3' in msg and 'ld: boom' in msg and
              kept_ok, 'a failed build step is named, with its output, and its'
              ' log kept', 'message: %r, log kept: %s' % (msg, kept_ok))

    if os.path.exists(built):
        with open(built) as f:
            msg = verdict(f.read())
        tap.check(msg is None, 'the cached sys-net kernel\'s .config has every '
                  'option asked for (%s)' % built, msg or '')
    tap.finish()
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
