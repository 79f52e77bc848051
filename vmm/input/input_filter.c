#include "input_filter.h"

#include <errno.h>
#include <linux/input-event-codes.h>
#include <string.h>

static const uint16_t pointer_rel[] = { REL_X, REL_Y, REL_HWHEEL, REL_WHEEL };
static const uint16_t pointer_abs[] = { ABS_X, ABS_Y };

/* Keyboard: the keys of a keyboard (KEY_ESC..KEY_MICMUTE), none of the
 * buttons (BTN_MISC from 0x100) nor the rarer keys above 248 (KEY_OK,
 * KEY_POWER2, macro keys...). Pointer: a mouse's eight buttons
 * (BTN_LEFT..BTN_TASK), motion, both wheels and a tablet's absolute
 * position; no BTN_TOUCH or tool bits (not a touchscreen or a pen). */
static const struct input_caps caps[] = {
	[INPUT_CLASS_KEYBOARD] = {
		.name = "keyboard",
		.key_first = KEY_ESC, .key_last = KEY_MICMUTE,
	},
	[INPUT_CLASS_POINTER] = {
		.name = "pointer",
		.key_first = BTN_LEFT, .key_last = BTN_TASK,
		.rel = pointer_rel, .nrel = 4,
		.abs = pointer_abs, .nabs = 2,
	},
};

static const char *const drop_names[INPUT_DROP_COUNT] = {
	[INPUT_DROP_TYPE] = "type",
	[INPUT_DROP_CODE] = "code",
	[INPUT_DROP_VALUE] = "value",
	[INPUT_DROP_STATE] = "state",
	[INPUT_DROP_EMPTY] = "empty_frame",
	[INPUT_DROP_RATE] = "rate",
	[INPUT_DROP_FRAME] = "frame",
	[INPUT_DROP_PARTIAL] = "partial",
};

const struct input_caps *input_class_caps(enum input_class cls)
{
	return &caps[cls];
}

int input_class_parse(const char *s, enum input_class *cls)
{
	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (strcmp(s, caps[i].name) == 0) {
			*cls = (enum input_class)i;
			return 0;
		}
	return -EINVAL;
}

const char *input_drop_name(enum input_drop why)
{
	return drop_names[why];
}

void input_filter_init(struct input_filter *f, enum input_class cls,
		       unsigned rate, uint64_t now_ns)
{
	memset(f, 0, sizeof(*f));
	f->cls = cls;
	if (rate == 0)
		rate = cls == INPUT_CLASS_KEYBOARD ? INPUT_RATE_KEYBOARD
						   : INPUT_RATE_POINTER;
	f->rate = rate < INPUT_RATE_MAX ? rate : INPUT_RATE_MAX;
	/* A quarter second of events, and never less than the longest
	 * frame (which could otherwise never pass). */
	f->burst = f->rate / 4 > INPUT_FRAME_MAX + 1 ? f->rate / 4
						       : INPUT_FRAME_MAX + 1;
	f->tokens_milli = f->burst * 1000;
	f->last_ns = now_ns;
}

bool input_filter_key_down(const struct input_filter *f, uint16_t code)
{
	return code <= KEY_MAX && f->down[code / 64] >> (code % 64) & 1;
}

static void set_down(struct input_filter *f, uint16_t code, bool down)
{
	if (down)
		f->down[code / 64] |= 1ull << (code % 64);
	else
		f->down[code / 64] &= ~(1ull << (code % 64));
}

static bool in_list(const uint16_t *list, unsigned n, uint16_t code)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i] == code)
			return true;
	return false;
}

static int32_t abs32(int32_t v)
{
	/* INT32_MIN has no positive: it is out of every bound anyway. */
	return v == INT32_MIN ? INT32_MAX : v < 0 ? -v : v;
}

/* The class and bounds check of one event (not SYN_REPORT): -1 when it
 * may pass, else the reason to drop it. */
static int classify(const struct input_filter *f, const struct input_ev *ev)
{
	const struct input_caps *cap = &caps[f->cls];

	switch (ev->type) {
	case EV_SYN:
		/* SYN_REPORT is the caller's; SYN_DROPPED, SYN_CONFIG,
		 * SYN_MT_REPORT mean nothing to these devices. */
		return INPUT_DROP_CODE;
	case EV_KEY:
		if (ev->code < cap->key_first || ev->code > cap->key_last)
			return INPUT_DROP_CODE;
		/* 0 release, 1 press; 2 autorepeat for keys only (a button
		 * does not repeat). */
		if (ev->value < 0 ||
		    ev->value > (f->cls == INPUT_CLASS_KEYBOARD ? 2 : 1))
			return INPUT_DROP_VALUE;
		return -1;
	case EV_REL:
		if (!cap->nrel)
			return INPUT_DROP_TYPE;
		if (!in_list(cap->rel, cap->nrel, ev->code))
			return INPUT_DROP_CODE;
		if (abs32(ev->value) > (ev->code == REL_X || ev->code == REL_Y ?
					INPUT_REL_XY_MAX : INPUT_REL_WHEEL_MAX))
			return INPUT_DROP_VALUE;
		return -1;
	case EV_ABS:
		if (!cap->nabs)
			return INPUT_DROP_TYPE;
		if (!in_list(cap->abs, cap->nabs, ev->code))
			return INPUT_DROP_CODE;
		if (ev->value < 0 || ev->value > INPUT_ABS_MAX)
			return INPUT_DROP_VALUE;
		return -1;
	default:
		/* EV_MSC (MSC_SCAN: the host maps keys by code, not by scan
		 * code), EV_LED (the host's own state, not the stick's to
		 * set), EV_REP, EV_SND, EV_FF, EV_SW, EV_PWR... */
		return INPUT_DROP_TYPE;
	}
}

/* Whether ev is the release of a key or button that is down: such an
 * event always passes (a refused frame must not leave a key stuck) and
 * costs no token (there is at most one per earlier press, which did). */
static bool is_release(const struct input_filter *f, const struct input_ev *ev)
{
	return ev->type == EV_KEY && ev->value == 0 &&
	       input_filter_key_down(f, ev->code);
}

/* Key state: a press of a key down, a release or repeat of a key not
 * down, change nothing the device would show; they are dropped, which
 * keeps the state tracked here the device's. Returns whether ev passes
 * (and records its change). */
static bool key_transition(struct input_filter *f, const struct input_ev *ev)
{
	bool down = input_filter_key_down(f, ev->code);

	if (ev->type != EV_KEY)
		return true;
	if ((ev->value == 1) == down)
		return false;
	if (ev->value != 2)
		set_down(f, ev->code, ev->value == 1);
	return true;
}

static void refill(struct input_filter *f, uint64_t now_ns)
{
	uint64_t elapsed = now_ns > f->last_ns ? now_ns - f->last_ns : 0;
	uint64_t cap = f->burst * 1000;

	/* 100 s fill any bucket (the largest wait: burst 33 at rate 1);
	 * the cap keeps elapsed * rate far from overflowing. */
	if (elapsed > 100000000000ull)
		elapsed = 100000000000ull;
	f->last_ns = now_ns > f->last_ns ? now_ns : f->last_ns;
	f->tokens_milli += elapsed * f->rate / 1000000;
	if (f->tokens_milli > cap)
		f->tokens_milli = cap;
}

static void emit_one(struct input_filter *f, const struct input_ev *ev,
		     input_emit_fn *emit, void *ctx)
{
	f->c.passed++;
	emit(ctx, ev);
}

static const struct input_ev syn_report = { EV_SYN, SYN_REPORT, 0 };

/* The frame's SYN_REPORT: the frame passes whole if the bucket holds a
 * token for each event that costs one and one for the SYN_REPORT; else
 * only its releases pass. */
static void end_frame(struct input_filter *f, uint64_t now_ns,
		      input_emit_fn *emit, void *ctx)
{
	uint64_t cost = 1;
	unsigned npassed = 0;
	bool fits;

	if (f->discarding) {
		f->discarding = false;
		f->c.dropped[INPUT_DROP_FRAME]++;
		return;
	}
	for (unsigned i = 0; i < f->nframe; i++)
		if (!is_release(f, &f->frame[i]))
			cost++;
	refill(f, now_ns);
	fits = f->tokens_milli >= cost * 1000;
	for (unsigned i = 0; i < f->nframe; i++) {
		const struct input_ev *ev = &f->frame[i];
		bool release = is_release(f, ev);

		if (!fits && !release) {
			f->c.dropped[INPUT_DROP_RATE]++;
		} else if (!key_transition(f, ev)) {
			f->c.dropped[INPUT_DROP_STATE]++;
		} else {
			if (!release)
				f->tokens_milli -= 1000;
			emit_one(f, ev, emit, ctx);
			npassed++;
		}
	}
	f->nframe = 0;
	if (npassed == 0) {
		f->c.dropped[INPUT_DROP_EMPTY]++;
		return;
	}
	/* The SYN_REPORT of a frame of releases only is free, as they are;
	 * else its token was counted in cost. */
	if (fits && f->tokens_milli >= 1000)
		f->tokens_milli -= 1000;
	f->c.frames++;
	emit_one(f, &syn_report, emit, ctx);
}

static void take_record(struct input_filter *f, const uint8_t *rec,
			uint64_t now_ns, input_emit_fn *emit, void *ctx)
{
	/* Bytes 0-15 are the time, ignored. */
	struct input_ev ev = {
		.type = (uint16_t)(rec[16] | rec[17] << 8),
		.code = (uint16_t)(rec[18] | rec[19] << 8),
		.value = (int32_t)((uint32_t)rec[20] | (uint32_t)rec[21] << 8 |
				   (uint32_t)rec[22] << 16 | (uint32_t)rec[23] << 24),
	};
	int why;

	f->c.records++;
	if (ev.type == EV_SYN && ev.code == SYN_REPORT) {
		end_frame(f, now_ns, emit, ctx);
		return;
	}
	if ((why = classify(f, &ev)) >= 0) {
		f->c.dropped[why]++;
		return;
	}
	if (f->discarding) {
		f->c.dropped[INPUT_DROP_FRAME]++;
		return;
	}
	if (f->nframe == INPUT_FRAME_MAX) {
		/* No device sends this many events at once: the frame, and
		 * the rest of it, go. */
		f->c.dropped[INPUT_DROP_FRAME] += f->nframe + 1;
		f->nframe = 0;
		f->discarding = true;
		return;
	}
	f->frame[f->nframe++] = ev;
}

void input_filter_feed(struct input_filter *f, const uint8_t *buf, size_t len,
		       uint64_t now_ns, input_emit_fn *emit, void *ctx)
{
	if (f->npartial) {
		size_t take = INPUT_RECORD_BYTES - f->npartial;

		if (take > len)
			take = len;
		memcpy(f->partial + f->npartial, buf, take);
		f->npartial += (unsigned)take;
		buf += take;
		len -= take;
		if (f->npartial < INPUT_RECORD_BYTES)
			return;
		f->npartial = 0;
		take_record(f, f->partial, now_ns, emit, ctx);
	}
	for (; len >= INPUT_RECORD_BYTES; buf += INPUT_RECORD_BYTES,
	     len -= INPUT_RECORD_BYTES)
		take_record(f, buf, now_ns, emit, ctx);
	memcpy(f->partial, buf, len);
	f->npartial = (unsigned)len;
}

void input_filter_end(struct input_filter *f, input_emit_fn *emit, void *ctx)
{
	unsigned released = 0;

	if (f->npartial)
		f->c.dropped[INPUT_DROP_PARTIAL]++;
	f->npartial = 0;
	f->c.dropped[INPUT_DROP_FRAME] += f->nframe;
	f->nframe = 0;
	f->discarding = false;
	for (uint16_t code = 0; code <= KEY_MAX; code++) {
		struct input_ev ev = { EV_KEY, code, 0 };

		if (!input_filter_key_down(f, code))
			continue;
		set_down(f, code, false);
		emit_one(f, &ev, emit, ctx);
		released++;
	}
	f->c.released_at_end += released;
	if (released) {
		f->c.frames++;
		emit_one(f, &syn_report, emit, ctx);
	}
}
