/* mcring from C, through libmcring: one mcring_client shared by every
 * thread (the way the library is meant to be used), default options
 * (ketama-weighted placement).
 *
 * Options (environment):
 *   KV_MCRING_OPTIONS  config tokens added after the servers
 *                      (e.g. "pool_size=32 distribution=modula")
 *   KV_COMPRESS=1      values go through the value codec: mcring_encode_bytes()
 *                      (zlib above compress_threshold, 2000 bytes by default)
 *                      before a set, mcring_value_decode() after a get; without
 *                      it the bytes are stored as they are, like libmemcached
 *   KV_NOREPLY=1       mset / mdel are quiet: mcring_set_multi_by_key() with
 *                      noreply and mcring_delete_multi_noreply_by_key() (quiet
 *                      meta commands, one `mn` per server, no reply awaited) */
#include <libmcring.h>

#include "kv_common.h"

static mcring_client *client;
static int compress;

static void dump_counters(void);

static void check(mcring_status s, const char *what) {
  if (s != MCRING_OK) {
    fprintf(stderr, "%s: %s: %s\n", what, mcring_status_name(s), mcring_last_error());
    dump_counters();
    exit(1);
  }
}

/* The client's counters, for a failure message: a miss of a preloaded key
 * can be a read that timed out and went to the failover target. */
static void dump_counters(void) {
  mcring_stats *stats;
  if (mcring_stats_get(client, &stats) != MCRING_OK) return;
  const mcring_counters *total = mcring_stats_total(stats);
  for (size_t f = 0; mcring_counter_name(f); f++)
    fprintf(stderr, "%s=%llu ", mcring_counter_name(f), (unsigned long long)mcring_counters_value(total, f));
  fprintf(stderr, "\n");
  mcring_stats_free(stats);
}

static void *mc_open(const struct kv_args *a) {
  if (client) return client;
  size_t cap = (size_t)a->nservers * 300 + 4096, len = 0;
  char *config = malloc(cap);
  for (int s = 0; s < a->nservers; s++)
    len += (size_t)snprintf(config + len, cap - len, "%s:%d ", a->hosts[s], a->ports[s]);
  const char *options = getenv("KV_MCRING_OPTIONS");
  if (options) snprintf(config + len, cap - len, "%s", options);
  check(mcring_client_new(config, &client), "mcring_client_new");
  compress = (int)kv_env("KV_COMPRESS", 0);
  free(config);
  return client;
}

static void mc_get(void *st, const struct kv_args *a, long op) {
  int i = kv_key_of(a, op, 0);
  mcring_value *v;
  mcring_status s = mcring_get(st, a->key[i], a->key_len[i], &v);
  if (s == MCRING_NOT_FOUND && a->miss_ok) return;
  check(s, "mcring_get");
  if (compress) {
    mcring_decoded *d;
    check(mcring_value_decode(st, v, &d), "mcring_value_decode");
    if (mcring_decoded_len(d) != a->value_len) kv_die("decoded value has the wrong length");
    mcring_decoded_free(d);
  }
  mcring_value_free(v);
}

static void mc_set(void *st, const struct kv_args *a, long op) {
  int i = kv_key_of(a, op, 0);
  if (compress) {
    mcring_value *v;
    check(mcring_encode_bytes(st, (const uint8_t *)a->value, a->value_len, 0, &v), "mcring_encode_bytes");
    check(mcring_set(st, a->key[i], a->key_len[i], mcring_value_data(v), mcring_value_len(v),
                     mcring_value_flags(v), 0),
          "mcring_set");
    mcring_value_free(v);
    return;
  }
  check(mcring_set(st, a->key[i], a->key_len[i], (const uint8_t *)a->value, a->value_len, 0, 0), "mcring_set");
}

static void count_hit(void *userdata, size_t index, const uint8_t *value, size_t value_len, uint32_t flags,
                      uint64_t cas) {
  (void)index; (void)value; (void)value_len; (void)flags; (void)cas;
  (*(int *)userdata)++;
}

/* The keys of call `op`, in a per-thread array. */
static void keys_of(const struct kv_args *a, long op, const char ***ks, size_t **ls) {
  static __thread const char **keys;
  static __thread size_t *lens;
  static __thread int cap;
  if (cap < a->multi) {
    keys = realloc(keys, (size_t)a->multi * sizeof *keys);
    lens = realloc(lens, (size_t)a->multi * sizeof *lens);
    cap = a->multi;
  }
  for (int k = 0; k < a->multi; k++) {
    int i = kv_key_of(a, op, k);
    keys[k] = a->key[i];
    lens[k] = a->key_len[i];
  }
  *ks = keys;
  *ls = lens;
}

static int mc_count(void *st, const struct kv_args *a, long op) {
  const char **ks;
  size_t *ls;
  keys_of(a, op, &ks, &ls);
  int hits = 0;
  check(mcring_get_multi(st, ks, ls, (size_t)a->multi, count_hit, &hits, NULL), "mcring_get_multi");
  return hits;
}

static void mc_mget(void *st, const struct kv_args *a, long op) {
  if (mc_count(st, a, op) != a->multi && !a->miss_ok) kv_die("mcring_get_multi: preloaded keys missing");
}

static void mc_mset(void *st, const struct kv_args *a, long op) {
  static __thread mcring_set_item *items;
  static __thread int cap;
  if (cap < a->multi) {
    items = realloc(items, (size_t)a->multi * sizeof *items);
    cap = a->multi;
  }
  for (int k = 0; k < a->multi; k++) {
    int i = kv_key_of(a, op, k);
    items[k] = (mcring_set_item){a->key[i], a->key_len[i], (const uint8_t *)a->value, a->value_len, 0};
  }
  if (a->noreply) {
    check(mcring_set_multi_by_key(st, NULL, 0, items, (size_t)a->multi, 0, true, NULL),
          "mcring_set_multi_by_key(noreply)");
    return;
  }
  check(mcring_set_multi(st, items, (size_t)a->multi, 0, NULL), "mcring_set_multi");
}

static void mc_mdel(void *st, const struct kv_args *a, long op) {
  const char **ks;
  size_t *ls;
  keys_of(a, op, &ks, &ls);
  if (a->noreply) {
    /* MCRING_OK: every key was sent. */
    check(mcring_delete_multi_noreply_by_key(st, NULL, 0, ks, ls, (size_t)a->multi, NULL),
          "mcring_delete_multi_noreply_by_key");
    return;
  }
  /* MCRING_OK: every key answered (deleted or not found). */
  check(mcring_delete_multi(st, ks, ls, (size_t)a->multi, NULL), "mcring_delete_multi");
}

int main(int argc, char **argv) {
  const struct kv_client c = {
    .ns = "mcc", .open = mc_open, .get = mc_get, .set = mc_set, .mget = mc_mget,
    .mset = mc_mset, .mdel = mc_mdel, .count = mc_count,
  };
  int rc = kv_main(argc, argv, &c);
  mcring_client_free(client);
  return rc;
}
