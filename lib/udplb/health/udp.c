// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The udp check: send a payload on a connected socket, judge the first reply. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kinds.h"

static int udp_connect(__be32 addr, __be16 port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = addr,
				   .sin_port = port };
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Connected: only the backend's datagrams arrive, and its ICMP errors reach recv(). */
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void lb_udp_drain(int fd)
{
	__u8 buf[1];
	int i;

	/* Bounded: a flood of datagrams must not stall the event loop. */
	for (i = 0; i < 64; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) < 0 && errno == EAGAIN)
			break;
}

int lb_probe_socket(struct lb_probe *p, __be32 addr, __be16 port)
{
	if (p->sock >= 0) {
		lb_udp_drain(p->sock);
	} else {
		int fd = udp_connect(addr, port);

		if (fd < 0)
			return fd;
		p->sock = fd;
		p->fd_new = true;
	}
	p->fd = p->sock;
	return 0;
}

int lb_udp_start(struct lb_probe *p, const struct lb_check *c, const struct lb_probe_target *t,
		 struct lb_probe_result *r)
{
	int ret = lb_probe_socket(p, t->addr, lb_probe_port(c, t));

	if (ret)
		return lb_probe_done(p, r, LB_PROBE_ERROR, -ret);
	if (send(p->fd, c->udp.send, c->udp.send_len, 0) < 0)
		return lb_probe_done(
			p, r, errno == ECONNREFUSED ? LB_PROBE_REFUSED : LB_PROBE_ERROR, errno);
	return LB_PROBE_PENDING;
}

/* Judge a reply of @len bytes (its first bytes in @buf, at most @have of them). */
static __u8 judge_reply(const struct lb_check *c, const __u8 *buf, size_t have, size_t len)
{
	size_t i;

	if (len < c->udp.min_reply || (c->udp.max_reply && len > c->udp.max_reply))
		return LB_PROBE_LENGTH;
	if (len < c->udp.expect_len)
		return LB_PROBE_LENGTH;
	for (i = 0; i < c->udp.expect_len && i < have; i++)
		if ((buf[i] ^ c->udp.expect[i]) & c->udp.expect_mask[i])
			return LB_PROBE_MISMATCH;
	return LB_PROBE_PASS;
}

/* One recv(): LB_PROBE_DONE with a verdict, or LB_PROBE_PENDING when nothing is queued. */
static int receive(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r)
{
	__u8 buf[LB_CHECK_PAYLOAD_MAX];
	ssize_t n;

	/* MSG_TRUNC: the datagram's real length, though only the pattern's bytes are copied. */
	n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return LB_PROBE_PENDING;
		return lb_probe_done(
			p, r, errno == ECONNREFUSED ? LB_PROBE_REFUSED : LB_PROBE_ERROR, errno);
	}
	if (c->udp.expect_none)
		return lb_probe_done(p, r, LB_PROBE_PASS, 0);
	return lb_probe_done(p, r, judge_reply(c, buf, sizeof(buf), (size_t)n), 0);
}

int lb_udp_readable(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r)
{
	return receive(p, c, r);
}

int lb_udp_timeout(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r)
{
	if (lb_probe_busy(p) && receive(p, c, r) == LB_PROBE_DONE)
		return LB_PROBE_DONE;
	/* Without an expected reply, silence is a pass (keepalived's UDP_CHECK without payload). */
	return lb_probe_done(p, r, c->udp.expect_none ? LB_PROBE_PASS : LB_PROBE_TIMEOUT, 0);
}
