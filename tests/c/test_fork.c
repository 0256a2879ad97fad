/*
 * fork(): children keep using a client created (and used) before the fork,
 * alongside the parent, without ever sharing its connections.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define CHILDREN 4

static long rounds;

/* A child's work: read the parent's value, count, store its own value. */
static int child(mcring_client *c, int id) {
  int failures = 0;
  mcring_value *v = NULL;
  if (mcring_get(c, S("from-parent"), &v) != MCRING_OK || mcring_value_len(v) != 6 ||
      memcmp(mcring_value_data(v), "parent", 6) != 0)
    failures++;
  mcring_value_free(v);
  for (long i = 0; i < rounds; i++) {
    uint64_t n = 0;
    if (mcring_incr(c, S("fork-counter"), 1, &n) != MCRING_OK) failures++;
    /* Replies must be this process's own: a shared socket would mix them. */
    char key[32], value[32];
    int kn = snprintf(key, sizeof key, "child-%d", id);
    int vn = snprintf(value, sizeof value, "child-%d-%ld", id, i);
    if (mcring_set(c, key, (size_t)kn, (const uint8_t *)value, (size_t)vn, 0, 0) != MCRING_OK)
      failures++;
    if (mcring_get(c, key, (size_t)kn, &v) != MCRING_OK || mcring_value_len(v) != (size_t)vn ||
        memcmp(mcring_value_data(v), value, (size_t)vn) != 0)
      failures++;
    mcring_value_free(v);
  }
  if (failures) fprintf(stderr, "child %d: %d failures (last error: %s)\n", id, failures, mcring_last_error());
  mcring_client_free(c);
  return failures == 0 ? 0 : 1;
}

int main(void) {
  rounds = test_env_long("MCRING_TEST_ROUNDS", 200);
  mcring_client *c = test_client_with("prefix=fork:");
  /* Use the client first, so that it has pooled connections to both
     servers when it forks. */
  CHECK_STATUS(mcring_set(c, S("from-parent"), U("parent"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_set(c, S("fork-counter"), U("0"), 0, 0), MCRING_OK);
  mcring_value *v = NULL;
  for (int i = 0; i < 10; i++) {
    char key[16];
    int n = snprintf(key, sizeof key, "warm-%d", i);
    mcring_get(c, key, (size_t)n, &v);
    mcring_value_free(v);
  }

  pid_t pids[CHILDREN];
  for (int i = 0; i < CHILDREN; i++) {
    fflush(stdout);
    pids[i] = fork();
    if (pids[i] == 0) exit(child(c, i));
    CHECK(pids[i] > 0);
  }
  /* The parent goes on using the client meanwhile. */
  for (long i = 0; i < rounds; i++) {
    uint64_t n = 0;
    CHECK_STATUS(mcring_incr(c, S("fork-counter"), 1, &n), MCRING_OK);
  }
  for (int i = 0; i < CHILDREN; i++) {
    int status = 0;
    CHECK(waitpid(pids[i], &status, 0) == pids[i]);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  uint64_t total = 0;
  CHECK_STATUS(mcring_incr(c, S("fork-counter"), 0, &total), MCRING_OK);
  CHECK(total == (uint64_t)(CHILDREN + 1) * (uint64_t)rounds);
  for (int i = 0; i < CHILDREN; i++) {
    char key[32], want[32];
    int kn = snprintf(key, sizeof key, "child-%d", i);
    int wn = snprintf(want, sizeof want, "child-%d-%ld", i, rounds - 1);
    CHECK_STATUS(mcring_get(c, key, (size_t)kn, &v), MCRING_OK);
    CHECK(v != NULL && mcring_value_len(v) == (size_t)wn &&
          memcmp(mcring_value_data(v), want, (size_t)wn) == 0);
    mcring_value_free(v);
  }
  mcring_client_free(c);
  return test_finish("test_fork");
}
