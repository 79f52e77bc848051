#!/usr/bin/env python3
"""An app VM's disk from sys-storage, end to end (docs/sysstorage.md):
`bulkhead up` of sys-net, sys-storage (QEMU's emulated NVMe over a host
file) and an app VM whose `storage:` names sys-storage. The app VM sees
a virtio-blk disk served by bulkhead-blk (vhost-user-blk) from its thin
volume over NBD on a virtio-serial port.

  0. a disk file that is a symbolic link refused, its target untouched
  1. up; sys-storage READY with its pool; the disk file its uid's alone
  2. status: the storage link in a table of its own, the volume's size;
     sys-storage's state line (its pool's use)
  3. the app VM's /dev/vda is the volume's size
  4. 64 MiB written with fsync; its hash survives a restart of the app VM
  5. flushed data survives kill -9 of sys-storage's QEMU, 5 of 5 runs
     (the supervisor restarts it, the link reconnects); the control:
     unflushed data is lost when sys-storage is killed, and the app VM's
     next fsync fails once; then the storage link (bulkhead-blk, which
     failed that fsync and said so) killed -9 while the app VM writes
     32 MiB with O_DIRECT: the supervisor restarts it without telling it
     again, the app VM's QEMU reconnects and hands it the requests without
     a reply, dd sees no error, the region reads back whole and the next
     fsync works
  6. a second app VM, on the Debian template, with a volume added to the
     running topology: its port hot-plugged into sys-storage, its volume
     made by a live update (sys-storage not restarted), its disk there;
     the first one's data unchanged; LUKS2 with integrity on its volume:
     a byte flipped underneath reads as an I/O error in the app VM
  7. discard: blkdiscard in the app VM frees sys-storage's pool
  8. down: nothing left but the disk file, which keeps the data

    test_storage.py BULKHEAD

Needs root, libvirt and the guest images."""
import json
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import link_live, run_main  # noqa: E402
from orchlib import domains, qemu_pid, sh, sha, topo_status, \
    topology_test  # noqa: E402

BULKHEAD = os.path.abspath(sys.argv[1])
URI = 'qemu:///system'
NS, OUT_IP = 'bk-st-out%d' % os.getpid(), '10.204.9.1'
VOLUME_MIB = 256
TOPO = '''version: 2
name: bkstore
accel: tcg
driver-vms:
  - name: st-net
    kind: net
    devices:
      - {emulated: e1000e, netns: %s, bridge: br0, mac: "52:54:00:79:00:02"}
  - name: st-disk
    kind: storage
    memory: 128
    devices:
      - {emulated: nvme, file: %s, size: 1G}
app-vms:
  - name: st-work
    net: {via: st-net, mac: "52:54:00:79:01:01", ip: 10.204.1.2/24}
    storage: {via: st-disk, size: %dM}
'''
ADDED = '''  - name: st-mail
    template: debian
    memory: 512
    net: {via: st-net, mac: "52:54:00:79:01:02", ip: 10.204.2.2/24}
    storage: {via: st-disk, size: 64M}
'''
# 64 MiB of the guest's own random bytes onto the disk, flushed (dd's
# fsync: virtio-blk FLUSH, NBD flush in sys-storage), then its hash read
# back from the disk.
WRITE = ('dd if=/dev/urandom of=/dev/vda bs=1M count=64 conv=fsync 2>&1 | tail -1;'
         ' echo 3 > /proc/sys/vm/drop_caches;'
         ' head -c 67108864 /dev/vda | sha256sum')
READ = ('echo 3 > /proc/sys/vm/drop_caches; head -c 67108864 /dev/vda |'
        ' sha256sum')


# Durability runs (the issue: 5 of 5), each 8 MiB.
DURABLE_RUNS = 5
# 8 MiB of random bytes written at MiB %d with O_DIRECT (acknowledged
# when sys-storage answered), with conv=fsync or without; their hash.
PATTERN = ('dd if=/dev/urandom of=/tmp/p bs=1M count=8 2>/dev/null;'
           ' dd if=/tmp/p of=/dev/vda bs=1M seek=%d oflag=direct %s 2>&1 |'
           ' tail -1; sha256sum /tmp/p; rm -f /tmp/p')
# The Debian template's VM finds its volume by the serial bulkhead-blk
# gives it (its root and private volume are vda and vdb).
MAIL_DISK = '/dev/disk/by-id/virtio-st-mail'
# LUKS2 with integrity on st-mail's volume (docs/sysstorage.md): 1 MiB
# written through the mapping and read back. The raw volume is read with
# O_DIRECT before and after that write (a buffered read would see the
# page cache's older copy: dm writes below it), and the middle byte of
# those that changed is flipped: the changed bytes are the 1 MiB of data
# and its 64 KiB of tags, so the middle one is data. The mapping is opened
# without dm-integrity's journal, so that data and tags are all that
# change. Then the same 1 MiB is read again through the mapping, with
# O_DIRECT (the block layer's protection error, EILSEQ) and buffered
# (EIO), and a region only the format wrote. pbkdf2 with the fewest
# iterations: a test key (argon2id's memory-hard default takes tens of
# seconds under TCG; a user keeps it). One line: bulkhead exec takes no
# newline.
LUKS = '; '.join([
    'set -e', 'd=%s' % MAIL_DISK, 'dmesg -C', 'printf test-key > /run/k',
    'cryptsetup luksFormat -q --type luks2 --integrity hmac-sha256'
    ' --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /run/k $d',
    'cryptsetup open --integrity-no-journal --key-file /run/k $d bkv',
    'dd if=$d of=/var/tmp/before bs=1M iflag=direct 2>/dev/null',
    'dd if=/dev/urandom of=/var/tmp/p bs=64k count=16 2>/dev/null',
    'echo "written $(sha256sum < /var/tmp/p)"',
    'dd if=/var/tmp/p of=/dev/mapper/bkv bs=64k oflag=direct conv=fsync'
    ' 2>/dev/null',
    'echo "readback $(dd if=/dev/mapper/bkv bs=64k count=16 iflag=direct'
    ' 2>/dev/null | sha256sum)"',
    'cryptsetup close bkv',
    'dd if=$d of=/var/tmp/after bs=1M iflag=direct 2>/dev/null',
    'cmp -l /var/tmp/before /var/tmp/after > /var/tmp/diff || true',
    'n=$(wc -l < /var/tmp/diff)',
    'off=$(sed -n "$((n / 2))p" /var/tmp/diff | awk \'{print $1 - 1}\')',
    'blk=$((off / 4096)); at=$((off % 4096))',
    'dd if=$d of=/var/tmp/b bs=4096 skip=$blk count=1 iflag=direct'
    ' 2>/dev/null',
    'old=$(od -An -tu1 -j $at -N 1 /var/tmp/b | tr -d " ")',
    'printf "\\\\$(printf %o $((old ^ 1)))" | dd of=/var/tmp/b bs=1 seek=$at'
    ' conv=notrunc 2>/dev/null',
    'dd if=/var/tmp/b of=$d bs=4096 seek=$blk oflag=direct conv=fsync'
    ' 2>/dev/null',
    'echo "changed $n bytes; flipped byte $off of'
    ' $(blockdev --getsize64 $d): $old ->'
    ' $(od -An -tu1 -j $at -N 1 /var/tmp/b | tr -d " ")"',
    'rm -f /var/tmp/before /var/tmp/after /var/tmp/diff /var/tmp/p'
    ' /var/tmp/b',
    'cryptsetup open --integrity-no-journal --key-file /run/k $d bkv',
    'set +e',
    'echo "direct read: $(dd if=/dev/mapper/bkv of=/dev/null bs=64k count=16'
    ' iflag=direct 2>&1 | grep -o "error reading.*")"',
    'echo 3 > /proc/sys/vm/drop_caches',
    'echo "buffered read: $(dd if=/dev/mapper/bkv of=/dev/null bs=64k'
    ' count=16 2>&1 | grep -o "error reading.*")"',
    'dd if=/dev/mapper/bkv of=/dev/null bs=64k skip=64 count=16 iflag=direct'
    ' 2>/dev/null && echo "other region: read"',
    'echo "kernel: $(dmesg | grep -c "INTEGRITY AEAD ERROR")"',
    'cryptsetup close bkv'])
REGION = ('echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=1M skip=%d'
          ' count=8 iflag=direct 2>/dev/null | sha256sum')
# One fsync of the disk (a FLUSH), saying how it went.
FSYNC = ('dd if=/dev/zero of=/dev/vda bs=4096 count=1 seek=60000 conv=fsync'
         ' 2>&1 && echo "fsync ok" || echo "fsync failed"')


def kill_storage(bk):
    """kill -9 of sys-storage's QEMU; True once the supervisor restarted
    it and the storage link is connected again."""
    pid = qemu_pid('bulkhead-st-disk')
    if not pid:
        return False
    os.kill(pid, signal.SIGKILL)
    for _ in range(150):
        time.sleep(2)
        back = qemu_pid('bulkhead-st-disk')
        if back and back != pid and disk_link(topo_status(bk, 'bkstore')).get(
                'link', {}).get('nbd', {}).get('connected'):
            return True
    return False


def disk_link(st):
    return next((l for l in st.get('links', [])
                 if l.get('name') == 'st-work.disk'), {})


def read_hash(bk, command=READ, tries=60):
    """The hash COMMAND prints in the app VM, once it answers (after a
    restart)."""
    out = ''
    for _ in range(tries):
        r = bk('exec', 'st-work', command)
        out = r.stdout
        if r.returncode == 0 and sha(out):
            return sha(out), out
        time.sleep(2)
    return None, out


# sys-storage alone, its disk file given as FILE.
ALONE = '''version: 2
name: bkstore
accel: tcg
driver-vms:
  - name: st-disk
    kind: storage
    devices:
      - {emulated: nvme, file: %s, size: 1G}
'''


def symlink_refused(t, tmp, bk):
    """A disk file that is a symbolic link is refused before anything
    starts, and what it points at is not handed to the VM's uid."""
    target = os.path.join(tmp, 'not-a-disk')
    with open(target, 'w') as f:
        f.write('root\'s\n')
    os.chmod(target, 0o644)
    link = os.path.join(tmp, 'link.raw')
    os.symlink(target, link)
    path = os.path.join(tmp, 'alone.yaml')
    with open(path, 'w') as f:
        f.write(ALONE % link)
    r = bk('up', path)
    st = os.stat(target)
    t.check(r.returncode != 0 and 'its disk %s: a symbolic link, not a disk'
            ' file' % link in r.stdout and st.st_uid == 0 and
            (st.st_mode & 0o777) == 0o644 and not domains('bulkhead-st-'),
            'a disk file that is a symbolic link: refused, its target not'
            ' handed over (still root\'s, 0644), nothing left running',
            r.stdout[-1500:] + '\nuid %d mode %o' % (st.st_uid, st.st_mode))


def disk_written(tmp):
    """Bytes st-work's disk link has written (its control socket)."""
    return link_live(os.path.join(tmp, 'state'), 'bkstore',
                     'st-work.disk').get('bytes_written', 0)


# 32 MiB written in 64 KiB requests with O_DIRECT (long enough to be
# killed under), flushed; the source's hash, then dd's last line.
UNDER_LOAD = ('dd if=/dev/urandom of=/tmp/p bs=1M count=32 2>/dev/null;'
              ' sha256sum /tmp/p; dd if=/tmp/p of=/dev/vda bs=64k seek=%d'
              ' oflag=direct conv=fsync 2>&1 | tail -1; rm -f /tmp/p')
UNDER_LOAD_MIB = 32


def link_killed_under_load(t, bk, tmp, seek_mib):
    """kill -9 of the storage link mid-write: the guest sees a stall, no
    error, and every byte lands."""
    before = disk_link(topo_status(bk, 'bkstore'))
    pid = before.get('pid')
    done = []
    writer = threading.Thread(target=lambda: done.append(bk(
        'exec', 'st-work', UNDER_LOAD % (seek_mib * 16))))
    writer.start()
    # Killed once the link has taken 4 MiB of this write and before the
    # whole (the random file comes first).
    written0 = disk_written(tmp)
    killed, at = None, None
    end = time.monotonic() + 120
    while not killed and pid and writer.is_alive() and time.monotonic() < end:
        at = disk_written(tmp) - written0
        if at >= 4 << 20:
            killed = pid
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    writer.join(300)
    r = done[0] if done else None
    out = r.stdout if r else 'no answer in 300 s'
    want = sha(out)
    got, back = read_hash(bk, 'echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda'
                          ' bs=1M skip=%d count=%d iflag=direct 2>/dev/null |'
                          ' sha256sum' % (seek_mib, UNDER_LOAD_MIB))
    after = disk_link(topo_status(bk, 'bkstore'))
    f = bk('exec', 'st-work', FSYNC)
    t.check(r is not None and r.returncode == 0 and killed and
            'fsync ok' in f.stdout and
            at < UNDER_LOAD_MIB << 20 and
            '%d+0 records out' % (UNDER_LOAD_MIB * 16) in out and
            'error' not in out.lower() and want and got == want and
            after.get('restarts', 0) > before.get('restarts', 0) and
            after.get('pid') != killed,
            'the storage link killed -9 while the app VM writes 32 MiB'
            ' (O_DIRECT), %s MiB in: restarted (pid %s -> %s), the write'
            ' completes without an error, the region reads back whole, the'
            ' next fsync works' %
            (None if at is None else at >> 20, killed, after.get('pid')),
            out[-800:] + '\nread %s\n%s\n%s' % (got, back[-300:],
                                                f.stdout[-300:]) +
            json.dumps(after)[:800])


def luks_integrity(t, bk):
    """LUKS2 with integrity in the app VM over its sys-storage volume: a
    byte flipped underneath reads as an I/O error there, the rest reads."""
    r = bk('exec', 'st-mail', LUKS)
    out = r.stdout
    wrote = re.search(r'^written ([0-9a-f]{64})', out, re.M)
    back = re.search(r'^readback ([0-9a-f]{64})', out, re.M)
    flipped = re.search(r'^changed (\d+) bytes; flipped byte (\d+) of', out,
                        re.M)
    errors = re.search(r'^kernel: (\d+)', out, re.M)
    t.check(r.returncode == 0 and wrote and back and
            wrote.group(1) == back.group(1) and flipped and
            int(flipped.group(2)) >= 16 << 20 and
            re.search(r"^direct read: error reading '/dev/mapper/bkv': .+",
                      out, re.M) and
            re.search(r"^buffered read: error reading '/dev/mapper/bkv':"
                      r' Input/output error', out, re.M) and
            'other region: read' in out and errors and
            int(errors.group(1)) > 0,
            'LUKS2 with integrity (hmac-sha256) on a volume from sys-storage:'
            ' 1 MiB reads back; one byte flipped underneath (byte %s of the'
            ' %s the write changed) fails that read in the app VM (direct and'
            ' buffered; %s AEAD errors in its kernel), the rest still reads'
            % (flipped.group(2) if flipped else '?',
               flipped.group(1) if flipped else '?',
               errors.group(1) if errors else '?'),
            out[-2500:])


def steps(t, tmp, bk, disk):
    symlink_refused(t, tmp, bk)
    path = os.path.join(tmp, 'store.yaml')
    with open(path, 'w') as f:
        f.write(TOPO % (NS, disk, VOLUME_MIB))
    r = bk('up', path)
    st_uid = None
    try:
        st = os.stat(disk)
        st_uid = st.st_uid
        disk_ok = st.st_uid == st.st_gid and st.st_uid >= 0x70b10000 and \
            (st.st_mode & 0o777) == 0o600 and st.st_size == 1 << 30
    except OSError:
        disk_ok = False
    t.check(r.returncode == 0 and re.search(r'st-disk: READY .*pool', r.stdout)
            and 'made its disk' in r.stdout and disk_ok,
            'up: sys-storage READY with its pool on the emulated NVMe; its'
            ' disk file made sparse, its uid\'s alone (0600)',
            r.stdout[-3000:] + '\nuid %s' % st_uid)
    if r.returncode != 0:
        return
    st = topo_status(bk, 'bkstore')
    link = disk_link(st)
    table = bk('status').stdout
    t.check(link.get('kind') == 'storage' and link.get('running') and
            link.get('link', {}).get('volume', {}).get('capacity_sectors')
            == VOLUME_MIB * 2048 and
            re.search(r'^\s+LINK .*SIZE .*FLUSHES', table, re.M) and
            re.search(r'^\s+st-work\.disk\s+running .*%d MiB' % VOLUME_MIB,
                      table, re.M) and
            re.search(r'^  st-disk says: READY pool data \d+% metadata \d+%$',
                      table, re.M),
            'status: the storage link, its volume of %d MiB, in a table with'
            ' the storage kind\'s columns; what sys-storage says of its pool'
            ' (its agent\'s state, asked)' % VOLUME_MIB,
            table + json.dumps(link)[:1500])
    r = bk('exec', 'st-work', 'cat /sys/block/vda/size')
    t.check(r.returncode == 0 and r.stdout.split()[:1] == [str(VOLUME_MIB * 2048)],
            'the app VM has a virtio-blk disk of the volume\'s size',
            r.stdout[-500:])
    r = bk('exec', 'st-work', WRITE)
    written = sha(r.stdout)
    t.check(r.returncode == 0 and written and '64+0 records out' in r.stdout,
            '64 MiB written to it, flushed, read back', r.stdout[-800:])
    r1 = bk('stop', 'st-work')
    r2 = bk('start', 'st-work')
    again, out = read_hash(bk)
    t.check(r1.returncode == 0 and r2.returncode == 0 and again == written,
            'the 64 MiB survive a restart of the app VM (same hash)',
            r1.stdout[-500:] + r2.stdout[-500:] + out[-500:])
    # Durability: 8 MiB written and flushed (O_DIRECT, fsync), then
    # sys-storage's QEMU killed -9 at once, 5 times: each comes back
    # whole. The first also shows the restart itself: the supervisor
    # restarts sys-storage, the link reconnects (restarts counted).
    before = disk_link(topo_status(bk, 'bkstore'))
    kept, why = 0, ''
    for k in range(DURABLE_RUNS):
        seek = 64 + 8 * k
        r = bk('exec', 'st-work', PATTERN % (seek, 'conv=fsync'))
        want = sha(r.stdout)
        if not kill_storage(bk):
            why += 'run %d: sys-storage did not come back\n' % k
            continue
        got, out = read_hash(bk, REGION % seek)
        kept += bool(want) and got == want
        if got != want:
            why += 'run %d: wrote %s, read %s\n%s\n%s\n' % (
                k, want, got, r.stdout[-300:], out[-300:])
    again, out = read_hash(bk)
    after = disk_link(topo_status(bk, 'bkstore'))
    t.check(kept == DURABLE_RUNS and again == written and
            after.get('restarts', 0) > before.get('restarts', 0),
            'flushed data survives kill -9 of sys-storage\'s QEMU in %d of %d'
            ' runs (the supervisor restarts it, the link reconnects); the'
            ' 64 MiB unchanged' % (kept, DURABLE_RUNS),
            why + out[-300:] + json.dumps(after)[:1000])
    # The control: written (acknowledged) without a flush, then killed:
    # lost; and the app VM's next fsync fails once rather than lying
    # (bulkhead-blk --lost-writes), the one after succeeds.
    seek = 64 + 8 * DURABLE_RUNS
    r = bk('exec', 'st-work', PATTERN % (seek, ''))
    want = sha(r.stdout)
    back = kill_storage(bk)
    got, out = read_hash(bk, REGION % seek)
    f1 = bk('exec', 'st-work', FSYNC)
    f2 = bk('exec', 'st-work', FSYNC)
    t.check(back and want and got and got != want and
            'fsync failed' in f1.stdout and 'fsync ok' in f2.stdout,
            'the control: unflushed writes are lost when sys-storage is'
            ' killed, and the next fsync in the app VM fails once, the one'
            ' after works',
            'wrote %s read %s\n%s\n%s\n%s' % (want, got, out[-300:],
                                             f1.stdout[-500:], f2.stdout[-300:]))
    # After the control: the link that failed that fsync said so (its
    # --told-fd), so the one that replaces it when it is killed is not
    # told again, and the next fsync works.
    link_killed_under_load(t, bk, tmp, 64 + 8 * (DURABLE_RUNS + 1))
    dom_id = sh('virsh', '-c', URI, 'domid', 'bulkhead-st-disk').stdout.strip()
    with open(path, 'a') as f:
        f.write(ADDED)
    r = bk('up', path)
    size = bk('exec', 'st-mail', 'blockdev --getsz %s' % MAIL_DISK)
    again, out = read_hash(bk)
    same_id = sh('virsh', '-c', URI, 'domid', 'bulkhead-st-disk').stdout.strip()
    t.check(r.returncode == 0 and "port for st-mail's volume hot-plugged" in
            r.stdout and re.search(r'st-disk: UPDATED .*applied live', r.stdout)
            and dom_id and same_id == dom_id and
            size.stdout.split()[:1] == [str(64 * 2048)] and again == written,
            'an app VM on the Debian template with a volume added live: its'
            ' port hot-plugged, its volume made without restarting'
            ' sys-storage, its disk of 64 MiB;'
            ' the first one\'s data unchanged',
            '%s\nid %s -> %s\n%s\n%s' % (r.stdout[-2500:], dom_id, same_id,
                                       size.stdout[-300:], out[-300:]))
    luks_integrity(t, bk)
    discard_frees_pool(t, bk)
    r = bk('down', path)
    left = sh('pgrep', '-f', 'bulkhead.*' + re.escape(tmp)).stdout.split()
    t.check(r.returncode == 0 and not domains('bulkhead-st-') and not left and
            os.path.getsize(disk) == 1 << 30,
            'down: no domain or process left; the disk file kept',
            r.stdout[-1500:] + ' left %s' % left)


# Discard passed through (issue 18): bulkhead-blk offers DISCARD when
# sys-storage's nbdkit plugin can trim; the plugin's BLKDISCARD gives the
# thin pool its blocks back.
def pool_use(bk, ok=lambda pct: True, timeout=40):
    """sys-storage's pool data percentage as it says it now (its state
    line in `bulkhead status`), until OK(percentage) or TIMEOUT s; None
    when it said none."""
    pct = None
    end = time.monotonic() + timeout
    while True:
        vm = next((v for v in topo_status(bk, 'bkstore').get('vms', [])
                   if v.get('name') == 'st-disk'), {})
        m = re.match(r'READY .*pool data (\d+)%', vm.get('says', ''))
        pct = int(m.group(1)) if m else pct
        if (pct is not None and ok(pct)) or time.monotonic() >= end:
            return pct
        time.sleep(2)


def discard_frees_pool(t, bk):
    """The app VM's blkdiscard of its whole disk reaches the thin pool: its
    data percentage falls by what st-work had written (about 112 MiB of a
    pool of about 970 MiB)."""
    before = pool_use(bk)
    r = bk('exec', 'st-work', 'cat /sys/block/vda/queue/discard_max_bytes;'
           ' blkdiscard /dev/vda 2>&1 && echo discarded')
    after = pool_use(bk, lambda pct: before is not None and pct <= before - 8)
    link = disk_link(topo_status(bk, 'bkstore')).get('link', {})
    table = bk('status').stdout
    # SIZE, READS, WRITES, FLUSHES, DISCARDS.
    row = re.search(r'^\s+st-work\.disk\s+running .* \d+ MiB\s+\d+\s+\d+\s+'
                    r'\d+\s+(\d+)\s', table, re.M)
    t.check(r.returncode == 0 and 'discarded' in r.stdout and
            before is not None and after is not None
            and after <= before - 8 and link.get('discards', 0) > 0 and
            row and int(row.group(1)) == link.get('discards'),
            'blkdiscard in the app VM frees sys-storage\'s pool: data %s%% ->'
            ' %s%% (%s DISCARDs at bulkhead-blk, in status\'s DISCARDS'
            ' column)' % (before, after, link.get('discards')),
            r.stdout[-800:] + json.dumps(link)[:1500] + table[-1500:])


def main(argv):
    del argv
    return topology_test(
        BULKHEAD, 15, 'bk-orch-storage-', NS, OUT_IP, {},
        lambda t, tmp, bk, _sums, disk: steps(t, tmp, bk, disk),
        lambda tmp: (os.path.join(tmp, 'disk.raw'),))


if __name__ == '__main__':
    run_main(main)
