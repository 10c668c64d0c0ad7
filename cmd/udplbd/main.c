// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udplbd -f FILE [--check] [--unload-on-exit] [-v]: parse the file, then (unless --check) load
 * or upgrade udplb on its device and keep its backends' health in the data plane until
 * SIGTERM/SIGINT. SIGHUP reloads the file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "udplbd.h"

static void usage(FILE *f)
{
	fputs("Usage: udplbd -f FILE [--check] [--unload-on-exit] [-v]\n"
	      "\n"
	      "Health-check the backends of the udplb instance FILE describes and keep the data\n"
	      "plane's rings in line with their health (one transaction per 100 ms tick at most).\n"
	      "\n"
	      "  -f, --file FILE       the configuration (syntax: lib/udplb/daemon/dconf.h)\n"
	      "      --check           validate FILE and exit (0 valid, 2 invalid)\n"
	      "      --unload-on-exit  on SIGTERM/SIGINT also detach udplb and remove its pins\n"
	      "                        (default: the data plane keeps running)\n"
	      "  -v, --verbose         log every probe result\n"
	      "  -h, --help            this text\n"
	      "\n"
	      "Signals: SIGHUP reloads FILE (an invalid file is logged and the running configuration\n"
	      "kept); SIGTERM and SIGINT stop the probes and exit 0.\n",
	      f);
}

int udplbd_parse(const char *file, struct lb_dconf *conf)
{
	struct lb_err err = {};
	FILE *f = fopen(file, "re");
	int ret;

	if (!f) {
		ret = -errno;
		ulog(UDPLBD_ERR, "%s: %s", file, strerror(-ret));
		return ret;
	}
	ret = lb_dconf_parse(f, file, conf, &err);
	fclose(f);
	if (ret)
		ulog(UDPLBD_ERR, "%s", err.msg[0] ? err.msg : strerror(-ret));
	return ret;
}

/* libbpf's messages (e.g. probing for a tc qdisc that is absent) only with -v. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, args);
	line[strcspn(line, "\n")] = '\0';
	ulog(UDPLBD_DEBUG, "libbpf: %s", line);
	return 0;
}

static int parse_args(int argc, char **argv, struct udplbd_opts *o)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },     { "check", no_argument, NULL, 'c' },
		{ "unload-on-exit", no_argument, NULL, 'u' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },	      {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->file = optarg;
			break;
		case 'c':
			o->check_only = true;
			break;
		case 'u':
			o->unload_on_exit = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc || !o->file) {
		fputs(optind != argc ? "udplbd: unexpected argument\n" :
				       "udplbd: -f FILE is required\n",
		      stderr);
		usage(stderr);
		return -EINVAL;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct udplbd_opts opts = {};
	struct udplbd d = { .opts = &opts };
	struct lb_dconf conf;
	int ret;

	ret = parse_args(argc, argv, &opts);
	if (ret <= 0)
		return ret ? UDPLBD_EXIT_INVALID : 0;
	ulog_verbose(opts.verbose);
	if (udplbd_block_signals())
		return UDPLBD_EXIT_RUNTIME;
	libbpf_set_print(libbpf_log);
	lb_dconf_init(&conf);
	if (udplbd_parse(opts.file, &conf)) {
		lb_dconf_free(&conf);
		return UDPLBD_EXIT_INVALID;
	}
	if (opts.check_only) {
		lb_dconf_free(&conf);
		return 0;
	}
	ret = udplbd_setup(&d, &conf);
	if (!ret)
		ret = udplbd_apply_conf(&d, &conf);
	lb_dconf_free(&conf);
	if (!ret)
		ret = udplbd_commit(&d, "start");
	if (!ret)
		ret = udplbd_run(&d);
	udplbd_teardown(&d);
	return ret ? UDPLBD_EXIT_RUNTIME : 0;
}
