/* bulkhead-input's state beyond the filter, and the status JSON its
 * control socket gives (docs/input.md lists the fields). */
#ifndef BULKHEAD_INPUT_STATUS_H
#define BULKHEAD_INPUT_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "input_filter.h"

struct input_state {
	struct input_filter filter;
	const char *port;
	bool connected;
	uint64_t connect_attempts;      /* before the port was there */
	bool device_created;
	uint64_t device_creations;
	uint64_t uinput_write_errors;
};

/* malloc'd JSON text. */
char *input_status_json(const struct input_state *s, const char *name);

#endif
