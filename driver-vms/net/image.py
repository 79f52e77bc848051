"""sys-net's image (the net driver VM, docs/sysnet.md): what
guest-os/build-images puts in its initramfs beside busybox. Every kind's
folder has one of these (guest-os/driver_image.py reads it)."""

# The image's name: IMAGE-vmlinuz (the driver VMs' kernel) and
# IMAGE-initramfs.cpio.gz in the image cache, IMAGE in its manifest.
IMAGE = 'sysnet'
# This folder's FILE -> path in the image (mode 0755).
# (driver-vms/common/'s, the agent and bk-modalias, go into every kind's
# image.)
FILES = {'init': 'init', 'bk-config': 'sbin/bk-config',
         'bk-health': 'sbin/bk-health',
         'bk-ruleset': 'sbin/bk-ruleset', 'bk-lib': 'sbin/bk-lib',
         'bk-update': 'sbin/bk-update',
         'udhcpc-uplink': 'etc/udhcpc-uplink'}
# Directories beside busybox's.
DIRS = ('run', 'lib/modules', 'usr/share')
# nft, radvd (router advertisements for the app VMs' IPv6) and the shared
# libraries they need (found from the ELF files).
ROOT_PACKAGES = ['nftables', 'radvd']
BINARIES = ['usr/sbin/nft', 'usr/sbin/radvd']
# Packages whose Depends are not followed: radvd's are adduser (its
# unprivileged user; sys-net runs it as root in a VM that does nothing else)
# and lsb-base (its init script); its one library, libc, comes with nft.
NO_DEPS = {'radvd'}
# NIC drivers: the PCI NICs that servers and workstations commonly have
# (Intel, Realtek, Broadcom, Mellanox, Aquantia, VMware, virtio), modules of
# sys-net's kernel (sysnet-kernel.config; virtio_net is built in). Loaded at
# boot only when a device's modalias matches (bk-modalias). realtek (the
# PHY driver) is r8169's soft dependency. Their firmware: FIRMWARE_PACKAGES.
NIC_MODULES = ['e1000', 'e1000e', 'igb', 'igc', 'ixgbe', 'ixgbevf', 'i40e',
               'iavf', 'ice', 'r8169', 'realtek', 'tg3', 'bnxt_en', 'mlx4_en',
               'mlx5_core', 'atlantic', 'vmxnet3', 'virtio_net']
# The VM's own devices: virtio over PCI, virtio-serial (the agent), fw_cfg
# (the configuration).
VM_MODULES = ['virtio_pci', 'virtio_console', 'qemu_fw_cfg']
# nftables: filter, conntrack, NAT/masquerade; reject and limit for the
# per-app-VM firewall rules. sys-net's kernel has them built in; one that
# became a module would go into the image and init would load it.
NF_MODULES = ['crc32c_generic', 'nf_tables', 'nft_ct', 'nft_chain_nat',
              'nft_nat', 'nft_masq', 'nft_reject_inet', 'nft_limit']
# NIC firmware, from Debian 12's non-free-firmware component (the same
# archive, a component the host's apt sources may not list: its own apt
# state in the image cache). Only the files the shipped NIC drivers name
# (modinfo's firmware: r8169's rtl_nic/*, tg3's tigon/*, ice's DDP
# package) go into the image, xz-compressed (the kernel's
# FW_LOADER_COMPRESS_XZ). Unreachable: sys-net is built without them.
FIRMWARE_PACKAGES = ['firmware-realtek', 'firmware-misc-nonfree']
# What goes into the image, dependencies first (the driver VMs' kernel).
MODULES = VM_MODULES + NF_MODULES + NIC_MODULES
# The modules whose firmware (modinfo's firmware:) goes in.
FIRMWARE_MODULES = NIC_MODULES


def extra_files(builtin):
    """[(path in the image, bytes, mode)] beside FILES; BUILTIN: the
    modules the kernel has built in."""
    return [
        # init modprobes these; sys-net's kernel has them all built in.
        ('etc/bk-nf-modules', ''.join(n + '\n' for n in NF_MODULES
                                      if n not in builtin).encode(), 0o644),
        # radvd refuses a configuration file not owned by the user it runs
        # as, and looks that user (root) up by name.
        ('etc/passwd', b'root:x:0:0:root:/:/bin/sh\n', 0o644),
        ('etc/group', b'root:x:0:\n', 0o644),
    ]


def manifest(order):
    """Its own part of the image manifest, beside the shared one."""
    del order
    return {'nic_modules': NIC_MODULES}
