/* bulkhead-input's filter (vmm/input/input_filter.c) on any stream, cut
 * into reads anywhere, at any pace. Input: byte 0 the class (bit 0:
 * pointer) and bytes 1-2 the rate (1 + value % 20000 events/s); then
 * chunks, each a byte of time passing (in ms), a byte of length and that
 * many stream bytes (the last chunk takes what is left).
 *
 * Checked against an oracle of its own (not the filter's tables):
 * - nothing outside the class passes: a keyboard passes keys 1..248 with
 *   values 0/1/2 and SYN_REPORT, a pointer buttons 0x110..0x117 with 0/1,
 *   REL_X/Y within +-1024, wheels within +-16, ABS_X/Y within 0..32767;
 * - every press is of a key up, every release or repeat of a key down;
 * - no half frame: after each read what came out ends with a
 *   SYN_REPORT, and no SYN_REPORT closes an empty frame;
 * - never more than the rate allows: the events that cost a token
 *   (everything but releases, and the SYN_REPORT of a frame of releases
 *   only) are at most burst + rate * time;
 * - every record is accounted for: passed or dropped for one reason;
 * - at the end every key and button down is released. */
#include <linux/input-event-codes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "input_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct oracle {
	enum input_class cls;
	bool down[KEY_MAX + 1];
	unsigned frame_events;          /* since the last SYN_REPORT */
	bool frame_costs;               /* one of them cost a token */
	uint64_t costly;                /* events that cost a token */
	uint64_t emitted;
	bool ending;
};

static bool in_class(const struct oracle *o, const struct input_ev *ev)
{
	int32_t v = ev->value;

	if (o->cls == INPUT_CLASS_KEYBOARD)
		return ev->type == EV_KEY && ev->code >= 1 && ev->code <= 248 &&
		       v >= 0 && v <= 2;
	switch (ev->type) {
	case EV_KEY:
		return ev->code >= 0x110 && ev->code <= 0x117 && (v == 0 || v == 1);
	case EV_REL:
		if (ev->code == REL_X || ev->code == REL_Y)
			return v >= -1024 && v <= 1024;
		return (ev->code == REL_WHEEL || ev->code == REL_HWHEEL) &&
		       v >= -16 && v <= 16;
	case EV_ABS:
		return (ev->code == ABS_X || ev->code == ABS_Y) && v >= 0 &&
		       v <= 32767;
	default:
		return false;
	}
}

static void check(void *ctx, const struct input_ev *ev)
{
	struct oracle *o = ctx;

	o->emitted++;
	if (ev->type == EV_SYN) {
		if (ev->code != SYN_REPORT || ev->value != 0 || !o->frame_events)
			abort();
		o->costly += o->frame_costs && !o->ending;
		o->frame_events = 0;
		o->frame_costs = false;
		return;
	}
	if (!in_class(o, ev))
		abort();
	o->frame_events++;
	if (ev->type == EV_KEY) {
		bool down = o->down[ev->code];

		if (ev->value == 1 ? down : !down)
			abort();
		if (ev->value != 2)
			o->down[ev->code] = ev->value == 1;
		if (ev->value == 0)
			return;         /* a release: free */
	}
	if (o->ending)
		abort();                /* the end releases, nothing else */
	o->costly++;
	o->frame_costs = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input_filter f;
	struct oracle o;
	uint64_t now = 1000000000ull, start = now, dropped = 0;
	unsigned rate;
	size_t at = 3;

	if (size < 3)
		return 0;
	memset(&o, 0, sizeof(o));
	o.cls = data[0] & 1 ? INPUT_CLASS_POINTER : INPUT_CLASS_KEYBOARD;
	rate = 1 + (unsigned)(data[1] | data[2] << 8) % 20000;
	input_filter_init(&f, o.cls, rate, now);
	while (at + 2 <= size) {
		size_t len = data[at + 1];

		now += (uint64_t)data[at] * 1000000;
		at += 2;
		if (len > size - at)
			len = size - at;
		input_filter_feed(&f, data + at, len, now, check, &o);
		at += len;
		if (o.frame_events)
			abort();        /* half a frame out */
		/* burst + rate * elapsed, rounded up: the bucket's refill
		 * floors, so this is never short. */
		if (o.costly * 1000000000ull >
		    f.burst * 1000000000ull + f.rate * (now - start) + 1000000000ull)
			abort();
	}
	o.ending = true;
	input_filter_end(&f, check, &o);
	if (o.frame_events)
		abort();
	for (unsigned k = 0; k <= KEY_MAX; k++)
		if (o.down[k] || input_filter_key_down(&f, (uint16_t)k))
			abort();
	if (o.emitted != f.c.passed)
		abort();
	for (unsigned r = 0; r < INPUT_DROP_COUNT; r++)
		if (r != INPUT_DROP_PARTIAL)
			dropped += f.c.dropped[r];
	if (f.c.records != f.c.passed - f.c.released_at_end -
			   (f.c.released_at_end ? 1 : 0) + dropped)
		abort();
	return 0;
}
