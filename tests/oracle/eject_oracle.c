/*
 * Where libmemcached places keys after it ejected a failed server.
 *
 *   eject_oracle [--roundtrip] DISTRIBUTION DEAD_INDEX HOST:PORT:WEIGHT... < keys
 *
 * DISTRIBUTION is ketama-weighted or ketama. Servers are real loopback
 * addresses; the one at DEAD_INDEX is a closed port. With
 * REMOVE_FAILED_SERVERS and a failure limit of 1, the program first sends
 * gets until libmemcached has ejected that server (a refused connect counts
 * a failure; the next attempt ejects it and rebuilds the continuum), then
 * prints, for each key read from stdin, the index of the server
 * memcached_server_by_key() names. Only loopback addresses are dialed.
 *
 * With --roundtrip (keys end at an empty line, retry timeout 1 s): after
 * the ejected placement and a line "---", it waits for a line on stdin (the
 * caller restarted the dead server meanwhile), lets the retry timeout pass,
 * sends gets until libmemcached has the server back in its continuum, and
 * prints the placement again.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SERVERS 64

/* For each key, the index of the server memcached_server_by_key() names. */
static void print_placement(memcached_st *m, char keys[][251], int nkeys, char hosts[][256],
                            int *ports, int n) {
  for (int k = 0; k < nkeys; k++) {
    memcached_return_t rc;
    const memcached_instance_st *s = memcached_server_by_key(m, keys[k], strlen(keys[k]), &rc);
    int index = -1;
    for (int i = 0; s && i < n; i++)
      if (memcached_server_port(s) == ports[i] && strcmp(memcached_server_name(s), hosts[i]) == 0)
        index = i;
    printf("%d\n", index);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s DISTRIBUTION DEAD_INDEX HOST:PORT:WEIGHT...\n", argv[0]);
    return 2;
  }
  int roundtrip = strcmp(argv[1], "--roundtrip") == 0;
  if (roundtrip) {
    argv++;
    argc--;
  }
  memcached_st *m = memcached_create(NULL);
  if (strcmp(argv[1], "ketama-weighted") == 0) {
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
  } else if (strcmp(argv[1], "ketama") == 0) {
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
  } else {
    fprintf(stderr, "unknown distribution %s\n", argv[1]);
    return 2;
  }
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 1);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 1);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, roundtrip ? 1 : 600);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 1000);
  int dead = atoi(argv[2]);
  int n = 0;
  char hosts[MAX_SERVERS][256];
  int ports[MAX_SERVERS];
  for (int i = 3; i < argc && n < MAX_SERVERS; i++, n++) {
    char *spec = argv[i];
    char *c1 = strchr(spec, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2) {
      fprintf(stderr, "bad server %s\n", spec);
      return 2;
    }
    snprintf(hosts[n], sizeof hosts[n], "%.*s", (int)(c1 - spec), spec);
    ports[n] = atoi(c1 + 1);
    memcached_server_add_with_weight(m, hosts[n], (in_port_t)ports[n], (uint32_t)atoi(c2 + 1));
  }
  char line[512];
  static char keys[20000][251];
  int nkeys = 0;
  while (nkeys < 20000 && fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (roundtrip && line[0] == 0) break;
    snprintf(keys[nkeys++], sizeof keys[0], "%.250s", line);
  }
  /* Drive requests to the dead server until it is out of the continuum. */
  int ejected = 0;
  for (int round = 0; round < 50 && !ejected; round++) {
    ejected = 1;
    for (int k = 0; k < nkeys; k++) {
      memcached_return_t rc;
      const memcached_instance_st *s = memcached_server_by_key(m, keys[k], strlen(keys[k]), &rc);
      if (s && memcached_server_port(s) == ports[dead] &&
          strcmp(memcached_server_name(s), hosts[dead]) == 0) {
        ejected = 0;
        size_t len;
        uint32_t flags;
        char *v = memcached_get(m, keys[k], strlen(keys[k]), &len, &flags, &rc);
        free(v);
        break;
      }
    }
  }
  if (!ejected) {
    fprintf(stderr, "libmemcached did not eject server %d\n", dead);
    return 1;
  }
  print_placement(m, keys, nkeys, hosts, ports, n);
  if (roundtrip) {
    printf("---\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 1;
    sleep(2);
    /* Requests bring the server back once its retry time has come. */
    int back = 0;
    for (int round = 0; round < 50 && !back; round++) {
      for (int k = 0; k < nkeys && !back; k++) {
        memcached_return_t rc;
        size_t len;
        uint32_t flags;
        char *v = memcached_get(m, keys[k], strlen(keys[k]), &len, &flags, &rc);
        free(v);
        const memcached_instance_st *s = memcached_server_by_key(m, keys[k], strlen(keys[k]), &rc);
        back = s && memcached_server_port(s) == ports[dead] &&
               strcmp(memcached_server_name(s), hosts[dead]) == 0;
      }
    }
    if (!back) {
      fprintf(stderr, "libmemcached did not take server %d back\n", dead);
      return 1;
    }
    print_placement(m, keys, nkeys, hosts, ports, n);
  }
  memcached_free(m);
  return 0;
}
