/*
 * The commands php-memcached's API needs: placed by a server key
 * (libmemcached's *_by_key), writes without waiting for the reply
 * (noreply), arithmetic with an initial value, the keys every server holds,
 * php-memcached's serializer types, and php-memcached's result codes.
 */
#include "common.h"

#define N 40

/* A client over one test server only, to see what that server holds. */
static mcring_client *server_client(mcring_client *c, size_t index) {
  mcring_server info;
  if (mcring_server_info(c, index, &info) != MCRING_OK) {
    fprintf(stderr, "mcring_server_info: %s\n", mcring_last_error());
    exit(2);
  }
  return test_client(info.name);
}

/* Whether the server `index` of `c` holds `key` (as stored). */
static int holds(mcring_client *c, size_t index, const char *key) {
  mcring_client *one = server_client(c, index);
  mcring_value *v = NULL;
  int found = mcring_get(one, key, strlen(key), &v) == MCRING_OK;
  mcring_value_free(v);
  mcring_client_free(one);
  return found;
}

static void count_value(void *ud, size_t i, const uint8_t *v, size_t n, uint32_t f, uint64_t cas) {
  (void)i;
  (void)v;
  (void)n;
  (void)f;
  (void)cas;
  (*(int *)ud)++;
}

/* Every command placed by one server key lands on that key's server. */
static void placed_by_server_key(mcring_client *c) {
  const char *sk = "user:42";
  size_t home = 99;
  CHECK_STATUS(mcring_server_index_for_key(c, S("user:42"), &home), MCRING_OK);
  char key_text[N][32];
  const char *keys[N];
  size_t lens[N];
  mcring_set_item items[N];
  for (size_t i = 0; i < N; i++) {
    lens[i] = (size_t)snprintf(key_text[i], sizeof key_text[i], "bykey-%zu", i);
    keys[i] = key_text[i];
    items[i] = (mcring_set_item){keys[i], lens[i], U("v"), 0};
  }
  mcring_status statuses[N];
  CHECK_STATUS(mcring_set_multi_by_key(c, sk, strlen(sk), items, N, 0, false, statuses), MCRING_OK);
  int on_home = 0;
  for (size_t i = 0; i < N; i++) on_home += holds(c, home, keys[i]);
  CHECK(on_home == N);

  int hits = 0;
  CHECK_STATUS(mcring_get_multi_by_key(c, sk, strlen(sk), keys, lens, N, true, count_value, &hits,
                                       statuses),
               MCRING_OK);
  CHECK(hits == N);
  /* Placed by their own keys, most of them are elsewhere: misses. */
  hits = 0;
  CHECK_STATUS(mcring_get_multi_by_key(c, NULL, 0, keys, lens, N, false, count_value, &hits, NULL),
               MCRING_OK);
  CHECK(hits > 0 && hits < N);

  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get_by_key(c, sk, strlen(sk), keys[0], lens[0], true, &v), MCRING_OK);
  CHECK(v != NULL && mcring_value_cas(v) != 0);
  uint64_t cas = mcring_value_cas(v);
  mcring_value_free(v);

  CHECK_STATUS(mcring_store_by_key(c, sk, strlen(sk), MCRING_STORE_CAS, keys[0], lens[0], U("w"), 0,
                                   0, cas, false),
               MCRING_OK);
  CHECK_STATUS(mcring_store_by_key(c, sk, strlen(sk), MCRING_STORE_CAS, keys[0], lens[0], U("x"), 0,
                                   0, cas, false),
               MCRING_EXISTS);
  CHECK_STATUS(mcring_store_by_key(c, sk, strlen(sk), MCRING_STORE_ADD, keys[0], lens[0], U("x"), 0,
                                   0, 0, false),
               MCRING_NOT_STORED);
  CHECK_STATUS(mcring_store_by_key(c, sk, strlen(sk), MCRING_STORE_REPLACE, keys[0], lens[0], U("r"),
                                   0, 0, 0, false),
               MCRING_OK);
  CHECK_STATUS(mcring_store_by_key(c, sk, strlen(sk), MCRING_STORE_APPEND, keys[0], lens[0], U(">"),
                                   0, 0, 0, false),
               MCRING_OK);
  CHECK_STATUS(mcring_store_by_key(c, sk, strlen(sk), MCRING_STORE_PREPEND, keys[0], lens[0], U("<"),
                                   0, 0, 0, false),
               MCRING_OK);
  CHECK_STATUS(mcring_get_by_key(c, sk, strlen(sk), keys[0], lens[0], false, &v), MCRING_OK);
  CHECK(v != NULL && mcring_value_len(v) == 3 && memcmp(mcring_value_data(v), "<r>", 3) == 0);
  mcring_value_free(v);
  CHECK_STATUS(mcring_touch_by_key(c, sk, strlen(sk), keys[0], lens[0], 100, false), MCRING_OK);
  CHECK_STATUS(mcring_delete_by_key(c, sk, strlen(sk), keys[0], lens[0], false), MCRING_OK);
  CHECK_STATUS(mcring_delete_by_key(c, sk, strlen(sk), keys[0], lens[0], false), MCRING_NOT_FOUND);
  CHECK_STATUS(mcring_delete_multi_by_key(c, sk, strlen(sk), keys, lens, N, statuses), MCRING_OK);
  CHECK(statuses[0] == MCRING_NOT_FOUND && statuses[1] == MCRING_OK);
  int left = 0;
  for (size_t i = 0; i < N; i++) left += holds(c, home, keys[i]);
  CHECK(left == 0);
  /* An empty server key places by the key, as in libmemcached. */
  CHECK_STATUS(mcring_set(c, S("own"), U("1"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_get_by_key(c, "", 0, S("own"), false, &v), MCRING_OK);
  mcring_value_free(v);
  CHECK_STATUS(mcring_get_by_key(c, NULL, 0, NULL, 0, false, &v), MCRING_INVALID_ARGUMENT);
}

/* incr and decr, with and without an initial value. */
static void arithmetic(mcring_client *c) {
  uint64_t n = 0;
  uint64_t initial = 10;
  mcring_delete(c, S("counter"));
  CHECK_STATUS(mcring_arith_by_key(c, NULL, 0, S("counter"), false, 1, NULL, 0, &n), MCRING_NOT_FOUND);
  CHECK_STATUS(mcring_arith_by_key(c, NULL, 0, S("counter"), false, 5, &initial, 100, &n), MCRING_OK);
  CHECK(n == 10);
  CHECK_STATUS(mcring_arith_by_key(c, NULL, 0, S("counter"), false, 5, &initial, 100, &n), MCRING_OK);
  CHECK(n == 15);
  CHECK_STATUS(mcring_arith_by_key(c, NULL, 0, S("counter"), true, 100, NULL, 0, &n), MCRING_OK);
  CHECK(n == 0);
  CHECK_STATUS(mcring_arith_by_key(c, S("other"), S("counter2"), true, 1, &initial, 0, &n), MCRING_OK);
  CHECK(n == 10);
  CHECK_STATUS(mcring_arith_by_key(c, NULL, 0, S("counter"), false, 1, NULL, 0, NULL),
               MCRING_INVALID_ARGUMENT);
}

/* Writes without waiting for the reply are there once a later request of
   the same client has its answer. */
static void noreply(mcring_client *c) {
  mcring_set_item items[2] = {{S("nr-a"), U("a"), 0}, {S("nr-b"), U("b"), 0}};
  CHECK_STATUS(mcring_set_multi_by_key(c, NULL, 0, items, 2, 0, true, NULL), MCRING_OK);
  CHECK_STATUS(mcring_store_by_key(c, NULL, 0, MCRING_STORE_SET, S("nr-c"), U("c"), 7, 0, 0, true),
               MCRING_OK);
  CHECK_STATUS(mcring_store_by_key(c, NULL, 0, MCRING_STORE_ADD, S("nr-c"), U("x"), 0, 0, 0, true),
               MCRING_OK);
  CHECK_STATUS(mcring_touch_by_key(c, NULL, 0, S("nr-c"), 100, true), MCRING_OK);
  CHECK_STATUS(mcring_delete_by_key(c, NULL, 0, S("nr-b"), true), MCRING_OK);
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(c, S("nr-c"), &v), MCRING_OK);
  CHECK(v != NULL && mcring_value_flags(v) == 7 && mcring_value_len(v) == 1 &&
        mcring_value_data(v)[0] == 'c');
  mcring_value_free(v);
  CHECK_STATUS(mcring_get(c, S("nr-a"), &v), MCRING_OK);
  mcring_value_free(v);
  CHECK_STATUS(mcring_get(c, S("nr-b"), &v), MCRING_NOT_FOUND);
}

struct dumped {
  int mine;
  int total;
};

static void on_key(void *ud, const char *server, const uint8_t *key, size_t len, int64_t exptime,
                   int64_t last_access, uint64_t cas, uint32_t size) {
  struct dumped *d = ud;
  (void)exptime;
  (void)last_access;
  d->total++;
  if (server != NULL && len > 5 && memcmp(key, "dump-", 5) == 0 && cas != 0 && size > 0) d->mine++;
}

static void dump(mcring_client *c) {
  char key[32];
  for (int i = 0; i < 10; i++) {
    size_t n = (size_t)snprintf(key, sizeof key, "dump-%d", i);
    CHECK_STATUS(mcring_set(c, key, n, U("x"), 0, 0), MCRING_OK);
  }
  struct dumped d = {0, 0};
  CHECK_STATUS(mcring_dump_keys(c, on_key, &d), MCRING_OK);
  CHECK(d.mine == 10 && d.total >= 10);
  CHECK_STATUS(mcring_dump_keys(c, NULL, &d), MCRING_INVALID_ARGUMENT);
}

/* php-memcached's igbinary and msgpack types. */
static void serializer_types(mcring_client *c) {
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_encode_igbinary(c, U("\x00\x00\x00\x02\x06\x01"), 0, &v), MCRING_OK);
  CHECK(v != NULL && (mcring_value_flags(v) & 0xf) == 5);
  mcring_value_free(v);
  CHECK_STATUS(mcring_encode_msgpack(c, U("\x91\x01"), 3, &v), MCRING_OK);
  CHECK(v != NULL && mcring_value_flags(v) == (7u | (3u << 16)));
  mcring_decoded *d = NULL;
  CHECK_STATUS(mcring_value_decode(c, v, &d), MCRING_OK);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_MSGPACK);
  mcring_decoded_free(d);
  mcring_value_free(v);
  mcring_client *py = test_client("127.0.0.1:1 value_format=pylibmc");
  CHECK_STATUS(mcring_encode_msgpack(py, U("\x90"), 0, &v), MCRING_BAD_VALUE);
  mcring_client_free(py);
}

/* php-memcached's result codes: of a status, and of the cause of the last
   call's failure. */
static void result_codes(void) {
  CHECK(mcring_status_memcached_code(MCRING_OK) == 0);
  CHECK(mcring_status_memcached_code(MCRING_NOT_FOUND) == 16);
  CHECK(mcring_status_memcached_code(MCRING_CONNECTION_ERROR) == 3);
  CHECK(mcring_status_memcached_code(MCRING_STORED_ELSEWHERE) == -2001);
  CHECK(mcring_status_memcached_code(MCRING_STALE) == -2002);
  CHECK(mcring_status_memcached_code(MCRING_LEASE) == 16);
  CHECK(mcring_status_memcached_code((mcring_status)999) == 1);
  mcring_client *c = test_client_with("max_value_bytes=10");
  CHECK_STATUS(mcring_set(c, S("big"), U("0123456789a"), 0, 0), MCRING_BAD_VALUE);
  CHECK(mcring_memcached_code(MCRING_BAD_VALUE) == 37); /* RES_E2BIG */
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(c, S("nothing-here"), &v), MCRING_NOT_FOUND);
  CHECK(mcring_memcached_code(MCRING_NOT_FOUND) == 16);
  mcring_client_free(c);
  char config[128];
  snprintf(config, sizeof config, "%s failure_limit=1 retry_timeout_ms=60000",
           test_env("MCRING_TEST_CLOSED"));
  mcring_client *closed = test_client(config);
  CHECK_STATUS(mcring_get(closed, S("k"), &v), MCRING_CONNECTION_ERROR);
  CHECK(mcring_memcached_code(MCRING_CONNECTION_ERROR) == 3); /* RES_CONNECTION_FAILURE */
  CHECK_STATUS(mcring_set(closed, S("k"), U("v"), 0, 0), MCRING_CONNECTION_ERROR);
  CHECK(mcring_memcached_code(MCRING_CONNECTION_ERROR) == 47); /* marked dead */
  mcring_client_free(closed);
}

int main(void) {
  mcring_client *c = test_client_with("");
  placed_by_server_key(c);
  arithmetic(c);
  noreply(c);
  dump(c);
  serializer_types(c);
  mcring_client_free(c);
  result_codes();
  return test_finish("test_by_key");
}
