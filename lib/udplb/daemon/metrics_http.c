// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The metrics endpoint: libmicrohttpd without a thread of its own (MHD_USE_EPOLL, external
 * polling), so every request is answered inside the daemon's event loop, which owns the state
 * the snapshot is read from. GET (or HEAD) /metrics answers the text, any other path 404, any
 * other method 405. We open the listening socket ourselves to know the port bound by port 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon/metrics.h"
#include "internal.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* An idle client is dropped after that long (a scrape takes milliseconds). */
#define CONNECTION_TIMEOUT_S 10
#define CONNECTION_LIMIT 32

struct lb_metrics_server {
	struct MHD_Daemon *mhd;
	lb_metrics_collect_fn collect;
	void *ctx;
	__u16 port;
};

static enum MHD_Result answer_static(struct MHD_Connection *conn, unsigned int status,
				     const char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_metrics(struct lb_metrics_server *m, struct MHD_Connection *conn)
{
	struct lb_metrics_snapshot s;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text;
	size_t len;

	memset(&s, 0, sizeof(s));
	if (m->collect(m->ctx, &s) < 0 || lb_metrics_format(&s, &text, &len) < 0)
		return answer_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	(void)version;
	(void)upload_data;
	(void)req_cls;
	/* A request with a body (not ours): answer once the body is read, ignoring it. */
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return answer_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (strcmp(url, "/metrics"))
		return answer_static(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	return answer_metrics(cls, conn);
}

static int open_listener(__be32 addr, __be16 port, __u16 *bound, struct lb_err *err)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = addr,
				   .sin_port = port };
	socklen_t sl = sizeof(sin);
	char a[INET_ADDRSTRLEN];
	int one = 1, fd, ret;

	inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lb_fail(err, -errno, "metrics: socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl)) {
		ret = -errno;
		close(fd);
		return lb_fail(err, ret, "metrics: listen on %s:%u: %s", a, ntohs(port),
			       strerror(-ret));
	}
	*bound = ntohs(sin.sin_port);
	return fd;
}

struct lb_metrics_server *lb_metrics_server_new(__be32 addr, __be16 port,
						lb_metrics_collect_fn collect, void *ctx,
						struct lb_err *err)
{
	struct lb_metrics_server *m;
	int fd;

	m = calloc(1, sizeof(*m));
	if (!m) {
		lb_fail(err, -ENOMEM, "metrics: out of memory");
		return NULL;
	}
	m->collect = collect;
	m->ctx = ctx;
	fd = open_listener(addr, port, &m->port, err);
	if (fd < 0) {
		free(m);
		errno = -fd;
		return NULL;
	}
	/* No MHD_USE_ERROR_LOG: a library does not print. MHD owns (and closes) the socket. */
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, m,
				  MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
				  MHD_OPTION_END);
	if (!m->mhd) {
		close(fd);
		free(m);
		lb_fail(err, -EIO, "metrics: libmicrohttpd failed to start");
		return NULL;
	}
	return m;
}

void lb_metrics_server_free(struct lb_metrics_server *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	free(m);
}

int lb_metrics_server_fd(const struct lb_metrics_server *m)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

__u16 lb_metrics_server_port(const struct lb_metrics_server *m)
{
	return m->port;
}

int lb_metrics_server_process(struct lb_metrics_server *m)
{
	if (MHD_run(m->mhd) != MHD_YES) {
		errno = EIO;
		return -EIO;
	}
	return 0;
}

int lb_metrics_server_timeout_ms(struct lb_metrics_server *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(m->mhd, &ms) != MHD_YES)
		return -1;
	return ms > 60000 ? 60000 : (int)ms;
}
