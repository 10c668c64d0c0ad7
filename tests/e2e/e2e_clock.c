// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * e2e_clock - CLOCK_MONOTONIC time stamps for the udplb end-to-end tests.
 *
 * Usage: e2e_clock                    print the current CLOCK_MONOTONIC time in ns
 *        e2e_clock -o FILE CMD [ARG]...
 *                                     run CMD and append "START_NS END_NS STATUS" to FILE, where
 *                                     START_NS is taken just before the fork and END_NS just after
 *                                     CMD has exited (waitpid returned); exits with CMD's status
 *                                     (128 + N when killed by signal N)
 *
 * The same clock as the send times udp_client logs, so a script can tell which datagrams were
 * sent after a command returned.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	uint64_t start, end;
	int status, rc;
	FILE *out;
	pid_t pid;

	if (argc == 1) {
		printf("%" PRIu64 "\n", now_ns());
		return 0;
	}
	if (argc < 4 || strcmp(argv[1], "-o")) {
		fprintf(stderr, "usage: e2e_clock | e2e_clock -o FILE CMD [ARG]...\n");
		return 2;
	}
	out = fopen(argv[2], "ae");
	if (!out) {
		fprintf(stderr, "e2e_clock: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}

	start = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("e2e_clock: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "e2e_clock: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("e2e_clock: waitpid");
			return 2;
		}
	}
	end = now_ns();

	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
	else
		rc = 2;
	fprintf(out, "%" PRIu64 " %" PRIu64 " %d\n", start, end, rc);
	if (fclose(out)) {
		fprintf(stderr, "e2e_clock: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	return rc;
}
