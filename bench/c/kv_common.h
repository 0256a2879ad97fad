/* Shared by the C benchmark clients: arguments, the workload, the timed
 * loop, threads and latency percentiles.
 *
 * Every client is run as:  <client> <op> <ops> <host:port>...
 * and prints one line:     <ops_per_second>
 * (with KV_LATENCY=1:      <ops_per_second> <p50_us> <p99_us>, per call).
 *
 * Ops: get, set (one key), mget (KV_MULTI keys per call), mset / mdel
 * (KV_MULTI keys written or deleted per call; mdel's keys are stored again
 * before each call, outside the timing), mixed (bench/memory.sh's mix; the
 * client prints its RSS along the way).
 *
 * The workload comes from the environment, with the defaults of the
 * round-one benchmarks (bench/kv.sh):
 *   KV_KEYS        keys "<namespace>:<i>" for i in 0..KV_KEYS-1 (1000)
 *   KV_MULTI       keys per multi-key call (100)
 *   KV_VALUE_LEN   value length (100)
 *   KV_VALUE_FILE  the value's bytes come from this file (default 'x's)
 *   KV_THREADS     threads running the ops between them (1)
 *   KV_LATENCY     1: time every call and print p50 and p99
 *   KV_NOREPLY     1: writes ask for no reply (clients that can)
 * A client's own options are read by the client (see each file).
 * Every client does the same work on the wire. Key i of an op is
 * (op * multi + k) % keys, so threads and calls cycle through all keys. */
#ifndef KV_COMMON_H
#define KV_COMMON_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KV_MAX_SERVERS 1024
#define KV_KEY_MAX 48

struct kv_args {
  const char *op;
  long ops;
  int nservers;
  char (*hosts)[256];
  int *ports;
  int keys, multi, threads, latency, noreply;
  /* A get may miss (the mixed workload); otherwise a miss is a failure. */
  int miss_ok;
  size_t value_len;
  char *value;
  /* keys[i] of key_lens[i] bytes, built by kv_keys(). */
  char (*key)[KV_KEY_MAX];
  size_t *key_len;
};

static inline long kv_env(const char *name, long fallback) {
  const char *v = getenv(name);
  return v && *v ? atol(v) : fallback;
}

static inline void kv_die(const char *what) {
  fprintf(stderr, "%s\n", what);
  exit(1);
}

static inline void kv_parse(int argc, char **argv, struct kv_args *a) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <get|set|mget|mset|mdel|mixed> <ops> <host:port>...\n", argv[0]);
    exit(2);
  }
  a->op = argv[1];
  a->ops = atol(argv[2]);
  a->nservers = 0;
  a->hosts = calloc(KV_MAX_SERVERS, sizeof *a->hosts);
  a->ports = calloc(KV_MAX_SERVERS, sizeof *a->ports);
  for (int i = 3; i < argc && a->nservers < KV_MAX_SERVERS; i++) {
    const char *colon = strrchr(argv[i], ':');
    if (!colon) {
      fprintf(stderr, "bad server %s\n", argv[i]);
      exit(2);
    }
    size_t n = (size_t)(colon - argv[i]);
    if (n >= sizeof a->hosts[0]) n = sizeof a->hosts[0] - 1;
    memcpy(a->hosts[a->nservers], argv[i], n);
    a->hosts[a->nservers][n] = 0;
    a->ports[a->nservers] = atoi(colon + 1);
    a->nservers++;
  }
  a->keys = (int)kv_env("KV_KEYS", 1000);
  a->multi = (int)kv_env("KV_MULTI", 100);
  a->threads = (int)kv_env("KV_THREADS", 1);
  a->latency = (int)kv_env("KV_LATENCY", 0);
  a->noreply = (int)kv_env("KV_NOREPLY", 0);
  a->miss_ok = 0;
  a->value_len = (size_t)kv_env("KV_VALUE_LEN", 100);
  if (a->keys < 1 || a->multi < 1 || a->threads < 1) kv_die("KV_KEYS, KV_MULTI, KV_THREADS must be >= 1");
  a->value = malloc(a->value_len + 1);
  memset(a->value, 'x', a->value_len);
  const char *file = getenv("KV_VALUE_FILE");
  if (file && *file) {
    FILE *f = fopen(file, "rb");
    if (!f || fread(a->value, 1, a->value_len, f) != a->value_len) kv_die("KV_VALUE_FILE is shorter than KV_VALUE_LEN");
    fclose(f);
  }
}

/* Builds the key names "<ns>:<i>". */
static inline void kv_keys(struct kv_args *a, const char *ns) {
  a->key = calloc((size_t)a->keys, sizeof *a->key);
  a->key_len = calloc((size_t)a->keys, sizeof *a->key_len);
  for (int i = 0; i < a->keys; i++)
    a->key_len[i] = (size_t)snprintf(a->key[i], KV_KEY_MAX, "%s:%d", ns, i);
}

/* The index of the k-th key of call `op`. */
static inline int kv_key_of(const struct kv_args *a, long op, int k) {
  return (int)(((long long)op * a->multi + k) % a->keys);
}

static inline double kv_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The calling process's resident set size in KiB (from /proc/self/statm). */
static inline long kv_rss_kib(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = -1;
  fclose(f);
  return rss * 4;
}

/* ---- the timed loop -------------------------------------------------------- */

/* A client: per-thread state and one function per op. `op` is the call's
 * number; every function exits the process on a failure. */
struct kv_client {
  const char *ns;                                        /* key namespace */
  void *(*open)(const struct kv_args *a);                /* per thread */
  void (*get)(void *st, const struct kv_args *a, long op);
  void (*set)(void *st, const struct kv_args *a, long op);
  void (*mget)(void *st, const struct kv_args *a, long op);
  void (*mset)(void *st, const struct kv_args *a, long op);
  void (*mdel)(void *st, const struct kv_args *a, long op);
  /* The number of keys of call `op` that are stored, for the checks. */
  int (*count)(void *st, const struct kv_args *a, long op);
};

struct kv_thread {
  const struct kv_client *client;
  const struct kv_args *a;
  void *st;
  long first, n;
  double *lat; /* n entries when timing calls */
  double busy;
};

typedef void (*kv_op_fn)(void *, const struct kv_args *, long);

static inline kv_op_fn kv_op_of(const struct kv_client *c, const char *op) {
  if (strcmp(op, "get") == 0) return c->get;
  if (strcmp(op, "set") == 0) return c->set;
  if (strcmp(op, "mget") == 0) return c->mget;
  if (strcmp(op, "mset") == 0 || strcmp(op, "mdel") == 0) return strcmp(op, "mset") == 0 ? c->mset : c->mdel;
  return NULL;
}

static void *kv_thread_main(void *arg) {
  struct kv_thread *t = arg;
  const struct kv_args *a = t->a;
  kv_op_fn fn = kv_op_of(t->client, a->op);
  int refill = strcmp(a->op, "mdel") == 0;
  int timed = a->latency || refill;
  double start = kv_now();
  for (long i = 0; i < t->n; i++) {
    long op = t->first + i;
    if (refill) t->client->mset(t->st, a, op);
    if (timed) {
      double t0 = kv_now();
      fn(t->st, a, op);
      double d = kv_now() - t0;
      t->busy += d;
      if (t->lat) t->lat[i] = d;
    } else {
      fn(t->st, a, op);
    }
  }
  if (!timed) t->busy = kv_now() - start;
  return NULL;
}

static int kv_cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* The mixed workload of bench/memory.sh, one op at a time (one thread): per
 * 100 ops 60 gets, 5 gets of missing keys, 20 sets, 5 deletes (single-key
 * mdel; later gets of those keys miss until a set stores them again), 5
 * multi-gets, 4 multi-sets, and one set and get of a 200 KB value (the
 * receive buffer grows for it and must shrink again). Prints
 * "rss <ops done> <KiB>" every KV_RSS_EVERY ops (1,000,000). */
static inline void kv_mixed(const struct kv_client *c, struct kv_args *a, void *st) {
  long every = kv_env("KV_RSS_EVERY", 1000000);
  a->miss_ok = 1;
  struct kv_args one = *a;
  one.multi = 1;
  struct kv_args big = one;
  big.keys = 1;
  kv_keys(&big, "big");
  big.value_len = 200 * 1024;
  big.value = malloc(big.value_len);
  memset(big.value, 'y', big.value_len);
  struct kv_args miss = one;
  kv_keys(&miss, "absent");
  printf("rss 0 %ld\n", kv_rss_kib());
  fflush(stdout);
  double start = kv_now();
  for (long op = 0; op < a->ops; op++) {
    int r = (int)(op % 100);
    if (r < 60) c->get(st, &one, op);
    else if (r < 65) c->get(st, &miss, op);
    else if (r < 85) c->set(st, &one, op);
    else if (r < 90) c->mdel(st, &one, op);
    else if (r < 95) c->mget(st, a, op);
    else if (r < 99) c->mset(st, a, op);
    else {
      c->set(st, &big, op);
      c->get(st, &big, op);
    }
    if ((op + 1) % every == 0) {
      printf("rss %ld %ld\n", op + 1, kv_rss_kib());
      fflush(stdout);
    }
  }
  printf("%.0f\n", (double)a->ops / (kv_now() - start));
}

/* Runs `a->op` `a->ops` times over `a->threads` threads (each with its own
 * client state from `open`) and prints the result line. */
static inline int kv_main(int argc, char **argv, const struct kv_client *c) {
  struct kv_args a;
  kv_parse(argc, argv, &a);
  kv_keys(&a, c->ns);
  if (strcmp(a.op, "mixed") == 0) {
    void *st = c->open(&a);
    for (long op = 0; op < (a.keys + a.multi - 1) / a.multi; op++) c->mset(st, &a, op);
    kv_mixed(c, &a, st);
    return 0;
  }
  kv_op_fn fn = kv_op_of(c, a.op);
  if (!fn) {
    fprintf(stderr, "unknown op %s\n", a.op);
    return 2;
  }
  struct kv_thread *t = calloc((size_t)a.threads, sizeof *t);
  for (int i = 0; i < a.threads; i++) {
    t[i].client = c;
    t[i].a = &a;
    t[i].st = c->open(&a);
    t[i].first = a.ops / a.threads * i;
    t[i].n = a.ops / a.threads + (i == a.threads - 1 ? a.ops % a.threads : 0);
    if (a.latency) t[i].lat = calloc((size_t)t[i].n + 1, sizeof(double));
  }
  /* Preload every key (also warms the connections). */
  struct kv_args one = a;
  one.multi = 1;
  for (long i = 0; i < a.keys; i++) c->set(t[0].st, &one, i);
  if (c->count(t[0].st, &one, 0) != 1) kv_die("preloaded key does not read back");
  double t0 = kv_now();
  if (a.threads == 1) {
    kv_thread_main(&t[0]);
  } else {
    pthread_t *ids = calloc((size_t)a.threads, sizeof *ids);
    for (int i = 0; i < a.threads; i++) pthread_create(&ids[i], NULL, kv_thread_main, &t[i]);
    for (int i = 0; i < a.threads; i++) pthread_join(ids[i], NULL);
  }
  double wall = kv_now() - t0;
  /* mdel times only the deletes; everything else the whole loop. */
  double busy = 0;
  for (int i = 0; i < a.threads; i++) busy = t[i].busy > busy ? t[i].busy : busy;
  double seconds = strcmp(a.op, "mdel") == 0 ? busy : wall;
  /* The writes took effect: the last call's keys are all there (mset) or
   * all gone (mdel). */
  if (strcmp(a.op, "mset") == 0 && c->count(t[0].st, &a, a.ops - 1) != a.multi) kv_die("mset: keys missing afterwards");
  if (strcmp(a.op, "mdel") == 0 && c->count(t[0].st, &a, t[0].first + t[0].n - 1) != 0) kv_die("mdel: keys left afterwards");
  if (a.latency) {
    double *all = calloc((size_t)a.ops + 1, sizeof(double));
    long n = 0;
    for (int i = 0; i < a.threads; i++)
      for (long j = 0; j < t[i].n; j++) all[n++] = t[i].lat[j];
    qsort(all, (size_t)n, sizeof(double), kv_cmp_double);
    printf("%.0f %.1f %.1f\n", (double)a.ops / seconds, all[n / 2] * 1e6, all[(long)(n * 0.99)] * 1e6);
  } else {
    printf("%.0f\n", (double)a.ops / seconds);
  }
  return 0;
}

#endif
