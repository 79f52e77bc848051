/* The console filter (orchestration/console_filter.c) against what a
 * hostile guest prints, and the relay (console_relay.c) that puts it
 * between a console client on a pty and the admin's terminal. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console_filter.h"
#include "console_relay.h"
#include "tap.h"

/* IN filtered in one call into OUT (4096 bytes), NUL-terminated. */
static const char *filter_all(const char *in, size_t len, char *out)
{
	struct console_filter f;
	console_filter_init(&f);
	size_t n = console_filter_run(&f, (const uint8_t *)in, len, (uint8_t *)out);
	out[n] = '\0';
	return out;
}

/* The same, one byte per call: a sequence split anywhere is still one. */
static const char *filter_bytewise(const char *in, size_t len, char *out)
{
	struct console_filter f;
	console_filter_init(&f);
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += console_filter_run(&f, (const uint8_t *)in + i, 1,
					(uint8_t *)out + n);
	out[n] = '\0';
	return out;
}

struct filter_case {
	const char *in;
	size_t len;             /* 0: strlen(in) */
	const char *want;
};

static void run_filter_case(struct tap *t, const void *arg)
{
	const struct filter_case *c = arg;
	size_t len = c->len ? c->len : strlen(c->in);
	char out[4096];
	CHECK_STREQ(t, filter_all(c->in, len, out), c->want);
	CHECK_STREQ(t, filter_bytewise(c->in, len, out), c->want);
}

#define CASE(name, in, want) \
	{ name, run_filter_case, &(const struct filter_case){ in, 0, want } }
#define CASE_LEN(name, in, len, want) \
	{ name, run_filter_case, &(const struct filter_case){ in, len, want } }

static void unterminated_osc(struct tap *t, const void *arg)
{
	(void)arg;
	/* An OSC never ended hides at most CONSOLE_FILTER_SEQ_MAX bytes. */
	char in[CONSOLE_FILTER_SEQ_MAX + 64];
	memset(in, 'x', sizeof(in));
	memcpy(in, "\033]0;", 4);
	memcpy(in + sizeof(in) - 6, "after\n", 6);
	char buf[4096];
	const char *out = filter_all(in, sizeof(in), buf);
	CHECK_STR(t, out, "after\n");
	CHECK(t, strlen(out) < 64);
}

/* What the relay wrote to OUT_FD when CMD ran on the pty with INPUT. */
static int relay_output(const char *cmd, const char *input, char *out,
			size_t out_len)
{
	int in[2], res[2];
	if (pipe(in) || pipe(res))
		return -1;
	if (write(in[1], input, strlen(input)) < 0)
		return -1;
	close(in[1]);
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	int rc = console_relay_run(argv, in[0], res[1]);
	close(in[0]);
	close(res[1]);
	ssize_t n = read(res[0], out, out_len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(res[0]);
	return rc;
}

static void relay_filters(struct tap *t, const void *arg)
{
	(void)arg;
	char out[4096];
	int rc = relay_output("printf 'a\\033]0;pwned\\007b\\033[2Jc\\033P+q\\033\\\\d\\n';"
			      " exit 3", "", out, sizeof(out));
	CHECK_EQ(t, rc, 3);
	CHECK_STR(t, out, "abcd\r\n");
	CHECK(t, strchr(out, '\033') == NULL);
	CHECK(t, strstr(out, "pwned") == NULL);
}

static void relay_passes_input(struct tap *t, const void *arg)
{
	(void)arg;
	char out[4096];
	/* The admin's bytes, escapes and all, reach the client unchanged. */
	int rc = relay_output("stty -echo; IFS= read -r l;"
			      " printf 'got:%s\\n' \"$l\" | od -An -c | tr -d ' \\n'",
			      "x\033[Ay\n", out, sizeof(out));
	CHECK_EQ(t, rc, 0);
	CHECK_STR(t, out, "got:x033[Ay");
}

static void relay_missing_client(struct tap *t, const void *arg)
{
	(void)arg;
	char out[4096];
	CHECK_EQ(t, relay_output("exec /nonexistent/virsh", "", out, sizeof(out)),
		 127);
}

int main(void)
{
	const struct tap_case cases[] = {
		CASE("printable ASCII and \\r\\n\\t\\b pass",
		     "ls -l\r\n\tx\bY ~!", "ls -l\r\n\tx\bY ~!"),
		CASE("other C0 controls and DEL are dropped",
		     "a\001\002\a\013\014\016\017\177b", "ab"),
		CASE_LEN("NUL is dropped", "a\0b", 3, "ab"),
		CASE("OSC title ended by BEL is swallowed",
		     "x\033]0;owned\ay", "xy"),
		CASE("OSC 52 clipboard ended by ST is swallowed",
		     "x\033]52;c;ZWNobyBoaQ==\033\\y", "xy"),
		CASE("CSI sequences are swallowed",
		     "\033[2J\033[1;31mred\033[0m\033[?1049h", "red"),
		CASE("a CSI query (answered into the input) is swallowed",
		     "a\033[6n\033[>c\033[21tb", "ab"),
		CASE("DCS, SOS, PM and APC strings are swallowed",
		     "a\033P$q\"p\033\\b\033Xs\033\\c\033^p\033\\d\033_a\033\\e",
		     "abcde"),
		CASE("two-byte and intermediate escapes are swallowed",
		     "a\033cb\033(0c\033#8d\033=e", "abcde"),
		CASE("a newline inside a CSI still shows",
		     "a\033[12\nb", "a\nb"),
		CASE("CAN cancels a string", "a\033]0;t\030b", "ab"),
		CASE("ESC inside a string starts a new sequence",
		     "a\033]0;t\033[31mb", "ab"),
		CASE("8-bit C1 controls are dropped",
		     "a\x9b" "31mb\x9d" "0;t\x07" "c", "a31mb0;tc"),
		CASE("UTF-8 C1 controls (U+0080..U+009F) are dropped",
		     "a\xc2\x9b" "b\xc2\x85" "c", "abc"),
		CASE("UTF-8 text passes", "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80",
		     "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80"),
		CASE("U+00A0 passes", "\xc2\xa0", "\xc2\xa0"),
		CASE("overlong encodings are dropped",
		     "a\xc0\xaf\xe0\x80\xaf" "b\xf0\x80\x80\xaf", "ab"),
		CASE("surrogates and beyond U+10FFFF are dropped",
		     "a\xed\xa0\x80" "b\xf4\x90\x80\x80" "c\xf5\x80\x80\x80", "abc"),
		CASE("a broken UTF-8 character does not eat what follows",
		     "a\xe2\x82" "b\xe2\033[31mc", "abc"),
		CASE("a stray continuation byte is dropped", "a\x80\xbf" "b", "ab"),
		{ "an unterminated OSC hides a bounded amount", unterminated_osc,
		  NULL },
		{ "relay: the client's output is filtered, its exit status kept",
		  relay_filters, NULL },
		{ "relay: the admin's input reaches the client unchanged",
		  relay_passes_input, NULL },
		{ "relay: a client that cannot start exits 127",
		  relay_missing_client, NULL },
	};
	return tap_run(cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
