/*
 * Single-key commands, value handles, the config builder and the value
 * codec, against the memcached servers started by run.sh.
 */
#include <unistd.h>

#include "common.h"

/* Whether `v` holds exactly `len` bytes equal to `data`. */
static int value_is(const mcring_value *v, const void *data, size_t len) {
  return v != NULL && mcring_value_len(v) == len && mcring_value_data(v) != NULL &&
         memcmp(mcring_value_data(v), data, len) == 0;
}

static void version_and_names(void) {
  CHECK(strcmp(mcring_version(), MCRING_VERSION) == 0);
  CHECK(strcmp(mcring_status_name(MCRING_OK), "MCRING_OK") == 0);
  CHECK(strcmp(mcring_status_name(MCRING_NOT_FOUND), "MCRING_NOT_FOUND") == 0);
  CHECK(strcmp(mcring_status_name(MCRING_INTERNAL_ERROR), "MCRING_INTERNAL_ERROR") == 0);
  /* Every status has its own name; a number that is none is named so. */
  for (int i = MCRING_OK; i <= MCRING_INTERNAL_ERROR; i++) {
    CHECK(strncmp(mcring_status_name((mcring_status)i), "MCRING_", 7) == 0);
    for (int j = 0; j < i; j++)
      CHECK(strcmp(mcring_status_name((mcring_status)i), mcring_status_name((mcring_status)j)) != 0);
  }
  CHECK(strcmp(mcring_status_name((mcring_status)99), "MCRING_UNKNOWN_STATUS") == 0);
  CHECK(strcmp(mcring_status_name((mcring_status)-1), "MCRING_UNKNOWN_STATUS") == 0);
}

static void set_get_delete(mcring_client *c) {
  /* Values are bytes: NULs and high bytes survive. */
  static const uint8_t bin[] = {0, 1, 2, 0xff, 0xfe, '\r', '\n', 0, 'x'};
  mcring_value *v = (mcring_value *)&v; /* not NULL: a miss must reset it */
  CHECK_STATUS(mcring_set(c, S("k1"), bin, sizeof bin, 0xdeadbeefu, 0), MCRING_OK);
  CHECK_STATUS(mcring_get(c, S("k1"), &v), MCRING_OK);
  CHECK(value_is(v, bin, sizeof bin));
  CHECK(mcring_value_flags(v) == 0xdeadbeefu);
  CHECK(mcring_value_cas(v) == 0);
  mcring_value_free(v);

  /* Keys are bytes too: UTF-8 and bytes >= 0x80. */
  CHECK_STATUS(mcring_set(c, S("k\xc3\xa9y\xff\x80"), U("utf8"), 1, 0), MCRING_OK);
  CHECK_STATUS(mcring_get(c, S("k\xc3\xa9y\xff\x80"), &v), MCRING_OK);
  CHECK(value_is(v, "utf8", 4));
  mcring_value_free(v);

  /* An empty value: NULL with length 0. */
  CHECK_STATUS(mcring_set(c, S("empty"), NULL, 0, 7, 0), MCRING_OK);
  CHECK_STATUS(mcring_get(c, S("empty"), &v), MCRING_OK);
  CHECK(v != NULL && mcring_value_len(v) == 0 && mcring_value_data(v) != NULL);
  CHECK(mcring_value_flags(v) == 7);
  mcring_value_free(v);

  /* A large value. */
  size_t big_len = 700 * 1000;
  uint8_t *big = malloc(big_len);
  for (size_t i = 0; i < big_len; i++) big[i] = (uint8_t)(i * 31 + 7);
  CHECK_STATUS(mcring_set(c, S("big"), big, big_len, 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_get(c, S("big"), &v), MCRING_OK);
  CHECK(value_is(v, big, big_len));
  mcring_value_free(v);
  free(big);

  /* A miss, then delete. */
  v = (mcring_value *)&v;
  CHECK_STATUS(mcring_get(c, S("never-set"), &v), MCRING_NOT_FOUND);
  CHECK(v == NULL);
  CHECK_STATUS(mcring_delete(c, S("k1")), MCRING_OK);
  CHECK_STATUS(mcring_delete(c, S("k1")), MCRING_NOT_FOUND);
  CHECK_STATUS(mcring_get(c, S("k1"), &v), MCRING_NOT_FOUND);
  CHECK(v == NULL);

  /* NULL handles are no-ops or zero for the accessors. */
  mcring_value_free(NULL);
  CHECK(mcring_value_data(NULL) == NULL);
  CHECK(mcring_value_len(NULL) == 0);
  CHECK(mcring_value_flags(NULL) == 0);
  CHECK(mcring_value_cas(NULL) == 0);
}

static void conditional_stores(mcring_client *c) {
  mcring_value *v = NULL;
  mcring_delete(c, S("cond"));
  CHECK_STATUS(mcring_replace(c, S("cond"), U("r"), 0, 0), MCRING_NOT_STORED);
  CHECK_STATUS(mcring_append(c, S("cond"), U("a")), MCRING_NOT_STORED);
  CHECK_STATUS(mcring_prepend(c, S("cond"), U("p")), MCRING_NOT_STORED);
  CHECK_STATUS(mcring_add(c, S("cond"), U("mid"), 5, 0), MCRING_OK);
  CHECK_STATUS(mcring_add(c, S("cond"), U("again"), 0, 0), MCRING_NOT_STORED);
  CHECK_STATUS(mcring_append(c, S("cond"), U("-post")), MCRING_OK);
  CHECK_STATUS(mcring_prepend(c, S("cond"), U("pre-")), MCRING_OK);
  CHECK_STATUS(mcring_get(c, S("cond"), &v), MCRING_OK);
  CHECK(value_is(v, "pre-mid-post", 12));
  CHECK(mcring_value_flags(v) == 5); /* append and prepend keep the flags */
  mcring_value_free(v);
  CHECK_STATUS(mcring_replace(c, S("cond"), U("replaced"), 6, 0), MCRING_OK);
  CHECK_STATUS(mcring_get(c, S("cond"), &v), MCRING_OK);
  CHECK(value_is(v, "replaced", 8) && mcring_value_flags(v) == 6);
  mcring_value_free(v);
  /* Empty appends are values too. */
  CHECK_STATUS(mcring_append(c, S("cond"), NULL, 0), MCRING_OK);
}

static void cas_and_touch(mcring_client *c) {
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_set(c, S("cas"), U("one"), 1, 0), MCRING_OK);
  CHECK_STATUS(mcring_gets(c, S("cas"), &v), MCRING_OK);
  CHECK(value_is(v, "one", 3));
  uint64_t token = mcring_value_cas(v);
  CHECK(token != 0);
  mcring_value_free(v);
  CHECK_STATUS(mcring_cas(c, S("cas"), U("two"), 2, 0, token), MCRING_OK);
  /* The token is stale now. */
  CHECK_STATUS(mcring_cas(c, S("cas"), U("three"), 3, 0, token), MCRING_EXISTS);
  CHECK_STATUS(mcring_get(c, S("cas"), &v), MCRING_OK);
  CHECK(value_is(v, "two", 3) && mcring_value_flags(v) == 2);
  mcring_value_free(v);
  mcring_delete(c, S("cas"));
  CHECK_STATUS(mcring_cas(c, S("cas"), U("four"), 0, 0, token), MCRING_NOT_FOUND);

  /* get_and_touch returns the value with a CAS token. */
  CHECK_STATUS(mcring_set(c, S("gat"), U("gat-value"), 9, 0), MCRING_OK);
  CHECK_STATUS(mcring_get_and_touch(c, S("gat"), 100, &v), MCRING_OK);
  CHECK(value_is(v, "gat-value", 9) && mcring_value_flags(v) == 9);
  CHECK(mcring_value_cas(v) != 0);
  mcring_value_free(v);
  v = (mcring_value *)&v;
  CHECK_STATUS(mcring_get_and_touch(c, S("gat-missing"), 100, &v), MCRING_NOT_FOUND);
  CHECK(v == NULL);

  /* touch sets a TTL that memcached then enforces. */
  CHECK_STATUS(mcring_touch(c, S("touch-missing"), 1), MCRING_NOT_FOUND);
  CHECK_STATUS(mcring_set(c, S("touched"), U("t"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_set(c, S("expiring"), U("e"), 0, 1), MCRING_OK);
  CHECK_STATUS(mcring_touch(c, S("touched"), 1), MCRING_OK);
  sleep(3);
  CHECK_STATUS(mcring_get(c, S("touched"), &v), MCRING_NOT_FOUND);
  CHECK_STATUS(mcring_get(c, S("expiring"), &v), MCRING_NOT_FOUND);
}

static void arithmetic(mcring_client *c) {
  uint64_t n = 12345;
  CHECK_STATUS(mcring_set(c, S("n"), U("10"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_incr(c, S("n"), 5, &n), MCRING_OK);
  CHECK(n == 15);
  CHECK_STATUS(mcring_decr(c, S("n"), 20, &n), MCRING_OK);
  CHECK(n == 0); /* memcached stops at 0 */
  /* 64-bit results (memcached 1.6 misreads some values >= 2^63, so the
     wrap at 2^64 is not exercised here). */
  CHECK_STATUS(mcring_set(c, S("n"), U("9223372036854775806"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_incr(c, S("n"), 1, &n), MCRING_OK);
  CHECK(n == 9223372036854775807ull);
  mcring_delete(c, S("n-missing"));
  n = 777;
  CHECK_STATUS(mcring_incr(c, S("n-missing"), 1, &n), MCRING_NOT_FOUND);
  CHECK_STATUS(mcring_decr(c, S("n-missing"), 1, &n), MCRING_NOT_FOUND);
  CHECK(n == 777); /* untouched unless OK */
}

static void placement_and_close(mcring_client *c) {
  char name[128];
  CHECK_STATUS(mcring_server_for_key(c, S("k1"), name, sizeof name), MCRING_OK);
  CHECK(strstr(test_env("MCRING_TEST_SERVERS"), name) != NULL);
  /* The name fits exactly with its NUL. */
  char exact[128];
  size_t len = strlen(name);
  CHECK_STATUS(mcring_server_for_key(c, S("k1"), exact, len + 1), MCRING_OK);
  CHECK(strcmp(exact, name) == 0);

  /* Closing idle connections: the client reconnects on demand. */
  CHECK_STATUS(mcring_client_close(c), MCRING_OK);
  CHECK_STATUS(mcring_set(c, S("after-close"), U("x"), 0, 0), MCRING_OK);
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(c, S("after-close"), &v), MCRING_OK);
  CHECK(value_is(v, "x", 1));
  mcring_value_free(v);
}

/* The first port in MCRING_TEST_SERVERS ("127.0.0.1:P1 127.0.0.1:P2"). */
static void server_ports(unsigned ports[2]) {
  const char *servers = test_env("MCRING_TEST_SERVERS");
  const char *second = strchr(servers, ' ');
  ports[0] = (unsigned)strtoul(strchr(servers, ':') + 1, NULL, 10);
  ports[1] = (unsigned)strtoul(strchr(second, ':') + 1, NULL, 10);
}

static void config_builder(void) {
  unsigned ports[2];
  server_ports(ports);
  mcring_config *cfg = NULL;
  CHECK_STATUS(mcring_config_new(&cfg), MCRING_OK);
  CHECK_STATUS(mcring_config_add_server(cfg, "127.0.0.1", (uint16_t)ports[0], 1), MCRING_OK);
  CHECK_STATUS(mcring_config_add_server(cfg, "127.0.0.1", (uint16_t)ports[1], 0), MCRING_OK);
  CHECK_STATUS(mcring_config_set_option(cfg, "prefix", "builder:"), MCRING_OK);
  CHECK_STATUS(mcring_config_set_option(cfg, "io_timeout_ms", "2000"), MCRING_OK);
  mcring_client *built = NULL;
  CHECK_STATUS(mcring_client_new_with_config(cfg, &built), MCRING_OK);
  mcring_config_free(cfg); /* the client keeps its own copy */
  CHECK_STATUS(mcring_set(built, S("b"), U("built"), 0, 0), MCRING_OK);
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(built, S("b"), &v), MCRING_OK);
  CHECK(value_is(v, "built", 5));
  mcring_value_free(v);
  /* The prefix is on the wire (and not hashed): a client of the key's
     server with the prefix in the key sees it. */
  char owner[64];
  CHECK_STATUS(mcring_server_for_key(built, S("b"), owner, sizeof owner), MCRING_OK);
  mcring_client *plain = test_client(owner);
  CHECK_STATUS(mcring_get(plain, S("builder:b"), &v), MCRING_OK);
  CHECK(value_is(v, "built", 5));
  mcring_value_free(v);
  mcring_client_free(plain);
  mcring_client_free(built);

  /* A config built in code places keys as the same config string does,
     weights, IPv6 and unix sockets included (computed, never dialed). */
  const char *text = "10.0.1.1:11211:600 cache-b.example.com:11300:300 [::1]:11211:200 "
                     "/run/mc.sock:100 10.0.1.5";
  mcring_client *from_text = test_client(text);
  CHECK_STATUS(mcring_config_new(&cfg), MCRING_OK);
  CHECK_STATUS(mcring_config_add_server(cfg, "10.0.1.1", 11211, 600), MCRING_OK);
  CHECK_STATUS(mcring_config_add_server(cfg, "cache-b.example.com", 11300, 300), MCRING_OK);
  CHECK_STATUS(mcring_config_add_server(cfg, "::1", 11211, 200), MCRING_OK);
  CHECK_STATUS(mcring_config_add_unix_server(cfg, "/run/mc.sock", 100), MCRING_OK);
  CHECK_STATUS(mcring_config_add_server(cfg, "10.0.1.5", 11211, 1), MCRING_OK);
  mcring_client *from_code = NULL;
  CHECK_STATUS(mcring_client_new_with_config(cfg, &from_code), MCRING_OK);
  mcring_config_free(cfg);
  int same = 1, seen_unix = 0, seen_v6 = 0;
  for (int i = 0; i < 2000; i++) {
    char key[32], a[128], b[128];
    int n = snprintf(key, sizeof key, "placement-%d", i);
    mcring_server_for_key(from_text, key, (size_t)n, a, sizeof a);
    mcring_server_for_key(from_code, key, (size_t)n, b, sizeof b);
    same &= strcmp(a, b) == 0;
    seen_unix |= strcmp(a, "/run/mc.sock") == 0;
    seen_v6 |= strcmp(a, "[::1]:11211") == 0;
  }
  CHECK(same);
  CHECK(seen_unix && seen_v6);
  mcring_client_free(from_text);
  mcring_client_free(from_code);
  mcring_client_free(NULL);
  mcring_config_free(NULL);
}

/* Encodes with `status`, stores, reads back and decodes. */
static mcring_decoded *round_trip(mcring_client *c, const char *key, mcring_status status,
                                  mcring_value *encoded) {
  CHECK(status == MCRING_OK && encoded != NULL);
  if (encoded == NULL) return NULL;
  CHECK_STATUS(mcring_set(c, key, strlen(key), mcring_value_data(encoded),
                          mcring_value_len(encoded), mcring_value_flags(encoded), 0),
               MCRING_OK);
  mcring_value_free(encoded);
  mcring_value *v = NULL;
  mcring_decoded *d = NULL;
  CHECK_STATUS(mcring_get(c, key, strlen(key), &v), MCRING_OK);
  CHECK_STATUS(mcring_value_decode(c, v, &d), MCRING_OK);
  mcring_value_free(v);
  return d;
}

static void codec(mcring_client *c) {
  mcring_value *e = NULL;
  mcring_status s;
  mcring_decoded *d;

  s = mcring_encode_string(c, U("hello"), 0, &e);
  d = round_trip(c, "codec-str", s, e);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_STRING);
  CHECK(mcring_decoded_len(d) == 5 && memcmp(mcring_decoded_data(d), "hello", 5) == 0);
  mcring_decoded_free(d);

  s = mcring_encode_int(c, -42, 0, &e);
  CHECK(s == MCRING_OK && mcring_value_flags(e) == 1 && mcring_value_len(e) == 3 &&
        memcmp(mcring_value_data(e), "-42", 3) == 0); /* php-memcached's LONG */
  d = round_trip(c, "codec-int", s, e);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_INT && mcring_decoded_int(d) == -42);
  CHECK(mcring_decoded_data(d) == NULL && mcring_decoded_len(d) == 0);
  mcring_decoded_free(d);

  /* Integers are decimal text, so incr works on them. */
  s = mcring_encode_int(c, 41, 0, &e);
  d = round_trip(c, "codec-counter", s, e);
  mcring_decoded_free(d);
  uint64_t n = 0;
  CHECK_STATUS(mcring_incr(c, S("codec-counter"), 1, &n), MCRING_OK);
  CHECK(n == 42);

  s = mcring_encode_float(c, 1.5, 0, &e);
  d = round_trip(c, "codec-float", s, e);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_FLOAT && mcring_decoded_float(d) == 1.5);
  mcring_decoded_free(d);

  s = mcring_encode_bool(c, true, 0, &e);
  d = round_trip(c, "codec-bool", s, e);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_BOOL && mcring_decoded_bool(d));
  mcring_decoded_free(d);

  s = mcring_encode_json(c, U("{\"a\":[1,2]}"), 0, &e);
  d = round_trip(c, "codec-json", s, e);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_JSON && mcring_decoded_len(d) == 11);
  mcring_decoded_free(d);

  s = mcring_encode_bytes(c, U("\x00\x01"), 0, &e);
  d = round_trip(c, "codec-bytes", s, e);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_BYTES && mcring_decoded_len(d) == 2);
  mcring_decoded_free(d);

  s = mcring_encode_pickle(c, U("\x80\x04K\x01."), 0, &e);
  d = round_trip(c, "codec-pickle", s, e);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_PICKLE);
  mcring_decoded_free(d);

  s = mcring_encode_php_serialized(c, U("a:0:{}"), 0, &e);
  d = round_trip(c, "codec-php", s, e);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_PHP_SERIALIZED && mcring_decoded_len(d) == 6);
  mcring_decoded_free(d);

  /* Long strings are zlib-compressed (php-memcached's layout) and come
     back whole; the application's flags ride in the high 16 bits. */
  size_t long_len = 20000;
  uint8_t *text = malloc(long_len);
  for (size_t i = 0; i < long_len; i++) text[i] = (uint8_t)("abcdefgh"[i % 8]);
  s = mcring_encode_string(c, text, long_len, 0xabcd, &e);
  CHECK(s == MCRING_OK && mcring_value_len(e) < long_len);
  CHECK((mcring_value_flags(e) & (1u << 4)) != 0); /* COMPRESSED */
  CHECK(mcring_user_flags(mcring_value_flags(e)) == 0xabcd);
  d = round_trip(c, "codec-long", s, e);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_STRING && mcring_decoded_len(d) == long_len &&
        memcmp(mcring_decoded_data(d), text, long_len) == 0);
  mcring_decoded_free(d);

  /* Appending to the compressed value through the codec keeps it whole
     (a raw mcring_append would corrupt it); the user flags stay. */
  CHECK_STATUS(mcring_append_value(c, S("codec-long"), U("|tail")), MCRING_OK);
  CHECK_STATUS(mcring_prepend_value(c, S("codec-long"), U("head|")), MCRING_OK);
  CHECK_STATUS(mcring_append_value(c, S("codec-missing"), U("x")), MCRING_NOT_STORED);
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(c, S("codec-long"), &v), MCRING_OK);
  CHECK(v != NULL && (mcring_value_flags(v) & (1u << 4)) != 0); /* still compressed */
  CHECK(v != NULL && mcring_user_flags(mcring_value_flags(v)) == 0xabcd);
  CHECK_STATUS(mcring_value_decode(c, v, &d), MCRING_OK);
  mcring_value_free(v);
  CHECK(mcring_decoded_len(d) == long_len + 10 &&
        memcmp(mcring_decoded_data(d), "head|", 5) == 0 &&
        memcmp(mcring_decoded_data(d) + 5, text, long_len) == 0 &&
        memcmp(mcring_decoded_data(d) + 5 + long_len, "|tail", 5) == 0);
  mcring_decoded_free(d);
  free(text);

  /* Plain strings: their stored bytes are the value. */
  CHECK(mcring_is_plain_string(c, 0));
  CHECK(mcring_is_plain_string(c, 0x8000)); /* bytes */
  CHECK(mcring_is_plain_string(c, 0xabcd0000)); /* user flags do not matter */
  CHECK(!mcring_is_plain_string(c, 1));       /* an integer */
  CHECK(!mcring_is_plain_string(c, 0x30));    /* compressed */
  CHECK(!mcring_is_plain_string(NULL, 0));

  /* Decoding straight from bytes and flags; bad flags are a bad value. */
  CHECK_STATUS(mcring_decode(c, U("123"), 1, &d), MCRING_OK);
  CHECK(mcring_decoded_int(d) == 123);
  mcring_decoded_free(d);
  CHECK_STATUS(mcring_decode(c, NULL, 0, 0, &d), MCRING_OK);
  CHECK(mcring_decoded_type(d) == MCRING_TYPE_STRING && mcring_decoded_len(d) == 0);
  mcring_decoded_free(d);
  d = (mcring_decoded *)&d;
  CHECK_STATUS(mcring_decode(c, U("x"), 0xE, &d), MCRING_BAD_VALUE);
  CHECK(d == NULL && last_error_has("unknown php-memcached value type"));
  CHECK_STATUS(mcring_decode(c, U("zz"), 1, &d), MCRING_BAD_VALUE);
  CHECK_STATUS(mcring_decode(c, U("\x10\x00\x00\x00garbage"), 0x30, &d), MCRING_BAD_VALUE);

  /* pylibmc's format has no flag for JSON. */
  mcring_client *py = test_client_with("value_format=pylibmc");
  e = (mcring_value *)&e;
  CHECK_STATUS(mcring_encode_json(py, U("{}"), 0, &e), MCRING_BAD_VALUE);
  CHECK(e == NULL);
  CHECK_STATUS(mcring_encode_int(py, 5, 0, &e), MCRING_OK);
  CHECK(mcring_value_flags(e) == 4); /* pylibmc's LONG, as pylibmc stores an int */
  mcring_value_free(e);
  mcring_client_free(py);

  /* The serializer option tells a binding how to store structures. */
  CHECK(mcring_client_serializer(c) == MCRING_SERIALIZER_JSON);
  mcring_client *with_php = test_client_with("serializer=php");
  CHECK(mcring_client_serializer(with_php) == MCRING_SERIALIZER_PHP);
  mcring_client_free(with_php);
  mcring_client *with_pickle = test_client_with("serializer=pickle");
  CHECK(mcring_client_serializer(with_pickle) == MCRING_SERIALIZER_PICKLE);
  mcring_client_free(with_pickle);
  CHECK(mcring_client_serializer(NULL) == MCRING_SERIALIZER_JSON);

  /* NULL handles give zero values. */
  CHECK(mcring_decoded_type(NULL) == MCRING_TYPE_STRING);
  CHECK(mcring_decoded_data(NULL) == NULL && mcring_decoded_len(NULL) == 0);
  CHECK(mcring_decoded_int(NULL) == 0 && mcring_decoded_float(NULL) == 0.0);
  CHECK(!mcring_decoded_bool(NULL));
  mcring_decoded_free(NULL);
}

int main(void) {
  version_and_names();
  mcring_client *c = test_client_with("prefix=cmd:");
  set_get_delete(c);
  conditional_stores(c);
  cas_and_touch(c);
  arithmetic(c);
  placement_and_close(c);
  codec(c);
  mcring_client_free(c);
  config_builder();
  return test_finish("test_commands");
}
