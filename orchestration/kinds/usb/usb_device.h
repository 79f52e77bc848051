/* What sys-usb says of one of its devices (bk-request devices), checked
 * (usb_device.c): pure, so fuzzed alone (tests/fuzz/fuzz_usb_device.c). */
#ifndef BULKHEAD_USB_DEVICE_H
#define BULKHEAD_USB_DEVICE_H

#include <stddef.h>

/* One device as sys-usb lists it (bk-request devices):
 * "DEVICE BUSID DEVNUM VID:PID SPEED CLASS TO SERIAL PRODUCT..." */
#define USB_PRODUCT_MAX 40
#define USB_SERIAL_MAX 64
struct usb_device_line {
	char busid[24];
	unsigned devnum;                /* 1..127 */
	char vidpid[10];                /* "46f4:0001" */
	char speed[8];                  /* "480" */
	unsigned dev_class;             /* 0..255 */
	char to[32];                    /* an app VM, or "" */
	char serial[USB_SERIAL_MAX + 1];        /* or "" */
	char product[USB_PRODUCT_MAX + 1];      /* or "" */
};

/* Parses LINE strictly (a driver VM's words: every field checked, nothing
 * else accepted): 0, or -EINVAL with ERR naming the field and its value. */
int usb_device_parse(const char *line, struct usb_device_line *out, char *err,
		     size_t err_len);

/* The USB class of HID devices (keyboards, mice): they stay in sys-usb. */
#define USB_CLASS_HID 0x03

#endif
