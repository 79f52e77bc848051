/* The host's own port: a tap interface a link's side a can be instead of
 * a VM (bulkhead-link --tap-a). Its frames are forwarded by net_link.c. */
#ifndef BULKHEAD_NET_TAP_H
#define BULKHEAD_NET_TAP_H

/* Opens the tap IFNAME (made by whoever started us, persistent; made
 * here if missing and we may): frames only, no packet information, no
 * virtio-net header, so the kernel completes checksums and segments
 * itself. Non-blocking. Returns the descriptor or -errno. */
int net_tap_open(const char *name);

#endif
