/*
 * mcring_server_for_key() against the real libmemcached: for several
 * server lists and distributions, every key must land on the server
 * memcached_server_by_key() picks. Placement is computed only; none of
 * these servers is ever contacted.
 */
#include <libmemcached/memcached.h>

#include "common.h"

struct server {
  const char *host; /* a host, an IPv6 address (no brackets) or a socket path */
  unsigned port;    /* 0 for a unix socket */
  unsigned weight;
};

enum mode { KETAMA_WEIGHTED, KETAMA, MODULA, MODULA_CRC };

struct scenario {
  const char *name;
  enum mode mode;
  const struct server *servers;
  size_t count;
};

static const struct server fixture[] = {
    {"10.0.1.1", 11211, 600}, {"10.0.1.2", 11211, 300}, {"10.0.1.3", 11211, 200},
    {"10.0.1.4", 11211, 350}, {"10.0.1.5", 11211, 1000}, {"10.0.1.6", 11211, 800},
    {"10.0.1.7", 11211, 950}, {"10.0.1.8", 11211, 100},
};
static const struct server hostnames[] = {
    {"cache-a.example.com", 11211, 1}, {"cache-b.example.com", 11212, 2},
    {"cache-c.internal", 22122, 3},    {"memcache.local", 11211, 1},
};
static const struct server single[] = {{"10.0.0.1", 11211, 1}};
static const struct server equal[] = {
    {"10.1.2.1", 11211, 1}, {"10.1.2.2", 11211, 1}, {"10.1.2.3", 11211, 1},
    {"10.1.2.4", 11211, 1}, {"10.1.2.5", 11211, 1}, {"10.1.2.6", 11211, 1},
    {"10.1.2.7", 11212, 1}, {"10.1.2.8", 11213, 1}, {"10.1.2.9", 11214, 1},
    {"10.1.2.10", 11215, 1}, {"10.1.2.11", 11216, 1}, {"10.1.2.12", 11217, 1},
};
static const struct server mixed[] = {
    {"::1", 11211, 1}, {"fe80::2", 11300, 2}, {"/var/run/memcached.sock", 0, 3},
    {"10.9.9.9", 11211, 1},
};

static const struct scenario scenarios[] = {
    {"ketama-weighted, libmemcached's fixture", KETAMA_WEIGHTED, fixture, 8},
    {"ketama-weighted, host names", KETAMA_WEIGHTED, hostnames, 4},
    {"ketama-weighted, one server", KETAMA_WEIGHTED, single, 1},
    {"ketama-weighted, twelve equal", KETAMA_WEIGHTED, equal, 12},
    {"ketama-weighted, IPv6 and a unix socket", KETAMA_WEIGHTED, mixed, 4},
    {"ketama, twelve equal", KETAMA, equal, 12},
    {"modula, twelve equal", MODULA, equal, 12},
    {"modula crc, host names", MODULA_CRC, hostnames, 4},
};

/* Key number `i`: readable keys and keys of random bytes 0x21..0xff
   (no space, control byte or DEL: what a memcached key may hold). */
static size_t make_key(long i, char *key) {
  if (i % 2 == 0) return (size_t)sprintf(key, "user:%ld:profile", i);
  uint32_t x = (uint32_t)i * 2654435761u + 12345u;
  size_t len = 1 + (x % 250);
  for (size_t j = 0; j < len; j++) {
    x = x * 1103515245u + 12345u;
    unsigned char b = (unsigned char)(0x21 + (x >> 16) % (0x100 - 0x21));
    key[j] = (char)(b == 0x7f ? 0x80 : b);
  }
  return len;
}

/* The mcring config string for a scenario. */
static void config_string(const struct scenario *s, char *out, size_t size) {
  size_t n = 0;
  static const char *options[] = {"", "distribution=ketama", "distribution=modula",
                                  "distribution=modula hash=crc"};
  n += (size_t)snprintf(out + n, size - n, "%s", options[s->mode]);
  for (size_t i = 0; i < s->count; i++) {
    const struct server *sv = &s->servers[i];
    if (sv->port == 0)
      n += (size_t)snprintf(out + n, size - n, " %s:%u", sv->host, sv->weight);
    else if (strchr(sv->host, ':') != NULL)
      n += (size_t)snprintf(out + n, size - n, " [%s]:%u:%u", sv->host, sv->port, sv->weight);
    else
      n += (size_t)snprintf(out + n, size - n, " %s:%u:%u", sv->host, sv->port, sv->weight);
  }
}

/* The client describes its servers as configured, in order. */
static void server_list(const struct scenario *s, mcring_client *c) {
  CHECK(mcring_server_count(c) == s->count);
  for (size_t i = 0; i < s->count; i++) {
    const struct server *sv = &s->servers[i];
    mcring_server info;
    memset(&info, 0, sizeof info);
    CHECK_STATUS(mcring_server_info(c, i, &info), MCRING_OK);
    CHECK(info.host != NULL && strcmp(info.host, sv->host) == 0);
    CHECK(info.port == sv->port && info.weight == sv->weight);
    CHECK(info.is_unix == (sv->port == 0));
    char name[256];
    if (sv->port == 0) snprintf(name, sizeof name, "%s", sv->host);
    else if (strchr(sv->host, ':')) snprintf(name, sizeof name, "[%s]:%u", sv->host, sv->port);
    else snprintf(name, sizeof name, "%s:%u", sv->host, sv->port);
    CHECK(info.name != NULL && strcmp(info.name, name) == 0);
  }
  mcring_server info;
  CHECK_STATUS(mcring_server_info(c, s->count, &info), MCRING_INVALID_ARGUMENT);
  CHECK(last_error_has("out of range"));
  CHECK_STATUS(mcring_server_info(c, 0, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_server_info(NULL, 0, &info), MCRING_INVALID_ARGUMENT);
  CHECK(mcring_server_count(NULL) == 0);
  size_t index;
  CHECK_STATUS(mcring_server_index_for_key(c, S("a b"), &index), MCRING_BAD_KEY);
  CHECK_STATUS(mcring_server_index_for_key(c, S("k"), NULL), MCRING_INVALID_ARGUMENT);
}

/* libmemcached set up the way its users get each distribution. */
static memcached_st *libmemcached_for(const struct scenario *s) {
  memcached_st *memc = memcached_create(NULL);
  switch (s->mode) {
  case KETAMA_WEIGHTED: /* php-memcached's OPT_LIBKETAMA_COMPATIBLE */
    memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    break;
  case KETAMA:
    memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA, 1);
    break;
  case MODULA:
    break;
  case MODULA_CRC:
    memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_HASH, MEMCACHED_HASH_CRC);
    break;
  }
  for (size_t i = 0; i < s->count; i++) {
    const struct server *sv = &s->servers[i];
    memcached_return_t rc =
        sv->port == 0
            ? memcached_server_add_unix_socket_with_weight(memc, sv->host, sv->weight)
            : memcached_server_add_with_weight(memc, sv->host, (in_port_t)sv->port, sv->weight);
    CHECK(rc == MEMCACHED_SUCCESS);
  }
  return memc;
}

/* The name libmemcached's pick has in mcring's notation. */
static void libmemcached_name(const memcached_instance_st *server, char *out, size_t size) {
  const char *host = memcached_server_name(server);
  in_port_t port = memcached_server_port(server);
  if (port == 0)
    snprintf(out, size, "%s", host);
  else if (strchr(host, ':') != NULL)
    snprintf(out, size, "[%s]:%u", host, (unsigned)port);
  else
    snprintf(out, size, "%s:%u", host, (unsigned)port);
}

int main(void) {
  long keys = test_env_long("MCRING_TEST_KEYS", 5000);
  long compared = 0;
  for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++) {
    const struct scenario *sc = &scenarios[s];
    char config[1024];
    config_string(sc, config, sizeof config);
    mcring_client *c = test_client(config);
    memcached_st *memc = libmemcached_for(sc);
    server_list(sc, c);
    long mismatches = 0;
    size_t used[16] = {0};
    for (long i = 0; i < keys; i++) {
      char key[256], ours[256], theirs[256];
      size_t len = make_key(i, key);
      /* libmemcached leaves rc unset on success: the server is the answer. */
      memcached_return_t rc = MEMCACHED_SUCCESS;
      const memcached_instance_st *server = memcached_server_by_key(memc, key, len, &rc);
      if (server == NULL) {
        mismatches++;
        continue;
      }
      libmemcached_name(server, theirs, sizeof theirs);
      if (mcring_server_for_key(c, key, len, ours, sizeof ours) != MCRING_OK ||
          strcmp(ours, theirs) != 0) {
        if (mismatches++ < 3)
          fprintf(stderr, "%s: key %ld: mcring %s, libmemcached %s\n", sc->name, i, ours, theirs);
        continue;
      }
      /* The same server by index, with libmemcached's host and port. */
      size_t index = sc->count;
      mcring_server info;
      if (mcring_server_index_for_key(c, key, len, &index) != MCRING_OK ||
          mcring_server_info(c, index, &info) != MCRING_OK || strcmp(info.name, ours) != 0 ||
          strcmp(info.host, memcached_server_name(server)) != 0 ||
          info.port != memcached_server_port(server)) {
        if (mismatches++ < 3) fprintf(stderr, "%s: key %ld: index %zu\n", sc->name, i, index);
        continue;
      }
      for (size_t j = 0; j < sc->count; j++) {
        char name[256];
        const struct server *sv = &sc->servers[j];
        if (sv->port == 0) snprintf(name, sizeof name, "%s", sv->host);
        else if (strchr(sv->host, ':')) snprintf(name, sizeof name, "[%s]:%u", sv->host, sv->port);
        else snprintf(name, sizeof name, "%s:%u", sv->host, sv->port);
        if (strcmp(name, ours) == 0) used[j]++;
      }
      compared++;
    }
    CHECK(mismatches == 0);
    /* A meaningful comparison: with enough keys, every server gets some. */
    if (keys >= 1000)
      for (size_t j = 0; j < sc->count; j++) CHECK(used[j] > 0);
    printf("  %-42s %ld keys, %ld mismatches\n", sc->name, keys, mismatches);
    memcached_free(memc);
    mcring_client_free(c);
  }
  CHECK(compared > 0);
  return test_finish("test_placement");
}
