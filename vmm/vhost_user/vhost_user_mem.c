#include "vhost_user_mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void unmap_region(struct vu_dev *dev, unsigned i)
{
	if (dev->maps[i].addr)
		munmap(dev->maps[i].addr, dev->maps[i].len);
	dev->maps[i].addr = NULL;
	dev->maps[i].len = 0;
	dev->maps[i].refs = 0;
}

void vu_mem_clear(struct vu_dev *dev)
{
	dev->mem_gen++;
	for (unsigned i = 0; i < dev->mem.nregions; i++)
		unmap_region(dev, i);
	guest_mem_init(&dev->mem);
}

/* Maps one region after checking it against its file: a region larger
 * than the file would fault (SIGBUS) on first touch. */
static int map_region(struct vu_dev *dev, const struct vu_mem_region *r,
		      int fd, struct guest_mem_region *out, void **map,
		      size_t *map_len)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t aligned = r->mmap_offset & ~(uint64_t)(page - 1);
	uint64_t lead = r->mmap_offset - aligned;
	struct stat st;
	void *addr;
	uint64_t len;

	if (r->size == 0 || r->mmap_offset > UINT64_MAX - r->size ||
	    r->size > SIZE_MAX - lead)
		return vu_refuse(dev, -EINVAL,
				 "memory region gpa 0x%" PRIx64 ": size 0x%" PRIx64
				 " offset 0x%" PRIx64 " invalid",
				 r->gpa, r->size, r->mmap_offset);
	if (fstat(fd, &st) != 0)
		return vu_refuse(dev, -errno, "memory region gpa 0x%" PRIx64
				 ": fstat: %s", r->gpa, strerror(errno));
	if (S_ISREG(st.st_mode) &&
	    r->mmap_offset + r->size > (uint64_t)st.st_size)
		return vu_refuse(dev, -EINVAL,
				 "memory region gpa 0x%" PRIx64 ": offset 0x%" PRIx64
				 " + size 0x%" PRIx64 " beyond its file (0x%" PRIx64
				 " bytes)", r->gpa, r->mmap_offset, r->size,
				 (uint64_t)st.st_size);
	/* A hugetlb file maps in whole huge pages (its st_blksize): the
	 * length is rounded to them, so that munmap, and the SIGBUS
	 * recovery that puts other memory in place of the whole mapping
	 * (vmm/worker/guest_fault.c), cover exactly what was mapped. */
	uint64_t unit = (uint64_t)page;

	if ((uint64_t)st.st_blksize > unit && st.st_blksize <= (1l << 30) &&
	    (st.st_blksize & (st.st_blksize - 1)) == 0)
		unit = (uint64_t)st.st_blksize;
	if (r->size + lead > SIZE_MAX - (unit - 1))
		return vu_refuse(dev, -EINVAL, "memory region gpa 0x%" PRIx64
				 ": size 0x%" PRIx64 " too large", r->gpa, r->size);
	len = (r->size + lead + unit - 1) & ~(unit - 1);
	addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE, fd, (off_t)aligned);
	if (addr == MAP_FAILED)
		return vu_refuse(dev, -errno, "memory region gpa 0x%" PRIx64
				 " size 0x%" PRIx64 ": mmap: %s", r->gpa, r->size,
				 strerror(errno));
	*map = addr;
	*map_len = len;
	*out = (struct guest_mem_region){
		.gpa = r->gpa,
		.size = r->size,
		.uva = r->uva,
		.offset = r->mmap_offset,
		.hva = (uint8_t *)addr + lead,
	};
	return 0;
}

/* The region already in the table with r's gpa, size, uva and offset,
 * backed by the same file as FD, or -1 (then any overlap is refused:
 * the same addresses over another file are another region). */
static int same_region(const struct vu_dev *dev, const struct vu_mem_region *r,
		       const struct stat *file)
{
	for (unsigned i = 0; i < dev->mem.nregions; i++) {
		const struct guest_mem_region *g = &dev->mem.regions[i];

		if (g->gpa == r->gpa && g->size == r->size && g->uva == r->uva &&
		    g->offset == r->mmap_offset &&
		    dev->maps[i].file_dev == file->st_dev &&
		    dev->maps[i].file_ino == file->st_ino)
			return (int)i;
	}
	return -1;
}

int vu_mem_add(struct vu_dev *dev, const struct vu_mem_region *r, int fd)
{
	struct guest_mem_region g;
	char err[160];
	void *map = NULL;
	size_t len = 0;
	struct stat file;

	if (fstat(fd, &file) != 0)
		return vu_refuse(dev, -errno, "memory region gpa 0x%" PRIx64
				 ": fstat: %s", r->gpa, strerror(errno));
	int same = same_region(dev, r, &file);

	/* With several queue pairs QEMU adds every region once per pair's
	 * vhost device (CONFIGURE_MEM_SLOTS): the same region again is
	 * counted, not refused as an overlap, and not mapped twice; its
	 * descriptor is closed with the message. Any other overlap, the
	 * same addresses over another file included, is still refused
	 * (guest_mem_add_region). */
	if (same >= 0) {
		dev->maps[same].refs++;
		return 0;
	}
	int ret = map_region(dev, r, fd, &g, &map, &len);

	if (ret < 0)
		return ret;
	ret = guest_mem_add_region(&dev->mem, &g, err, sizeof(err));
	if (ret < 0) {
		munmap(map, len);
		return vu_refuse(dev, ret, "%s", err);
	}
	dev->maps[dev->mem.nregions - 1].addr = map;
	dev->maps[dev->mem.nregions - 1].len = len;
	dev->maps[dev->mem.nregions - 1].refs = 1;
	dev->maps[dev->mem.nregions - 1].file_dev = file.st_dev;
	dev->maps[dev->mem.nregions - 1].file_ino = file.st_ino;
	return 0;
}

int vu_mem_set_table(struct vu_dev *dev, const struct vu_mem_table *t,
		     const int *fds)
{
	int ret = 0;

	/* All or nothing: the old table goes, the new one is built from
	 * scratch; on a bad region no table is left (rings stop). */
	vu_mem_clear(dev);
	for (uint32_t i = 0; i < t->nregions && ret == 0; i++)
		ret = vu_mem_add(dev, &t->regions[i], fds[i]);
	if (ret < 0)
		vu_mem_clear(dev);
	return ret;
}

int vu_mem_remove(struct vu_dev *dev, const struct vu_mem_region *r)
{
	struct guest_mem_region gone;

	for (unsigned i = 0; i < dev->mem.nregions; i++) {
		if (dev->mem.regions[i].gpa != r->gpa ||
		    dev->mem.regions[i].size != r->size)
			continue;
		void *addr = dev->maps[i].addr;
		size_t len = dev->maps[i].len;

		/* Added once per queue pair: mapped until the last goes. */
		if (dev->maps[i].refs > 1) {
			dev->maps[i].refs--;
			return 0;
		}

		dev->mem_gen++;
		guest_mem_remove_region(&dev->mem, r->gpa, r->size, &gone);
		memmove(&dev->maps[i], &dev->maps[i + 1],
			(dev->mem.nregions - i) * sizeof(dev->maps[0]));
		munmap(addr, len);
		return 0;
	}
	return vu_refuse(dev, -ENOENT,
			 "REM_MEM_REG: no region at gpa 0x%" PRIx64 " size 0x%" PRIx64,
			 r->gpa, r->size);
}
