#include "vfio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VFIO_PCI "vfio-pci"

/* Base class 0x06 (bridge) with subclass 0x00 (host) or 0x04 (PCI-to-PCI),
 * the class file's upper 16 bits (PCI Code and ID Assignment
 * Specification, 1.7). */
#define PCI_CLASS_HOST_BRIDGE 0x0600
#define PCI_CLASS_PCI_BRIDGE 0x0604

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t err_len, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return rc;
}

/* OUT (PATH_MAX bytes) from FMT; a path that does not fit is refused
 * rather than cut, since a cut one may name another file. */
__attribute__((format(printf, 4, 5)))
static int path_of(char *out, char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		return fail(err, err_len, -ENAMETOOLONG, "path too long: %.80s...",
			    out);
	return 0;
}

/* SYSFS/bus/pci/devices/BDF, then LEAF ("" for the device itself). */
static int dev_path(char *out, const char *sysfs_root, const char *bdf,
		    const char *leaf, char *err, size_t err_len)
{
	return path_of(out, err, err_len, "%s/bus/pci/devices/%s%s",
		       sysfs_root, bdf, leaf);
}

/* A sysfs attribute's one line into BUF, without its newline. */
static int read_attr(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The name of the driver LINK (a device's "driver" symlink) points at,
 * "" when there is no link: the device has no driver. */
static int driver_name(const char *link, char *out, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	const char *name;

	if (n < 0) {
		if (errno != ENOENT)
			return -errno;
		out[0] = '\0';
		return 0;
	}
	target[n] = '\0';
	name = strrchr(target, '/');
	name = name ? name + 1 : target;
	if (strlen(name) >= len)
		return -ENAMETOOLONG;
	memcpy(out, name, strlen(name) + 1);
	return 0;
}

/* BDF's driver into OUT (VFIO_DRIVER_NAME_MAX bytes), "" for none. */
static int dev_driver(const char *sysfs_root, const char *bdf, char *out,
		      char *err, size_t err_len)
{
	char link[PATH_MAX];
	int rc = dev_path(link, sysfs_root, bdf, "/driver", err, err_len);

	if (rc)
		return rc;
	rc = driver_name(link, out, VFIO_DRIVER_NAME_MAX);
	if (rc)
		return fail(err, err_len, rc, "PCI device %s: reading %s: %s",
			    bdf, link, strerror(-rc));
	return 0;
}

/* VALUE and a newline, as echo writes them, in one write(2): a sysfs
 * store acts on each write's buffer whole. The kernel strips the newline
 * (driver_override) or compares ignoring it (unbind, drivers_probe);
 * VALUE "" is the newline alone, which clears driver_override (an empty
 * write never reaches the store). O_APPEND, since a sysfs store ignores
 * the file position: in a test tree each file then keeps, line by line,
 * everything written to it. */
static int write_attr(const char *bdf, const char *path, const char *value,
		      char *err, size_t err_len)
{
	char line[VFIO_DRIVER_NAME_MAX + 2];
	int len = snprintf(line, sizeof(line), "%s\n", value);
	int fd = -1;
	ssize_t n;
	int rc = 0;

	if (len < 0 || (size_t)len >= sizeof(line))
		rc = -ENAMETOOLONG;
	else if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
		rc = -errno;
	if (fd >= 0) {
		n = write(fd, line, (size_t)len);
		if (n < 0)
			rc = -errno;
		else if (n != len)
			rc = -EIO;
		if (close(fd) < 0 && rc == 0)
			rc = -errno;
	}
	if (rc)
		return fail(err, err_len, rc,
			    "PCI device %s: writing \"%s\" to %s: %s", bdf, value,
			    path, strerror(-rc));
	return 0;
}

static int check_exists(const char *sysfs_root, const char *bdf, char *err,
		       size_t err_len)
{
	char dir[PATH_MAX];
	struct stat st;
	int rc = dev_path(dir, sysfs_root, bdf, "", err, err_len);

	if (rc)
		return rc;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail(err, err_len, -ENODEV,
			    "PCI device %s: no such device (not in %s/bus/pci/devices)",
			    bdf, sysfs_root);
	return 0;
}

/* 1 when DIR has an entry besides "." and "..", 0 when not, or -errno. */
static int dir_has_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (d == NULL)
		return -errno;
	while (!found && (e = readdir(d)) != NULL)
		found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return found;
}

static bool is_listed(const char *name, const char *const *listed, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(name, listed[i]) == 0)
			return true;
	}
	return false;
}

/* "0x020000" into *CLS: the class file's 24 bits. */
static bool parse_class(const char *text, unsigned long *cls)
{
	char *end;

	errno = 0;
	*cls = strtoul(text, &end, 16);
	return errno == 0 && end != text && *end == '\0' && *cls <= 0xffffff;
}

/* Whether a group member the topology does not list may stay in a group
 * given to a VM (vfio.h says why these two). */
static bool member_may_stay(unsigned long cls, bool has_driver)
{
	unsigned long base_sub = cls >> 8;

	if (base_sub == PCI_CLASS_PCI_BRIDGE)
		return true;
	return base_sub == PCI_CLASS_HOST_BRIDGE && !has_driver;
}

/* MEMBER (an entry of GROUP_DIR, BDF's group's devices/) against the
 * rules for a device the topology does not list. */
static int check_member(const char *bdf, const char *group,
			const char *group_dir, const char *member, char *err,
			size_t err_len)
{
	char path[PATH_MAX], text[32], driver[VFIO_DRIVER_NAME_MAX];
	unsigned long cls = 0;
	bool known;
	int rc = path_of(path, err, err_len, "%s/%s/class", group_dir, member);

	if (rc)
		return rc;
	/* Not every member need be PCI (platform devices on some hosts):
	 * one without a class file is simply not a bridge. */
	known = read_attr(path, text, sizeof(text)) == 0 &&
		parse_class(text, &cls);
	rc = path_of(path, err, err_len, "%s/%s/driver", group_dir, member);
	if (rc)
		return rc;
	rc = driver_name(path, driver, sizeof(driver));
	if (rc)
		return fail(err, err_len, rc, "PCI device %s: reading %s: %s",
			    bdf, path, strerror(-rc));
	if (known && member_may_stay(cls, driver[0] != '\0'))
		return 0;
	if (!known)
		return fail(err, err_len, -EBUSY,
			    "PCI device %s: IOMMU group %s also holds %s (class unknown), which the topology does not list: list it for the same driver VM or move the device",
			    bdf, group, member);
	if (cls >> 8 == PCI_CLASS_HOST_BRIDGE)
		return fail(err, err_len, -EBUSY,
			    "PCI device %s: IOMMU group %s also holds host bridge %s (class 0x%06lx), which host driver %s holds: VFIO hands out no group while a host driver holds one of its non-bridges: unbind it from %s or move the device",
			    bdf, group, member, cls, driver, driver);
	return fail(err, err_len, -EBUSY,
		    "PCI device %s: IOMMU group %s also holds %s (class 0x%06lx), which the topology does not list: list it for the same driver VM or move the device",
		    bdf, group, member, cls);
}

/* BDF's IOMMU group: it has one, and every other member may go with it. */
static int check_group(const char *sysfs_root, const char *bdf,
		       const char *const *listed, unsigned n, char *err,
		       size_t err_len)
{
	char link[PATH_MAX], target[PATH_MAX], dir[PATH_MAX];
	const char *group;
	ssize_t len;
	DIR *d;
	struct dirent *e;
	int rc = dev_path(link, sysfs_root, bdf, "/iommu_group", err, err_len);

	if (rc)
		return rc;
	len = readlink(link, target, sizeof(target) - 1);
	if (len < 0)
		return fail(err, err_len, errno == ENOENT ? -ENXIO : -errno,
			    "PCI device %s: no IOMMU group (%s: %s): the IOMMU is on but does not cover this device",
			    bdf, link, strerror(errno));
	target[len] = '\0';
	group = strrchr(target, '/');
	group = group ? group + 1 : target;

	rc = dev_path(dir, sysfs_root, bdf, "/iommu_group/devices", err,
		      err_len);
	if (rc)
		return rc;
	d = opendir(dir);
	if (d == NULL)
		return fail(err, err_len, -errno, "PCI device %s: reading %s: %s",
			    bdf, dir, strerror(errno));
	while (rc == 0 && (e = readdir(d)) != NULL) {
		/* LISTED holds BDF itself. */
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    is_listed(e->d_name, listed, n))
			continue;
		rc = check_member(bdf, group, dir, e->d_name, err, err_len);
	}
	closedir(d);
	return rc;
}

/* The host's boot display: the firmware's console, and the host's, until
 * a display driver takes over. */
static int check_boot_vga(const char *sysfs_root, const char *bdf, char *err,
			  size_t err_len)
{
	char path[PATH_MAX], text[8];
	int rc = dev_path(path, sysfs_root, bdf, "/boot_vga", err, err_len);

	if (rc)
		return rc;
	/* Only display devices have the file. */
	if (read_attr(path, text, sizeof(text)) == 0 && strcmp(text, "1") == 0)
		return fail(err, err_len, -EBUSY,
			    "PCI device %s: it is the host's boot display (boot_vga is 1): the host's console would go with it",
			    bdf);
	return 0;
}

/* A network interface of BDF's host driver that is up is in use. */
static int check_net_down(const char *sysfs_root, const char *bdf, char *err,
			  size_t err_len)
{
	char dir[PATH_MAX], path[PATH_MAX], text[32];
	DIR *d;
	struct dirent *e;
	int rc = dev_path(dir, sysfs_root, bdf, "/net", err, err_len);

	if (rc)
		return rc;
	d = opendir(dir);
	if (d == NULL) {
		/* No net/: no network driver holds it. */
		if (errno == ENOENT)
			return 0;
		return fail(err, err_len, -errno, "PCI device %s: reading %s: %s",
			    bdf, dir, strerror(errno));
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		rc = path_of(path, err, err_len, "%s/%s/flags", dir, e->d_name);
		if (rc)
			break;
		rc = read_attr(path, text, sizeof(text));
		if (rc) {
			rc = fail(err, err_len, rc, "PCI device %s: reading %s: %s",
				  bdf, path, strerror(-rc));
		} else if (strtoul(text, NULL, 16) & IFF_UP) {
			rc = fail(err, err_len, -EBUSY,
				  "PCI device %s: its network interface %s is up on the host (flags %s): take it down first (ip link set %s down)",
				  bdf, e->d_name, text, e->d_name);
		}
	}
	closedir(d);
	return rc;
}

int vfio_check(const char *sysfs_root, const char *const *listed, unsigned n,
	       char *err, size_t err_len)
{
	char groups[PATH_MAX];
	int iommu_on;
	int rc = path_of(groups, err, err_len, "%s/kernel/iommu_groups",
			 sysfs_root);

	if (rc)
		return rc;
	/* Linux makes a group for every device the IOMMU translates for,
	 * and none when it is off; a kernel without IOMMU support has no
	 * directory at all. */
	iommu_on = dir_has_entries(groups);
	if (iommu_on == -ENOENT)
		iommu_on = 0;
	if (iommu_on < 0)
		return fail(err, err_len, iommu_on, "reading %s: %s", groups,
			    strerror(-iommu_on));

	for (unsigned i = 0; i < n; i++) {
		const char *bdf = listed[i];

		rc = check_exists(sysfs_root, bdf, err, err_len);
		if (rc)
			return rc;
		if (!iommu_on)
			return fail(err, err_len, -ENXIO,
				    "PCI device %s: the IOMMU is off (no %s entries): enable VT-d/AMD-Vi in the firmware, and on Intel boot with intel_iommu=on (AMD's is on unless iommu=off or amd_iommu=off)",
				    bdf, groups);
		rc = check_group(sysfs_root, bdf, listed, n, err, err_len);
		if (rc == 0)
			rc = check_boot_vga(sysfs_root, bdf, err, err_len);
		if (rc == 0)
			rc = check_net_down(sysfs_root, bdf, err, err_len);
		if (rc)
			return rc;
	}
	return 0;
}

/* Asks the kernel to match BDF against the drivers again; with
 * driver_override set only that driver can take it. The store probes
 * synchronously (device_attach), so the driver link is current on
 * return. */
static int reprobe(const char *sysfs_root, const char *bdf, char *err,
		   size_t err_len)
{
	char path[PATH_MAX];
	int rc = path_of(path, err, err_len, "%s/bus/pci/drivers_probe",
			 sysfs_root);

	return rc ? rc : write_attr(bdf, path, bdf, err, err_len);
}

/* VALUE into BDF's attribute LEAF: "/driver_override", or
 * "/driver/unbind" (the driver that holds BDF lets go of it). */
static int dev_write(const char *sysfs_root, const char *bdf, const char *leaf,
		     const char *value, char *err, size_t err_len)
{
	char path[PATH_MAX];
	int rc = dev_path(path, sysfs_root, bdf, leaf, err, err_len);

	return rc ? rc : write_attr(bdf, path, value, err, err_len);
}

/* After a probe: BDF's driver must be WANT. */
static int expect_driver(const char *sysfs_root, const char *bdf,
			 const char *want, char *err, size_t err_len)
{
	char now[VFIO_DRIVER_NAME_MAX];
	int rc = dev_driver(sysfs_root, bdf, now, err, err_len);

	if (rc)
		return rc;
	if (strcmp(now, want) != 0)
		return fail(err, err_len, -EIO,
			    "PCI device %s: %s%s after drivers_probe, not %s (see the kernel log)",
			    bdf, now[0] ? "on " : "no driver took it", now, want);
	return 0;
}

/* After a bind that failed half-way (override set, maybe no driver): puts
 * BDF back on PREV and says how that went after the error in ERR. */
static void give_back(const char *sysfs_root, const char *bdf,
		      const char *prev, char *err, size_t err_len)
{
	char why[256];
	size_t used = strnlen(err, err_len);

	if (used + 1 >= err_len)
		return;
	if (vfio_unbind(sysfs_root, bdf, prev, why, sizeof(why)) == 0)
		snprintf(err + used, err_len - used, "; given back to %s",
			 prev[0] ? prev : "no driver, as it was");
	else
		snprintf(err + used, err_len - used,
			 "; giving it back failed too: %s", why);
}

int vfio_bind(const char *sysfs_root, const char *bdf, char *prev_driver,
	      size_t prev_len, char *err, size_t err_len)
{
	char cur[VFIO_DRIVER_NAME_MAX], path[PATH_MAX];
	struct stat st;
	int rc = check_exists(sysfs_root, bdf, err, err_len);

	if (rc == 0)
		rc = dev_driver(sysfs_root, bdf, cur, err, err_len);
	if (rc)
		return rc;
	if (strlen(cur) >= prev_len)
		return fail(err, err_len, -ENAMETOOLONG,
			    "PCI device %s: driver name %s does not fit %zu bytes",
			    bdf, cur, prev_len);
	memcpy(prev_driver, cur, strlen(cur) + 1);
	if (strcmp(cur, VFIO_PCI) == 0)
		return 0;

	/* Without vfio-pci loaded the device would be left with no driver. */
	rc = path_of(path, err, err_len, "%s/bus/pci/drivers/" VFIO_PCI,
		     sysfs_root);
	if (rc)
		return rc;
	if (stat(path, &st) < 0)
		return fail(err, err_len, -ENOENT,
			    "PCI device %s: vfio-pci is not loaded (no %s): modprobe vfio-pci",
			    bdf, path);

	/* The override first: once unbound, nothing but vfio-pci may take
	 * the device, not even its old driver on a hotplug event. */
	rc = dev_write(sysfs_root, bdf, "/driver_override", VFIO_PCI, err,
		       err_len);
	if (rc)
		return rc;
	if (cur[0] != '\0')
		rc = dev_write(sysfs_root, bdf, "/driver/unbind", bdf, err,
			       err_len);
	if (rc == 0)
		rc = reprobe(sysfs_root, bdf, err, err_len);
	if (rc == 0)
		rc = expect_driver(sysfs_root, bdf, VFIO_PCI, err, err_len);
	if (rc)
		give_back(sysfs_root, bdf, cur, err, err_len);
	return rc;
}

int vfio_unbind(const char *sysfs_root, const char *bdf,
		const char *prev_driver, char *err, size_t err_len)
{
	char cur[VFIO_DRIVER_NAME_MAX];
	int rc = check_exists(sysfs_root, bdf, err, err_len);

	if (rc)
		return rc;
	if (strcmp(prev_driver, VFIO_PCI) == 0)
		return 0;
	rc = dev_driver(sysfs_root, bdf, cur, err, err_len);
	if (rc)
		return rc;
	if (cur[0] != '\0' && strcmp(cur, VFIO_PCI) != 0 &&
	    strcmp(cur, prev_driver) != 0)
		return fail(err, err_len, -EBUSY,
			    "PCI device %s: on %s, not vfio-pci or %s: someone else took it; leaving it there",
			    bdf, cur, prev_driver[0] ? prev_driver : "no driver");

	if (strcmp(cur, VFIO_PCI) == 0)
		rc = dev_write(sysfs_root, bdf, "/driver/unbind", bdf, err,
			       err_len);
	if (rc == 0)
		rc = dev_write(sysfs_root, bdf, "/driver_override", "", err,
			       err_len);
	/* Already back on its driver (a repeated call): the override had
	 * to go, nothing else. */
	if (rc || (cur[0] != '\0' && strcmp(cur, prev_driver) == 0))
		return rc;
	rc = reprobe(sysfs_root, bdf, err, err_len);
	if (rc == 0 && prev_driver[0] != '\0')
		rc = expect_driver(sysfs_root, bdf, prev_driver, err, err_len);
	return rc;
}
