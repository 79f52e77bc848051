/* A running bulkhead-link's status, as its --control socket gives it
 * (docs/vmm.md, "Status"), for the tests that drive a real link. */
#ifndef BULKHEAD_LINK_CONTROL_H
#define BULKHEAD_LINK_CONTROL_H

#include <json-c/json.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* Connects to PATH and reads the JSON to EOF (a link that stalls is
 * given 2 s, not forever). Returns it parsed, or NULL. */
static inline json_object *link_control_read(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static char buf[1 << 16];
	struct timeval tmo = { .tv_sec = 2 };
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return json_tokener_parse(buf);
}

/* Counter KEY of direction DIR ("a_to_b", "b_to_a"): DIR.KEY, else the
 * drop reason DIR.drops.KEY. -1 when the link does not answer or has no
 * such counter. */
static inline long long link_control_counter(const char *path,
					     const char *dir, const char *key)
{
	json_object *root = link_control_read(path), *d, *v;
	long long out = -1;

	if (root && json_object_object_get_ex(root, dir, &d) &&
	    (json_object_object_get_ex(d, key, &v) ||
	     (json_object_object_get_ex(d, "drops", &d) &&
	      json_object_object_get_ex(d, key, &v))))
		out = json_object_get_int64(v);
	json_object_put(root);
	return out;
}

#endif
