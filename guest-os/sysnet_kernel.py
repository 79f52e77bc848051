"""sys-net's own kernel, built from Debian's linux-source-6.1 package.

Debian's generic kernel (linux-image-amd64) cannot boot in sys-net's 64
MiB: its bzImage asks for 63 MiB of init_size above a 16 MiB load address.
This one is `make allnoconfig` with guest-os/sysnet-kernel.config as
KCONFIG_ALLCONFIG: the VM's own devices, routing, nftables and the hardening
are built in, the NIC drivers are modules that bk-modalias loads by PCI
modalias as before. build-images downloads the source package, calls
build() and caches the result under its image directory; key() says when
the cache is stale.

The build is reproducible: fixed KBUILD_BUILD_TIMESTAMP/USER/HOST/VERSION,
no debug info, no module signing, and the kernel's own
-fmacro-prefix-map keeps the build directory out of the image.
"""
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, 'sysnet-kernel.config')
SOURCE_PACKAGE = 'linux-source-6.1'
# Host packages the build runs (build-images installs them when missing):
# command -> package, and header -> package (objtool needs libelf).
TOOLS = {'make': 'make', 'gcc': 'gcc', 'ld': 'binutils', 'bc': 'bc',
         'bison': 'bison', 'flex': 'flex', 'tar': 'tar', 'xz': 'xz-utils'}
HEADERS = {'/usr/include/gelf.h': 'libelf-dev'}
BUILD_ENV = {'KBUILD_BUILD_TIMESTAMP': '2023-06-10',
             'KBUILD_BUILD_USER': 'bulkhead', 'KBUILD_BUILD_HOST': 'bulkhead',
             'KBUILD_BUILD_VERSION': '1', 'LC_ALL': 'C'}


def missing_packages():
    """Host packages the build needs and the host lacks."""
    return sorted({p for t, p in TOOLS.items() if not shutil.which(t)} |
                  {p for h, p in HEADERS.items() if not os.path.exists(h)})


def first_line(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True)
    return r.stdout.splitlines()[0] if r.returncode == 0 and r.stdout else '?'


def key(source):
    """The cache key: this file, the configuration, the source package
    (name, version, sha256) and the host's compiler and linker."""
    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), CONFIG):
        with open(path, 'rb') as f:
            h.update(b'\nfile %d\n' % os.path.getsize(path) + f.read())
    h.update(('\n%s=%s sha256=%s\n' % tuple(source)).encode())
    for cmd in (['gcc', '--version'], ['ld', '--version']):
        h.update((first_line(cmd) + '\n').encode())
    return h.hexdigest()


def wanted_options():
    """{CONFIG_X: value} the configuration file asks for."""
    want = {}
    with open(CONFIG) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            m = re.fullmatch(r'(CONFIG_[A-Z0-9_]+)=(.+)', line)
            if not m:
                sys.exit('build-images: %s:%d: not CONFIG_X=VALUE: %r'
                         % (CONFIG, n, line))
            want[m.group(1)] = m.group(2)
    return want


def check_config(dotconfig):
    """Exits naming each option Kconfig dropped (a dependency the file does
    not satisfy, or a name this kernel does not have)."""
    have = {}
    with open(dotconfig) as f:
        for line in f:
            m = re.fullmatch(r'(CONFIG_[A-Z0-9_]+)=(.+)', line.strip())
            if m:
                have[m.group(1)] = m.group(2)
    lost = ['%s=%s (the kernel has %s)' % (k, v, have.get(k, 'it unset'))
            for k, v in wanted_options().items() if have.get(k) != v]
    if lost:
        sys.exit('build-images: sysnet-kernel.config: not in the built '
                 'configuration:\n  ' + '\n  '.join(lost))


def make(src, log_path, *targets):
    env = dict(os.environ, **BUILD_ENV)
    with open(log_path, 'a') as logf:
        r = subprocess.run(['make', '-C', src, '-j%d' % ((os.cpu_count() or 1) + 1),
                            *targets], env=env, stdout=logf,
                           stderr=subprocess.STDOUT)
    if r.returncode != 0:
        with open(log_path, errors='replace') as logf:
            tail = logf.read()[-3000:]
        sys.exit('build-images: sys-net kernel: make %s failed:\n%s'
                 % (' '.join(targets), tail))


def build(deb, work, out, log):
    """Builds the kernel from the source package DEB in WORK (scratch) into
    OUT: vmlinuz, config, lib/modules/RELEASE/. Returns the manifest."""
    started = time.monotonic()
    subprocess.run(['dpkg-deb', '-x', deb, work], check=True)
    tarballs = [f for f in os.listdir(os.path.join(work, 'usr/src'))
                if re.fullmatch(r'linux-source-[0-9.]+\.tar\.xz', f)]
    if len(tarballs) != 1:
        sys.exit('build-images: %s holds %s, not one source tarball'
                 % (deb, tarballs))
    log('unpacking', tarballs[0])
    subprocess.run(['tar', '-xJf', os.path.join(work, 'usr/src', tarballs[0]),
                    '-C', work], check=True)
    src = os.path.join(work, tarballs[0][:-len('.tar.xz')])
    log_path = os.path.join(work, 'make.log')
    make(src, log_path, 'KCONFIG_ALLCONFIG=' + CONFIG, 'allnoconfig')
    check_config(os.path.join(src, '.config'))
    log('compiling the sys-net kernel (several minutes on 2 cores)')
    make(src, log_path, 'bzImage', 'modules')
    release = subprocess.run(['make', '-s', '-C', src, 'kernelrelease'],
                             stdout=subprocess.PIPE, text=True,
                             check=True).stdout.strip()
    make(src, log_path, 'INSTALL_MOD_PATH=' + out, 'modules_install')
    moddir = os.path.join(out, 'lib/modules', release)
    for link in ('build', 'source'):
        if os.path.lexists(os.path.join(moddir, link)):
            os.unlink(os.path.join(moddir, link))
    bzimage = os.path.join(src, 'arch/x86/boot/bzImage')
    shutil.copyfile(bzimage, os.path.join(out, 'vmlinuz'))
    shutil.copyfile(os.path.join(src, '.config'), os.path.join(out, 'config'))
    with open(bzimage, 'rb') as f:
        header = f.read(0x264)
    return {'release': release,
            'vmlinuz_bytes': os.path.getsize(bzimage),
            # What the boot protocol reserves from the load address on.
            'init_size_bytes': struct.unpack_from('<I', header, 0x260)[0],
            'build_seconds': round(time.monotonic() - started)}
