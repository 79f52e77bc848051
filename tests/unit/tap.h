/* A tiny TAP producer: meson runs each unit binary with protocol 'tap' and
 * the test runner counts every "ok"/"not ok" line. A check that fails
 * prints where and what, and the test goes on to report the rest. */
#ifndef BULKHEAD_TAP_H
#define BULKHEAD_TAP_H

#include <stdio.h>
#include <string.h>

struct tap {
	int failed_checks;     /* in the running test */
};

#define CHECK(t, cond)                                                   \
	do {                                                             \
		if (!(cond)) {                                           \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__,  \
			       __LINE__, #cond);                         \
			(t)->failed_checks++;                            \
		}                                                        \
	} while (0)

#define CHECK_EQ(t, a, b)                                                \
	do {                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);      \
		if (a_ != b_) {                                          \
			printf("# %s:%d: %s == %lld, expected %s == %lld\n", \
			       __FILE__, __LINE__, #a, a_, #b, b_);      \
			(t)->failed_checks++;                            \
		}                                                        \
	} while (0)

/* The queue's reason names the offending value: check a piece of it. */
#define CHECK_STR(t, haystack, needle)                                   \
	do {                                                             \
		if (strstr((haystack), (needle)) == NULL) {              \
			printf("# %s:%d: \"%s\" lacks \"%s\"\n", __FILE__, \
			       __LINE__, (haystack), (needle));          \
			(t)->failed_checks++;                            \
		}                                                        \
	} while (0)

/* A string is exactly the one expected (NULL never is). */
#define CHECK_STREQ(t, a, b)                                             \
	do {                                                             \
		const char *a_ = (a), *b_ = (b);                         \
		if (a_ == NULL || strcmp(a_, b_) != 0) {                 \
			printf("# %s:%d: %s is \"%s\", expected \"%s\"\n", \
			       __FILE__, __LINE__, #a, a_ ? a_ : "(null)", \
			       b_);                                      \
			(t)->failed_checks++;                            \
		}                                                        \
	} while (0)

struct tap_case {
	const char *name;
	void (*fn)(struct tap *t, const void *arg);
	const void *arg;
};

static inline int tap_run(const struct tap_case *cases, int n)
{
	int failed = 0;

	printf("1..%d\n", n);
	for (int i = 0; i < n; i++) {
		struct tap t = { 0 };

		cases[i].fn(&t, cases[i].arg);
		printf("%sok %d - %s\n", t.failed_checks ? "not " : "", i + 1,
		       cases[i].name);
		fflush(stdout);
		failed += t.failed_checks != 0;
	}
	return failed != 0;
}

#endif
