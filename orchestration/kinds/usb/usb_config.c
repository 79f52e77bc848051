/* sys-usb's configuration, handed over by fw_cfg and by its agent's
 * updates (driver-vms/usb/, docs/sysusb.md "Configuration"): the NIC of
 * each app VM's USB link, the devices pinned to app VMs, which input
 * classes reach the host. Its checker in the guest refuses anything else,
 * so this writes only what topology_load has checked. */
#include "usb_kind.h"

#include <stdio.h>

#include "strbuf.h"

bool usb_input_allowed(const struct topo_driver_vm *drv, bool keyboard)
{
	enum topo_input_policy p = !drv->input ? TOPO_INPUT_DEFAULT :
				   keyboard ? drv->input->keyboard :
				   drv->input->pointer;
	/* A keyboard types as the host's user: only when the file says so.
	 * A pointer only points. */
	return p == TOPO_INPUT_DEFAULT ? !keyboard : p == TOPO_INPUT_ALLOW;
}

char *usb_config(const struct topology *topo, const struct topo_driver_vm *drv,
		 char *err, size_t err_len)
{
	struct strbuf sb = { 0 };
	strbuf_printf(&sb, "# sys-usb configuration (bulkhead): topology %s,"
		      " driver VM %s\ninput keyboard %s\ninput pointer %s\n",
		      topo->name, drv->name,
		      usb_input_allowed(drv, true) ? "allow" : "deny",
		      usb_input_allowed(drv, false) ? "allow" : "deny");
	for (unsigned i = 0; i < topo->app_vms_count; i++) {
		const struct topo_app_vm *a = &topo->app_vms[i];
		if (!topology_serves(drv->name, a, TOPO_ATTACH_USB))
			continue;
		char mac[18];
		plan_usb_link_mac(topo, a->name, true, mac);
		strbuf_printf(&sb, "link %s %s\n", a->name, mac);
		for (unsigned k = 0; k < a->usb.pins_count; k++) {
			const struct topo_usb_pin *pin = &a->usb.pins[k];
			strbuf_printf(&sb, "pin %s %s %s\n", a->name,
				      pin->vidpid ? "vidpid" : pin->serial ? "serial" :
				      "port", pin->vidpid ? pin->vidpid :
				      pin->serial ? pin->serial : pin->port);
		}
	}
	char *text = strbuf_take(&sb);
	if (!text)
		snprintf(err, err_len, "%s: configuration: out of memory",
			 drv->name);
	return text;
}
