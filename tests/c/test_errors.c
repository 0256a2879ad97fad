/*
 * Every error status, and NULL for every pointer argument of every
 * function: a status and a message, never a crash.
 */
#include "common.h"

static void on_value(void *ud, size_t i, const uint8_t *v, size_t n, uint32_t f, uint64_t cas) {
  (void)i, (void)v, (void)n, (void)f, (void)cas;
  (*(int *)ud)++;
}
static void on_version(void *ud, const char *server, mcring_status s, const char *text) {
  (void)ud, (void)server, (void)s, (void)text;
}
static void on_stat(void *ud, const char *server, const char *name, const char *value) {
  (void)ud, (void)server, (void)name, (void)value;
}
static void on_health(void *ud, const char *server, mcring_status s, uint64_t us, const char *e) {
  (void)server, (void)us, (void)e;
  *(mcring_status *)ud = s;
}

static void null_arguments(mcring_client *c) {
  mcring_client *nc = NULL;
  mcring_value *v = NULL;
  mcring_config *cfg = NULL;
  mcring_stats *st = NULL;
  mcring_decoded *d = NULL;
  uint64_t n = 0;
  char buf[64];
  const char *keys[] = {"a", NULL};
  size_t lens[] = {1, 1};
  const char *good_keys[] = {"a", "b"};
  mcring_set_item items[] = {{"a", 1, NULL, 0, 0}, {NULL, 1, NULL, 0, 0}};
  mcring_set_item bad_value[] = {{"a", 1, NULL, 3, 0}};
  int calls = 0;

  CHECK_STATUS(mcring_client_new(NULL, &nc), MCRING_INVALID_ARGUMENT);
  CHECK(nc == NULL && last_error_has("config is NULL"));
  CHECK_STATUS(mcring_client_new("127.0.0.1:1", NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_client_close(NULL), MCRING_INVALID_ARGUMENT);
  CHECK(last_error_has("client is NULL"));

  CHECK_STATUS(mcring_server_for_key(NULL, S("k"), buf, sizeof buf), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_server_for_key(c, NULL, 1, buf, sizeof buf), MCRING_INVALID_ARGUMENT);
  CHECK(last_error_has("key is NULL"));
  CHECK_STATUS(mcring_server_for_key(c, S("k"), NULL, 64), MCRING_INVALID_ARGUMENT);

  CHECK_STATUS(mcring_config_new(NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_config_new(&cfg), MCRING_OK);
  CHECK_STATUS(mcring_config_add_server(NULL, "h", 1, 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_config_add_server(cfg, NULL, 1, 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_config_add_unix_server(NULL, "/s", 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_config_add_unix_server(cfg, NULL, 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_config_set_option(NULL, "prefix", "p"), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_config_set_option(cfg, NULL, "p"), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_config_set_option(cfg, "prefix", NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_client_new_with_config(NULL, &nc), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_client_new_with_config(cfg, NULL), MCRING_INVALID_ARGUMENT);
  mcring_config_free(cfg);

  CHECK_STATUS(mcring_get(NULL, S("k"), &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_get(c, NULL, 0, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_get(c, S("k"), NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_gets(NULL, S("k"), &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_gets(c, NULL, 1, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_gets(c, S("k"), NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_get_and_touch(NULL, S("k"), 1, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_get_and_touch(c, NULL, 1, 1, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_get_and_touch(c, S("k"), 1, NULL), MCRING_INVALID_ARGUMENT);

  CHECK_STATUS(mcring_set(NULL, S("k"), U("v"), 0, 0), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_set(c, NULL, 1, U("v"), 0, 0), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_set(c, S("k"), NULL, 1, 0, 0), MCRING_INVALID_ARGUMENT);
  CHECK(last_error_has("value is NULL"));
  CHECK_STATUS(mcring_add(NULL, S("k"), U("v"), 0, 0), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_add(c, NULL, 1, U("v"), 0, 0), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_add(c, S("k"), NULL, 1, 0, 0), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_replace(NULL, S("k"), U("v"), 0, 0), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_replace(c, NULL, 1, U("v"), 0, 0), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_replace(c, S("k"), NULL, 1, 0, 0), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_append(NULL, S("k"), U("v")), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_append(c, NULL, 1, U("v")), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_append(c, S("k"), NULL, 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_prepend(NULL, S("k"), U("v")), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_prepend(c, NULL, 1, U("v")), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_prepend(c, S("k"), NULL, 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_cas(NULL, S("k"), U("v"), 0, 0, 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_cas(c, NULL, 1, U("v"), 0, 0, 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_cas(c, S("k"), NULL, 1, 0, 0, 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_delete(NULL, S("k")), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_delete(c, NULL, 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_touch(NULL, S("k"), 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_touch(c, NULL, 1, 1), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_incr(NULL, S("k"), 1, &n), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_incr(c, NULL, 1, 1, &n), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_incr(c, S("k"), 1, NULL), MCRING_INVALID_ARGUMENT);
  CHECK(last_error_has("new_value is NULL"));
  CHECK_STATUS(mcring_decr(NULL, S("k"), 1, &n), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_decr(c, NULL, 1, 1, &n), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_decr(c, S("k"), 1, NULL), MCRING_INVALID_ARGUMENT);

  mcring_status st2[2];
  CHECK_STATUS(mcring_get_multi(NULL, good_keys, lens, 2, on_value, &calls, st2),
               MCRING_INVALID_ARGUMENT);
  CHECK(st2[0] == MCRING_INVALID_ARGUMENT && st2[1] == MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_get_multi(c, NULL, lens, 2, on_value, &calls, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_get_multi(c, good_keys, NULL, 2, on_value, &calls, NULL),
               MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_get_multi(c, keys, lens, 2, on_value, &calls, NULL), MCRING_INVALID_ARGUMENT);
  CHECK(last_error_has("keys[1] is NULL"));
  CHECK_STATUS(mcring_get_multi(c, good_keys, lens, 2, NULL, &calls, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_gets_multi(NULL, good_keys, lens, 2, on_value, &calls, NULL),
               MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_gets_multi(c, keys, lens, 2, on_value, &calls, NULL),
               MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_gets_multi(c, good_keys, lens, 2, NULL, &calls, NULL),
               MCRING_INVALID_ARGUMENT);
  CHECK(calls == 0);
  CHECK_STATUS(mcring_set_multi(NULL, items, 1, 0, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_set_multi(c, NULL, 1, 0, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_set_multi(c, items, 2, 0, st2), MCRING_INVALID_ARGUMENT);
  CHECK(st2[0] == MCRING_INVALID_ARGUMENT && st2[1] == MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_set_multi(c, bad_value, 1, 0, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_delete_multi(NULL, good_keys, lens, 2, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_delete_multi(c, NULL, lens, 2, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_delete_multi(c, good_keys, NULL, 2, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_delete_multi(c, keys, lens, 2, NULL), MCRING_INVALID_ARGUMENT);
  /* No keys at all is fine, with or without arrays. */
  CHECK_STATUS(mcring_get_multi(c, NULL, NULL, 0, on_value, &calls, NULL), MCRING_OK);
  CHECK_STATUS(mcring_set_multi(c, NULL, 0, 0, NULL), MCRING_OK);
  CHECK_STATUS(mcring_delete_multi(c, NULL, NULL, 0, NULL), MCRING_OK);

  CHECK_STATUS(mcring_flush_all(NULL, 0), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_server_versions(NULL, on_version, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_server_versions(c, NULL, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_server_stats(NULL, NULL, on_stat, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_server_stats(c, NULL, NULL, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_health(NULL, on_health, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_health(c, NULL, NULL), MCRING_INVALID_ARGUMENT);

  CHECK_STATUS(mcring_stats_get(NULL, &st), MCRING_INVALID_ARGUMENT);
  CHECK(st == NULL);
  CHECK_STATUS(mcring_stats_get(c, NULL), MCRING_INVALID_ARGUMENT);
  CHECK(mcring_stats_server_count(NULL) == 0);
  CHECK(mcring_stats_server_name(NULL, 0) == NULL);
  CHECK(mcring_stats_server(NULL, 0) == NULL);
  CHECK(mcring_stats_total(NULL) == NULL);
  CHECK(mcring_counters_value(NULL, 0) == 0);
  mcring_stats_free(NULL);

  CHECK_STATUS(mcring_encode_string(NULL, U("x"), 0, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_encode_string(c, NULL, 1, 0, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_encode_string(c, U("x"), 0, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_encode_bytes(c, NULL, 1, 0, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_encode_json(c, NULL, 1, 0, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_encode_pickle(c, NULL, 1, 0, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_encode_php_serialized(c, NULL, 1, 0, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_encode_int(NULL, 1, 0, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_encode_int(c, 1, 0, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_encode_float(NULL, 1.0, 0, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_encode_bool(NULL, true, 0, &v), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_decode(NULL, U("x"), 0, &d), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_decode(c, NULL, 1, 0, &d), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_decode(c, U("x"), 0, NULL), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_value_decode(c, NULL, &d), MCRING_INVALID_ARGUMENT);
  CHECK_STATUS(mcring_value_decode(NULL, NULL, &d), MCRING_INVALID_ARGUMENT);
  CHECK(v == NULL && d == NULL);
}

static void bad_keys(mcring_client *c) {
  mcring_value *v = NULL;
  char long_key[300];
  memset(long_key, 'k', sizeof long_key);
  CHECK_STATUS(mcring_set(c, "", 0, U("v"), 0, 0), MCRING_BAD_KEY);
  CHECK(last_error_has("empty key"));
  CHECK_STATUS(mcring_set(c, S("a b"), U("v"), 0, 0), MCRING_BAD_KEY);
  CHECK(last_error_has("space"));
  CHECK_STATUS(mcring_get(c, S("a\r\nflush_all"), &v), MCRING_BAD_KEY);
  CHECK_STATUS(mcring_get(c, S("tab\there"), &v), MCRING_BAD_KEY);
  CHECK_STATUS(mcring_delete(c, S("nul\0inside")), MCRING_BAD_KEY);
  CHECK_STATUS(mcring_touch(c, S("del\x7f"), 1), MCRING_BAD_KEY);
  CHECK_STATUS(mcring_incr(c, S("ctl\x01"), 1, &(uint64_t){0}), MCRING_BAD_KEY);
  /* 250 bytes is the limit, prefix ("err:") included. */
  CHECK_STATUS(mcring_set(c, long_key, 246, U("v"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_set(c, long_key, 247, U("v"), 0, 0), MCRING_BAD_KEY);
  CHECK(last_error_has("over the 250-byte limit"));
  char name[64];
  CHECK_STATUS(mcring_server_for_key(c, S("a b"), name, sizeof name), MCRING_BAD_KEY);

  /* One bad key fails a whole multi-key call before anything is sent. */
  const char *keys[] = {"good", "bad key", "also-good"};
  size_t lens[] = {4, 7, 9};
  mcring_status statuses[3];
  int calls = 0;
  CHECK_STATUS(mcring_set(c, S("good"), U("v"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_get_multi(c, keys, lens, 3, on_value, &calls, statuses), MCRING_BAD_KEY);
  CHECK(calls == 0);
  CHECK(statuses[0] == MCRING_BAD_KEY && statuses[2] == MCRING_BAD_KEY);
  CHECK_STATUS(mcring_delete_multi(c, keys, lens, 3, statuses), MCRING_BAD_KEY);
  CHECK_STATUS(mcring_get(c, S("good"), &v), MCRING_OK); /* not deleted */
  mcring_value_free(v);
  mcring_set_item items[] = {{"x", 1, NULL, 0, 0}, {"", 0, NULL, 0, 0}};
  CHECK_STATUS(mcring_set_multi(c, items, 2, 0, statuses), MCRING_BAD_KEY);
}

static void bad_values(void) {
  mcring_client *small = test_client_with("prefix=err: max_value_bytes=100");
  uint8_t data[101] = {0};
  CHECK_STATUS(mcring_set(small, S("v"), data, 100, 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_set(small, S("v"), data, 101, 0, 0), MCRING_BAD_VALUE);
  CHECK(last_error_has("over max_value_bytes 100"));
  CHECK_STATUS(mcring_append(small, S("v"), data, 101), MCRING_BAD_VALUE);
  mcring_set_item items[] = {{"a", 1, data, 10, 0}, {"b", 1, data, 101, 0}};
  CHECK_STATUS(mcring_set_multi(small, items, 2, 0, NULL), MCRING_BAD_VALUE);
  mcring_client_free(small);
}

static void bad_configs(void) {
  mcring_client *c = (mcring_client *)&c;
  CHECK_STATUS(mcring_client_new("127.0.0.1:0", &c), MCRING_BAD_CONFIG);
  CHECK(c == NULL && last_error_has("127.0.0.1:0") && last_error_has("port"));
  CHECK_STATUS(mcring_client_new("127.0.0.1:11211 bogus=1", &c), MCRING_BAD_CONFIG);
  CHECK(last_error_has("unknown option"));
  CHECK_STATUS(mcring_client_new("a:1 replicas=x", &c), MCRING_BAD_CONFIG);
  CHECK_STATUS(mcring_client_new("[::1", &c), MCRING_BAD_CONFIG);
  CHECK_STATUS(mcring_client_new("a:1 failover=gutter", &c), MCRING_BAD_CONFIG);
  CHECK_STATUS(mcring_client_new("\xff\xfe", &c), MCRING_BAD_CONFIG);
  CHECK(last_error_has("UTF-8"));

  mcring_config *cfg = NULL;
  CHECK_STATUS(mcring_config_new(&cfg), MCRING_OK);
  CHECK_STATUS(mcring_config_add_server(cfg, "127.0.0.1", 0, 1), MCRING_BAD_CONFIG);
  CHECK_STATUS(mcring_config_add_server(cfg, "", 11211, 1), MCRING_BAD_CONFIG);
  CHECK_STATUS(mcring_config_add_server(cfg, "a b", 11211, 1), MCRING_BAD_CONFIG);
  CHECK(last_error_has("whitespace"));
  CHECK_STATUS(mcring_config_add_server(cfg, "not:ipv6:x", 11211, 1), MCRING_BAD_CONFIG);
  CHECK_STATUS(mcring_config_add_unix_server(cfg, "relative.sock", 1), MCRING_BAD_CONFIG);
  CHECK(last_error_has("not absolute"));
  CHECK_STATUS(mcring_config_set_option(cfg, "no_such_option", "1"), MCRING_BAD_CONFIG);
  CHECK_STATUS(mcring_config_set_option(cfg, "distribution", "random"), MCRING_BAD_CONFIG);
  CHECK_STATUS(mcring_config_set_option(cfg, "io_timeout_ms", "0"), MCRING_BAD_CONFIG);
  CHECK_STATUS(mcring_config_set_option(cfg, "prefix", "a b"), MCRING_BAD_CONFIG);
  /* A combination that single options cannot refuse. */
  CHECK_STATUS(mcring_config_add_server(cfg, "127.0.0.1", 11211, 1), MCRING_OK);
  CHECK_STATUS(mcring_config_set_option(cfg, "failover", "gutter"), MCRING_OK);
  CHECK_STATUS(mcring_client_new_with_config(cfg, &c), MCRING_BAD_CONFIG);
  CHECK(c == NULL && last_error_has("gutter"));
  mcring_config_free(cfg);
}

static void no_servers(void) {
  mcring_client *c = test_client("");
  mcring_value *v = NULL;
  char buf[64];
  CHECK_STATUS(mcring_get(c, S("k"), &v), MCRING_NO_SERVERS);
  CHECK(last_error_has("no server"));
  CHECK_STATUS(mcring_set(c, S("k"), U("v"), 0, 0), MCRING_NO_SERVERS);
  CHECK_STATUS(mcring_server_for_key(c, S("k"), buf, sizeof buf), MCRING_NO_SERVERS);
  mcring_client_free(c);
}

static void buffer_too_small(mcring_client *c) {
  char name[64], small[64];
  CHECK_STATUS(mcring_server_for_key(c, S("k"), name, sizeof name), MCRING_OK);
  size_t len = strlen(name);
  memset(small, 'x', sizeof small);
  CHECK_STATUS(mcring_server_for_key(c, S("k"), small, len), MCRING_BUFFER_TOO_SMALL);
  CHECK(small[0] == '\0' && small[1] == 'x'); /* an empty string, nothing more */
  CHECK(last_error_has("buffer of"));
  CHECK_STATUS(mcring_server_for_key(c, S("k"), small, 0), MCRING_BUFFER_TOO_SMALL);
}

static void outcomes_leave_the_message(mcring_client *c) {
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(c, NULL, 1, &v), MCRING_INVALID_ARGUMENT);
  const char *before = mcring_last_error();
  char saved[128];
  snprintf(saved, sizeof saved, "%s", before);
  CHECK_STATUS(mcring_get(c, S("surely-missing"), &v), MCRING_NOT_FOUND);
  CHECK_STATUS(mcring_set(c, S("exists"), U("v"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_add(c, S("exists"), U("v"), 0, 0), MCRING_NOT_STORED);
  CHECK_STATUS(mcring_cas(c, S("exists"), U("v"), 0, 0, 1), MCRING_EXISTS);
  CHECK(strcmp(mcring_last_error(), saved) == 0);
}

static void timeouts(void) {
  /* A stopped memcached accepts connections (the kernel does) and never
     answers. */
  char config[256];
  snprintf(config, sizeof config,
           "%s io_timeout_ms=300 connect_timeout_ms=300 failure_limit=1000000",
           test_env("MCRING_TEST_STOPPED"));
  mcring_client *c = test_client(config);
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_set(c, S("k"), U("v"), 0, 0), MCRING_TIMEOUT);
  CHECK(last_error_has("timed out") && last_error_has(test_env("MCRING_TEST_STOPPED")));
  CHECK_STATUS(mcring_get(c, S("k"), &v), MCRING_TIMEOUT);
  CHECK(v == NULL);
  mcring_status probed = MCRING_OK;
  CHECK_STATUS(mcring_health(c, on_health, &probed), MCRING_TIMEOUT);
  CHECK(probed == MCRING_TIMEOUT);
  mcring_client_free(c);
}

static void connection_errors(void) {
  const char *closed = test_env("MCRING_TEST_CLOSED");
  char config[256];
  snprintf(config, sizeof config, "%s failure_limit=2 retry_timeout_ms=60000", closed);
  mcring_client *c = test_client(config);
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(c, S("k"), &v), MCRING_CONNECTION_ERROR);
  CHECK(last_error_has(closed));
  CHECK_STATUS(mcring_set(c, S("k"), U("v"), 0, 0), MCRING_CONNECTION_ERROR);
  CHECK_STATUS(mcring_delete(c, S("k")), MCRING_CONNECTION_ERROR);
  CHECK(last_error_has(closed));
  CHECK_STATUS(mcring_flush_all(c, 0), MCRING_CONNECTION_ERROR);
  mcring_client_free(c);
}

static void server_errors(mcring_client *c) {
  uint64_t n = 0;
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_set(c, S("text"), U("abc"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_incr(c, S("text"), 1, &n), MCRING_SERVER_ERROR);
  CHECK(last_error_has("non-numeric"));
  /* The connection stays usable after an error reply. */
  CHECK_STATUS(mcring_get(c, S("text"), &v), MCRING_OK);
  mcring_value_free(v);

  /* A value within this client's limit but over memcached's item size. */
  mcring_client *big = test_client_with("prefix=err: max_value_bytes=4000000");
  size_t len = 2 * 1024 * 1024;
  uint8_t *data = calloc(len, 1);
  CHECK_STATUS(mcring_set(big, S("huge"), data, len, 0, 0), MCRING_SERVER_ERROR);
  CHECK(last_error_has("too large"));
  CHECK_STATUS(mcring_set(big, S("after-huge"), U("ok"), 0, 0), MCRING_OK);
  free(data);
  mcring_client_free(big);
}

static void protocol_errors(mcring_client *c) {
  /* A reply over this client's max_value_bytes is refused: the client
     skips it unread, and the connection serves the next request. */
  uint8_t data[5000] = {0};
  CHECK_STATUS(mcring_set(c, S("five-k"), data, sizeof data, 0, 0), MCRING_OK);
  mcring_client *small = test_client_with("prefix=err: max_value_bytes=1000");
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(small, S("five-k"), &v), MCRING_PROTOCOL_ERROR);
  CHECK(v == NULL && last_error_has("over max_value_bytes 1000"));
  CHECK_STATUS(mcring_set(small, S("small"), U("ok"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_get(small, S("small"), &v), MCRING_OK);
  mcring_value_free(v);
  mcring_client_free(small);
}

int main(void) {
  mcring_client *c = test_client_with("prefix=err:");
  null_arguments(c);
  bad_keys(c);
  bad_values();
  bad_configs();
  no_servers();
  buffer_too_small(c);
  outcomes_leave_the_message(c);
  timeouts();
  connection_errors();
  server_errors(c);
  protocol_errors(c);
  /* The panic boundary's MCRING_INTERNAL_ERROR cannot be caused from C on
     purpose; the Rust unit tests of ffi/src/boundary.rs cover it. */
  CHECK(strcmp(mcring_status_name(MCRING_INTERNAL_ERROR), "MCRING_INTERNAL_ERROR") == 0);
  mcring_client_free(c);
  return test_finish("test_errors");
}
