/* libmemcached as php-memcached and pylibmc use it: libketama-compatible
 * placement (KETAMA_WEIGHTED), text protocol, TCP_NODELAY. */
#include <libmemcached/memcached.h>

#include "kv_common.h"

int main(int argc, char **argv) {
  struct kv_args a;
  kv_parse(argc, argv, &a);
  memcached_st *m = memcached_create(NULL);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  for (int s = 0; s < a.nservers; s++) memcached_server_add(m, a.hosts[s], (in_port_t)a.ports[s]);
  char value[KV_VALUE_LEN];
  memset(value, 'x', sizeof value);
  char keys[KV_KEYS][32];
  size_t key_lens[KV_KEYS];
  for (int i = 0; i < KV_KEYS; i++) {
    key_lens[i] = (size_t)snprintf(keys[i], sizeof keys[i], "lmc:%d", i);
    if (memcached_set(m, keys[i], key_lens[i], value, KV_VALUE_LEN, 0, 0) != MEMCACHED_SUCCESS) {
      fprintf(stderr, "preload failed: %s\n", memcached_last_error_message(m));
      return 1;
    }
  }
  double t0 = kv_now();
  if (strcmp(a.op, "get") == 0) {
    for (long op = 0; op < a.ops; op++) {
      int i = (int)(op % KV_KEYS);
      size_t len; uint32_t flags; memcached_return_t rc;
      char *v = memcached_get(m, keys[i], key_lens[i], &len, &flags, &rc);
      if (!v) { fprintf(stderr, "get failed: %s\n", memcached_strerror(m, rc)); return 1; }
      free(v);
    }
  } else if (strcmp(a.op, "set") == 0) {
    for (long op = 0; op < a.ops; op++) {
      int i = (int)(op % KV_KEYS);
      if (memcached_set(m, keys[i], key_lens[i], value, KV_VALUE_LEN, 0, 0) != MEMCACHED_SUCCESS) {
        fprintf(stderr, "set failed\n"); return 1;
      }
    }
  } else if (strcmp(a.op, "mget") == 0) {
    const char *ks[KV_MULTI];
    size_t ls[KV_MULTI];
    memcached_result_st result;
    memcached_result_create(m, &result);
    for (long op = 0; op < a.ops; op++) {
      int base = (int)((op * KV_MULTI) % KV_KEYS);
      for (int k = 0; k < KV_MULTI; k++) {
        int i = (base + k) % KV_KEYS;
        ks[k] = keys[i]; ls[k] = key_lens[i];
      }
      memcached_return_t rc = memcached_mget(m, ks, ls, KV_MULTI);
      if (rc != MEMCACHED_SUCCESS) { fprintf(stderr, "mget failed\n"); return 1; }
      int got = 0;
      while (memcached_fetch_result(m, &result, &rc)) got++;
      if (got != KV_MULTI) { fprintf(stderr, "mget got %d\n", got); return 1; }
    }
    memcached_result_free(&result);
  } else {
    fprintf(stderr, "unknown op %s\n", a.op);
    return 2;
  }
  double t1 = kv_now();
  printf("%.0f\n", (double)a.ops / (t1 - t0));
  memcached_free(m);
  return 0;
}
