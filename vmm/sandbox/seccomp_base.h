/* The seccomp filter of a confined worker (libseccomp): the base list
 * every worker needs, plus its kind's own calls; default action: kill the
 * process. docs/security.md lists every call and why. */
#ifndef BULKHEAD_SECCOMP_BASE_H
#define BULKHEAD_SECCOMP_BASE_H

#include <stddef.h>

#include "sandbox.h"

/* Loads the filter: the base list, extra[0..nextra) and ioctl with the
 * requests of ioctls[0..nioctls) only. Returns 0 or a negative errno
 * with a message naming the call. */
int sandbox_seccomp_install(const struct sandbox_syscall *extra,
			    size_t nextra, const struct sandbox_ioctl *ioctls,
			    size_t nioctls, char *err, size_t errlen);

#endif
