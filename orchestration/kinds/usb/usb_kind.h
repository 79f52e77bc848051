/* sys-usb, the usb driver VM (docs/sysusb.md): its kind, its guest
 * configuration, and what it reports of its devices. */
#ifndef BULKHEAD_USB_KIND_H
#define BULKHEAD_USB_KIND_H

#include <stdbool.h>
#include <stddef.h>

#include "kind.h"
#include "usb_device.h"

extern const struct driver_kind usb_kind;

/* sys-usb's configuration (driver-vms/usb/bk-config reads it): its links,
 * the pinned devices, the input policy. Malloc'd, or NULL with ERR. */
char *usb_config(const struct topology *topo, const struct topo_driver_vm *drv,
		 char *err, size_t err_len);

/* Whether DRV's input devices of a class reach the host (the topology's
 * input policy, or the default: pointers yes, keyboards no). */
bool usb_input_allowed(const struct topo_driver_vm *drv, bool keyboard);

/* How many of the host's keyboards (input devices with letter keys,
 * under SYSFS_ROOT/class/input) there are (*TOTAL) and how many are
 * behind DRV's passed-through controllers (*BEHIND). */
int usb_keyboards_behind(const char *sysfs_root, const struct topo_driver_vm *drv,
			 unsigned *behind, unsigned *total);
/* For its check hook: warns (stderr, not an error) when every keyboard
 * would be behind DRV. 0. */
int usb_host_keyboard_check(const struct topology *topo,
			    const struct topo_driver_vm *drv);

#endif
