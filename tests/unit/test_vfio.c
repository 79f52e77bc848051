/* orchestration/vfio.c against a directory tree laid out like sysfs, plus
 * one case against this host's real /sys.
 *
 * What these tests can and cannot show: the fixture has the real layout
 * (device directories under devices/, symlinked from bus/pci/devices, the
 * iommu_group and driver links, each group's devices/ of links), so the
 * checks of vfio_check run as they would on a host. But writes to
 * driver_override, unbind and drivers_probe only change files here: no
 * kernel rebinds anything. So the bind and unbind cases check what is
 * written, where and in which order (inotify reports each write as its
 * file is closed, in order; vfio.c appends, so each file keeps one line
 * per write), and that the verification notices the device did not move;
 * the kernel's part is played between calls by re-pointing the driver
 * link. Whether a real kernel then binds as documented is only
 * shown on a host with an IOMMU and a spare device (docs/vfio.md). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "vfio.h"

#define NIC "0000:03:00.0"
#define NIC_FN1 "0000:03:00.1"
#define BRIDGE "0000:00:1c.0"
#define HOST_BRIDGE "0000:00:00.0"

/* Exact equality, printing both on a mismatch. */
#define CHECK_SAME(t, got, want)                                         \
	do {                                                             \
		const char *got_ = (got), *want_ = (want);               \
		if (strcmp(got_, want_) != 0) {                          \
			printf("# %s:%d: \"%s\", expected \"%s\"\n",     \
			       __FILE__, __LINE__, got_, want_);         \
			(t)->failed_checks++;                            \
		}                                                        \
	} while (0)

struct fx {
	char root[64];
};

static void die(const char *what, const char *path)
{
	printf("Bail out! fixture: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

/* ROOT/FMT... into OUT (PATH_MAX bytes). */
__attribute__((format(printf, 3, 4)))
static void fx_path(const struct fx *fx, char *out, const char *fmt, ...)
{
	char rel[PATH_MAX - 80];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(out, PATH_MAX, "%s/%s", fx->root, rel);
}

static void mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			die("mkdir", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		die("mkdir", buf);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		die("write", path);
}

/* The file's content, "" when it cannot be read. */
static const char *content(const struct fx *fx, const char *rel, char *buf,
			   size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	fx_path(fx, path, "%s", rel);
	f = fopen(path, "r");
	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, len - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

static void fx_link(const struct fx *fx, const char *target, const char *rel)
{
	char path[PATH_MAX];

	fx_path(fx, path, "%s", rel);
	unlink(path);
	if (target && symlink(target, path) < 0)
		die("symlink", path);
}

/* The empty tree: the bus with drivers_probe, e1000e and vfio-pci
 * loaded, and no IOMMU groups (the IOMMU is off until a group is made). */
static void fx_init(struct fx *fx)
{
	static const char *const dirs[] = {
		"bus/pci/devices", "bus/pci/drivers/e1000e",
		"bus/pci/drivers/vfio-pci", "devices/pci0000:00",
		"kernel/iommu_groups",
	};
	char path[PATH_MAX];

	snprintf(fx->root, sizeof(fx->root), "/tmp/bulkhead-vfio-XXXXXX");
	if (mkdtemp(fx->root) == NULL)
		die("mkdtemp", fx->root);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		fx_path(fx, path, "%s", dirs[i]);
		mkdir_p(path);
	}
	fx_path(fx, path, "bus/pci/drivers_probe");
	put(path, "");
	fx_path(fx, path, "bus/pci/drivers/e1000e/unbind");
	put(path, "");
	fx_path(fx, path, "bus/pci/drivers/vfio-pci/unbind");
	put(path, "");
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void fx_free(struct fx *fx)
{
	nftw(fx->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Points BDF's driver link at DRIVER (NULL: no driver), as the kernel does
 * on binding. */
static void fx_set_driver(const struct fx *fx, const char *bdf,
			  const char *driver)
{
	char target[PATH_MAX], rel[PATH_MAX - 80];

	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s",
		 driver ? driver : "");
	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/driver", bdf);
	fx_link(fx, driver ? target : NULL, rel);
}

/* A device of class CLS in IOMMU group GROUP (-1: none) held by DRIVER
 * (NULL: none), linked as sysfs links it. */
static void fx_dev(const struct fx *fx, const char *bdf, unsigned cls,
		   int group, const char *driver)
{
	char path[PATH_MAX], target[PATH_MAX], rel[PATH_MAX - 80], text[16];

	fx_path(fx, path, "devices/pci0000:00/%s", bdf);
	mkdir_p(path);
	fx_path(fx, path, "devices/pci0000:00/%s/class", bdf);
	snprintf(text, sizeof(text), "0x%06x\n", cls);
	put(path, text);
	/* The kernel shows "(null)" when no override is set; empty here, so
	 * that the file holds exactly what was written to it. */
	fx_path(fx, path, "devices/pci0000:00/%s/driver_override", bdf);
	put(path, "");
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", bdf);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", bdf);
	fx_link(fx, target, rel);
	fx_set_driver(fx, bdf, driver);
	if (group < 0)
		return;
	fx_path(fx, path, "kernel/iommu_groups/%d/devices", group);
	mkdir_p(path);
	snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%d",
		 group);
	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/iommu_group", bdf);
	fx_link(fx, target, rel);
	snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s",
		 bdf);
	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/devices/%s", group,
		 bdf);
	fx_link(fx, target, rel);
}

/* BDF's driver created network interface IFNAME with FLAGS. */
static void fx_netdev(const struct fx *fx, const char *bdf,
		      const char *ifname, const char *flags)
{
	char path[PATH_MAX];

	fx_path(fx, path, "devices/pci0000:00/%s/net/%s", bdf, ifname);
	mkdir_p(path);
	fx_path(fx, path, "devices/pci0000:00/%s/net/%s/flags", bdf, ifname);
	put(path, flags);
}

/* vfio_bind of NIC. */
static int bind_nic(const struct fx *fx, char prev[VFIO_DRIVER_NAME_MAX],
		    char *err, size_t len)
{
	return vfio_bind(fx->root, NIC, prev, VFIO_DRIVER_NAME_MAX, err, len);
}

/* The tree with NIC (a NIC, IOMMU group 12) held by DRIVER. */
static void fx_init_nic(struct fx *fx, const char *driver)
{
	fx_init(fx);
	fx_dev(fx, NIC, 0x020000, 12, driver);
}

/* Which watched files were written, in order: one inotify instance
 * queues its events in the order they happen. */
#define REC_MAX 4
struct rec {
	int fd;
	int wd[REC_MAX];
	const char *label[REC_MAX];
	unsigned n;
};

static void rec_watch(struct rec *r, const struct fx *fx, const char *label,
		      const char *rel)
{
	char path[PATH_MAX];

	if (r->n == 0) {
		r->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (r->fd < 0)
			die("inotify_init1", "");
	}
	fx_path(fx, path, "%s", rel);
	r->wd[r->n] = inotify_add_watch(r->fd, path, IN_CLOSE_WRITE);
	if (r->wd[r->n] < 0)
		die("inotify_add_watch", path);
	r->label[r->n++] = label;
}

/* Watches the three files a bind or unbind of NIC writes, DRIVER's unbind
 * among them. */
static void rec_bind_files(struct rec *r, const struct fx *fx,
			   const char *driver)
{
	char unbind[PATH_MAX - 80];

	snprintf(unbind, sizeof(unbind), "bus/pci/drivers/%s/unbind", driver);
	rec_watch(r, fx, "override", "bus/pci/devices/" NIC "/driver_override");
	rec_watch(r, fx, "unbind", unbind);
	rec_watch(r, fx, "probe", "bus/pci/drivers_probe");
}

/* The labels of the writes so far, " > " between them; stops watching. */
static const char *rec_take(struct rec *r, char *out, size_t len)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t used = 0;
	ssize_t n;

	out[0] = '\0';
	while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			for (unsigned i = 0; i < r->n; i++) {
				if (ev->wd == r->wd[i] && used < len)
					used += (size_t)snprintf(out + used, len - used,
								 "%s%s", used ? " > " : "",
								 r->label[i]);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	close(r->fd);
	r->n = 0;
	return out;
}

/* vfio_check of NIC alone. */
static int check_nic(const struct fx *fx, char *err, size_t len)
{
	static const char *const listed[] = { NIC };

	return vfio_check(fx->root, listed, 1, err, len);
}

static void test_device_missing(struct tap *t, const void *arg)
{
	struct fx fx;
	char err[512], want[256];

	(void)arg;
	fx_init(&fx);
	fx_dev(&fx, NIC_FN1, 0x020000, 12, "e1000e");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), -ENODEV);
	snprintf(want, sizeof(want),
		 "PCI device " NIC ": no such device (not in %s/bus/pci/devices)",
		 fx.root);
	CHECK_SAME(t, err, want);
	fx_free(&fx);
}

/* The second of two listed devices is checked too. */
static void test_every_listed_device_checked(struct tap *t, const void *arg)
{
	static const char *const listed[] = { NIC, NIC_FN1 };
	struct fx fx;
	char err[512];

	(void)arg;
	fx_init_nic(&fx, "e1000e");
	CHECK_EQ(t, vfio_check(fx.root, listed, 2, err, sizeof(err)), -ENODEV);
	CHECK_STR(t, err, "PCI device " NIC_FN1 ": no such device");
	fx_free(&fx);
}

static void test_iommu_off(struct tap *t, const void *arg)
{
	struct fx fx;
	char err[512], want[256];

	(void)arg;
	fx_init(&fx);
	fx_dev(&fx, NIC, 0x020000, -1, "e1000e");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), -ENXIO);
	snprintf(want, sizeof(want),
		 "PCI device " NIC ": the IOMMU is off (no %s/kernel/iommu_groups entries): enable VT-d/AMD-Vi in the firmware",
		 fx.root);
	CHECK_STR(t, err, want);
	fx_free(&fx);
}

/* The IOMMU is on (another device has a group) but not for this one. */
static void test_no_group_link(struct tap *t, const void *arg)
{
	struct fx fx;
	char err[512];

	(void)arg;
	fx_init(&fx);
	fx_dev(&fx, BRIDGE, 0x060400, 1, NULL);
	fx_dev(&fx, NIC, 0x020000, -1, "e1000e");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), -ENXIO);
	CHECK_STR(t, err, "PCI device " NIC ": no IOMMU group (");
	CHECK_STR(t, err, "/bus/pci/devices/" NIC "/iommu_group");
	fx_free(&fx);
}

static void test_alone_in_group(struct tap *t, const void *arg)
{
	struct fx fx;
	char err[512] = "";

	(void)arg;
	fx_init_nic(&fx, "e1000e");
	fx_dev(&fx, NIC_FN1, 0x020000, 13, "e1000e");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), 0);
	CHECK_SAME(t, err, "");
	fx_free(&fx);
}

static void test_unlisted_nic_function(struct tap *t, const void *arg)
{
	struct fx fx;
	char err[512];

	(void)arg;
	fx_init_nic(&fx, "e1000e");
	fx_dev(&fx, NIC_FN1, 0x020000, 12, "e1000e");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), -EBUSY);
	CHECK_SAME(t, err, "PCI device " NIC ": IOMMU group 12 also holds "
		  NIC_FN1 " (class 0x020000), which the topology does not list: list it for the same driver VM or move the device");
	fx_free(&fx);
}

/* A member that is not a PCI device (no class file) is not a bridge. */
static void test_unlisted_member_without_class(struct tap *t, const void *arg)
{
	struct fx fx;
	char err[512], path[PATH_MAX];

	(void)arg;
	fx_init_nic(&fx, "e1000e");
	fx_path(&fx, path, "kernel/iommu_groups/12/devices/platform-dma.0");
	mkdir_p(path);
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), -EBUSY);
	CHECK_STR(t, err, "also holds platform-dma.0 (class unknown)");
	fx_free(&fx);
}

/* A PCI-to-PCI bridge may stay, bound to its port driver or not. */
static void test_unlisted_bridge_ok(struct tap *t, const void *arg)
{
	struct fx fx;
	char err[512] = "";

	(void)arg;
	fx_init(&fx);
	fx_dev(&fx, BRIDGE, 0x060400, 12, "e1000e");
	fx_dev(&fx, NIC, 0x020000, 12, "e1000e");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), 0);
	CHECK_SAME(t, err, "");
	fx_free(&fx);
}

static void test_two_listed_in_group_ok(struct tap *t, const void *arg)
{
	static const char *const listed[] = { NIC, NIC_FN1 };
	struct fx fx;
	char err[512] = "";

	(void)arg;
	fx_init_nic(&fx, "e1000e");
	fx_dev(&fx, NIC_FN1, 0x020000, 12, NULL);
	CHECK_EQ(t, vfio_check(fx.root, listed, 2, err, sizeof(err)), 0);
	CHECK_SAME(t, err, "");
	fx_free(&fx);
}

/* A driver-less host bridge may stay; one a host driver holds may not.
 * The class is 0x060000 in both, so only the driver decides. */
static void test_unlisted_host_bridge(struct tap *t, const void *arg)
{
	struct fx fx;
	char err[512] = "";

	(void)arg;
	fx_init(&fx);
	fx_dev(&fx, HOST_BRIDGE, 0x060000, 12, NULL);
	fx_dev(&fx, NIC, 0x020000, 12, "e1000e");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), 0);
	CHECK_SAME(t, err, "");
	fx_set_driver(&fx, HOST_BRIDGE, "e1000e");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), -EBUSY);
	CHECK_STR(t, err, "IOMMU group 12 also holds host bridge " HOST_BRIDGE
		  " (class 0x060000), which host driver e1000e holds");
	fx_free(&fx);
}

static void test_boot_vga(struct tap *t, const void *arg)
{
	struct fx fx;
	char err[512] = "", path[PATH_MAX];

	(void)arg;
	fx_init(&fx);
	fx_dev(&fx, NIC, 0x030000, 12, NULL);
	fx_path(&fx, path, "devices/pci0000:00/" NIC "/boot_vga");
	put(path, "0\n");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), 0);
	put(path, "1\n");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), -EBUSY);
	CHECK_STR(t, err, "PCI device " NIC ": it is the host's boot display (boot_vga is 1)");
	fx_free(&fx);
}

/* IFF_UP is bit 0 of the flags: 0x1002 is down, 0x1003 up. */
static void test_net_interface_up(struct tap *t, const void *arg)
{
	struct fx fx;
	char err[512] = "";

	(void)arg;
	fx_init_nic(&fx, "e1000e");
	fx_netdev(&fx, NIC, "enp3s0", "0x1002\n");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), 0);
	fx_netdev(&fx, NIC, "enp3s0", "0x1003\n");
	CHECK_EQ(t, check_nic(&fx, err, sizeof(err)), -EBUSY);
	CHECK_STR(t, err, "PCI device " NIC ": its network interface enp3s0 is up on the host (flags 0x1003)");
	fx_free(&fx);
}

/* From e1000e: override, then unbind from e1000e, then probe. Nothing
 * rebinds in the fixture, so the check after the probe fails, and bind
 * gives the device back: still on e1000e, it only needs the override
 * cleared. Each file holds one line per write. */
static void test_bind_sequence(struct tap *t, const void *arg)
{
	struct fx fx;
	struct rec r = { 0 };
	char err[512], prev[VFIO_DRIVER_NAME_MAX], seq[128], buf[64];

	(void)arg;
	fx_init_nic(&fx, "e1000e");
	rec_bind_files(&r, &fx, "e1000e");
	CHECK_EQ(t, bind_nic(&fx, prev, err, sizeof(err)), -EIO);
	CHECK_SAME(t, prev, "e1000e");
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)),
		   "override > unbind > probe > override");
	CHECK_SAME(t, content(&fx, "bus/pci/devices/" NIC "/driver_override",
			      buf, sizeof(buf)), "vfio-pci\n\n");
	CHECK_SAME(t, content(&fx, "bus/pci/drivers/e1000e/unbind", buf,
			      sizeof(buf)), NIC "\n");
	CHECK_SAME(t, content(&fx, "bus/pci/drivers_probe", buf, sizeof(buf)),
		   NIC "\n");
	CHECK_SAME(t, err, "PCI device " NIC ": on e1000e after drivers_probe, not vfio-pci (see the kernel log); given back to e1000e");
	fx_free(&fx);
}

/* A write that fails half-way (no drivers_probe) also gives it back. */
static void test_bind_failed_write(struct tap *t, const void *arg)
{
	struct fx fx;
	struct rec r = { 0 };
	char err[512], prev[VFIO_DRIVER_NAME_MAX], seq[128], path[PATH_MAX];

	(void)arg;
	fx_init_nic(&fx, "e1000e");
	fx_path(&fx, path, "bus/pci/drivers_probe");
	unlink(path);
	rec_watch(&r, &fx, "override", "bus/pci/devices/" NIC "/driver_override");
	rec_watch(&r, &fx, "unbind", "bus/pci/drivers/e1000e/unbind");
	CHECK_EQ(t, bind_nic(&fx, prev, err, sizeof(err)), -ENOENT);
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)),
		   "override > unbind > override");
	CHECK_STR(t, err, "PCI device " NIC ": writing \"" NIC "\" to ");
	CHECK_STR(t, err, "/bus/pci/drivers_probe: No such file or directory; given back to e1000e");
	fx_free(&fx);
}

/* Driver-less: nothing to unbind from; PREV_DRIVER is "", and giving
 * back is clearing the override and reprobing. */
static void test_bind_driverless(struct tap *t, const void *arg)
{
	struct fx fx;
	struct rec r = { 0 };
	char err[512], prev[VFIO_DRIVER_NAME_MAX] = "x", seq[128];

	(void)arg;
	fx_init_nic(&fx, NULL);
	rec_bind_files(&r, &fx, "e1000e");
	CHECK_EQ(t, bind_nic(&fx, prev, err, sizeof(err)), -EIO);
	CHECK_SAME(t, prev, "");
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)),
		   "override > probe > override > probe");
	CHECK_STR(t, err, "PCI device " NIC ": no driver took it after drivers_probe, not vfio-pci");
	CHECK_STR(t, err, "; given back to no driver, as it was");
	fx_free(&fx);
}

static void test_bind_already_vfio(struct tap *t, const void *arg)
{
	struct fx fx;
	struct rec r = { 0 };
	char err[512], prev[VFIO_DRIVER_NAME_MAX], seq[128];

	(void)arg;
	fx_init_nic(&fx, "vfio-pci");
	rec_bind_files(&r, &fx, "vfio-pci");
	CHECK_EQ(t, bind_nic(&fx, prev, err, sizeof(err)), 0);
	CHECK_SAME(t, prev, "vfio-pci");
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)), "");
	fx_free(&fx);
}

/* vfio-pci not loaded: refused before any write, so the device keeps its
 * driver; a PREV_DRIVER too small for the name is refused, not cut. */
static void test_bind_refusals(struct tap *t, const void *arg)
{
	struct fx fx;
	struct rec r = { 0 };
	char err[512], prev[VFIO_DRIVER_NAME_MAX], seq[128], path[PATH_MAX];

	(void)arg;
	fx_init_nic(&fx, "e1000e");
	fx_path(&fx, path, "bus/pci/drivers/vfio-pci/unbind");
	unlink(path);
	fx_path(&fx, path, "bus/pci/drivers/vfio-pci");
	rmdir(path);
	rec_bind_files(&r, &fx, "e1000e");
	CHECK_EQ(t, bind_nic(&fx, prev, err, sizeof(err)), -ENOENT);
	CHECK_STR(t, err, "PCI device " NIC ": vfio-pci is not loaded (no ");
	CHECK_STR(t, err, "modprobe vfio-pci");
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)), "");
	CHECK_EQ(t, vfio_bind(fx.root, NIC, prev, 6, err, sizeof(err)),
		 -ENAMETOOLONG);
	CHECK_STR(t, err, "driver name e1000e does not fit 6 bytes");
	CHECK_EQ(t, vfio_bind(fx.root, NIC_FN1, prev, sizeof(prev), err,
			      sizeof(err)), -ENODEV);
	fx_free(&fx);
}

/* Back to e1000e: unbind from vfio-pci, clear the override, probe; the
 * fixture leaves it on vfio-pci, which the check notices. Once "the
 * kernel" has moved it, a repeat only clears the override again. */
static void test_unbind_sequence(struct tap *t, const void *arg)
{
	struct fx fx;
	struct rec r = { 0 };
	char err[512], seq[128], buf[64];

	(void)arg;
	fx_init_nic(&fx, "vfio-pci");
	rec_bind_files(&r, &fx, "vfio-pci");
	CHECK_EQ(t, vfio_unbind(fx.root, NIC, "e1000e", err, sizeof(err)), -EIO);
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)),
		   "unbind > override > probe");
	CHECK_SAME(t, content(&fx, "bus/pci/devices/" NIC "/driver_override",
			      buf, sizeof(buf)), "\n");
	CHECK_SAME(t, content(&fx, "bus/pci/drivers/vfio-pci/unbind", buf,
			      sizeof(buf)), NIC "\n");
	CHECK_SAME(t, content(&fx, "bus/pci/drivers_probe", buf, sizeof(buf)),
		   NIC "\n");
	CHECK_STR(t, err, "PCI device " NIC ": on vfio-pci after drivers_probe, not e1000e");

	fx_set_driver(&fx, NIC, "e1000e");
	rec_bind_files(&r, &fx, "e1000e");
	CHECK_EQ(t, vfio_unbind(fx.root, NIC, "e1000e", err, sizeof(err)), 0);
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)), "override");
	fx_free(&fx);
}

/* PREV_DRIVER "": nothing to verify. Driver-less (a bind that stopped
 * after unbinding): the override is cleared and the device reprobed. */
static void test_unbind_to_no_driver(struct tap *t, const void *arg)
{
	struct fx fx;
	struct rec r = { 0 };
	char err[512], seq[128];

	(void)arg;
	fx_init_nic(&fx, "vfio-pci");
	rec_bind_files(&r, &fx, "vfio-pci");
	CHECK_EQ(t, vfio_unbind(fx.root, NIC, "", err, sizeof(err)), 0);
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)),
		   "unbind > override > probe");

	fx_set_driver(&fx, NIC, NULL);
	rec_bind_files(&r, &fx, "e1000e");
	CHECK_EQ(t, vfio_unbind(fx.root, NIC, "e1000e", err, sizeof(err)), -EIO);
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)), "override > probe");
	CHECK_STR(t, err, "no driver took it after drivers_probe, not e1000e");
	fx_free(&fx);
}

/* It was on vfio-pci before Bulkhead: stays. On a third driver: someone
 * else took it; left alone. */
static void test_unbind_leaves_alone(struct tap *t, const void *arg)
{
	struct fx fx;
	struct rec r = { 0 };
	char err[512], seq[128], path[PATH_MAX];

	(void)arg;
	fx_init_nic(&fx, "vfio-pci");
	rec_bind_files(&r, &fx, "vfio-pci");
	CHECK_EQ(t, vfio_unbind(fx.root, NIC, "vfio-pci", err, sizeof(err)), 0);
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)), "");

	fx_path(&fx, path, "bus/pci/drivers/igb");
	mkdir_p(path);
	fx_set_driver(&fx, NIC, "igb");
	rec_bind_files(&r, &fx, "e1000e");
	CHECK_EQ(t, vfio_unbind(fx.root, NIC, "e1000e", err, sizeof(err)),
		 -EBUSY);
	CHECK_STR(t, err, "PCI device " NIC ": on igb, not vfio-pci or e1000e");
	CHECK_SAME(t, rec_take(&r, seq, sizeof(seq)), "");
	fx_free(&fx);
}

/* This host's /sys: a PCI device it has, and no IOMMU (the case main()
 * replaces with a skip when the host has one). */
static void test_real_sysfs(struct tap *t, const void *arg)
{
	const char *bdf = arg;
	const char *const listed[] = { bdf };
	char err[512], want[256];

	CHECK_EQ(t, vfio_check("/sys", listed, 1, err, sizeof(err)), -ENXIO);
	snprintf(want, sizeof(want),
		 "PCI device %s: the IOMMU is off (no /sys/kernel/iommu_groups entries)",
		 bdf);
	CHECK_STR(t, err, want);
	printf("# %s\n", err);
}

static void test_skipped(struct tap *t, const void *arg)
{
	(void)t, (void)arg;
}

/* The first PCI device in /sys into BDF; false when there is none. */
static bool real_pci_device(char *bdf, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.' && strlen(e->d_name) < len) {
			memcpy(bdf, e->d_name, strlen(e->d_name) + 1);
			found = true;
		}
	}
	closedir(d);
	return found;
}

static bool real_iommu_on(void)
{
	DIR *d = opendir("/sys/kernel/iommu_groups");
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL)
		found = e->d_name[0] != '.';
	closedir(d);
	return found;
}

int main(void)
{
	static char bdf[32];
	struct tap_case cases[] = {
		{ "device missing", test_device_missing, NULL },
		{ "every listed device is checked",
		  test_every_listed_device_checked, NULL },
		{ "IOMMU off: no iommu_groups entries", test_iommu_off, NULL },
		{ "IOMMU on, device without iommu_group link",
		  test_no_group_link, NULL },
		{ "device alone in its group", test_alone_in_group, NULL },
		{ "unlisted NIC function in the group",
		  test_unlisted_nic_function, NULL },
		{ "unlisted non-PCI member in the group",
		  test_unlisted_member_without_class, NULL },
		{ "unlisted PCI bridge in the group", test_unlisted_bridge_ok,
		  NULL },
		{ "two listed devices in one group",
		  test_two_listed_in_group_ok, NULL },
		{ "unlisted host bridge: driver-less ok, with a driver not",
		  test_unlisted_host_bridge, NULL },
		{ "host's boot display", test_boot_vga, NULL },
		{ "network interface up on the host", test_net_interface_up,
		  NULL },
		{ "bind: override, unbind, probe, verify, give back",
		  test_bind_sequence, NULL },
		{ "bind: a failed write gives the device back",
		  test_bind_failed_write, NULL },
		{ "bind a driver-less device", test_bind_driverless, NULL },
		{ "bind when already on vfio-pci", test_bind_already_vfio, NULL },
		{ "bind: vfio-pci missing, name too long, no device",
		  test_bind_refusals, NULL },
		{ "unbind: unbind, clear override, probe, verify",
		  test_unbind_sequence, NULL },
		{ "unbind to no driver, and after a half-done bind",
		  test_unbind_to_no_driver, NULL },
		{ "unbind leaves a device it does not own",
		  test_unbind_leaves_alone, NULL },
		{ "real /sys: the IOMMU-off error", test_real_sysfs, bdf },
	};
	struct tap_case *real = &cases[sizeof(cases) / sizeof(cases[0]) - 1];

	if (real_iommu_on()) {
		real->name = "real /sys: the IOMMU-off error # SKIP this host has an IOMMU (/sys/kernel/iommu_groups has entries)";
		real->fn = test_skipped;
	} else if (!real_pci_device(bdf, sizeof(bdf))) {
		real->name = "real /sys: the IOMMU-off error # SKIP no PCI device in /sys/bus/pci/devices";
		real->fn = test_skipped;
	}
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
