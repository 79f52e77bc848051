#include "cloud_seed.h"

#include <errno.h>
#include <stdlib.h>

#include "strbuf.h"

/* TEXT as a YAML double-quoted scalar (YAML 1.2 section 7.3.1): the
 * topology lets only printable ASCII through, of which '"' and '\' need
 * escapes. */
static void yaml_quoted(struct strbuf *sb, const char *text)
{
	strbuf_printf(sb, "\"");
	for (const char *p = text; *p; p++)
		strbuf_printf(sb, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
	strbuf_printf(sb, "\"");
}

int cloud_seed_make(const struct topo_app_vm *app, const char *machine_id,
		    struct cloud_seed *out)
{
	const struct topo_cloud_init *ci = app->cloud_init;
	const char *user = ci && ci->user ? ci->user : "user";
	struct strbuf meta = { 0 }, ud = { 0 }, net = { 0 };

	strbuf_printf(&meta, "instance-id: ");
	strbuf_printf(&meta, "\"bk-%s\"\nlocal-hostname: ", machine_id);
	yaml_quoted(&meta, app->name);
	strbuf_printf(&meta, "\n");

	/* The person's account: sudo without a password (the VM is the
	 * boundary, as on the template), logged in by key only. */
	strbuf_printf(&ud, "#cloud-config\nusers:\n  - name: ");
	yaml_quoted(&ud, user);
	strbuf_printf(&ud, "\n    shell: /bin/bash\n    lock_passwd: true\n"
		      "    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n");
	if (ci && ci->ssh_keys_count) {
		strbuf_printf(&ud, "    ssh_authorized_keys:\n");
		for (unsigned k = 0; k < ci->ssh_keys_count; k++) {
			strbuf_printf(&ud, "      - ");
			yaml_quoted(&ud, ci->ssh_keys[k]);
			strbuf_printf(&ud, "\n");
		}
	}
	strbuf_printf(&ud, "ssh_pwauth: false\ndisable_root: true\n"
		      "preserve_hostname: false\n");

	/* The NIC by the MAC bulkhead gives it; what sys-net accepts
	 * (docs/sysnet.md): a DHCPv4 lease, IPv6 by SLAAC only (no DHCPv6),
	 * the address from the MAC's EUI-64, no temporary addresses. */
	strbuf_printf(&net, "version: 2\nethernets:\n  bk0:\n    match:\n"
		      "      macaddress: ");
	yaml_quoted(&net, app->net.mac);
	strbuf_printf(&net, "\n    dhcp4: true\n    dhcp6: false\n"
		      "    accept-ra: %s\n", app->net.ipv6_mode == TOPO_IPV6_OFF ?
		      "false" : "true");

	out->meta_data = strbuf_take(&meta);
	out->user_data = strbuf_take(&ud);
	out->network_config = strbuf_take(&net);
	if (!out->meta_data || !out->user_data || !out->network_config) {
		cloud_seed_free(out);
		return -ENOMEM;
	}
	return 0;
}

void cloud_seed_free(struct cloud_seed *seed)
{
	free(seed->meta_data);
	free(seed->user_data);
	free(seed->network_config);
	seed->meta_data = seed->user_data = seed->network_config = NULL;
}
