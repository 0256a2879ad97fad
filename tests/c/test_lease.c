/*
 * Stampede protection and hot keys through the C ABI, against the memcached
 * servers started by run.sh: leases on a missing key, fills that lose to a
 * newer write, stale values after an invalidation, released leases, a herd
 * of threads that computes once, the hot-key snapshot.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static int value_is(const mcring_value *v, const char *data) {
  size_t len = strlen(data);
  return v != NULL && mcring_value_len(v) == len && memcmp(mcring_value_data(v), data, len) == 0;
}

/* A key of its own per run, so reruns against the same servers start clean. */
static void unique_key(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "lease:%s:%ld:%ld", name, (long)getpid(), (long)time(NULL));
}

static void lease_fill_and_hit(mcring_client *c) {
  char key[128];
  unique_key(key, sizeof key, "fill");
  mcring_value *v = NULL;
  mcring_lease *lease = NULL;
  CHECK_STATUS(mcring_get_or_lease(c, key, strlen(key), NULL, &v, &lease), MCRING_LEASE);
  CHECK(lease != NULL && v == NULL);
  /* Another caller meanwhile would wait; this one fills. */
  CHECK_STATUS(mcring_lease_fill(c, lease, U("computed"), 5, 60), MCRING_OK);
  CHECK_STATUS(mcring_get_or_lease(c, key, strlen(key), NULL, &v, &lease), MCRING_OK);
  CHECK(value_is(v, "computed") && mcring_value_flags(v) == 5 && lease == NULL);
  mcring_value_free(v);

  /* Invalidated: the winner sees the old value and a lease, the others the
   * stale value at once. */
  CHECK_STATUS(mcring_invalidate(c, key, strlen(key), 30), MCRING_OK);
  CHECK_STATUS(mcring_get_or_lease(c, key, strlen(key), NULL, &v, &lease), MCRING_LEASE);
  CHECK(value_is(v, "computed") && lease != NULL);
  mcring_value_free(v);
  mcring_value *stale = NULL;
  mcring_lease *none = (mcring_lease *)&none; /* must be reset */
  CHECK_STATUS(mcring_get_or_lease(c, key, strlen(key), NULL, &stale, &none), MCRING_STALE);
  CHECK(value_is(stale, "computed") && none == NULL);
  mcring_value_free(stale);
  /* Given back: the next caller wins at once. */
  CHECK_STATUS(mcring_lease_release(c, lease), MCRING_OK);
  CHECK_STATUS(mcring_get_or_lease(c, key, strlen(key), NULL, &v, &lease), MCRING_LEASE);
  mcring_value_free(v);
  /* A newer write wins over the fill. */
  CHECK_STATUS(mcring_set(c, key, strlen(key), U("newer"), 0, 60), MCRING_OK);
  CHECK_STATUS(mcring_lease_fill(c, lease, U("older"), 0, 60), MCRING_EXISTS);
  CHECK_STATUS(mcring_get(c, key, strlen(key), &v), MCRING_OK);
  CHECK(value_is(v, "newer"));
  mcring_value_free(v);

  CHECK_STATUS(mcring_invalidate(c, S("lease:never-there"), 30), MCRING_NOT_FOUND);
  CHECK_STATUS(mcring_invalidate(c, key, strlen(key), 0), MCRING_OK);
  CHECK_STATUS(mcring_get(c, key, strlen(key), &v), MCRING_NOT_FOUND);
}

static void options_and_bad_arguments(mcring_client *c) {
  char key[128];
  unique_key(key, sizeof key, "opts");
  mcring_value *v = NULL;
  mcring_lease *lease = NULL;
  CHECK_STATUS(mcring_set(c, key, strlen(key), U("old"), 0, 10), MCRING_OK);
  /* Early recache: with 10 s left and a window of 30 s, this caller wins. */
  mcring_lease_options o = {.lease_ttl_ms = 2000, .recache_s = 30, .stale_ttl = 0};
  CHECK_STATUS(mcring_get_or_lease(c, key, strlen(key), &o, &v, &lease), MCRING_LEASE);
  CHECK(value_is(v, "old"));
  mcring_value_free(v);
  /* Meanwhile the others read the fresh-enough value. */
  CHECK_STATUS(mcring_get_or_lease(c, key, strlen(key), &o, &v, NULL), MCRING_INVALID_ARGUMENT);
  mcring_lease *other = NULL;
  CHECK_STATUS(mcring_get_or_lease(c, key, strlen(key), &o, &v, &other), MCRING_OK);
  CHECK(value_is(v, "old") && other == NULL);
  mcring_value_free(v);
  /* A lease belongs to the client that handed it out. */
  mcring_client *c2 = test_client_with("");
  CHECK_STATUS(mcring_lease_fill(c2, lease, U("x"), 0, 60), MCRING_INVALID_ARGUMENT);
  CHECK(last_error_has("another client"));
  mcring_client_free(c2);

  CHECK_STATUS(mcring_lease_fill(c, NULL, U("x"), 0, 60), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_lease_release(c, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_get_or_lease(NULL, S("k"), NULL, &v, &lease), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_get_or_lease(c, S("bad key"), NULL, &v, &lease), MCRING_BAD_KEY);
  CHECK(v == NULL && lease == NULL);
  CHECK_STATUS(mcring_invalidate(c, NULL, 3, 30), MCRING_INVALID_ARGUMENT);
}

/* A lease placed by a server key is taken, filled and read on that key's
   server, as the *_by_key commands place. */
static void lease_by_server_key(mcring_client *c) {
  char key[128];
  unique_key(key, sizeof key, "bykey");
  mcring_value *v = NULL;
  mcring_lease *lease = NULL;
  CHECK_STATUS(mcring_get_or_lease_by_key(c, S("group-7"), key, strlen(key), NULL, &v, &lease),
               MCRING_LEASE);
  CHECK_STATUS(mcring_lease_fill(c, lease, U("by key"), 0, 60), MCRING_OK);
  CHECK_STATUS(mcring_get_by_key(c, S("group-7"), key, strlen(key), false, &v), MCRING_OK);
  CHECK(value_is(v, "by key"));
  mcring_value_free(v);
  v = NULL;
  CHECK_STATUS(mcring_get_or_lease_by_key(c, S("group-7"), key, strlen(key), NULL, &v, &lease),
               MCRING_OK);
  CHECK(value_is(v, "by key") && lease == NULL);
  mcring_value_free(v);
  v = NULL;
  /* A NULL server key places by the key, as mcring_get_or_lease(). */
  unique_key(key, sizeof key, "bykey-plain");
  CHECK_STATUS(mcring_get_or_lease_by_key(c, NULL, 0, key, strlen(key), NULL, &v, &lease),
               MCRING_LEASE);
  CHECK_STATUS(mcring_lease_fill(c, lease, U("own"), 0, 60), MCRING_OK);
  CHECK_STATUS(mcring_get(c, key, strlen(key), &v), MCRING_OK);
  CHECK(value_is(v, "own"));
  mcring_value_free(v);
  CHECK_STATUS(mcring_get_or_lease_by_key(c, S("bad key"), S("k"), NULL, &v, &lease), MCRING_BAD_KEY);
}

struct herd {
  mcring_client *c;
  const char *key;
  int computes;
  int ok;
  pthread_mutex_t lock;
};

static void *herd_caller(void *arg) {
  struct herd *h = arg;
  mcring_value *v = NULL;
  mcring_lease *lease = NULL;
  mcring_status s = mcring_get_or_lease(h->c, h->key, strlen(h->key), NULL, &v, &lease);
  int ok = 0;
  if (s == MCRING_LEASE) {
    pthread_mutex_lock(&h->lock);
    h->computes++;
    pthread_mutex_unlock(&h->lock);
    usleep(200 * 1000); /* the database */
    ok = mcring_lease_fill(h->c, lease, U("herd value"), 0, 60) == MCRING_OK;
  } else {
    ok = s == MCRING_OK && value_is(v, "herd value");
  }
  mcring_value_free(v);
  pthread_mutex_lock(&h->lock);
  h->ok += ok;
  pthread_mutex_unlock(&h->lock);
  return NULL;
}

static void a_herd_computes_once(mcring_client *c) {
  char key[128];
  unique_key(key, sizeof key, "herd");
  struct herd h = {.c = c, .key = key, .computes = 0, .ok = 0};
  pthread_mutex_init(&h.lock, NULL);
  pthread_t t[8];
  for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, herd_caller, &h);
  for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
  CHECK(h.computes == 1);
  CHECK(h.ok == 8);
  pthread_mutex_destroy(&h.lock);
}

static void hot_keys(void) {
  mcring_client *c = test_client_with("hot_keys=64");
  mcring_client *off = test_client_with("");
  mcring_value *v = NULL;
  for (int i = 0; i < 100; i++) mcring_get(c, S("hot:one"), &v), mcring_value_free(v), v = NULL;
  for (int i = 0; i < 10; i++) mcring_get(c, S("hot:two"), &v), mcring_value_free(v), v = NULL;
  mcring_hot_keys *hk = NULL;
  CHECK_STATUS(mcring_hot_keys_get(c, &hk), MCRING_OK);
  size_t n = mcring_hot_keys_count(hk);
  CHECK(n == 2);
  const mcring_hot_key *top = NULL;
  for (size_t i = 0; i < n; i++) {
    const mcring_hot_key *k = mcring_hot_keys_at(hk, i);
    if (k != NULL && k->key_len == 7 && memcmp(k->key, "hot:one", 7) == 0) top = k;
  }
  CHECK(top != NULL && top->reads == 100 && top->error == 0 && top->rate >= 1);
  if (top != NULL) {
    char where[256];
    CHECK_STATUS(mcring_server_for_key(c, S("hot:one"), where, sizeof where), MCRING_OK);
    CHECK(strcmp(top->server, where) == 0);
  }
  CHECK(mcring_hot_keys_at(hk, n) == NULL);
  mcring_hot_keys_free(hk);
  CHECK_STATUS(mcring_hot_keys_get(off, &hk), MCRING_OK);
  CHECK(mcring_hot_keys_count(hk) == 0);
  mcring_hot_keys_free(hk);
  mcring_hot_keys_free(NULL);
  CHECK(mcring_hot_keys_count(NULL) == 0 && mcring_hot_keys_at(NULL, 0) == NULL);
  CHECK_STATUS(mcring_hot_keys_get(c, NULL), MCRING_INVALID_ARGUMENT);
  mcring_client_free(c);
  mcring_client_free(off);
}

int main(void) {
  mcring_client *c = test_client_with("");
  CHECK(strcmp(mcring_status_name(MCRING_STALE), "MCRING_STALE") == 0);
  CHECK(strcmp(mcring_status_name(MCRING_LEASE), "MCRING_LEASE") == 0);
  lease_fill_and_hit(c);
  options_and_bad_arguments(c);
  lease_by_server_key(c);
  a_herd_computes_once(c);
  hot_keys();
  mcring_client_free(c);
  return test_finish("test_lease");
}
