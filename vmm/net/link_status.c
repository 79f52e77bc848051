#include "link_status.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *hex64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static const char *queue_state(const struct vu_dev *dev, unsigned qidx)
{
	const struct vu_queue *q = &dev->q[qidx];

	if (q->started && q->vq.err)
		return "broken";
	if (vu_queue_ready(dev, qidx))
		return "ok";
	return q->started ? "disabled" : "stopped";
}

static json_object *side_json(const struct vu_dev *dev, const uint64_t *used)
{
	json_object *o = json_object_new_object();
	json_object *queues = json_object_new_array();

	json_object_object_add(o, "connected",
			       json_object_new_boolean(dev->sock >= 0));
	json_object_object_add(o, "features", hex64(dev->features));
	json_object_object_add(o, "protocol_features",
			       hex64(dev->protocol_features));
	json_object_object_add(o, "mtu", json_object_new_int(dev->mtu));
	json_object_object_add(o, "memory_regions",
			       json_object_new_int((int)dev->mem.nregions));
	json_object_object_add(o, "protocol_errors",
			       json_object_new_uint64(dev->protocol_errors));
	json_object_object_add(o, "last_error",
			       json_object_new_string(dev->last_error));
	json_object_object_add(o, "read_wait_ms",
			       json_object_new_uint64(dev->wait.total_us / 1000));
	for (unsigned i = 0; i < dev->nqueues; i++) {
		const struct vu_queue *q = &dev->q[i];
		json_object *jq = json_object_new_object();

		json_object_object_add(jq, "index", json_object_new_int((int)i));
		json_object_object_add(jq, "size", json_object_new_int(q->num));
		json_object_object_add(jq, "state",
				       json_object_new_string(queue_state(dev, i)));
		json_object_object_add(jq, "kick_fd",
				       json_object_new_boolean(q->kick_fd >= 0));
		json_object_object_add(jq, "call_fd",
				       json_object_new_boolean(q->call_fd >= 0));
		json_object_object_add(jq, "packed",
				       json_object_new_boolean(q->vq.is_packed));
		json_object_object_add(jq, "base",
				       json_object_new_int(q->started && !q->vq.err
							   ? virtq_base(&q->vq) : (int)q->base));
		json_object_object_add(jq, "reason",
				       json_object_new_string(q->vq.err ? q->vq.reason : ""));
		json_object_object_add(jq, "used",
				       json_object_new_uint64(used[i]));
		json_object_array_add(queues, jq);
	}
	json_object_object_add(o, "queues", queues);
	return o;
}

static json_object *dir_json(const struct net_dir_stats *st, bool blocked)
{
	json_object *o = json_object_new_object();
	json_object *drops = json_object_new_object();

	json_object_object_add(o, "packets", json_object_new_uint64(st->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(st->bytes));
	json_object_object_add(o, "gso_frames",
			       json_object_new_uint64(st->gso_frames));
	json_object_object_add(o, "tso_segmented",
			       json_object_new_uint64(st->tso_segmented));
	json_object_object_add(o, "csum_completed",
			       json_object_new_uint64(st->csum_completed));
	for (int r = 0; r < NET_DROP_MAX; r++)
		json_object_object_add(drops, net_drop_name((enum net_drop)r),
				       json_object_new_uint64(st->drops[r]));
	json_object_object_add(o, "drops", drops);
	json_object_object_add(o, "waiting_for_rx_buffers",
			       json_object_new_boolean(blocked));
	return o;
}

char *link_status_json(const struct net_link *l, const char *name,
		       bool poll_mode)
{
	json_object *root = json_object_new_object();
	json_object *sides = json_object_new_object();
	char *text;

	json_object_object_add(root, "name", json_object_new_string(name));
	json_object_object_add(root, "mode",
			       json_object_new_string(poll_mode ? "poll" : "event"));
	json_object_object_add(root, "queue_pairs",
			       json_object_new_int((int)l->pairs));
	json_object_object_add(sides, "a", side_json(&l->side[0], l->queue_used[0]));
	json_object_object_add(sides, "b", side_json(&l->side[1], l->queue_used[1]));
	json_object_object_add(root, "sides", sides);
	json_object_object_add(root, "a_to_b", dir_json(&l->stats[0], l->blocked[0]));
	json_object_object_add(root, "b_to_a", dir_json(&l->stats[1], l->blocked[1]));
	text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
	json_object_put(root);
	return text;
}
