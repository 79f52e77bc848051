"""A Debian 12 disk image that behaves like a distribution's cloud image
(docs/templates.md "Bring your own image"): a partition table, its own
boot loader for both firmwares, as Debian's cloud images have (GRUB for
BIOS in the MBR gap, GRUB for UEFI as \\EFI\\BOOT\\BOOTX64.EFI on an EFI
system partition), Debian's kernel with its
normal initramfs, cloud-init taking a NoCloud seed, qemu-guest-agent,
openssh-server, systemd-networkd (no ifupdown, so cloud-init renders
networkd's files), a serial console on ttyS0. Nothing of bulkhead is in
it: it stands for an image a user brings. build-images --cloud builds it
into IMAGE_DIR/cloud/debian/VERSION/disk.qcow2 (the byo test asks for it).

Built without loop devices or mounts (CI machines may have neither): the
root file system is made by mkfs.ext4 -d into a file of its own, the ESP
by mkfs.fat and mtools into another, both spliced into the disk file
behind an MBR this file writes (GRUB's boot.img and two partition
entries: the ESP 1 MiB in, type 0xef, which UEFI takes as an ESP on an
MBR disk; the root after it) and GRUB's core.img, made by the tree's own
grub-mkimage, in the sectors before the ESP. Reproducible like the
template (template_image.py: the same clamped times, ids from the key;
mkfs.fat --invariant, mtools' times from SOURCE_DATE_EPOCH).
"""
import hashlib
import json
import os
import shlex
import shutil
import struct
import subprocess
import sys
import time

import debian_apt
import minbase_tree
import template_image
from image_util import SOURCE_DATE_EPOCH, log, run, sha256_file
from initramfs import tree_bytes

PACKAGES = ['systemd', 'systemd-sysv', 'udev', 'dbus', 'systemd-resolved',
            'iproute2', 'cloud-init', 'qemu-guest-agent', 'openssh-server',
            'linux-image-amd64', 'initramfs-tools', 'e2fsprogs', 'sudo',
            'grub-pc-bin', 'grub-efi-amd64-bin', 'locales']
OUTPUTS = ['disk.qcow2']
SECTOR = 512
# The first partition (the ESP) starts 1 MiB in, as fdisk puts it;
# core.img lives in the sectors before it (GRUB's "MBR gap"). The root
# file system follows it, last, so that a grown disk grows it.
PART_START = 2048
ESP_SECTORS = (16 << 20) // 512
ROOT_START = PART_START + ESP_SECTORS
MIN_DISK_BYTES = 2 << 30
HEADROOM_BYTES = 512 << 20
TOOLS = {'mmdebstrap': 'mmdebstrap', 'mkfs.ext4': 'e2fsprogs',
         'debugfs': 'e2fsprogs', 'qemu-img': 'qemu-utils',
         'mkfs.fat': 'dosfstools', 'mmd': 'mtools', 'mcopy': 'mtools'}
# The GRUB modules core.img holds: enough to read its prefix on the root
# partition; normal loads the rest from /boot/grub/i386-pc as grub.cfg
# asks for them (as grub-install lays it out).
CORE_MODULES = ['biosdisk', 'part_msdos', 'ext2', 'normal']
# BOOTX64.EFI's: it finds the root file system by its UUID (under UEFI
# the disks' order is the firmware's: the seed is a disk too), then
# loads the rest from /boot/grub/x86_64-efi, the same grub.cfg.
EFI_MODULES = ['part_msdos', 'ext2', 'search', 'normal']
EFI_EARLY_CFG = '''search --no-floppy --fs-uuid --set=root %(uuid)s
set prefix=($root)/boot/grub
'''
GRUB_CFG = '''set timeout=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry 'Debian GNU/Linux' {
	linux /vmlinuz root=UUID=%(uuid)s ro console=tty0 console=ttyS0,115200
	initrd /initrd.img
}
'''
# The tree after its packages: what a cloud image's build leaves, and
# nothing of any one machine (cloud-init makes the user, the host keys,
# the host name, the network from the seed at the first boot).
# en_US.UTF-8 generated: cloud-init's default locale; without it its
# locale module fails and cloud-init ends in "error" at every first boot.
# And set as the system's (/etc/default/locale), as a distribution's
# image has it: cloud-init then finds it in place and skips locale-gen
# and update-locale (seconds of every first boot under TCG).
CUSTOMIZE = r'''set -eu
systemctl enable systemd-networkd.service systemd-resolved.service
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
echo localhost > /etc/hostname
chmod 0644 /etc/hostname
ln -sf ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
sed -i 's/^# *\(en_US\.UTF-8 UTF-8\)$/\1/' /etc/locale.gen
locale-gen
update-locale LANG=en_US.UTF-8
mkdir -p /boot/grub
cp -R /usr/lib/grub/i386-pc /usr/lib/grub/x86_64-efi /boot/grub/
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
'''
# Seeds only from a NoCloud disk (label cidata) or none: no probing of
# cloud metadata services on the network.
CLOUD_CFG = '''datasource_list: [NoCloud, None]
'''
unmount_under = template_image.unmount_under
is_version = template_image.is_version


def missing_packages():
    return sorted({p for t, p in TOOLS.items() if not shutil.which(t)})


def candidates():
    return debian_apt.candidate_versions(PACKAGES)


def key(cands):
    """The cache key: this file, the package list, SOURCE_DATE_EPOCH and
    the candidates' versions."""
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), 'rb') as f:
        h.update(b'cloud_image.py\n' + f.read())
    h.update(minbase_tree.source_bytes())
    h.update(('\npackages %s\n' % ' '.join(PACKAGES)).encode())
    h.update(b'SOURCE_DATE_EPOCH=%d\n' % SOURCE_DATE_EPOCH)
    for name, version in cands:
        h.update(('%s=%s\n' % (name, version)).encode())
    return h.hexdigest()


def mmdebstrap(root, log_path):
    cfg = '/etc/cloud/cloud.cfg.d/90-datasources.cfg'
    minbase_tree.build(root, PACKAGES, [
        '--customize-hook=printf %%s %s > "$1%s"'
        % (shlex.quote(CLOUD_CFG), cfg),
        '--customize-hook=chroot "$1" /bin/sh -c %s'
        % shlex.quote(CUSTOMIZE)], log_path, 'cloud image')


def core_img(root):
    """GRUB's core.img for this disk, by the tree's own grub-mkimage: its
    prefix the root partition's /boot/grub."""
    out = '/boot/grub/core.img'
    run(['chroot', root, 'grub-mkimage', '-O', 'i386-pc', '-o', out,
         '-d', '/usr/lib/grub/i386-pc', '-p', '(hd0,msdos2)/boot/grub']
        + CORE_MODULES)
    with open(root + out, 'rb') as f:
        core = f.read()
    os.unlink(root + out)
    if len(core) > (PART_START - 1) * SECTOR:
        sys.exit('build-images: cloud image: core.img is %d bytes, more than'
                 ' the %d sectors before the partition' % (len(core),
                                                           PART_START - 1))
    # diskboot.img (core.img's first sector) ends in the blocklist of the
    # rest: grub-mkimage gave its length; it starts at sector 2 (grub-setup
    # would write the same for a core.img in sector 1).
    start, length = struct.unpack_from('<QH', core, SECTOR - 12)
    if start != 2 or length != (len(core) + SECTOR - 1) // SECTOR - 1:
        sys.exit('build-images: cloud image: core.img blocklist %d+%d'
                 % (start, length))
    return core


def efi_img(root, fs_uuid):
    """GRUB for UEFI, by the tree's own grub-mkimage: its early config
    finds the root file system by FS_UUID."""
    out, cfg = '/boot/bootx64.efi', '/boot/early.cfg'
    with open(root + cfg, 'w') as f:
        f.write(EFI_EARLY_CFG % {'uuid': fs_uuid})
    run(['chroot', root, 'grub-mkimage', '-O', 'x86_64-efi', '-o', out,
         '-d', '/usr/lib/grub/x86_64-efi', '-p', '/boot/grub', '-c', cfg]
        + EFI_MODULES)
    with open(root + out, 'rb') as f:
        efi = f.read()
    os.unlink(root + out)
    os.unlink(root + cfg)
    return efi


def esp(work, k, efi):
    """The ESP as a file of ESP_SECTORS: FAT, its serial from the key,
    holding \\EFI\\BOOT\\BOOTX64.EFI (the path UEFI boots from a disk
    with no boot entry for it)."""
    path, src = os.path.join(work, 'esp.raw'), os.path.join(work, 'bootx64.efi')
    with open(src, 'wb') as f:
        f.write(efi)
    os.utime(src, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH))
    with open(path, 'wb') as f:
        f.truncate(ESP_SECTORS * SECTOR)
    serial = hashlib.sha256(('bulkhead esp ' + k).encode()).hexdigest()[:8]
    # FAT keeps local times: mtools converts SOURCE_DATE_EPOCH with the
    # builder's time zone, so it is fixed (and no user's .mtoolsrc read).
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(SOURCE_DATE_EPOCH),
               MTOOLS_SKIP_CHECK='1', TZ='UTC0', MTOOLSRC='/dev/null')
    run(['mkfs.fat', '--invariant', '-F', '16', '-h', str(PART_START),
         '-i', serial, '-n', 'ESP', path], env=env, stdout=subprocess.DEVNULL)
    run(['mmd', '-i', path, '::/EFI', '::/EFI/BOOT'], env=env)
    run(['mcopy', '-m', '-i', path, src, '::/EFI/BOOT/BOOTX64.EFI'], env=env)
    os.unlink(src)
    return path


def mbr(root, k, disk_sectors):
    """Sector 0: GRUB's boot.img (its code, up to the disk signature), the
    signature from the key, the ESP from PART_START and a bootable Linux
    partition from ROOT_START to the end."""
    with open(os.path.join(root, 'usr/lib/grub/i386-pc/boot.img'), 'rb') as f:
        boot = bytearray(f.read())
    if len(boot) != SECTOR:
        sys.exit('build-images: cloud image: boot.img is %d bytes' % len(boot))
    sector = bytearray(SECTOR)
    sector[:440] = boot[:440]
    # boot.img loads core.img's first sector from this LBA.
    struct.pack_into('<Q', sector, 0x5c, 1)
    sector[440:444] = hashlib.sha256(('bulkhead cloud ' + k).encode()).digest()[:4]
    # CHS fields all "beyond 1024 cylinders": the BIOS takes the LBAs.
    sector[446:462] = struct.pack('<B3sB3sII', 0, b'\xfe\xff\xff', 0xef,
                                  b'\xfe\xff\xff', PART_START, ESP_SECTORS)
    sector[462:478] = struct.pack('<B3sB3sII', 0x80, b'\xfe\xff\xff', 0x83,
                                  b'\xfe\xff\xff', ROOT_START,
                                  disk_sectors - ROOT_START)
    sector[510:512] = b'\x55\xaa'
    return bytes(sector)


def build(k, work, out):
    """Builds the image into OUT (an empty directory) in WORK; returns the
    manifest."""
    started = time.monotonic()
    root = os.path.join(work, 'root')
    log('building the Debian cloud image (mmdebstrap, a few minutes)')
    mmdebstrap(root, os.path.join(work, 'mmdebstrap.log'))
    unmount_under(root)
    for link in ('vmlinuz', 'initrd.img'):
        if not os.path.exists(os.path.join(root, link)):
            sys.exit('build-images: cloud image: no /%s in the tree' % link)
    fs_uuid, hash_seed = template_image.ids_from('cloud ' + k)
    with open(os.path.join(root, 'etc/fstab'), 'w') as f:
        f.write('UUID=%s / ext4 errors=remount-ro 0 1\n' % fs_uuid)
    with open(os.path.join(root, 'boot/grub/grub.cfg'), 'w') as f:
        f.write(GRUB_CFG % {'uuid': fs_uuid})
    core = core_img(root)
    efi = efi_img(root, fs_uuid)
    template_image.clamp_mtimes(root)
    size = tree_bytes(root)
    disk = max(MIN_DISK_BYTES, size + HEADROOM_BYTES)
    disk = (disk + (256 << 20) - 1) // (256 << 20) * (256 << 20)
    part = os.path.join(work, 'part.raw')
    with open(part, 'wb') as f:
        f.truncate(disk - ROOT_START * SECTOR)
    env = dict(os.environ, E2FSPROGS_FAKE_TIME=str(SOURCE_DATE_EPOCH))
    run(['mkfs.ext4', '-q', '-F', '-L', 'cloudimg-rootfs', '-U', fs_uuid,
         '-E', 'hash_seed=%s,root_owner=0:0' % hash_seed, '-d', root, part],
        env=env)
    template_image.settle_times(root, part)
    fat = esp(work, k, efi)
    raw = os.path.join(work, 'disk.raw')
    with open(raw, 'wb') as f:
        f.write(mbr(root, k, disk // SECTOR))
        f.write(core)
        f.truncate(PART_START * SECTOR)
    # Sparse: the file systems' unwritten blocks stay holes.
    for src, start in ((fat, PART_START), (part, ROOT_START)):
        run(['dd', 'if=' + src, 'of=' + raw, 'bs=1M', 'oflag=seek_bytes',
             'seek=%d' % (start * SECTOR), 'conv=sparse,notrunc',
             'status=none'])
        os.unlink(src)
    run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', raw,
         os.path.join(out, 'disk.qcow2')])
    os.unlink(raw)
    os.chmod(os.path.join(out, 'disk.qcow2'), 0o644)
    m = {'version': k[:16], 'key': k,
         'packages': template_image.installed(root),
         'tree_bytes': size, 'disk_bytes': disk,
         'qcow2_bytes': os.path.getsize(os.path.join(out, 'disk.qcow2')),
         'fs_uuid': fs_uuid, 'source_date_epoch': SOURCE_DATE_EPOCH,
         'sha256': {n: sha256_file(os.path.join(out, n)) for n in OUTPUTS}}
    m['build_seconds'] = round(time.monotonic() - started, 1)
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(m, f, indent=2, sort_keys=True)
        f.write('\n')
    os.chmod(os.path.join(out, 'manifest.json'), 0o644)
    return m
