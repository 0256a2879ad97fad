/*
 * Shared health: after mcring_shared_health_init(), processes forked from
 * one parent share what they learn about dead servers. A child pays the
 * timeouts of a stopped server; the parent, and a second child, then skip it
 * without paying their own.
 */
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* A config with the stopped server only: every request to it times out
   until it is marked dead. */
static mcring_client *stopped_client(void) {
  char config[512];
  snprintf(config, sizeof config,
           "%s io_timeout_ms=300 connect_timeout_ms=300 failure_limit=2 "
           "retry_timeout_ms=60000 failover=none",
           test_env("MCRING_TEST_STOPPED"));
  return test_client(config);
}

/* How long one get of `key` takes, in ms. */
static double timed_get(mcring_client *c, const char *key) {
  mcring_value *v = NULL;
  double t = now_ms();
  mcring_get(c, key, strlen(key), &v);
  mcring_value_free(v);
  return now_ms() - t;
}

int main(void) {
  CHECK_STATUS(mcring_shared_health_init(), MCRING_OK);
  CHECK_STATUS(mcring_shared_health_init(), MCRING_OK); /* idempotent */

  pid_t pid = fork();
  if (pid == 0) {
    /* The first child finds the server dead: two timeouts. */
    mcring_client *c = stopped_client();
    int slow = 0;
    for (int i = 0; i < 2; i++) slow += timed_get(c, "k") >= 250.0;
    mcring_client_free(c);
    _exit(slow == 2 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  /* The parent (a client made after the child's discovery) skips it. */
  mcring_client *c = stopped_client();
  double took = timed_get(c, "k");
  CHECK(took < 100.0);
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(c, S("k"), &v), MCRING_NOT_FOUND); /* failover=none: a miss */
  mcring_client_free(c);

  /* So does a second child. */
  pid = fork();
  if (pid == 0) {
    mcring_client *c2 = stopped_client();
    double t = timed_get(c2, "k");
    mcring_client_free(c2);
    _exit(t < 100.0 ? 0 : 1);
  }
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return test_finish("test_shared_health");
}
