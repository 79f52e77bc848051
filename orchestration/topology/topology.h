/* The topology file: which driver VMs own which devices, which app VMs they
 * serve (docs/topology.md). topology_load() parses the YAML against a schema
 * (libcyaml) and then checks it whole (names, references, addresses, limits);
 * past it, the rest of the bulkhead command takes the structure as valid. */
#ifndef BULKHEAD_TOPOLOGY_H
#define BULKHEAD_TOPOLOGY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Names become libvirt domain names (bulkhead-NAME), socket and tap names
 * (Linux interface names are at most 15 bytes: "bk" + 13). */
#define TOPO_NAME_MAX 13
/* A template names only a directory under IMAGE_DIR/templates/. */
#define TOPO_TEMPLATE_NAME_MAX 32
#define TOPO_MAX_DRIVER_VMS 8
#define TOPO_MAX_APP_VMS 32     /* sys-net's 32 downstreams (docs/sysnet.md) */
#define TOPO_MAX_DEVICES 8
#define TOPO_MAX_RULES 64       /* bk-config's MAX_RULES */
#define TOPO_MAX_TALK 64
/* A topology is a page of text; anything near this is a mistake (or an
 * attack on the parser), refused before parsing. */
#define TOPO_FILE_MAX_BYTES (1024 * 1024)

enum topo_accel { TOPO_ACCEL_AUTO, TOPO_ACCEL_KVM, TOPO_ACCEL_TCG };
enum topo_uplink_mode { TOPO_UPLINK_DHCP, TOPO_UPLINK_STATIC };
/* What QEMU can stand in for a device with, where there is no real one
 * to pass through: NICs (a tap in a namespace), a disk controller (a file
 * on the host as its disk), and USB devices on an emulated xHCI
 * controller (a stick over a file, a keyboard, a tablet, a mouse). */
enum topo_emulated_model { TOPO_EMULATED_NONE, TOPO_EMULATED_E1000E,
			   TOPO_EMULATED_IGB, TOPO_EMULATED_NVME,
			   TOPO_EMULATED_USB_STORAGE, TOPO_EMULATED_USB_KBD,
			   TOPO_EMULATED_USB_TABLET, TOPO_EMULATED_USB_MOUSE };
/* Sizes the file gives ("512M", "2G", "1T"), in MiB. */
#define TOPO_SIZE_MAX_MIB (1024u * 1024u)      /* 1 TiB */
enum topo_rule_action { TOPO_RULE_ALLOW, TOPO_RULE_DENY };
enum topo_rule_proto { TOPO_PROTO_ANY, TOPO_PROTO_TCP, TOPO_PROTO_UDP,
		       TOPO_PROTO_ICMP };
enum topo_policy { TOPO_POLICY_ACCEPT, TOPO_POLICY_DROP };
/* An app VM's IPv6: a /64 derived from the topology (plan.h), none, or
 * the /64 the file gives. */
enum topo_ipv6_mode { TOPO_IPV6_AUTO, TOPO_IPV6_OFF, TOPO_IPV6_PREFIX };

/* One device a driver VM owns: exactly one of pci / emulated is set. */
struct topo_device {
	char *pci;                      /* "0000:03:00.0", passthrough */
	enum topo_emulated_model emulated;
	char *netns;    /* emulated: the namespace its tap lives in */
	char *bridge;   /* emulated: a bridge in netns the tap joins; optional */
	char *mac;      /* emulated: the NIC's MAC; optional */
	/* An emulated disk controller's disk: a file on the host (absolute;
	 * made, sparse, of SIZE when missing). */
	char *file;
	char *size;
	uint32_t size_mib;
	unsigned line;  /* its entry's, for a message about it */
};

/* Whether a class of input device behind a driver VM may reach the
 * host; DEFAULT: the kind says (keyboards no, pointers yes). */
enum topo_input_policy { TOPO_INPUT_DEFAULT, TOPO_INPUT_ALLOW,
			 TOPO_INPUT_DENY };

struct topo_input {
	enum topo_input_policy keyboard;
	enum topo_input_policy pointer;
};

struct topo_uplink {
	enum topo_uplink_mode mode;
	char *address;                  /* static: A.B.C.D/N */
	char *gateway;                  /* static */
	char **dns;
	unsigned dns_count;             /* 0..3 */
	char *mac;      /* which NIC is the uplink; optional with one NIC */
	/* static, optional (both or neither): X/N and its next hop, in
	 * canonical text (topology_ip6_format). Without them sys-net takes
	 * IPv6 on the uplink by SLAAC. */
	char *address6;
	char *gateway6;
};

struct topo_driver_vm {
	char *name;
	/* Its kind's name (orchestration/kinds/: the command knows which
	 * exist) and the line it is on, for a message about it. Which of
	 * devices and uplink a kind takes, and which emulated models, is the
	 * kind's to say (kinds/kind.h); the topology checks their values. */
	char *kind;
	unsigned kind_line;
	unsigned line;          /* its entry's */
	unsigned devices_line;  /* 0: not in the file */
	unsigned uplink_line;   /* 0: not in the file */
	uint32_t memory_mib;            /* default 96 */
	uint32_t vcpus;                 /* default 1 */
	struct topo_device *devices;
	unsigned devices_count;         /* 1..TOPO_MAX_DEVICES */
	struct topo_uplink *uplink;     /* NULL: DHCP */
	/* Which input devices behind it reach the host (a usb driver VM);
	 * NULL: the kind's defaults. */
	struct topo_input *input;
	unsigned input_line;    /* 0: not in the file */
};

struct topo_rule {
	enum topo_rule_action action;
	/* A.B.C.D/N or an IPv6 X/N (canonical text); NULL: anywhere */
	char *dst;
	enum topo_rule_proto proto;
	char *port;                     /* "P" or "P-Q"; NULL: every port */
};

struct topo_firewall {
	enum topo_policy policy;        /* what no rule matches; accept */
	struct topo_rule *rules;
	unsigned rules_count;
};

/* The classes of device a driver VM serves app VMs with: an app VM's
 * attachment of each class names the driver VM (kind.h: the kind says which
 * class it serves). */
enum topo_attach_class {
	TOPO_ATTACH_NET,
	TOPO_ATTACH_USB,
	TOPO_ATTACH_STORAGE,
	TOPO_ATTACH_CLASSES
};

/* Which driver VM serves an app VM for one class, and the line that says
 * so (for the kinds' messages). VIA NULL: nothing of that class. */
struct topo_attach {
	char *via;
	unsigned via_line;
};

/* An app VM's network: its link to the driver VM that serves it (VIA and
 * VIA_LINE as in struct topo_attach). */
struct topo_net_attach {
	char *via;
	unsigned via_line;
	char *mac;
	char *ip;                       /* A.B.C.D/N, its address and subnet */
	char *gateway;  /* sys-net's address on the link; default: first host */
	struct topo_firewall *firewall; /* NULL: accept everything */
	enum topo_ipv6_mode ipv6_mode;  /* default auto */
	/* TOPO_IPV6_PREFIX: the network, canonical "X::/64"; else NULL. */
	char *ipv6;
};

/* An app VM's disk from a storage driver VM: its volume there. */
struct topo_storage_attach {
	char *via;
	unsigned via_line;
	char *size;                     /* text; default 1G */
	uint32_t size_mib;
};

/* A USB device pinned to an app VM: exactly one of the three, as the
 * check leaves them (vid:pid lower-case hex). */
#define TOPO_MAX_USB_PINS 8
struct topo_usb_pin {
	char *vidpid;                   /* "46f4:0001" */
	char *serial;                   /* A-Z a-z 0-9 . _ -, 1..64 */
	char *port;                     /* a bus id, "1-1", "3-2.4" */
	unsigned line;
};

/* An app VM's USB devices from a usb driver VM: those pinned to it (the
 * rest by `bulkhead usb attach`). */
struct topo_usb_attach {
	char *via;
	unsigned via_line;
	struct topo_usb_pin *pins;
	unsigned pins_count;
};

/* An app VM's cloud-init seed (with its own disk): the account made for
 * the person (a POSIX user name, not root) and the SSH keys that log in
 * to it (OpenSSH public key lines). docs/templates.md "Bring your own
 * image". */
#define TOPO_MAX_SSH_KEYS 16
/* An RSA key of 16384 bits is about 2.8 KB as a line. */
#define TOPO_SSH_KEY_MAX 4096
#define TOPO_USER_NAME_MAX 32
struct topo_cloud_init {
	char *user;                     /* default "user" */
	char **ssh_keys;
	unsigned ssh_keys_count;
};

enum topo_firmware {
	TOPO_FIRMWARE_UNSET,
	TOPO_FIRMWARE_BIOS,
	TOPO_FIRMWARE_UEFI,
};

struct topo_app_vm {
	char *name;
	uint32_t memory_mib;            /* default 256 */
	uint32_t vcpus;                 /* default 1 */
	/* What it boots: IMAGE, a busybox image of the image cache (default
	 * "app", the tests' and the demo's), or TEMPLATE, a template's root
	 * file system under a fresh overlay each start (docs/templates.md);
	 * never both. */
	char *image;
	char *template;
	/* DISK: an image of the person's own (qcow2 or raw, an absolute
	 * path), copied once into the VM's own persistent disk and booted by
	 * its own boot loader, configured by a cloud-init seed (CLOUD_INIT,
	 * NULL: the defaults). Exclusive with IMAGE and TEMPLATE. */
	char *disk;
	struct topo_cloud_init *cloud_init;
	/* What a disk VM's machine starts: SeaBIOS, which runs the boot
	 * loader in the disk's MBR, or OVMF (UEFI), which runs its ESP's
	 * \EFI\BOOT\BOOTX64.EFI or the entries in the VM's own NVRAM.
	 * UNSET (not given): BIOS; only disk VMs take it. */
	enum topo_firmware firmware;
	/* A template VM's private volume (home, its identity): text and MiB,
	 * default 2G; DISPOSABLE: it and everything else of the VM are
	 * dropped when it stops. */
	char *private_size;
	uint32_t private_mib;
	bool disposable;
	/* A disposable kept booted and paused (the pool): up boots it and
	 * pauses it once ready, start resumes it (under a second), and after
	 * its stop the supervisor preloads a fresh one. */
	bool preload;
	/* A screen, keyboard and tablet, on a VNC socket only root reaches
	 * (bulkhead view; docs/templates.md). Template and disk VMs. */
	bool display;
	bool autostart;                 /* default true: started by up */
	/* Version 1's flat net/mac/ip/... load into NET (the schema maps
	 * them there), so past the loader every file is a version 2 one.
	 * Every app VM has a network (its image waits for its NIC). */
	struct topo_net_attach net;
	struct topo_usb_attach usb;
	struct topo_storage_attach storage;
};

/* Two app VMs that may reach each other through their driver VM. */
struct topo_talk {
	char *a;
	char *b;
};

/* The host's own traffic through a driver VM, over a tap link. */
struct topo_host_port {
	char *via;      /* the driver VM (version 1: "net") */
	char *mac;
	char *ip;
	char *gateway;
	/* The network namespace the host's side is in; NULL: the host's
	 * own (a namespace named here is made when missing). */
	char *netns;
	/* The namespace's default route goes through the driver VM. */
	bool default_route;
};

struct topology {
	uint32_t version;               /* 1 or 2 (docs/topology.md) */
	char *name;                     /* default: the file's base name */
	enum topo_accel accel;
	struct topo_driver_vm *driver_vms;
	unsigned driver_vms_count;
	struct topo_app_vm *app_vms;
	unsigned app_vms_count;
	struct topo_talk *talk;
	unsigned talk_count;
	struct topo_host_port *host_port;
	/* Not from the file: where it was read from (for messages). */
	char *path;
};

/* Loads and checks PATH. On success *out is the topology (free it with
 * topology_free) and 0 is returned. On failure a negative errno is returned
 * and err (of err_len bytes) holds one line "PATH:LINE: FIELD: what is
 * wrong, naming the offending value", e.g.
 *   demo.yaml:14: app-vms[1].mac: '52:54:zz:00:00:01' is not a MAC address
 * (LINE is omitted only when no single line is to blame). */
int topology_load(const char *path, struct topology **out, char *err,
		  size_t err_len);
/* The same for a file already in memory: NAME stands for its path in
 * messages and gives the default topology name (the fuzzer and tests use
 * it directly). At most TOPO_FILE_MAX_BYTES. */
int topology_load_buffer(const char *name, const void *data, size_t len,
			 struct topology **out, char *err, size_t err_len);
void topology_free(struct topology *topo);

/* IPv6 text as the topology stores it and bulkhead writes it (RFC 5952
 * section 4: lower case, no leading zeros, the longest run of two or more
 * zero groups as "::", the first of equal runs). Unlike glibc's inet_ntop
 * it never ends in a dotted quad (inet_ntop writes ::ffff:0:0 as
 * "::ffff:0.0.0.0"), one syntax fewer for sys-net's shell checker. */
#define TOPO_IP6_TEXT_MAX 40    /* 8 groups of 4, 7 colons, the NUL */
struct topo_ip6_text {
	char s[TOPO_IP6_TEXT_MAX];
};
struct topo_ip6_text topology_ip6_format(const struct in6_addr *addr);
/* Whether A and B agree in their first PREFIX (0..128) bits: on one
 * network of that length. */
bool topology_ip6_same_net(const struct in6_addr *a, const struct in6_addr *b,
			   unsigned prefix);

/* Whether S is a name the file may give a topology or a VM: a-z first,
 * then a-z, 0-9 and '-', at most TOPO_NAME_MAX (a unit instance, a file
 * name under /etc/bulkhead, a domain name's part). */
bool topology_name_valid(const char *s);
/* Whether S is a name the file may give a template: as a VM's, at most
 * TOPO_TEMPLATE_NAME_MAX (a directory under IMAGE_DIR/templates/). */
bool topology_template_name_valid(const char *s);
/* S[0..LEN) is a MAC address, xx:xx:xx:xx:xx:xx in either case: its
 * octets into MAC. */
bool topology_mac_parse(const char *s, size_t len, unsigned char mac[6]);

const struct topo_driver_vm *topology_driver_vm(const struct topology *topo,
						const char *name);
const struct topo_app_vm *topology_app_vm(const struct topology *topo,
					  const char *name);
/* APP's attachment of class CLASS (its via is NULL when it has none). */
struct topo_attach topology_attach(const struct topo_app_vm *app,
				   enum topo_attach_class class);
/* Whether APP runs qemu-guest-agent (on a template or its own disk):
 * the host talks to it through libvirt's agent channel (core/qga.h), not
 * the bulkhead agent. */
bool topology_app_qga(const struct topo_app_vm *app);
/* Whether S is a user name a cloud-init seed may make: a-z or '_' first,
 * then a-z, 0-9, '_' or '-', at most TOPO_USER_NAME_MAX, not root. */
bool topology_user_name_valid(const char *s);
/* Whether S is one OpenSSH public key line: printable ASCII, a known key
 * type, a space, base64, then an optional comment; at most
 * TOPO_SSH_KEY_MAX. */
bool topology_ssh_key_valid(const char *s);
/* Whether driver VM DRV serves APP for CLASS. */
bool topology_serves(const char *drv, const struct topo_app_vm *app,
		     enum topo_attach_class class);
/* Whether S is a USB bus id as sysfs names a device: BUS-PORT[.PORT...],
 * each a number of at most 3 digits, at most 5 levels below the root
 * hub. */
bool topology_usb_busid_valid(const char *s);
/* Whether S is a USB serial as sys-usb reports one (it drops every other
 * character of a device's own string): 1..64 of A-Z a-z 0-9 . _ -. */
bool topology_usb_serial_valid(const char *s);
/* Whether MODEL stands in for a NIC (not a disk controller). */
bool topology_emulated_nic(enum topo_emulated_model model);
/* Whether MODEL has a disk file on the host (nvme, usb-storage). */
bool topology_emulated_disk(enum topo_emulated_model model);
/* Whether MODEL is a USB device (on an emulated xHCI controller). */
bool topology_emulated_usb(enum topo_emulated_model model);
/* "e1000e", "igb", "nvme", "usb-kbd": an emulated device's model as the file spells
 * it. */
const char *topology_emulated_name(enum topo_emulated_model model);
/* "net", "usb", "storage": the attachment's key in an app VM. */
const char *topology_attach_name(enum topo_attach_class class);

#endif
