/* What the host takes from sys-usb's device list (kinds/usb/usb_device.c):
 * every field of a DEVICE line held to its syntax, a hostile line refused
 * with the field named; and which of the host's keyboards sit behind a
 * usb driver VM's controllers (usb_host.c), over a sysfs-shaped tree. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "usb/usb_kind.h"

static void test_good_line(struct tap *t, const void *arg)
{
	(void)arg;
	struct usb_device_line d;
	char err[256] = "";
	CHECK_EQ(t, usb_device_parse("DEVICE 1-1.2 3 46f4:0001 480 08 work"
				     " 1-000000040-1 QEMU USB HARDDRIVE", &d,
				     err, sizeof(err)), 0);
	CHECK_STREQ(t, d.busid, "1-1.2");
	CHECK_EQ(t, d.devnum, 3);
	CHECK_STREQ(t, d.vidpid, "46f4:0001");
	CHECK_STREQ(t, d.speed, "480");
	CHECK_EQ(t, d.dev_class, 8);
	CHECK_STREQ(t, d.to, "work");
	CHECK_STREQ(t, d.serial, "1-000000040-1");
	CHECK_STREQ(t, d.product, "QEMU USB HARDDRIVE");
	CHECK_EQ(t, usb_device_parse("DEVICE 2-1 127 0627:0001 12 03 - - -", &d, err,
				     sizeof(err)), 0);
	CHECK_STREQ(t, d.to, "");
	CHECK_STREQ(t, d.serial, "");
	CHECK_STREQ(t, d.product, "");
}

/* Each a line a compromised sys-usb might write, and the field named. */
static const struct { const char *line, *field; } bad_lines[] = {
	{ "DEVICES 1-1 2 46f4:0001 480 08 - - x", "bad DEVICE" },
	{ "DEVICE 1-1;reboot 2 46f4:0001 480 08 - - x", "bad busid" },
	{ "DEVICE ../1-1 2 46f4:0001 480 08 - - x", "bad busid" },
	{ "DEVICE 1-1 0 46f4:0001 480 08 - - x", "bad devnum" },
	{ "DEVICE 1-1 128 46f4:0001 480 08 - - x", "bad devnum" },
	{ "DEVICE 1-1 02 46f4:0001 480 08 - - x", "bad devnum" },
	{ "DEVICE 1-1 -1 46f4:0001 480 08 - - x", "bad devnum" },
	{ "DEVICE 1-1 2 46F4:0001 480 08 - - x", "bad vid:pid" },
	{ "DEVICE 1-1 2 46f4:00012 480 08 - - x", "bad vid:pid" },
	{ "DEVICE 1-1 2 46f4:0001 481 08 - - x", "bad speed" },
	{ "DEVICE 1-1 2 46f4:0001 480 8 - - x", "bad class" },
	{ "DEVICE 1-1 2 46f4:0001 480 0g - - x", "bad class" },
	{ "DEVICE 1-1 2 46f4:0001 480 08 Work - x", "bad to" },
	{ "DEVICE 1-1 2 46f4:0001 480 08 a/b - x", "bad to" },
	{ "DEVICE 1-1 2 46f4:0001 480 08 - a$b x", "bad serial" },
	{ "DEVICE 1-1 2 46f4:0001 480 08 - - x;y", "bad product" },
	{ "DEVICE 1-1 2 46f4:0001 480 08 - - ", "bad product" },
	{ "DEVICE 1-1 2 46f4:0001 480 08 - -", "bad product" },
	{ "DEVICE 1-1 2 46f4:0001 480 08 - 1-0000:00:04.0-1 x", "bad serial" },
	{ "DEVICE 1-1 2 46f4:0001 480 08 - - an overlong product name of more than forty", "bad product" },
	{ "DEVICE  1-1 2 46f4:0001 480 08 - - x", "bad busid" },
	{ "", "bad DEVICE" },
};

static void test_bad_lines(struct tap *t, const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		struct usb_device_line d;
		char err[256] = "";
		int rc = usb_device_parse(bad_lines[i].line, &d, err, sizeof(err));
		CHECK_EQ(t, rc, -EINVAL);
		CHECK_STR(t, err, bad_lines[i].field);
	}
}

/* A sysfs-shaped tree: class/input/inputN links into devices/..., each
 * with capabilities/key. */
static void add_input(const char *root, const char *dev_path, const char *name,
		      const char *keys)
{
	char path[PATH_MAX], link[PATH_MAX], cmd[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/devices/%s/input/%s/capabilities", root,
		 dev_path, name);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' '%s/class/input'", path, root);
	if (system(cmd) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "%s/key", path);
	FILE *f = fopen(cmd, "w");
	if (f) {
		fprintf(f, "%s\n", keys);
		fclose(f);
	}
	snprintf(link, sizeof(link), "%s/class/input/%s", root, name);
	snprintf(path, sizeof(path), "%s/devices/%s/input/%s", root, dev_path, name);
	if (symlink(path, link) != 0)
		printf("# symlink %s: %s\n", link, strerror(errno));
}

/* KEY_ENTER, KEY_A, KEY_Z, KEY_SPACE set (bits 28, 30, 44, 57) and more:
 * a keyboard; a power button has only KEY_POWER (116, in the second
 * word). */
#define KEYBOARD_KEYS "ffffffffffffffff 200100050000000"
#define POWER_KEYS "10000000000000 0"

static void test_keyboards_behind(struct tap *t, const void *arg)
{
	(void)arg;
	char root[] = "/tmp/bk-usb-sysfs-XXXXXX";
	CHECK(t, mkdtemp(root) != NULL);
	add_input(root, "pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0", "input3",
		  KEYBOARD_KEYS);
	add_input(root, "LNXSYSTM:00/LNXPWRBN:00", "input0", POWER_KEYS);
	char pci[] = "0000:00:14.0", other[] = "0000:00:1d.0";
	struct topo_device dev = { .pci = pci };
	struct topo_driver_vm drv = { .name = (char *)"sys-usb", .devices = &dev,
				      .devices_count = 1 };
	unsigned behind, total;
	CHECK_EQ(t, usb_keyboards_behind(root, &drv, &behind, &total), 0);
	CHECK_EQ(t, total, 1);
	CHECK_EQ(t, behind, 1);
	/* Another controller: the keyboard stays the host's. */
	dev.pci = other;
	usb_keyboards_behind(root, &drv, &behind, &total);
	CHECK_EQ(t, behind, 0);
	/* A second keyboard elsewhere (PS/2): not every keyboard is behind. */
	dev.pci = pci;
	add_input(root, "platform/i8042/serio0", "input1", KEYBOARD_KEYS);
	usb_keyboards_behind(root, &drv, &behind, &total);
	CHECK_EQ(t, total, 2);
	CHECK_EQ(t, behind, 1);
	char cmd[PATH_MAX];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(t, system(cmd) == 0);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "a device line: every field taken", test_good_line, NULL },
		{ "hostile device lines: refused, the field named", test_bad_lines, NULL },
		{ "the host's keyboards behind a usb driver VM's controller", test_keyboards_behind, NULL },
	};
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
