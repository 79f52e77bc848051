/* What sys-usb says of its devices, read once and checked once here: a
 * compromised sys-usb writes these lines, so every field is held to its
 * syntax and nothing else is taken (no descriptor is ever parsed on the
 * host; sys-usb reduces each device to these words). */
#include "usb_device.h"

#include "topology.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The next space-separated word of *P into OUT (at most OUT_LEN - 1
 * bytes): false when there is none or it is longer. */
static bool next_word(const char **p, char *out, size_t out_len)
{
	const char *s = *p;
	size_t n = strcspn(s, " ");
	if (n == 0 || n >= out_len)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n + (s[n] == ' ');
	return true;
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool number_in(const char *s, unsigned max, unsigned *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 3 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
		return false;
	*out = (unsigned)strtoul(s, NULL, 10);
	return *out <= max;
}

/* The speeds sysfs writes (Mb/s). */
static bool speed_valid(const char *s)
{
	static const char *const speeds[] = { "1.5", "12", "480", "5000",
					      "10000", "20000" };
	for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++)
		if (!strcmp(s, speeds[i]))
			return true;
	return false;
}

static bool product_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > USB_PRODUCT_MAX || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(" ._-", s[i])))
			return false;
	return true;
}

int usb_device_parse(const char *line, struct usb_device_line *out, char *err,
		     size_t err_len)
{
	char word[USB_SERIAL_MAX + 2];
	const char *p = line;
	const char *field = "DEVICE";
	*out = (struct usb_device_line){ 0 };
	if (!next_word(&p, word, sizeof(word)) || strcmp(word, "DEVICE"))
		goto bad;
	field = "busid";
	if (!next_word(&p, out->busid, sizeof(out->busid)) ||
	    !topology_usb_busid_valid(out->busid))
		goto bad;
	field = "devnum";
	if (!next_word(&p, word, sizeof(word)) || !number_in(word, 127, &out->devnum) ||
	    out->devnum == 0)
		goto bad;
	field = "vid:pid";
	if (!next_word(&p, out->vidpid, sizeof(out->vidpid)) ||
	    strlen(out->vidpid) != 9 || out->vidpid[4] != ':' ||
	    !lower_hex(out->vidpid, 4) || !lower_hex(out->vidpid + 5, 4))
		goto bad;
	field = "speed";
	if (!next_word(&p, out->speed, sizeof(out->speed)) || !speed_valid(out->speed))
		goto bad;
	field = "class";
	if (!next_word(&p, word, sizeof(word)) || strlen(word) != 2 ||
	    !lower_hex(word, 2))
		goto bad;
	out->dev_class = (unsigned)strtoul(word, NULL, 16);
	field = "to";
	if (!next_word(&p, out->to, sizeof(out->to)) ||
	    (strcmp(out->to, "-") && !topology_name_valid(out->to)))
		goto bad;
	field = "serial";
	if (!next_word(&p, out->serial, sizeof(out->serial)) ||
	    (strcmp(out->serial, "-") && !topology_usb_serial_valid(out->serial)))
		goto bad;
	field = "product";
	if (!product_valid(p))
		goto bad;
	snprintf(out->product, sizeof(out->product), "%s", p);
	if (!strcmp(out->to, "-"))
		out->to[0] = '\0';
	if (!strcmp(out->serial, "-"))
		out->serial[0] = '\0';
	if (!strcmp(out->product, "-"))
		out->product[0] = '\0';
	return 0;
bad:
	/* The line is printable ASCII already (agent.c); shown cut. */
	snprintf(err, err_len, "a device line with a bad %s: '%.80s'", field, line);
	return -EINVAL;
}
