/* The topology checker's shared parts (topology_check*.c): the state of
 * one check, and the value checkers every section uses. Internal. */
#ifndef BULKHEAD_TOPOLOGY_CHECKER_H
#define BULKHEAD_TOPOLOGY_CHECKER_H

#include "topology_internal.h"

#define DRIVER_MEMORY_DEFAULT 64      /* MiB: sys-net with its own kernel */
/* A passed-through NIC was never measured here (only QEMU's e1000e, in
 * 64 MiB): its driver and firmware may want more (mlx5 hands the device
 * memory pages, ice loads a DDP package, rings are larger). */
#define DRIVER_MEMORY_VFIO_DEFAULT 128
#define APP_MEMORY_DEFAULT 256
#define MEMORY_MIN 64           /* MiB */
#define MEMORY_MAX 65536
#define VCPUS_MAX 64
#define APP_PREFIX_MIN 8        /* bk-config's downstream prefixes */
#define APP_PREFIX_MAX 30       /* the network, sys-net, the app, broadcast */
/* SLAAC makes an address from a /64 prefix and a 64-bit interface
 * identifier (RFC 4862 5.5.3, RFC 4291 2.5.1): an app VM's link is a /64. */
#define APP_PREFIX6 64


/* A value first given at FIELD; later ones must differ. */
struct seen {
	const char *value;
	char field[TOPO_FIELD_MAX];
};

struct seen_table {
	struct seen *entries;
	unsigned count;
	unsigned max;
};

/* A network a link to a driver VM uses (an app VM's or the host port's
 * subnet and /64, a static uplink's address and address6): those of one
 * driver VM and family must not overlap (sys-net routes between them).
 * IPv4 ones are held as IPv4-mapped IPv6 (::ffff:A.B.C.D/96+N, RFC 4291
 * 2.5.5.2), so that one table and one comparison serve both. */
struct subnet {
	unsigned drv;
	bool v4;
	struct in6_addr net;
	unsigned prefix;
	char field[TOPO_FIELD_MAX];
};

#define NAMES_MAX (TOPO_MAX_DRIVER_VMS + TOPO_MAX_APP_VMS)
#define MACS_MAX (TOPO_MAX_DRIVER_VMS * (TOPO_MAX_DEVICES + 1) + \
		  TOPO_MAX_APP_VMS + 1)
#define PCIS_MAX (TOPO_MAX_DRIVER_VMS * TOPO_MAX_DEVICES)
/* Each driver VM's uplink twice, each app VM twice, the host port. */
#define SUBNETS_MAX (2 * (TOPO_MAX_DRIVER_VMS + TOPO_MAX_APP_VMS) + 1)

struct checker {
	struct topo_ctx *ctx;
	struct topology *topo;
	struct seen name_entries[NAMES_MAX];
	struct seen mac_entries[MACS_MAX];
	struct seen pci_entries[PCIS_MAX];
	struct seen file_entries[PCIS_MAX];     /* emulated disks' files */
	/* USB pins, by key: a device pinned to two app VMs is a mistake. */
	struct seen pin_entries[3][TOPO_MAX_APP_VMS * TOPO_MAX_USB_PINS];
	struct seen_table names, macs, pcis, files, pins[3];
	struct subnet subnets[SUBNETS_MAX];
	unsigned subnets_count;
	unsigned links[TOPO_MAX_DRIVER_VMS];    /* app VMs and host port */
};

#define SHOW(v) topo_show(v).s
#define IP4(a) topo_ip4_format(a).s
#define IP6(a) topology_ip6_format(a).s
#define IP6_SYNTAX "hex groups X:X:X:X:X:X:X:X, '::' for a run of zeros"

/* Each returns 0, or what topo_fail returns (the first problem, reported
 * at its line). */
int chk_unique(struct checker *c, struct seen_table *table, const char *value,
	       const char *base, const char *key);
int chk_number(struct checker *c, const char *base, const char *key,
	       uint32_t *out, uint32_t def, uint32_t min, uint32_t max);
int chk_name(struct checker *c, const char *base, const char *value);
/* TEXT is a size ("512M", "2G", "1T"; MiB, GiB, TiB alike) in 1M..1T:
 * *MIB. */
int chk_size(struct checker *c, const char *base, const char *key,
	     const char *text, uint32_t *mib);
int chk_mac(struct checker *c, const char *base, const char *key, char *value);
int chk_ipv4(struct checker *c, const char *base, const char *key,
	     const char *value, uint32_t *addr);
int chk_cidr_checked(struct checker *c, const char *base, const char *key,
	             const char *value, enum topo_cidr_status status, bool v6,
	             const unsigned *prefix, unsigned min, unsigned max);
int chk_cidr(struct checker *c, const char *base, const char *key,
	     const char *value, unsigned min, unsigned max, uint32_t *addr,
	     unsigned *prefix);
int chk_cidr6(struct checker *c, const char *base, const char *key,
	      const char *value, unsigned min, unsigned max,
	      struct in6_addr *addr, unsigned *prefix);
int chk_host_in(struct checker *c, const char *base, const char *key,
	        const char *value, uint32_t addr, uint32_t net,
	        unsigned prefix);
int chk_net_disjoint(struct checker *c, unsigned drv, bool v4,
	             const struct in6_addr *net, unsigned prefix,
	             const char *base, const char *key);
int chk_subnet(struct checker *c, unsigned drv, uint32_t net, unsigned prefix,
	       const char *base, const char *key);
int chk_routable6(struct checker *c, const char *base, const char *key,
	          const char *value, const struct in6_addr *addr);
int chk_canonical6(char **text, const struct in6_addr *addr, unsigned prefix,
	           bool with_prefix);
int chk_vm(struct checker *c, const char *base, const char *value,
	   uint32_t *memory_mib, uint32_t memory_default, uint32_t *vcpus);
int chk_driver_vm(struct checker *c, unsigned i);
/* An app VM with its own disk (disk:, cloud_init:): its keys' values and
 * what it refuses beside them (topology_check_cloud.c). */
int chk_app_disk(struct checker *c, const char *base, struct topo_app_vm *app);
/* Whether PATH is a disk file's path the command writes into domain XML
 * and QEMU's command line as is: absolute, A-Z a-z 0-9 _ . - / only (no
 * ',' to end QEMU's option, no quote), no "..", at most 255. */
bool disk_path_valid(const char *path);

#endif
