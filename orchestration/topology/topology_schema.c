/* The topology file's shape as libcyaml schema tables, and libcyaml's
 * errors turned into our one line.
 *
 * libcyaml (1.3.1) reports an error through its log callback as a message
 * ("Load: Unexpected key: memry") and a backtrace of its state stack,
 * innermost first ("  in mapping field 'vms' (line: 2, column: 3)",
 * "  in sequence entry '1' ...", "  in mapping ..."). The callback keeps
 * the first message and its frames in a context (no global state); the
 * frames give the field path, and the libyaml document gives the line and
 * the offending value (libcyaml's own line numbers point at whatever event
 * it read last, often the one before the problem).
 *
 * What libcyaml does not check (number syntax and ranges, defaults, every
 * rule across fields) is topology_check.c's. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>

#include "topology_internal.h"

/* Tables: the YAML spellings of the enums. CYAML_FLAG_STRICT everywhere:
 * without it libcyaml also takes a number ("accel: 7"). */
static const cyaml_strval_t accel_strings[] = {
	{ "auto", TOPO_ACCEL_AUTO },
	{ "kvm", TOPO_ACCEL_KVM },
	{ "tcg", TOPO_ACCEL_TCG },
};
static const cyaml_strval_t mode_strings[] = {
	{ "dhcp", TOPO_UPLINK_DHCP },
	{ "static", TOPO_UPLINK_STATIC },
};
static const cyaml_strval_t emulated_strings[] = {
	{ "e1000e", TOPO_EMULATED_E1000E },
	{ "igb", TOPO_EMULATED_IGB },
};
static const cyaml_strval_t action_strings[] = {
	{ "allow", TOPO_RULE_ALLOW },
	{ "deny", TOPO_RULE_DENY },
};
static const cyaml_strval_t proto_strings[] = {
	{ "any", TOPO_PROTO_ANY },
	{ "tcp", TOPO_PROTO_TCP },
	{ "udp", TOPO_PROTO_UDP },
	{ "icmp", TOPO_PROTO_ICMP },
};
static const cyaml_strval_t policy_strings[] = {
	{ "accept", TOPO_POLICY_ACCEPT },
	{ "drop", TOPO_POLICY_DROP },
};
/* libcyaml's own CYAML_BOOL takes anything but false/no/off/disable/0 as
 * true ("autostart: flase" would start the VM): an enum is exact. */
static const cyaml_strval_t bool_strings[] = {
	{ "true", true }, { "false", false },
	{ "yes", true }, { "no", false },
	{ "on", true }, { "off", false },
};

#define ENUM_FIELD(key, flags, type, member, strings)                     \
	CYAML_FIELD_ENUM(key, (flags) | CYAML_FLAG_STRICT, type, member,  \
			 strings, CYAML_ARRAY_LEN(strings))
#define STRING_FIELD(key, flags, type, member)                            \
	CYAML_FIELD_STRING_PTR(key, (flags) | CYAML_FLAG_POINTER, type,   \
			       member, 0, CYAML_UNLIMITED)
#define OPT CYAML_FLAG_OPTIONAL
#define REQ CYAML_FLAG_DEFAULT

static const cyaml_schema_value_t string_entry = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t device_fields[] = {
	STRING_FIELD("pci", OPT, struct topo_device, pci),
	ENUM_FIELD("emulated", OPT, struct topo_device, emulated,
		   emulated_strings),
	STRING_FIELD("netns", OPT, struct topo_device, netns),
	STRING_FIELD("bridge", OPT, struct topo_device, bridge),
	STRING_FIELD("mac", OPT, struct topo_device, mac),
	CYAML_FIELD_END
};
static const cyaml_schema_value_t device_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct topo_device,
			    device_fields),
};

static const cyaml_schema_field_t uplink_fields[] = {
	ENUM_FIELD("mode", OPT, struct topo_uplink, mode, mode_strings),
	STRING_FIELD("address", OPT, struct topo_uplink, address),
	STRING_FIELD("gateway", OPT, struct topo_uplink, gateway),
	/* Three: what sys-net hands on in its DHCP leases (bk-config). */
	CYAML_FIELD_SEQUENCE("dns", CYAML_FLAG_POINTER | OPT,
			     struct topo_uplink, dns, &string_entry, 0, 3),
	STRING_FIELD("address6", OPT, struct topo_uplink, address6),
	STRING_FIELD("gateway6", OPT, struct topo_uplink, gateway6),
	STRING_FIELD("mac", OPT, struct topo_uplink, mac),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t driver_vm_fields[] = {
	STRING_FIELD("name", REQ, struct topo_driver_vm, name),
	STRING_FIELD("kind", REQ, struct topo_driver_vm, kind),
	CYAML_FIELD_UINT("memory", OPT, struct topo_driver_vm, memory_mib),
	CYAML_FIELD_UINT("vcpus", OPT, struct topo_driver_vm, vcpus),
	/* Optional here: which kinds need devices is the kind's to say
	 * (net's: topology_check_driver.c). */
	CYAML_FIELD_SEQUENCE("devices", CYAML_FLAG_POINTER | OPT,
			     struct topo_driver_vm, devices, &device_entry,
			     0, TOPO_MAX_DEVICES),
	CYAML_FIELD_MAPPING_PTR("uplink", CYAML_FLAG_POINTER | OPT,
				struct topo_driver_vm, uplink, uplink_fields),
	CYAML_FIELD_END
};
static const cyaml_schema_value_t driver_vm_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct topo_driver_vm,
			    driver_vm_fields),
};

static const cyaml_schema_field_t rule_fields[] = {
	ENUM_FIELD("action", REQ, struct topo_rule, action, action_strings),
	STRING_FIELD("dst", OPT, struct topo_rule, dst),
	ENUM_FIELD("proto", OPT, struct topo_rule, proto, proto_strings),
	/* A string, so that "80" and "1000-2000" both load; a plain 80 in
	 * the YAML is a scalar like any other to libcyaml. */
	STRING_FIELD("port", OPT, struct topo_rule, port),
	CYAML_FIELD_END
};
static const cyaml_schema_value_t rule_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct topo_rule, rule_fields),
};

static const cyaml_schema_field_t firewall_fields[] = {
	ENUM_FIELD("policy", OPT, struct topo_firewall, policy,
		   policy_strings),
	CYAML_FIELD_SEQUENCE("rules", CYAML_FLAG_POINTER | OPT,
			     struct topo_firewall, rules, &rule_entry, 0,
			     TOPO_MAX_RULES),
	CYAML_FIELD_END
};

/* Version 2: an app VM names the driver VM that serves it for each class
 * in that class's own mapping (net: {via: sys-net, mac: ...}). */
static const cyaml_schema_field_t net_attach_fields[] = {
	STRING_FIELD("via", REQ, struct topo_net_attach, via),
	STRING_FIELD("mac", REQ, struct topo_net_attach, mac),
	STRING_FIELD("ip", REQ, struct topo_net_attach, ip),
	STRING_FIELD("gateway", OPT, struct topo_net_attach, gateway),
	/* auto, off or a network: text, made ipv6_mode by the check. */
	STRING_FIELD("ipv6", OPT, struct topo_net_attach, ipv6),
	CYAML_FIELD_MAPPING_PTR("firewall", CYAML_FLAG_POINTER | OPT,
				struct topo_net_attach, firewall,
				firewall_fields),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t attach_fields[] = {
	STRING_FIELD("via", REQ, struct topo_attach, via),
	CYAML_FIELD_END
};

#define APP_VM_COMMON_FIELDS                                               \
	STRING_FIELD("name", REQ, struct topo_app_vm, name),               \
	CYAML_FIELD_UINT("memory", OPT, struct topo_app_vm, memory_mib),   \
	CYAML_FIELD_UINT("vcpus", OPT, struct topo_app_vm, vcpus),         \
	STRING_FIELD("image", OPT, struct topo_app_vm, image)
#define AUTOSTART_FIELD                                                    \
	ENUM_FIELD("autostart", OPT, struct topo_app_vm, autostart,        \
		   bool_strings)

static const cyaml_schema_field_t app_vm_fields[] = {
	APP_VM_COMMON_FIELDS,
	/* Required until an app VM image runs without a network (the
	 * busybox image waits for its NIC). */
	CYAML_FIELD_MAPPING("net", REQ, struct topo_app_vm, net,
			    net_attach_fields),
	CYAML_FIELD_MAPPING("usb", OPT, struct topo_app_vm, usb,
			    attach_fields),
	CYAML_FIELD_MAPPING("storage", OPT, struct topo_app_vm, storage,
			    attach_fields),
	AUTOSTART_FIELD,
	CYAML_FIELD_END
};
static const cyaml_schema_value_t app_vm_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct topo_app_vm,
			    app_vm_fields),
};

/* Version 1, converted as it loads: its flat network fields land in the
 * same struct topo_net_attach version 2 spells as a mapping. */
static const cyaml_schema_field_t app_vm_v1_fields[] = {
	APP_VM_COMMON_FIELDS,
	STRING_FIELD("net", REQ, struct topo_app_vm, net.via),
	STRING_FIELD("mac", REQ, struct topo_app_vm, net.mac),
	STRING_FIELD("ip", REQ, struct topo_app_vm, net.ip),
	STRING_FIELD("gateway", OPT, struct topo_app_vm, net.gateway),
	STRING_FIELD("ipv6", OPT, struct topo_app_vm, net.ipv6),
	CYAML_FIELD_MAPPING_PTR("firewall", CYAML_FLAG_POINTER | OPT,
				struct topo_app_vm, net.firewall,
				firewall_fields),
	AUTOSTART_FIELD,
	CYAML_FIELD_END
};
static const cyaml_schema_value_t app_vm_v1_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct topo_app_vm,
			    app_vm_v1_fields),
};

/* A talk pair is a two-entry list, "- [work, personal]". libcyaml 1.3.1
 * loads a fixed-size list inside a list with one entry size and frees it
 * with another (a double free) unless the pair is behind a pointer: so
 * each pair is a char *[2] of its own, and topology.c copies the names
 * into struct topo_talk. */
static const cyaml_schema_value_t talk_pair_entry = {
	CYAML_VALUE_SEQUENCE_FIXED(CYAML_FLAG_POINTER, char *, &string_entry, 2),
};

/* The host port's driver VM is "via" from version 2 on, "net" before. */
#define HOST_PORT_FIELDS(via_key)                                          \
	STRING_FIELD(via_key, REQ, struct topo_host_port, via),            \
	STRING_FIELD("mac", REQ, struct topo_host_port, mac),              \
	STRING_FIELD("ip", REQ, struct topo_host_port, ip),                \
	STRING_FIELD("gateway", OPT, struct topo_host_port, gateway),      \
	STRING_FIELD("netns", OPT, struct topo_host_port, netns),          \
	ENUM_FIELD("default-route", OPT, struct topo_host_port,            \
		   default_route, bool_strings),                           \
	CYAML_FIELD_END

static const cyaml_schema_field_t host_port_fields[] = {
	HOST_PORT_FIELDS("via")
};
static const cyaml_schema_field_t host_port_v1_fields[] = {
	HOST_PORT_FIELDS("net")
};

#define TOP_FIELDS(app_entry, hp_fields)                                   \
	CYAML_FIELD_UINT("version", REQ, struct topo_raw, topo.version),   \
	STRING_FIELD("name", OPT, struct topo_raw, topo.name),             \
	ENUM_FIELD("accel", OPT, struct topo_raw, topo.accel,              \
		   accel_strings),                                         \
	CYAML_FIELD_SEQUENCE("driver-vms", CYAML_FLAG_POINTER,             \
			     struct topo_raw, topo.driver_vms,             \
			     &driver_vm_entry, 1, TOPO_MAX_DRIVER_VMS),    \
	CYAML_FIELD_SEQUENCE("app-vms", CYAML_FLAG_POINTER | OPT,          \
			     struct topo_raw, topo.app_vms, (app_entry),   \
			     0, TOPO_MAX_APP_VMS),                         \
	CYAML_FIELD_SEQUENCE("talk", CYAML_FLAG_POINTER | OPT,             \
			     struct topo_raw, talk, &talk_pair_entry, 0,   \
			     TOPO_MAX_TALK),                               \
	CYAML_FIELD_MAPPING_PTR("host-port", CYAML_FLAG_POINTER | OPT,     \
				struct topo_raw, topo.host_port,           \
				(hp_fields)),                              \
	CYAML_FIELD_END

static const cyaml_schema_field_t top_fields[] = {
	TOP_FIELDS(&app_vm_entry, host_port_fields)
};
static const cyaml_schema_value_t top_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct topo_raw, top_fields),
};
static const cyaml_schema_field_t top_v1_fields[] = {
	TOP_FIELDS(&app_vm_v1_entry, host_port_v1_fields)
};
static const cyaml_schema_value_t top_v1_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct topo_raw,
			    top_v1_fields),
};

/* The error libcyaml logged: its message and its backtrace. */
#define FRAMES_MAX 16
enum frame_kind { FRAME_MAPPING, FRAME_FIELD, FRAME_ENTRY };

struct frame {
	enum frame_kind kind;
	char key[32];           /* FRAME_FIELD */
	unsigned count;         /* FRAME_ENTRY: libcyaml's entry count */
};

struct capture {
	char msg[256];
	struct frame frames[FRAMES_MAX];        /* innermost first */
	unsigned nframes;
	bool in_backtrace;
	bool done;              /* past the first error's backtrace */
	const cyaml_schema_value_t *root;       /* the version's schema */
};

static void parse_frame(struct capture *cap, const char *line)
{
	static const char field_prefix[] = "in mapping field '";
	static const char entry_prefix[] = "in sequence entry '";
	struct frame *f;

	line += strspn(line, " ");
	if (cap->nframes == FRAMES_MAX)
		return;
	f = &cap->frames[cap->nframes];
	if (strncmp(line, field_prefix, sizeof(field_prefix) - 1) == 0) {
		const char *key = line + sizeof(field_prefix) - 1;
		size_t len = strcspn(key, "'");

		if (len >= sizeof(f->key))
			len = sizeof(f->key) - 1;
		f->kind = FRAME_FIELD;
		memcpy(f->key, key, len);
		f->key[len] = '\0';
	} else if (strncmp(line, entry_prefix, sizeof(entry_prefix) - 1) == 0) {
		f->kind = FRAME_ENTRY;
		f->count = (unsigned)strtoul(line + sizeof(entry_prefix) - 1,
					     NULL, 10);
	} else if (strncmp(line, "in mapping", 10) == 0) {
		f->kind = FRAME_MAPPING;
	} else {
		return;
	}
	cap->nframes++;
}

static void capture_log(cyaml_log_t level, void *log_ctx, const char *fmt,
			va_list args) __attribute__((format(printf, 3, 0)));

static void capture_log(cyaml_log_t level, void *log_ctx, const char *fmt,
			va_list args)
{
	struct capture *cap = log_ctx;
	char line[256];
	const char *text = line;
	size_t len;

	if (level < CYAML_LOG_ERROR || cap->done)
		return;
	vsnprintf(line, sizeof(line), fmt, args);
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '))
		line[--len] = '\0';
	if (strncmp(text, "Load: ", 6) == 0)
		text += 6;
	if (strcmp(text, "Backtrace:") == 0) {
		cap->in_backtrace = true;
	} else if (cap->in_backtrace && strncmp(text, "  in ", 5) == 0) {
		parse_frame(cap, text);
	} else if (cap->in_backtrace) {
		cap->done = true;
	} else if (cap->msg[0] == '\0') {
		snprintf(cap->msg, sizeof(cap->msg), "%s", text);
	}
}

void *topo_schema_mem(void *mem_ctx, void *ptr, size_t size)
{
	(void)mem_ctx;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, size);
}

/* The error's field: the frames, outermost first, as "a[1].b". An entry
 * frame counts the entries begun, the one being read included, so its
 * index is one less. DROP_INNERMOST leaves out the innermost frame when
 * it is a FRAME_FIELD (a key error: the field is the last one read, not
 * the one at fault) or a FRAME_ENTRY (a count error: the list itself). */
static void frames_field(const struct capture *cap, bool drop_innermost,
			 char *field)
{
	unsigned first = 0;

	field[0] = '\0';
	if (drop_innermost && cap->nframes > 0 &&
	    cap->frames[0].kind != FRAME_MAPPING)
		first = 1;
	for (unsigned i = cap->nframes; i-- > first;) {
		const struct frame *f = &cap->frames[i];
		size_t len = strlen(field);

		if (f->kind == FRAME_FIELD)
			snprintf(field + len, TOPO_FIELD_MAX - len, "%s%s",
				 len ? "." : "", f->key);
		else if (f->kind == FRAME_ENTRY)
			snprintf(field + len, TOPO_FIELD_MAX - len, "[%u]",
				 f->count ? f->count - 1 : 0);
	}
}

/* The schema at FIELD (a path frames_field wrote) under ROOT, or NULL. */
static const cyaml_schema_value_t *schema_at(const cyaml_schema_value_t *root,
					     const char *field)
{
	const cyaml_schema_value_t *schema = root;
	const char *p = field;

	while (*p != '\0' && schema != NULL) {
		if (*p == '.') {
			p++;
		} else if (*p == '[') {
			if (schema->type != CYAML_SEQUENCE &&
			    schema->type != CYAML_SEQUENCE_FIXED)
				return NULL;
			schema = schema->sequence.entry;
			p += strcspn(p, "]");
			p += *p == ']';
		} else {
			size_t len = strcspn(p, ".[");
			const cyaml_schema_field_t *f;

			if (schema->type != CYAML_MAPPING)
				return NULL;
			for (f = schema->mapping.fields; f->key != NULL; f++) {
				if (strlen(f->key) == len &&
				    memcmp(f->key, p, len) == 0)
					break;
			}
			schema = f->key ? &f->value : NULL;
			p += len;
		}
	}
	return schema;
}

/* "a, b, c" of the keys of a mapping or the names of an enum. */
static void list_names(const cyaml_schema_value_t *schema, char *out,
		       size_t out_len)
{
	size_t len = 0;

	out[0] = '\0';
	if (schema == NULL)
		return;
	if (schema->type == CYAML_MAPPING) {
		for (const cyaml_schema_field_t *f = schema->mapping.fields;
		     f->key != NULL && len < out_len; f++)
			len += (size_t)snprintf(out + len, out_len - len, "%s%s",
						len ? ", " : "", f->key);
	} else if (schema->type == CYAML_ENUM) {
		for (uint32_t i = 0; i < schema->enumeration.count &&
		     len < out_len; i++)
			len += (size_t)snprintf(out + len, out_len - len, "%s%s",
						len ? ", " : "",
						schema->enumeration.strings[i].str);
	}
}

/* What the schema wants, for "expected X, got Y". */
static void describe_schema(const cyaml_schema_value_t *schema, char *out,
			    size_t out_len)
{
	char names[160];

	switch (schema ? schema->type : CYAML__TYPE_COUNT) {
	case CYAML_STRING:
		snprintf(out, out_len, "a string");
		break;
	case CYAML_UINT:
	case CYAML_INT:
		snprintf(out, out_len, "a number");
		break;
	case CYAML_ENUM:
		list_names(schema, names, sizeof(names));
		snprintf(out, out_len, "one of %s", names);
		break;
	case CYAML_MAPPING:
		snprintf(out, out_len, "a mapping (key: value)");
		break;
	case CYAML_SEQUENCE:
	case CYAML_SEQUENCE_FIXED:
		snprintf(out, out_len, "a list");
		break;
	default:
		snprintf(out, out_len, "something else");
		break;
	}
}

/* What the file has at a node, for "got Y". */
static void describe_node(const yaml_node_t *node, char *out, size_t out_len)
{
	const char *v;

	if (node == NULL) {
		snprintf(out, out_len, "something else");
		return;
	}
	switch (node->type) {
	case YAML_SCALAR_NODE:
		v = (const char *)node->data.scalar.value;
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (v[0] == '\0' || strcmp(v, "~") == 0 ||
		     strcmp(v, "null") == 0))
			snprintf(out, out_len, "nothing");
		else
			snprintf(out, out_len, "'%s'", topo_show(v).s);
		break;
	case YAML_SEQUENCE_NODE:
		snprintf(out, out_len, "a list");
		break;
	case YAML_MAPPING_NODE:
		snprintf(out, out_len, "a mapping");
		break;
	default:
		snprintf(out, out_len, "nothing");
		break;
	}
}

static unsigned doc_count(struct topo_ctx *ctx, const char *field)
{
	yaml_node_t *node = topo_doc_node(ctx, field);

	if (node == NULL || node->type != YAML_SEQUENCE_NODE)
		return 0;
	return (unsigned)(node->data.sequence.items.top -
			  node->data.sequence.items.start);
}

/* "Unexpected key: K", "Missing required mapping field: K", "Mapping
 * field already seen: K": at the key, in the mapping the frames lead to. */
static int key_error(struct topo_ctx *ctx, const struct capture *cap,
		     const char *key, int what)
{
	char map[TOPO_FIELD_MAX], field[TOPO_FIELD_MAX], names[200];

	frames_field(cap, true, map);
	topo_field(field, map, topo_show(key).s);
	switch (what) {
	case 'u':
		list_names(schema_at(cap->root, map), names, sizeof(names));
		return topo_fail_line(ctx, topo_doc_key_line(ctx, map, key, 0),
				      field, "unknown key (known: %s)", names);
	case 'm':
		return topo_fail_line(ctx, topo_doc_line(ctx, map), field,
				      "missing (required)");
	default:
		return topo_fail_line(ctx, topo_doc_key_line(ctx, map, key, 1),
				      field, "given twice (first on line %u)",
				      topo_doc_key_line(ctx, map, key, 0));
	}
}

/* "Excessive entries ..." / "Insufficient entries ...": at the list. */
static int count_error(struct topo_ctx *ctx, const struct capture *cap,
		       bool excessive)
{
	char list[TOPO_FIELD_MAX], entry[TOPO_FIELD_MAX + 16];
	const cyaml_schema_value_t *schema;
	unsigned count, min = 0, max = 0, line;

	frames_field(cap, true, list);
	schema = schema_at(cap->root, list);
	if (schema && (schema->type == CYAML_SEQUENCE ||
		       schema->type == CYAML_SEQUENCE_FIXED)) {
		min = schema->sequence.min;
		max = schema->sequence.max;
	}
	count = doc_count(ctx, list);
	line = topo_doc_line(ctx, list);
	if (excessive) {
		/* Blame the first entry past the limit. */
		snprintf(entry, sizeof(entry), "%s[%u]", list, max);
		line = topo_doc_line(ctx, entry);
	}
	return topo_fail_line(ctx, line, list, "%u %s; %s %u", count,
			      count == 1 ? "entry" : "entries",
			      min == max ? "it takes exactly" :
			      excessive ? "at most" : "at least",
			      excessive ? max : min);
}

/* A value of the wrong type or syntax: at the value, naming it. */
static int value_error(struct topo_ctx *ctx, const struct capture *cap)
{
	char field[TOPO_FIELD_MAX], want[200], got[64];
	const cyaml_schema_value_t *schema;
	yaml_node_t *node;

	frames_field(cap, false, field);
	schema = schema_at(cap->root, field);
	node = topo_doc_node(ctx, field);
	describe_schema(schema, want, sizeof(want));
	describe_node(node, got, sizeof(got));
	if (node && node->type == YAML_SCALAR_NODE && schema &&
	    schema->type == CYAML_ENUM)
		return topo_fail_line(ctx, topo_doc_line(ctx, field), field,
				      "%s is not %s", got, want);
	if (node && node->type == YAML_SCALAR_NODE && schema &&
	    (schema->type == CYAML_UINT || schema->type == CYAML_INT))
		return topo_fail_line(ctx, topo_doc_line(ctx, field), field,
				      "%s is not a number", got);
	if (field[0] == '\0')
		return topo_fail_line(ctx, topo_doc_line(ctx, field), field,
				      "the file holds %s; expected a mapping"
				      " (version: 2, driver-vms: ...)", got);
	return topo_fail_line(ctx, topo_doc_line(ctx, field), field,
			      "expected %s, got %s", want, got);
}

static bool starts(const char *s, const char *prefix, const char **rest)
{
	size_t len = strlen(prefix);

	if (strncmp(s, prefix, len) != 0)
		return false;
	*rest = s + len;
	return true;
}

static int report(struct topo_ctx *ctx, const struct capture *cap,
		  cyaml_err_t cerr)
{
	char field[TOPO_FIELD_MAX];
	const char *rest;

	if (cerr == CYAML_ERR_OOM) {
		topo_fail_line(ctx, 0, "", "out of memory");
		return -ENOMEM;
	}
	if (starts(cap->msg, "Unexpected key: ", &rest))
		return key_error(ctx, cap, rest, 'u');
	if (starts(cap->msg, "Missing required mapping field: ", &rest))
		return key_error(ctx, cap, rest, 'm');
	if (starts(cap->msg, "Mapping field already seen: ", &rest))
		return key_error(ctx, cap, rest, 'd');
	if (starts(cap->msg, "Excessive entries", &rest))
		return count_error(ctx, cap, true);
	if (starts(cap->msg, "Insufficient entries", &rest))
		return count_error(ctx, cap, false);
	if (starts(cap->msg, "Expecting ", &rest) ||
	    strstr(cap->msg, "Invalid") != NULL)
		return value_error(ctx, cap);
	frames_field(cap, false, field);
	if (cerr == CYAML_ERR_ALIAS)
		return topo_fail_line(ctx, topo_doc_line(ctx, field), field,
				      "aliases (*name) are not supported");
	return topo_fail_line(ctx, topo_doc_line(ctx, field), field, "%s",
			      cap->msg[0] ? cap->msg : cyaml_strerror(cerr));
}

int topo_schema_load(struct topo_ctx *ctx, const void *data, size_t len,
		     struct topo_raw **out)
{
	/* The version picks the schema; one that is neither 1 nor 2 loads
	 * as the newest and is refused by the check (topology_check.c). */
	const char *version = topo_doc_scalar(ctx, "version");
	struct capture cap = {
		.root = version && !strcmp(version, "1") ? &top_v1_schema :
			&top_schema,
	};
	const cyaml_config_t config = {
		.log_fn = capture_log,
		.log_ctx = &cap,
		.mem_fn = topo_schema_mem,
		.log_level = CYAML_LOG_ERROR,
		/* An alias would make one key's value stand at two paths. */
		.flags = CYAML_CFG_NO_ALIAS,
	};
	cyaml_data_t *loaded = NULL;
	cyaml_err_t cerr;

	*out = NULL;
	cerr = cyaml_load_data(data, len, &config, cap.root, &loaded, NULL);
	if (cerr != CYAML_OK)
		return report(ctx, &cap, cerr);
	if (loaded == NULL)
		return topo_fail_line(ctx, 0, "", "the file is empty");
	*out = loaded;
	return 0;
}
