/*
 * Client metrics through the C ABI: latency histograms per server and
 * command class in a stats snapshot, the outcome counters, the engine's
 * Prometheus text, and the shared metrics area that forked children add
 * into, read back by path.
 */
#include <math.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* The text of a value handle as a NUL-terminated copy (caller frees). */
static char *text_of(mcring_value *v) {
  size_t len = mcring_value_len(v);
  char *s = malloc(len + 1);
  if (s == NULL) exit(2);
  memcpy(s, mcring_value_data(v), len);
  s[len] = '\0';
  return s;
}

/* The index of command class `name`, or MCRING_COMMAND_CLASSES. */
static size_t class_index(const char *name) {
  size_t c = 0;
  while (mcring_command_class_name(c) != NULL && strcmp(mcring_command_class_name(c), name) != 0)
    c++;
  return c;
}

/* Requests of class `name` over every server of a snapshot. */
static uint64_t class_count(const mcring_stats *st, const char *name) {
  uint64_t n = 0;
  for (size_t i = 0; i < mcring_stats_server_count(st); i++) {
    const mcring_histogram *h = mcring_stats_latency(st, i, class_index(name));
    if (h != NULL) n += h->count;
  }
  return n;
}

/* The counter `name` of a counters struct, looked up by name. */
static uint64_t counter(const mcring_counters *c, const char *name) {
  for (size_t f = 0; mcring_counter_name(f) != NULL; f++)
    if (strcmp(mcring_counter_name(f), name) == 0) return mcring_counters_value(c, f);
  fprintf(stderr, "no counter %s\n", name);
  exit(2);
}

static void histograms_and_outcomes(void) {
  mcring_client *c = test_client_with("prefix=cmetrics:");
  for (int i = 0; i < 5; i++) {
    char key[16];
    int n = snprintf(key, sizeof key, "k%d", i);
    CHECK_STATUS(mcring_set(c, key, (size_t)n, U("v"), 0, 0), MCRING_OK);
  }
  CHECK_STATUS(mcring_add(c, S("k0"), U("v"), 0, 0), MCRING_NOT_STORED);
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(c, S("k1"), &v), MCRING_OK);
  mcring_value_free(v);
  v = NULL;
  CHECK_STATUS(mcring_get(c, S("absent"), &v), MCRING_NOT_FOUND);
  CHECK_STATUS(mcring_delete(c, S("k4")), MCRING_OK);

  mcring_stats *st = NULL;
  CHECK_STATUS(mcring_stats_get(c, &st), MCRING_OK);
  CHECK(class_count(st, "store") == 6);
  CHECK(class_count(st, "get") == 2);
  CHECK(class_count(st, "delete") == 1);
  CHECK(class_count(st, "meta") == 0);
  const mcring_counters *total = mcring_stats_total(st);
  CHECK(counter(total, "stored") == 5);
  CHECK(counter(total, "not_stored") == 1);
  CHECK(counter(total, "hits") == 1 && counter(total, "misses") == 1);
  CHECK(counter(total, "connection_errors") == 0 && counter(total, "too_large") == 0);

  /* A histogram: counts per bucket add up to its count; its time is
     bounded by the last finite bound of a bucket in use. */
  for (size_t i = 0; i < mcring_stats_server_count(st); i++) {
    const mcring_histogram *h = mcring_stats_latency(st, i, class_index("store"));
    CHECK(h != NULL);
    if (h == NULL) continue;
    uint64_t sum = 0;
    double slowest = 0;
    for (size_t b = 0; b < MCRING_LATENCY_BUCKETS; b++) {
      sum += h->counts[b];
      if (h->counts[b] > 0) slowest = mcring_latency_bound(b);
    }
    CHECK(sum == h->count);
    CHECK((double)h->sum_ns / 1e9 <= slowest * (double)h->count);
  }
  CHECK(mcring_stats_latency(st, mcring_stats_server_count(st), 0) == NULL);
  CHECK(mcring_stats_latency(st, 0, MCRING_COMMAND_CLASSES) == NULL);
  CHECK(mcring_stats_latency(NULL, 0, 0) == NULL);
  mcring_stats_free(st);

  CHECK(strcmp(mcring_command_class_name(0), "get") == 0);
  CHECK(strcmp(mcring_command_class_name(1), "get_multi") == 0);
  CHECK(mcring_command_class_name(MCRING_COMMAND_CLASSES) == NULL);
  CHECK(mcring_latency_bound(0) == 0.00001);
  CHECK(mcring_latency_bound(MCRING_LATENCY_BUCKETS - 2) == 10.0);
  CHECK(isinf(mcring_latency_bound(MCRING_LATENCY_BUCKETS - 1)));
  CHECK(isnan(mcring_latency_bound(MCRING_LATENCY_BUCKETS)));

  /* The engine's Prometheus text. */
  v = NULL;
  CHECK_STATUS(mcring_metrics_prometheus(c, &v), MCRING_OK);
  char *text = text_of(v);
  CHECK(strstr(text, "# TYPE mcring_client_request_duration_seconds histogram\n") != NULL);
  CHECK(strstr(text, "command=\"store\",le=\"+Inf\"}") != NULL);
  CHECK(strstr(text, "# TYPE mcring_client_stored_total counter\n") != NULL);
  free(text);
  mcring_value_free(v);
  CHECK_STATUS(mcring_metrics_prometheus(NULL, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_metrics_prometheus(c, NULL), MCRING_INVALID_ARGUMENT);
  mcring_client_free(c);
}

static void shared_area(void) {
  char path[256];
  snprintf(path, sizeof path, "%s/mcring-c-metrics-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
           (int)getpid());
  unlink(path);
  CHECK_STATUS(mcring_shared_metrics_init(NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_shared_metrics_init(""), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_shared_metrics_init("/nonexistent-dir/x"), MCRING_BAD_CONFIG);
  CHECK_STATUS(mcring_shared_metrics_init(path), MCRING_OK);
  CHECK_STATUS(mcring_shared_metrics_init(path), MCRING_OK); /* idempotent */

  /* Three children, each with its own client: 10 gets each. */
  for (int child = 0; child < 3; child++) {
    pid_t pid = fork();
    if (pid == 0) {
      mcring_client *c = test_client_with("prefix=cshm:");
      for (int i = 0; i < 10; i++) {
        mcring_value *v = NULL;
        mcring_get(c, S("nothing"), &v);
        mcring_value_free(v);
      }
      mcring_client_free(c);
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  mcring_value *v = NULL;
  CHECK_STATUS(mcring_shared_metrics_prometheus(path, &v), MCRING_OK);
  char *text = text_of(v);
  /* 30 misses over the servers: add up the per-server lines. */
  long misses = 0, gets = 0;
  for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    char *value = strrchr(line, ' ');
    if (value == NULL) continue;
    if (strncmp(line, "mcring_client_misses_total{", 27) == 0) misses += strtol(value, NULL, 10);
    if (strncmp(line, "mcring_client_request_duration_seconds_count{", 45) == 0 &&
        strstr(line, "command=\"get\"") != NULL)
      gets += strtol(value, NULL, 10);
  }
  CHECK(misses == 30);
  CHECK(gets == 30);
  free(text);
  mcring_value_free(v);
  v = NULL;
  CHECK_STATUS(mcring_shared_metrics_prometheus("/nonexistent-dir/x", &v), MCRING_BAD_CONFIG);
  CHECK(v == NULL);
  CHECK(last_error_has("/nonexistent-dir/x"));
  CHECK_STATUS(mcring_shared_metrics_prometheus(NULL, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_shared_metrics_prometheus(path, NULL), MCRING_INVALID_ARGUMENT);
  unlink(path);
}

int main(void) {
  histograms_and_outcomes();
  shared_area();
  return test_finish("test_metrics");
}
