"""Driver-VM images, one per kind: each kind's folder driver-vms/KIND/ has
an image.py saying what its initramfs holds (its files, packages, ELF
binaries, kernel modules, firmware); this assembles them all the same way,
on the driver VMs' one kernel (sysnet_kernel.py). Adding a kind's image is
adding its folder."""
import importlib.util
import os
import shutil

from image_util import run, write
from initramfs import (elf_closure, firmware_install, install_busybox,
                       make_initramfs, module_order, tree_bytes)

DRIVER_VMS_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'driver-vms')
# What every driver VM runs, whatever its kind: driver-vms/common/FILE ->
# path in each image.
COMMON_DIR = os.path.join(DRIVER_VMS_DIR, 'common')
# bk-modalias: each kind's drivers are modules loaded by the modalias of the
# devices the VM is given.
COMMON_FILES = {'bk-agent': 'sbin/bk-agent', 'bk-modalias': 'sbin/bk-modalias'}


def kinds():
    """The kinds' image descriptions (driver-vms/*/image.py), in folder
    order, each with DIR (its folder) and SPEC_PATH set."""
    out = []
    for name in sorted(os.listdir(DRIVER_VMS_DIR)):
        path = os.path.join(DRIVER_VMS_DIR, name, 'image.py')
        if not os.path.isfile(path):
            continue
        spec = importlib.util.spec_from_file_location('driver_image_' + name,
                                                      path)
        kind = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(kind)
        kind.DIR, kind.SPEC_PATH = os.path.dirname(path), path
        out.append(kind)
    return out


def sources(kind):
    """[(name, path in the image, bytes)] of the common files and KIND's
    own (its FILES), each in name order."""
    out = []
    for folder, files in ((COMMON_DIR, COMMON_FILES), (kind.DIR, kind.FILES)):
        for name in sorted(files):
            with open(os.path.join(folder, name), 'rb') as f:
                out.append((os.path.relpath(os.path.join(folder, name),
                                            DRIVER_VMS_DIR), files[name],
                            f.read()))
    return out


def key_inputs(kind):
    """[(name, bytes)] KIND's image is built from beyond sources(KIND):
    what its optional build() hook compiles, and with what (its
    key_inputs()); part of the images' cache key."""
    return kind.key_inputs() if hasattr(kind, 'key_inputs') else []


def install_modules(tree, kroot, kver, kos, order):
    """ORDER's modules in the standard layout, xz-compressed (busybox
    modprobe decompresses them; only the compressed files sit in the VM's
    RAM), with modules.dep/alias/softdep from the host's depmod over
    exactly these."""
    src_dir = os.path.join(kroot, 'lib/modules', kver)
    dst_dir = os.path.join(tree, 'lib/modules', kver)
    rels = []
    for name in order:
        rel = os.path.relpath(kos[name], src_dir)
        rels.append(rel)
        dst = os.path.join(dst_dir, rel + '.xz')
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, 'wb') as f:
            # dict=1MiB: what the module decompressors expect; -T1 and the
            # fixed preset keep the output identical from run to run.
            run(['xz', '-T1', '--check=crc32', '--lzma2=preset=6,dict=1MiB',
                 '-c', kos[name]], stdout=f)
    for f in ('modules.builtin', 'modules.builtin.modinfo'):
        shutil.copyfile(os.path.join(src_dir, f), os.path.join(dst_dir, f))
    # modules.order fixes depmod's output order (otherwise directory order).
    write(os.path.join(dst_dir, 'modules.order'),
          ''.join(r + '\n' for r in sorted(rels)).encode(), 0o644)
    run(['depmod', '-b', tree, kver])
    keep = {'modules.dep', 'modules.alias', 'modules.softdep', 'modules.builtin'}
    for f in os.listdir(dst_dir):
        if f.startswith('modules.') and f not in keep:
            os.unlink(os.path.join(dst_dir, f))


def install_elf(tree, pkgroot, binaries):
    """BINARIES from the unpacked packages at PKGROOT and the libraries
    they need; returns their paths in the image."""
    elf = elf_closure(pkgroot, binaries)
    first = {}
    for guest, src in sorted(elf.items()):
        dst = os.path.join(tree, guest)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        real = os.path.realpath(src)
        if real in first:
            # The loader is both PT_INTERP (/lib64) and libc's DT_NEEDED.
            os.symlink('/' + first[real], dst)
            continue
        first[real] = guest
        # Not through a busybox applet's link of the same name: that points
        # at /bin/busybox, which is the host's outside a chroot.
        if os.path.lexists(dst):
            os.unlink(dst)
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o755)
    return sorted(elf)


def build_driver(kind, tree, kroot, kver, kos, builtin, pkgroot, busybox_src,
                 out, fwroot=None):
    """KIND's initramfs at OUT on the driver VMs' kernel (KROOT, release
    KVER, its modules KOS and BUILTIN); returns its part of the manifest."""
    install_busybox(tree, busybox_src, kind.DIRS)
    order = module_order(kind.MODULES, kos, builtin)
    install_modules(tree, kroot, kver, kos, order)
    for path, data, mode in kind.extra_files(builtin):
        write(os.path.join(tree, path), data, mode)
    elf = install_elf(tree, pkgroot, kind.BINARIES)
    # What the kind compiles itself (sys-storage's nbdkit plugin).
    if hasattr(kind, 'build'):
        elf = sorted(elf + kind.build(tree))
    # /init, the agent and their helpers.
    for _name, path, data in sources(kind):
        write(os.path.join(tree, path), data, 0o755)
    firmware = firmware_install(tree, fwroot, kos, [
        m for m in order if m in kind.FIRMWARE_MODULES]) if fwroot else None
    unpacked = tree_bytes(tree)
    make_initramfs(tree, out)
    return dict({'modules': order, 'elf_files': elf,
                 'unpacked_bytes': unpacked, 'firmware': firmware},
                **kind.manifest(order))
