/* The console filter under arbitrary guest output, split into calls at
 * a point the input picks: whatever comes in, nothing a terminal obeys
 * comes out (no control byte but \r \n \t \b, no DEL, only well-formed
 * UTF-8 without C1 controls), the output is never longer than the input,
 * and splitting the input does not change it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_clean(const uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint8_t b = out[i];
		if (b < 0x80) {
			if ((b < 0x20 && b != '\r' && b != '\n' && b != '\t' &&
			     b != '\b') || b == 0x7f)
				abort();
			i++;
			continue;
		}
		size_t n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
		if (b < 0xc2 || b > 0xf4 || i + n > len)
			abort();
		uint32_t cp = b & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
		for (size_t k = 1; k < n; k++) {
			if ((out[i + k] & 0xc0) != 0x80)
				abort();
			cp = cp << 6 | (out[i + k] & 0x3f);
		}
		if (cp < 0xa0 || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			abort();
		i += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t split = data[0] % size;
	data++;
	size--;
	if (split > size)
		split = size;
	uint8_t *whole = malloc(size + CONSOLE_FILTER_SLACK);
	uint8_t *parts = malloc(size + CONSOLE_FILTER_SLACK);
	if (!whole || !parts)
		abort();
	struct console_filter f;
	console_filter_init(&f);
	size_t n_whole = console_filter_run(&f, data, size, whole);
	console_filter_init(&f);
	size_t n_parts = console_filter_run(&f, data, split, parts);
	n_parts += console_filter_run(&f, data + split, size - split,
				      parts + n_parts);
	if (n_whole > size || n_parts != n_whole ||
	    memcmp(whole, parts, n_whole) != 0)
		abort();
	check_clean(whole, n_whole);
	free(whole);
	free(parts);
	return 0;
}
