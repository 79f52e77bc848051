"""sys-storage's image (the storage driver VM, docs/sysstorage.md): what
guest-os/build-images puts in its initramfs beside busybox
(guest-os/driver_image.py reads it)."""

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
# sys-storage would take it), nbdkit and its file plugin (NBD on each
# volume's port).
ROOT_PACKAGES = ['lvm2', 'dmsetup', 'thin-provisioning-tools', 'util-linux',
                 'nbdkit', 'libgnutls30', 'libselinux1']
NBDKIT_PLUGINS = 'usr/lib/x86_64-linux-gnu/nbdkit/plugins/'
# thin_check is pdata_tools, which acts by the name it is called by.
BINARIES = ['sbin/lvm', 'sbin/dmsetup', 'usr/sbin/thin_check', 'sbin/blkid',
            'usr/bin/nbdkit', NBDKIT_PLUGINS + 'nbdkit-file-plugin.so']
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


def manifest(order):
    """Its own part of the image manifest, beside the shared one."""
    del order
    return {'disk_modules': DISK_MODULES}
