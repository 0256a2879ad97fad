/*
 * The demo's C service: reads the sessions through libmcring and, for each
 * server, counts the keys mcring places there next to libmemcached's own
 * memcached_server_by_key (KETAMA_WEIGHTED, as php-memcached's
 * OPT_LIBKETAMA_COMPATIBLE).
 *   read_sessions CONFIG [--placement HOST:PORT...]
 */
#include <libmcring.h>
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <string.h>

#define N 1000

struct hits { int n; };

static void on_hit(void *ud, size_t i, const uint8_t *v, size_t len, uint32_t flags, uint64_t cas) {
  (void)i; (void)v; (void)len; (void)flags; (void)cas;
  ((struct hits *)ud)->n++;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  mcring_client *c = NULL;
  if (mcring_client_new(argv[1], &c) != MCRING_OK) {
    fprintf(stderr, "config: %s\n", mcring_last_error());
    return 1;
  }
  static char names[N][32];
  const char *keys[N];
  size_t lens[N];
  for (int i = 0; i < N; i++) {
    lens[i] = (size_t)snprintf(names[i], sizeof names[i], "session:%d", i);
    keys[i] = names[i];
  }
  struct hits hits = {0};
  mcring_get_multi(c, keys, lens, N, on_hit, &hits, NULL);
  printf("C read %d of %d sessions\n", hits.n, N);

  if (argc > 3 && strcmp(argv[2], "--placement") == 0) {
    memcached_st *m = memcached_create(NULL);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    int servers = argc - 3;
    for (int s = 0; s < servers; s++) {
      char host[64];
      int port = 0;
      sscanf(argv[3 + s], "%63[^:]:%d", host, &port);
      memcached_server_add(m, host, (in_port_t)port);
    }
    printf("\n  %-18s %8s %14s\n", "server", "mcring", "libmemcached");
    for (int s = 0; s < servers; s++) {
      int ours = 0, theirs = 0;
      for (int i = 0; i < N; i++) {
        char name[300];
        mcring_server_for_key(c, keys[i], lens[i], name, sizeof name);
        ours += strcmp(name, argv[3 + s]) == 0;
        memcached_return_t rc;
        const memcached_instance_st *inst = memcached_server_by_key(m, keys[i], lens[i], &rc);
        char theirs_name[300];
        snprintf(theirs_name, sizeof theirs_name, "%s:%u", memcached_server_name(inst),
                 (unsigned)memcached_server_port(inst));
        theirs += strcmp(theirs_name, argv[3 + s]) == 0;
      }
      printf("  %-18s %8d %14d\n", argv[3 + s], ours, theirs);
    }
    memcached_free(m);
  }
  mcring_client_free(c);
  return hits.n == N ? 0 : 1;
}
