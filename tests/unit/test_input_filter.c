/* bulkhead-input's filter (vmm/input/input_filter.c): each class's
 * capability set and bounds (the exact value on each side of each
 * bound), the key state, frames passed whole against the rate cap with
 * releases kept, the release of what is down when the stream ends,
 * records cut across reads and a partial one at the end. */
#include <linux/input-event-codes.h>
#include <stdint.h>
#include <string.h>

#include "input_filter.h"
#include "tap.h"

#define SEC 1000000000ull

/* What the filter emitted. */
struct seen {
	struct input_ev ev[512];
	unsigned n;
};

static void record(void *ctx, const struct input_ev *ev)
{
	struct seen *s = ctx;

	if (s->n < sizeof(s->ev) / sizeof(s->ev[0]))
		s->ev[s->n] = *ev;
	s->n++;
}

/* One wire record: time bytes filled with garbage (ignored). */
static void put_record(uint8_t *rec, uint16_t type, uint16_t code, int32_t value)
{
	uint32_t v = (uint32_t)value;

	memset(rec, 0xa5, 16);
	rec[16] = (uint8_t)type;
	rec[17] = (uint8_t)(type >> 8);
	rec[18] = (uint8_t)code;
	rec[19] = (uint8_t)(code >> 8);
	for (int i = 0; i < 4; i++)
		rec[20 + i] = (uint8_t)(v >> (8 * i));
}

static void feed(struct input_filter *f, struct seen *s, uint64_t now,
		 uint16_t type, uint16_t code, int32_t value)
{
	uint8_t rec[INPUT_RECORD_BYTES];

	put_record(rec, type, code, value);
	input_filter_feed(f, rec, sizeof(rec), now, record, s);
}

/* One event and its SYN_REPORT; returns how many events came out. */
static unsigned frame1(struct input_filter *f, uint64_t now, uint16_t type,
		       uint16_t code, int32_t value)
{
	struct seen s = { .n = 0 };

	feed(f, &s, now, type, code, value);
	feed(f, &s, now, EV_SYN, SYN_REPORT, 0);
	return s.n;
}

/* Whether a lone event of the class passes (a fresh filter each time,
 * so key state plays no part unless asked). */
static bool passes(enum input_class cls, uint16_t type, uint16_t code,
		   int32_t value)
{
	struct input_filter f;

	input_filter_init(&f, cls, 0, 0);
	return frame1(&f, 0, type, code, value) == 2;
}

static uint64_t dropped(const struct input_filter *f, enum input_drop why)
{
	return f->c.dropped[why];
}

static void t_keyboard_keys(struct tap *t, const void *arg)
{
	enum input_class kb = INPUT_CLASS_KEYBOARD;
	struct input_filter f;
	struct seen s = { .n = 0 };

	(void)arg;
	CHECK(t, passes(kb, EV_KEY, KEY_ESC, 1));
	CHECK(t, passes(kb, EV_KEY, KEY_A, 1));
	CHECK(t, passes(kb, EV_KEY, KEY_MICMUTE, 1));
	CHECK(t, !passes(kb, EV_KEY, KEY_RESERVED, 1));
	CHECK(t, !passes(kb, EV_KEY, KEY_MICMUTE + 1, 1));
	CHECK(t, !passes(kb, EV_KEY, KEY_POWER2, 1));
	CHECK(t, !passes(kb, EV_KEY, BTN_LEFT, 1));
	CHECK(t, !passes(kb, EV_KEY, KEY_MAX, 1));
	CHECK(t, !passes(kb, EV_KEY, 0xffff, 1));
	CHECK(t, !passes(kb, EV_KEY, KEY_A, 3));
	CHECK(t, !passes(kb, EV_KEY, KEY_A, -1));
	CHECK(t, !passes(kb, EV_KEY, KEY_A, INT32_MIN));

	input_filter_init(&f, kb, 0, 0);
	feed(&f, &s, 0, EV_MSC, MSC_SCAN, 0x70004);
	feed(&f, &s, 0, EV_KEY, KEY_A, 1);
	feed(&f, &s, 0, EV_SYN, SYN_REPORT, 0);
	CHECK_EQ(t, s.n, 2);
	CHECK_EQ(t, s.ev[0].type, EV_KEY);
	CHECK_EQ(t, s.ev[0].code, KEY_A);
	CHECK_EQ(t, s.ev[0].value, 1);
	CHECK_EQ(t, s.ev[1].type, EV_SYN);
	CHECK_EQ(t, s.ev[1].code, SYN_REPORT);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_TYPE), 1);
	CHECK(t, input_filter_key_down(&f, KEY_A));
	CHECK_EQ(t, f.c.records, 3);
	CHECK_EQ(t, f.c.passed, 2);
}

static void t_keyboard_refusals(struct tap *t, const void *arg)
{
	enum input_class kb = INPUT_CLASS_KEYBOARD;
	struct input_filter f;

	(void)arg;
	CHECK(t, !passes(kb, EV_REL, REL_X, 1));
	CHECK(t, !passes(kb, EV_ABS, ABS_X, 1));
	CHECK(t, !passes(kb, EV_LED, LED_CAPSL, 1));
	CHECK(t, !passes(kb, EV_MSC, MSC_SCAN, 30));
	CHECK(t, !passes(kb, EV_REP, REP_DELAY, 250));
	CHECK(t, !passes(kb, EV_SND, SND_BELL, 1));
	CHECK(t, !passes(kb, EV_FF, 0, 1));
	CHECK(t, !passes(kb, EV_SW, SW_LID, 1));
	CHECK(t, !passes(kb, EV_PWR, 0, 1));
	CHECK(t, !passes(kb, EV_MAX, 0, 1));
	CHECK(t, !passes(kb, 0xffff, 0, 1));
	input_filter_init(&f, kb, 0, 0);
	frame1(&f, 0, EV_LED, LED_CAPSL, 1);
	frame1(&f, 0, EV_KEY, BTN_LEFT, 1);
	frame1(&f, 0, EV_REL, REL_X, 1);
	frame1(&f, 0, EV_ABS, ABS_X, 1);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_TYPE), 3);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_CODE), 1);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_EMPTY), 4);
	CHECK_EQ(t, f.c.passed, 0);
}

static void t_pointer_bounds(struct tap *t, const void *arg)
{
	enum input_class pt = INPUT_CLASS_POINTER;

	(void)arg;
	CHECK(t, passes(pt, EV_REL, REL_X, INPUT_REL_XY_MAX));
	CHECK(t, passes(pt, EV_REL, REL_X, -INPUT_REL_XY_MAX));
	CHECK(t, !passes(pt, EV_REL, REL_X, INPUT_REL_XY_MAX + 1));
	CHECK(t, !passes(pt, EV_REL, REL_X, -INPUT_REL_XY_MAX - 1));
	CHECK(t, !passes(pt, EV_REL, REL_X, INT32_MIN));
	CHECK(t, !passes(pt, EV_REL, REL_X, INT32_MAX));
	CHECK(t, passes(pt, EV_REL, REL_Y, -INPUT_REL_XY_MAX));
	CHECK(t, !passes(pt, EV_REL, REL_Y, INPUT_REL_XY_MAX + 1));
	CHECK(t, passes(pt, EV_REL, REL_WHEEL, INPUT_REL_WHEEL_MAX));
	CHECK(t, !passes(pt, EV_REL, REL_WHEEL, INPUT_REL_WHEEL_MAX + 1));
	CHECK(t, passes(pt, EV_REL, REL_HWHEEL, -INPUT_REL_WHEEL_MAX));
	CHECK(t, !passes(pt, EV_REL, REL_HWHEEL, -INPUT_REL_WHEEL_MAX - 1));
	CHECK(t, !passes(pt, EV_REL, REL_DIAL, 1));
	CHECK(t, !passes(pt, EV_REL, REL_Z, 1));
	CHECK(t, !passes(pt, EV_REL, REL_WHEEL_HI_RES, 120));
	CHECK(t, passes(pt, EV_ABS, ABS_X, 0));
	CHECK(t, passes(pt, EV_ABS, ABS_X, INPUT_ABS_MAX));
	CHECK(t, !passes(pt, EV_ABS, ABS_X, -1));
	CHECK(t, !passes(pt, EV_ABS, ABS_X, INPUT_ABS_MAX + 1));
	CHECK(t, passes(pt, EV_ABS, ABS_Y, INPUT_ABS_MAX));
	CHECK(t, !passes(pt, EV_ABS, ABS_Y, INPUT_ABS_MAX + 1));
	CHECK(t, !passes(pt, EV_ABS, ABS_PRESSURE, 1));
	CHECK(t, !passes(pt, EV_ABS, ABS_MT_POSITION_X, 1));
	CHECK(t, passes(pt, EV_KEY, BTN_LEFT, 1));
	CHECK(t, passes(pt, EV_KEY, BTN_TASK, 1));
	CHECK(t, !passes(pt, EV_KEY, BTN_LEFT - 1, 1));
	CHECK(t, !passes(pt, EV_KEY, BTN_TASK + 1, 1));
	CHECK(t, !passes(pt, EV_KEY, BTN_TOUCH, 1));
	CHECK(t, !passes(pt, EV_KEY, KEY_A, 1));
	CHECK(t, !passes(pt, EV_KEY, KEY_ENTER, 1));
	/* A button has no autorepeat. */
	CHECK(t, !passes(pt, EV_KEY, BTN_LEFT, 2));
	CHECK(t, !passes(pt, EV_KEY, BTN_LEFT, -1));
	CHECK(t, !passes(pt, EV_MSC, MSC_SCAN, 0x90001));
	CHECK(t, !passes(pt, EV_LED, LED_NUML, 1));
}

static void t_syn_codes(struct tap *t, const void *arg)
{
	struct input_filter f;
	struct seen s = { .n = 0 };

	(void)arg;
	input_filter_init(&f, INPUT_CLASS_POINTER, 0, 0);
	feed(&f, &s, 0, EV_SYN, SYN_DROPPED, 0);
	feed(&f, &s, 0, EV_SYN, SYN_CONFIG, 0);
	feed(&f, &s, 0, EV_SYN, SYN_MT_REPORT, 0);
	feed(&f, &s, 0, EV_SYN, SYN_REPORT, 0);
	CHECK_EQ(t, s.n, 0);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_CODE), 3);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_EMPTY), 1);
}

static void t_key_state(struct tap *t, const void *arg)
{
	struct input_filter f;

	(void)arg;
	input_filter_init(&f, INPUT_CLASS_KEYBOARD, 0, 0);
	/* Release and repeat of a key not down; then press, press again,
	 * repeat, release, release again. */
	CHECK_EQ(t, frame1(&f, 0, EV_KEY, KEY_B, 0), 0);
	CHECK_EQ(t, frame1(&f, 0, EV_KEY, KEY_B, 2), 0);
	CHECK_EQ(t, frame1(&f, 0, EV_KEY, KEY_B, 1), 2);
	CHECK_EQ(t, frame1(&f, 0, EV_KEY, KEY_B, 1), 0);
	CHECK_EQ(t, frame1(&f, 0, EV_KEY, KEY_B, 2), 2);
	CHECK(t, input_filter_key_down(&f, KEY_B));
	CHECK_EQ(t, frame1(&f, 0, EV_KEY, KEY_B, 0), 2);
	CHECK(t, !input_filter_key_down(&f, KEY_B));
	CHECK_EQ(t, frame1(&f, 0, EV_KEY, KEY_B, 0), 0);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_STATE), 4);
}

/* Rate 100: a burst of 33 tokens. A frame of one motion and its
 * SYN_REPORT costs 2: 16 pass at one instant, the 17th does not; a
 * second later the bucket is full again (33, not 100). */
static void t_rate_cap(struct tap *t, const void *arg)
{
	struct input_filter f;
	unsigned n = 0;

	(void)arg;
	input_filter_init(&f, INPUT_CLASS_POINTER, 100, 5 * SEC);
	CHECK_EQ(t, f.burst, INPUT_FRAME_MAX + 1);
	for (int i = 0; i < 20; i++)
		n += frame1(&f, 5 * SEC, EV_REL, REL_X, 1);
	CHECK_EQ(t, n, 32);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_RATE), 4);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_EMPTY), 4);
	/* One token was left; 10 ms later there are two: a frame. */
	CHECK_EQ(t, frame1(&f, 5 * SEC + 10000000, EV_REL, REL_X, 1), 2);
	/* 10 ms more: one, not enough; 10 ms more: two. */
	CHECK_EQ(t, frame1(&f, 5 * SEC + 20000000, EV_REL, REL_X, 1), 0);
	CHECK_EQ(t, frame1(&f, 5 * SEC + 30000000, EV_REL, REL_X, 1), 2);
	n = 0;
	for (int i = 0; i < 40; i++)
		n += frame1(&f, 6 * SEC, EV_REL, REL_Y, -1);
	CHECK_EQ(t, n, 32);
	/* Time going back refills nothing. */
	CHECK_EQ(t, frame1(&f, 1 * SEC, EV_REL, REL_Y, -1), 0);
	/* The default rates, and the ceiling. */
	input_filter_init(&f, INPUT_CLASS_KEYBOARD, 0, 0);
	CHECK_EQ(t, f.rate, INPUT_RATE_KEYBOARD);
	CHECK_EQ(t, f.burst, INPUT_RATE_KEYBOARD / 4);
	input_filter_init(&f, INPUT_CLASS_POINTER, 0, 0);
	CHECK_EQ(t, f.rate, INPUT_RATE_POINTER);
	input_filter_init(&f, INPUT_CLASS_POINTER, 4000000, 0);
	CHECK_EQ(t, f.rate, INPUT_RATE_MAX);
}

/* A frame over the cap goes whole: never half a frame. */
static void t_rate_whole_frame(struct tap *t, const void *arg)
{
	struct input_filter f;
	struct seen s = { .n = 0 };

	(void)arg;
	input_filter_init(&f, INPUT_CLASS_POINTER, 100, 0);
	/* 33 tokens: 10 frames of 3 leave 3; a frame of 4 (X, Y, wheel,
	 * SYN_REPORT) does not fit, then one of 3 does. */
	for (int i = 0; i < 10; i++) {
		feed(&f, &s, 0, EV_REL, REL_X, 2);
		feed(&f, &s, 0, EV_REL, REL_Y, 2);
		feed(&f, &s, 0, EV_SYN, SYN_REPORT, 0);
	}
	CHECK_EQ(t, s.n, 30);
	feed(&f, &s, 0, EV_REL, REL_X, 2);
	feed(&f, &s, 0, EV_REL, REL_Y, 2);
	feed(&f, &s, 0, EV_REL, REL_WHEEL, 1);
	feed(&f, &s, 0, EV_SYN, SYN_REPORT, 0);
	CHECK_EQ(t, s.n, 30);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_RATE), 3);
	feed(&f, &s, 0, EV_REL, REL_X, 2);
	feed(&f, &s, 0, EV_REL, REL_Y, 2);
	feed(&f, &s, 0, EV_SYN, SYN_REPORT, 0);
	CHECK_EQ(t, s.n, 33);
}

/* Over the cap, a release of a key down still passes (and costs
 * nothing): a refused frame never leaves a key stuck. */
static void t_rate_keeps_releases(struct tap *t, const void *arg)
{
	struct input_filter f;
	struct seen s = { .n = 0 };

	(void)arg;
	input_filter_init(&f, INPUT_CLASS_KEYBOARD, 100, 0);
	CHECK_EQ(t, frame1(&f, 0, EV_KEY, KEY_LEFTSHIFT, 1), 2);
	for (int i = 0; i < 40; i++)
		frame1(&f, 0, EV_KEY, KEY_LEFTSHIFT, 2);
	CHECK(t, dropped(&f, INPUT_DROP_RATE) > 0);
	CHECK(t, f.tokens_milli < 2000);
	/* Release shift, press A in one frame: A goes, the release passes. */
	feed(&f, &s, 0, EV_KEY, KEY_LEFTSHIFT, 0);
	feed(&f, &s, 0, EV_KEY, KEY_A, 1);
	feed(&f, &s, 0, EV_SYN, SYN_REPORT, 0);
	CHECK_EQ(t, s.n, 2);
	CHECK_EQ(t, s.ev[0].code, KEY_LEFTSHIFT);
	CHECK_EQ(t, s.ev[0].value, 0);
	CHECK_EQ(t, s.ev[1].code, SYN_REPORT);
	CHECK(t, !input_filter_key_down(&f, KEY_LEFTSHIFT));
	CHECK(t, !input_filter_key_down(&f, KEY_A));
	/* A's release, A never having passed, is nobody's: dropped. */
	CHECK_EQ(t, frame1(&f, 0, EV_KEY, KEY_A, 0), 0);
}

static void t_release_at_end(struct tap *t, const void *arg)
{
	struct input_filter f;
	struct seen s = { .n = 0 };

	(void)arg;
	input_filter_init(&f, INPUT_CLASS_POINTER, 0, 0);
	frame1(&f, 0, EV_KEY, BTN_LEFT, 1);
	frame1(&f, 0, EV_KEY, BTN_TASK, 1);
	frame1(&f, 0, EV_KEY, BTN_RIGHT, 1);
	frame1(&f, 0, EV_KEY, BTN_RIGHT, 0);
	/* An unfinished frame: its press never passed, nothing to release. */
	feed(&f, &s, 0, EV_KEY, BTN_MIDDLE, 1);
	CHECK_EQ(t, s.n, 0);
	input_filter_end(&f, record, &s);
	CHECK_EQ(t, s.n, 3);
	CHECK_EQ(t, s.ev[0].code, BTN_LEFT);
	CHECK_EQ(t, s.ev[0].value, 0);
	CHECK_EQ(t, s.ev[1].code, BTN_TASK);
	CHECK_EQ(t, s.ev[1].value, 0);
	CHECK_EQ(t, s.ev[2].type, EV_SYN);
	CHECK_EQ(t, f.c.released_at_end, 2);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_FRAME), 1);
	CHECK(t, !input_filter_key_down(&f, BTN_LEFT));
	CHECK(t, !input_filter_key_down(&f, BTN_MIDDLE));
	/* The release ignores the cap: a keyboard with an empty bucket. */
	input_filter_init(&f, INPUT_CLASS_KEYBOARD, 1, 0);
	for (uint16_t k = KEY_1; k < KEY_1 + 16; k++)
		frame1(&f, 0, EV_KEY, k, 1);
	CHECK(t, f.tokens_milli < 2000);
	s.n = 0;
	input_filter_end(&f, record, &s);
	CHECK_EQ(t, s.n, 17);
	/* Nothing down: nothing, not even a SYN_REPORT. */
	s.n = 0;
	input_filter_end(&f, record, &s);
	CHECK_EQ(t, s.n, 0);
}

/* Records cut anywhere by the reads come out as whole; a partial one at
 * the end is dropped. */
static void t_cut_records(struct tap *t, const void *arg)
{
	uint8_t stream[4 * INPUT_RECORD_BYTES + 7], rest[INPUT_RECORD_BYTES];
	struct input_filter f;
	struct seen s = { .n = 0 };

	(void)arg;
	put_record(stream, EV_KEY, KEY_Z, 1);
	put_record(stream + 24, EV_SYN, SYN_REPORT, 0);
	put_record(stream + 48, EV_KEY, KEY_Z, 0);
	put_record(stream + 72, EV_SYN, SYN_REPORT, 0);
	/* The first 7 bytes of a press of KEY_Q: never a whole record. */
	put_record(rest, EV_KEY, KEY_Q, 1);
	memcpy(stream + 96, rest, 7);
	input_filter_init(&f, INPUT_CLASS_KEYBOARD, 0, 0);
	for (size_t i = 0; i < sizeof(stream); i++)
		input_filter_feed(&f, stream + i, 1, 0, record, &s);
	CHECK_EQ(t, s.n, 4);
	CHECK_EQ(t, f.c.records, 4);
	CHECK_EQ(t, f.npartial, 7);
	input_filter_end(&f, record, &s);
	CHECK_EQ(t, s.n, 4);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_PARTIAL), 1);
	/* Cut 23 + 1 + 48: the same events. */
	s.n = 0;
	input_filter_init(&f, INPUT_CLASS_KEYBOARD, 0, 0);
	input_filter_feed(&f, stream, 23, 0, record, &s);
	input_filter_feed(&f, stream + 23, 1, 0, record, &s);
	input_filter_feed(&f, stream + 24, 72, 0, record, &s);
	CHECK_EQ(t, s.n, 4);
	CHECK_EQ(t, s.ev[0].code, KEY_Z);
	CHECK_EQ(t, s.ev[2].value, 0);
}

/* A frame longer than INPUT_FRAME_MAX goes whole, with everything up to
 * its SYN_REPORT; the next frame passes. */
static void t_long_frame(struct tap *t, const void *arg)
{
	struct input_filter f;
	struct seen s = { .n = 0 };

	(void)arg;
	input_filter_init(&f, INPUT_CLASS_POINTER, 0, 0);
	for (int i = 0; i < INPUT_FRAME_MAX; i++)
		feed(&f, &s, 0, EV_REL, REL_X, 1);
	feed(&f, &s, 0, EV_SYN, SYN_REPORT, 0);
	CHECK_EQ(t, s.n, INPUT_FRAME_MAX + 1);
	s.n = 0;
	for (int i = 0; i < INPUT_FRAME_MAX + 5; i++)
		feed(&f, &s, 0, EV_REL, REL_X, 1);
	feed(&f, &s, 0, EV_SYN, SYN_REPORT, 0);
	CHECK_EQ(t, s.n, 0);
	CHECK_EQ(t, dropped(&f, INPUT_DROP_FRAME), INPUT_FRAME_MAX + 5 + 1);
	CHECK_EQ(t, frame1(&f, SEC, EV_REL, REL_Y, 1), 2);
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "keyboard: KEY_ESC..KEY_MICMUTE, values 0/1/2", t_keyboard_keys, NULL },
		{ "keyboard: no buttons, axes, LEDs, scan codes", t_keyboard_refusals, NULL },
		{ "pointer: each bound, buttons only", t_pointer_bounds, NULL },
		{ "SYN codes other than SYN_REPORT", t_syn_codes, NULL },
		{ "key state: no release, repeat or press twice", t_key_state, NULL },
		{ "rate cap: burst, refill, clock going back", t_rate_cap, NULL },
		{ "rate cap: a frame passes whole or not at all", t_rate_whole_frame, NULL },
		{ "rate cap: releases still pass", t_rate_keeps_releases, NULL },
		{ "end: every key down released", t_release_at_end, NULL },
		{ "records cut by reads; a partial one at the end", t_cut_records, NULL },
		{ "a frame longer than INPUT_FRAME_MAX", t_long_frame, NULL },
	};

	return tap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
