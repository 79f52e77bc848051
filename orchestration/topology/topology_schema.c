/* The topology file's shape as libcyaml schema tables, one per version,
 * and the load against the file's version (its errors:
 * topology_schema_errors.c).
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
	{ "nvme", TOPO_EMULATED_NVME },
	{ "usb-storage", TOPO_EMULATED_USB_STORAGE },
	{ "usb-kbd", TOPO_EMULATED_USB_KBD },
	{ "usb-tablet", TOPO_EMULATED_USB_TABLET },
	{ "usb-mouse", TOPO_EMULATED_USB_MOUSE },
};
static const cyaml_strval_t input_policy_strings[] = {
	{ "allow", TOPO_INPUT_ALLOW },
	{ "deny", TOPO_INPUT_DENY },
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
static const cyaml_strval_t firmware_strings[] = {
	{ "bios", TOPO_FIRMWARE_BIOS },
	{ "uefi", TOPO_FIRMWARE_UEFI },
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
	STRING_FIELD("file", OPT, struct topo_device, file),
	STRING_FIELD("size", OPT, struct topo_device, size),
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

static const cyaml_schema_field_t input_fields[] = {
	ENUM_FIELD("keyboard", OPT, struct topo_input, keyboard,
		   input_policy_strings),
	ENUM_FIELD("pointer", OPT, struct topo_input, pointer,
		   input_policy_strings),
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
	CYAML_FIELD_MAPPING_PTR("input", CYAML_FLAG_POINTER | OPT,
				struct topo_driver_vm, input, input_fields),
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
static const cyaml_schema_field_t usb_pin_fields[] = {
	STRING_FIELD("vidpid", OPT, struct topo_usb_pin, vidpid),
	STRING_FIELD("serial", OPT, struct topo_usb_pin, serial),
	STRING_FIELD("port", OPT, struct topo_usb_pin, port),
	CYAML_FIELD_END
};
static const cyaml_schema_value_t usb_pin_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct topo_usb_pin,
			    usb_pin_fields),
};
static const cyaml_schema_field_t usb_attach_fields[] = {
	STRING_FIELD("via", REQ, struct topo_usb_attach, via),
	CYAML_FIELD_SEQUENCE("pin", CYAML_FLAG_POINTER | OPT,
			     struct topo_usb_attach, pins, &usb_pin_entry, 0,
			     TOPO_MAX_USB_PINS),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t storage_attach_fields[] = {
	STRING_FIELD("via", REQ, struct topo_storage_attach, via),
	STRING_FIELD("size", OPT, struct topo_storage_attach, size),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t cloud_init_fields[] = {
	STRING_FIELD("user", OPT, struct topo_cloud_init, user),
	CYAML_FIELD_SEQUENCE("ssh_keys", CYAML_FLAG_POINTER | OPT,
			     struct topo_cloud_init, ssh_keys, &string_entry, 0,
			     TOPO_MAX_SSH_KEYS),
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
#define TEMPLATE_FIELDS                                                    \
	STRING_FIELD("template", OPT, struct topo_app_vm, template),       \
	STRING_FIELD("private", OPT, struct topo_app_vm, private_size),    \
	ENUM_FIELD("disposable", OPT, struct topo_app_vm, disposable,      \
		   bool_strings),                                          \
	ENUM_FIELD("preload", OPT, struct topo_app_vm, preload,            \
		   bool_strings),                                          \
	ENUM_FIELD("display", OPT, struct topo_app_vm, display,            \
		   bool_strings),                                          \
	STRING_FIELD("disk", OPT, struct topo_app_vm, disk),               \
	CYAML_FIELD_MAPPING_PTR("cloud_init", CYAML_FLAG_POINTER | OPT,    \
				struct topo_app_vm, cloud_init,            \
				cloud_init_fields),                        \
	ENUM_FIELD("firmware", OPT, struct topo_app_vm, firmware,          \
		   firmware_strings)

static const cyaml_schema_field_t app_vm_fields[] = {
	APP_VM_COMMON_FIELDS,
	/* Required until an app VM image runs without a network (the
	 * busybox image waits for its NIC). */
	CYAML_FIELD_MAPPING("net", REQ, struct topo_app_vm, net,
			    net_attach_fields),
	CYAML_FIELD_MAPPING("usb", OPT, struct topo_app_vm, usb,
			    usb_attach_fields),
	CYAML_FIELD_MAPPING("storage", OPT, struct topo_app_vm, storage,
			    storage_attach_fields),
	AUTOSTART_FIELD,
	TEMPLATE_FIELDS,
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

void *topo_schema_mem(void *mem_ctx, void *ptr, size_t size)
{
	(void)mem_ctx;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, size);
}

int topo_schema_load(struct topo_ctx *ctx, const void *data, size_t len,
		     struct topo_raw **out)
{
	/* The version picks the schema; one that is neither 1 nor 2 loads
	 * as the newest and is refused by the check (topology_check.c). */
	const char *version = topo_doc_scalar(ctx, "version");
	struct topo_capture cap = {
		.root = version && !strcmp(version, "1") ? &top_v1_schema :
			&top_schema,
	};
	const cyaml_config_t config = {
		.log_fn = topo_capture_log,
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
		return topo_schema_report(ctx, &cap, cerr);
	if (loaded == NULL)
		return topo_fail_line(ctx, 0, "", "the file is empty");
	*out = loaded;
	return 0;
}
