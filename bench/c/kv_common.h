/* Shared by the C benchmark clients: argument parsing and timing.
 *
 * Every client is run as:  <client> <get|set|mget> <ops> <host:port>...
 * and prints one line:     <ops_per_second>
 * Keys are "<namespace>:<i>" for i in 0..999 and values 100 bytes, so the
 * clients do the same work on the wire. */
#ifndef KV_COMMON_H
#define KV_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KV_KEYS 1000
#define KV_VALUE_LEN 100
#define KV_MULTI 100
#define KV_MAX_SERVERS 16

struct kv_args {
  const char *op;
  long ops;
  int nservers;
  char hosts[KV_MAX_SERVERS][256];
  int ports[KV_MAX_SERVERS];
};

static inline void kv_parse(int argc, char **argv, struct kv_args *a) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <get|set|mget> <ops> <host:port>...\n", argv[0]);
    exit(2);
  }
  a->op = argv[1];
  a->ops = atol(argv[2]);
  a->nservers = 0;
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
}

static inline double kv_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
