#include "input_uinput.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FAIL(code, ...)                                   \
	do {                                              \
		snprintf(err, errlen, __VA_ARGS__);       \
		return (code);                            \
	} while (0)

int input_uinput_open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0)
		return fd;
	/* ENOENT: no device node (no uinput at all, or not loaded and no
	 * devtmpfs node); ENODEV: a node without a driver behind it. */
	if (errno == ENOENT || errno == ENODEV)
		FAIL(-errno, "no %s: the host kernel has no uinput "
		     "(CONFIG_INPUT_UINPUT; or modprobe uinput): %s", path,
		     strerror(errno));
	FAIL(-errno, "open %s: %s", path, strerror(errno));
}

static int set_bit(int fd, unsigned long req, int bit, const char *what,
		   char *err, size_t errlen)
{
	if (ioctl(fd, req, bit) < 0)
		FAIL(-errno, "uinput %s %d: %s", what, bit, strerror(errno));
	return 0;
}

int input_uinput_create(int fd, enum input_class cls, const char *name,
			char *err, size_t errlen)
{
	const struct input_caps *cap = input_class_caps(cls);
	struct uinput_setup setup = {
		.id = { .bustype = BUS_VIRTUAL, .version = 1 },
	};
	int ret;

	snprintf(setup.name, sizeof(setup.name), "%s", name);
	if ((ret = set_bit(fd, UI_SET_EVBIT, EV_SYN, "EV", err, errlen)) < 0 ||
	    (ret = set_bit(fd, UI_SET_EVBIT, EV_KEY, "EV", err, errlen)) < 0)
		return ret;
	for (int k = cap->key_first; k <= cap->key_last; k++)
		if ((ret = set_bit(fd, UI_SET_KEYBIT, k, "KEY", err, errlen)) < 0)
			return ret;
	if (cap->nrel &&
	    (ret = set_bit(fd, UI_SET_EVBIT, EV_REL, "EV", err, errlen)) < 0)
		return ret;
	for (unsigned i = 0; i < cap->nrel; i++)
		if ((ret = set_bit(fd, UI_SET_RELBIT, cap->rel[i], "REL", err,
				   errlen)) < 0)
			return ret;
	if (cap->nabs &&
	    (ret = set_bit(fd, UI_SET_EVBIT, EV_ABS, "EV", err, errlen)) < 0)
		return ret;
	for (unsigned i = 0; i < cap->nabs; i++) {
		struct uinput_abs_setup abs = {
			.code = cap->abs[i],
			.absinfo = { .minimum = 0, .maximum = INPUT_ABS_MAX },
		};

		if ((ret = set_bit(fd, UI_SET_ABSBIT, cap->abs[i], "ABS", err,
				   errlen)) < 0)
			return ret;
		if (ioctl(fd, UI_ABS_SETUP, &abs) < 0)
			FAIL(-errno, "uinput UI_ABS_SETUP %u: %s", cap->abs[i],
			     strerror(errno));
	}
	if (ioctl(fd, UI_DEV_SETUP, &setup) < 0)
		FAIL(-errno, "uinput UI_DEV_SETUP: %s", strerror(errno));
	if (ioctl(fd, UI_DEV_CREATE) < 0)
		FAIL(-errno, "uinput UI_DEV_CREATE: %s", strerror(errno));
	return 0;
}

int input_uinput_write(int fd, const struct input_ev *ev, size_t n)
{
	struct input_event out[INPUT_FRAME_MAX + 1];

	while (n) {
		size_t k = n < INPUT_FRAME_MAX + 1 ? n : INPUT_FRAME_MAX + 1;
		ssize_t w;

		memset(out, 0, sizeof(out));
		for (size_t i = 0; i < k; i++) {
			out[i].type = ev[i].type;
			out[i].code = ev[i].code;
			out[i].value = ev[i].value;
		}
		w = write(fd, out, k * sizeof(out[0]));
		if (w < 0)
			return -errno;
		if ((size_t)w != k * sizeof(out[0]))
			return -EIO;
		ev += k;
		n -= k;
	}
	return 0;
}

int input_uinput_destroy(int fd)
{
	return ioctl(fd, UI_DEV_DESTROY) < 0 ? -errno : 0;
}
