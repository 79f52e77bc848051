/* The host's keyboards and a usb driver VM's controllers: `check` and `up`
 * warn when every keyboard the host has would end up behind sys-usb (its
 * user could no longer type to the host, only through sys-usb's input
 * proxy, which takes keyboards only when the topology says so). */
#include "usb_kind.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEY_A, KEY_Z, KEY_ENTER, KEY_SPACE (linux/input-event-codes.h): an input
 * device with all four is a keyboard (not a power button, not a mouse). */
static const unsigned keyboard_keys[] = { 30, 44, 28, 57 };

/* Whether the input device at DIR (sysfs inputN) reports those keys: its
 * capabilities/key is hex words, the last one bits 0..63. */
static bool is_keyboard(const char *dir)
{
	char path[PATH_MAX], buf[1024];
	snprintf(path, sizeof(path), "%s/capabilities/key", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	const char *last = strrchr(buf, ' ');
	last = last ? last + 1 : buf;
	if (strlen(last) > 16 || strspn(last, "0123456789abcdef") != strlen(last))
		return false;
	unsigned long long bits = strtoull(last, NULL, 16);
	for (size_t i = 0; i < sizeof(keyboard_keys) / sizeof(keyboard_keys[0]); i++)
		if (!(bits >> keyboard_keys[i] & 1))
			return false;
	return true;
}

int usb_keyboards_behind(const char *sysfs_root, const struct topo_driver_vm *drv,
			 unsigned *behind, unsigned *total)
{
	char dir[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	*behind = *total = 0;
	snprintf(dir, sizeof(dir), "%s/class/input", sysfs_root);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (strncmp(e->d_name, "input", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!is_keyboard(path) || !realpath(path, real))
			continue;
		++*total;
		for (unsigned i = 0; i < drv->devices_count; i++) {
			char part[24];
			if (!drv->devices[i].pci)
				continue;
			snprintf(part, sizeof(part), "/%s/", drv->devices[i].pci);
			if (strstr(real, part)) {
				++*behind;
				break;
			}
		}
	}
	closedir(d);
	return 0;
}

int usb_host_keyboard_check(const struct topology *topo,
			    const struct topo_driver_vm *drv)
{
	unsigned behind, total;
	usb_keyboards_behind(ORCH_SYSFS_ROOT, drv, &behind, &total);
	if (behind && behind == total)
		fprintf(stderr, "warning: %s: %s: every keyboard this host has"
			" (%u) is behind its USB controllers: once it runs, the"
			" host takes keys only through its input proxy%s\n",
			topo->path, drv->name, total, usb_input_allowed(drv, true) ?
			"" : ", and input.keyboard is not allow: none at all");
	return 0;
}
