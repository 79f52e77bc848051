/* The topology parser (orchestration/topology.c): a full file and a
 * minimal one load with every value and default in place; every other
 * case is one malformed file whose one-line error is checked whole (file,
 * line, field, the offending value), so that each check, removed, fails
 * a case here. The files are written to a scratch directory that is the
 * working directory, so messages start "demo.yaml:". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "topology_internal.h"

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0)
		abort();
}

/* Writes TEXT to PATH and loads it. */
static int load_text(const char *path, const char *text,
		     struct topology **topo, char *err, size_t err_len)
{
	write_file(path, text, strlen(text));
	return topology_load(path, topo, err, err_len);
}

/* Lines 1..8: the version and one driver VM; app VMs from line 9. */
#define HEAD "version: 1\n"
#define HEAD2 "version: 2\n"
#define SYSNET                                                           \
	"driver-vms:\n"                                                  \
	"  - name: sys-net\n"                                            \
	"    kind: net\n"                                                \
	"    devices:\n"                                                 \
	"      - emulated: e1000e\n"                                     \
	"        netns: bk-outside\n"                                    \
	"        mac: 52:54:00:00:00:01\n"
#define BASE HEAD SYSNET
/* Lines 9..13. */
#define WORK                                                             \
	"app-vms:\n"                                                     \
	"  - name: work\n"                                               \
	"    net: sys-net\n"                                             \
	"    mac: 52:54:00:a0:00:01\n"                                   \
	"    ip: 10.200.1.2/24\n"
/* WORK in version 2, served by VIA: lines 9..14 (via on 12). */
/* A storage driver VM with one device (a flow mapping) on line 6. */
#define STORAGE_VM(device)                                               \
	"driver-vms:\n"                                                  \
	"  - name: sys-st\n"                                             \
	"    kind: storage\n"                                            \
	"    devices:\n"                                                 \
	"      - " device "\n"
#define WORK2(via)                                                       \
	"app-vms:\n"                                                     \
	"  - name: work\n"                                               \
	"    net:\n"                                                     \
	"      via: " via "\n"                                           \
	"      mac: 52:54:00:a0:00:01\n"                                 \
	"      ip: 10.200.1.2/24\n"
/* An app VM entry (to follow WORK): lines +0..+3. */
#define APP(name, mac, ip)                                               \
	"  - name: " name "\n"                                           \
	"    net: sys-net\n"                                             \
	"    mac: " mac "\n"                                             \
	"    ip: " ip "\n"
/* A static uplink with IPv6 after SYSNET: lines 9..14, address6 on 13,
 * gateway6 on 14. */
#define STATIC6(address6, gateway6)                                      \
	"    uplink:\n"                                                  \
	"      mode: static\n"                                           \
	"      address: 192.168.1.2/24\n"                                \
	"      gateway: 192.168.1.1\n"                                   \
	"      address6: " address6 "\n"                                 \
	"      gateway6: " gateway6 "\n"
/* WORK with ipv6 (line 14). */
#define WORK6(ipv6) WORK "    ipv6: " ipv6 "\n"
/* WORK with one firewall rule whose dst is DST (line 16). */
#define WORK_DST(dst) WORK "    firewall:\n      rules:\n"                \
	"        - {action: deny, dst: \"" dst "\"}\n"
#define IP6_SYNTAX "hex groups X:X:X:X:X:X:X:X, '::' for a run of zeros"
/* A driver VM entry after SYSNET, from line 9: lines 9..12 + devices. */
#define DRIVER2(devices)                                                 \
	"  - name: sys-net2\n"                                           \
	"    kind: net\n"                                                \
	"    devices:\n" devices

/* The driver VMs of the full file and its first app VM's own keys (both
 * versions): lines 5..35. */
#define FULL_DRIVERS                                                     \
	"driver-vms:\n" \
	"  - name: sys-net\n" \
	"    kind: net\n" \
	"    memory: 128\n" \
	"    vcpus: 2\n" \
	"    devices:\n" \
	"      - emulated: e1000e\n" \
	"        netns: bk-outside\n" \
	"        mac: 52:54:00:00:00:01\n" \
	"      - emulated: igb\n" \
	"        netns: bk-spare\n" \
	"        bridge: br0\n" \
	"    uplink:\n" \
	"      mode: static\n" \
	"      address: 192.168.77.2/24\n" \
	"      gateway: 192.168.77.1\n" \
	"      dns: [192.168.77.1, 9.9.9.9]\n" \
	"      address6: 2001:DB8:77:0::2/64\n" \
	"      gateway6: FE80::1\n" \
	"      mac: 52:54:00:00:00:01\n" \
	"  - name: sys-net2\n" \
	"    kind: net\n" \
	"    devices:\n" \
	"      - pci: \"03:00.0\"\n" \
	"    uplink:\n" \
	"      mode: dhcp\n" \
	"app-vms:\n" \
	"  - name: work\n" \
	"    memory: 512\n" \
	"    vcpus: 2\n" \
	"    image: app-dev\n"

static const char full_yaml[] =
	"# The example of docs/topology.md.\n"
	"version: 1\n"
	"name: lab\n"
	"accel: tcg\n"
	FULL_DRIVERS
	"    net: sys-net\n"
	"    mac: 52:54:00:A0:00:01\n"
	"    ip: 10.200.1.2/24\n"
	"    gateway: 10.200.1.254\n"
	"    firewall:\n"
	"      policy: drop\n"
	"      rules:\n"
	"        - action: allow\n"
	"          proto: udp\n"
	"          port: 53\n"
	"        - action: allow\n"
	"          dst: 192.168.77.1/32\n"
	"          proto: tcp\n"
	"          port: 80-80\n"
	"        - action: deny\n"
	"          dst: 10.0.0.0/8\n"
	"        - action: allow\n"
	"          proto: tcp\n"
	"          port: \"1000-2000\"\n"
	"        - {action: deny, dst: 0.0.0.0/0}\n"
	"        - action: deny\n"
	"          dst: FC00:0::/7\n"
	"    autostart: yes\n"
	"    ipv6: auto\n"
	"  - name: personal\n"
	"    net: sys-net\n"
	"    mac: 52:54:00:a0:00:02\n"
	"    ip: 10.200.2.2/24\n"
	"    autostart: false\n"
	"    ipv6: off\n"
	"  - name: lab-web\n"
	"    net: sys-net2\n"
	"    mac: 52:54:00:a0:00:03\n"
	"    ip: 10.200.1.2/24\n"
	"    ipv6: 2001:DB8:1:1:0::/64\n"
	"talk:\n"
	"  - [work, personal]\n"
	"host-port:\n"
	"  net: sys-net\n"
	"  mac: 52:54:00:b0:00:01\n"
	"  ip: 10.200.9.2/30\n"
	"  netns: bk-host\n"
	"  default-route: yes\n";

/* full_yaml in version 2's spelling: each app VM's network a mapping with
 * the driver VM as "via", the host port's driver VM "via" too. It must
 * load into exactly what version 1's file loads into. */
static const char full_yaml_v2[] =
	"# The example of docs/topology.md.\n"
	"version: 2\n"
	"name: lab\n"
	"accel: tcg\n"
	FULL_DRIVERS
	"    net:\n"
	"      via: sys-net\n"
	"      mac: 52:54:00:A0:00:01\n"
	"      ip: 10.200.1.2/24\n"
	"      gateway: 10.200.1.254\n"
	"      firewall:\n"
	"        policy: drop\n"
	"        rules:\n"
	"          - action: allow\n"
	"            proto: udp\n"
	"            port: 53\n"
	"          - action: allow\n"
	"            dst: 192.168.77.1/32\n"
	"            proto: tcp\n"
	"            port: 80-80\n"
	"          - action: deny\n"
	"            dst: 10.0.0.0/8\n"
	"          - action: allow\n"
	"            proto: tcp\n"
	"            port: \"1000-2000\"\n"
	"          - {action: deny, dst: 0.0.0.0/0}\n"
	"          - action: deny\n"
	"            dst: FC00:0::/7\n"
	"      ipv6: auto\n"
	"    autostart: yes\n"
	"  - name: personal\n"
	"    net: {via: sys-net, mac: 52:54:00:a0:00:02, ip: 10.200.2.2/24,\n"
	"          ipv6: off}\n"
	"    autostart: false\n"
	"  - name: lab-web\n"
	"    net:\n"
	"      via: sys-net2\n"
	"      mac: 52:54:00:a0:00:03\n"
	"      ip: 10.200.1.2/24\n"
	"      ipv6: 2001:DB8:1:1:0::/64\n"
	"talk:\n"
	"  - [work, personal]\n"
	"host-port:\n"
	"  via: sys-net\n"
	"  mac: 52:54:00:b0:00:01\n"
	"  ip: 10.200.9.2/30\n"
	"  netns: bk-host\n"
	"  default-route: yes\n";

struct full_case {
	const char *yaml;
	unsigned version;
	/* The lines of the app VMs' "net" (v1) or "net.via" (v2). */
	unsigned via_lines[3];
};
static const struct full_case full_v1 = { full_yaml, 1, { 36, 61, 67 } };
static const struct full_case full_v2 = { full_yaml_v2, 2, { 37, 62, 67 } };

static void test_full_file(struct tap *t, const void *arg)
{
	const struct full_case *fc = arg;
	struct topology *topo;
	const struct topo_driver_vm *drv;
	const struct topo_app_vm *app;
	const struct topo_rule *r;
	char err[256];

	CHECK_EQ(t, load_text("full.yaml", fc->yaml, &topo, err, sizeof(err)),
		 0);
	CHECK_STREQ(t, err, "");
	if (topo == NULL)
		return;
	CHECK_EQ(t, topo->version, fc->version);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(t, topo->app_vms[i].net.via_line, fc->via_lines[i]);
		CHECK(t, topo->app_vms[i].usb.via == NULL);
		CHECK(t, topo->app_vms[i].storage.via == NULL);
	}
	CHECK_STREQ(t, topo->name, "lab");
	CHECK_STREQ(t, topo->path, "full.yaml");
	CHECK_EQ(t, topo->accel, TOPO_ACCEL_TCG);
	CHECK_EQ(t, topo->driver_vms_count, 2);
	drv = &topo->driver_vms[0];
	CHECK_STREQ(t, drv->name, "sys-net");
	CHECK_STREQ(t, drv->kind, "net");
	CHECK_EQ(t, drv->memory_mib, 128);
	CHECK_EQ(t, drv->vcpus, 2);
	CHECK_EQ(t, drv->devices_count, 2);
	CHECK(t, drv->devices[0].pci == NULL);
	CHECK_EQ(t, drv->devices[0].emulated, TOPO_EMULATED_E1000E);
	CHECK_STREQ(t, drv->devices[0].netns, "bk-outside");
	CHECK(t, drv->devices[0].bridge == NULL);
	CHECK_STREQ(t, drv->devices[1].bridge, "br0");
	CHECK_STREQ(t, drv->devices[0].mac, "52:54:00:00:00:01");
	CHECK_EQ(t, drv->devices[1].emulated, TOPO_EMULATED_IGB);
	CHECK(t, drv->devices[1].mac == NULL);
	CHECK(t, drv->uplink != NULL);
	if (drv->uplink) {
		CHECK_EQ(t, drv->uplink->mode, TOPO_UPLINK_STATIC);
		CHECK_STREQ(t, drv->uplink->address, "192.168.77.2/24");
		CHECK_STREQ(t, drv->uplink->gateway, "192.168.77.1");
		CHECK_EQ(t, drv->uplink->dns_count, 2);
		CHECK_STREQ(t, drv->uplink->dns[1], "9.9.9.9");
		CHECK_STREQ(t, drv->uplink->mac, "52:54:00:00:00:01");
		/* IPv6 text in its canonical form (RFC 5952). */
		CHECK_STREQ(t, drv->uplink->address6, "2001:db8:77::2/64");
		CHECK_STREQ(t, drv->uplink->gateway6, "fe80::1");
	}
	drv = &topo->driver_vms[1];
	CHECK_EQ(t, drv->memory_mib, 128);   /* passthrough default */
	CHECK_EQ(t, drv->vcpus, 1);
	/* The short form gets its domain. */
	CHECK_STREQ(t, drv->devices[0].pci, "0000:03:00.0");
	CHECK_EQ(t, drv->devices[0].emulated, TOPO_EMULATED_NONE);
	CHECK(t, drv->uplink && drv->uplink->mode == TOPO_UPLINK_DHCP);

	CHECK_EQ(t, topo->app_vms_count, 3);
	app = &topo->app_vms[0];
	CHECK_STREQ(t, app->name, "work");
	CHECK_EQ(t, app->memory_mib, 512);
	CHECK_EQ(t, app->vcpus, 2);
	CHECK_STREQ(t, app->image, "app-dev");
	CHECK_STREQ(t, app->net.via, "sys-net");
	CHECK_STREQ(t, app->net.mac, "52:54:00:a0:00:01");     /* lowered */
	CHECK_STREQ(t, app->net.ip, "10.200.1.2/24");
	CHECK_STREQ(t, app->net.gateway, "10.200.1.254");
	CHECK(t, app->autostart);
	CHECK(t, app->net.firewall != NULL);
	if (app->net.firewall) {
		CHECK_EQ(t, app->net.firewall->policy, TOPO_POLICY_DROP);
		CHECK_EQ(t, app->net.firewall->rules_count, 6);
		r = app->net.firewall->rules;
		CHECK_EQ(t, r[0].action, TOPO_RULE_ALLOW);
		CHECK(t, r[0].dst == NULL);
		CHECK_EQ(t, r[0].proto, TOPO_PROTO_UDP);
		CHECK_STREQ(t, r[0].port, "53");   /* a YAML int, as text */
		CHECK_STREQ(t, r[1].dst, "192.168.77.1/32");
		CHECK_STREQ(t, r[1].port, "80");   /* bk-config: P < Q */
		CHECK_EQ(t, r[2].action, TOPO_RULE_DENY);
		CHECK_EQ(t, r[2].proto, TOPO_PROTO_ANY);
		CHECK(t, r[2].port == NULL);
		CHECK_STREQ(t, r[3].port, "1000-2000");
		CHECK_STREQ(t, r[4].dst, "0.0.0.0/0");
		CHECK_STREQ(t, r[5].dst, "fc00::/7");
	}
	CHECK_EQ(t, app->net.ipv6_mode, TOPO_IPV6_AUTO);
	CHECK(t, app->net.ipv6 == NULL);
	app = &topo->app_vms[1];
	CHECK(t, !app->autostart);
	CHECK_STREQ(t, app->net.gateway, "10.200.2.1");
	CHECK(t, app->net.firewall == NULL);
	CHECK_EQ(t, app->net.ipv6_mode, TOPO_IPV6_OFF);
	CHECK(t, app->net.ipv6 == NULL);
	CHECK_EQ(t, topo->app_vms[2].net.ipv6_mode, TOPO_IPV6_PREFIX);
	CHECK_STREQ(t, topo->app_vms[2].net.ipv6, "2001:db8:1:1::/64");
	/* The same subnet on another driver VM is another network. */
	CHECK_STREQ(t, topo->app_vms[2].net.ip, "10.200.1.2/24");

	CHECK_EQ(t, topo->talk_count, 1);
	CHECK_STREQ(t, topo->talk[0].a, "work");
	CHECK_STREQ(t, topo->talk[0].b, "personal");
	CHECK(t, topo->host_port != NULL);
	if (topo->host_port) {
		CHECK_STREQ(t, topo->host_port->via, "sys-net");
		CHECK_STREQ(t, topo->host_port->mac, "52:54:00:b0:00:01");
		CHECK_STREQ(t, topo->host_port->ip, "10.200.9.2/30");
		CHECK_STREQ(t, topo->host_port->gateway, "10.200.9.1");
		CHECK_STREQ(t, topo->host_port->netns, "bk-host");
		CHECK(t, topo->host_port->default_route);
	}
	CHECK(t, topology_driver_vm(topo, "sys-net2") == &topo->driver_vms[1]);
	CHECK(t, topology_driver_vm(topo, "work") == NULL);
	CHECK(t, topology_app_vm(topo, "personal") == &topo->app_vms[1]);
	CHECK(t, topology_app_vm(topo, "sys-net") == NULL);
	topology_free(topo);
}

static void test_minimal_file(struct tap *t, const void *arg)
{
	struct topology *topo;
	const struct topo_app_vm *app;
	char err[256];

	(void)arg;
	CHECK_EQ(t, load_text("demo.yaml", BASE WORK, &topo, err, sizeof(err)),
		 0);
	CHECK_STREQ(t, err, "");
	if (topo == NULL)
		return;
	CHECK_STREQ(t, topo->name, "demo");       /* the file's base name */
	CHECK_EQ(t, topo->accel, TOPO_ACCEL_AUTO);
	CHECK_EQ(t, topo->driver_vms[0].memory_mib, 64);
	CHECK_EQ(t, topo->driver_vms[0].vcpus, 1);
	CHECK(t, topo->driver_vms[0].uplink == NULL);
	app = &topo->app_vms[0];
	CHECK_EQ(t, app->memory_mib, 256);
	CHECK_EQ(t, app->vcpus, 1);
	CHECK_STREQ(t, app->image, "app");
	CHECK_STREQ(t, app->net.gateway, "10.200.1.1");
	CHECK(t, app->net.firewall == NULL);
	CHECK(t, app->autostart);
	CHECK_EQ(t, app->net.ipv6_mode, TOPO_IPV6_AUTO);    /* left out: auto */
	CHECK(t, app->net.ipv6 == NULL);
	CHECK_EQ(t, topo->talk_count, 0);
	CHECK(t, topo->talk == NULL);
	CHECK(t, topo->host_port == NULL);
	topology_free(topo);

	/* No app VM at all; a pci device with a dhcp uplink named by MAC. */
	CHECK_EQ(t, load_text("demo.yaml", HEAD "driver-vms:\n"
			      "  - {name: sys-net, kind: net, devices: [{pci:"
			      " 0000:00:1f.7}], uplink: {mac:"
			      " 02:00:00:00:00:01}}\n", &topo, err,
			      sizeof(err)), 0);
	CHECK_STREQ(t, err, "");
	if (topo) {
		CHECK_EQ(t, topo->app_vms_count, 0);
		CHECK_STREQ(t, topo->driver_vms[0].devices[0].pci,
			    "0000:00:1f.7");
		topology_free(topo);
	}
}

struct bad_case {
	const char *name;
	const char *yaml;
	const char *msg;
};

/* Each is one file with one problem; the whole message is checked. */
static const struct bad_case bad_cases[] = {
	/* Syntax and shape (libyaml, libcyaml). */
	{ "YAML syntax error", HEAD "driver-vms: [\n",
	  "demo.yaml:3: not valid YAML: did not find expected node content"
	  " (while parsing a flow node)" },
	{ "YAML indentation error", HEAD "driver-vms:\n  - name: x\n   kind: net\n",
	  "demo.yaml:4: not valid YAML: did not find expected '-' indicator"
	  " (while parsing a block collection on line 3)" },
	{ "empty file", "", "demo.yaml: the file is empty (it needs at least"
	  " version: 2 and driver-vms)" },
	{ "only comments", "# nothing yet\n", "demo.yaml: the file is empty"
	  " (it needs at least version: 2 and driver-vms)" },
	{ "a second document", BASE "---\n" BASE,
	  "demo.yaml:9: a second YAML document; a topology is one" },
	{ "a list, not a mapping", "- version: 1\n",
	  "demo.yaml:1: the file holds a list; expected a mapping (version: 2,"
	  " driver-vms: ...)" },
	{ "brackets nested too deep",
	  "version: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
	  "demo.yaml:1: [ ] and { } nested deeper than 32 levels" },
	{ "unknown key", BASE WORK "    memry: 512\n",
	  "demo.yaml:14: app-vms[0].memry: unknown key (known: name, memory,"
	  " vcpus, image, net, mac, ip, gateway, ipv6, firewall, autostart)" },
	{ "unknown top-level key", BASE "app-vm: []\n",
	  "demo.yaml:9: app-vm: unknown key (known: version, name, accel,"
	  " driver-vms, app-vms, talk, host-port)" },
	{ "missing required key", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    ip: 10.200.1.2/24\n",
	  "demo.yaml:10: app-vms[0].mac: missing (required)" },
	{ "missing driver-vms", HEAD "name: lab\n",
	  "demo.yaml:1: driver-vms: missing (required)" },
	{ "key given twice", BASE WORK "    mac: 52:54:00:a0:00:09\n",
	  "demo.yaml:14: app-vms[0].mac: given twice (first on line 12)" },
	{ "wrong type", BASE "app-vms:\n  - name: work\n    net: sys-net\n"
	  "    mac: [52:54:00:a0:00:01]\n    ip: 10.200.1.2/24\n",
	  "demo.yaml:12: app-vms[0].mac: expected a string, got a list" },
	{ "a mapping where a list goes", HEAD "driver-vms:\n  name: sys-net\n",
	  "demo.yaml:2: driver-vms: expected a list, got a mapping" },
	{ "a null where a mapping goes", BASE WORK "host-port:\n",
	  "demo.yaml:14: host-port: expected a mapping (key: value), got"
	  " nothing" },
	{ "bad enum", BASE "accel: fast\n",
	  "demo.yaml:9: accel: 'fast' is not one of auto, kvm, tcg" },
	{ "a number for an enum", BASE "accel: 1\n",
	  "demo.yaml:9: accel: '1' is not one of auto, kvm, tcg" },
	{ "bad boolean", BASE WORK "    autostart: flase\n",
	  "demo.yaml:14: app-vms[0].autostart: 'flase' is not one of true,"
	  " false, yes, no, on, off" },
	{ "not a number", BASE WORK "    memory: lots\n",
	  "demo.yaml:14: app-vms[0].memory: 'lots' is not a number" },
	{ "number with trailing junk", BASE WORK "    memory: 512M\n",
	  "demo.yaml:14: app-vms[0].memory: '512M' is not a decimal number" },
	{ "hex number", BASE WORK "    vcpus: 0x2\n",
	  "demo.yaml:14: app-vms[0].vcpus: '0x2' is not a decimal number" },
	{ "too many driver VMs", HEAD "driver-vms:\n"
	  "  - {name: a, kind: net, devices: [{pci: '00:01.0'}]}\n"
	  "  - {name: b, kind: net, devices: [{pci: '00:02.0'}]}\n"
	  "  - {name: c, kind: net, devices: [{pci: '00:03.0'}]}\n"
	  "  - {name: d, kind: net, devices: [{pci: '00:04.0'}]}\n"
	  "  - {name: e, kind: net, devices: [{pci: '00:05.0'}]}\n"
	  "  - {name: f, kind: net, devices: [{pci: '00:06.0'}]}\n"
	  "  - {name: g, kind: net, devices: [{pci: '00:07.0'}]}\n"
	  "  - {name: h, kind: net, devices: [{pci: '00:08.0'}]}\n"
	  "  - {name: i, kind: net, devices: [{pci: '00:09.0'}]}\n"
	  "  - {name: j, kind: net, devices: [{pci: '00:0a.0'}]}\n",
	  "demo.yaml:11: driver-vms: 10 entries; at most 8" },
	{ "too many dns servers", BASE "    uplink:\n      mode: static\n"
	  "      address: 192.168.1.2/24\n      gateway: 192.168.1.1\n"
	  "      dns: [1.1.1.1, 8.8.8.8, 9.9.9.9, 8.8.4.4]\n",
	  "demo.yaml:13: driver-vms[0].uplink.dns: 4 entries; at most 3" },
	{ "no driver VM", HEAD "driver-vms: []\n",
	  "demo.yaml:2: driver-vms: 0 entries; at least 1" },
	{ "a kind that is no name", HEAD "driver-vms:\n  - name: sys-x\n"
	  "    kind: \"Net\\x1b\"\n",
	  "demo.yaml:4: driver-vms[0].kind: 'Net?' is not a kind's name" },
	{ "talk pair of one", BASE WORK APP("personal", "52:54:00:a0:00:02",
					     "10.200.2.2/24")
	  "talk:\n  - [work, personal]\n  - [work]\n",
	  "demo.yaml:20: talk[1]: 1 entry; it takes exactly 2" },
	{ "talk pair of three", BASE WORK "talk:\n  - [work, a, b]\n",
	  "demo.yaml:15: talk[0]: 3 entries; it takes exactly 2" },
	{ "alias", BASE "name: &n lab\naccel: *n\n",
	  "demo.yaml:10: accel: aliases (*name) are not supported" },

	/* The file's own fields. */
	{ "version 3", "version: 3\n" SYSNET,
	  "demo.yaml:1: version: 3 is not supported (this bulkhead reads"
	  " versions 1 and 2)" },
	{ "bad topology name", BASE "name: Lab\n",
	  "demo.yaml:9: name: 'Lab' is not a name (a-z, then a-z, 0-9 or '-';"
	  " at most 13 characters)" },

	/* Driver VMs. */
	{ "bad driver VM name", HEAD "driver-vms:\n  - name: sys_net\n"
	  "    kind: net\n    devices: [{pci: '03:00.0'}]\n",
	  "demo.yaml:3: driver-vms[0].name: 'sys_net' is not a name (a-z, then"
	  " a-z, 0-9 or '-'; at most 13 characters)" },
	{ "name too long", BASE WORK APP("personal-12345", "52:54:00:a0:00:02",
					 "10.200.2.2/24"),
	  "demo.yaml:14: app-vms[1].name: 'personal-12345' is not a name (a-z,"
	  " then a-z, 0-9 or '-'; at most 13 characters)" },
	{ "name used twice", BASE WORK APP("sys-net", "52:54:00:a0:00:02",
					   "10.200.2.2/24"),
	  "demo.yaml:14: app-vms[1].name: 'sys-net' is already used at"
	  " driver-vms[0].name" },
	{ "driver memory too small", BASE "    memory: 63\n",
	  "demo.yaml:9: driver-vms[0].memory: 63 is not in 64..65536" },
	{ "app memory too large", BASE WORK "    memory: 65537\n",
	  "demo.yaml:14: app-vms[0].memory: 65537 is not in 64..65536" },
	{ "no vcpus", BASE "    vcpus: 0\n",
	  "demo.yaml:9: driver-vms[0].vcpus: 0 is not in 1..64" },
	{ "too many vcpus", BASE WORK "    vcpus: 65\n",
	  "demo.yaml:14: app-vms[0].vcpus: 65 is not in 1..64" },
	{ "device both pci and emulated", BASE
	  "      - pci: 0000:03:00.0\n        emulated: igb\n",
	  "demo.yaml:9: driver-vms[0].devices[1]: both pci and emulated; a"
	  " device is one or the other" },
	{ "device neither", BASE "      - netns: bk-spare\n",
	  "demo.yaml:9: driver-vms[0].devices[1]: neither pci nor emulated; a"
	  " device is one of them" },
	{ "bad pci address", BASE "      - pci: 0000:03:00\n",
	  "demo.yaml:9: driver-vms[0].devices[1].pci: '0000:03:00' is not a PCI"
	  " address (DDDD:BB:DD.F or BB:DD.F, hex; device <= 1f, function"
	  " <= 7)" },
	{ "pci device over 1f", BASE "      - pci: 0000:03:20.0\n",
	  "demo.yaml:9: driver-vms[0].devices[1].pci: '0000:03:20.0' is not a"
	  " PCI address (DDDD:BB:DD.F or BB:DD.F, hex; device <= 1f, function"
	  " <= 7)" },
	{ "pci with a bad separator", BASE "      - pci: 0000-03:00.0\n",
	  "demo.yaml:9: driver-vms[0].devices[1].pci: '0000-03:00.0' is not a"
	  " PCI address (DDDD:BB:DD.F or BB:DD.F, hex; device <= 1f, function"
	  " <= 7)" },
	{ "pci without the dot", BASE "      - pci: 03:00:0\n",
	  "demo.yaml:9: driver-vms[0].devices[1].pci: '03:00:0' is not a PCI"
	  " address (DDDD:BB:DD.F or BB:DD.F, hex; device <= 1f, function"
	  " <= 7)" },
	{ "pci function over 7", BASE "      - pci: 03:00.8\n",
	  "demo.yaml:9: driver-vms[0].devices[1].pci: '03:00.8' is not a PCI"
	  " address (DDDD:BB:DD.F or BB:DD.F, hex; device <= 1f, function"
	  " <= 7)" },
	{ "pci with a netns", BASE "      - pci: 03:00.0\n        netns: x\n",
	  "demo.yaml:10: driver-vms[0].devices[1].netns: only an emulated"
	  " device has a netns (pci 03:00.0 is passed through)" },
	{ "pci with a bridge", BASE "      - pci: 03:00.0\n        bridge: br0\n",
	  "demo.yaml:10: driver-vms[0].devices[1].bridge: only an emulated"
	  " device has a bridge (pci 03:00.0 is passed through)" },
	{ "pci with a mac", BASE "      - pci: 03:00.0\n"
	  "        mac: 52:54:00:00:00:02\n",
	  "demo.yaml:10: driver-vms[0].devices[1].mac: only an emulated device"
	  " takes a mac (a passed-through NIC keeps its own)" },
	{ "pci address twice", BASE "      - pci: 03:00.0\n"
	  "    uplink: {mac: 52:54:00:00:00:01}\n"
	  DRIVER2("      - pci: 0000:03:00.0\n"),
	  "demo.yaml:14: driver-vms[1].devices[0].pci: '0000:03:00.0' is"
	  " already used at driver-vms[0].devices[1].pci" },
	{ "emulated without netns", BASE "      - emulated: igb\n",
	  "demo.yaml:9: driver-vms[0].devices[1].netns: missing; an emulated"
	  " device needs the network namespace its tap lives in" },
	{ "bad netns", BASE "      - emulated: igb\n        netns: bk/out\n",
	  "demo.yaml:10: driver-vms[0].devices[1].netns: 'bk/out' is not a"
	  " namespace name (1..32 of A-Z a-z 0-9 _ . -)" },
	{ "netns too long", BASE "      - emulated: igb\n"
	  "        netns: bk-0123456789-0123456789-01234567\n",
	  "demo.yaml:10: driver-vms[0].devices[1].netns: 'bk-0123456789-"
	  "0123456789-01234567' is not a namespace name (1..32 of A-Z a-z 0-9"
	  " _ . -)" },
	{ "netns ..", BASE "      - emulated: igb\n        netns: ..\n",
	  "demo.yaml:10: driver-vms[0].devices[1].netns: '..' is not a"
	  " namespace name (1..32 of A-Z a-z 0-9 _ . -)" },
	{ "bad bridge", BASE "      - emulated: igb\n        netns: x\n"
	  "        bridge: br-0123456789abc\n",
	  "demo.yaml:11: driver-vms[0].devices[1].bridge: 'br-0123456789abc' is"
	  " not an interface name (1..15 of A-Z a-z 0-9 _ . -)" },
	{ "device mac twice", BASE "      - emulated: igb\n        netns: x\n"
	  "        mac: 52:54:00:00:00:01\n",
	  "demo.yaml:11: driver-vms[0].devices[1].mac: '52:54:00:00:00:01' is"
	  " already used at driver-vms[0].devices[0].mac" },
	{ "bad device mac", BASE "      - emulated: igb\n        netns: x\n"
	  "        mac: 52:54:00:00:00\n",
	  "demo.yaml:11: driver-vms[0].devices[1].mac: '52:54:00:00:00' is not"
	  " a MAC address (xx:xx:xx:xx:xx:xx)" },
	{ "uplink mac of no device", BASE "    uplink:\n"
	  "      mac: 52:54:00:00:00:02\n",
	  "demo.yaml:10: driver-vms[0].uplink.mac: '52:54:00:00:00:02' is not"
	  " the mac of any of sys-net's devices" },
	{ "uplink mac (pci) used elsewhere", BASE DRIVER2(
	  "      - pci: 03:00.0\n"
	  "    uplink: {mac: 52:54:00:00:00:01}\n"),
	  "demo.yaml:13: driver-vms[1].uplink.mac: '52:54:00:00:00:01' is"
	  " already used at driver-vms[0].devices[0].mac" },
	{ "dhcp with an address", BASE "    uplink:\n      mode: dhcp\n"
	  "      address: 192.168.1.2/24\n",
	  "demo.yaml:11: driver-vms[0].uplink.address: only with mode: static"
	  " (dhcp takes the lease's)" },
	{ "dhcp with a gateway", BASE "    uplink:\n      gateway: 192.168.1.1\n",
	  "demo.yaml:10: driver-vms[0].uplink.gateway: only with mode: static"
	  " (dhcp takes the lease's)" },
	{ "dhcp with dns", BASE "    uplink:\n      dns: [1.1.1.1]\n",
	  "demo.yaml:10: driver-vms[0].uplink.dns: only with mode: static"
	  " (dhcp hands on the lease's)" },
	{ "static without address", BASE "    uplink:\n      mode: static\n"
	  "      gateway: 192.168.1.1\n",
	  "demo.yaml:9: driver-vms[0].uplink.address: missing; mode: static"
	  " needs address and gateway" },
	{ "static without gateway", BASE "    uplink:\n      mode: static\n"
	  "      address: 192.168.1.2/24\n",
	  "demo.yaml:9: driver-vms[0].uplink.gateway: missing; mode: static"
	  " needs address and gateway" },
	{ "static /31", BASE "    uplink:\n      mode: static\n"
	  "      address: 192.168.1.2/31\n      gateway: 192.168.1.3\n",
	  "demo.yaml:11: driver-vms[0].uplink.address: '192.168.1.2/31':"
	  " prefix length 31 is not in 1..30" },
	{ "static address is the network", BASE "    uplink:\n"
	  "      mode: static\n      address: 192.168.1.0/24\n"
	  "      gateway: 192.168.1.1\n",
	  "demo.yaml:11: driver-vms[0].uplink.address: '192.168.1.0/24' is the"
	  " network address of 192.168.1.0/24" },
	{ "static gateway outside", BASE "    uplink:\n      mode: static\n"
	  "      address: 192.168.1.2/24\n      gateway: 192.168.2.1\n",
	  "demo.yaml:12: driver-vms[0].uplink.gateway: '192.168.2.1' is outside"
	  " 192.168.1.0/24" },
	{ "static gateway is the address", BASE "    uplink:\n"
	  "      mode: static\n      address: 192.168.1.2/24\n"
	  "      gateway: 192.168.1.2\n",
	  "demo.yaml:12: driver-vms[0].uplink.gateway: '192.168.1.2' is the"
	  " uplink's own address" },
	{ "static gateway not a dotted quad", BASE "    uplink:\n"
	  "      mode: static\n      address: 192.168.1.2/24\n"
	  "      gateway: 192.168.1\n",
	  "demo.yaml:12: driver-vms[0].uplink.gateway: '192.168.1' is not an"
	  " IPv4 address (A.B.C.D, 0..255, no leading zeros)" },
	{ "bad dns server", BASE "    uplink:\n      mode: static\n"
	  "      address: 192.168.1.2/24\n      gateway: 192.168.1.1\n"
	  "      dns:\n        - 1.1.1.1\n        - 8.8.08.8\n",
	  "demo.yaml:15: driver-vms[0].uplink.dns[1]: '8.8.08.8' is not an IPv4"
	  " address (A.B.C.D, 0..255, no leading zeros)" },

	/* The uplink's IPv6. */
	{ "dhcp with an address6", BASE "    uplink:\n      mode: dhcp\n"
	  "      address6: 2001:db8::2/64\n",
	  "demo.yaml:11: driver-vms[0].uplink.address6: only with mode: static"
	  " (dhcp takes IPv6 by SLAAC)" },
	{ "dhcp with a gateway6", BASE "    uplink:\n      gateway6: fe80::1\n",
	  "demo.yaml:10: driver-vms[0].uplink.gateway6: only with mode: static"
	  " (dhcp takes IPv6 by SLAAC)" },
	{ "address6 without gateway6", BASE "    uplink:\n      mode: static\n"
	  "      address: 192.168.1.2/24\n      gateway: 192.168.1.1\n"
	  "      address6: 2001:db8::2/64\n",
	  "demo.yaml:9: driver-vms[0].uplink.gateway6: missing; address6 needs"
	  " gateway6 (both or neither)" },
	{ "gateway6 without address6", BASE "    uplink:\n      mode: static\n"
	  "      address: 192.168.1.2/24\n      gateway: 192.168.1.1\n"
	  "      gateway6: fe80::1\n",
	  "demo.yaml:9: driver-vms[0].uplink.address6: missing; gateway6 needs"
	  " address6 (both or neither)" },
	{ "address6 without prefix", BASE STATIC6("2001:db8::2", "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: '2001:db8::2' is not"
	  " ADDRESS/PREFIX" },
	{ "address6 is IPv4", BASE STATIC6("192.168.1.2/24", "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: '192.168.1.2/24': the"
	  " address is not IPv6 (" IP6_SYNTAX ")" },
	{ "address6 with two ::", BASE STATIC6("2001::db8::2/64", "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: '2001::db8::2/64': the"
	  " address is not IPv6 (" IP6_SYNTAX ")" },
	{ "address6 with a zone", BASE STATIC6("fe80::2%eth0/64", "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: 'fe80::2%eth0/64': the"
	  " address is not IPv6 (" IP6_SYNTAX ")" },
	{ "address6 prefix 129", BASE STATIC6("2001:db8::2/129", "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: '2001:db8::2/129': the"
	  " prefix length is not a number 0..128" },
	{ "address6 prefix with a leading zero", BASE STATIC6("2001:db8::2/064",
							      "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: '2001:db8::2/064': the"
	  " prefix length is not a number 0..128" },
	{ "address6 /128", BASE STATIC6("2001:db8::2/128", "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: '2001:db8::2/128':"
	  " prefix length 128 is not in 1..127" },
	{ "address6 /0", BASE STATIC6("2001:db8::2/0", "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: '2001:db8::2/0': prefix"
	  " length 0 is not in 1..127" },
	{ "address6 link-local", BASE STATIC6("fe80::2/64", "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: 'fe80::2/64' is not"
	  " global unicast (2000::/3) or unique local (fc00::/7)" },
	{ "address6 just past fc00::/7", BASE STATIC6("fe00::2/64", "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: 'fe00::2/64' is not"
	  " global unicast (2000::/3) or unique local (fc00::/7)" },
	{ "address6 just below 2000::/3", BASE STATIC6("1fff:ffff::2/32",
						       "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: '1fff:ffff::2/32' is not"
	  " global unicast (2000::/3) or unique local (fc00::/7)" },
	{ "address6 is the network", BASE STATIC6("2001:db8:0:1::/64",
						  "fe80::1"),
	  "demo.yaml:13: driver-vms[0].uplink.address6: '2001:db8:0:1::/64' is"
	  " the network address of 2001:db8:0:1::/64" },
	{ "gateway6 is IPv4", BASE STATIC6("2001:db8::2/64", "192.168.1.1"),
	  "demo.yaml:14: driver-vms[0].uplink.gateway6: '192.168.1.1' is not an"
	  " IPv6 address (" IP6_SYNTAX ")" },
	{ "gateway6 with a prefix", BASE STATIC6("2001:db8::2/64", "fe80::1/64"),
	  "demo.yaml:14: driver-vms[0].uplink.gateway6: 'fe80::1/64' is not an"
	  " IPv6 address (" IP6_SYNTAX ")" },
	{ "gateway6 multicast", BASE STATIC6("2001:db8::2/64", "ff02::2"),
	  "demo.yaml:14: driver-vms[0].uplink.gateway6: 'ff02::2' is not a"
	  " unicast address (2000::/3, fc00::/7 or link-local fe80::/10)" },
	{ "gateway6 unspecified", BASE STATIC6("2001:db8::2/64", "\"::\""),
	  "demo.yaml:14: driver-vms[0].uplink.gateway6: '::' is not a unicast"
	  " address (2000::/3, fc00::/7 or link-local fe80::/10)" },
	{ "gateway6 outside address6's network", BASE STATIC6("2001:db8::2/64",
							      "2001:db8:1::1"),
	  "demo.yaml:14: driver-vms[0].uplink.gateway6: '2001:db8:1::1' is"
	  " outside 2001:db8::/64 (or give the router's link-local fe80::"
	  " address)" },
	{ "gateway6 is the address6", BASE STATIC6("2001:db8::2/64",
						   "2001:DB8:0::0002"),
	  "demo.yaml:14: driver-vms[0].uplink.gateway6: '2001:DB8:0::0002' is"
	  " the uplink's own address6" },

	/* App VMs. */
	{ "bad image name", BASE WORK "    image: App\n",
	  "demo.yaml:14: app-vms[0].image: 'App' is not an image name (a-z,"
	  " then a-z, 0-9 or '-'; at most 13 characters)" },
	{ "unknown driver VM", BASE "app-vms:\n  - name: work\n"
	  "    net: sysnet\n    mac: 52:54:00:a0:00:01\n    ip: 10.200.1.2/24\n",
	  "demo.yaml:11: app-vms[0].net: no driver VM named 'sysnet' (driver"
	  " VMs: sys-net)" },
	{ "bad app mac", BASE "app-vms:\n  - name: work\n    net: sys-net\n"
	  "    mac: 52:54:zz:00:00:01\n    ip: 10.200.1.2/24\n",
	  "demo.yaml:12: app-vms[0].mac: '52:54:zz:00:00:01' is not a MAC"
	  " address (xx:xx:xx:xx:xx:xx)" },
	{ "mac too long", BASE "app-vms:\n  - name: work\n    net: sys-net\n"
	  "    mac: 52:54:00:a0:00:01:02\n    ip: 10.200.1.2/24\n",
	  "demo.yaml:12: app-vms[0].mac: '52:54:00:a0:00:01:02' is not a MAC"
	  " address (xx:xx:xx:xx:xx:xx)" },
	{ "mac with dashes", BASE "app-vms:\n  - name: work\n    net: sys-net\n"
	  "    mac: 52-54-00-a0-00-01\n    ip: 10.200.1.2/24\n",
	  "demo.yaml:12: app-vms[0].mac: '52-54-00-a0-00-01' is not a MAC"
	  " address (xx:xx:xx:xx:xx:xx)" },
	{ "multicast mac", BASE "app-vms:\n  - name: work\n    net: sys-net\n"
	  "    mac: 01:00:5e:00:00:01\n    ip: 10.200.1.2/24\n",
	  "demo.yaml:12: app-vms[0].mac: '01:00:5e:00:00:01' is a multicast"
	  " address (low bit of the first octet set)" },
	{ "zero mac", BASE "app-vms:\n  - name: work\n    net: sys-net\n"
	  "    mac: 00:00:00:00:00:00\n    ip: 10.200.1.2/24\n",
	  "demo.yaml:12: app-vms[0].mac: '00:00:00:00:00:00' is all zeros" },
	{ "mac twice, other case", BASE WORK APP("personal", "52:54:00:A0:00:01",
						 "10.200.2.2/24"),
	  "demo.yaml:16: app-vms[1].mac: '52:54:00:a0:00:01' is already used at"
	  " app-vms[0].mac" },
	{ "ip without prefix", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    mac: 52:54:00:a0:00:01\n    ip: 10.200.1.2\n",
	  "demo.yaml:13: app-vms[0].ip: '10.200.1.2' is not ADDRESS/PREFIX" },
	{ "ip with a leading zero", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    mac: 52:54:00:a0:00:01\n"
	  "    ip: 10.200.01.2/24\n",
	  "demo.yaml:13: app-vms[0].ip: '10.200.01.2/24': the address is not"
	  " A.B.C.D (0..255, no leading zeros)" },
	{ "ip octet over 255", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    mac: 52:54:00:a0:00:01\n"
	  "    ip: 10.256.1.2/24\n",
	  "demo.yaml:13: app-vms[0].ip: '10.256.1.2/24': the address is not"
	  " A.B.C.D (0..255, no leading zeros)" },
	{ "ip prefix not a number", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    mac: 52:54:00:a0:00:01\n"
	  "    ip: 10.200.1.2/33\n",
	  "demo.yaml:13: app-vms[0].ip: '10.200.1.2/33': the prefix length is"
	  " not a number 0..32" },
	{ "ip prefix /31", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    mac: 52:54:00:a0:00:01\n"
	  "    ip: 10.200.1.2/31\n",
	  "demo.yaml:13: app-vms[0].ip: '10.200.1.2/31': prefix length 31 is"
	  " not in 8..30" },
	{ "ip prefix /7", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    mac: 52:54:00:a0:00:01\n"
	  "    ip: 10.200.1.2/7\n",
	  "demo.yaml:13: app-vms[0].ip: '10.200.1.2/7': prefix length 7 is not"
	  " in 8..30" },
	{ "ip is the network", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    mac: 52:54:00:a0:00:01\n"
	  "    ip: 10.200.1.0/24\n",
	  "demo.yaml:13: app-vms[0].ip: '10.200.1.0/24' is the network address"
	  " of 10.200.1.0/24" },
	{ "ip is the broadcast", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    mac: 52:54:00:a0:00:01\n"
	  "    ip: 10.200.1.255/24\n",
	  "demo.yaml:13: app-vms[0].ip: '10.200.1.255/24' is the broadcast"
	  " address of 10.200.1.0/24" },
	{ "ip is loopback", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    mac: 52:54:00:a0:00:01\n"
	  "    ip: 127.0.0.2/8\n",
	  "demo.yaml:13: app-vms[0].ip: '127.0.0.2/8' is not a unicast host"
	  " address" },
	{ "gateway not a dotted quad", BASE WORK "    gateway: 10.200.1.1.1\n",
	  "demo.yaml:14: app-vms[0].gateway: '10.200.1.1.1' is not an IPv4"
	  " address (A.B.C.D, 0..255, no leading zeros)" },
	{ "gateway outside the subnet", BASE WORK "    gateway: 10.200.2.1\n",
	  "demo.yaml:14: app-vms[0].gateway: '10.200.2.1' is outside"
	  " 10.200.1.0/24" },
	{ "gateway is the broadcast", BASE WORK "    gateway: 10.200.1.255\n",
	  "demo.yaml:14: app-vms[0].gateway: '10.200.1.255' is the broadcast"
	  " address of 10.200.1.0/24" },
	{ "gateway is the ip", BASE WORK "    gateway: 10.200.1.2\n",
	  "demo.yaml:14: app-vms[0].gateway: '10.200.1.2' is the ip's own"
	  " address" },
	{ "default gateway is the ip", BASE "app-vms:\n  - name: work\n"
	  "    net: sys-net\n    mac: 52:54:00:a0:00:01\n"
	  "    ip: 10.200.1.1/24\n",
	  "demo.yaml:10: app-vms[0].gateway: missing, and the default (the"
	  " first host, 10.200.1.1) is the ip itself" },
	{ "overlapping subnets", BASE WORK APP("personal", "52:54:00:a0:00:02",
					       "10.200.0.2/16"),
	  "demo.yaml:17: app-vms[1].ip: 10.200.0.0/16 overlaps 10.200.1.0/24 of"
	  " app-vms[0].ip (both on sys-net)" },
	{ "subnet overlaps the uplink", BASE "    uplink:\n      mode: static\n"
	  "      address: 10.200.1.200/24\n      gateway: 10.200.1.1\n" WORK,
	  "demo.yaml:17: app-vms[0].ip: 10.200.1.0/24 overlaps 10.200.1.0/24 of"
	  " driver-vms[0].uplink.address (both on sys-net)" },
	{ "app ipv6 neither auto, off nor a network", BASE WORK6("on"),
	  "demo.yaml:14: app-vms[0].ipv6: 'on' is not auto, off or an IPv6"
	  " network X::/64" },
	{ "app ipv6 an address", BASE WORK6("fd00::1"),
	  "demo.yaml:14: app-vms[0].ipv6: 'fd00::1' is not auto, off or an IPv6"
	  " network X::/64" },
	{ "app ipv6 not IPv6", BASE WORK6("fd00::g/64"),
	  "demo.yaml:14: app-vms[0].ipv6: 'fd00::g/64': the address is not IPv6"
	  " (" IP6_SYNTAX ")" },
	{ "app ipv6 prefix not a number", BASE WORK6("fd00::/6x"),
	  "demo.yaml:14: app-vms[0].ipv6: 'fd00::/6x': the prefix length is not"
	  " a number 0..128" },
	{ "app ipv6 /48", BASE WORK6("fd00::/48"),
	  "demo.yaml:14: app-vms[0].ipv6: 'fd00::/48': prefix length 48; an app"
	  " VM's network is a /64 (SLAAC)" },
	{ "app ipv6 /65", BASE WORK6("fd00::/65"),
	  "demo.yaml:14: app-vms[0].ipv6: 'fd00::/65': prefix length 65; an app"
	  " VM's network is a /64 (SLAAC)" },
	{ "app ipv6 with host bits", BASE WORK6("fd00:0:0:1::1/64"),
	  "demo.yaml:14: app-vms[0].ipv6: 'fd00:0:0:1::1/64' has host bits set"
	  " (the network is fd00:0:0:1::/64)" },
	{ "app ipv6 link-local", BASE WORK6("fe80::/64"),
	  "demo.yaml:14: app-vms[0].ipv6: 'fe80::/64' is not global unicast"
	  " (2000::/3) or unique local (fc00::/7)" },
	{ "app ipv6 just past 2000::/3", BASE WORK6("4000::/64"),
	  "demo.yaml:14: app-vms[0].ipv6: '4000::/64' is not global unicast"
	  " (2000::/3) or unique local (fc00::/7)" },
	{ "app ipv6 networks overlap", BASE WORK6("fd00:0:0:1::/64")
	  APP("personal", "52:54:00:a0:00:02", "10.200.2.2/24")
	  "    ipv6: FD00:0000:0:1::/64\n",
	  "demo.yaml:19: app-vms[1].ipv6: fd00:0:0:1::/64 overlaps"
	  " fd00:0:0:1::/64 of app-vms[0].ipv6 (both on sys-net)" },
	{ "app ipv6 inside the uplink's", BASE STATIC6("2001:db8::2/48",
						      "fe80::1")
	  WORK "    ipv6: 2001:db8:0:5::/64\n",
	  "demo.yaml:20: app-vms[0].ipv6: 2001:db8:0:5::/64 overlaps"
	  " 2001:db8::/48 of driver-vms[0].uplink.address6 (both on sys-net)" },
	{ "dst not a network", BASE WORK "    firewall:\n      rules:\n"
	  "        - {action: deny, dst: 10.0.0.1}\n",
	  "demo.yaml:16: app-vms[0].firewall.rules[0].dst: '10.0.0.1' is not"
	  " ADDRESS/PREFIX" },
	{ "dst with host bits", BASE WORK "    firewall:\n      rules:\n"
	  "        - {action: deny, dst: 10.1.0.0/8}\n",
	  "demo.yaml:16: app-vms[0].firewall.rules[0].dst: '10.1.0.0/8' has"
	  " host bits set (the network is 10.0.0.0/8)" },
	{ "dst /0 with host bits", BASE WORK "    firewall:\n      rules:\n"
	  "        - {action: deny, dst: 10.0.0.0/0}\n",
	  "demo.yaml:16: app-vms[0].firewall.rules[0].dst: '10.0.0.0/0' has"
	  " host bits set (the network is 0.0.0.0/0)" },
	{ "IPv6 dst not a network", BASE WORK_DST("2001:db8::1"),
	  "demo.yaml:16: app-vms[0].firewall.rules[0].dst: '2001:db8::1' is not"
	  " ADDRESS/PREFIX" },
	{ "IPv6 dst not IPv6", BASE WORK_DST("2001:db8:::/32"),
	  "demo.yaml:16: app-vms[0].firewall.rules[0].dst: '2001:db8:::/32': the"
	  " address is not IPv6 (" IP6_SYNTAX ")" },
	{ "IPv6 dst prefix 129", BASE WORK_DST("2001:db8::/129"),
	  "demo.yaml:16: app-vms[0].firewall.rules[0].dst: '2001:db8::/129': the"
	  " prefix length is not a number 0..128" },
	{ "IPv6 dst with host bits", BASE WORK_DST("2001:db8::1/32"),
	  "demo.yaml:16: app-vms[0].firewall.rules[0].dst: '2001:db8::1/32' has"
	  " host bits set (the network is 2001:db8::/32)" },
	{ "IPv6 dst /127 with host bits", BASE WORK_DST("2001:db8::1/127"),
	  "demo.yaml:16: app-vms[0].firewall.rules[0].dst: '2001:db8::1/127' has"
	  " host bits set (the network is 2001:db8::/127)" },
	{ "IPv6 dst /0 with host bits", BASE WORK_DST("::1/0"),
	  "demo.yaml:16: app-vms[0].firewall.rules[0].dst: '::1/0' has host bits"
	  " set (the network is ::/0)" },
	{ "port without proto", BASE WORK "    firewall:\n      rules:\n"
	  "        - {action: allow, port: 443}\n",
	  "demo.yaml:16: app-vms[0].firewall.rules[0].port: '443' needs proto:"
	  " tcp or udp" },
	{ "port with icmp", BASE WORK "    firewall:\n      rules:\n"
	  "        - {action: allow, proto: icmp, port: 443}\n",
	  "demo.yaml:16: app-vms[0].firewall.rules[0].port: '443' needs proto:"
	  " tcp or udp" },
	{ "port 0", BASE WORK "    firewall:\n      rules:\n"
	  "        - action: allow\n          proto: tcp\n          port: 0\n",
	  "demo.yaml:18: app-vms[0].firewall.rules[0].port: '0' is not a port"
	  " (1..65535) or a range P-Q" },
	{ "port 65536", BASE WORK "    firewall:\n      rules:\n"
	  "        - {action: allow, proto: udp, port: 1-65536}\n",
	  "demo.yaml:16: app-vms[0].firewall.rules[0].port: '1-65536' is not a"
	  " port (1..65535) or a range P-Q" },
	{ "empty port range", BASE WORK "    firewall:\n      rules:\n"
	  "        - {action: allow, proto: tcp, port: 90-80}\n",
	  "demo.yaml:16: app-vms[0].firewall.rules[0].port: '90-80' is an empty"
	  " range" },
	{ "rule without action", BASE WORK "    firewall:\n      rules:\n"
	  "        - {proto: tcp, port: 80}\n",
	  "demo.yaml:16: app-vms[0].firewall.rules[0].action: missing"
	  " (required)" },

	/* Talk pairs. */
	{ "talk names no app VM", BASE WORK "talk:\n  - [work, home]\n",
	  "demo.yaml:15: talk[0][1]: no app VM named 'home' (app VMs: work)" },
	{ "talk with itself", BASE WORK "talk:\n  - [work, work]\n",
	  "demo.yaml:15: talk[0]: 'work' with itself; a pair is two app VMs" },
	{ "talk across driver VMs", HEAD SYSNET DRIVER2("      - pci: 03:00.0\n")
	  WORK "  - name: lab\n    net: sys-net2\n    mac: 52:54:00:a0:00:02\n"
	  "    ip: 10.200.2.2/24\ntalk:\n  - [lab, work]\n",
	  "demo.yaml:23: talk[0]: lab is on sys-net2, work on sys-net; only app"
	  " VMs of one driver VM can talk" },
	{ "talk pair twice", BASE WORK APP("personal", "52:54:00:a0:00:02",
					   "10.200.2.2/24")
	  "talk:\n  - [work, personal]\n  - [personal, work]\n",
	  "demo.yaml:20: talk[1]: personal and work are already a pair at"
	  " talk[0]" },

	/* The host port. */
	{ "host port on no driver VM", BASE WORK "host-port:\n  net: sysnet\n"
	  "  mac: 52:54:00:b0:00:01\n  ip: 10.200.9.2/30\n",
	  "demo.yaml:15: host-port.net: no driver VM named 'sysnet' (driver"
	  " VMs: sys-net)" },
	{ "host port mac twice", BASE WORK "host-port:\n  net: sys-net\n"
	  "  mac: 52:54:00:a0:00:01\n  ip: 10.200.9.2/30\n",
	  "demo.yaml:16: host-port.mac: '52:54:00:a0:00:01' is already used at"
	  " app-vms[0].mac" },
	{ "host port subnet overlaps", BASE WORK "host-port:\n  net: sys-net\n"
	  "  mac: 52:54:00:b0:00:01\n  ip: 10.200.1.10/30\n",
	  "demo.yaml:17: host-port.ip: 10.200.1.8/30 overlaps 10.200.1.0/24 of"
	  " app-vms[0].ip (both on sys-net)" },
	{ "host port gateway outside", BASE WORK "host-port:\n  net: sys-net\n"
	  "  mac: 52:54:00:b0:00:01\n  ip: 10.200.9.2/30\n"
	  "  gateway: 10.200.9.5\n",
	  "demo.yaml:18: host-port.gateway: '10.200.9.5' is outside"
	  " 10.200.9.0/30" },
	{ "host port netns not a name", BASE WORK "host-port:\n  net: sys-net\n"
	  "  mac: 52:54:00:b0:00:01\n  ip: 10.200.9.2/30\n  netns: a/b\n",
	  "demo.yaml:18: host-port.netns: 'a/b' is not a namespace name (1..32"
	  " of A-Z a-z 0-9 _ . -)" },
	{ "host port default-route not a boolean", BASE WORK "host-port:\n"
	  "  net: sys-net\n  mac: 52:54:00:b0:00:01\n  ip: 10.200.9.2/30\n"
	  "  default-route: maybe\n",
	  "demo.yaml:18: host-port.default-route: 'maybe' is not one of true,"
	  " false, yes, no, on, off" },

	/* App VMs on a template (docs/templates.md); WORK2's fields end on
	 * line 14. */
	{ "v2: template and image", HEAD2 SYSNET WORK2("sys-net")
	  "    template: debian\n    image: app\n",
	  "demo.yaml:15: app-vms[0].template: 'debian' and image 'app' both; an"
	  " app VM boots one of them" },
	{ "v2: private without a template", HEAD2 SYSNET WORK2("sys-net")
	  "    private: 1G\n",
	  "demo.yaml:15: app-vms[0].private: only an app VM on a template has a"
	  " private volume; add template: debian" },
	{ "v2: disposable without a template", HEAD2 SYSNET WORK2("sys-net")
	  "    disposable: true\n",
	  "demo.yaml:15: app-vms[0].disposable: only an app VM on a template has"
	  " a disposable mode; add template: debian" },
	{ "v2: display without a template", HEAD2 SYSNET WORK2("sys-net")
	  "    display: true\n",
	  "demo.yaml:15: app-vms[0].display: only an app VM on a template has a"
	  " display; add template: debian or disk: PATH" },
	{ "v2: bad template name", HEAD2 SYSNET WORK2("sys-net")
	  "    template: Debian/12\n",
	  "demo.yaml:15: app-vms[0].template: 'Debian/12' is not a template name"
	  " (a-z, then a-z, 0-9 or '-'; at most 32 characters)" },
	/* Longer than a VM's name may be (debian-desktop is 14), not longer
	 * than a template's. */
	{ "v2: template name too long", HEAD2 SYSNET WORK2("sys-net")
	  "    template: debian-desktop-and-then-some-more\n",
	  "demo.yaml:15: app-vms[0].template: 'debian-desktop-and-then-some-more'"
	  " is not a template name (a-z, then a-z, 0-9 or '-'; at most 32"
	  " characters)" },
	{ "v2: private too small", HEAD2 SYSNET WORK2("sys-net")
	  "    template: debian\n    private: 10M\n",
	  "demo.yaml:16: app-vms[0].private: '10M' is too small for a private"
	  " volume (at least 64M)" },
	{ "v2: private not a size", HEAD2 SYSNET WORK2("sys-net")
	  "    template: debian\n    private: lots\n",
	  "demo.yaml:16: app-vms[0].private: 'lots' is not a size (a number and"
	  " M, G or T: 512M, 2G)" },
	{ "v2: disposable not a boolean", HEAD2 SYSNET WORK2("sys-net")
	  "    template: debian\n    disposable: maybe\n",
	  "demo.yaml:16: app-vms[0].disposable: 'maybe' is not one of true,"
	  " false, yes, no, on, off" },
	{ "v2: preload without disposable", HEAD2 SYSNET WORK2("sys-net")
	  "    template: debian\n    preload: true\n",
	  "demo.yaml:16: app-vms[0].preload: only a disposable is preloaded"
	  " (its pool); add disposable: true" },
	{ "v2: preload not started by up", HEAD2 SYSNET WORK2("sys-net")
	  "    template: debian\n    disposable: true\n    preload: true\n"
	  "    autostart: false\n",
	  "demo.yaml:17: app-vms[0].preload: a preloaded disposable is booted"
	  " by up and kept paused; autostart: false says the opposite" },

	/* App VMs on an image of their own (docs/templates.md "Bring your own
	 * image"). */
	{ "v2: disk and image", HEAD2 SYSNET WORK2("sys-net")
	  "    disk: /srv/vm.qcow2\n    image: app\n",
	  "demo.yaml:15: app-vms[0].disk: '/srv/vm.qcow2' and image 'app' both;"
	  " an app VM boots one of them" },
	{ "v2: disk and template", HEAD2 SYSNET WORK2("sys-net")
	  "    template: debian\n    disk: /srv/vm.qcow2\n",
	  "demo.yaml:16: app-vms[0].disk: '/srv/vm.qcow2' and template 'debian'"
	  " both; an app VM boots one of them" },
	{ "v2: disk not absolute", HEAD2 SYSNET WORK2("sys-net")
	  "    disk: vm.qcow2\n",
	  "demo.yaml:15: app-vms[0].disk: 'vm.qcow2' is not an absolute path of"
	  " A-Z a-z 0-9 _ . - / (at most 255, no '..')" },
	{ "v2: disk with ..", HEAD2 SYSNET WORK2("sys-net")
	  "    disk: /srv/../etc/shadow\n",
	  "demo.yaml:15: app-vms[0].disk: '/srv/../etc/shadow' is not an absolute"
	  " path of A-Z a-z 0-9 _ . - / (at most 255, no '..')" },
	{ "v2: disk with private", HEAD2 SYSNET WORK2("sys-net")
	  "    disk: /srv/vm.qcow2\n    private: 1G\n",
	  "demo.yaml:16: app-vms[0].private: an app VM with its own disk has no"
	  " private volume: the disk is the VM's own persistent disk" },
	{ "v2: disk disposable", HEAD2 SYSNET WORK2("sys-net")
	  "    disposable: true\n    disk: /srv/vm.qcow2\n",
	  "demo.yaml:15: app-vms[0].disposable: an app VM with its own disk is"
	  " not disposable: the disk is the VM's own persistent disk"
	  " (disposables are template VMs')" },
	{ "v2: cloud_init without a disk", HEAD2 SYSNET WORK2("sys-net")
	  "    template: debian\n    cloud_init: {user: me}\n",
	  "demo.yaml:16: app-vms[0].cloud_init: only an app VM with its own disk"
	  " takes a cloud-init seed; add disk: PATH" },
	{ "v2: firmware without a disk", HEAD2 SYSNET WORK2("sys-net")
	  "    template: debian\n    firmware: uefi\n",
	  "demo.yaml:16: app-vms[0].firmware: only an app VM with its own disk"
	  " takes a firmware (the others boot their kernel directly); add disk:"
	  " PATH" },
	{ "v2: firmware of no known kind", HEAD2 SYSNET WORK2("sys-net")
	  "    disk: /srv/vm.qcow2\n    firmware: efi\n",
	  "demo.yaml:16: app-vms[0].firmware: 'efi' is not one of bios, uefi" },
	{ "v2: cloud_init user root", HEAD2 SYSNET WORK2("sys-net")
	  "    disk: /srv/vm.qcow2\n    cloud_init:\n      user: root\n",
	  "demo.yaml:17: app-vms[0].cloud_init.user: 'root' is not a user name"
	  " the seed may make (a-z or _, then a-z, 0-9, _ or -; at most 32; not"
	  " root)" },
	{ "v2: cloud_init user with a quote", HEAD2 SYSNET WORK2("sys-net")
	  "    disk: /srv/vm.qcow2\n    cloud_init:\n      user: \"a'b\"\n",
	  "demo.yaml:17: app-vms[0].cloud_init.user: 'a'b' is not a user name"
	  " the seed may make (a-z or _, then a-z, 0-9, _ or -; at most 32; not"
	  " root)" },
	{ "v2: ssh key of no known type", HEAD2 SYSNET WORK2("sys-net")
	  "    disk: /srv/vm.qcow2\n    cloud_init:\n      ssh_keys:\n"
	  "        - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoodKeyOfTheTest me\n"
	  "        - ssh-dss AAAAB3NzaC1kc3MAAACBAOldKeyTypeOfLongAgo me\n",
	  "demo.yaml:19: app-vms[0].cloud_init.ssh_keys[1]: 'ssh-dss"
	  " AAAAB3NzaC1kc3MAAACBAOldKeyTypeO...' is not an OpenSSH public"
	  " key line (TYPE BASE64 [COMMENT] in printable ASCII, at most 4096;"
	  " types ssh-ed25519, ssh-rsa, ecdsa-sha2-*, sk-*@openssh.com)" },
	{ "v2: ssh key of two lines", HEAD2 SYSNET WORK2("sys-net")
	  "    disk: /srv/vm.qcow2\n    cloud_init:\n      ssh_keys:\n"
	  "        - \"ssh-ed25519 AAAAC3NzaC1lZDI1\\nssh-rsa\"\n",
	  "demo.yaml:18: app-vms[0].cloud_init.ssh_keys[0]: 'ssh-ed25519"
	  " AAAAC3NzaC1lZDI1?ssh-rsa' is not an OpenSSH public"
	  " key line (TYPE BASE64 [COMMENT] in printable ASCII, at most 4096;"
	  " types ssh-ed25519, ssh-rsa, ecdsa-sha2-*, sk-*@openssh.com)" },
	{ "v2: ssh key with no key", HEAD2 SYSNET WORK2("sys-net")
	  "    disk: /srv/vm.qcow2\n    cloud_init:\n      ssh_keys: [ssh-rsa]\n",
	  "demo.yaml:17: app-vms[0].cloud_init.ssh_keys[0]: 'ssh-rsa' is not an"
	  " OpenSSH public key line (TYPE BASE64 [COMMENT] in printable ASCII, at"
	  " most 4096; types ssh-ed25519, ssh-rsa, ecdsa-sha2-*,"
	  " sk-*@openssh.com)" },
	{ "v2: disk with usb", HEAD2 SYSNET
	  "  - name: sys-usb\n    kind: usb\n    devices:\n"
	  "      - emulated: usb-kbd\n" WORK2("sys-net")
	  "    usb: {via: sys-usb}\n    disk: /srv/vm.qcow2\n",
	  "demo.yaml:19: app-vms[0].usb: an app VM with its own disk takes no USB"
	  " devices yet (bulkhead knows nothing of its image's USB/IP import)" },

	/* Version 2: the same checks, named at the fields as written. */
	{ "v2: net on no driver VM", HEAD2 SYSNET WORK2("sysnet"),
	  "demo.yaml:12: app-vms[0].net.via: no driver VM named 'sysnet'"
	  " (driver VMs: sys-net)" },
	{ "v2: bad mac", HEAD2 SYSNET "app-vms:\n  - name: work\n"
	  "    net: {via: sys-net, mac: 52:54:zz:00:00:01, ip: 10.0.0.2/24}\n",
	  "demo.yaml:11: app-vms[0].net.mac: '52:54:zz:00:00:01' is not a MAC"
	  " address (xx:xx:xx:xx:xx:xx)" },
	{ "v2: firewall rule", HEAD2 SYSNET WORK2("sys-net")
	  "      firewall:\n        rules:\n          - {action: deny,"
	  " dst: 10.0.0.1/8}\n",
	  "demo.yaml:17: app-vms[0].net.firewall.rules[0].dst: '10.0.0.1/8' has"
	  " host bits set (the network is 10.0.0.0/8)" },
	{ "v2: version 1's flat net", HEAD2 SYSNET WORK,
	  "demo.yaml:11: app-vms[0].net: expected a mapping (key: value), got"
	  " 'sys-net'" },
	{ "v2: no net", HEAD2 SYSNET "app-vms:\n  - name: work\n",
	  "demo.yaml:10: app-vms[0].net: missing (required)" },
	{ "v2: net without via", HEAD2 SYSNET "app-vms:\n  - name: work\n"
	  "    net: {mac: 52:54:00:a0:00:01, ip: 10.0.0.2/24}\n",
	  "demo.yaml:11: app-vms[0].net.via: missing (required)" },
	{ "v2: usb on no driver VM", HEAD2 SYSNET WORK2("sys-net")
	  "    usb: {via: sys-usb}\n",
	  "demo.yaml:15: app-vms[0].usb.via: no driver VM named 'sys-usb'"
	  " (driver VMs: sys-net)" },
	{ "v2: usb pin with two keys", HEAD2 SYSNET WORK2("sys-net")
	  "    usb: {via: sys-net, pin: [{vidpid: 46f4:0001, port: 1-1}]}\n",
	  "demo.yaml:15: app-vms[0].usb.pin[0]: more than one key; a pin is one"
	  " of vidpid, serial, port" },
	{ "v2: usb pin with no key", HEAD2 SYSNET WORK2("sys-net")
	  "    usb: {via: sys-net, pin: [{}]}\n",
	  "demo.yaml:15: app-vms[0].usb.pin[0]: no key; a pin is one of vidpid,"
	  " serial, port" },
	{ "v2: usb pin vidpid", HEAD2 SYSNET WORK2("sys-net")
	  "    usb: {via: sys-net, pin: [{vidpid: 46f4-0001}]}\n",
	  "demo.yaml:15: app-vms[0].usb.pin[0].vidpid: '46f4-0001' is not"
	  " VVVV:PPPP (vendor and product, 4 hex digits each)" },
	{ "v2: usb pin port", HEAD2 SYSNET WORK2("sys-net")
	  "    usb: {via: sys-net, pin: [{port: '1-'}]}\n",
	  "demo.yaml:15: app-vms[0].usb.pin[0].port: '1-' is not a USB port (a"
	  " bus id as sys-usb lists it: 1-2, 3-1.4)" },
	{ "v2: usb pin port too deep", HEAD2 SYSNET WORK2("sys-net")
	  "    usb: {via: sys-net, pin: [{port: 1-1.2.3.4.5.6}]}\n",
	  "demo.yaml:15: app-vms[0].usb.pin[0].port: '1-1.2.3.4.5.6' is not a USB"
	  " port (a bus id as sys-usb lists it: 1-2, 3-1.4)" },
	{ "v2: usb pin serial", HEAD2 SYSNET WORK2("sys-net")
	  "    usb: {via: sys-net, pin: [{serial: 'a b'}]}\n",
	  "demo.yaml:15: app-vms[0].usb.pin[0].serial: 'a b' is not a serial"
	  " (1..64 of A-Z a-z 0-9 . _ -)" },
	{ "v2: usb pin on two app VMs", HEAD2 SYSNET WORK2("sys-net")
	  "    usb: {via: sys-net, pin: [{vidpid: 46F4:0001}]}\n"
	  "  - name: mail\n"
	  "    net: {via: sys-net, mac: 52:54:00:a0:00:02, ip: 10.200.2.2/24}\n"
	  "    usb: {via: sys-net, pin: [{vidpid: 46f4:0001}]}\n",
	  "demo.yaml:18: app-vms[1].usb.pin[0].vidpid: '46f4:0001' is already"
	  " used at app-vms[0].usb.pin[0].vidpid" },
	{ "v2: usb-kbd with a file", HEAD2 STORAGE_VM("{emulated: usb-kbd, file: /k}")
	  WORK2("sys-st"),
	  "demo.yaml:6: driver-vms[0].devices[0].file: only an emulated disk"
	  " (nvme, usb-storage) has a disk file; usb-kbd is an input device" },
	{ "v2: usb-tablet with a netns", HEAD2
	  STORAGE_VM("{emulated: usb-tablet, netns: x}") WORK2("sys-st"),
	  "demo.yaml:6: driver-vms[0].devices[0].netns: only an emulated NIC"
	  " has a netns; usb-tablet is an input device" },
	{ "v2: usb-storage without size", HEAD2
	  STORAGE_VM("{emulated: usb-storage, file: /s.raw}") WORK2("sys-st"),
	  "demo.yaml:6: driver-vms[0].devices[0].size: missing; the disk's size"
	  " (made, sparse, when the file is missing)" },
	{ "v2: input policy", HEAD2 STORAGE_VM("{emulated: usb-kbd}")
	  "    input: {keyboard: yes}\n" WORK2("sys-st"),
	  "demo.yaml:7: driver-vms[0].input.keyboard: 'yes' is not one of allow,"
	  " deny" },
	{ "v2: storage unknown key", HEAD2 SYSNET WORK2("sys-net")
	  "    storage: {via: sys-net, disk: a}\n",
	  "demo.yaml:15: app-vms[0].storage.disk: unknown key (known: via, size)" },
	{ "v2: storage size", HEAD2 SYSNET WORK2("sys-net")
	  "    storage: {via: sys-net, size: 2X}\n",
	  "demo.yaml:15: app-vms[0].storage.size: '2X' is not a size (a number"
	  " and M, G or T: 512M, 2G)" },
	{ "v2: storage size 0", HEAD2 SYSNET WORK2("sys-net")
	  "    storage: {via: sys-net, size: 0G}\n",
	  "demo.yaml:15: app-vms[0].storage.size: '0G' is not in 1M..1T" },
	{ "v2: storage size over 1T", HEAD2 SYSNET WORK2("sys-net")
	  "    storage: {via: sys-net, size: 1025G}\n",
	  "demo.yaml:15: app-vms[0].storage.size: '1025G' is not in 1M..1T" },
	{ "v2: storage size digits", HEAD2 SYSNET WORK2("sys-net")
	  "    storage: {via: sys-net, size: 999999999999M}\n",
	  "demo.yaml:15: app-vms[0].storage.size: '999999999999M' is not a size"
	  " (a number and M, G or T: 512M, 2G)" },
	{ "v2: nvme without file", HEAD2 STORAGE_VM("{emulated: nvme, size: 1G}")
	  WORK2("sys-st"),
	  "demo.yaml:6: driver-vms[0].devices[0].file: missing; an emulated"
	  " disk controller or stick needs the host file that is its disk" },
	{ "v2: nvme relative file", HEAD2
	  STORAGE_VM("{emulated: nvme, file: d.raw, size: 1G}") WORK2("sys-st"),
	  "demo.yaml:6: driver-vms[0].devices[0].file: 'd.raw' is not an"
	  " absolute path of A-Z a-z 0-9 _ . - / (at most 255, no '..')" },
	{ "v2: nvme file with a comma", HEAD2
	  STORAGE_VM("{emulated: nvme, file: '/d,readonly=on', size: 1G}")
	  WORK2("sys-st"),
	  "demo.yaml:6: driver-vms[0].devices[0].file: '/d,readonly=on' is not"
	  " an absolute path of A-Z a-z 0-9 _ . - / (at most 255, no '..')" },
	{ "v2: nvme file with ..", HEAD2
	  STORAGE_VM("{emulated: nvme, file: /var/../etc/d, size: 1G}")
	  WORK2("sys-st"),
	  "demo.yaml:6: driver-vms[0].devices[0].file: '/var/../etc/d' is not"
	  " an absolute path of A-Z a-z 0-9 _ . - / (at most 255, no '..')" },
	{ "v2: nvme without size", HEAD2
	  STORAGE_VM("{emulated: nvme, file: /d.raw}") WORK2("sys-st"),
	  "demo.yaml:6: driver-vms[0].devices[0].size: missing; the disk's size"
	  " (made, sparse, when the file is missing)" },
	{ "v2: nvme with a netns", HEAD2
	  STORAGE_VM("{emulated: nvme, file: /d.raw, size: 1G, netns: x}")
	  WORK2("sys-st"),
	  "demo.yaml:6: driver-vms[0].devices[0].netns: only an emulated NIC"
	  " has a netns; nvme is a disk" },
	{ "v2: e1000e with a file", HEAD2
	  STORAGE_VM("{emulated: e1000e, netns: x, file: /d.raw}")
	  WORK2("sys-st"),
	  "demo.yaml:6: driver-vms[0].devices[0].file: only an emulated disk"
	  " (nvme, usb-storage) has a disk file; e1000e is a NIC" },
	{ "v2: two nvme on one file", HEAD2
	  STORAGE_VM("{emulated: nvme, file: /d.raw, size: 1G}\n"
		     "      - {emulated: nvme, file: /d.raw, size: 1G}")
	  WORK2("sys-st"),
	  "demo.yaml:7: driver-vms[0].devices[1].file: '/d.raw' is already used at"
	  " driver-vms[0].devices[0].file" },
	{ "v2: host port net", HEAD2 SYSNET WORK2("sys-net") "host-port:\n"
	  "  net: sys-net\n  mac: 52:54:00:b0:00:01\n  ip: 10.200.9.2/30\n",
	  "demo.yaml:16: host-port.net: unknown key (known: via, mac, ip,"
	  " gateway, netns, default-route)" },
	{ "v2: host port on no driver VM", HEAD2 SYSNET WORK2("sys-net")
	  "host-port:\n  via: sysnet\n  mac: 52:54:00:b0:00:01\n"
	  "  ip: 10.200.9.2/30\n",
	  "demo.yaml:16: host-port.via: no driver VM named 'sysnet' (driver"
	  " VMs: sys-net)" },
	{ "v2: talk", HEAD2 SYSNET WORK2("sys-net") "talk:\n  - [work, work]\n",
	  "demo.yaml:16: talk[0]: 'work' with itself; a pair is two app VMs" },
};

/* An app VM on a template: its fields as the check leaves them. */
static void test_template_fields(struct tap *t, const void *arg)
{
	struct topology *topo;
	char err[256];

	(void)arg;
	CHECK_EQ(t, load_text("demo.yaml", HEAD2 SYSNET WORK2("sys-net")
			      "    template: debian\n    display: on\n"
			      "  - name: throwaway\n"
			      "    template: debian-desktop\n    private: 512M\n"
			      "    disposable: yes\n    preload: yes\n"
			      "    net: {via: sys-net,"
			      " mac: 52:54:00:a0:00:02, ip: 10.200.2.2/24}\n",
			      &topo, err, sizeof(err)), 0);
	CHECK_STREQ(t, err, "");
	if (topo == NULL)
		return;
	const struct topo_app_vm *work = &topo->app_vms[0];
	const struct topo_app_vm *tmp = &topo->app_vms[1];
	CHECK_STREQ(t, work->template, "debian");
	CHECK_STREQ(t, tmp->template, "debian-desktop");   /* 14 characters */
	CHECK(t, work->image == NULL);          /* no busybox image */
	CHECK_EQ(t, work->private_mib, 2048);   /* the default */
	CHECK(t, !work->disposable);
	CHECK(t, work->display);
	CHECK(t, !tmp->display);
	CHECK_EQ(t, tmp->private_mib, 512);
	CHECK(t, tmp->disposable);
	CHECK(t, tmp->preload);
	CHECK(t, !work->preload);
	topology_free(topo);
}

/* An app VM on its own disk: its fields as the check leaves them. */
static void test_disk_fields(struct tap *t, const void *arg)
{
	struct topology *topo;
	char err[256];

	(void)arg;
	CHECK_EQ(t, load_text("demo.yaml", HEAD2 SYSNET WORK2("sys-net")
			      "    disk: /srv/vm.qcow2\n    display: on\n"
			      "  - name: mine\n    disk: /srv/mine.raw\n"
			      "    firmware: uefi\n"
			      "    cloud_init:\n      user: ann_b-2\n"
			      "      ssh_keys:\n        - ssh-ed25519"
			      " AAAAC3NzaC1lZDI1NTE5AAAAIGoodKeyOfTheTest a@b\n"
			      "    net: {via: sys-net,"
			      " mac: 52:54:00:a0:00:02, ip: 10.200.2.2/24}\n",
			      &topo, err, sizeof(err)), 0);
	CHECK_STREQ(t, err, "");
	if (topo == NULL)
		return;
	const struct topo_app_vm *work = &topo->app_vms[0];
	const struct topo_app_vm *mine = &topo->app_vms[1];
	CHECK_STREQ(t, work->disk, "/srv/vm.qcow2");
	CHECK(t, work->image == NULL && work->template == NULL);
	CHECK(t, work->display);
	CHECK(t, topology_app_qga(work));
	CHECK(t, work->cloud_init != NULL);     /* the defaults */
	CHECK_STREQ(t, work->cloud_init->user, "user");
	CHECK_EQ(t, work->cloud_init->ssh_keys_count, 0);
	CHECK_EQ(t, work->firmware, TOPO_FIRMWARE_BIOS);   /* the default */
	CHECK_EQ(t, mine->firmware, TOPO_FIRMWARE_UEFI);
	CHECK_STREQ(t, mine->cloud_init->user, "ann_b-2");
	CHECK_EQ(t, mine->cloud_init->ssh_keys_count, 1);
	topology_free(topo);
}

static void test_bad(struct tap *t, const void *arg)
{
	const struct bad_case *c = arg;
	struct topology *topo = (struct topology *)&topo;
	char err[512];

	CHECK_EQ(t, load_text("demo.yaml", c->yaml, &topo, err, sizeof(err)),
		 -EINVAL);
	CHECK(t, topo == NULL);
	CHECK_STREQ(t, err, c->msg);
	CHECK(t, strchr(err, '\n') == NULL);
	topology_free(topo);
}

/* IPv6 that passes: the same /64 on two driver VMs (two networks), an
 * uplink network beside the app VMs' /64s, a ULA uplink, address6 /127
 * (RFC 6164), a global gateway6 on address6's network, IPv6 and IPv4
 * rules side by side, ::/0. Line 13 is sys-net's address6, line 23
 * sys-net2's. */
#define IPV6_FILE(address6_2)                                            \
	BASE STATIC6("2001:db8::2/64", "2001:db8::1")                    \
	DRIVER2("      - pci: 03:00.0\n")                                \
	"    uplink:\n      mode: static\n"                              \
	"      address: 192.168.1.2/24\n"                                \
	"      gateway: 192.168.1.1\n"                                   \
	"      address6: " address6_2 "\n"                               \
	"      gateway6: fe80::1\n"                                      \
	WORK "    ipv6: 2001:db8:0:1::/64\n"                             \
	"    firewall:\n      rules:\n"                                  \
	"        - {action: allow, dst: \"::/0\"}\n"                     \
	"        - {action: deny, dst: 10.0.0.0/8}\n"                     \
	"        - action: deny\n"                                        \
	"          dst: 2001:db8:0:0:0:0:0:100/120\n"                     \
	APP("personal", "52:54:00:a0:00:02", "10.200.2.2/24")           \
	"    ipv6: off\n"                                                \
	"  - name: lab\n    net: sys-net2\n"                             \
	"    mac: 52:54:00:a0:00:03\n"                                   \
	"    ip: 10.200.1.2/24\n"                                        \
	"    ipv6: 2001:db8:0:1::/64\n"

static void test_ipv6_accepted(struct tap *t, const void *arg)
{
	struct topology *topo;
	const struct topo_rule *r;
	char err[256];

	(void)arg;
	/* fd00::/127's first address is its network: not a host. */
	CHECK_EQ(t, load_text("demo.yaml", IPV6_FILE("fd00::/127"), &topo, err,
			      sizeof(err)), -EINVAL);
	CHECK_STREQ(t, err, "demo.yaml:23: driver-vms[1].uplink.address6:"
		    " 'fd00::/127' is the network address of fd00::/127");
	CHECK_EQ(t, load_text("demo.yaml", IPV6_FILE("fd00::1/127"), &topo,
			      err, sizeof(err)), 0);
	CHECK_STREQ(t, err, "");
	if (topo == NULL)
		return;
	CHECK_STREQ(t, topo->driver_vms[0].uplink->address6, "2001:db8::2/64");
	CHECK_STREQ(t, topo->driver_vms[0].uplink->gateway6, "2001:db8::1");
	CHECK_STREQ(t, topo->driver_vms[1].uplink->address6, "fd00::1/127");
	CHECK_STREQ(t, topo->app_vms[0].net.ipv6, "2001:db8:0:1::/64");
	CHECK_EQ(t, topo->app_vms[1].net.ipv6_mode, TOPO_IPV6_OFF);
	CHECK_STREQ(t, topo->app_vms[2].net.ipv6, "2001:db8:0:1::/64");
	r = topo->app_vms[0].net.firewall->rules;
	CHECK_STREQ(t, r[0].dst, "::/0");
	CHECK_STREQ(t, r[1].dst, "10.0.0.0/8");
	CHECK_STREQ(t, r[2].dst, "2001:db8::100/120");
	topology_free(topo);
	/* An address6 /1 holds ::ffff:0:0/96, where IPv4 subnets are held
	 * for the overlap check: the families are kept apart. */
	CHECK_EQ(t, load_text("demo.yaml", BASE STATIC6("2001::2/1", "fe80::1")
			      WORK, &topo, err, sizeof(err)), 0);
	CHECK_STREQ(t, err, "");
	topology_free(topo);
}

/* The canonical text (RFC 5952 section 4) at its edges, and the same as
 * glibc's inet_ntop wherever that one writes no dotted quad. */
static void test_ip6_format(struct tap *t, const void *arg)
{
	static const char *const cases[][2] = {
		{ "::", "::" },
		{ "::1", "::1" },
		{ "1::", "1::" },
		{ "2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },  /* 4.2.3 */
		{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" }, /* 4.2.2 */
		{ "2001:0db8::0001", "2001:db8::1" },               /* 4.1 */
		{ "1:0:0:2:0:0:0:3", "1:0:0:2::3" },                /* longest */
		{ "::ffff:0:0", "::ffff:0:0" },     /* inet_ntop: dotted */
		{ "::1.2.3.4", "::102:304" },
		{ "fe80::", "fe80::" },
	};
	struct in6_addr a;
	char ntop[INET6_ADDRSTRLEN];
	unsigned seed = 1;

	(void)arg;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(t, topo_ip6_parse(cases[i][0], &a));
		CHECK_STREQ(t, topology_ip6_format(&a).s, cases[i][1]);
	}
	/* Groups zero or not at random, so that runs of every length and
	 * place occur; the first group nonzero keeps inet_ntop off its
	 * dotted quads. */
	for (int n = 0; n < 20000; n++) {
		for (int g = 0; g < 8; g++) {
			seed = seed * 1103515245u + 12345u;
			unsigned v = (seed >> 16) & 0xffff;

			if (g > 0 && (seed >> 8 & 1))
				v = 0;
			if (g == 0 && v == 0)
				v = 1;
			a.s6_addr[2 * g] = (uint8_t)(v >> 8);
			a.s6_addr[2 * g + 1] = (uint8_t)v;
		}
		inet_ntop(AF_INET6, &a, ntop, sizeof(ntop));
		if (strcmp(topology_ip6_format(&a).s, ntop) != 0) {
			CHECK_STREQ(t, topology_ip6_format(&a).s, ntop);
			break;
		}
	}
	CHECK(t, !topo_ip6_parse("fe80::1%lo", &a));
	CHECK(t, !topo_ip6_parse("[::1]", &a));
	CHECK(t, !topo_ip6_parse("1:2:3:4:5:6:7:8:9", &a));
	CHECK(t, !topo_ip6_parse("12345::", &a));
	CHECK(t, !topo_ip6_parse("", &a));
}

/* sys-net has 32 downstream links: 32 app VMs and the host port are one
 * too many (the schema's 32 app VMs in all cannot exceed it alone). */
static void test_too_many_links(struct tap *t, const void *arg)
{
	char yaml[8192], err[256];
	struct topology *topo;
	size_t len;

	(void)arg;
	len = (size_t)snprintf(yaml, sizeof(yaml), "%s", BASE "app-vms:\n");
	for (int i = 0; i < TOPO_MAX_APP_VMS; i++)
		len += (size_t)snprintf(yaml + len, sizeof(yaml) - len,
					"  - {name: a%d, net: sys-net, mac:"
					" '52:54:00:a0:00:%02x', ip:"
					" 10.200.%d.2/24}\n", i, i, i);
	snprintf(yaml + len, sizeof(yaml) - len, "host-port: {net: sys-net,"
		 " mac: '52:54:00:b0:00:01', ip: 10.201.0.2/30}\n");
	CHECK_EQ(t, load_text("demo.yaml", yaml, &topo, err, sizeof(err)),
		 -EINVAL);
	CHECK_STREQ(t, err, "demo.yaml:42: host-port.net: sys-net already"
		    " serves 32 app VMs, as many links as it has");
	topology_free(topo);
}

static void test_missing_file(struct tap *t, const void *arg)
{
	struct topology *topo = (struct topology *)&topo;
	char err[256];

	(void)arg;
	CHECK_EQ(t, topology_load("nope.yaml", &topo, err, sizeof(err)),
		 -ENOENT);
	CHECK(t, topo == NULL);
	CHECK_STREQ(t, err, "nope.yaml: cannot read: No such file or"
		    " directory");
	CHECK_EQ(t, topology_load(".", &topo, err, sizeof(err)), -EISDIR);
	CHECK_STREQ(t, err, ".: cannot read: Is a directory");
}

/* Over 1 MiB is refused before parsing: a file by its size, what has no
 * size (a device, a pipe) by reading one byte more; exactly 1 MiB is read
 * (and is then only comments). */
static void test_file_size(struct tap *t, const void *arg)
{
	size_t len = TOPO_FILE_MAX_BYTES + 4096;
	char *big = malloc(len);
	struct topology *topo;
	char err[256];

	(void)arg;
	if (big == NULL)
		abort();
	memset(big, '#', len);
	for (size_t i = 79; i < len; i += 80)
		big[i] = '\n';
	write_file("big.yaml", big, len);
	CHECK_EQ(t, topology_load("big.yaml", &topo, err, sizeof(err)), -EFBIG);
	CHECK_STREQ(t, err, "big.yaml: 1052672 bytes; a topology file is at"
		    " most 1048576 bytes");
	CHECK_EQ(t, topology_load("/dev/zero", &topo, err, sizeof(err)),
		 -EFBIG);
	CHECK_STREQ(t, err, "/dev/zero: 1048577 bytes; a topology file is at"
		    " most 1048576 bytes");
	CHECK_EQ(t, topology_load_buffer("big.yaml", big,
					 TOPO_FILE_MAX_BYTES + 1, &topo, err,
					 sizeof(err)), -EFBIG);
	CHECK_STREQ(t, err, "big.yaml: 1048577 bytes; a topology file is at"
		    " most 1048576 bytes");
	write_file("big.yaml", big, TOPO_FILE_MAX_BYTES);
	CHECK_EQ(t, topology_load("big.yaml", &topo, err, sizeof(err)),
		 -EINVAL);
	CHECK_STREQ(t, err, "big.yaml: the file is empty (it needs at least"
		    " version: 2 and driver-vms)");
	free(big);
}

/* Left out, the name is the file's base name; one that is no name is
 * reported (with no line: no line holds it). */
static void test_default_name(struct tap *t, const void *arg)
{
	struct topology *topo;
	char err[256];

	(void)arg;
	CHECK_EQ(t, load_text("office.lab.yaml", BASE, &topo, err,
			      sizeof(err)), -EINVAL);
	CHECK_STREQ(t, err, "office.lab.yaml: name: missing, and the file's"
		    " name 'office.lab' is not a name (a-z, then a-z, 0-9 or"
		    " '-'; at most 13 characters): set name:");
	CHECK_EQ(t, load_text("office.lab.yaml", BASE "name: office\n", &topo,
			      err, sizeof(err)), 0);
	if (topo)
		CHECK_STREQ(t, topo->name, "office");
	topology_free(topo);
}

/* The value syntaxes alone, at their edges (some cannot be reached
 * through a file: libcyaml refuses a memory over 32 bits first). */
static void test_value_syntax(struct tap *t, const void *arg)
{
	uint32_t v;
	unsigned lo, hi;
	char pci[13], mac[] = "52:54:00:A0:00:0F";

	(void)arg;
	CHECK(t, topo_u32_parse("4294967295", &v) && v == UINT32_MAX);
	CHECK(t, !topo_u32_parse("4294967296", &v));
	CHECK(t, !topo_u32_parse("00", &v));
	CHECK(t, topo_u32_parse("0", &v) && v == 0);
	CHECK(t, topo_ipv4_parse("0.0.0.0", &v) && v == 0);
	CHECK(t, topo_ipv4_parse("255.255.255.255", &v) && v == UINT32_MAX);
	CHECK(t, !topo_ipv4_parse("1.2.3.4.", &v));
	CHECK(t, !topo_ipv4_parse("1.2.3", &v));
	CHECK(t, !topo_ipv4_parse("1.2.3.-4", &v));
	CHECK_EQ(t, topo_prefix_mask(0), 0);
	CHECK_EQ(t, topo_prefix_mask(32), UINT32_MAX);
	CHECK_EQ(t, topo_prefix_mask(24), 0xffffff00u);
	CHECK_EQ(t, topo_mac_normalize(mac), TOPO_MAC_OK);
	CHECK_STREQ(t, mac, "52:54:00:a0:00:0f");
	CHECK(t, topo_pci_normalize("FFFF:FF:1F.7", pci));
	CHECK_STREQ(t, pci, "ffff:ff:1f.7");
	CHECK(t, !topo_pci_normalize("0000:03:00.0 ", pci));
	CHECK(t, topo_port_parse("65535", &lo, &hi) && lo == 65535 && hi == lo);
	CHECK(t, !topo_port_parse("1-", &lo, &hi));
	CHECK(t, !topo_port_parse("-1", &lo, &hi));
	CHECK(t, !topo_port_parse("080", &lo, &hi));
	CHECK(t, topo_netns_valid("A.b_c-0"));
	CHECK(t, !topo_netns_valid(""));
	CHECK(t, !topo_netns_valid("."));
	CHECK(t, topo_ifname_valid("br-0123456789a"));
	CHECK(t, !topo_ifname_valid(".."));
	CHECK(t, topo_name_valid("a-1"));
	CHECK(t, !topo_name_valid("1a"));
	CHECK(t, !topo_name_valid(""));
}

/* A value in a message is printable and cut short; a small err buffer
 * gets as much of the line as fits. */
static void test_message_quoting(struct tap *t, const void *arg)
{
	struct topology *topo;
	char err[256], small[24];

	(void)arg;
	CHECK_EQ(t, load_text("demo.yaml", BASE "name: \"a\\tb\\u00e9cdefghijklmnopq"
			      "rstuvwxyz0123456789ABCDEF\"\n", &topo, err,
			      sizeof(err)), -EINVAL);
	CHECK_STREQ(t, err, "demo.yaml:9: name: 'a?b??cdefghijklmnopqrstuvwxyz"
		    "0123456789A...' is not a name (a-z, then a-z, 0-9 or '-';"
		    " at most 13 characters)");
	CHECK_EQ(t, load_text("demo.yaml", BASE "name: Lab\n", &topo, small,
			      sizeof(small)), -EINVAL);
	CHECK_STREQ(t, small, "demo.yaml:9: name: 'Lab");
}

int main(void)
{
	char dir[] = "/tmp/test_topology.XXXXXX";
	struct tap_case cases[64 + sizeof(bad_cases) / sizeof(bad_cases[0])];
	int n = 0, rc;

	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		abort();
	cases[n++] = (struct tap_case){ "full file", test_full_file,
					&full_v1 };
	cases[n++] = (struct tap_case){ "full file, version 2", test_full_file,
					&full_v2 };
	cases[n++] = (struct tap_case){ "minimal file", test_minimal_file,
					NULL };
	cases[n++] = (struct tap_case){ "missing file", test_missing_file,
					NULL };
	cases[n++] = (struct tap_case){ "file size", test_file_size, NULL };
	cases[n++] = (struct tap_case){ "default name", test_default_name,
					NULL };
	cases[n++] = (struct tap_case){ "message quoting",
					test_message_quoting, NULL };
	cases[n++] = (struct tap_case){ "too many links", test_too_many_links,
					NULL };
	cases[n++] = (struct tap_case){ "value syntax", test_value_syntax,
					NULL };
	cases[n++] = (struct tap_case){ "IPv6 accepted", test_ipv6_accepted,
					NULL };
	cases[n++] = (struct tap_case){ "IPv6 text", test_ip6_format, NULL };
	cases[n++] = (struct tap_case){ "disk fields", test_disk_fields, NULL };
	cases[n++] = (struct tap_case){ "template fields", test_template_fields,
					NULL };
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		cases[n++] = (struct tap_case){ bad_cases[i].name, test_bad,
						&bad_cases[i] };
	rc = tap_run(cases, n);
	unlink("demo.yaml");
	unlink("full.yaml");
	unlink("big.yaml");
	unlink("office.lab.yaml");
	if (chdir("/") != 0 || rmdir(dir) != 0)
		rc = 1;
	return rc;
}
