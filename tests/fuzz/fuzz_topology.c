/* The topology parser under arbitrary input: the bytes are a topology
 * file (topology_load_buffer, the same path as a file's after reading).
 * Nothing may crash or leak; a failure is one line that names the file; a
 * success is a topology whose references all resolve. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the rest of bulkhead relies on once topology_load returned 0. */
static void check_loaded(const struct topology *topo)
{
	if (topo->version < 1 || topo->version > 2 || topo->name == NULL || topo->path == NULL ||
	    topo->driver_vms_count < 1 ||
	    topo->driver_vms_count > TOPO_MAX_DRIVER_VMS ||
	    topo->app_vms_count > TOPO_MAX_APP_VMS)
		abort();
	for (unsigned i = 0; i < topo->driver_vms_count; i++) {
		const struct topo_driver_vm *drv = &topo->driver_vms[i];

		/* Any kind's name; which keys a kind takes is the kinds'
		 * to say (driver_kinds_check), but each given is on a line. */
		if (drv->kind == NULL || drv->kind[0] == '\0' ||
		    drv->kind_line == 0 || drv->line == 0 ||
		    (drv->uplink != NULL && drv->uplink_line == 0) ||
		    (drv->devices_count > 0 && drv->devices_line == 0) ||
		    drv->memory_mib < 64 || drv->vcpus < 1)
			abort();
		for (unsigned j = 0; j < drv->devices_count; j++) {
			const struct topo_device *dev = &drv->devices[j];

			if ((dev->pci != NULL) ==
			    (dev->emulated != TOPO_EMULATED_NONE))
				abort();
			if (dev->pci && strlen(dev->pci) != 12)
				abort();
		}
		/* address6 and gateway6: both or neither. */
		if (drv->uplink && (drv->uplink->address6 == NULL) !=
		    (drv->uplink->gateway6 == NULL))
			abort();
	}
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *app = &topo->app_vms[i];

		/* Every attachment names a driver VM, and only version 2
		 * has usb and storage ones. */
		for (int c = 0; c < TOPO_ATTACH_CLASSES; c++) {
			struct topo_attach at =
				topology_attach(app, (enum topo_attach_class)c);

			if (at.via && (topology_driver_vm(topo, at.via) == NULL ||
				       at.via_line == 0 ||
				       (c != TOPO_ATTACH_NET && topo->version == 1)))
				abort();
		}
		if (topology_driver_vm(topo, app->net.via) == NULL ||
		    topology_app_vm(topo, app->name) != app ||
		    app->net.gateway == NULL || strlen(app->net.mac) != 17)
			abort();
		/* It boots one thing: an image ("app" unless named), a
		 * template or its own disk; a disk VM, and only it, has its
		 * seed and its firmware settled. */
		if ((app->image != NULL) + (app->template != NULL) +
		    (app->disk != NULL) != 1 ||
		    (app->disk != NULL) != (app->cloud_init != NULL) ||
		    (app->disk != NULL) !=
		    (app->firmware != TOPO_FIRMWARE_UNSET))
			abort();
		/* A network only with its mode, and canonical ("X::/64"). */
		if ((app->net.ipv6 != NULL) !=
		    (app->net.ipv6_mode == TOPO_IPV6_PREFIX) ||
		    (app->net.ipv6 && strcmp(app->net.ipv6 + strlen(app->net.ipv6) - 5,
					 "::/64") != 0))
			abort();
	}
	for (unsigned k = 0; k < topo->talk_count; k++) {
		if (topology_app_vm(topo, topo->talk[k].a) == NULL ||
		    topology_app_vm(topo, topo->talk[k].b) == NULL)
			abort();
	}
	if (topo->host_port && (topo->host_port->gateway == NULL ||
	    topology_driver_vm(topo, topo->host_port->via) == NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct topology *topo;
	char err[512];
	int rc;

	rc = topology_load_buffer("fuzz.yaml", data, size, &topo, err,
				  sizeof(err));
	if (rc == 0) {
		check_loaded(topo);
		topology_free(topo);
		return 0;
	}
	if (topo != NULL || strncmp(err, "fuzz.yaml", 9) != 0 ||
	    strchr(err, '\n') != NULL)
		abort();
	return 0;
}
