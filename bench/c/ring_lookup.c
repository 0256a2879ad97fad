/*
 * Ring lookup cost in libmemcached: memcached_server_by_key over a key set,
 * ketama-weighted (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED), timed.
 *
 * The library is loaded with dlopen, so the same program measures the system
 * libmemcached and the one pylibmc's wheel bundles. Nothing is dialed.
 *
 * usage: ring_lookup LIBRARY SERVERS_FILE KEYS_FILE ROUNDS
 *   SERVERS_FILE: lines "tcp <host> <port> <weight>" or "unix <path> <weight>"
 *   KEYS_FILE: one key per line
 * prints: "version <v>", then "best_ns_per_key <x> median_ns_per_key <y>
 *         checksum <sum of owner indices over all keys>"
 *
 * Build: cc -O2 -o ring_lookup ring_lookup.c -ldl
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <libmemcached-1.0/memcached.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef memcached_st *(*create_fn)(memcached_st *);
typedef void (*free_fn)(memcached_st *);
typedef memcached_return_t (*behavior_set_fn)(memcached_st *, memcached_behavior_t, uint64_t);
typedef memcached_return_t (*add_fn)(memcached_st *, const char *, in_port_t, uint32_t);
typedef memcached_return_t (*add_unix_fn)(memcached_st *, const char *, uint32_t);
typedef const memcached_instance_st *(*by_key_fn)(memcached_st *, const char *, size_t,
                                                  memcached_return_t *);
typedef const memcached_instance_st *(*by_position_fn)(const memcached_st *, uint32_t);
typedef const char *(*lib_version_fn)(void);

static void die(const char *what, const char *detail) {
  fprintf(stderr, "ring_lookup: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(2);
}

static void *symbol(void *lib, const char *name) {
  void *f = dlsym(lib, name);
  if (!f) {
    die("missing symbol", name);
  }
  return f;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    die("cannot open", path);
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t) size + 1);
  if (!data || fread(data, 1, (size_t) size, f) != (size_t) size) {
    die("cannot read", path);
  }
  fclose(f);
  data[size] = '\0';
  *len = (size_t) size;
  return data;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec * 1e9 + (double) t.tv_nsec;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    die("usage: ring_lookup LIBRARY SERVERS_FILE KEYS_FILE ROUNDS", NULL);
  }
  int rounds = atoi(argv[4]);
  if (rounds < 1 || rounds > 1000) {
    die("bad round count", argv[4]);
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    die("dlopen", dlerror());
  }
  create_fn create = (create_fn) symbol(lib, "memcached_create");
  free_fn destroy = (free_fn) symbol(lib, "memcached_free");
  behavior_set_fn behavior_set = (behavior_set_fn) symbol(lib, "memcached_behavior_set");
  add_fn add = (add_fn) symbol(lib, "memcached_server_add_with_weight");
  add_unix_fn add_unix = (add_unix_fn) symbol(lib, "memcached_server_add_unix_socket_with_weight");
  by_key_fn by_key = (by_key_fn) symbol(lib, "memcached_server_by_key");
  by_position_fn by_position = (by_position_fn) symbol(lib, "memcached_server_instance_by_position");
  lib_version_fn lib_version = (lib_version_fn) symbol(lib, "memcached_lib_version");
  printf("version %s\n", lib_version());
  fflush(stdout);

  memcached_st *memc = create(NULL);
  if (!memc || behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) != MEMCACHED_SUCCESS) {
    die("cannot set up libmemcached", NULL);
  }

  size_t servers_len;
  char *servers = read_file(argv[2], &servers_len);
  uint32_t server_count = 0;
  for (char *line = strtok(servers, "\n"); line; line = strtok(NULL, "\n")) {
    char host[1100];
    unsigned port, weight;
    memcached_return_t rc;
    if (sscanf(line, "tcp %1099s %u %u", host, &port, &weight) == 3) {
      rc = add(memc, host, (in_port_t) port, weight);
    } else if (sscanf(line, "unix %1099s %u", host, &weight) == 2) {
      rc = add_unix(memc, host, weight);
    } else {
      die("bad server line", line);
    }
    if (rc != MEMCACHED_SUCCESS) {
      die("cannot add server", line);
    }
    server_count++;
  }

  size_t keys_len;
  char *keys = read_file(argv[3], &keys_len);
  size_t key_count = 0;
  for (size_t i = 0; i < keys_len; i++) {
    key_count += keys[i] == '\n';
  }
  const char **key = malloc(key_count * sizeof(*key));
  size_t *len = malloc(key_count * sizeof(*len));
  size_t k = 0;
  for (char *p = keys; k < key_count; k++) {
    char *end = memchr(p, '\n', (size_t) (keys + keys_len - p));
    key[k] = p;
    len[k] = (size_t) (end - p);
    p = end + 1;
  }

  /* Untimed: the owners' indices, to check both sides answer alike. */
  const memcached_instance_st **table = malloc(server_count * sizeof(*table));
  for (uint32_t i = 0; i < server_count; i++) {
    table[i] = by_position(memc, i);
  }
  uint64_t checksum = 0;
  for (size_t i = 0; i < key_count; i++) {
    memcached_return_t rc;
    const memcached_instance_st *owner = by_key(memc, key[i], len[i], &rc);
    uint32_t index = 0;
    while (index < server_count && table[index] != owner) {
      index++;
    }
    if (index == server_count) {
      die("server_by_key returned no listed server", NULL);
    }
    checksum += index;
  }

  double *ns = malloc((size_t) rounds * sizeof(*ns));
  uintptr_t sink = 0;
  for (int r = 0; r < rounds; r++) {
    double start = now_ns();
    for (size_t i = 0; i < key_count; i++) {
      memcached_return_t rc;
      sink ^= (uintptr_t) by_key(memc, key[i], len[i], &rc);
    }
    ns[r] = (now_ns() - start) / (double) key_count;
  }
  qsort(ns, (size_t) rounds, sizeof(*ns), compare_double);
  printf("best_ns_per_key %.2f median_ns_per_key %.2f checksum %llu sink %llu\n", ns[0],
         ns[rounds / 2], (unsigned long long) checksum, (unsigned long long) (sink & 1));
  destroy(memc);
  return 0;
}
