/* The value syntaxes of a topology file, as pure functions. They follow
 * bk-config (driver-vms/net/bk-config), which reads what bulkhead makes of
 * them inside sys-net: whatever passes here must pass there. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "topology_internal.h"

/* 1..MAX of a-z first, then a-z, 0-9 and '-'. */
static bool lower_name_valid(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	}
	return true;
}

bool topo_name_valid(const char *s)
{
	return lower_name_valid(s, TOPO_NAME_MAX);
}

bool topo_template_name_valid(const char *s)
{
	return lower_name_valid(s, TOPO_TEMPLATE_NAME_MAX);
}

/* 1..MAX of A-Z a-z 0-9 _ . -, and not "." or "..": a name under
 * /run/netns, or an interface name (where the kernel refuses those two). */
static bool word_valid(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!(isascii((unsigned char)s[i]) &&
		      (isalnum((unsigned char)s[i]) || s[i] == '_' ||
		       s[i] == '.' || s[i] == '-')))
			return false;
	}
	return true;
}

bool topo_netns_valid(const char *s)
{
	return word_valid(s, 32);
}

/* IFNAMSIZ is 16 with the NUL. */
bool topo_ifname_valid(const char *s)
{
	return word_valid(s, 15);
}

/* A decimal number of at most MAX_DIGITS digits, no sign, no leading
 * zero, up to END (or the NUL). */
static bool decimal(const char *s, const char *end, unsigned max_digits,
		    unsigned long *out)
{
	size_t len = end ? (size_t)(end - s) : strlen(s);
	unsigned long v = 0;

	if (len == 0 || len > max_digits || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return true;
}

bool topo_u32_parse(const char *s, uint32_t *out)
{
	unsigned long v;

	if (!decimal(s, NULL, 10, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool ipv4_span(const char *s, const char *end, uint32_t *addr)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		const char *dot = i < 3 ? memchr(s, '.', (size_t)(end - s)) : end;
		unsigned long octet;

		if (dot == NULL || !decimal(s, dot, 3, &octet) || octet > 255)
			return false;
		v = v << 8 | (uint32_t)octet;
		s = dot + 1;
	}
	*addr = v;
	return true;
}

bool topo_ipv4_parse(const char *s, uint32_t *addr)
{
	return ipv4_span(s, s + strlen(s), addr);
}

enum topo_cidr_status topo_cidr_parse(const char *s, uint32_t *addr,
				      unsigned *prefix)
{
	const char *slash = strchr(s, '/');
	unsigned long p;

	if (slash == NULL)
		return TOPO_CIDR_NO_SLASH;
	if (!ipv4_span(s, slash, addr))
		return TOPO_CIDR_BAD_ADDRESS;
	if (!decimal(slash + 1, NULL, 2, &p) || p > 32)
		return TOPO_CIDR_BAD_PREFIX;
	*prefix = (unsigned)p;
	return TOPO_CIDR_OK;
}

uint32_t topo_prefix_mask(unsigned prefix)
{
	/* A shift by 32 is undefined: /0 has no network bits. */
	return prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
}

struct topo_ip4_text topo_ip4_format(uint32_t addr)
{
	struct topo_ip4_text t;

	snprintf(t.s, sizeof(t.s), "%u.%u.%u.%u", addr >> 24 & 255,
		 addr >> 16 & 255, addr >> 8 & 255, addr & 255);
	return t;
}

bool topo_ip6_parse(const char *s, struct in6_addr *addr)
{
	return inet_pton(AF_INET6, s, addr) == 1;
}

enum topo_cidr_status topo_cidr6_parse(const char *s, struct in6_addr *addr,
				       unsigned *prefix)
{
	const char *slash = strchr(s, '/');
	/* The longest text inet_pton takes is INET6_ADDRSTRLEN - 1
	 * (a dotted-quad tail); one more byte tells a longer one apart. */
	char text[INET6_ADDRSTRLEN + 1];
	size_t len;
	unsigned long p;

	if (slash == NULL)
		return TOPO_CIDR_NO_SLASH;
	len = (size_t)(slash - s);
	if (len >= sizeof(text))
		return TOPO_CIDR_BAD_ADDRESS;
	memcpy(text, s, len);
	text[len] = '\0';
	if (!topo_ip6_parse(text, addr))
		return TOPO_CIDR_BAD_ADDRESS;
	if (!decimal(slash + 1, NULL, 3, &p) || p > 128)
		return TOPO_CIDR_BAD_PREFIX;
	*prefix = (unsigned)p;
	return TOPO_CIDR_OK;
}

struct in6_addr topo_ip6_network(const struct in6_addr *addr, unsigned prefix)
{
	struct in6_addr net = *addr;

	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = prefix > 8 * i ? prefix - 8 * i : 0;

		/* 0xff00 >> KEEP: the byte's first KEEP bits. */
		if (keep < 8)
			net.s6_addr[i] &= (uint8_t)(0xff00 >> keep);
	}
	return net;
}

bool topology_ip6_same_net(const struct in6_addr *a, const struct in6_addr *b,
			   unsigned prefix)
{
	struct in6_addr na = topo_ip6_network(a, prefix);
	struct in6_addr nb = topo_ip6_network(b, prefix);

	return memcmp(&na, &nb, sizeof(na)) == 0;
}

enum topo_ip6_scope topo_ip6_scope(const struct in6_addr *addr)
{
	const uint8_t *b = addr->s6_addr;

	if ((b[0] & 0xe0) == 0x20)
		return TOPO_IP6_GLOBAL;
	if ((b[0] & 0xfe) == 0xfc)
		return TOPO_IP6_ULA;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return TOPO_IP6_LINK_LOCAL;
	return TOPO_IP6_OTHER;
}

struct topo_ip6_text topology_ip6_format(const struct in6_addr *addr)
{
	struct topo_ip6_text t;
	unsigned group[8], best = 0, best_len = 0, len = 0;
	size_t n = 0;

	for (unsigned i = 0; i < 8; i++)
		group[i] = (unsigned)addr->s6_addr[2 * i] << 8 |
			   addr->s6_addr[2 * i + 1];
	/* The longest run of zero groups; a later one only if longer. */
	for (unsigned i = 0; i < 8; i++) {
		len = group[i] == 0 ? len + 1 : 0;
		if (len > best_len) {
			best_len = len;
			best = i + 1 - len;
		}
	}
	/* RFC 5952 4.2.2: one zero group alone is written "0", not "::". */
	if (best_len < 2)
		best_len = 0;
	for (unsigned i = 0; i < 8; i++) {
		if (best_len && i == best) {
			n += (size_t)snprintf(t.s + n, sizeof(t.s) - n, "::");
			i += best_len - 1;
			continue;
		}
		n += (size_t)snprintf(t.s + n, sizeof(t.s) - n, "%s%x",
				      n && t.s[n - 1] != ':' ? ":" : "",
				      group[i]);
	}
	return t;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool topology_mac_parse(const char *s, size_t len, unsigned char mac[6])
{
	if (len != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		mac[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

enum topo_mac_status topo_mac_normalize(char *s)
{
	unsigned char octet[6];

	if (!topology_mac_parse(s, strlen(s), octet))
		return TOPO_MAC_SYNTAX;
	for (int i = 0; i < 17; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	/* The I/G bit: a multicast source address is never a NIC's. */
	if (octet[0] & 1)
		return TOPO_MAC_MULTICAST;
	for (int i = 0; i < 6; i++) {
		if (octet[i] != 0)
			return TOPO_MAC_OK;
	}
	return TOPO_MAC_ZERO;
}

/* N hex digits of S, exactly. */
static bool hex_span(const char *s, int n, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		int d = hex_digit(s[i]);

		if (d < 0)
			return false;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return true;
}

bool topo_pci_normalize(const char *s, char out[13])
{
	unsigned domain = 0, bus, dev, fn;
	size_t len = strlen(s);

	if (len == 12) {
		if (!hex_span(s, 4, &domain) || s[4] != ':')
			return false;
		s += 5;
	} else if (len != 7) {
		return false;
	}
	/* BB:DD.F: 8-bit bus, 5-bit device, 3-bit function. */
	if (!hex_span(s, 2, &bus) || s[2] != ':' || !hex_span(s + 3, 2, &dev) ||
	    s[5] != '.' || !hex_span(s + 6, 1, &fn) || dev > 0x1f || fn > 7)
		return false;
	return snprintf(out, 13, "%04x:%02x:%02x.%x", domain, bus, dev, fn) == 12;
}

bool topo_port_parse(const char *s, unsigned *lo, unsigned *hi)
{
	const char *dash = strchr(s, '-');
	unsigned long a, b;

	if (!decimal(s, dash, 5, &a) || a < 1 || a > 65535)
		return false;
	b = a;
	if (dash && (!decimal(dash + 1, NULL, 5, &b) || b < 1 || b > 65535))
		return false;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return true;
}
