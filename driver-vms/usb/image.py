"""sys-usb's image (the USB driver VM, docs/sysusb.md): what
guest-os/build-images puts in its initramfs beside busybox
(guest-os/driver_image.py reads it)."""

# The image's name: IMAGE-vmlinuz (the driver VMs' kernel) and
# IMAGE-initramfs.cpio.gz in the image cache, IMAGE in its manifest.
IMAGE = 'sysusb'
# This folder's FILE -> path in the image (mode 0755).
# (driver-vms/common/'s, the agent and bk-modalias, go into every kind's
# image.)
FILES = {'init': 'init', 'bk-config': 'sbin/bk-config',
         'bk-health': 'sbin/bk-health', 'bk-lib': 'sbin/bk-lib',
         'bk-request': 'sbin/bk-request', 'bk-update': 'sbin/bk-update',
         'bk-usb-watch': 'sbin/bk-usb-watch',
         'bk-usb-send': 'sbin/bk-usb-send',
         'bk-usb-input': 'sbin/bk-usb-input'}
DIRS = ('run', 'lib/modules')
# socat: the USB/IP connection out to an app VM, bound to the link's NIC
# and fe80::1, its socket handed to bk-usb-send as stdin (nofork).
ROOT_PACKAGES = ['socat']
BINARIES = ['usr/bin/socat']
NO_DEPS = set()
# The VM's own devices: virtio over PCI, virtio-serial (the agent, the
# input ports), fw_cfg (the configuration); virtio_net is built in.
VM_MODULES = ['virtio_pci', 'virtio_console', 'qemu_fw_cfg']
# USB host controllers, loaded by modalias (bk-modalias): xHCI, EHCI.
HCD_MODULES = ['xhci_pci', 'ehci_pci']
# Loaded by /init (etc/bk-usb-modules) before any device is looked at: the
# class drivers a device binds to when it appears (USB devices have no
# modalias bk-modalias scans), USB/IP's exporting side, evdev for input.
INIT_MODULES = ['usb_storage', 'sd_mod', 'usbhid', 'hid_generic', 'evdev',
                'usbip_host']
FIRMWARE_PACKAGES = []
MODULES = VM_MODULES + HCD_MODULES + INIT_MODULES
FIRMWARE_MODULES = []


def extra_files(builtin):
    """[(path in the image, bytes, mode)] beside FILES; BUILTIN: the
    modules the kernel has built in."""
    return [('etc/bk-usb-modules', ''.join(
        n + '\n' for n in INIT_MODULES if n not in builtin).encode(), 0o644)]


def manifest(order):
    """Its own part of the image manifest, beside the shared one."""
    del order
    return {'init_modules': INIT_MODULES}
