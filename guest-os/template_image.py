"""The Debian app VM templates (docs/templates.md): each a root file
system made by mmdebstrap from the host's Debian archive, the files of its
folders under guest-os/ copied in as they are, packed as ext4 on a whole
qcow2 disk, with the kernel and a small initramfs beside it for direct
kernel boot. TEMPLATES says which there are; build-images builds each
through versioned_cache (one Template per entry) and caches it under
IMAGE_DIR/templates/NAME/VERSION/; Template.key() says when it is stale.

The build is reproducible (build-images --check): mmdebstrap runs in
root mode (the tree's owners are real, mkfs.ext4 -d copies them) with
SOURCE_DATE_EPOCH; every mtime past it is clamped to it; mkfs.ext4 gets a
UUID and a directory hash seed from the key and E2FSPROGS_FAKE_TIME; and
debugfs sets the times mkfs.ext4 -d copies from the tree but no one can
set there (ctime, atime) and the superblock's write time.
"""
import collections
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import app_image
import debian_apt
import minbase_tree
from image_util import SOURCE_DATE_EPOCH, log, run, sha256_file, write
from initramfs import tree_bytes

HERE = os.path.dirname(os.path.abspath(__file__))
# What every template has: a VM bulkhead boots, reaches through
# qemu-guest-agent and sys-net, with its private volume.
BASE_PACKAGES = ['systemd', 'systemd-sysv', 'udev', 'dbus',
                 'systemd-resolved', 'iproute2', 'qemu-guest-agent',
                 'openssh-server', 'linux-image-amd64', 'initramfs-tools',
                 'e2fsprogs', 'curl', 'sudo', 'ca-certificates', 'less',
                 'procps', 'cryptsetup-bin', 'socat']
# A small desktop on the VM's virtio-gpu screen, drawn by the CPU (no GPU
# under TCG, none passed through): weston's DRM backend with its pixman
# renderer, started for the user through logind (libpam-systemd makes
# the session that hands weston the screen and the input devices), and
# NetSurf's GTK 3 front end as the browser (Wayland-native, a few MiB
# beside GTK; firefox-esr is ten times the size).
DESKTOP_PACKAGES = ['weston', 'libpam-systemd', 'netsurf-gtk',
                    'fonts-dejavu-core']
# One template: its packages (and what they depend on), the folders under
# guest-os/ whose files are copied into its tree (in order: a later one's
# file replaces an earlier one's), whether build-images makes it without
# being asked (up then builds it when it is missing; any other is built by
# `build-images --template NAME`), and shell run in its tree after
# CUSTOMIZE. The cache key covers the name, the files and this file.
# orchestration/core/app_template.c names the same templates
# (test_command.py compares).
Spec = collections.namedtuple('Spec', 'packages trees default customize')
TEMPLATES = {
    'debian': Spec(BASE_PACKAGES, ['template-debian'], True, ''),
    # tty1, the VT in front at boot, is the desktop's (bk-desktop.service):
    # a getty there would hold it. Without a screen there is no tty1 to
    # log in on; the serial console keeps its getty.
    'debian-desktop': Spec(BASE_PACKAGES + DESKTOP_PACKAGES,
                           ['template-debian', 'template-desktop'], False,
                           'systemctl disable getty@tty1.service\n'),
}
OUTPUTS = ['root.qcow2', 'vmlinuz', 'initrd.img']
# USB devices from sys-usb (docs/sysusb.md "USB/IP over the link"): the app
# image's import and status scripts, run here by bk-usb.service and the
# host's `usb attach`; bk-usb-import's `read -t -n` wants bash, not dash.
USB_FILES = {
    'usr/sbin/bk-usb-import':
        app_image.USB_IMPORT.replace('#!/bin/sh\n', '#!/bin/bash\n', 1),
    'usr/sbin/bk-usb-status': app_image.USB_STATUS,
}
LABEL = 'bk-root'
USER_UID = 1000
# The root file system's size: the tree and at least this much room for
# what a VM writes in one session (its overlay starts from this disk).
MIN_DISK_BYTES = 2 << 30
HEADROOM_BYTES = 1 << 30
# Host commands the build runs -> their packages (build-images installs
# the missing ones).
TOOLS = {'mmdebstrap': 'mmdebstrap', 'mkfs.ext4': 'e2fsprogs',
         'debugfs': 'e2fsprogs',
         'qemu-img': 'qemu-utils'}

# Runs in the finished tree (chroot) after the packages: the account, the
# units, and what must not be shared by every VM made from the template.
CUSTOMIZE = r'''set -eu
useradd --uid %(uid)d --user-group --groups sudo --shell /bin/bash \
	--no-create-home --home-dir /home/user user
# No password: the console logs in by itself, sudo asks for none.
usermod --password '*' user
chmod 0440 /etc/sudoers.d/bulkhead
mkdir -p /rw
systemctl enable bk-private.service bk-usb.service \
	systemd-networkd.service systemd-resolved.service
# Every start is a fresh root (docs/templates.md "Boot"): no timer here
# outlives a restart, nothing needs utmp's boot record, and each of these
# costs seconds of every boot under TCG.
systemctl mask e2scrub_reap.service e2scrub_all.timer apt-daily.timer \
	apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer \
	systemd-update-utmp.service systemd-update-utmp-runlevel.service \
	sys-kernel-debug.mount sys-kernel-tracing.mount
# Each VM makes its own on its private volume (bk-private).
rm -f /etc/ssh/ssh_host_*
# systemd takes the one on the kernel command line (systemd.machine_id=);
# mmdebstrap's cleanup empties it too and removes dbus's copy.
: > /etc/machine-id
echo localhost > /etc/hostname
chmod 0644 /etc/hostname
ln -sf ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
%(template)s'''


def missing_packages():
    return sorted({p for t, p in TOOLS.items() if not shutil.which(t)})


def tree_files(trees):
    """[(path in the image, path here)] of the files of TREES (folders
    under guest-os/), in layering order, each folder's sorted."""
    out = []
    for tree in trees:
        top = os.path.join(HERE, tree)
        files = []
        for root, _dirs, names in os.walk(top):
            for f in names:
                p = os.path.join(root, f)
                files.append(('/' + os.path.relpath(p, top), p))
        out += sorted(files)
    return out


def unmount_under(path):
    """Unmounts whatever is mounted in PATH (mmdebstrap's /proc, /sys,
    /dev/pts of a build that was killed), deepest first, so that removing
    PATH never walks into them."""
    path = os.path.realpath(path)
    with open('/proc/self/mountinfo') as f:
        points = [line.split()[4] for line in f]
    inside = [p for p in points if p == path or p.startswith(path + '/')]
    for p in sorted(set(inside), key=len, reverse=True):
        subprocess.run(['umount', '-l', p], stderr=subprocess.DEVNULL)


def clamp_mtimes(root):
    """Every mtime past SOURCE_DATE_EPOCH set to it (files the hooks made,
    the initramfs), symbolic links included."""
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            if os.lstat(p).st_mtime > SOURCE_DATE_EPOCH:
                os.utime(p, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH),
                         follow_symlinks=False)
    os.utime(root, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH))


def settle_times(root, raw):
    """Sets every inode's atime, ctime and crtime in the file system RAW
    (made from ROOT) to SOURCE_DATE_EPOCH, and its write time: mkfs.ext4
    -d copies atime and ctime from the tree, where they are the build's."""
    epoch = '@%d' % SOURCE_DATE_EPOCH
    cmds = []
    paths = ['/']
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            paths.append('/' + os.path.relpath(os.path.join(dirpath, name),
                                               root))
    for p in paths:
        # debugfs's parser has no escape for these.
        if '"' in p or '\n' in p:
            sys.exit('build-images: template: a path debugfs cannot name: %r'
                     % p)
        for field in ('atime', 'ctime', 'crtime'):
            cmds.append('sif "%s" %s %s' % (p, field, epoch))
            cmds.append('sif "%s" %s_extra 0' % (p, field))
    cmds.append('ssv wtime ' + epoch)
    script = raw + '.debugfs'
    with open(script, 'w') as f:
        f.write('\n'.join(cmds) + '\n')
    # debugfs says what failed on stderr but exits 0 all the same.
    r = subprocess.run(['debugfs', '-w', '-f', script, raw],
                       env=dict(os.environ,
                                E2FSPROGS_FAKE_TIME=str(SOURCE_DATE_EPOCH)),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    errors = [l for l in r.stderr.splitlines()
              if l.strip() and not l.startswith('debugfs ')]
    if r.returncode != 0 or errors:
        sys.exit('build-images: template: debugfs (exit %d):\n%s'
                 % (r.returncode, '\n'.join(errors[:20])))
    os.unlink(script)


def ids_from(k):
    """The file system's UUID and directory hash seed, fixed by the key."""
    d = hashlib.sha256(('bulkhead template ' + k).encode()).digest()
    return (str(uuid.UUID(bytes=d[:16], version=4)),
            str(uuid.UUID(bytes=d[16:], version=4)))


def mmdebstrap(tmpl, root, log_path):
    """The tree: --variant=minbase with the template's packages, its
    folders' files copied in before them (initramfs-tools reads its
    configuration when the kernel's package builds the first initramfs),
    CUSTOMIZE after."""
    # cp, not sync-in: as root, cp makes root the owner; umask 022 leaves
    # the repository's executable bits and nothing else.
    copies = '; '.join('cp -R %s/. "$1/"' % shlex.quote(os.path.join(HERE, t))
                       for t in tmpl.spec.trees)
    customize = CUSTOMIZE % {'uid': USER_UID,
                             'template': tmpl.spec.customize}
    minbase_tree.build(root, tmpl.PACKAGES, [
        '--setup-hook=umask 022; ' + copies,
        '--customize-hook=chroot "$1" /bin/sh -c \'%s\''
        % customize.replace("'", "'\\''")],
        log_path, 'template ' + tmpl.name)


def installed(root):
    """[{package, version}] of the tree's dpkg database."""
    out = subprocess.run(['dpkg-query', '--admindir',
                          os.path.join(root, 'var/lib/dpkg'), '-W', '-f',
                          '${Package}\t${Version}\n'], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return [{'package': p, 'version': v} for p, v in
            sorted(line.split('\t') for line in out.splitlines())]


def kernel_files(root):
    """(release, vmlinuz, initrd.img) of the tree's one kernel."""
    boot = os.path.join(root, 'boot')
    releases = sorted(f[len('vmlinuz-'):] for f in os.listdir(boot)
                      if f.startswith('vmlinuz-'))
    if len(releases) != 1:
        sys.exit('build-images: template: kernels in /boot: %s' % releases)
    rel = releases[0]
    initrd = os.path.join(boot, 'initrd.img-' + rel)
    if not os.path.isfile(initrd):
        sys.exit('build-images: template: no %s' % initrd)
    return rel, os.path.join(boot, 'vmlinuz-' + rel), initrd


def disk_bytes(tree_size):
    size = max(MIN_DISK_BYTES, tree_size + HEADROOM_BYTES)
    return (size + (256 << 20) - 1) // (256 << 20) * (256 << 20)


def build(tmpl, k, work, out):
    """Builds template TMPL into OUT (an empty directory) in WORK (scratch
    on the same file system, mmdebstrap's mounts undone by the caller's
    unmount_under when killed). Returns the manifest."""
    started = time.monotonic()
    root = os.path.join(work, 'root')
    log('building template %s (mmdebstrap, a few minutes)' % tmpl.name)
    mmdebstrap(tmpl, root, os.path.join(work, 'mmdebstrap.log'))
    unmount_under(root)
    for name, text in USB_FILES.items():
        write(os.path.join(root, name), text.encode(), 0o755)
    kver, vmlinuz, initrd = kernel_files(root)
    for src, name in ((vmlinuz, 'vmlinuz'), (initrd, 'initrd.img')):
        shutil.copyfile(src, os.path.join(out, name))
    clamp_mtimes(root)
    size = tree_bytes(root)
    raw = os.path.join(work, 'root.raw')
    with open(raw, 'wb') as f:
        f.truncate(disk_bytes(size))
    fs_uuid, hash_seed = ids_from(k)
    env = dict(os.environ, E2FSPROGS_FAKE_TIME=str(SOURCE_DATE_EPOCH))
    run(['mkfs.ext4', '-q', '-F', '-L', LABEL, '-U', fs_uuid,
         '-E', 'hash_seed=%s,root_owner=0:0' % hash_seed, '-d', root, raw],
        env=env)
    settle_times(root, raw)
    run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', raw,
         os.path.join(out, 'root.qcow2')])
    os.unlink(raw)
    for name in OUTPUTS:
        os.chmod(os.path.join(out, name), 0o644)
    m = {'template': tmpl.name, 'version': k[:16], 'key': k,
         'packages': installed(root),
         'kernel_version': kver, 'tree_bytes': size,
         'qcow2_bytes': os.path.getsize(os.path.join(out, 'root.qcow2')),
         'initrd_bytes': os.path.getsize(os.path.join(out, 'initrd.img')),
         'fs_uuid': fs_uuid, 'source_date_epoch': SOURCE_DATE_EPOCH,
         'sha256': {n: sha256_file(os.path.join(out, n)) for n in OUTPUTS}}
    m['build_seconds'] = round(time.monotonic() - started, 1)
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(m, f, indent=2, sort_keys=True)
        f.write('\n')
    os.chmod(os.path.join(out, 'manifest.json'), 0o644)
    return m


def is_version(name):
    """Whether NAME is a version directory's (key()'s first 16 digits)."""
    return re.fullmatch(r'[0-9a-f]{16}', name) is not None


class Template:
    """Template NAME of TEMPLATES as a part versioned_cache builds and
    caches (PACKAGES, OUTPUTS, candidates, key, build, ...)."""

    OUTPUTS = OUTPUTS

    def __init__(self, name):
        self.name = name
        self.spec = TEMPLATES[name]
        self.PACKAGES = self.spec.packages

    def candidates(self):
        """[(package, version)]: apt's candidates of its packages, or None
        when apt does not know one."""
        return debian_apt.candidate_versions(self.PACKAGES)

    def key(self, cands):
        """The cache key: this file, the template's name, its folders' files
        (with their executable bit), the package list,
        SOURCE_DATE_EPOCH and the candidates' versions."""
        h = hashlib.sha256()
        with open(os.path.abspath(__file__), 'rb') as f:
            h.update(b'template_image.py\n' + f.read())
        h.update(minbase_tree.source_bytes())
        h.update(('\ntemplate %s\n' % self.name).encode())
        for tree in self.spec.trees:
            h.update(('\ntree %s\n' % tree).encode())
            for name, path in tree_files([tree]):
                with open(path, 'rb') as f:
                    data = f.read()
                h.update(('\nfile %s %o %d\n' % (
                    name, os.stat(path).st_mode & 0o111, len(data))).encode()
                    + data)
        for name, text in sorted(USB_FILES.items()):
            h.update(('\nfile %s %d\n' % (name, len(text))).encode() +
                     text.encode())
        h.update(('\npackages %s\n' % ' '.join(self.PACKAGES)).encode())
        h.update(b'SOURCE_DATE_EPOCH=%d\n' % SOURCE_DATE_EPOCH)
        for name, version in cands:
            h.update(('%s=%s\n' % (name, version)).encode())
        return h.hexdigest()

    def build(self, k, work, out):
        return build(self, k, work, out)

    missing_packages = staticmethod(missing_packages)
    is_version = staticmethod(is_version)
    unmount_under = staticmethod(unmount_under)
