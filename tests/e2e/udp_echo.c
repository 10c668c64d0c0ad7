// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udp_echo - the backend of the udplb end-to-end tests.
 *
 * Usage: udp_echo NAME PORT
 *
 * Binds 0.0.0.0:PORT and answers every datagram with "NAME " followed by the request's payload.
 * The reply is sent FROM the address the datagram was sent to (IP_PKTINFO: the destination
 * address received with recvmsg() becomes ipi_spec_dst of the sendmsg()), so a datagram that
 * reached a VIP held on lo (direct server return) or came out of an ipip tunnel device is answered
 * from VIP:PORT, straight to the client.
 *
 * Exits 0 on SIGTERM or SIGINT and prints "udp_echo NAME: N datagrams" on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define NAME_MAX_LEN 32
#define BUF_SIZE 2048

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: recvmsg() returns EINTR and the loop sees stop. */
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		return -1;
	return 0;
}

static int open_socket(unsigned int port)
{
	struct sockaddr_in addr;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	int one = 1, rcvbuf = 4 << 20;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("udp_echo: socket");
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))) {
		perror("udp_echo: setsockopt");
		close(fd);
		return -1;
	}
	/* Best effort: a bigger receive buffer absorbs bursts of the traffic generator. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* Wake up now and then, so a signal landing just before recvmsg() is not missed. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		perror("udp_echo: SO_RCVTIMEO");
		close(fd);
		return -1;
	}

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	addr.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "udp_echo: bind 0.0.0.0:%u: %s\n", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Receive one datagram and answer it. Returns 1 when a datagram was answered, 0 when there was
 * nothing to do (signal), -1 on a fatal error.
 */
static int echo_one(int fd, const char *name, size_t name_len)
{
	char buf[NAME_MAX_LEN + 1 + BUF_SIZE];
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct sockaddr_in peer;
	struct in_pktinfo *pi = NULL, reply_pi;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	ssize_t n;

	/* The payload lands after "NAME ", so the reply is built in place. */
	memcpy(buf, name, name_len);
	buf[name_len] = ' ';

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf + name_len + 1;
	iov.iov_len = BUF_SIZE;
	msg.msg_name = &peer;
	msg.msg_namelen = sizeof(peer);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);

	n = recvmsg(fd, &msg, 0);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		perror("udp_echo: recvmsg");
		return -1;
	}

	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_PKTINFO)
			pi = (struct in_pktinfo *)CMSG_DATA(cmsg);
	}

	iov.iov_base = buf;
	iov.iov_len = name_len + 1 + (size_t)n;
	msg.msg_namelen = sizeof(peer);
	msg.msg_flags = 0;
	if (pi) {
		/* Reply from the address the datagram was sent to, whatever device it came in on. */
		memset(&reply_pi, 0, sizeof(reply_pi));
		reply_pi.ipi_spec_dst = pi->ipi_addr;
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(reply_pi));
		memset(cbuf, 0, sizeof(cbuf));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = IPPROTO_IP;
		cmsg->cmsg_type = IP_PKTINFO;
		cmsg->cmsg_len = CMSG_LEN(sizeof(reply_pi));
		memcpy(CMSG_DATA(cmsg), &reply_pi, sizeof(reply_pi));
	} else {
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
	}

	if (sendmsg(fd, &msg, 0) < 0) {
		/* A reply that cannot be sent now is a lost datagram for the client, not a crash. */
		if (errno == EINTR)
			return 0;
		fprintf(stderr, "udp_echo %s: sendmsg to %s:%u: %s\n", name,
			inet_ntoa(peer.sin_addr), ntohs(peer.sin_port), strerror(errno));
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	unsigned long long count = 0;
	const char *name;
	size_t name_len;
	char *end;
	long port;
	int fd, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: udp_echo NAME PORT\n");
		return 2;
	}
	name = argv[1];
	name_len = strlen(name);
	if (!name_len || name_len > NAME_MAX_LEN || strpbrk(name, " \t\n")) {
		fprintf(stderr, "udp_echo: NAME must be 1-%d characters without spaces\n",
			NAME_MAX_LEN);
		return 2;
	}
	errno = 0;
	port = strtol(argv[2], &end, 10);
	if (errno || *end || port < 1 || port > 65535) {
		fprintf(stderr, "udp_echo: bad PORT '%s'\n", argv[2]);
		return 2;
	}

	if (setup_signals()) {
		perror("udp_echo: sigaction");
		return 1;
	}
	fd = open_socket((unsigned int)port);
	if (fd < 0)
		return 1;

	while (!stop) {
		ret = echo_one(fd, name, name_len);
		if (ret < 0) {
			close(fd);
			return 1;
		}
		count += (unsigned long long)ret;
	}
	close(fd);
	fprintf(stderr, "udp_echo %s: %llu datagrams\n", name, count);
	return 0;
}
