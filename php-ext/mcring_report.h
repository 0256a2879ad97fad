/*
 * Per-server reports (statistics, versions, health, keys): libmcring hands
 * them to callbacks while its request is in progress. The callbacks only
 * copy strings with malloc() into a list of rows, which becomes PHP arrays
 * after the call returns, so no PHP error (memory_limit) can jump out
 * through libmcring's frames.
 */
#ifndef MCRING_REPORT_H
#define MCRING_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One server's report: up to three strings and two numbers. */
typedef struct {
	char *text[3];
	int64_t number[2];
} report_row;

typedef struct {
	report_row *rows;
	size_t len, cap;
	bool out_of_memory;
} report;

/* Appends a row (copies of the strings, which may be NULL). */
void report_add(report *r, const char *a, const char *b, const char *c, int64_t n0, int64_t n1);

/* Frees the rows. */
void report_free(report *r);

#endif /* MCRING_REPORT_H */
