#include "console_filter.h"

#include <stdbool.h>

#define ESC 0x1b
#define BEL 0x07
/* CAN and SUB cancel a sequence under way (ECMA-48 8.3.6, 8.3.148). */
#define CAN 0x18
#define SUB 0x1a

void console_filter_init(struct console_filter *f)
{
	*f = (struct console_filter){ .state = CONSOLE_GROUND };
}

static bool passes_c0(uint8_t b)
{
	return b == '\r' || b == '\n' || b == '\t' || b == '\b';
}

/* The bytes a UTF-8 character starting with LEAD has, 0 when LEAD starts
 * none: C0 and C1 are overlong for two bytes, F5..FF beyond U+10FFFF. */
static unsigned utf8_length(uint8_t lead)
{
	if (lead >= 0xc2 && lead <= 0xdf)
		return 2;
	if (lead >= 0xe0 && lead <= 0xef)
		return 3;
	if (lead >= 0xf0 && lead <= 0xf4)
		return 4;
	return 0;
}

/* Whether B may follow the bytes collected so far (RFC 3629 section 4):
 * the second byte's range excludes overlongs (E0, F0), surrogates (ED)
 * and what lies beyond U+10FFFF (F4); C2 80..9F are the C1 controls,
 * which some terminals obey in UTF-8 too. */
static bool utf8_continues(const struct console_filter *f, uint8_t b)
{
	if (b < 0x80 || b > 0xbf)
		return false;
	if (f->utf8_len > 1)
		return true;
	switch (f->utf8[0]) {
	case 0xc2: return b >= 0xa0;
	case 0xe0: return b >= 0xa0;
	case 0xed: return b <= 0x9f;
	case 0xf0: return b >= 0x90;
	case 0xf4: return b <= 0x8f;
	default: return true;
	}
}

/* One byte in the ground state. */
static size_t ground(struct console_filter *f, uint8_t b, uint8_t *out)
{
	if ((b >= 0x20 && b < 0x7f) || passes_c0(b)) {
		out[0] = b;
		return 1;
	}
	if (b == ESC) {
		f->state = CONSOLE_ESC;
		f->seq_len = 0;
		return 0;
	}
	unsigned need = utf8_length(b);
	if (need) {
		f->utf8[0] = b;
		f->utf8_len = 1;
		f->utf8_need = need;
	}
	return 0;
}

/* One byte of a UTF-8 character under way. */
static size_t utf8_byte(struct console_filter *f, uint8_t b, uint8_t *out)
{
	if (!utf8_continues(f, b)) {
		/* A broken character is dropped whole; B may start
		 * something of its own. */
		f->utf8_need = 0;
		return ground(f, b, out);
	}
	f->utf8[f->utf8_len++] = b;
	if (f->utf8_len < f->utf8_need)
		return 0;
	for (unsigned i = 0; i < f->utf8_len; i++)
		out[i] = f->utf8[i];
	f->utf8_need = 0;
	return f->utf8_len;
}

/* One byte inside an escape sequence: swallowed, or (when it cannot be
 * part of one) handed back to the ground state, as a terminal would
 * execute a control that interrupts a sequence. */
static size_t in_sequence(struct console_filter *f, uint8_t b, uint8_t *out)
{
	if (++f->seq_len > CONSOLE_FILTER_SEQ_MAX) {
		f->state = CONSOLE_GROUND;
		return ground(f, b, out);
	}
	switch (f->state) {
	case CONSOLE_ESC:
		if (b == '[') {
			f->state = CONSOLE_CSI;
		} else if (b == ']' || b == 'P' || b == 'X' || b == '^' ||
			   b == '_') {
			f->state = CONSOLE_STRING;
		} else if (b >= 0x20 && b <= 0x2f) {
			f->state = CONSOLE_ESC_INTER;
		} else if (b >= 0x30 && b <= 0x7e) {
			f->state = CONSOLE_GROUND;
		} else if (b == ESC) {
			f->seq_len = 0;
		} else {
			f->state = CONSOLE_GROUND;
			return ground(f, b, out);
		}
		return 0;
	case CONSOLE_ESC_INTER:
		if (b >= 0x20 && b <= 0x2f)
			return 0;
		f->state = CONSOLE_GROUND;
		return b >= 0x30 && b <= 0x7e ? 0 : ground(f, b, out);
	case CONSOLE_CSI:
		/* Parameters and intermediates 0x20..0x3f, then one final
		 * byte 0x40..0x7e (ECMA-48 5.4). */
		if (b >= 0x20 && b <= 0x3f)
			return 0;
		f->state = CONSOLE_GROUND;
		return b >= 0x40 && b <= 0x7e ? 0 : ground(f, b, out);
	case CONSOLE_STRING:
		if (b == BEL || b == CAN || b == SUB)
			f->state = CONSOLE_GROUND;
		else if (b == ESC)
			f->state = CONSOLE_STRING_ESC;
		return 0;
	case CONSOLE_STRING_ESC:
		/* ESC \ is ST; ESC and anything else ends the string and
		 * starts another sequence. */
		if (b == '\\') {
			f->state = CONSOLE_GROUND;
			return 0;
		}
		f->state = CONSOLE_ESC;
		f->seq_len = 0;
		return in_sequence(f, b, out);
	case CONSOLE_GROUND:
		break;
	}
	return ground(f, b, out);
}

size_t console_filter_run(struct console_filter *f, const uint8_t *in,
			  size_t len, uint8_t *out)
{
	size_t used = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = in[i];
		if (f->state != CONSOLE_GROUND)
			used += in_sequence(f, b, out + used);
		else if (f->utf8_need)
			used += utf8_byte(f, b, out + used);
		else
			used += ground(f, b, out + used);
	}
	return used;
}
