/* What bulkhead derives from a topology (orchestration/plan.c) and the
 * sys-net configuration it writes (sysnet_config.c), as known values:
 * the IPv6 auto prefix (FNV-1a of "TOPOLOGY/DRIVER_VM" and the IPv4
 * address), EUI-64 addresses, sys-net's ::1, the overlap check on derived
 * networks, and configuration lines whole. The expected values were
 * computed apart from this code (Python's ipaddress and its own FNV-1a;
 * the downstream MACs are the ones bulkhead made before IPv6). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "sysnet_config.h"
#include "tap.h"

#define IP6(a) topology_ip6_format(a).s

static struct topology *load(struct tap *t, const char *yaml)
{
	struct topology *topo;
	char err[512];
	int rc = topology_load_buffer("plan.yaml", yaml, strlen(yaml), &topo,
				      err, sizeof(err));

	if (rc != 0) {
		printf("# load: %s\n", err);
		t->failed_checks++;
		return NULL;
	}
	return topo;
}

static void test_auto_prefix(struct tap *t, const void *arg)
{
	struct in6_addr p;

	(void)arg;
	/* FNV-1a("demo/sys-net") = 0x39e40caa: e4:0caa; 10.200.1.2 is
	 * 0a:c8:01:02. */
	p = plan_ipv6_auto_prefix("demo", "sys-net", 0x0ac80102);
	CHECK_STREQ(t, IP6(&p), "fde4:caa:ac8:102::");
	p = plan_ipv6_auto_prefix("demo", "sys-net", 0x0ac80202);
	CHECK_STREQ(t, IP6(&p), "fde4:caa:ac8:202::");
	/* Another driver VM, the same IPv4 address: another prefix. */
	p = plan_ipv6_auto_prefix("lab", "sys-net2", 0x0ac80102);
	CHECK_STREQ(t, IP6(&p), "fd8b:c5de:ac8:102::");
	p = plan_ipv6_auto_prefix("big", "net-b", 0xac100502);
	CHECK_STREQ(t, IP6(&p), "fdf1:bdce:ac10:502::");
}

static void test_eui64(struct tap *t, const void *arg)
{
	struct in6_addr prefix, a;
	const uint8_t qemu[6] = { 0x52, 0x54, 0x00, 0xa0, 0x00, 0x01 };
	const uint8_t local[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
	const uint8_t high[6] = { 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff };

	(void)arg;
	CHECK(t, inet_pton(AF_INET6, "2001:db8:1:2::", &prefix) == 1);
	/* 0x52 ^ 0x02 = 0x50; ff:fe in the middle. */
	a = plan_ipv6_eui64(&prefix, qemu);
	CHECK_STREQ(t, IP6(&a), "2001:db8:1:2:5054:ff:fea0:1");
	a = plan_ipv6_eui64(&prefix, local);
	CHECK_STREQ(t, IP6(&a), "2001:db8:1:2:0:ff:fe00:1");
	a = plan_ipv6_eui64(&prefix, high);
	CHECK_STREQ(t, IP6(&a), "2001:db8:1:2:feff:ffff:feff:ffff");
	/* Only the prefix's first 64 bits count. */
	CHECK(t, inet_pton(AF_INET6, "2001:db8:1:2:ffff::1", &prefix) == 1);
	a = plan_ipv6_eui64(&prefix, qemu);
	CHECK_STREQ(t, IP6(&a), "2001:db8:1:2:5054:ff:fea0:1");
	a = plan_ipv6_router(&prefix);
	CHECK_STREQ(t, IP6(&a), "2001:db8:1:2::1");
}

#define SYSNET(uplink)                                                   \
	"version: 1\n"                                                   \
	"name: demo\n"                                                   \
	"driver-vms:\n"                                                  \
	"  - name: sys-net\n"                                            \
	"    kind: net\n"                                                \
	"    devices:\n"                                                 \
	"      - emulated: e1000e\n"                                     \
	"        netns: bk-outside\n"                                    \
	"        mac: 52:54:00:00:00:01\n" uplink                        \
	"app-vms:\n"                                                     \
	"  - name: work\n"                                               \
	"    net: sys-net\n"                                             \
	"    mac: 52:54:00:a0:00:01\n"                                   \
	"    ip: 10.200.1.2/24\n"

static void test_app_ipv6(struct tap *t, const void *arg)
{
	struct topology *topo;
	struct in6_addr prefix, addr;

	(void)arg;
	topo = load(t, SYSNET("")
		    "  - name: personal\n    net: sys-net\n"
		    "    mac: 52:54:00:a0:00:02\n    ip: 10.200.2.2/24\n"
		    "    ipv6: off\n"
		    "  - name: lab\n    net: sys-net\n"
		    "    mac: 52:54:00:a0:00:03\n    ip: 10.200.3.2/24\n"
		    "    ipv6: 2001:DB8:0:7::/64\n");
	if (topo == NULL)
		return;
	CHECK_EQ(t, plan_app_ipv6(topo, &topo->app_vms[0], &prefix, &addr), 1);
	CHECK_STREQ(t, IP6(&prefix), "fde4:caa:ac8:102::");
	CHECK_STREQ(t, IP6(&addr), "fde4:caa:ac8:102:5054:ff:fea0:1");
	CHECK_EQ(t, plan_app_ipv6(topo, &topo->app_vms[1], &prefix, &addr), 0);
	CHECK_EQ(t, plan_app_ipv6(topo, &topo->app_vms[2], &prefix, &addr), 1);
	CHECK_STREQ(t, IP6(&prefix), "2001:db8:0:7::");
	CHECK_STREQ(t, IP6(&addr), "2001:db8:0:7:5054:ff:fea0:3");
	/* Text no topology_load passed is refused, not guessed at. */
	free(topo->app_vms[2].net.ipv6);
	topo->app_vms[2].net.ipv6 = strdup("2001:db8::/48");
	CHECK_EQ(t, plan_app_ipv6(topo, &topo->app_vms[2], &prefix, &addr),
		 -EINVAL);
	topology_free(topo);
}

/* The parser checks the networks the file gives; plan_check the derived
 * ones against them. */
static void test_check_net6(struct tap *t, const void *arg)
{
	struct topology *topo;
	char err[512];

	(void)arg;
	topo = load(t, SYSNET("    uplink:\n      mode: static\n"
			      "      address: 192.168.1.2/24\n"
			      "      gateway: 192.168.1.1\n"
			      "      address6: fd00::2/8\n"
			      "      gateway6: fe80::1\n"));
	if (topo) {
		CHECK_EQ(t, plan_check(topo, err, sizeof(err)), -EEXIST);
		CHECK_STREQ(t, err, "plan.yaml: IPv6 network fde4:caa:ac8:102::/64"
			    " of app VM work (ipv6: auto) overlaps fd00::2/8 of"
			    " sys-net's uplink address6 (both on sys-net; give"
			    " work an ipv6: network of its own, or off)");
		topo->app_vms[0].net.ipv6_mode = TOPO_IPV6_OFF;
		CHECK_EQ(t, plan_check(topo, err, sizeof(err)), 0);
		topology_free(topo);
	}
	/* A file's /64 that is an auto one's. */
	topo = load(t, SYSNET("")
		    "  - name: lab\n    net: sys-net\n"
		    "    mac: 52:54:00:a0:00:03\n    ip: 10.200.3.2/24\n"
		    "    ipv6: fde4:caa:ac8:102::/64\n");
	if (topo) {
		CHECK_EQ(t, plan_check(topo, err, sizeof(err)), -EEXIST);
		CHECK_STREQ(t, err, "plan.yaml: IPv6 network fde4:caa:ac8:102::/64"
			    " of app VM lab overlaps fde4:caa:ac8:102::/64 of app"
			    " VM work (ipv6: auto) (both on sys-net; give work an"
			    " ipv6: network of its own, or off)");
		topology_free(topo);
	}
	/* Without the overlap, and a global uplink network: fine. */
	topo = load(t, SYSNET("    uplink:\n      mode: static\n"
			      "      address: 192.168.1.2/24\n"
			      "      gateway: 192.168.1.1\n"
			      "      address6: 2001:db8::2/64\n"
			      "      gateway6: 2001:db8::1\n"));
	if (topo) {
		CHECK_EQ(t, plan_check(topo, err, sizeof(err)), 0);
		topology_free(topo);
	}
}

/* The configuration sys-net boots with (docs/sysnet.md), whole. */
static void test_sysnet_config(struct tap *t, const void *arg)
{
	struct topology *topo;
	char err[256] = "";
	char *cfg;

	(void)arg;
	topo = load(t, SYSNET("    uplink:\n      mode: static\n"
			      "      address: 192.168.1.2/24\n"
			      "      gateway: 192.168.1.1\n"
			      "      dns: [192.168.1.1]\n"
			      "      address6: 2001:DB8:0:0::0002/64\n"
			      "      gateway6: FE80::1\n")
		    "    firewall:\n      policy: drop\n      rules:\n"
		    "        - {action: allow, dst: '2001:db8:0:0:0:0:0:0/32',"
		    " proto: tcp, port: 443}\n"
		    "        - {action: deny, dst: 10.0.0.0/8}\n"
		    "        - {action: allow, dst: '::/0'}\n"
		    "  - name: personal\n    net: sys-net\n"
		    "    mac: 52:54:00:a0:00:02\n    ip: 10.200.2.2/24\n"
		    "    ipv6: off\n"
		    "  - name: lab\n    net: sys-net\n"
		    "    mac: 52:54:00:a0:00:03\n    ip: 10.200.3.2/24\n"
		    "    ipv6: 2001:db8:0:7::/64\n");
	if (topo == NULL)
		return;
	cfg = sysnet_config(topo, &topo->driver_vms[0], err, sizeof(err));
	CHECK_STREQ(t, err, "");
	CHECK_STREQ(t, cfg,
		    "# sys-net configuration for sys-net (topology demo),"
		    " written by the bulkhead command\n"
		    "version 1\n"
		    "uplink static address=192.168.1.2/24 gateway=192.168.1.1"
		    " dns=192.168.1.1 address6=2001:db8::2/64 gateway6=fe80::1"
		    " mac=52:54:00:00:00:01\n"
		    "# app VM work\n"
		    "downstream mac=0a:b7:db:af:91:9f address=10.200.1.1/24"
		    " address6=fde4:caa:ac8:102::1/64 app-mac=52:54:00:a0:00:01"
		    " app-ip=10.200.1.2 policy=drop\n"
		    "firewall allow dst=2001:db8::/32 proto=tcp port=443\n"
		    "firewall deny dst=10.0.0.0/8 proto=any\n"
		    "firewall allow dst=::/0 proto=any\n"
		    "# app VM personal\n"
		    "downstream mac=0a:b7:11:01:40:78 address=10.200.2.1/24"
		    " app-mac=52:54:00:a0:00:02 app-ip=10.200.2.2 policy=accept\n"
		    "# app VM lab\n"
		    "downstream mac=0a:b7:d1:9e:8d:6d address=10.200.3.1/24"
		    " address6=2001:db8:0:7::1/64 app-mac=52:54:00:a0:00:03"
		    " app-ip=10.200.3.2 policy=accept\n");
	free(cfg);
	topology_free(topo);
}

int main(void)
{
	const struct tap_case cases[] = {
		{ "IPv6 auto prefix", test_auto_prefix, NULL },
		{ "EUI-64 and sys-net's ::1", test_eui64, NULL },
		{ "an app VM's IPv6", test_app_ipv6, NULL },
		{ "derived IPv6 networks do not overlap", test_check_net6, NULL },
		{ "sys-net configuration with IPv6", test_sysnet_config, NULL },
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
