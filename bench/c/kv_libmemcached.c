/* libmemcached as php-memcached and pylibmc use it: libketama-compatible
 * placement (KETAMA_WEIGHTED), text protocol, TCP_NODELAY. One
 * memcached_st per thread (libmemcached's handles are not thread-safe).
 *
 * Options (environment):
 *   KV_LMC_DIST=modula  modula placement instead (Debian's libmemcached
 *                       1.1.4 aborts on ketama rings of more than 100 servers)
 *   KV_LMC_BUFFER=1     MEMCACHED_BEHAVIOR_BUFFER_REQUESTS: mset and mdel
 *                       queue their commands and memcached_flush_buffers()
 *                       sends them; the replies are read as later commands
 *                       need the connection (a call's replies are paid for
 *                       by the next call, so the loop's total counts them)
 *   KV_LMC_FLUSH_EVERY=N  with KV_LMC_BUFFER: memcached_flush_buffers() after
 *                       every N commands of an mset/mdel too (1.1.4 closes the
 *                       connection and aborts on an assertion in io.cc:548 when
 *                       some hundred replies are left unread; every 50 works)
 *   KV_NOREPLY=1        MEMCACHED_BEHAVIOR_NOREPLY: writes ask for no reply */
#include <libmemcached/memcached.h>

#include "kv_common.h"

static void *lmc_open(const struct kv_args *a) {
  memcached_st *m = memcached_create(NULL);
  const char *dist = getenv("KV_LMC_DIST");
  if (dist && strcmp(dist, "modula") == 0)
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_MODULA);
  else
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  if (kv_env("KV_LMC_BUFFER", 0)) memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1);
  if (a->noreply) memcached_behavior_set(m, MEMCACHED_BEHAVIOR_NOREPLY, 1);
  for (int s = 0; s < a->nservers; s++) memcached_server_add(m, a->hosts[s], (in_port_t)a->ports[s]);
  return m;
}

static void lmc_get(void *st, const struct kv_args *a, long op) {
  memcached_st *m = st;
  int i = kv_key_of(a, op, 0);
  size_t len;
  uint32_t flags;
  memcached_return_t rc;
  char *v = memcached_get(m, a->key[i], a->key_len[i], &len, &flags, &rc);
  if (!v && !(a->miss_ok && rc == MEMCACHED_NOTFOUND)) {
    fprintf(stderr, "get failed: %s\n", memcached_strerror(m, rc));
    exit(1);
  }
  free(v);
}

static int written(memcached_return_t rc) {
  return rc == MEMCACHED_SUCCESS || rc == MEMCACHED_BUFFERED;
}

static void lmc_set(void *st, const struct kv_args *a, long op) {
  memcached_st *m = st;
  int i = kv_key_of(a, op, 0);
  memcached_return_t rc = memcached_set(m, a->key[i], a->key_len[i], a->value, a->value_len, 0, 0);
  if (!written(rc)) {
    fprintf(stderr, "set failed: %s\n", memcached_last_error_message(m));
    exit(1);
  }
}

static void lmc_mget(void *st, const struct kv_args *a, long op) {
  memcached_st *m = st;
  static __thread const char **ks;
  static __thread size_t *ls;
  /* Caller-owned storage: memcached_fetch_result() frees a result that
   * libmemcached allocated once the fetch ends. */
  static __thread memcached_result_st storage;
  static __thread memcached_result_st *result;
  if (!ks) {
    ks = calloc((size_t)a->multi, sizeof *ks);
    ls = calloc((size_t)a->multi, sizeof *ls);
    result = memcached_result_create(m, &storage);
  }
  for (int k = 0; k < a->multi; k++) {
    int i = kv_key_of(a, op, k);
    ks[k] = a->key[i];
    ls[k] = a->key_len[i];
  }
  memcached_return_t rc = memcached_mget(m, ks, ls, (size_t)a->multi);
  if (rc != MEMCACHED_SUCCESS) kv_die("mget failed");
  int got = 0;
  while (memcached_fetch_result(m, result, &rc)) got++;
  if (got != a->multi && !a->miss_ok) {
    fprintf(stderr, "mget got %d of %d\n", got, a->multi);
    exit(1);
  }
}

static void lmc_mset(void *st, const struct kv_args *a, long op) {
  memcached_st *m = st;
  long every = kv_env("KV_LMC_FLUSH_EVERY", 0);
  for (int k = 0; k < a->multi; k++) {
    if (every && k && k % every == 0) memcached_flush_buffers(m);
    int i = kv_key_of(a, op, k);
    memcached_return_t rc = memcached_set(m, a->key[i], a->key_len[i], a->value, a->value_len, 0, 0);
    if (!written(rc)) {
      fprintf(stderr, "set failed: %s\n", memcached_last_error_message(m));
      exit(1);
    }
  }
  memcached_flush_buffers(m);
}

static void lmc_mdel(void *st, const struct kv_args *a, long op) {
  memcached_st *m = st;
  long every = kv_env("KV_LMC_FLUSH_EVERY", 0);
  for (int k = 0; k < a->multi; k++) {
    if (every && k && k % every == 0) memcached_flush_buffers(m);
    int i = kv_key_of(a, op, k);
    memcached_return_t rc = memcached_delete(m, a->key[i], a->key_len[i], 0);
    if (!written(rc) && rc != MEMCACHED_NOTFOUND) {
      fprintf(stderr, "delete failed: %s\n", memcached_last_error_message(m));
      exit(1);
    }
  }
  memcached_flush_buffers(m);
}

static int lmc_count(void *st, const struct kv_args *a, long op) {
  memcached_st *m = st;
  int found = 0;
  for (int k = 0; k < a->multi; k++) {
    int i = kv_key_of(a, op, k);
    size_t len;
    uint32_t flags;
    memcached_return_t rc;
    char *v = memcached_get(m, a->key[i], a->key_len[i], &len, &flags, &rc);
    found += v != NULL;
    free(v);
  }
  return found;
}

int main(int argc, char **argv) {
  const struct kv_client c = {
    .ns = "lmc", .open = lmc_open, .get = lmc_get, .set = lmc_set, .mget = lmc_mget,
    .mset = lmc_mset, .mdel = lmc_mdel, .count = lmc_count,
  };
  return kv_main(argc, argv, &c);
}
