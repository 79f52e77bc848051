/* What a guest's console may put on the admin's terminal: the guest wrote
 * it, and a terminal obeys escape sequences (retitling it, remapping keys,
 * answering queries into its input, OSC 52 clipboard writes). Passes
 * printable ASCII, \r \n \t \b and well-formed UTF-8 other than the C1
 * controls (U+0080..U+009F); drops every other control byte and swallows
 * whole escape sequences (ESC ..., CSI, OSC, DCS, SOS, PM, APC) so their
 * arguments do not show as litter. Streaming: a sequence or a UTF-8
 * character may span calls. Pure: no I/O, no allocation. */
#ifndef BULKHEAD_CONSOLE_FILTER_H
#define BULKHEAD_CONSOLE_FILTER_H

#include <stddef.h>
#include <stdint.h>

/* Longest escape sequence or string swallowed before the filter gives up
 * on it and starts over: a guest that opens an OSC and never ends it must
 * not hide the rest of its console (xterm caps its OSC buffer too). */
#define CONSOLE_FILTER_SEQ_MAX 512

/* A UTF-8 character is held until complete: OUT needs room for the input
 * plus this many bytes. */
#define CONSOLE_FILTER_SLACK 3

enum console_filter_state {
	CONSOLE_GROUND,
	CONSOLE_ESC,            /* after ESC */
	CONSOLE_ESC_INTER,      /* ESC, intermediates (0x20..0x2f) */
	CONSOLE_CSI,            /* ESC [ parameters */
	CONSOLE_STRING,         /* OSC, DCS, SOS, PM, APC: until BEL or ST */
	CONSOLE_STRING_ESC,     /* ESC inside a string: ST is ESC \ */
};

struct console_filter {
	enum console_filter_state state;
	unsigned seq_len;       /* bytes swallowed in this sequence */
	uint8_t utf8[4];        /* a character being collected */
	unsigned utf8_len;
	unsigned utf8_need;     /* its whole length; 0: none under way */
};

/* A filter in its ground state (as at the start of a session). */
void console_filter_init(struct console_filter *f);

/* Filters LEN bytes of IN into OUT (room: LEN + CONSOLE_FILTER_SLACK);
 * returns how many bytes OUT holds. OUT may not overlap IN. */
size_t console_filter_run(struct console_filter *f, const uint8_t *in,
			  size_t len, uint8_t *out);

#endif
