/* What the schema cannot say: defaults for what was left out, then every
 * rule on values and across fields (docs/topology.md "Rules"), in file
 * order, the first problem reported at its line. The address rules are
 * bk-config's (driver-vms/net/bk-config): a topology that passes here
 * must give sys-net a configuration it accepts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology_checker.h"

/* "a, b, c" of the driver VMs' or app VMs' names, for a message. */
static void names_list(const struct topology *topo, bool drivers, char *out,
		       size_t out_len)
{
	unsigned n = drivers ? topo->driver_vms_count : topo->app_vms_count;
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < n && len < out_len; i++) {
		const char *s = drivers ? topo->driver_vms[i].name :
				topo->app_vms[i].name;

		len += (size_t)snprintf(out + len, out_len - len, "%s%s",
					i ? ", " : "", SHOW(s));
	}
}

/* What an app VM and the host port share: a link to driver VM VIA (named
 * at BASE.VIA_KEY) with MAC, IP (its subnet) and GATEWAY (sys-net's
 * address on the link). */
struct link {
	const char *via;
	const char *via_key;
	char *mac;
	const char *ip;
	char **gateway;
};

/* BASE.KEY names a driver VM (which kind it must be is the kinds' to say:
 * driver_kinds_check). */
static int check_via(struct checker *c, const char *base, const char *key,
		     const char *via, const struct topo_driver_vm **drv)
{
	char known[200];

	*drv = topology_driver_vm(c->topo, via);
	if (*drv)
		return 0;
	names_list(c->topo, true, known, sizeof(known));
	return topo_fail(c->ctx, base, key, "no driver VM named '%s' (driver"
			 " VMs: %s)", SHOW(via), known);
}

static int check_link(struct checker *c, const char *base,
		      const struct link *link, unsigned *drv)
{
	const struct topo_driver_vm *served_by;
	uint32_t addr, net, gw;
	unsigned prefix;
	int rc;

	rc = check_via(c, base, link->via_key, link->via, &served_by);
	if (rc < 0)
		return rc;
	*drv = (unsigned)(served_by - c->topo->driver_vms);
	rc = chk_mac(c, base, "mac", link->mac);
	if (rc == 0)
		rc = chk_unique(c, &c->macs, link->mac, base, "mac");
	if (rc == 0)
		rc = chk_cidr(c, base, "ip", link->ip, APP_PREFIX_MIN,
			  APP_PREFIX_MAX, &addr, &prefix);
	if (rc < 0)
		return rc;
	net = addr & topo_prefix_mask(prefix);
	rc = chk_host_in(c, base, "ip", link->ip, addr, net, prefix);
	if (rc < 0)
		return rc;
	if (*link->gateway == NULL) {
		/* Default: the subnet's first host (a /30 or wider has one). */
		if (net + 1 == addr)
			return topo_fail(c->ctx, base, "gateway", "missing, and"
					 " the default (the first host, %s) is"
					 " the ip itself", IP4(net + 1));
		*link->gateway = strdup(IP4(net + 1));
		if (*link->gateway == NULL)
			return -ENOMEM;
	} else {
		rc = chk_ipv4(c, base, "gateway", *link->gateway, &gw);
		if (rc == 0)
			rc = chk_host_in(c, base, "gateway", *link->gateway, gw,
				     net, prefix);
		if (rc < 0)
			return rc;
		if (gw == addr)
			return topo_fail(c->ctx, base, "gateway", "'%s' is the"
					 " ip's own address",
					 SHOW(*link->gateway));
	}
	return chk_subnet(c, *drv, net, prefix, base, "ip");
}

/* An IPv6 dst: a network, prefix 0..128, no host bits; canonical. */
static int check_dst6(struct checker *c, const char *base,
		      struct topo_rule *rule)
{
	struct in6_addr addr, net;
	unsigned prefix;
	int rc = chk_cidr6(c, base, "dst", rule->dst, 0, 128, &addr, &prefix);

	if (rc < 0)
		return rc;
	net = topo_ip6_network(&addr, prefix);
	if (memcmp(&net, &addr, sizeof(net)) != 0)
		return topo_fail(c->ctx, base, "dst", "'%s' has host bits set"
				 " (the network is %s/%u)", SHOW(rule->dst),
				 IP6(&net), prefix);
	return chk_canonical6(&rule->dst, &net, prefix, true);
}

static int check_rule(struct checker *c, const char *base,
		      struct topo_rule *rule)
{
	uint32_t addr, mask;
	unsigned prefix, lo, hi;
	int rc;

	/* A colon: IPv6 (a dotted quad has none). */
	if (rule->dst && strchr(rule->dst, ':')) {
		rc = check_dst6(c, base, rule);
		if (rc < 0)
			return rc;
	} else if (rule->dst) {
		rc = chk_cidr(c, base, "dst", rule->dst, 0, 32, &addr, &prefix);
		if (rc < 0)
			return rc;
		mask = topo_prefix_mask(prefix);
		if (addr & ~mask)
			return topo_fail(c->ctx, base, "dst", "'%s' has host bits"
					 " set (the network is %s/%u)",
					 SHOW(rule->dst), IP4(addr & mask),
					 prefix);
	}
	if (rule->port == NULL)
		return 0;
	if (rule->proto != TOPO_PROTO_TCP && rule->proto != TOPO_PROTO_UDP)
		return topo_fail(c->ctx, base, "port", "'%s' needs proto: tcp"
				 " or udp", SHOW(rule->port));
	if (!topo_port_parse(rule->port, &lo, &hi))
		return topo_fail(c->ctx, base, "port", "'%s' is not a port"
				 " (1..65535) or a range P-Q", SHOW(rule->port));
	if (lo > hi)
		return topo_fail(c->ctx, base, "port", "'%s' is an empty range",
				 SHOW(rule->port));
	/* bk-config takes a range only with P < Q: "80-80" is port 80. */
	if (lo == hi)
		snprintf(rule->port, strlen(rule->port) + 1, "%u", lo);
	return 0;
}

/* ipv6: auto (left out too), off, or the app VM's own /64 network in
 * 2000::/3 or fc00::/7, which must not overlap another of its driver VM's
 * (sys-net routes between them). An auto network is derived later
 * (plan.c) and checked there. */
static int check_app_ipv6(struct checker *c, const char *base, unsigned drv,
			  struct topo_net_attach *app)
{
	struct in6_addr addr, net;
	unsigned prefix;
	int rc;

	if (app->ipv6 == NULL || strcmp(app->ipv6, "auto") == 0 ||
	    strcmp(app->ipv6, "off") == 0) {
		app->ipv6_mode = app->ipv6 && strcmp(app->ipv6, "off") == 0 ?
				 TOPO_IPV6_OFF : TOPO_IPV6_AUTO;
		free(app->ipv6);
		app->ipv6 = NULL;
		return 0;
	}
	if (strchr(app->ipv6, '/') == NULL)
		return topo_fail(c->ctx, base, "ipv6", "'%s' is not auto, off or"
				 " an IPv6 network X::/64", SHOW(app->ipv6));
	rc = chk_cidr6(c, base, "ipv6", app->ipv6, 0, 128, &addr, &prefix);
	if (rc < 0)
		return rc;
	if (prefix != APP_PREFIX6)
		return topo_fail(c->ctx, base, "ipv6", "'%s': prefix length %u;"
				 " an app VM's network is a /64 (SLAAC)",
				 SHOW(app->ipv6), prefix);
	net = topo_ip6_network(&addr, prefix);
	if (memcmp(&net, &addr, sizeof(net)) != 0)
		return topo_fail(c->ctx, base, "ipv6", "'%s' has host bits set"
				 " (the network is %s/%u)", SHOW(app->ipv6),
				 IP6(&net), prefix);
	rc = chk_routable6(c, base, "ipv6", app->ipv6, &net);
	if (rc == 0)
		rc = chk_canonical6(&app->ipv6, &net, prefix, true);
	if (rc < 0)
		return rc;
	app->ipv6_mode = TOPO_IPV6_PREFIX;
	return chk_net_disjoint(c, drv, false, &net, prefix, base, "ipv6");
}

/* An app VM's network: version 2's "net:" mapping, or
 * version 1's flat fields, where BASE is the app VM itself and the driver
 * VM its "net". */
static int check_app_net(struct checker *c, const char *app_base,
			 struct topo_net_attach *net)
{
	bool v1 = c->topo->version == 1;
	char base[TOPO_FIELD_MAX], field[TOPO_FIELD_MAX];
	struct link link = { net->via, v1 ? "net" : "via", net->mac, net->ip,
			     &net->gateway };
	unsigned drv;
	int rc;

	if (v1)
		topo_field(base, app_base, NULL);
	else
		topo_field(base, app_base, "net");
	topo_field(field, base, link.via_key);
	net->via_line = topo_doc_line(c->ctx, field);
	rc = check_link(c, base, &link, &drv);
	if (rc == 0)
		rc = check_app_ipv6(c, base, drv, net);
	if (rc < 0)
		return rc;
	/* The schema's 32 app VMs in all keep each driver VM within its 32
	 * downstreams; only the host port can take one more. */
	c->links[drv]++;
	for (unsigned k = 0; net->firewall && k < net->firewall->rules_count;
	     k++) {
		topo_fieldf(field, "%s.firewall.rules[%u]", base, k);
		rc = check_rule(c, field, &net->firewall->rules[k]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A usb: or storage: attachment (version 2): which driver VM. */
static int check_attach(struct checker *c, const char *app_base,
			enum topo_attach_class class, char *via,
			unsigned *via_line)
{
	const struct topo_driver_vm *drv;
	char base[TOPO_FIELD_MAX], field[TOPO_FIELD_MAX];

	if (via == NULL)
		return 0;
	topo_field(base, app_base, topology_attach_name(class));
	topo_field(field, base, "via");
	*via_line = topo_doc_line(c->ctx, field);
	return check_via(c, base, "via", via, &drv);
}

/* The app VM's volume on its storage driver VM: 1G unless it says. */
#define STORAGE_SIZE_DEFAULT_MIB 1024

static int check_storage(struct checker *c, const char *app_base,
			 struct topo_storage_attach *st)
{
	char base[TOPO_FIELD_MAX];
	int rc = check_attach(c, app_base, TOPO_ATTACH_STORAGE, st->via,
			      &st->via_line);

	if (rc < 0 || st->via == NULL)
		return rc;
	st->size_mib = STORAGE_SIZE_DEFAULT_MIB;
	topo_field(base, app_base, "storage");
	return st->size ? chk_size(c, base, "size", st->size, &st->size_mib) : 0;
}

/* Whether S is N lower-case hex digits (upper case made lower). */
static bool hex_digits(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 'A' && s[i] <= 'F')
			s[i] = (char)(s[i] - 'A' + 'a');
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* A pin: exactly one of vidpid, serial, port, valid, on no other app VM. */
static int check_usb_pin(struct checker *c, const char *usb_base, unsigned k,
			 struct topo_usb_pin *pin)
{
	char base[TOPO_FIELD_MAX];
	topo_fieldf(base, "%s.pin[%u]", usb_base, k);
	pin->line = topo_doc_line(c->ctx, base);
	unsigned given = !!pin->vidpid + !!pin->serial + !!pin->port;
	if (given != 1)
		return topo_fail(c->ctx, base, NULL, "%s; a pin is one of vidpid,"
				 " serial, port", given ? "more than one key" :
				 "no key");
	if (pin->vidpid) {
		if (strlen(pin->vidpid) != 9 || pin->vidpid[4] != ':' ||
		    !hex_digits(pin->vidpid, 4) || !hex_digits(pin->vidpid + 5, 4))
			return topo_fail(c->ctx, base, "vidpid", "'%s' is not"
					 " VVVV:PPPP (vendor and product, 4 hex"
					 " digits each)", SHOW(pin->vidpid));
		return chk_unique(c, &c->pins[0], pin->vidpid, base, "vidpid");
	}
	if (pin->serial) {
		if (!topology_usb_serial_valid(pin->serial))
			return topo_fail(c->ctx, base, "serial", "'%s' is not a"
					 " serial (1..64 of A-Z a-z 0-9 . _ -)",
					 SHOW(pin->serial));
		return chk_unique(c, &c->pins[1], pin->serial, base, "serial");
	}
	if (!topology_usb_busid_valid(pin->port))
		return topo_fail(c->ctx, base, "port", "'%s' is not a USB port"
				 " (a bus id as sys-usb lists it: 1-2, 3-1.4)",
				 SHOW(pin->port));
	return chk_unique(c, &c->pins[2], pin->port, base, "port");
}

/* The app VM's USB driver VM and the devices pinned to it. */
static int check_usb(struct checker *c, const char *app_base,
		     struct topo_usb_attach *usb)
{
	char base[TOPO_FIELD_MAX];
	int rc = check_attach(c, app_base, TOPO_ATTACH_USB, usb->via,
			      &usb->via_line);
	topo_field(base, app_base, "usb");
	for (unsigned k = 0; rc == 0 && k < usb->pins_count; k++)
		rc = check_usb_pin(c, base, k, &usb->pins[k]);
	return rc;
}

/* A template VM's private volume: 2G unless it says. */
#define PRIVATE_SIZE_DEFAULT_MIB 2048
/* Below this a private volume holds no file system worth having (ext4's
 * journal alone is 4 MiB at this size). */
#define PRIVATE_SIZE_MIN_MIB 64

/* What the app VM boots: a busybox image ("app" unless it names one) or a
 * template with its private volume, and whether it is disposable. */
static int check_app_boot(struct checker *c, const char *base,
			  struct topo_app_vm *app)
{
	if (app->template && app->image)
		return topo_fail(c->ctx, base, "template", "'%s' and image '%s'"
				 " both; an app VM boots one of them",
				 SHOW(app->template), SHOW(app->image));
	if (app->disk || app->cloud_init || app->firmware)
		return chk_app_disk(c, base, app);
	if (!app->template) {
		const char *key = app->private_size ? "private" :
				  app->disposable ? "disposable" :
				  app->display ? "display" : NULL;
		if (key)
			return topo_fail(c->ctx, base, key, "only an app VM on a"
					 " template has a %s; add template:"
					 " debian%s", app->private_size ?
					 "private volume" : app->disposable ?
					 "disposable mode" : "display",
					 app->display ? " or disk: PATH" : "");
	}
	if (app->preload && !app->disposable)
		return topo_fail(c->ctx, base, "preload", "only a disposable is"
				 " preloaded (its pool); add disposable: true");
	if (app->template && !topo_template_name_valid(app->template))
		return topo_fail(c->ctx, base, "template", "'%s' is not a"
				 " template name (a-z, then a-z, 0-9 or '-'; at"
				 " most %d characters)", SHOW(app->template),
				 TOPO_TEMPLATE_NAME_MAX);
	if (app->template) {
		app->private_mib = PRIVATE_SIZE_DEFAULT_MIB;
		int rc = app->private_size ? chk_size(c, base, "private",
						      app->private_size,
						      &app->private_mib) : 0;
		if (rc == 0 && app->private_mib < PRIVATE_SIZE_MIN_MIB)
			return topo_fail(c->ctx, base, "private", "'%s' is too"
					 " small for a private volume (at least"
					 " %uM)", SHOW(app->private_size),
					 PRIVATE_SIZE_MIN_MIB);
		return rc;
	}
	if (app->image == NULL) {
		app->image = strdup("app");
		return app->image ? 0 : -ENOMEM;
	}
	if (!topo_name_valid(app->image))
		return topo_fail(c->ctx, base, "image", "'%s' is not an image"
				 " name (a-z, then a-z, 0-9 or '-'; at most %d"
				 " characters)", SHOW(app->image),
				 TOPO_NAME_MAX);
	return 0;
}

static int check_app_vm(struct checker *c, unsigned i)
{
	struct topo_app_vm *app = &c->topo->app_vms[i];
	char base[TOPO_FIELD_MAX], field[TOPO_FIELD_MAX];
	int rc;

	topo_fieldf(base, "app-vms[%u]", i);
	rc = chk_vm(c, base, app->name, &app->memory_mib, APP_MEMORY_DEFAULT,
		      &app->vcpus);
	if (rc < 0)
		return rc;
	rc = check_app_boot(c, base, app);
	rc = rc ? rc : check_app_net(c, base, &app->net);
	if (rc == 0)
		rc = check_usb(c, base, &app->usb);
	if (rc == 0)
		rc = check_storage(c, base, &app->storage);
	if (rc < 0)
		return rc;
	topo_field(field, base, "autostart");
	if (topo_doc_node(c->ctx, field) == NULL)
		app->autostart = true;
	if (app->preload && !app->autostart)
		return topo_fail(c->ctx, base, "preload", "a preloaded disposable"
				 " is booted by up and kept paused; autostart:"
				 " false says the opposite");
	return 0;
}

static int check_talk_name(struct checker *c, unsigned k, unsigned side,
			   const char *value, const struct topo_app_vm **app)
{
	char base[TOPO_FIELD_MAX], known[200];

	*app = topology_app_vm(c->topo, value);
	if (*app)
		return 0;
	topo_fieldf(base, "talk[%u][%u]", k, side);
	names_list(c->topo, false, known, sizeof(known));
	return topo_fail(c->ctx, base, NULL, "no app VM named '%s' (app VMs:"
			 " %s)", SHOW(value), known);
}

static int check_talk(struct checker *c, unsigned k)
{
	const struct topo_talk *pair = &c->topo->talk[k];
	const struct topo_app_vm *a, *b;
	char base[TOPO_FIELD_MAX];
	int rc;

	topo_fieldf(base, "talk[%u]", k);
	rc = check_talk_name(c, k, 0, pair->a, &a);
	if (rc == 0)
		rc = check_talk_name(c, k, 1, pair->b, &b);
	if (rc < 0)
		return rc;
	if (a == b)
		return topo_fail(c->ctx, base, NULL, "'%s' with itself; a pair"
				 " is two app VMs", SHOW(pair->a));
	if (strcmp(a->net.via, b->net.via) != 0)
		return topo_fail(c->ctx, base, NULL, "%s is on %s, %s on %s;"
				 " only app VMs of one driver VM can talk",
				 a->name, a->net.via, b->name, b->net.via);
	for (unsigned l = 0; l < k; l++) {
		const struct topo_talk *p = &c->topo->talk[l];

		if ((strcmp(p->a, a->name) == 0 && strcmp(p->b, b->name) == 0) ||
		    (strcmp(p->a, b->name) == 0 && strcmp(p->b, a->name) == 0))
			return topo_fail(c->ctx, base, NULL, "%s and %s are"
					 " already a pair at talk[%u]", a->name,
					 b->name, l);
	}
	return 0;
}

static int check_host_port(struct checker *c)
{
	struct topo_host_port *hp = c->topo->host_port;
	struct link link;
	unsigned drv;
	int rc;

	if (hp == NULL)
		return 0;
	link = (struct link){ hp->via, c->topo->version == 1 ? "net" : "via",
			      hp->mac, hp->ip, &hp->gateway };
	rc = check_link(c, "host-port", &link, &drv);
	if (rc < 0)
		return rc;
	if (hp->netns && !topo_netns_valid(hp->netns))
		return topo_fail(c->ctx, "host-port", "netns", "'%s' is not a"
				 " namespace name (1..32 of A-Z a-z 0-9 _ . -)",
				 SHOW(hp->netns));
	if (c->links[drv] >= TOPO_MAX_APP_VMS)
		return topo_fail(c->ctx, "host-port", link.via_key, "%s already"
				 " serves %u app VMs, as many links as it"
				 " has", hp->via, c->links[drv]);
	c->links[drv]++;
	return 0;
}

/* Left out, the name is the file's: "lab.yaml" is "lab". */
static int default_name(struct checker *c)
{
	const char *path = c->topo->path, *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);

	c->topo->name = strndup(base, len);
	if (c->topo->name == NULL)
		return -ENOMEM;
	if (!topo_name_valid(c->topo->name))
		return topo_fail_line(c->ctx, 0, "name", "missing, and the"
				      " file's name '%s' is not a name (a-z,"
				      " then a-z, 0-9 or '-'; at most %d"
				      " characters): set name:",
				      SHOW(c->topo->name), TOPO_NAME_MAX);
	return 0;
}

static int check_top(struct checker *c)
{
	struct topology *topo = c->topo;
	int rc = chk_number(c, "", "version", &topo->version, 0, 0, UINT32_MAX);

	if (rc < 0)
		return rc;
	if (topo->version != 1 && topo->version != 2)
		return topo_fail(c->ctx, "", "version", "%u is not supported"
				 " (this bulkhead reads versions 1 and 2)",
				 topo->version);
	if (topo->name == NULL)
		return default_name(c);
	if (!topo_name_valid(topo->name))
		return topo_fail(c->ctx, "", "name", "'%s' is not a name (a-z,"
				 " then a-z, 0-9 or '-'; at most %d"
				 " characters)", SHOW(topo->name),
				 TOPO_NAME_MAX);
	return 0;
}

int topo_check(struct topo_ctx *ctx, struct topology *topo)
{
	struct checker *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return -ENOMEM;
	c->ctx = ctx;
	c->topo = topo;
	c->names = (struct seen_table){ c->name_entries, 0, NAMES_MAX };
	c->macs = (struct seen_table){ c->mac_entries, 0, MACS_MAX };
	c->pcis = (struct seen_table){ c->pci_entries, 0, PCIS_MAX };
	c->files = (struct seen_table){ c->file_entries, 0, PCIS_MAX };
	for (unsigned k = 0; k < 3; k++)
		c->pins[k] = (struct seen_table){ c->pin_entries[k], 0,
			TOPO_MAX_APP_VMS * TOPO_MAX_USB_PINS };
	rc = check_top(c);
	for (unsigned i = 0; rc == 0 && i < topo->driver_vms_count; i++)
		rc = chk_driver_vm(c, i);
	for (unsigned i = 0; rc == 0 && i < topo->app_vms_count; i++)
		rc = check_app_vm(c, i);
	for (unsigned k = 0; rc == 0 && k < topo->talk_count; k++)
		rc = check_talk(c, k);
	if (rc == 0)
		rc = check_host_port(c);
	free(c);
	return rc;
}
