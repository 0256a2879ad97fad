/*
 * TLS and memcached's ASCII authentication through the C ABI, against the
 * memcached servers run.sh starts with -Z (TLS) and -Y (an authfile):
 * every command over TLS with a login, and the refusals with their
 * statuses and messages (MCRING_AUTH_FAILED, MCRING_CONNECTION_ERROR
 * naming the reason), none of which holds the password.
 */
#include "common.h"

static int value_is(const mcring_value *v, const char *data) {
  size_t len = strlen(data);
  return v != NULL && mcring_value_len(v) == len && memcmp(mcring_value_data(v), data, len) == 0;
}

static void count_value(void *userdata, size_t index, const uint8_t *value, size_t value_len,
                        uint32_t flags, uint64_t cas) {
  (void)index, (void)value, (void)flags, (void)cas;
  if (value_len == 3) (*(int *)userdata)++;
}

static mcring_client *client_for(const char *server, const char *options) {
  char config[2048];
  snprintf(config, sizeof config, "%s %s", server, options);
  return test_client(config);
}

static void every_command(mcring_client *c) {
  mcring_value *v = NULL;
  uint64_t n = 0;
  CHECK_STATUS(mcring_flush_all(c, 0), MCRING_OK);
  CHECK_STATUS(mcring_set(c, S("k"), U("v1"), 3, 0), MCRING_OK);
  CHECK_STATUS(mcring_get(c, S("k"), &v), MCRING_OK);
  CHECK(value_is(v, "v1") && mcring_value_flags(v) == 3);
  mcring_value_free(v);
  CHECK_STATUS(mcring_add(c, S("k"), U("x"), 0, 0), MCRING_NOT_STORED);
  CHECK_STATUS(mcring_replace(c, S("k"), U("v2"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_append(c, S("k"), U("-a")), MCRING_OK);
  CHECK_STATUS(mcring_prepend(c, S("k"), U("p-")), MCRING_OK);
  CHECK_STATUS(mcring_gets(c, S("k"), &v), MCRING_OK);
  CHECK(value_is(v, "p-v2-a"));
  uint64_t cas = mcring_value_cas(v);
  mcring_value_free(v);
  CHECK_STATUS(mcring_cas(c, S("k"), U("v3"), 0, 0, cas), MCRING_OK);
  CHECK_STATUS(mcring_cas(c, S("k"), U("v4"), 0, 0, cas), MCRING_EXISTS);
  CHECK_STATUS(mcring_touch(c, S("k"), 100), MCRING_OK);
  CHECK_STATUS(mcring_set(c, S("n"), U("10"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_incr(c, S("n"), 5, &n), MCRING_OK);
  CHECK(n == 15);
  CHECK_STATUS(mcring_decr(c, S("n"), 3, &n), MCRING_OK);
  CHECK(n == 12);
  const char *keys[40];
  size_t lens[40];
  char names[40][8];
  mcring_status statuses[40];
  for (int i = 0; i < 40; i++) {
    snprintf(names[i], sizeof names[i], "m%d", i);
    keys[i] = names[i];
    lens[i] = strlen(names[i]);
    CHECK_STATUS(mcring_set(c, keys[i], lens[i], U("abc"), 0, 0), MCRING_OK);
  }
  int found = 0;
  CHECK_STATUS(mcring_get_multi(c, keys, lens, 40, count_value, &found, statuses), MCRING_OK);
  CHECK(found == 40);
  CHECK_STATUS(mcring_delete(c, S("k")), MCRING_OK);
  CHECK_STATUS(mcring_delete(c, S("k")), MCRING_NOT_FOUND);
}

int main(void) {
  const char *tls = test_env("MCRING_TEST_TLS_AUTH");   /* -Z -Y */
  const char *other = test_env("MCRING_TEST_TLS_OTHER"); /* -Z, a certificate from another CA */
  const char *expired = test_env("MCRING_TEST_TLS_EXPIRED");         /* -Z, valid only in 2020 */
  const char *client_cert = test_env("MCRING_TEST_TLS_CLIENT_CERT"); /* ssl_verify_mode=2 */
  const char *plain = test_env("MCRING_TEST_SERVERS");
  const char *pki = test_env("MCRING_TEST_PKI");
  const char *secret = test_env("MCRING_TEST_SECRET");
  char options[1024], wrong[1024];
  snprintf(options, sizeof options,
           "tls=true tls_ca=%s/ca.pem username=app password=%s connect_timeout_ms=1000 "
           "io_timeout_ms=1000", pki, secret);

  mcring_client *c = client_for(tls, options);
  every_command(c);
  mcring_stats *stats = NULL;
  CHECK_STATUS(mcring_stats_get(c, &stats), MCRING_OK);
  mcring_stats_free(stats);
  mcring_client_free(c);

  /* The same options built in code. */
  mcring_config *config = NULL;
  CHECK_STATUS(mcring_config_new(&config), MCRING_OK);
  char ca[512];
  snprintf(ca, sizeof ca, "%s/ca.pem", pki);
  char host[256];
  snprintf(host, sizeof host, "%s", tls);
  char *colon = strrchr(host, ':');
  *colon = '\0';
  CHECK_STATUS(mcring_config_add_server(config, host, (uint16_t)atoi(colon + 1), 1), MCRING_OK);
  CHECK_STATUS(mcring_config_set_option(config, "tls", "true"), MCRING_OK);
  CHECK_STATUS(mcring_config_set_option(config, "tls_ca", ca), MCRING_OK);
  CHECK_STATUS(mcring_config_set_option(config, "username", "app"), MCRING_OK);
  CHECK_STATUS(mcring_config_set_option(config, "password", "has space"), MCRING_BAD_CONFIG);
  CHECK(!last_error_has("has space"));
  CHECK_STATUS(mcring_config_set_option(config, "password", secret), MCRING_OK);
  CHECK_STATUS(mcring_client_new_with_config(config, &c), MCRING_OK);
  CHECK_STATUS(mcring_set(c, S("built"), U("yes"), 0, 0), MCRING_OK);
  mcring_client_free(c);
  mcring_config_free(config);

  /* A wrong password: MCRING_AUTH_FAILED, once per retry period. */
  snprintf(wrong, sizeof wrong, "tls=true tls_ca=%s/ca.pem username=app password=not-%s", pki,
           secret);
  c = client_for(tls, wrong);
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_get(c, S("k"), &v), MCRING_AUTH_FAILED);
  CHECK(last_error_has("refused the login"));
  CHECK(!last_error_has(secret));
  CHECK_STATUS(mcring_set(c, S("k"), U("v"), 0, 0), MCRING_AUTH_FAILED);
  CHECK(strcmp(mcring_status_name(MCRING_AUTH_FAILED), "MCRING_AUTH_FAILED") == 0);
  mcring_client_free(c);

  /* Refusals name their reason. */
  c = client_for(other, options);
  CHECK_STATUS(mcring_set(c, S("k"), U("v"), 0, 0), MCRING_CONNECTION_ERROR);
  CHECK(last_error_has("not signed by a trusted CA"));
  mcring_client_free(c);
  c = client_for(expired, options);
  CHECK_STATUS(mcring_set(c, S("k"), U("v"), 0, 0), MCRING_CONNECTION_ERROR);
  CHECK(last_error_has("certificate has expired"));
  mcring_client_free(c);
  /* The certificate names localhost and 127.0.0.1, not the name asked for. */
  char named[1200];
  snprintf(named, sizeof named, "%s tls_server_name=wrong.invalid", options);
  c = client_for(tls, named);
  CHECK_STATUS(mcring_set(c, S("k"), U("v"), 0, 0), MCRING_CONNECTION_ERROR);
  CHECK(last_error_has("not valid for the server's name"));
  CHECK(last_error_has("tls_server_name="));
  mcring_client_free(c);
  /* A server with ssl_verify_mode=2: refused without a client certificate,
     served with one. */
  snprintf(named, sizeof named, "tls=true tls_ca=%s/ca.pem connect_timeout_ms=1000", pki);
  c = client_for(client_cert, named);
  CHECK_STATUS(mcring_set(c, S("k"), U("v"), 0, 0), MCRING_CONNECTION_ERROR);
  CHECK(last_error_has("requires a client certificate"));
  mcring_client_free(c);
  snprintf(named, sizeof named,
           "tls=true tls_ca=%s/ca.pem tls_cert=%s/client.pem tls_key=%s/client.key "
           "connect_timeout_ms=1000",
           pki, pki, pki);
  c = client_for(client_cert, named);
  CHECK_STATUS(mcring_set(c, S("k"), U("v"), 0, 0), MCRING_OK);
  mcring_client_free(c);
  c = client_for(tls, "connect_timeout_ms=500 io_timeout_ms=500");
  CHECK_STATUS(mcring_set(c, S("k"), U("v"), 0, 0), MCRING_CONNECTION_ERROR);
  CHECK(last_error_has("set tls=true"));
  mcring_client_free(c);
  snprintf(wrong, sizeof wrong, "tls=true tls_ca=%s/ca.pem connect_timeout_ms=500", pki);
  c = client_for(plain, wrong);
  mcring_status s = mcring_set(c, S("k"), U("v"), 0, 0);
  CHECK(s == MCRING_CONNECTION_ERROR || s == MCRING_TIMEOUT);
  CHECK(last_error_has("TLS"));
  mcring_client_free(c);
  c = NULL;
  snprintf(wrong, sizeof wrong, "%s tls=true tls_ca=/nonexistent/ca.pem", tls);
  CHECK_STATUS(mcring_client_new(wrong, &c), MCRING_BAD_CONFIG);
  CHECK(c == NULL && last_error_has("/nonexistent/ca.pem"));
  return test_finish("test_tls");
}
