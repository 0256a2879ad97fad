/*
 * Helpers shared by the C tests of libmcring: checks that count and report,
 * and the servers the runner (run.sh) started for the tests.
 */
#ifndef MCRING_TEST_COMMON_H
#define MCRING_TEST_COMMON_H

#include <libmcring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks_run, checks_failed;

/* Counts a check; reports it with the library's last error when it fails. */
#define CHECK(cond)                                                            \
  do {                                                                         \
    checks_run++;                                                              \
    if (!(cond)) {                                                             \
      checks_failed++;                                                         \
      fprintf(stderr, "%s:%d: CHECK(%s) failed (last error: %s)\n", __FILE__,  \
              __LINE__, #cond, mcring_last_error());                           \
    }                                                                          \
  } while (0)

/* Checks that a call returns the expected status. */
#define CHECK_STATUS(call, expected)                                           \
  do {                                                                         \
    mcring_status got_ = (call);                                               \
    mcring_status want_ = (expected);                                          \
    checks_run++;                                                              \
    if (got_ != want_) {                                                       \
      checks_failed++;                                                         \
      fprintf(stderr, "%s:%d: %s\n  returned %s, expected %s (last error: %s)\n", \
              __FILE__, __LINE__, #call, mcring_status_name(got_),             \
              mcring_status_name(want_), mcring_last_error());                 \
    }                                                                          \
  } while (0)

/* A string literal as (pointer, length), for keys and values. */
#define S(lit) (lit), (sizeof(lit) - 1)
#define U(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)

/* Whether the library's last error contains `part`. */
static inline int last_error_has(const char *part) {
  return strstr(mcring_last_error(), part) != NULL;
}

/* An environment variable the runner sets; the test cannot run without it. */
static inline const char *test_env(const char *name) {
  const char *v = getenv(name);
  if (v == NULL || v[0] == '\0') {
    fprintf(stderr, "%s is not set: run the C tests with tests/c/run.sh\n", name);
    exit(2);
  }
  return v;
}

/* An integer environment variable, or `fallback`. */
static inline long test_env_long(const char *name, long fallback) {
  const char *v = getenv(name);
  return (v != NULL && v[0] != '\0') ? strtol(v, NULL, 10) : fallback;
}

/* A client for a config string; the test stops if it cannot be made. */
static inline mcring_client *test_client(const char *config) {
  mcring_client *c = NULL;
  mcring_status s = mcring_client_new(config, &c);
  if (s != MCRING_OK || c == NULL) {
    fprintf(stderr, "mcring_client_new(\"%s\"): %s: %s\n", config,
            mcring_status_name(s), mcring_last_error());
    exit(2);
  }
  return c;
}

/* A client for the test servers plus extra options (e.g. a key prefix). */
static inline mcring_client *test_client_with(const char *options) {
  char config[1024];
  snprintf(config, sizeof config, "%s %s", test_env("MCRING_TEST_SERVERS"), options);
  return test_client(config);
}

/* Prints the summary and gives the exit code. */
static inline int test_finish(const char *name) {
  printf("%s: %d checks, %d failed\n", name, checks_run, checks_failed);
  return checks_failed == 0 ? 0 : 1;
}

#endif
