"""sys-storage's image (the storage driver VM, docs/sysstorage.md): what
guest-os/build-images puts in its initramfs beside busybox
(guest-os/driver_image.py reads it)."""
import os
import subprocess

# The image's name: IMAGE-vmlinuz (the driver VMs' kernel) and
# IMAGE-initramfs.cpio.gz in the image cache, IMAGE in its manifest.
IMAGE = 'sysstorage'
# This folder's FILE -> path in the image (mode 0755).
# (driver-vms/common/'s, the agent and bk-modalias, go into every kind's
# image.)
FILES = {'init': 'init', 'bk-config': 'sbin/bk-config',
         'bk-health': 'sbin/bk-health', 'bk-lib': 'sbin/bk-lib',
         'bk-pool': 'sbin/bk-pool', 'bk-serve': 'sbin/bk-serve',
         'bk-update': 'sbin/bk-update', 'bk-volumes': 'sbin/bk-volumes'}
DIRS = ('run', 'lib/modules', 'etc/lvm')
# LVM (lvm2; dmsetup for the pool's status each tick), thin_check (LVM runs
# it on the pool's metadata before activating it: after a crash it finds
# damage instead of activating over it), blkid (what a disk holds before
# sys-storage would take it), nbdkit (NBD on each volume's port, through
# our own plugin, built below).
ROOT_PACKAGES = ['lvm2', 'dmsetup', 'thin-provisioning-tools', 'util-linux',
                 'nbdkit', 'libgnutls30', 'libselinux1']
NBDKIT_PLUGINS = 'usr/lib/x86_64-linux-gnu/nbdkit/plugins/'
# thin_check is pdata_tools, which acts by the name it is called by.
BINARIES = ['sbin/lvm', 'sbin/dmsetup', 'usr/sbin/thin_check', 'sbin/blkid',
            'usr/bin/nbdkit']
# Our nbdkit plugin (bk-volume-plugin.c: trim as BLKDISCARD, which frees
# thin-pool blocks; nbdkit 1.32's file plugin frees none): compiled by
# build() with the host's gcc against the host's nbdkit-plugin-dev
# headers, so both are inputs of the image's cache key (key_inputs()).
PLUGIN_SOURCE = 'bk-volume-plugin.c'
PLUGIN = NBDKIT_PLUGINS + 'nbdkit-bkvolume-plugin.so'
PLUGIN_HEADERS = ['/usr/include/nbdkit-plugin.h',
                  '/usr/include/nbdkit-common.h',
                  '/usr/include/nbdkit-version.h', '/usr/include/linux/fs.h']
# Host files the build needs -> the Debian package that has them
# (guest-os/build-images installs what is missing).
HOST_FILES = {'/usr/include/nbdkit-plugin.h': 'nbdkit-plugin-dev',
              '/usr/bin/gcc': 'gcc'}
# -s: no symbol table (nothing in it names the build's paths); the
# build-id gcc adds is a hash of the content, the same from run to run.
PLUGIN_CFLAGS = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror',
                 '-Wshadow', '-Wstrict-prototypes', '-Wmissing-prototypes',
                 '-Wformat=2', '-fPIC', '-shared', '-s']
# Packages whose Depends are not followed: nbdkit's are its other plugins'
# libraries (curl, ssh, torrent, ext2fs...; nbdkit itself needs gnutls
# and selinux, listed above) and util-linux's are its other programs'
# (blkid needs only libblkid, which lvm2 brings).
NO_DEPS = {'nbdkit', 'util-linux'}
# The VM's own devices: virtio over PCI, virtio-serial (the agent and the
# volumes' ports), fw_cfg (the configuration).
VM_MODULES = ['virtio_pci', 'virtio_console', 'qemu_fw_cfg']
# Disk controllers, loaded by modalias (bk-modalias): NVMe, AHCI,
# virtio-blk; SCSI disks (sd_mod, behind AHCI) have no PCI modalias.
DISK_MODULES = ['nvme', 'ahci', 'virtio_blk']
# Loaded by /init (etc/bk-storage-modules): the SCSI disk driver and
# device-mapper's thin target (dm_mod, dm_persistent_data, dm_bufio come
# with it).
INIT_MODULES = ['sd_mod', 'dm_mod', 'dm_thin_pool']
FIRMWARE_PACKAGES = []
MODULES = VM_MODULES + DISK_MODULES + INIT_MODULES
FIRMWARE_MODULES = []

# LVM without udev (the VM runs none): device nodes and /dev/bk/NAME links
# made by LVM itself, the device list from /dev; no dmeventd monitoring
# (bk-health watches the pool); no devices file, no polling daemon. Its
# metadata backups go to /etc/lvm in RAM (the metadata itself is on the
# disk, twice).
LVM_CONF = b'''# sys-storage (driver-vms/storage/image.py)
devices {
	obtain_device_list_from_udev = 0
	external_device_info_source = "none"
	use_devicesfile = 0
	scan_lvs = 0
}
activation {
	udev_sync = 0
	udev_rules = 0
	verify_udev_operations = 0
	monitoring = 0
}
global {
	use_lvmpolld = 0
	thin_check_executable = "/usr/sbin/thin_check"
	event_activation = 0
}
'''


def extra_files(builtin):
    """[(path in the image, bytes, mode)] beside FILES; BUILTIN: the
    modules the kernel has built in."""
    return [
        ('etc/bk-storage-modules', ''.join(
            n + '\n' for n in INIT_MODULES if n not in builtin).encode(), 0o644),
        ('etc/lvm/lvm.conf', LVM_CONF, 0o644),
    ]


def key_inputs():
    """[(name, bytes)] the image depends on beyond this folder's FILES:
    the plugin's source, the headers it is compiled against and the
    compiler's version."""
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    for path in [os.path.join(here, PLUGIN_SOURCE)] + PLUGIN_HEADERS:
        with open(path, 'rb') as f:
            out.append((os.path.basename(path), f.read()))
    out.append(('gcc --version', subprocess.run(
        ['gcc', '--version'], check=True, capture_output=True).stdout))
    return out


def build(tree):
    """Compiles the plugin into TREE (the image's root); returns its path
    there."""
    here = os.path.dirname(os.path.abspath(__file__))
    dst = os.path.join(tree, PLUGIN)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    # Compiled in this folder by its bare name: no path of the build
    # machine in the output.
    subprocess.run(['gcc'] + PLUGIN_CFLAGS + ['-o', dst, PLUGIN_SOURCE],
                   cwd=here, check=True)
    os.chmod(dst, 0o755)
    return [PLUGIN]


def manifest(order):
    """Its own part of the image manifest, beside the shared one."""
    del order
    return {'disk_modules': DISK_MODULES}
