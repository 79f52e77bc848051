/* What bulkhead-input lets through from sys-usb to the host's uinput
 * device: pure code (no descriptors, no clock: the caller passes the
 * time), bytes of whole 24-byte records in, accepted events out, a
 * counter per reason for every event dropped (docs/input.md).
 *
 * A class (keyboard or pointer) has a fixed capability set; an event
 * outside it, or with a value outside its bound, is dropped, never
 * repaired (a relative move of 5000 is not clamped to 1024: it goes).
 * Events are held until their frame's SYN_REPORT and the frame passes
 * whole or not at all, against a token bucket (the rate cap); releases
 * of keys that are down always pass, so no key sticks because a frame
 * was refused. The keys and buttons passed down are tracked, and
 * input_filter_end releases each one. */
#ifndef BULKHEAD_INPUT_FILTER_H
#define BULKHEAD_INPUT_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One record on the wire: x86_64's struct input_event, little-endian:
 * s64 tv_sec, s64 tv_usec, u16 type, u16 code, s32 value. The time is
 * ignored (the host's kernel stamps its own). */
#define INPUT_RECORD_BYTES 24

/* Events of one frame held until its SYN_REPORT. A real frame is a few
 * (keyboard: a key and maybe a scan code; mouse: X, Y, wheel, buttons;
 * a dozen keys pressed at once); a frame longer than this is dropped
 * whole, and everything up to the next SYN_REPORT with it. */
#define INPUT_FRAME_MAX 32

/* The bounds (docs/input.md says why these). */
#define INPUT_REL_XY_MAX 1024      /* |REL_X|, |REL_Y| */
#define INPUT_REL_WHEEL_MAX 16     /* |REL_WHEEL|, |REL_HWHEEL| */
#define INPUT_ABS_MAX 32767        /* ABS_X, ABS_Y: 0..this (usb-tablet) */

/* Default rates, events per second, per class: a keystroke costs 2
 * (the press and its SYN_REPORT; the release is free), a held key's
 * autorepeat 66 a second; a 1000 Hz mouse needs 3000 (X, Y,
 * SYN_REPORT per report). docs/input.md says why a cap. */
#define INPUT_RATE_KEYBOARD 200u
#define INPUT_RATE_POINTER 4000u
#define INPUT_RATE_MAX 100000u

/* Key codes tracked for the release at the end: KEY_MAX + 1 bits. */
#define INPUT_KEY_WORDS ((0x2ff + 64) / 64)

enum input_class {
	INPUT_CLASS_KEYBOARD,
	INPUT_CLASS_POINTER,
};

/* Why an event was dropped. */
enum input_drop {
	INPUT_DROP_TYPE,        /* event type not in the class (EV_LED, EV_MSC, EV_ABS on a keyboard...) */
	INPUT_DROP_CODE,        /* code not in the class (a button on a keyboard, a key on a pointer, REL_DIAL...) */
	INPUT_DROP_VALUE,       /* value out of bounds */
	INPUT_DROP_STATE,       /* release or repeat of a key not down, press of a key down */
	INPUT_DROP_EMPTY,       /* a SYN_REPORT closing a frame of which nothing passed */
	INPUT_DROP_RATE,        /* its frame was over the rate cap */
	INPUT_DROP_FRAME,       /* its frame was longer than INPUT_FRAME_MAX, or unfinished at the end */
	INPUT_DROP_PARTIAL,     /* a partial record at the end of the stream */
	INPUT_DROP_COUNT,
};

/* An event that passed (or to pass): what uinput is written. */
struct input_ev {
	uint16_t type;
	uint16_t code;
	int32_t value;
};

struct input_counters {
	uint64_t records;       /* whole records read */
	uint64_t passed;        /* events passed, SYN_REPORTs included */
	uint64_t frames;        /* frames passed (SYN_REPORTs) */
	uint64_t released_at_end;
	uint64_t dropped[INPUT_DROP_COUNT];
};

struct input_filter {
	enum input_class cls;
	/* Token bucket, in events; refilled from the time given. */
	uint64_t rate;          /* events per second */
	uint64_t burst;         /* bucket size */
	uint64_t tokens_milli;  /* tokens x 1000 */
	uint64_t last_ns;
	/* The frame being gathered. */
	struct input_ev frame[INPUT_FRAME_MAX];
	unsigned nframe;
	bool discarding;        /* a too-long frame: drop until SYN_REPORT */
	/* A record cut by a read. */
	uint8_t partial[INPUT_RECORD_BYTES];
	unsigned npartial;
	/* Keys and buttons the device has down (what passed). */
	uint64_t down[INPUT_KEY_WORDS];
	struct input_counters c;
};

/* Called for each event passed, in order. */
typedef void input_emit_fn(void *ctx, const struct input_ev *ev);

/* What a class may pass: its event types, key codes (first..last),
 * relative and absolute axes. The uinput device is made with exactly
 * these (input_uinput.c). */
struct input_caps {
	const char *name;       /* "keyboard", "pointer" */
	uint16_t key_first, key_last;   /* 0, 0: none */
	const uint16_t *rel;
	unsigned nrel;
	const uint16_t *abs;
	unsigned nabs;
};

const struct input_caps *input_class_caps(enum input_class cls);

/* "keyboard" or "pointer" to a class. Returns 0 or -EINVAL. */
int input_class_parse(const char *s, enum input_class *cls);

const char *input_drop_name(enum input_drop why);

/* rate: events per second (0: the class's default), capped at
 * INPUT_RATE_MAX; the bucket starts full at now_ns. */
void input_filter_init(struct input_filter *f, enum input_class cls,
		       unsigned rate, uint64_t now_ns);

/* Feeds len bytes of the stream (records may be cut anywhere by the
 * reads; the rest waits for the next call), at monotonic time now_ns;
 * emit is called for each event passed. */
void input_filter_feed(struct input_filter *f, const uint8_t *buf, size_t len,
		       uint64_t now_ns, input_emit_fn *emit, void *ctx);

/* The stream ended: a partial record and an unfinished frame are
 * dropped, every key and button down is released (whatever the rate
 * cap), then a SYN_REPORT if anything was. The filter is then as new
 * (counters kept). */
void input_filter_end(struct input_filter *f, input_emit_fn *emit, void *ctx);

/* Whether key or button code is down now. */
bool input_filter_key_down(const struct input_filter *f, uint16_t code);

#endif
