/* A disk VM's cloud-init NoCloud seed (docs/templates.md "Bring your own
 * image"): the three files of its volume labelled cidata. Pure: texts
 * from the topology's checked values (topology_check_cloud.c), each
 * still quoted as a YAML double-quoted scalar. */
#ifndef BULKHEAD_CLOUD_SEED_H
#define BULKHEAD_CLOUD_SEED_H

#include <stddef.h>

#include "topology.h"

struct cloud_seed {
	char *meta_data;
	char *user_data;
	char *network_config;
};

/* APP's seed, its instance id from MACHINE_ID (32 hex digits, kept for
 * the VM: one instance for the VM's life, so cloud-init's per-instance
 * steps run once). 0, or -ENOMEM. Free with cloud_seed_free. */
int cloud_seed_make(const struct topo_app_vm *app, const char *machine_id,
		    struct cloud_seed *out);
void cloud_seed_free(struct cloud_seed *seed);

#endif
