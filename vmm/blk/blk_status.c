#include "blk_status.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_vu.h"

#define U64(v) json_object_new_uint64(v)

static json_object *front_end_json(const struct vu_dev *dev)
{
	const struct vu_queue *q = &dev->q[BLK_REQQ];
	json_object *o = json_object_new_object();
	char feat[24];
	const char *state = q->started && q->vq.err ? "broken" :
			    vu_queue_ready(dev, BLK_REQQ) ? "ok" :
			    q->started ? "disabled" : "stopped";

	snprintf(feat, sizeof(feat), "0x%" PRIx64, dev->features);
	json_object_object_add(o, "connected",
			       json_object_new_boolean(dev->sock >= 0));
	json_object_object_add(o, "features", json_object_new_string(feat));
	json_object_object_add(o, "memory_regions", U64(dev->mem.nregions));
	json_object_object_add(o, "protocol_errors", U64(dev->protocol_errors));
	json_object_object_add(o, "last_error",
			       json_object_new_string(dev->last_error));
	json_object_object_add(o, "read_wait_ms", U64(dev->wait.total_us / 1000));
	json_object_object_add(o, "queue_size", U64(q->num));
	json_object_object_add(o, "queue_state", json_object_new_string(state));
	json_object_object_add(o, "queue_reason",
			       json_object_new_string(q->vq.err ? q->vq.reason : ""));
	return o;
}

char *blk_status_json(const struct blk_dev *b, const char *name)
{
	const struct blk_counters *c = &b->c;
	json_object *o = json_object_new_object();
	json_object *vol = json_object_new_object();
	json_object *ref = json_object_new_object();
	json_object *nbd = json_object_new_object();
	char *text;

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "kind", json_object_new_string("blk"));
	json_object_object_add(vol, "capacity_sectors",
			       U64(b->vol.capacity_sectors));
	json_object_object_add(vol, "read_only",
			       json_object_new_boolean(b->vol.read_only));
	json_object_object_add(vol, "flush",
			       json_object_new_boolean(b->vol.flush));
	json_object_object_add(vol, "discard",
			       json_object_new_boolean(b->vol.discard));
	json_object_object_add(vol, "write_zeroes",
			       json_object_new_boolean(b->vol.write_zeroes));
	json_object_object_add(o, "volume", vol);
	json_object_object_add(o, "front_end", front_end_json(&b->vu));
	json_object_object_add(o, "requests", U64(c->requests));
	json_object_object_add(o, "reads", U64(c->reads));
	json_object_object_add(o, "writes", U64(c->writes));
	json_object_object_add(o, "flushes", U64(c->flushes));
	json_object_object_add(o, "get_ids", U64(c->get_ids));
	json_object_object_add(o, "discards", U64(c->discards));
	json_object_object_add(o, "write_zeroes", U64(c->write_zeroes));
	json_object_object_add(o, "bytes_read", U64(c->bytes_read));
	json_object_object_add(o, "bytes_written", U64(c->bytes_written));
	/* Sent to the server as trim, zero (each segment when sent). */
	json_object_object_add(o, "bytes_discarded", U64(c->bytes_discarded));
	json_object_object_add(o, "bytes_zeroed", U64(c->bytes_zeroed));
	json_object_object_add(o, "in_flight", U64(b->count));
	json_object_object_add(o, "waits_for_room", U64(c->waits_for_room));
	json_object_object_add(o, "writes_acknowledged", U64(b->writes_acked));
	json_object_object_add(o, "writes_flushed", U64(b->writes_flushed));
	json_object_object_add(o, "lost_writes_pending",
			       json_object_new_boolean(b->lost_writes));
	json_object_object_add(o, "lost_writes_flush_failed",
			       U64(c->lost_writes_flush_failed));
	for (unsigned r = BLK_REFUSE_LAYOUT; r < BLK_REFUSE_COUNT; r++)
		json_object_object_add(ref, blk_refusal_name(r),
				       U64(c->refusals[r]));
	json_object_object_add(o, "refusals", ref);
	json_object_object_add(nbd, "connected",
			       json_object_new_boolean(!b->nbd_dead));
	json_object_object_add(nbd, "errors", U64(c->nbd_errors));
	json_object_object_add(nbd, "last_error",
			       json_object_new_string(b->nbd_error));
	json_object_object_add(o, "nbd", nbd);
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	return text;
}
