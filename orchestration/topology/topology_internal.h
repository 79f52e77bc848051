/* Shared by the topology parser's files (not for the rest of bulkhead):
 *   topology.c        reading the file, the steps in order, freeing
 *   topology_lines.c  the libyaml document: syntax errors, a field's line,
 *                     the one-line error message
 *   topology_schema.c the libcyaml schema of each version, the load
 *   topology_schema_errors.c  libcyaml's errors as our messages
 *   topology_check.c  defaults and the rules libcyaml cannot express
 *   topology_addr.c   names, MACs, IPv4 and IPv6 addresses, PCI addresses,
 *                     ports */
#ifndef BULKHEAD_TOPOLOGY_INTERNAL_H
#define BULKHEAD_TOPOLOGY_INTERNAL_H

#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cyaml/cyaml.h>
#include <yaml.h>

#include "topology.h"

/* A field path as messages print it and topo_doc_* walk it:
 * "app-vms[1].firewall.rules[0].port", "talk[2][1]", "" for the file. */
#define TOPO_FIELD_MAX 96

/* One load: where messages go, and the file as a libyaml document (kept
 * beside libcyaml's result only to find lines and which keys were given). */
struct topo_ctx {
	const char *path;
	char *err;
	size_t err_len;
	yaml_document_t doc;
	bool have_doc;
};

/* topology_lines.c */

/* Parses DATA as one YAML document into ctx->doc. A syntax error, an
 * empty file or a second document is reported (-EINVAL). */
int topo_doc_load(struct topo_ctx *ctx, const void *data, size_t len);
void topo_doc_free(struct topo_ctx *ctx);
/* The node at FIELD, or NULL when some part of it is not in the file. */
yaml_node_t *topo_doc_node(struct topo_ctx *ctx, const char *field);
/* FIELD's scalar text, or NULL when it is absent or not a scalar. */
const char *topo_doc_scalar(struct topo_ctx *ctx, const char *field);
/* The line to blame for FIELD: its key's line for a mapping value, its
 * own for a list entry; when FIELD is absent, the line of the nearest part
 * that is there. 0 when unknown. */
unsigned topo_doc_line(struct topo_ctx *ctx, const char *field);
/* The line of the NTH (0-based) occurrence of KEY in the mapping at
 * FIELD (libyaml keeps repeated keys; libcyaml rejects them). 0: none. */
unsigned topo_doc_key_line(struct topo_ctx *ctx, const char *field,
			   const char *key, unsigned nth);

/* "PATH:LINE: FIELD: MESSAGE" into ctx->err (": FIELD" left out when FIELD
 * is empty, "LINE:" when LINE is 0). Returns -EINVAL. */
int topo_fail_line(struct topo_ctx *ctx, unsigned line, const char *field,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same at BASE.KEY (KEY may be NULL: at BASE), blaming its line. */
int topo_fail(struct topo_ctx *ctx, const char *base, const char *key,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* BASE.KEY into FIELD (of TOPO_FIELD_MAX bytes). */
void topo_field(char *field, const char *base, const char *key);
/* A printf-made field ("app-vms[%u]") into FIELD (TOPO_FIELD_MAX). */
void topo_fieldf(char *field, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A value quoted in a message: printable ASCII ('?' for anything else),
 * cut to TOPO_SHOW_MAX characters with "...". A struct so that several
 * can stand in one printf: topo_show(a).s, topo_show(b).s. */
#define TOPO_SHOW_MAX 40
struct topo_shown {
	char s[TOPO_SHOW_MAX + 4];
};
struct topo_shown topo_show(const char *value);

/* topology_schema.c */

/* What libcyaml loads: the topology, with the talk pairs as libcyaml can
 * hold them (each a pointer to char *[2]; topology.c turns them into
 * struct topo_talk). */
struct topo_raw {
	struct topology topo;
	char ***talk;
	unsigned talk_count;
};

/* Loads DATA against the schema. On an error, reports it through ctx and
 * returns -EINVAL (-ENOMEM when memory ran out). */
int topo_schema_load(struct topo_ctx *ctx, const void *data, size_t len,
		     struct topo_raw **out);
/* topology_schema_errors.c */

/* The error libcyaml logged: its message and its backtrace (the frames,
 * innermost first), and the schema the file was loaded against. */
#define TOPO_CAPTURE_FRAMES 16
enum topo_frame_kind { FRAME_MAPPING, FRAME_FIELD, FRAME_ENTRY };

struct topo_frame {
	enum topo_frame_kind kind;
	char key[32];           /* FRAME_FIELD */
	unsigned count;         /* FRAME_ENTRY: libcyaml's entry count */
};

struct topo_capture {
	char msg[256];
	struct topo_frame frames[TOPO_CAPTURE_FRAMES];
	unsigned nframes;
	bool in_backtrace;
	bool done;              /* past the first error's backtrace */
	const cyaml_schema_value_t *root;       /* the version's schema */
};

/* libcyaml's log callback; LOG_CTX is a struct topo_capture. */
void topo_capture_log(cyaml_log_t level, void *log_ctx, const char *fmt,
		      va_list args) __attribute__((format(printf, 3, 0)));
/* The captured error (CERR, libcyaml's code) reported through CTX at its
 * field's line; returns -EINVAL (-ENOMEM when memory ran out). */
int topo_schema_report(struct topo_ctx *ctx, const struct topo_capture *cap,
		       cyaml_err_t cerr);

/* libcyaml's allocator: plain realloc/free, so that topology_free can
 * free what it allocated. */
void *topo_schema_mem(void *mem_ctx, void *ptr, size_t size);

/* topology_check.c */

/* Fills the defaults libcyaml leaves zero and checks every rule; on the
 * first problem reports it and returns -EINVAL. Normalizes MACs (lower
 * case), PCI addresses (0000: prefix, lower case) and single-port
 * ranges ("80-80" becomes "80"). */
int topo_check(struct topo_ctx *ctx, struct topology *topo);

/* topology_addr.c: pure parsers, no messages. */

/* A decimal number without sign or leading zeros, at most UINT32_MAX. */
bool topo_u32_parse(const char *s, uint32_t *out);
bool topo_name_valid(const char *s);
/* A template's name: as a VM's but up to TOPO_TEMPLATE_NAME_MAX (it names
 * a directory of the image cache, never a domain or an interface). */
bool topo_template_name_valid(const char *s);
bool topo_netns_valid(const char *s);
bool topo_ifname_valid(const char *s);
/* A strict dotted quad: four decimal octets 0..255, no leading zeros. */
bool topo_ipv4_parse(const char *s, uint32_t *addr);

enum topo_cidr_status {
	TOPO_CIDR_OK,
	TOPO_CIDR_NO_SLASH,
	TOPO_CIDR_BAD_ADDRESS,
	TOPO_CIDR_BAD_PREFIX,   /* not a decimal number 0..32 */
};
enum topo_cidr_status topo_cidr_parse(const char *s, uint32_t *addr,
				      unsigned *prefix);
uint32_t topo_prefix_mask(unsigned prefix);

struct topo_ip4_text {
	char s[16];
};
struct topo_ip4_text topo_ip4_format(uint32_t addr);

/* IPv6 text as inet_pton reads it (hex groups, at most one "::", a
 * dotted-quad tail), nothing before or after: no zone, no brackets. */
bool topo_ip6_parse(const char *s, struct in6_addr *addr);
/* X/N: the statuses of topo_cidr_parse, TOPO_CIDR_BAD_PREFIX when N is not
 * a decimal number 0..128 (no leading zeros). */
enum topo_cidr_status topo_cidr6_parse(const char *s, struct in6_addr *addr,
				       unsigned *prefix);
/* ADDR with every bit past the first PREFIX (0..128) cleared. */
struct in6_addr topo_ip6_network(const struct in6_addr *addr,
				 unsigned prefix);

enum topo_ip6_scope {
	TOPO_IP6_GLOBAL,        /* 2000::/3, global unicast (RFC 4291) */
	TOPO_IP6_ULA,           /* fc00::/7, unique local (RFC 4193) */
	TOPO_IP6_LINK_LOCAL,    /* fe80::/10 */
	TOPO_IP6_OTHER,         /* ::, ::1, multicast, the unassigned rest */
};
enum topo_ip6_scope topo_ip6_scope(const struct in6_addr *addr);

enum topo_mac_status {
	TOPO_MAC_OK,
	TOPO_MAC_SYNTAX,
	TOPO_MAC_MULTICAST,
	TOPO_MAC_ZERO,
};
/* xx:xx:xx:xx:xx:xx, either case; lowers S in place when it is one. */
enum topo_mac_status topo_mac_normalize(char *s);

/* DDDD:BB:DD.F or BB:DD.F (hex; device <= 0x1f, function <= 7) into OUT
 * as "dddd:bb:dd.f". */
bool topo_pci_normalize(const char *s, char out[13]);

/* "P" or "P-Q", 1..65535 without leading zeros. */
bool topo_port_parse(const char *s, unsigned *lo, unsigned *hi);

#endif
