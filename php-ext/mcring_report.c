/*
 * Per-server report rows, copied with malloc() (see mcring_report.h).
 */
#include "mcring_report.h"

#include <stdlib.h>
#include <string.h>

static char *copy_text(const char *text, bool *failed)
{
	if (text == NULL) {
		return NULL;
	}
	char *copy = strdup(text);
	if (copy == NULL) {
		*failed = true;
	}
	return copy;
}

void report_add(report *r, const char *a, const char *b, const char *c, int64_t n0,
	int64_t n1)
{
	if (r->len == r->cap) {
		size_t cap = r->cap == 0 ? 16 : r->cap * 2;
		report_row *rows = realloc(r->rows, cap * sizeof(report_row));
		if (rows == NULL) {
			r->out_of_memory = true;
			return;
		}
		r->rows = rows;
		r->cap = cap;
	}
	report_row *row = &r->rows[r->len++];
	row->text[0] = copy_text(a, &r->out_of_memory);
	row->text[1] = copy_text(b, &r->out_of_memory);
	row->text[2] = copy_text(c, &r->out_of_memory);
	row->number[0] = n0;
	row->number[1] = n1;
}

void report_free(report *r)
{
	for (size_t i = 0; i < r->len; i++) {
		free(r->rows[i].text[0]);
		free(r->rows[i].text[1]);
		free(r->rows[i].text[2]);
	}
	free(r->rows);
}

