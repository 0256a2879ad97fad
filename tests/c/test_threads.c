/*
 * One client shared by many threads at once: every thread's own values come
 * back intact, a shared counter sees every increment, and each thread has
 * its own last error.
 */
#include <pthread.h>

#include "common.h"

#define THREADS 8

static mcring_client *shared;
static long rounds;

struct worker {
  int id;
  int failures;
};

static void on_value(void *ud, size_t i, const uint8_t *v, size_t n, uint32_t f, uint64_t cas) {
  (void)v, (void)n, (void)cas;
  if (f != (uint32_t)i) (*(int *)ud)++;
}

static void *work(void *arg) {
  struct worker *w = arg;
  char key[64], value[64];
  for (long r = 0; r < rounds; r++) {
    int kn = snprintf(key, sizeof key, "thread-%d-%ld", w->id, r % 20);
    int vn = snprintf(value, sizeof value, "value-%d-%ld", w->id, r);
    if (mcring_set(shared, key, (size_t)kn, (const uint8_t *)value, (size_t)vn, (uint32_t)r, 0) !=
        MCRING_OK)
      w->failures++;
    mcring_value *v = NULL;
    if (mcring_get(shared, key, (size_t)kn, &v) != MCRING_OK || mcring_value_len(v) != (size_t)vn ||
        memcmp(mcring_value_data(v), value, (size_t)vn) != 0 || mcring_value_flags(v) != (uint32_t)r)
      w->failures++;
    mcring_value_free(v);
    uint64_t n = 0;
    if (mcring_incr(shared, S("thread-counter"), 1, &n) != MCRING_OK) w->failures++;
    if (r % 10 == 0) {
      /* A multi-get across both servers from every thread at once. */
      const char *keys[3] = {"thread-mk0", "thread-mk1", "thread-mk2"};
      size_t lens[3] = {10, 10, 10};
      mcring_status st[3];
      int wrong = 0;
      if (mcring_get_multi(shared, keys, lens, 3, on_value, &wrong, st) != MCRING_OK || wrong ||
          st[0] != MCRING_OK || st[1] != MCRING_OK || st[2] != MCRING_OK)
        w->failures++;
    }
  }
  /* This thread's error message is its own. */
  char bad[16];
  int n = snprintf(bad, sizeof bad, "bad key-%d", w->id);
  if (mcring_delete(shared, bad, (size_t)n) != MCRING_BAD_KEY) w->failures++;
  char want[32];
  snprintf(want, sizeof want, "key-%d\"", w->id); /* the space is shown escaped */
  if (strstr(mcring_last_error(), want) == NULL) w->failures++;
  if (w->failures)
    fprintf(stderr, "thread %d: %d failures (last error: %s)\n", w->id, w->failures,
            mcring_last_error());
  return NULL;
}

int main(void) {
  rounds = test_env_long("MCRING_TEST_ROUNDS", 300);
  shared = test_client_with("prefix=threads: pool_size=4");
  CHECK_STATUS(mcring_set(shared, S("thread-counter"), U("0"), 0, 0), MCRING_OK);
  for (int i = 0; i < 3; i++) {
    char key[16];
    snprintf(key, sizeof key, "thread-mk%d", i);
    CHECK_STATUS(mcring_set(shared, key, 10, U("v"), (uint32_t)i, 0), MCRING_OK);
  }
  /* The main thread's message must survive the workers' failures. */
  CHECK_STATUS(mcring_get(shared, S("main thread-key"), &(mcring_value *){NULL}), MCRING_BAD_KEY);

  pthread_t threads[THREADS];
  struct worker workers[THREADS];
  for (int i = 0; i < THREADS; i++) {
    workers[i] = (struct worker){i, 0};
    CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
  }
  int failures = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    failures += workers[i].failures;
  }
  CHECK(failures == 0);
  CHECK(last_error_has("thread-key\""));

  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(shared, S("thread-counter"), &v), MCRING_OK);
  char want[32];
  int n = snprintf(want, sizeof want, "%ld", THREADS * rounds);
  CHECK(v != NULL && mcring_value_len(v) == (size_t)n && memcmp(mcring_value_data(v), want, (size_t)n) == 0);
  mcring_value_free(v);

  /* Nothing failed on the wire either. */
  mcring_stats *stats = NULL;
  CHECK_STATUS(mcring_stats_get(shared, &stats), MCRING_OK);
  CHECK(mcring_stats_total(stats)->errors == 0);
  mcring_stats_free(stats);
  mcring_client_free(shared);
  return test_finish("test_threads");
}
