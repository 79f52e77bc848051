"""The storage benchmark's guest (blk_compare.py): the app VM's kernel
and initramfs from the image cache (Debian's kernel, busybox, the virtio
modules including virtio_blk), with fio and the libraries it needs (from
the host's Debian 12 `fio` package: tests/install-deps) and an /init of
its own: it loads the modules, waits for /dev/vda, runs the fio job file
it was built with on it and prints fio's JSON on the serial console
between BK-FIO-BEGIN and BK-FIO-END lines, then powers off.

Nothing here is the app VM's image: that one is untouched, the bench
image is built into the run's directory."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                'guest-os'))
sys.dont_write_bytecode = True
from app_image import INIT_START  # noqa: E402
from driver_image import install_elf  # noqa: E402
from image_util import write  # noqa: E402
from initramfs import make_initramfs  # noqa: E402

# The jobs, one after the other (stonewall), each on the whole disk
# with O_DIRECT: (name, rw, block size, queue depth). 1 MiB sequential
# at depth 4: large enough to keep the device busy, within bulkhead-blk's
# 32 requests and 16 MiB of buffers in flight.
JOBS = (('randread-4k-qd1', 'randread', '4k', 1),
        ('randread-4k-qd16', 'randread', '4k', 16),
        ('read-1m', 'read', '1m', 4),
        ('write-1m', 'write', '1m', 4))
IOENGINE = 'libaio'

INIT = r'''#!/bin/sh
# The storage benchmark's guest (tests/bench/blk_guest.py).
''' + INIT_START + r'''res "init uptime=$(up)"
while read -r m; do
	insmod "/lib/modules/$m.ko" || res "module-failed $m"
done </etc/bk-modules
n=0
while [ ! -b /dev/vda ]; do
	n=$((n + 1))
	[ $n -gt 200 ] && { res "error no /dev/vda"; finish; }
	usleep 50000
done
q=/sys/block/vda/queue
res "disk sectors=$(cat /sys/block/vda/size) max_sectors_kb=$(cat $q/max_sectors_kb) max_segments=$(cat $q/max_segments) max_segment_size=$(cat $q/max_segment_size) scheduler=$(cat $q/scheduler | tr ' ' ,) kernel=$(uname -r)"
res "fio start uptime=$(up)"
if fio --output-format=json --output=/tmp/fio.json /etc/bench.fio >/tmp/fio.out 2>&1; then
	res "fio end uptime=$(up)"
	echo BK-FIO-BEGIN
	cat /tmp/fio.json
	echo BK-FIO-END
else
	res "error fio exit $?: $(tail -n 3 /tmp/fio.out | tr '\n' ' ')"
fi
finish
'''


def job_file(runtime, ramp):
    """fio's job file: JOBS, each RAMP s unmeasured then RUNTIME s."""
    out = ['[global]', 'filename=/dev/vda', 'direct=1',
           'ioengine=' + IOENGINE, 'thread=1', 'time_based=1',
           'runtime=%d' % runtime, 'ramp_time=%d' % ramp,
           # The same offsets in every run, for both configurations.
           'randrepeat=1', '']
    for name, rw, bs, depth in JOBS:
        out += ['[%s]' % name, 'stonewall', 'rw=' + rw, 'bs=' + bs,
                'iodepth=%d' % depth, '']
    return '\n'.join(out)


def build(images, out, runtime, ramp, work):
    """The bench initramfs at OUT from the cache IMAGES' app initramfs,
    in the scratch directory WORK; returns the guest's fio files."""
    tree = os.path.join(work, 'bench-tree')
    os.makedirs(tree)
    with open(os.path.join(images, 'app-initramfs.cpio.gz'), 'rb') as f:
        gz = subprocess.Popen(['gzip', '-dc'], stdin=f, stdout=subprocess.PIPE)
        subprocess.run(['cpio', '-idm', '--quiet', '--no-absolute-filenames'],
                       stdin=gz.stdout, cwd=tree, check=True)
        gz.stdout.close()
        if gz.wait() != 0:
            sys.exit('blk_guest: cannot unpack the app initramfs')
    write(os.path.join(tree, 'init'), INIT.encode(), 0o755)
    write(os.path.join(tree, 'etc/bench.fio'),
          job_file(runtime, ramp).encode(), 0o644)
    elf = install_elf(tree, '/', ['usr/bin/fio'])
    make_initramfs(tree, out)
    subprocess.run(['rm', '-rf', tree], check=True)
    return elf
