/* nbdkit-bkvolume-plugin: serves one block device (a thin volume,
 * /dev/bk/NAME) as NBD, for sys-storage's bk-serve:
 *
 *   nbdkit -s bkvolume device=/dev/bk/NAME
 *
 * Why not nbdkit's file plugin: in nbdkit 1.32 it turns a trim on a block
 * device into fallocate(PUNCH_HOLE), which the kernel makes a WRITE
 * ZEROES with unmap; dm-thin (Linux 6.1) has no WRITE ZEROES, the call
 * fails with EOPNOTSUPP, nbdkit drops the error (trim is advisory), and
 * the pool frees nothing. Here a trim is the BLKDISCARD ioctl, which
 * dm-thin takes: whole pool blocks in the range go back to the pool.
 *
 * Data and durability as the file plugin did it (docs/sysstorage.md):
 * reads and writes through sys-storage's page cache (pread, pwrite; no
 * O_DIRECT); NBD FLUSH, and FUA on a write, trim or zero, is fdatasync on
 * the device: dirty pages written, the thin pool's metadata committed
 * (a volume's new blocks, and a discard's unmapping, exist only once that
 * commit is on disk), the disk's cache flushed.
 *
 * Built by driver-vms/storage/image.py with the host's gcc against
 * Debian's nbdkit-plugin-dev headers. */
#define _GNU_SOURCE
#define NBDKIT_API_VERSION 2
/* Every callback below is safe with requests of one connection running
 * at once: the handle is read-only after open, and each call is one
 * positional syscall or ioctl on its fd (pread/pwrite take the offset,
 * no shared file position; BLKDISCARD/BLKZEROOUT drop the page cache of
 * their own range). Overlapping requests in flight together have no
 * order in NBD, as in virtio-blk. */
#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <nbdkit-plugin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The kernel's unit for BLKDISCARD and BLKZEROOUT ranges: both refuse a
 * start or length that is not a multiple of the logical block size
 * (512 on the thin volumes, whose pool sits on the disk's 512-byte
 * sectors or larger; checked at open). */
#define SECTOR 512u

/* The device= parameter. nbdkit hands configuration to .config before
 * any connection and gives it no context pointer, so it lives here: set
 * once while nbdkit reads its command line, only read afterwards. */
static const char *device;

struct volume {
	int fd;
	uint64_t size;          /* bytes, from BLKGETSIZE64 at open */
	uint32_t lbs;           /* logical block size, BLKSSZGET */
};

static int bkv_config(const char *key, const char *value)
{
	if (strcmp(key, "device") != 0) {
		nbdkit_error("unknown parameter '%s' (only device=PATH)", key);
		return -1;
	}
	if (device) {
		nbdkit_error("device= given twice ('%s', then '%s')", device,
			     value);
		return -1;
	}
	device = value;
	return 0;
}

static int bkv_config_complete(void)
{
	if (!device) {
		nbdkit_error("device=PATH is required");
		return -1;
	}
	return 0;
}

static void *bkv_open(int readonly)
{
	struct volume *v = calloc(1, sizeof(*v));
	struct stat st;
	int lbs = 0;

	if (!v) {
		nbdkit_error("calloc: %m");
		return NULL;
	}
	v->fd = open(device, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (v->fd < 0) {
		nbdkit_error("open %s: %m", device);
		free(v);
		return NULL;
	}
	if (fstat(v->fd, &st) < 0 || !S_ISBLK(st.st_mode)) {
		nbdkit_error("%s is not a block device", device);
		goto fail;
	}
	if (ioctl(v->fd, BLKGETSIZE64, &v->size) < 0 ||
	    ioctl(v->fd, BLKSSZGET, &lbs) < 0) {
		nbdkit_error("%s: BLKGETSIZE64/BLKSSZGET: %m", device);
		goto fail;
	}
	/* A block larger than a sector: the whole-sector ranges below would
	 * no longer be whole blocks for the kernel. */
	if (lbs <= 0 || (uint32_t)lbs > SECTOR * 8 || (uint32_t)lbs % SECTOR) {
		nbdkit_error("%s: logical block size %d, not 512..4096", device,
			     lbs);
		goto fail;
	}
	v->lbs = (uint32_t)lbs;
	return v;
fail:
	close(v->fd);
	free(v);
	return NULL;
}

static void bkv_close(void *handle)
{
	struct volume *v = handle;

	close(v->fd);
	free(v);
}

static int64_t bkv_get_size(void *handle)
{
	struct volume *v = handle;

	return (int64_t)v->size;
}

/* One connection at a time is served (bk-serve), and a second would not
 * see the first's writes flushed by its own FLUSH's promise alone. */
static int bkv_can_multi_conn(void *handle)
{
	(void)handle;
	return 0;
}

static int bkv_can_trim(void *handle)
{
	(void)handle;
	return 1;
}

static int bkv_can_zero(void *handle)
{
	(void)handle;
	return 1;
}

/* No zero is fast (BLKZEROOUT on dm-thin writes zero pages): a client
 * asking for a fast zero is told so and writes instead. */
static int bkv_can_fast_zero(void *handle)
{
	(void)handle;
	return 0;
}

static int bkv_can_flush(void *handle)
{
	(void)handle;
	return 1;
}

/* FUA done here (fdatasync after the operation), not by nbdkit calling
 * flush: the same cost, said explicitly. */
static int bkv_can_fua(void *handle)
{
	(void)handle;
	return NBDKIT_FUA_NATIVE;
}

/* Tells clients the unit the kernel needs for trim and zero ranges. */
static int bkv_block_size(void *handle, uint32_t *minimum, uint32_t *preferred,
			  uint32_t *maximum)
{
	struct volume *v = handle;

	*minimum = v->lbs;
	*preferred = 4096 > v->lbs ? 4096 : v->lbs;
	*maximum = 0xffffffff;
	return 0;
}

static int sync_device(struct volume *v, const char *after)
{
	if (fdatasync(v->fd) < 0) {
		nbdkit_error("%s: fdatasync%s: %m", device, after);
		return -1;
	}
	return 0;
}

static int bkv_flush(void *handle, uint32_t flags)
{
	(void)flags;
	return sync_device(handle, "");
}

static int bkv_pread(void *handle, void *buf, uint32_t count, uint64_t offset,
		     uint32_t flags)
{
	struct volume *v = handle;
	uint8_t *p = buf;

	(void)flags;
	while (count) {
		ssize_t n = pread(v->fd, p, count, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			nbdkit_error("%s: read of %" PRIu32 " bytes at %" PRIu64
				     ": %s", device, count, offset,
				     n ? strerror(errno) : "end of device");
			return -1;
		}
		p += n;
		count -= (uint32_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

static int bkv_pwrite(void *handle, const void *buf, uint32_t count,
		      uint64_t offset, uint32_t flags)
{
	struct volume *v = handle;
	const uint8_t *p = buf;

	while (count) {
		ssize_t n = pwrite(v->fd, p, count, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			nbdkit_error("%s: write of %" PRIu32 " bytes at %" PRIu64
				     ": %m", device, count, offset);
			return -1;
		}
		p += n;
		count -= (uint32_t)n;
		offset += (uint64_t)n;
	}
	return flags & NBDKIT_FLAG_FUA ? sync_device(v, " (FUA write)") : 0;
}

/* NBD trim: advisory, so only the whole logical blocks inside the range
 * are discarded (the kernel refuses a partial one); nbdkit has already
 * checked the range against the size. BLKDISCARD drops the page cache
 * of the range first, so no cached page outlives the discard. */
static int bkv_trim(void *handle, uint32_t count, uint64_t offset,
		    uint32_t flags)
{
	struct volume *v = handle;
	uint64_t start = (offset + v->lbs - 1) / v->lbs * v->lbs;
	uint64_t end = (offset + count) / v->lbs * v->lbs;
	uint64_t range[2] = { start, end - start };

	if (end > start && ioctl(v->fd, BLKDISCARD, range) < 0) {
		/* A device that cannot discard: trim is advisory. */
		if (errno == EOPNOTSUPP)
			return 0;
		nbdkit_error("%s: BLKDISCARD of %" PRIu64 " bytes at %" PRIu64
			     ": %m", device, range[1], range[0]);
		return -1;
	}
	return flags & NBDKIT_FLAG_FUA ? sync_device(v, " (FUA trim)") : 0;
}

/* NBD zero: BLKZEROOUT, which leaves the range reading zeros whatever
 * the device supports (the kernel writes zero pages when it has no
 * WRITE ZEROES, as on dm-thin). It does so with or without may_trim: a
 * BLKDISCARD first would free the thin blocks only for BLKZEROOUT's
 * zero pages to allocate them again, and a discard alone does not
 * promise zeros. A range of partial blocks, or a device without it:
 * ENOTSUP, and nbdkit writes the zeroes itself with pwrite. */
static int bkv_zero(void *handle, uint32_t count, uint64_t offset,
		    uint32_t flags)
{
	struct volume *v = handle;
	uint64_t range[2] = { offset, count };

	if (offset % v->lbs || count % v->lbs) {
		errno = ENOTSUP;
		return -1;
	}
	if (ioctl(v->fd, BLKZEROOUT, range) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOTSUP)
			return -1;
		nbdkit_error("%s: BLKZEROOUT of %" PRIu32 " bytes at %" PRIu64
			     ": %m", device, count, offset);
		return -1;
	}
	return flags & NBDKIT_FLAG_FUA ? sync_device(v, " (FUA zero)") : 0;
}

static struct nbdkit_plugin plugin = {
	.name = "bkvolume",
	.longname = "Bulkhead sys-storage volume",
	.description = "one block device; trim as BLKDISCARD, zero as BLKZEROOUT",
	.config = bkv_config,
	.config_complete = bkv_config_complete,
	.config_help = "device=PATH   the block device to serve (required)",
	.magic_config_key = "device",
	.open = bkv_open,
	.close = bkv_close,
	.get_size = bkv_get_size,
	.block_size = bkv_block_size,
	.can_multi_conn = bkv_can_multi_conn,
	.can_trim = bkv_can_trim,
	.can_zero = bkv_can_zero,
	.can_fast_zero = bkv_can_fast_zero,
	.can_flush = bkv_can_flush,
	.can_fua = bkv_can_fua,
	.pread = bkv_pread,
	.pwrite = bkv_pwrite,
	.flush = bkv_flush,
	.trim = bkv_trim,
	.zero = bkv_zero,
	/* The callbacks return with errno set for nbdkit to send. */
	.errno_is_preserved = 1,
};

/* nbdkit's entry point, defined by the macro below (declared here for
 * -Wmissing-prototypes). */
struct nbdkit_plugin *plugin_init(void);

NBDKIT_REGISTER_PLUGIN(plugin)
