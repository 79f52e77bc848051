/* The link's state: made, given a tap, released; the drop reasons'
 * names. The data path is net_link.c (transmit side, the forward loop),
 * with the host tap's forward loop, and net_link_rx.h (receive side). */
#include "net_link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const drop_names[NET_DROP_MAX] = {
	[NET_DROP_SPOOFED] = "spoofed",
	[NET_DROP_MALFORMED] = "malformed",
	[NET_DROP_OVERSIZE] = "oversize",
	[NET_DROP_PEER_DOWN] = "peer_down",
	[NET_DROP_RX_TOO_SMALL] = "rx_buffer_too_small",
	[NET_DROP_NO_RX_BUFFER] = "no_rx_buffer",
	[NET_DROP_NOT_IPV4_ARP] = "not_ipv4_arp",
};

const char *net_drop_name(enum net_drop reason)
{
	return reason < NET_DROP_MAX ? drop_names[reason] : "unknown";
}
int net_link_init(struct net_link *l, const struct vu_dev_ops *ops,
		  void *opaque)
{
	memset(l, 0, sizeof(*l));
	l->tap_fd[0] = l->tap_fd[1] = -1;
	vu_dev_init(&l->side[0], "a", &net_vu_kind, ops, opaque);
	vu_dev_init(&l->side[1], "b", &net_vu_kind, ops, opaque);
	net_link_set_pairs(l, 1);
	l->tx = calloc(NET_BATCH, sizeof(*l->tx));
	l->rx = calloc(NET_RX_CACHE, sizeof(*l->rx));
	l->bounce = malloc(NET_MAX_FRAME);
	l->seg_buf = malloc(NET_MAX_FRAME);
	if (!l->tx || !l->rx || !l->bounce || !l->seg_buf) {
		net_link_destroy(l);
		return -ENOMEM;
	}
	return 0;
}

void net_link_destroy(struct net_link *l)
{
	for (int s = 0; s < 2; s++)
		if (l->side[s].sock >= 0)
			vu_dev_detach(&l->side[s]);
	for (int s = 0; s < 2; s++) {
		if (l->tap_fd[s] >= 0)
			close(l->tap_fd[s]);
		l->tap_fd[s] = -1;
	}
	free(l->tx);
	free(l->rx);
	free(l->bounce);
	free(l->seg_buf);
	free(l->tap_buf);
	l->tx = l->rx = NULL;
	l->bounce = l->seg_buf = l->tap_buf = NULL;
}

int net_link_set_pairs(struct net_link *l, unsigned pairs)
{
	for (unsigned s = 0; s < 2; s++)
		if (l->side[s].sock >= 0)
			return -EINVAL;
	if (net_vu_set_pairs(&l->side[0], pairs) < 0 ||
	    net_vu_set_pairs(&l->side[1], pairs) < 0)
		return -EINVAL;
	l->pairs = pairs;
	return 0;
}

int net_link_set_tap(struct net_link *l, unsigned s, int fd)
{
	if (!l->tap_buf) {
		l->tap_buf = malloc(NET_MAX_FRAME);
		if (!l->tap_buf)
			return -ENOMEM;
	}
	l->tap_fd[s] = fd;
	l->tap_len = 0;
	return 0;
}
