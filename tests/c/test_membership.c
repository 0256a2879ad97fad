/*
 * The server list changed at run time: mcring_client_add_server(),
 * mcring_client_remove_server() and mcring_client_set_servers(). After
 * every change each key lands where the real libmemcached puts it for the
 * new list (computed only, never dialed); against the servers run.sh
 * started, values survive a resize (migration) and bad input leaves the
 * list as it was.
 */
#include <libmemcached/memcached.h>
#include <unistd.h>

#include "common.h"

/* libmemcached (ketama weighted, as php-memcached's OPT_LIBKETAMA_COMPATIBLE)
 * over the client's current list, as mcring_server_info() describes it. */
static memcached_st *libmemcached_like(mcring_client *c) {
  memcached_st *memc = memcached_create(NULL);
  memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
  for (size_t i = 0; i < mcring_server_count(c); i++) {
    mcring_server info;
    CHECK_STATUS(mcring_server_info(c, i, &info), MCRING_OK);
    CHECK(memcached_server_add_with_weight(memc, info.host, info.port, info.weight) ==
          MEMCACHED_SUCCESS);
  }
  return memc;
}

/* Every one of `keys` keys is placed as libmemcached places it. */
static void placed_as_libmemcached(mcring_client *c, long keys, const char *when) {
  memcached_st *memc = libmemcached_like(c);
  long mismatches = 0;
  for (long i = 0; i < keys; i++) {
    char key[64], ours[256], theirs[256];
    int len = snprintf(key, sizeof key, "elastic:%ld", i);
    memcached_return_t rc = MEMCACHED_SUCCESS;
    const memcached_instance_st *server = memcached_server_by_key(memc, key, (size_t)len, &rc);
    if (server == NULL) {
      mismatches++;
      continue;
    }
    snprintf(theirs, sizeof theirs, "%s:%u", memcached_server_name(server),
             (unsigned)memcached_server_port(server));
    if (mcring_server_for_key(c, key, (size_t)len, ours, sizeof ours) != MCRING_OK ||
        strcmp(ours, theirs) != 0) {
      if (mismatches++ < 3) fprintf(stderr, "%s: %s: mcring %s, libmemcached %s\n", when, key, ours, theirs);
    }
  }
  CHECK(mismatches == 0);
  printf("  %-40s %zu servers, %ld keys, %ld mismatches\n", when, mcring_server_count(c), keys,
         mismatches);
  memcached_free(memc);
}

/* The name of server number `index`, or "" when there is none. */
static const char *name_at(mcring_client *c, size_t index) {
  mcring_server info;
  return mcring_server_info(c, index, &info) == MCRING_OK ? info.name : "";
}

static void placement_after_each_change(long keys) {
  mcring_client *c = test_client("127.5.0.1:11211 127.5.0.2:11211 127.5.0.3:11212");
  placed_as_libmemcached(c, keys, "three servers");

  CHECK_STATUS(mcring_client_add_server(c, "127.5.0.4:11211"), MCRING_OK);
  CHECK(mcring_server_count(c) == 4 && strcmp(name_at(c, 3), "127.5.0.4:11211") == 0);
  placed_as_libmemcached(c, keys, "one added");

  CHECK_STATUS(mcring_client_add_server(c, "127.5.0.5:11211:3"), MCRING_OK);
  placed_as_libmemcached(c, keys, "a weighted one added");

  CHECK_STATUS(mcring_client_remove_server(c, "127.5.0.2:11211", false), MCRING_OK);
  CHECK(mcring_server_count(c) == 4);
  for (size_t i = 0; i < mcring_server_count(c); i++)
    CHECK(strcmp(name_at(c, i), "127.5.0.2:11211") != 0);
  placed_as_libmemcached(c, keys, "one removed");

  CHECK_STATUS(mcring_client_set_servers(c, "127.5.1.1:11211 127.5.0.3:11212\t127.5.1.2:11300", false),
               MCRING_OK);
  CHECK(mcring_server_count(c) == 3);
  CHECK(strcmp(name_at(c, 0), "127.5.1.1:11211") == 0 && strcmp(name_at(c, 2), "127.5.1.2:11300") == 0);
  placed_as_libmemcached(c, keys, "list replaced");

  /* Bad input: a clear error and the list as it was. */
  CHECK_STATUS(mcring_client_add_server(c, "127.5.0.9:0"), MCRING_BAD_CONFIG);
  CHECK(last_error_has("127.5.0.9:0"));
  CHECK_STATUS(mcring_client_add_server(c, "127.5.0.9:11211 127.5.0.8:11211"), MCRING_BAD_CONFIG);
  CHECK(last_error_has("one server"));
  CHECK_STATUS(mcring_client_remove_server(c, "127.5.9.9:11211", false), MCRING_BAD_CONFIG);
  CHECK(last_error_has("127.5.9.9:11211"));
  CHECK_STATUS(mcring_client_set_servers(c, "127.5.2.1:11211 nonsense:port", false), MCRING_BAD_CONFIG);
  CHECK(last_error_has("nonsense:port"));
  CHECK_STATUS(mcring_client_set_servers(c, "127.5.2.1:11211 io_timeout_ms=5", false),
               MCRING_BAD_CONFIG);
  CHECK(mcring_server_count(c) == 3 && strcmp(name_at(c, 0), "127.5.1.1:11211") == 0);
  placed_as_libmemcached(c, keys, "after bad input");

  /* NULLs. */
  CHECK_STATUS(mcring_client_set_servers(NULL, "127.5.0.1:11211", false), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_client_set_servers(c, NULL, false), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_client_add_server(NULL, "127.5.0.1:11211"), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_client_add_server(c, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_client_remove_server(NULL, "127.5.0.1:11211", false), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_client_remove_server(c, NULL, false), MCRING_INVALID_ARGUMENT);

  /* An empty list: requests fail with MCRING_NO_SERVERS; adding fills it. */
  CHECK_STATUS(mcring_client_set_servers(c, "", false), MCRING_OK);
  CHECK(mcring_server_count(c) == 0);
  char buf[64];
  CHECK_STATUS(mcring_server_for_key(c, S("k"), buf, sizeof buf), MCRING_NO_SERVERS);
  CHECK_STATUS(mcring_client_add_server(c, "127.5.3.1:11211"), MCRING_OK);
  CHECK_STATUS(mcring_server_for_key(c, S("k"), buf, sizeof buf), MCRING_OK);
  CHECK(strcmp(buf, "127.5.3.1:11211") == 0);
  mcring_client_free(c);
}

/* Sets `count` keys of a prefix, then counts how many read back equal. */
static void set_keys(mcring_client *c, const char *prefix, long count) {
  for (long i = 0; i < count; i++) {
    char key[64];
    int len = snprintf(key, sizeof key, "%s:%ld", prefix, i);
    CHECK_STATUS(mcring_set(c, key, (size_t)len, (const uint8_t *)key, (size_t)len, 0, 300),
                 MCRING_OK);
  }
}

static long hits(mcring_client *c, const char *prefix, long count) {
  long found = 0;
  for (long i = 0; i < count; i++) {
    char key[64];
    int len = snprintf(key, sizeof key, "%s:%ld", prefix, i);
    mcring_value *v = NULL;
    if (mcring_get(c, key, (size_t)len, &v) == MCRING_OK && mcring_value_len(v) == (size_t)len &&
        memcmp(mcring_value_data(v), key, (size_t)len) == 0)
      found++;
    mcring_value_free(v);
  }
  return found;
}

static uint64_t migrated(mcring_client *c) {
  mcring_stats *stats = NULL;
  CHECK_STATUS(mcring_stats_get(c, &stats), MCRING_OK);
  const mcring_counters *total = mcring_stats_total(stats);
  uint64_t n = total != NULL ? total->migrated_keys : 0;
  mcring_stats_free(stats);
  return n;
}

static void values_survive_a_resize(void) {
  char first[128], second[128], prefix[64];
  const char *servers = test_env("MCRING_TEST_SERVERS");
  if (sscanf(servers, "%127s %127s", first, second) != 2) {
    fprintf(stderr, "MCRING_TEST_SERVERS needs two servers: %s\n", servers);
    exit(2);
  }
  snprintf(prefix, sizeof prefix, "c-resize-%ld", (long)getpid());
  long count = 1000;
  mcring_client *c = test_client(first);
  set_keys(c, prefix, count);

  /* A second server: about half the keys move to it and are copied over
     on their first read. */
  CHECK_STATUS(mcring_client_add_server(c, second), MCRING_OK);
  CHECK(hits(c, prefix, count) == count);
  uint64_t moved = migrated(c);
  CHECK(moved > (uint64_t)count / 5 && moved < (uint64_t)count);
  printf("  add a server: %ld of %ld hit, %llu migrated\n", count, count, (unsigned long long)moved);

  /* The first one removed with drain: its keys are read from it and moved. */
  CHECK_STATUS(mcring_client_remove_server(c, first, true), MCRING_OK);
  CHECK(mcring_server_count(c) == 1 && strcmp(name_at(c, 0), second) == 0);
  long after = hits(c, prefix, count);
  CHECK(after == count);
  printf("  drained removal: %ld of %ld hit, %llu migrated\n", after, count,
         (unsigned long long)migrated(c));
  /* Everything is on the second server now: a client of it alone finds all. */
  mcring_client *only = test_client(second);
  CHECK(hits(only, prefix, count) == count);
  mcring_client_free(only);
  mcring_client_free(c);
}

int main(void) {
  long keys = test_env_long("MCRING_TEST_KEYS", 5000);
  placement_after_each_change(keys);
  values_survive_a_resize();
  return test_finish("test_membership");
}
