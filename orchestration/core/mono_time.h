/* The one clock the command's deadlines and backoffs use: monotonic,
 * milliseconds (wall-clock steps must not stretch or cut a wait). */
#ifndef BULKHEAD_MONO_TIME_H
#define BULKHEAD_MONO_TIME_H

#include <time.h>

static inline long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
