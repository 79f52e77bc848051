/* The seccomp filter of a confined worker (libseccomp): the base list
 * every worker needs, plus its kind's own calls; default action: kill the
 * process. docs/security.md lists every call and why. */
#ifndef BULKHEAD_SECCOMP_BASE_H
#define BULKHEAD_SECCOMP_BASE_H

#include <stddef.h>

#include "sandbox.h"

/* Loads the filter: the base list and extra[0..nextra). Returns 0 or a
 * negative errno with a message naming the call. */
int sandbox_seccomp_install(const struct sandbox_syscall *extra,
			    size_t nextra, char *err, size_t errlen);

#endif
