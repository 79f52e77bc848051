/* The host's side of bulkhead-input: the uinput device its accepted
 * events go to, made with exactly its class's capabilities
 * (input_filter.h's input_caps), nothing more. */
#ifndef BULKHEAD_INPUT_UINPUT_H
#define BULKHEAD_INPUT_UINPUT_H

#include <stddef.h>

#include "input_filter.h"

/* Where the kernel's uinput is. */
#define INPUT_UINPUT_PATH "/dev/uinput"

/* Opens path (INPUT_UINPUT_PATH; a test may name another). Returns the
 * descriptor or -errno, having written why to err (no uinput in the
 * kernel: -ENOENT or -ENODEV and a message naming CONFIG_INPUT_UINPUT). */
int input_uinput_open(const char *path, char *err, size_t errlen);

/* Makes the device on fd: name (truncated to uinput's 79 bytes), the
 * class's event types, keys or buttons, axes (the tablet's with
 * 0..INPUT_ABS_MAX). Returns 0 or -errno, having written which step
 * failed to err. */
int input_uinput_create(int fd, enum input_class cls, const char *name,
			char *err, size_t errlen);

/* Writes n events (the kernel stamps their time). Returns 0 or -errno. */
int input_uinput_write(int fd, const struct input_ev *ev, size_t n);

/* Removes the device (the input core releases what is still down, but
 * the filter has released everything already). Returns 0 or -errno. */
int input_uinput_destroy(int fd);

#endif
