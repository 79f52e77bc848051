/* What a topology becomes on this host: the names and paths of the pieces
 * the bulkhead command makes (domains, links, sockets, taps), derived from
 * the topology alone so that every command (up, down, start, status) finds
 * the same ones. Pure: no I/O. */
#ifndef BULKHEAD_PLAN_H
#define BULKHEAD_PLAN_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology.h"

#define PLAN_DOMAIN_PREFIX "bulkhead-"
/* IFNAMSIZ - 1 */
#define PLAN_IFNAME_MAX 15

/* Who reaches what (docs/security.md "Between VMs on the host"): the state
 * directory is root's (0711: a QEMU may pass through to its own VM
 * directory, list nothing); each VM directory belongs to root and that
 * VM's group (02750: its QEMU reads its boot files and connects to its
 * link sockets, nobody else's QEMU does); agents and control sockets are
 * root's alone. */
struct plan_dirs {
	char state[PATH_MAX];   /* STATE_ROOT/TOPOLOGY */
	char vm[PATH_MAX];      /* state/vm: VM directories, vm/NAME */
	char agent[PATH_MAX];   /* state/agent: agent sockets, root only */
	char ctl[PATH_MAX];     /* state/ctl: links' control sockets, root only */
	char log[PATH_MAX];     /* LOG_ROOT/TOPOLOGY: consoles, root only */
	/* DATA_ROOT/TOPOLOGY: what outlives a run (app VMs' private
	 * volumes, their root overlays: app_disks.h), data/NAME */
	char data[PATH_MAX];
};

int plan_dirs(const char *state_root, const char *log_root,
	      const char *data_root, const struct topology *topo,
	      struct plan_dirs *out);

/* "bulkhead-NAME" */
int plan_domain_name(const char *vm, char *out, size_t len);

/* The MAC of the driver VM's virtio-net that faces app VM APP (its
 * "downstream"): locally administered (0a:b7:...), from a hash of the
 * topology's and the app VM's names, so it is stable across runs. */
void plan_downstream_mac(const struct topology *topo, const char *app,
			 char out[18]);
/* The MACs of app VM APP's USB link (docs/sysusb.md): its own NIC's
 * (0a:b9:...) or, DRIVER_SIDE, its usb driver VM's NIC facing it
 * (0a:ba:...). */
void plan_usb_link_mac(const struct topology *topo, const char *app,
		       bool driver_side, char out[18]);
/* The MAC of an emulated NIC the file gives none for. */
void plan_emulated_mac(const struct topology *topo, const char *driver_vm,
		       unsigned device, char out[18]);
/* The tap of an emulated NIC: "bk" and 8 hex digits (fits IFNAMSIZ). */
void plan_tap_name(const struct topology *topo, const char *driver_vm,
		   unsigned device, char out[PLAN_IFNAME_MAX + 1]);

/* The host port's link, as an app VM's is named after it (sockets, link
 * files, the downstream MAC): the dot keeps it from any app VM's name. */
#define PLAN_HOST_PORT_LINK "host.port"
/* The host port's tap: "bkh" and 8 hex digits. */
void plan_host_tap_name(const struct topology *topo,
			char out[PLAN_IFNAME_MAX + 1]);

/* IPv6 (docs/topology.md "IPv6"). Each app VM link is a /64: sys-net is
 * PREFIX::1 on it and sends router advertisements for PREFIX; the app VM
 * takes PREFIX + the EUI-64 of its MAC by SLAAC. */

/* The /64 of an app VM with ipv6: auto, a unique local prefix (RFC 4193):
 * fdHH:HHHH:AABB:CCDD::/64, HHHHHH the low 24 bits of the FNV-1a hash of
 * "TOPOLOGY/DRIVER_VM" and AABBCCDD the app VM's IPv4 address. The app VMs
 * of one driver VM have different IPv4 addresses (their subnets do not
 * overlap), so their prefixes differ too; the same file gives the same
 * prefixes on every run. */
struct in6_addr plan_ipv6_auto_prefix(const char *topology,
				      const char *driver_vm,
				      uint32_t app_ipv4);
/* PREFIX's first 64 bits and the modified EUI-64 interface identifier of
 * MAC (RFC 4291 appendix A: the universal/local bit 0x02 of the first
 * octet flipped, ff:fe between the third and fourth octets): the address
 * SLAAC gives a NIC with MAC on PREFIX/64. */
struct in6_addr plan_ipv6_eui64(const struct in6_addr *prefix,
				const uint8_t mac[6]);
/* sys-net's address on a link: PREFIX::1 (never an EUI-64 identifier,
 * whose middle is ff:fe). */
struct in6_addr plan_ipv6_router(const struct in6_addr *prefix);
/* APP's /64 (the file's, or plan_ipv6_auto_prefix's) into *PREFIX and its
 * own address into *ADDR: 1; 0 with ipv6: off; -EINVAL when the
 * topology's text does not parse (not one topology_load passed). */
int plan_app_ipv6(const struct topology *topo, const struct topo_app_vm *app,
		  struct in6_addr *prefix, struct in6_addr *addr);

/* Checks the derived MACs against each other and the file's, and the app
 * VMs' IPv6 networks (auto ones included) against each other and their
 * driver VM's static uplink address6 network: -EEXIST with a message
 * naming both owners when two collide (a 32-bit hash, or a file that gives
 * a network inside the auto ones' fd00::/8, so practically never). */
int plan_check(const struct topology *topo, char *err, size_t err_len);

/* The position (1-based) of APP among the app VMs its driver VM serves, in
 * file order: sys-net names that downstream dsN. 0 if not served. */
unsigned plan_downstream_index(const struct topology *topo, const char *app);

#endif
