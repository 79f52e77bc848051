/* sys-usb's device lines under arbitrary input (what a compromised sys-usb
 * may write): a line is taken only with every field in its syntax, so
 * nothing taken can end a command word or a path; refusals name a field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"
#include "usb_device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void only(const char *s, const char *allowed_extra, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(allowed_extra, s[i])))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[512], err[256];
	if (size >= sizeof(line))
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	struct usb_device_line d;
	if (usb_device_parse(line, &d, err, sizeof(err)) != 0) {
		if (!strstr(err, "a device line with a bad "))
			abort();
		return 0;
	}
	if (!topology_usb_busid_valid(d.busid) || d.devnum < 1 || d.devnum > 127 ||
	    strlen(d.vidpid) != 9 || d.vidpid[4] != ':' || d.dev_class > 255 ||
	    (d.to[0] && !topology_name_valid(d.to)) ||
	    (d.serial[0] && !topology_usb_serial_valid(d.serial)))
		abort();
	only(d.vidpid, ":", 9);
	only(d.speed, ".", 5);
	only(d.product, " ._-", USB_PRODUCT_MAX);
	return 0;
}
