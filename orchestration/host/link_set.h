/* What the supervisor runs: links.json, written by up from the kinds'
 * links hooks (kind.h), read by the supervisor and status. */
#ifndef BULKHEAD_LINK_SET_H
#define BULKHEAD_LINK_SET_H

#include <stddef.h>

/* One link: a confined worker that joins an app VM (or a host port) to
 * the driver VM serving it, as its kind asked for it (kind.h, links):
 * the binary, its arguments, and what the supervisor and status need to
 * know of it. Fixed-size, so two specs compare with memcmp. */
#define LINK_ARGS_BYTES 16384
#define LINK_ARGS_MAX 64

struct link_spec {
	char name[64];          /* unique in the topology: its log, its row */
	char kind[16];          /* the kind of the driver VM it serves */
	char driver_vm[64];
	char binary[4096];
	char netns[64];         /* entered before exec; "": the host's */
	char control[4096];     /* its control socket, which status asks */
	char sockets[2][4096];  /* the sockets it listens on ("": none): up
				 * waits for them */
	/* Added to its next start when it exited with LINK_EXIT_TELL_NEXT
	 * ("" none): a storage link's acknowledged writes were not flushed
	 * when its NBD connection died (bulkhead-blk --lost-writes). With
	 * it comes "--told-fd N": a pipe the run writes a byte into once it
	 * did what it was told, so that a kill after that tells no one
	 * again. */
	char tell_next[32];
	unsigned argc;          /* arguments after the binary's name, */
	char args[LINK_ARGS_BYTES]; /* each NUL-terminated, one after another */
};

#define LINK_EXIT_TELL_NEXT 76
/* EX_CONFIG: the host lacks what the worker needs (bulkhead-input without
 * uinput); starting it again changes nothing, so it is not restarted
 * until its spec changes (its log says what is missing). */
#define LINK_EXIT_CONFIG 78

/* Appends one argument (printf-style) to S's. Returns 0, or -E2BIG when
 * it does not fit (or would be the LINK_ARGS_MAX + 1st). */
int link_spec_arg(struct link_spec *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct link_set {
	struct link_spec *links;
	unsigned count;
	unsigned room;
};

/* A zeroed spec at the end of SET, or NULL when out of memory. */
struct link_spec *link_set_add(struct link_set *set);

int link_set_write(const char *path, const struct link_set *set);
int link_set_read(const char *path, struct link_set *set, char *err,
		  size_t err_len);
void link_set_free(struct link_set *set);

#endif
