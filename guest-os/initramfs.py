"""An initramfs from unpacked Debian packages: busybox, kernel modules in
load order (or depmod's layout), ELF binaries with the libraries they need,
firmware, and the reproducible cpio archive (guest-os/build-images)."""
import os
import re
import shutil
import struct
import subprocess
import sys

from image_util import SOURCE_DATE_EPOCH, run, write


# Multiarch library directories searched for DT_NEEDED, in the ld.so order.
LIB_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64',
            'usr/lib64', 'lib', 'usr/lib']


def find_modules(moddir):
    """({name: path of .ko}, {builtin names}); names use '_' for '-'."""
    def norm(name):
        return name.replace('-', '_')

    kos = {}
    for root, _dirs, files in os.walk(os.path.join(moddir, 'kernel')):
        for f in files:
            m = re.fullmatch(r'(.*)\.ko(\.xz|\.zst|\.gz)?', f)
            if m:
                if m.group(2):
                    sys.exit('build-images: compressed module %s not supported' % f)
                kos[norm(m.group(1))] = os.path.join(root, f)
    builtin = set()
    with open(os.path.join(moddir, 'modules.builtin')) as f:
        for line in f:
            base = os.path.basename(line.strip())
            if base.endswith('.ko'):
                builtin.add(norm(base[:-3]))
    return kos, builtin


def module_order(wanted, kos, builtin):
    """The modules to load, dependencies first (modinfo -F depends)."""
    order, state = [], {}

    def visit(name):
        if name in builtin or state.get(name) == 'done':
            return
        if state.get(name) == 'visiting':
            sys.exit('build-images: module dependency cycle at ' + name)
        if name not in kos:
            sys.exit('build-images: module %s neither built in nor shipped' % name)
        state[name] = 'visiting'
        deps = run(['modinfo', '-F', 'depends', kos[name]], stdout=subprocess.PIPE,
                   text=True).stdout.strip()
        for dep in sorted(d for d in deps.split(',') if d):
            visit(dep.replace('-', '_'))
        state[name] = 'done'
        order.append(name)

    for name in wanted:
        visit(name)
    return order


def elf_dynamic(path):
    """(DT_NEEDED names, PT_INTERP or None, DT_RUNPATH/DT_RPATH
    directories) of an x86-64 ELF file: what ldd would follow, read from
    the file (never executed)."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        sys.exit('build-images: %s is not a 64-bit little-endian ELF file' % path)
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    loads, dynamic, interp = [], None, None
    for i in range(phnum):
        p_type, _flags, offset, vaddr, _paddr, filesz, _memsz, _align = \
            struct.unpack_from('<IIQQQQQQ', data, phoff + i * phentsize)
        if p_type == 1:      # PT_LOAD
            loads.append((vaddr, offset, filesz))
        elif p_type == 2:    # PT_DYNAMIC
            dynamic = (offset, filesz)
        elif p_type == 3:    # PT_INTERP
            interp = data[offset:offset + filesz].split(b'\0')[0].decode()
    if dynamic is None:
        return [], interp, []
    strtab, needed, paths = None, [], []
    for off in range(dynamic[0], dynamic[0] + dynamic[1] - 15, 16):
        tag, val = struct.unpack_from('<qQ', data, off)
        if tag == 0:         # DT_NULL
            break
        if tag == 1:         # DT_NEEDED: an offset into the string table
            needed.append(val)
        elif tag == 5:       # DT_STRTAB: a virtual address
            strtab = val
        elif tag in (15, 29):  # DT_RPATH, DT_RUNPATH: string offsets
            paths.append(val)
    base = None
    for vaddr, offset, filesz in loads:
        if strtab is not None and vaddr <= strtab < vaddr + filesz:
            base = offset + strtab - vaddr
    if base is None:
        sys.exit('build-images: %s: no loaded string table' % path)
    def string(o):
        return data[base + o:data.index(b'\0', base + o)].decode()

    # Search paths are colon-separated; $ORIGIN (the file's directory) is
    # not resolved: a directory naming it is skipped.
    dirs = [d.lstrip('/') for o in paths for d in string(o).split(':')
            if d.startswith('/')]
    return [string(o) for o in needed], interp, dirs


def path_in(root, path):
    """path as the guest would see it, inside root: symlinks followed within
    root (an absolute target starts again at root). None when missing."""
    parts = [p for p in path.split('/') if p and p != '.']
    done, hops = [], 0
    while parts:
        p = parts.pop(0)
        if p == '..':
            if done:
                done.pop()
            continue
        cand = os.path.join(root, *done, p)
        if os.path.islink(cand):
            hops += 1
            if hops > 40:
                return None
            target = os.readlink(cand)
            if target.startswith('/'):
                done = []
            parts = [x for x in target.split('/') if x and x != '.'] + parts
            continue
        if not os.path.lexists(cand):
            return None
        done.append(p)
    return os.path.join(root, *done)


def elf_closure(root, binaries):
    """{path in the image: file under root}: binaries, the libraries they
    need (DT_NEEDED, transitively, searched in the needing file's
    DT_RUNPATH, then LIB_DIRS: Debian's fio reaches librbd's
    libceph-common through librbd's RUNPATH) and the loader."""
    files, todo = {}, list(binaries)
    while todo:
        guest = todo.pop()
        if guest in files:
            continue
        src = path_in(root, guest)
        if src is None or not os.path.isfile(src):
            sys.exit('build-images: %s is in none of the packages' % guest)
        files[guest] = src
        needed, interp, runpath = elf_dynamic(src)
        if interp:
            todo.append(interp.lstrip('/'))
        for lib in needed:
            for d in runpath + LIB_DIRS:
                if path_in(root, os.path.join(d, lib)):
                    todo.append(os.path.join(d, lib))
                    break
            else:
                sys.exit('build-images: %s needs %s, which no package ships'
                         % (guest, lib))
    return files


def install_busybox(tree, busybox_src, extra_dirs=()):
    """The directories, /dev/console, busybox and a link per applet."""
    for d in ('bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys',
              'tmp', 'etc', 'root', *extra_dirs):
        os.makedirs(os.path.join(tree, d), exist_ok=True)
    os.mknod(os.path.join(tree, 'dev/console'), 0o600 | 0o020000,
             os.makedev(5, 1))
    bb = os.path.join(tree, 'bin/busybox')
    shutil.copyfile(busybox_src, bb)
    os.chmod(bb, 0o755)
    applets = run([bb, '--list-full'], stdout=subprocess.PIPE,
                  text=True).stdout.split()
    for applet in applets:
        link = os.path.join(tree, applet)
        if applet == 'bin/busybox' or os.path.lexists(link):
            continue
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink('/bin/busybox', link)


def tree_bytes(tree):
    total = 0
    for root, _dirs, files in os.walk(tree):
        for f in files:
            p = os.path.join(root, f)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def make_initramfs(tree, out):
    """tree -> out (newc cpio, gzip), byte-identical for identical trees."""
    paths = []
    for root, dirs, files in os.walk(tree):
        for name in dirs + files:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, tree)
            paths.append(rel)
            st = os.lstat(full)
            if not os.path.islink(full):
                if os.path.isdir(full):
                    os.chmod(full, 0o755)
                elif os.path.isfile(full):
                    os.chmod(full, 0o755 if st.st_mode & 0o100 else 0o644)
    for rel in paths + ['.']:
        os.utime(os.path.join(tree, rel), (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH),
                 follow_symlinks=False)
    paths.sort(key=lambda p: p.encode())
    listing = b''.join(p.encode() + b'\0' for p in paths)
    env = dict(os.environ, LC_ALL='C', SOURCE_DATE_EPOCH=str(SOURCE_DATE_EPOCH))
    with open(out, 'wb') as f:
        cpio = subprocess.Popen(['cpio', '--quiet', '--null', '-o', '-H', 'newc',
                                 '--reproducible', '--owner=0:0'],
                                cwd=tree, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=env)
        gz = subprocess.Popen(['gzip', '-n', '-9'], stdin=cpio.stdout, stdout=f,
                              env=env)
        cpio.stdout.close()
        cpio.stdin.write(listing)
        cpio.stdin.close()
        if cpio.wait() != 0 or gz.wait() != 0:
            sys.exit('build-images: cpio | gzip failed')


def firmware_install(tree, fwroot, kos, modules):
    """Copies the firmware files MODULES name (modinfo) that FWROOT has into
    TREE/lib/firmware, xz-compressed; returns the manifest's part."""
    files, missing, size = [], [], 0
    for name in modules:
        r = subprocess.run(['modinfo', '-F', 'firmware', kos[name]],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
        for fw in sorted(set(r.stdout.split())):
            src = os.path.join(fwroot, 'lib/firmware', fw)
            real = os.path.realpath(src)
            if not os.path.isfile(real) or not real.startswith(
                    os.path.realpath(fwroot) + os.sep):
                missing.append(fw)
                continue
            dst = os.path.join(tree, 'lib/firmware', fw + '.xz')
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, 'wb') as f:
                # crc32: the kernel's xz decoder checks no other; a 1 MiB
                # dictionary is what it allocates while loading.
                run(['xz', '-T1', '--check=crc32', '--lzma2=preset=6,dict=1MiB',
                     '-c', real], stdout=f)
            files.append(fw)
            size += os.path.getsize(dst)
    return {'files': files, 'xz_bytes': size, 'not_in_packages': missing}
