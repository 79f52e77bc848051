/* The host port carries IPv4 and ARP only, live: the tap made by
 * orchestration/host_port.c (host_port_up, as `bulkhead up` does) in a
 * namespace standing in for the host, a real bulkhead-link on it
 * (--tap-a), and on side b a front end playing a compromised sys-net. It
 * sends real IPv6 router advertisements (ICMPv6 134 with a prefix and a
 * default-router lifetime; one plain, one priority-tagged 802.1Q, which
 * the host's kernel would take as untagged) toward the tap: the namespace
 * gets no IPv6 route or address from them, the link counts them
 * not_ipv4_arp, and IPv4 still crosses (ARP and ping answered).
 * Two protections, each checked on its own: IPv6 off on the tap
 * (disable_ipv6, accept_ra, read back from /proc in the namespace) and
 * the link's EtherType filter (its counter).
 *
 * Usage: test_host_port BULKHEAD_LINK (root: namespaces, taps). */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host_net.h"
#include "host_port.h"
#include "link_control.h"
#include "net_offload.h"
#include "plan.h"
#include "tap.h"
#include "tcp_frame.h"
#include "topology.h"
#include "vu_frontend.h"

#define BIT(n) (1ull << (n))
#define FEATURES (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF))
#define QSIZE 256
#define MEM (4u << 20)

/* sys-net's side of the link, and the host port's. */
static const uint8_t net_mac[6] = { 0x52, 0x54, 0x00, 0x7a, 0x00, 0x02 };
#define NET_MAC_TEXT "52:54:00:7a:00:02"
#define HOST_MAC_TEXT "52:54:00:7a:00:01"
static const uint8_t net_ip[4] = { 10, 203, 0, 1 };
static const uint8_t host_ip[4] = { 10, 203, 0, 2 };
/* What the advertisement offers: a /64 and sys-net as default router. */
#define RA_PREFIX "2001:db8:7a:1::"

struct env {
	char ns[32], dir[64], sock[96], control[96];
	char tap[PLAN_IFNAME_MAX + 1];
	struct topology *topo;
	pid_t link_pid;
	struct fe fe;
	bool fe_up;
	unsigned ra_sent;
};

static struct env env;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* A command's output (stdout and stderr), "" when it could not run. */
static const char *output(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static const char *output(const char *fmt, ...)
{
	static char out[8192];
	char cmd[512];
	va_list ap;
	size_t len = 0, n;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	p = popen(cmd, "r");
	if (!p)
		return out;
	while (len < sizeof(out) - 1 &&
	       (n = fread(out + len, 1, sizeof(out) - 1 - len, p)) > 0)
		len += n;
	out[len] = '\0';
	pclose(p);
	return out;
}

static long long dropped(const char *dir, const char *reason)
{
	return link_control_counter(env.control, dir, reason);
}

/* The Ethernet header from sys-net's MAC; returns its length (14, or 18
 * with an 802.1Q tag of VLAN 0: priority only, which the host's kernel
 * takes as untagged). */
static size_t eth_hdr(uint8_t *f, const uint8_t dst[6], uint16_t type,
		      bool tagged)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, net_mac, 6);
	if (!tagged) {
		put16(f + 12, type);
		return 14;
	}
	put16(f + 12, 0x8100);
	put16(f + 14, 0x0000);
	put16(f + 16, type);
	return 18;
}

/* A router advertisement as a router sends it (RFC 4861 4.2): from a
 * link-local address to all nodes, hop limit 255, router lifetime 1800 s
 * (a default route), a source link-layer option and a prefix option
 * (RA_PREFIX/64, on-link and autonomous: an address by SLAAC). */
static size_t make_ra(uint8_t *f, bool tagged)
{
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	size_t l3 = eth_hdr(f, all_nodes_mac, 0x86dd, tagged);
	uint8_t *ip = f + l3, *icmp = ip + 40, *opt;
	size_t icmp_len = 16 + 8 + 32;
	uint8_t pseudo[8] = { 0 };
	uint32_t sum;

	memset(ip, 0, 40 + icmp_len);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)icmp_len);
	ip[6] = 58;
	ip[7] = 255;
	/* fe80::5054:ff:fe7a:2, sys-net's EUI-64 link-local address. */
	ip[8] = 0xfe, ip[9] = 0x80;
	ip[16] = 0x50, ip[17] = 0x54, ip[18] = 0x00, ip[19] = 0xff;
	ip[20] = 0xfe, ip[21] = 0x7a, ip[22] = 0x00, ip[23] = 0x02;
	ip[24] = 0xff, ip[25] = 0x02, ip[39] = 0x01;
	icmp[0] = 134;
	icmp[4] = 64;                     /* cur hop limit */
	put16(icmp + 6, 1800);            /* router lifetime */
	opt = icmp + 16;
	opt[0] = 1, opt[1] = 1;           /* source link-layer address */
	memcpy(opt + 2, net_mac, 6);
	opt += 8;
	opt[0] = 3, opt[1] = 4;           /* prefix information */
	opt[2] = 64;
	opt[3] = 0xc0;                    /* on-link, autonomous */
	put32(opt + 4, 86400);
	put32(opt + 8, 14400);
	opt[16] = 0x20, opt[17] = 0x01, opt[18] = 0x0d, opt[19] = 0xb8;
	opt[20] = 0x00, opt[21] = 0x7a, opt[22] = 0x00, opt[23] = 0x01;
	put32(pseudo, (uint32_t)icmp_len);
	pseudo[7] = 58;
	sum = net_csum_add(0, ip + 8, 32);
	sum = net_csum_add(sum, pseudo, 8);
	sum = net_csum_add(sum, icmp, icmp_len);
	put16(icmp + 2, net_csum_fold(sum));
	return l3 + 40 + icmp_len;
}

/* An ARP request from sys-net's address for the host port's. */
static size_t make_arp(uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a = f + eth_hdr(f, bcast, 0x0806, false);

	memset(a, 0, 28);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6, a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, net_mac, 6);
	memcpy(a + 14, net_ip, 4);
	memcpy(a + 24, host_ip, 4);
	return 14 + 28 + 18;              /* padded to 60 */
}

/* An ICMP echo request from sys-net's address to the host port's. */
static size_t make_ping(uint8_t *f, const uint8_t host_mac[6])
{
	uint8_t *ip = f + eth_hdr(f, host_mac, 0x0800, false), *icmp = ip + 20;

	memset(ip, 0, 20 + 16);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 16);
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, net_ip, 4);
	memcpy(ip + 16, host_ip, 4);
	put16(ip + 10, net_csum_fold(net_csum_add(0, ip, 20)));
	icmp[0] = 8;
	put16(icmp + 4, 0x7a7a);
	put16(icmp + 6, 1);
	memcpy(icmp + 8, "bulkhead", 8);
	put16(icmp + 2, net_csum_fold(net_csum_add(0, icmp, 16)));
	return 14 + 20 + 16;
}

static bool sysctl_is(const char *key, const char *want)
{
	const char *v = output("ip netns exec %s cat /proc/sys/net/%s/conf/%s/%s",
			       env.ns, strcmp(key, "accept_redirects") ? "ipv6" :
			       "ipv4", env.tap, key);

	if (strncmp(v, want, strlen(want)) == 0 && v[strlen(want)] == '\n')
		return true;
	printf("# %s/%s: %s", env.tap, key, v);
	return false;
}

static void test_up(struct tap *t, const void *arg)
{
	bool made_netns, made_tap;
	char err[512] = "";

	(void)arg;
	CHECK_EQ(t, host_port_up(env.topo, &made_netns, &made_tap, err,
				 sizeof(err)), 0);
	if (err[0])
		printf("# %s\n", err);
	CHECK(t, made_netns && made_tap);
	CHECK(t, sysctl_is("disable_ipv6", "1"));
	CHECK(t, sysctl_is("accept_ra", "0"));
	CHECK(t, sysctl_is("accept_redirects", "0"));
}

/* A second up keeps the tap and sets IPv6 off again (an older tap, or
 * one someone turned IPv6 back on for, gets it too). */
static void test_up_again(struct tap *t, const void *arg)
{
	bool made_netns, made_tap;
	char err[512] = "";

	(void)arg;
	output("ip netns exec %s sysctl -q -w net.ipv6.conf.%s.disable_ipv6=0",
	       env.ns, env.tap);
	CHECK_EQ(t, host_port_up(env.topo, &made_netns, &made_tap, err,
				 sizeof(err)), 0);
	if (err[0])
		printf("# %s\n", err);
	CHECK(t, !made_netns && !made_tap);
	CHECK(t, sysctl_is("disable_ipv6", "1"));
	CHECK(t, sysctl_is("accept_ra", "0"));
}

static void test_link(struct tap *t, const void *arg)
{
	(void)arg;
	env.link_pid = fork();
	if (env.link_pid == 0) {
		/* In the tap's namespace: --tap-a finds the tap by name. */
		execlp("ip", "ip", "netns", "exec", env.ns, (const char *)arg,
		       "--tap-a", env.tap, "--b", env.sock,
		       "--control", env.control, "--name", "host", "--mac-a",
		       HOST_MAC_TEXT, "--mac-b", NET_MAC_TEXT, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(env.control, F_OK) != 0; i++)
		sleep_ms(10);
	env.fe_up = fe_connect(&env.fe, env.sock, 5000) == 0 &&
		    fe_start(&env.fe, FEATURES, false, QSIZE, MEM) == 0 &&
		    fe_post_rx(&env.fe, QSIZE) == 0;
	CHECK(t, env.fe_up);
}

static void test_ra(struct tap *t, const void *arg)
{
	uint8_t f[256];
	const char *r;

	(void)arg;
	if (!env.fe_up) {
		CHECK(t, env.fe_up);
		return;
	}
	/* Several, a while apart: the tap's link-local address may still be
	 * tentative when the first one arrives. */
	for (int i = 0; i < 6; i++) {
		CHECK_EQ(t, fe_send_frame(&env.fe, f, make_ra(f, i % 2)), 0);
		env.ra_sent++;
		fe_reap_tx(&env.fe);
		sleep_ms(300);
	}
	sleep_ms(500);
	r = output("ip -n %s -6 route show table all", env.ns);
	if (strstr(r, "default") || strstr(r, RA_PREFIX)) {
		printf("# routes: %s", r);
		CHECK(t, !"an IPv6 route from the advertisement");
	}
	r = output("ip -n %s -6 addr show", env.ns);
	if (strstr(r, RA_PREFIX)) {
		printf("# addresses: %s", r);
		CHECK(t, !"an IPv6 address from the advertisement");
	}
	CHECK_EQ(t, dropped("b_to_a", "not_ipv4_arp"), env.ra_sent);
}

/* Frames that arrived on side b within ms, looked for an ARP reply and an
 * ICMP echo reply from the host port. */
static void await_replies(int ms, bool *arp, bool *echo, uint8_t host_mac[6])
{
	static uint8_t f[2048];

	for (int waited = 0; waited < ms && !(*arp && *echo); waited += 100) {
		int n = fe_recv_frame(&env.fe, f, sizeof(f), 100);

		if (n < 42)
			continue;
		if (f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
		    memcmp(f + 28, host_ip, 4) == 0) {
			*arp = true;
			memcpy(host_mac, f + 22, 6);
		}
		if (f[12] == 0x08 && f[13] == 0x00 && f[23] == 1 && f[34] == 0 &&
		    memcmp(f + 26, host_ip, 4) == 0)
			*echo = true;
	}
}

static void test_ipv4(struct tap *t, const void *arg)
{
	uint8_t f[128], host_mac[6] = { 0 };
	bool arp = false, echo = false;

	(void)arg;
	if (!env.fe_up) {
		CHECK(t, env.fe_up);
		return;
	}
	CHECK_EQ(t, fe_send_frame(&env.fe, f, make_arp(f)), 0);
	await_replies(3000, &arp, &echo, host_mac);
	CHECK(t, arp);
	if (arp) {
		CHECK_EQ(t, fe_send_frame(&env.fe, f, make_ping(f, host_mac)), 0);
		await_replies(3000, &arp, &echo, host_mac);
	}
	CHECK(t, echo);
	CHECK_EQ(t, dropped("b_to_a", "not_ipv4_arp"), env.ra_sent);
}

static const char topo_fmt[] =
	"version: 1\n"
	"name: hp%d\n"
	"driver-vms:\n"
	"  - name: hp-net\n"
	"    kind: net\n"
	"    devices:\n"
	"      - emulated: e1000e\n"
	"        netns: %s-up\n"
	"host-port:\n"
	"  net: hp-net\n"
	"  mac: \"" HOST_MAC_TEXT "\"\n"
	"  ip: 10.203.0.2/30\n"
	"  netns: %s\n"
	"  default-route: no\n";

int main(int argc, char **argv)
{
	char text[512], err[512], link_bin[PATH_MAX];
	int n, ret;

	/* Absolute: the link is started through "ip netns exec". */
	if (argc != 2 || !realpath(argv[1], link_bin))
		return 2;
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (a namespace and a tap)\n");
		return 0;
	}
	struct tap_case cases[] = {
		{ "host_port_up: the tap in its namespace, IPv6 off on it "
		  "(disable_ipv6 1, accept_ra 0)", test_up, NULL },
		{ "a second up: the tap kept, IPv6 off again", test_up_again, NULL },
		{ "bulkhead-link --tap-a on it, side b a front end",
		  test_link, link_bin },
		{ "router advertisements from side b (plain and 802.1Q "
		  "priority-tagged): no IPv6 route or address in the namespace, "
		  "counted not_ipv4_arp", test_ra, NULL },
		{ "IPv4 still crosses: ARP and ping answered", test_ipv4, NULL },
	};

	signal(SIGPIPE, SIG_IGN);
	snprintf(env.ns, sizeof(env.ns), "bk-hp-%d", getpid());
	snprintf(env.dir, sizeof(env.dir), "/tmp/bulkhead-hostport-XXXXXX");
	if (!mkdtemp(env.dir))
		return 1;
	snprintf(env.sock, sizeof(env.sock), "%s/b.sock", env.dir);
	snprintf(env.control, sizeof(env.control), "%s/control.sock", env.dir);
	n = snprintf(text, sizeof(text), topo_fmt, getpid() % 100000, env.ns,
		     env.ns);
	if (topology_load_buffer("host-port.yaml", text, (size_t)n, &env.topo,
				 err, sizeof(err)) < 0) {
		printf("Bail out! topology: %s\n", err);
		rmdir(env.dir);
		return 1;
	}
	plan_host_tap_name(env.topo, env.tap);
	ret = tap_run(cases, sizeof(cases) / sizeof(cases[0]));
	if (env.fe_up)
		fe_close(&env.fe);
	if (env.link_pid > 0) {
		kill(env.link_pid, SIGTERM);
		waitpid(env.link_pid, NULL, 0);
	}
	host_port_down(env.topo);
	host_net_netns_delete(env.ns, err, sizeof(err));
	unlink(env.sock);
	unlink(env.control);
	rmdir(env.dir);
	topology_free(env.topo);
	return ret;
}
