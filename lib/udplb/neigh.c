// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Neighbour resolution over rtnetlink (RTM_GETNEIGH with NDA_DST: one entry, no dump). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "internal.h"
#include "lb_neigh.h"

#define NEIGH_POLL_MS 10

/* What an ARP entry the kernel marks complete (ATF_COMPLETE) has: a usable link address. */
#define NUD_USABLE (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)

struct neigh_reply {
	__u8 mac[6];
	bool found;
};

static int neigh_attr(const struct nlattr *attr, void *data)
{
	struct neigh_reply *r = data;

	if (mnl_attr_get_type(attr) == NDA_LLADDR && mnl_attr_get_payload_len(attr) == 6) {
		memcpy(r->mac, mnl_attr_get_payload(attr), 6);
		r->found = true;
	}
	return MNL_CB_OK;
}

static int neigh_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWNEIGH || !(ndm->ndm_state & NUD_USABLE))
		return MNL_CB_OK;
	return mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr, data);
}

/* One RTM_GETNEIGH request for @addr on @ifindex. */
static int neigh_get(struct mnl_socket *nl, int ifindex, __be32 addr, struct neigh_reply *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned int seq = (unsigned int)time(NULL), portid = mnl_socket_get_portid(nl);
	struct ndmsg *ndm;
	int n, ret;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = AF_INET;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, sizeof(addr), &addr);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	ret = mnl_cb_run(buf, n, seq, portid, neigh_msg, r);
	return ret < 0 ? -errno : 0;
}

int lb_neigh_lookup(int ifindex, __be32 addr, __u8 mac[6])
{
	struct neigh_reply r = { .found = false };
	struct mnl_socket *nl;
	int ret;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	ret = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) ? -errno : 0;
	if (!ret)
		ret = neigh_get(nl, ifindex, addr, &r);
	mnl_socket_close(nl);
	if (ret)
		return ret;
	if (!r.found)
		return -ENOENT;
	memcpy(mac, r.mac, 6);
	return 0;
}

/* Make the kernel resolve @addr on the device: any datagram does (to the discard port). */
static void neigh_trigger(int ifindex, __be32 addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(9),
				   .sin_addr.s_addr = addr };
	char dev[IF_NAMESIZE];
	int fd;

	if (!if_indextoname(ifindex, dev))
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev));
	sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
}

int lb_neigh_probe(int ifindex, __be32 addr, unsigned int wait_ms, __u8 mac[6])
{
	struct timespec pause = { 0, NEIGH_POLL_MS * 1000000L };
	unsigned int waited;

	if (!lb_neigh_lookup(ifindex, addr, mac))
		return 0;
	neigh_trigger(ifindex, addr);
	for (waited = 0; waited < wait_ms; waited += NEIGH_POLL_MS) {
		nanosleep(&pause, NULL);
		if (!lb_neigh_lookup(ifindex, addr, mac))
			return 0;
	}
	return -EHOSTUNREACH;
}

/* A neighbour entry is only as good as its address: NOARP devices report zeros. */
static bool station_mac(const __u8 mac[6])
{
	static const __u8 zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, sizeof(zero));
}

int lb_backend_resolve_mac(int ifindex, const struct lb_vip *vip, struct lb_backend *b,
			   enum lb_resolve how, struct lb_err *err)
{
	char addr[INET_ADDRSTRLEN], dev[IF_NAMESIZE];
	__u8 mac[6];
	int ret;

	if (b->has_mac)
		return 0;
	if (how == LB_RESOLVE_PROBE)
		ret = lb_neigh_probe(ifindex, b->addr, LB_NEIGH_WAIT_MS, mac);
	else
		ret = lb_neigh_lookup(ifindex, b->addr, mac);
	if (!ret && station_mac(mac)) {
		memcpy(b->mac, mac, sizeof(mac));
		b->has_mac = true;
		return 0;
	}
	if (how == LB_RESOLVE_LOOKUP || vip->fwd == UDPLB_FWD_IPIP)
		return 0; /* a preview, or routed: the data plane looks up the next hop */
	inet_ntop(AF_INET, &b->addr, addr, sizeof(addr));
	if (!if_indextoname(ifindex, dev))
		snprintf(dev, sizeof(dev), "#%d", ifindex);
	return lb_fail(err, -EHOSTUNREACH,
		       "cannot resolve the MAC of backend %s on %s (dsr needs backends on the same "
		       "link; give --mac)",
		       addr, dev);
}

int lb_state_resolve_macs(struct lb_state *s, int ifindex, enum lb_resolve how, struct lb_err *err)
{
	__u32 i, j;
	int ret;

	for (i = 0; i < s->nr_vips; i++) {
		for (j = 0; j < s->vips[i].nr_backends; j++) {
			ret = lb_backend_resolve_mac(ifindex, &s->vips[i], &s->vips[i].backends[j],
						     how, err);
			if (ret)
				return ret;
		}
	}
	return 0;
}
