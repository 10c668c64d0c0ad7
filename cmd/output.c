// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One print path for text and JSON. Commands describe their output as nested objects, arrays and
 * fields; in JSON that is the document, in text every object is one line of "key value" pairs,
 * nested arrays going on indented lines below it (as bpftool and ip print).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define MAX_DEPTH 16

static bool json;
static int depth;
static bool first[MAX_DEPTH]; /* JSON: no comma before the next member */
static bool line_open;	      /* text: a line has fields on it */
static int text_indent;
static int text_depth;
static bool text_in_array[MAX_DEPTH]; /* text: scalars directly in an array get a line each */

void out_init(bool use_json)
{
	json = use_json;
	depth = 0;
	first[0] = true;
	line_open = false;
	text_indent = 0;
	text_depth = 0;
	text_in_array[0] = false;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_key(const char *key)
{
	if (!first[depth])
		putchar(',');
	first[depth] = false;
	if (key) {
		json_str(key);
		putchar(':');
	}
}

static void text_end_line(void)
{
	if (line_open)
		putchar('\n');
	line_open = false;
}

static void text_field(const char *key)
{
	if (text_in_array[text_depth])
		text_end_line();
	if (!line_open)
		printf("%*s", text_indent * 4, "");
	else
		putchar(' ');
	line_open = true;
	if (key)
		printf("%s ", key);
}

void out_obj_begin(const char *key)
{
	if (json) {
		json_key(key);
		putchar('{');
		first[++depth] = true;
	} else if (text_depth + 1 < MAX_DEPTH) {
		/* A named object starts a line of its own, labelled with its name. */
		if (key) {
			text_end_line();
			text_field(NULL);
			fputs(key, stdout);
		}
		text_in_array[++text_depth] = false;
	}
}

void out_obj_end(void)
{
	if (json) {
		putchar('}');
		depth--;
	} else {
		text_end_line();
		text_depth--;
	}
}

void out_arr_begin(const char *key)
{
	if (json) {
		json_key(key);
		putchar('[');
		first[++depth] = true;
	} else {
		text_end_line();
		text_indent++;
		if (text_depth + 1 < MAX_DEPTH)
			text_in_array[++text_depth] = true;
	}
}

void out_arr_end(void)
{
	if (json) {
		putchar(']');
		depth--;
	} else {
		text_end_line();
		text_indent--;
		text_depth--;
	}
}

void out_str(const char *key, const char *value)
{
	if (json) {
		json_key(key);
		json_str(value);
	} else {
		text_field(key);
		fputs(value, stdout);
	}
}

void out_u64(const char *key, __u64 value)
{
	if (json) {
		json_key(key);
		printf("%llu", (unsigned long long)value);
	} else {
		text_field(key);
		printf("%llu", (unsigned long long)value);
	}
}

void out_f64(const char *key, double value)
{
	if (json)
		json_key(key);
	else
		text_field(key);
	printf("%.1f", value);
}

void out_bool(const char *key, bool value)
{
	if (json)
		json_key(key);
	else
		text_field(key);
	fputs(value ? "true" : "false", stdout);
}

void out_finish(void)
{
	if (json)
		putchar('\n');
	else
		text_end_line();
	fflush(stdout);
}

void out_error(const char *msg)
{
	if (json) {
		/* A document cut short by the error ends its line: the error is a line of its own. */
		if (depth > 0)
			putchar('\n');
		depth = 0;
		first[0] = true;
		fputs("{\"error\":", stdout);
		json_str(msg);
		fputs("}\n", stdout);
		fflush(stdout);
	} else {
		fprintf(stderr, "udplb: %s\n", msg);
	}
}
