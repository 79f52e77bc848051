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
# Debian packages whose versions are part of the key: the compiler, the
# linker, objtool's libelf, the bzImage's gzip, the parser generators.
TOOLCHAIN_PACKAGES = ['gcc-12', 'binutils', 'libc6-dev', 'libelf-dev', 'gzip',
                      'make', 'bison', 'flex', 'bc']
BUILD_ENV = {'KBUILD_BUILD_TIMESTAMP': '2023-06-10',
             'KBUILD_BUILD_USER': 'bulkhead', 'KBUILD_BUILD_HOST': 'bulkhead',
             'KBUILD_BUILD_VERSION': '1', 'LC_ALL': 'C'}


def missing_packages():
    """Host packages the build needs and the host lacks."""
    return sorted({p for t, p in TOOLS.items() if not shutil.which(t)} |
                  {p for h, p in HEADERS.items() if not os.path.exists(h)})


def clean_env():
    """BUILD_ENV and only PATH from the caller's environment: CC, ARCH,
    LOCALVERSION, KBUILD_OUTPUT, KCFLAGS or MAKEFLAGS would change the
    kernel without changing its cache key."""
    return dict(BUILD_ENV, PATH=os.environ.get('PATH', '/usr/bin:/bin'))


def output(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True, env=clean_env())
    return r.stdout


def key(source):
    """The cache key: this file, the configuration, the source package
    (name, version, sha256), the gcc on PATH and the toolchain's Debian
    package versions."""
    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), CONFIG):
        with open(path, 'rb') as f:
            h.update(b'\nfile %d\n' % os.path.getsize(path) + f.read())
    h.update(('\n%s=%s sha256=%s\n' % tuple(source)).encode())
    h.update(output(['gcc', '--version']).encode())
    h.update(output(['dpkg-query', '-W', '-f', '${Package}=${Version}\n',
                     *TOOLCHAIN_PACKAGES]).encode())
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


def step(what, cmd, log_path, failed_log):
    """Runs one step of the build, its output appended to LOG_PATH; on
    failure keeps that log as FAILED_LOG and exits naming the step."""
    with open(log_path, 'a') as logf:
        logf.write('\n$ %s\n' % ' '.join(cmd))
        logf.flush()
        r = subprocess.run(cmd, env=clean_env(), stdout=logf,
                           stderr=subprocess.STDOUT)
    if r.returncode != 0:
        shutil.copyfile(log_path, failed_log)
        with open(log_path, errors='replace') as logf:
            tail = logf.read()[-3000:]
        sys.exit('build-images: sys-net kernel: %s failed (exit %d; the whole'
                 ' log is %s):\n%s' % (what, r.returncode, failed_log, tail))


def build(deb, work, out, log, failed_log):
    """Builds the kernel from the source package DEB in WORK (scratch) into
    OUT: vmlinuz, config, lib/modules/RELEASE/. Returns the manifest. A
    failed step exits naming it, its log kept as FAILED_LOG."""
    started = time.monotonic()
    log_path = os.path.join(work, 'build.log')
    step('unpacking ' + deb, ['dpkg-deb', '-x', deb, work], log_path, failed_log)
    srcdir = os.path.join(work, 'usr/src')
    tarballs = [f for f in os.listdir(srcdir)
                if re.fullmatch(r'linux-source-[0-9.]+\.tar\.xz', f)]
    if len(tarballs) != 1:
        sys.exit('build-images: %s holds %s, not one source tarball'
                 % (deb, tarballs))
    log('unpacking', tarballs[0])
    step('unpacking ' + tarballs[0], ['tar', '-xJf', os.path.join(srcdir, tarballs[0]),
                                      '-C', work], log_path, failed_log)
    src = os.path.join(work, tarballs[0][:-len('.tar.xz')])
    jobs = '-j%d' % ((os.cpu_count() or 1) + 1)

    def make(*targets):
        step('make ' + ' '.join(targets), ['make', '-C', src, jobs, *targets],
             log_path, failed_log)

    make('KCONFIG_ALLCONFIG=' + CONFIG, 'allnoconfig')
    check_config(os.path.join(src, '.config'))
    log('compiling the sys-net kernel (several minutes on 2 cores)')
    make('bzImage', 'modules')
    release = output(['make', '-s', '-C', src, 'kernelrelease']).strip()
    if not re.fullmatch(r'[0-9][0-9A-Za-z.+_-]*', release):
        sys.exit('build-images: sys-net kernel: make kernelrelease gave %r'
                 % release)
    make('INSTALL_MOD_PATH=' + out, 'modules_install')
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
