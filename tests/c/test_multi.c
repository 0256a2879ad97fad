/*
 * Multi-key commands, commands to every server, and the client's counters.
 */
#include "common.h"

#define NKEYS 300

static char key_text[NKEYS][32];
static const char *keys[NKEYS];
static size_t key_lens[NKEYS];

/* What the multi-get callback saw, per key index. */
struct seen {
  int hits[NKEYS];
  int wrong;
  uint64_t cas[NKEYS];
};

static void expected_value(size_t i, char *out, size_t size) {
  snprintf(out, size, "value-%zu-%s", i, (i % 3 == 0) ? "" : "with-more-bytes");
}

static void on_value(void *ud, size_t i, const uint8_t *v, size_t n, uint32_t flags, uint64_t cas) {
  struct seen *seen = ud;
  char want[64];
  if (i >= NKEYS) {
    seen->wrong++;
    return;
  }
  expected_value(i, want, sizeof want);
  if (n != strlen(want) || memcmp(v, want, n) != 0 || flags != (uint32_t)i) seen->wrong++;
  seen->hits[i]++;
  seen->cas[i] = cas;
}

static void multi_commands(mcring_client *c) {
  static char values[NKEYS][64];
  mcring_set_item items[NKEYS];
  mcring_status statuses[NKEYS];
  for (size_t i = 0; i < NKEYS; i++) {
    key_lens[i] = (size_t)snprintf(key_text[i], sizeof key_text[i], "multi-%zu", i);
    keys[i] = key_text[i];
    expected_value(i, values[i], sizeof values[i]);
    items[i] = (mcring_set_item){keys[i], key_lens[i], (const uint8_t *)values[i],
                                 strlen(values[i]), (uint32_t)i};
  }
  /* Store the even keys only. */
  mcring_set_item even[NKEYS / 2];
  for (size_t i = 0; i < NKEYS / 2; i++) even[i] = items[2 * i];
  CHECK_STATUS(mcring_set_multi(c, even, NKEYS / 2, 0, statuses), MCRING_OK);
  int all_ok = 1;
  for (size_t i = 0; i < NKEYS / 2; i++) all_ok &= statuses[i] == MCRING_OK;
  CHECK(all_ok);

  struct seen seen;
  memset(&seen, 0, sizeof seen);
  CHECK_STATUS(mcring_get_multi(c, keys, key_lens, NKEYS, on_value, &seen, statuses), MCRING_OK);
  int right = 1;
  for (size_t i = 0; i < NKEYS; i++) {
    int stored = i % 2 == 0;
    right &= seen.hits[i] == stored;
    right &= statuses[i] == (stored ? MCRING_OK : MCRING_NOT_FOUND);
    right &= seen.cas[i] == 0;
  }
  CHECK(right && seen.wrong == 0);

  /* With CAS tokens; statuses are optional. */
  memset(&seen, 0, sizeof seen);
  CHECK_STATUS(mcring_gets_multi(c, keys, key_lens, NKEYS, on_value, &seen, NULL), MCRING_OK);
  int tokens = 1;
  for (size_t i = 0; i < NKEYS; i += 2) tokens &= seen.hits[i] == 1 && seen.cas[i] != 0;
  CHECK(tokens && seen.wrong == 0);
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_gets(c, keys[0], key_lens[0], &v), MCRING_OK);
  CHECK(mcring_value_cas(v) == seen.cas[0]);
  mcring_value_free(v);

  /* Duplicate keys each get their answer. */
  const char *dup[] = {keys[0], keys[0], keys[1]};
  size_t dup_lens[] = {key_lens[0], key_lens[0], key_lens[1]};
  mcring_status dup_st[3];
  memset(&seen, 0, sizeof seen);
  CHECK_STATUS(mcring_get_multi(c, dup, dup_lens, 3, on_value, &seen, dup_st), MCRING_OK);
  CHECK(dup_st[0] == MCRING_OK && dup_st[1] == MCRING_OK && dup_st[2] == MCRING_NOT_FOUND);

  /* Delete all: the even ones existed. */
  CHECK_STATUS(mcring_delete_multi(c, keys, key_lens, NKEYS, statuses), MCRING_OK);
  right = 1;
  for (size_t i = 0; i < NKEYS; i++)
    right &= statuses[i] == (i % 2 == 0 ? MCRING_OK : MCRING_NOT_FOUND);
  CHECK(right);
  memset(&seen, 0, sizeof seen);
  CHECK_STATUS(mcring_get_multi(c, keys, key_lens, NKEYS, on_value, &seen, NULL), MCRING_OK);
  int none = 1;
  for (size_t i = 0; i < NKEYS; i++) none &= seen.hits[i] == 0;
  CHECK(none);

  /* Quiet deletes: every key sent, the missing ones too; gone after. */
  CHECK_STATUS(mcring_set_multi(c, items, NKEYS, 0, NULL), MCRING_OK);
  CHECK_STATUS(mcring_delete_multi_noreply_by_key(c, NULL, 0, keys, key_lens, NKEYS, statuses),
               MCRING_OK);
  right = 1;
  for (size_t i = 0; i < NKEYS; i++) right &= statuses[i] == MCRING_OK;
  CHECK(right);
  memset(&seen, 0, sizeof seen);
  CHECK_STATUS(mcring_get_multi(c, keys, key_lens, NKEYS, on_value, &seen, NULL), MCRING_OK);
  none = 1;
  for (size_t i = 0; i < NKEYS; i++) none &= seen.hits[i] == 0;
  CHECK(none);

  /* Store them all again, with a TTL. */
  CHECK_STATUS(mcring_set_multi(c, items, NKEYS, 3600, NULL), MCRING_OK);
  memset(&seen, 0, sizeof seen);
  CHECK_STATUS(mcring_get_multi(c, keys, key_lens, NKEYS, on_value, &seen, NULL), MCRING_OK);
  int all = 1;
  for (size_t i = 0; i < NKEYS; i++) all &= seen.hits[i] == 1;
  CHECK(all && seen.wrong == 0);
}

static void count_hit(void *ud, size_t i, const uint8_t *v, size_t n, uint32_t f, uint64_t cas) {
  (void)i, (void)v, (void)n, (void)f, (void)cas;
  (*(int *)ud)++;
}

/* A callback may use the client it is called for. */
struct nested {
  mcring_client *c;
  int stored;
};
static void store_copy(void *ud, size_t i, const uint8_t *v, size_t n, uint32_t f, uint64_t cas) {
  struct nested *nested = ud;
  char key[32];
  int kn = snprintf(key, sizeof key, "copy-%zu", i);
  (void)cas;
  if (mcring_set(nested->c, key, (size_t)kn, v, n, f, 0) == MCRING_OK) nested->stored++;
}

static void nested_calls(mcring_client *c) {
  struct nested nested = {c, 0};
  CHECK_STATUS(mcring_get_multi(c, keys, key_lens, 10, store_copy, &nested, NULL), MCRING_OK);
  CHECK(nested.stored == 10);
  mcring_value *v = NULL;
  char want[64];
  expected_value(7, want, sizeof want);
  CHECK_STATUS(mcring_get(c, S("copy-7"), &v), MCRING_OK);
  CHECK(v != NULL && mcring_value_len(v) == strlen(want) && mcring_value_flags(v) == 7 &&
        memcmp(mcring_value_data(v), want, strlen(want)) == 0);
  mcring_value_free(v);
}

/* A pool with one live server and one closed port: the live server's keys
   still get their answers, the others the connection error. */
static void partial_failure(void) {
  char config[512];
  const char *servers = test_env("MCRING_TEST_SERVERS");
  char first[64];
  snprintf(first, sizeof first, "%.*s", (int)strcspn(servers, " "), servers);
  snprintf(config, sizeof config, "%s %s prefix=multi-partial: failover=none", first,
           test_env("MCRING_TEST_CLOSED"));
  mcring_client *c = test_client(config);
  mcring_set_item items[NKEYS];
  mcring_status statuses[NKEYS];
  int live[NKEYS], n_live = 0;
  for (size_t i = 0; i < NKEYS; i++) {
    char name[64];
    mcring_server_for_key(c, keys[i], key_lens[i], name, sizeof name);
    live[i] = strcmp(name, first) == 0;
    n_live += live[i];
    items[i] = (mcring_set_item){keys[i], key_lens[i], (const uint8_t *)"v", 1, (uint32_t)i};
  }
  CHECK(n_live > 0 && n_live < NKEYS);
  CHECK_STATUS(mcring_set_multi(c, items, NKEYS, 0, statuses), MCRING_CONNECTION_ERROR);
  CHECK(last_error_has(test_env("MCRING_TEST_CLOSED")));
  int right = 1;
  for (size_t i = 0; i < NKEYS; i++)
    right &= statuses[i] == (live[i] ? MCRING_OK : MCRING_CONNECTION_ERROR);
  CHECK(right);
  int hits = 0;
  CHECK_STATUS(mcring_get_multi(c, keys, key_lens, NKEYS, count_hit, &hits, statuses),
               MCRING_CONNECTION_ERROR);
  right = 1;
  for (size_t i = 0; i < NKEYS; i++)
    right &= statuses[i] == (live[i] ? MCRING_OK : MCRING_CONNECTION_ERROR);
  CHECK(right && hits == n_live);
  mcring_client_free(c);
}

struct versions {
  int servers, ok;
};
static void on_version(void *ud, const char *server, mcring_status s, const char *text) {
  struct versions *v = ud;
  v->servers++;
  v->ok += s == MCRING_OK && strstr(test_env("MCRING_TEST_SERVERS"), server) != NULL &&
           text[0] >= '1' && text[0] <= '9';
}

struct stats_seen {
  int pid, curr_items, maxbytes, lines;
  char first_server[64];
  int other_server;
};
static void on_stat(void *ud, const char *server, const char *name, const char *value) {
  struct stats_seen *s = ud;
  s->lines++;
  if (s->first_server[0] == '\0') snprintf(s->first_server, sizeof s->first_server, "%s", server);
  if (strcmp(server, s->first_server) != 0) s->other_server = 1;
  if (strcmp(name, "pid") == 0 && atoi(value) > 0) s->pid++;
  if (strcmp(name, "curr_items") == 0) s->curr_items++;
  if (strcmp(name, "maxbytes") == 0 && atol(value) == 64L * 1024 * 1024) s->maxbytes++;
}

struct health {
  int up, down;
  uint64_t latency;
  int messages;
};
static void on_health(void *ud, const char *server, mcring_status s, uint64_t us, const char *e) {
  struct health *h = ud;
  (void)server;
  if (s == MCRING_OK) {
    h->up++;
    h->latency += us;
    h->messages += e[0] != '\0';
  } else {
    h->down++;
    h->messages += e[0] != '\0';
  }
}

static void server_commands(mcring_client *c) {
  mcring_value *v = NULL;
  CHECK_STATUS(mcring_set(c, S("flushed"), U("v"), 0, 0), MCRING_OK);
  CHECK_STATUS(mcring_flush_all(c, 0), MCRING_OK);
  CHECK_STATUS(mcring_get(c, S("flushed"), &v), MCRING_NOT_FOUND);

  struct versions ver = {0, 0};
  CHECK_STATUS(mcring_server_versions(c, on_version, &ver), MCRING_OK);
  CHECK(ver.servers == 2 && ver.ok == 2);

  struct stats_seen st;
  memset(&st, 0, sizeof st);
  CHECK_STATUS(mcring_server_stats(c, NULL, on_stat, &st), MCRING_OK);
  CHECK(st.pid == 2 && st.curr_items == 2 && st.other_server && st.lines > 40);
  memset(&st, 0, sizeof st);
  CHECK_STATUS(mcring_server_stats(c, "settings", on_stat, &st), MCRING_OK);
  CHECK(st.maxbytes == 2);
  CHECK_STATUS(mcring_server_stats(c, "bad group", on_stat, &st), MCRING_BAD_VALUE);

  struct health h = {0, 0, 0, 0};
  CHECK_STATUS(mcring_health(c, on_health, &h), MCRING_OK);
  CHECK(h.up == 2 && h.down == 0 && h.messages == 0 && h.latency > 0);

  /* A pool with a closed port: reported down, with a message. */
  char config[512];
  snprintf(config, sizeof config, "%s %s", test_env("MCRING_TEST_SERVERS"),
           test_env("MCRING_TEST_CLOSED"));
  mcring_client *partial = test_client(config);
  memset(&h, 0, sizeof h);
  CHECK_STATUS(mcring_health(partial, on_health, &h), MCRING_CONNECTION_ERROR);
  CHECK(h.up == 2 && h.down == 1 && h.messages == 1);
  ver = (struct versions){0, 0};
  CHECK_STATUS(mcring_server_versions(partial, on_version, &ver), MCRING_CONNECTION_ERROR);
  CHECK(ver.servers == 3 && ver.ok == 2);
  CHECK_STATUS(mcring_flush_all(partial, 0), MCRING_CONNECTION_ERROR);
  memset(&st, 0, sizeof st);
  CHECK_STATUS(mcring_server_stats(partial, NULL, on_stat, &st), MCRING_CONNECTION_ERROR);
  CHECK(st.pid == 2);
  mcring_client_free(partial);
}

static void counters(void) {
  mcring_client *c = test_client_with("prefix=counters:");
  mcring_value *v = NULL;
  for (int i = 0; i < 10; i++) {
    char key[16];
    int n = snprintf(key, sizeof key, "c%d", i);
    CHECK_STATUS(mcring_set(c, key, (size_t)n, U("v"), 0, 0), MCRING_OK);
  }
  for (int i = 0; i < 15; i++) {
    char key[16];
    int n = snprintf(key, sizeof key, "c%d", i);
    mcring_status s = mcring_get(c, key, (size_t)n, &v);
    CHECK(s == (i < 10 ? MCRING_OK : MCRING_NOT_FOUND));
    mcring_value_free(v);
  }
  CHECK_STATUS(mcring_delete(c, S("c0")), MCRING_OK);

  mcring_stats *stats = NULL;
  CHECK_STATUS(mcring_stats_get(c, &stats), MCRING_OK);
  CHECK(mcring_stats_server_count(stats) == 2);
  const mcring_counters *total = mcring_stats_total(stats);
  CHECK(total != NULL);
  if (total != NULL) {
    CHECK(total->sets == 10 && total->gets == 15 && total->hits == 10 && total->misses == 5);
    CHECK(total->deletes == 1 && total->errors == 0 && total->timeouts == 0);
    CHECK(total->connects >= 2 && total->bytes_read > 0 && total->bytes_written > 0);
  }
  /* The total is the sum of the servers; names are the configured ones. */
  uint64_t sum_gets = 0, sum_bytes = 0;
  for (size_t i = 0; i < mcring_stats_server_count(stats); i++) {
    const mcring_counters *s = mcring_stats_server(stats, i);
    const char *name = mcring_stats_server_name(stats, i);
    CHECK(s != NULL && name != NULL && strstr(test_env("MCRING_TEST_SERVERS"), name) != NULL);
    if (s != NULL) {
      sum_gets += s->gets;
      sum_bytes += s->bytes_read;
    }
  }
  CHECK(total != NULL && sum_gets == total->gets && sum_bytes == total->bytes_read);
  CHECK(mcring_stats_server(stats, 2) == NULL && mcring_stats_server_name(stats, 2) == NULL);

  /* Counters by name, for exporters. */
  size_t fields = 0;
  int by_name = 1;
  for (const char *name; (name = mcring_counter_name(fields)) != NULL; fields++) {
    uint64_t value = mcring_counters_value(total, fields);
    if (strcmp(name, "gets") == 0) by_name &= value == 15;
    if (strcmp(name, "hits") == 0) by_name &= value == 10;
    if (strcmp(name, "read_repairs") == 0) by_name &= value == 0;
  }
  CHECK(fields == 36 && by_name);
  CHECK(strcmp(mcring_counter_name(0), "gets") == 0);
  CHECK(strcmp(mcring_counter_name(33), "too_large") == 0);
  CHECK(strcmp(mcring_counter_name(35), "warmup_hits") == 0);
  CHECK(mcring_counters_value(total, 36) == 0);
  mcring_stats_free(stats);
  mcring_client_free(c);
}

int main(void) {
  mcring_client *c = test_client_with("prefix=multi:");
  multi_commands(c);
  nested_calls(c);
  partial_failure();
  server_commands(c);
  counters();
  mcring_client_free(c);
  return test_finish("test_multi");
}
