/*
 * The C side of the cross-language test: a libmcring program the driver
 * (run.py) asks to place keys, write the shared value set, or read values.
 *
 *   agent CONFIG place      < keys       prints each key's server
 *   agent CONFIG write TAG               stores the value set under TAG:<name>
 *   agent CONFIG read TAG                prints `<name> <type> <value>` per value
 *   agent CONFIG readkeys   < keys       prints `<key> <hex of value>` or `<key> missing`
 *   agent CONFIG herd KEY LOG START_AT   reads KEY through a lease at START_AT (Unix
 *                                        time); computing appends a line to LOG and
 *                                        sleeps 200 ms; prints `<value> <ms waited>`
 *
 * Values are printed as the driver compares them: strings as hex of their
 * bytes, integers in decimal, floats with %.17g, booleans as true/false,
 * JSON as its text (the driver parses it).
 */
#include <libmcring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, mcring_status s) {
  fprintf(stderr, "agent.c: %s: %s: %s\n", what, mcring_status_name(s), mcring_last_error());
  exit(1);
}

static double now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void herd(mcring_client *c, const char *key, const char *log, double start_at) {
  while (now() < start_at) usleep(500);
  double t0 = now();
  mcring_value *v = NULL;
  mcring_lease *lease = NULL;
  mcring_status s = mcring_get_or_lease(c, key, strlen(key), NULL, &v, &lease);
  char computed[64];
  if (s == MCRING_LEASE) {
    FILE *f = fopen(log, "a");
    if (f == NULL) die("log", s);
    fprintf(f, "C %d\n", (int)getpid());
    fclose(f);
    usleep(200000);
    int n = snprintf(computed, sizeof computed, "computed by C %d", (int)getpid());
    mcring_value *enc = NULL;
    s = mcring_encode_string(c, (const uint8_t *)computed, (size_t)n, 0, &enc);
    if (s != MCRING_OK) die("encode", s);
    s = mcring_lease_fill(c, lease, mcring_value_data(enc), mcring_value_len(enc), mcring_value_flags(enc), 60);
    if (s != MCRING_OK) die("lease_fill", s);
    mcring_value_free(enc);
    printf("%s %.0f\n", computed, (now() - t0) * 1000);
  } else if (s == MCRING_OK || s == MCRING_STALE) {
    mcring_decoded *d = NULL;
    s = mcring_value_decode(c, v, &d);
    if (s != MCRING_OK) die("decode", s);
    printf("%.*s %.0f\n", (int)mcring_decoded_len(d), (const char *)mcring_decoded_data(d), (now() - t0) * 1000);
    mcring_decoded_free(d);
  } else {
    die("get_or_lease", s);
  }
  mcring_value_free(v);
}

/* Stores an encoded value as TAG:NAME (and frees it). */
static void put(mcring_client *c, const char *tag, const char *name, mcring_status s, mcring_value *v) {
  if (s != MCRING_OK) die(name, s);
  char key[256];
  int n = snprintf(key, sizeof key, "%s:%s", tag, name);
  s = mcring_set(c, key, (size_t)n, mcring_value_data(v), mcring_value_len(v), mcring_value_flags(v), 0);
  if (s != MCRING_OK) die(key, s);
  mcring_value_free(v);
}

static void write_set(mcring_client *c, const char *tag) {
  mcring_value *v = NULL;
  mcring_status s;
  const char *str = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93";
  s = mcring_encode_string(c, (const uint8_t *)str, strlen(str), 0, &v);
  put(c, tag, "str", s, v);
  s = mcring_encode_string(c, NULL, 0, 0, &v);
  put(c, tag, "empty", s, v);
  s = mcring_encode_int(c, 42, 0, &v);
  put(c, tag, "int", s, v);
  s = mcring_encode_int(c, -9000000000LL, 0, &v);
  put(c, tag, "neg", s, v);
  s = mcring_encode_float(c, 3.25, 0, &v);
  put(c, tag, "float", s, v);
  s = mcring_encode_float(c, 0.1, 0, &v);
  put(c, tag, "float2", s, v);
  s = mcring_encode_bool(c, true, 0, &v);
  put(c, tag, "bool_t", s, v);
  s = mcring_encode_bool(c, false, 0, &v);
  put(c, tag, "bool_f", s, v);
  const char *map = "{\"a\":1,\"b\":[1,2,3],\"c\":\"x\"}";
  s = mcring_encode_json(c, (const uint8_t *)map, strlen(map), 0, &v);
  put(c, tag, "map", s, v);
  const char *list = "[1,\"two\",3.5]";
  s = mcring_encode_json(c, (const uint8_t *)list, strlen(list), 0, &v);
  put(c, tag, "list", s, v);
  size_t long_len = 8000;
  uint8_t *text = malloc(long_len);
  for (size_t i = 0; i < long_len; i++) text[i] = (uint8_t)("abcdefgh"[i % 8]);
  s = mcring_encode_string(c, text, long_len, 0, &v);
  put(c, tag, "long", s, v);
  free(text);
}

static void print_hex(const uint8_t *p, size_t n) {
  if (n == 0) fputs("-", stdout);
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

static const char *NAMES[] = {"str", "empty", "int", "neg", "float", "float2",
                              "bool_t", "bool_f", "map", "list", "long"};

static void read_set(mcring_client *c, const char *tag) {
  for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
    char key[256];
    int n = snprintf(key, sizeof key, "%s:%s", tag, NAMES[i]);
    mcring_value *v = NULL;
    mcring_status s = mcring_get(c, key, (size_t)n, &v);
    if (s == MCRING_NOT_FOUND) {
      printf("%s missing\n", NAMES[i]);
      continue;
    }
    if (s != MCRING_OK) die(key, s);
    mcring_decoded *d = NULL;
    s = mcring_value_decode(c, v, &d);
    mcring_value_free(v);
    if (s != MCRING_OK) die(key, s);
    printf("%s ", NAMES[i]);
    switch (mcring_decoded_type(d)) {
    case MCRING_TYPE_STRING:
    case MCRING_TYPE_BYTES:
      fputs("string ", stdout);
      print_hex(mcring_decoded_data(d), mcring_decoded_len(d));
      break;
    case MCRING_TYPE_INT:
      printf("int %lld", (long long)mcring_decoded_int(d));
      break;
    case MCRING_TYPE_FLOAT:
      printf("float %.17g", mcring_decoded_float(d));
      break;
    case MCRING_TYPE_BOOL:
      printf("bool %s", mcring_decoded_bool(d) ? "true" : "false");
      break;
    case MCRING_TYPE_JSON:
      printf("array %.*s", (int)mcring_decoded_len(d), (const char *)mcring_decoded_data(d));
      break;
    default:
      printf("other %d", (int)mcring_decoded_type(d));
    }
    putchar('\n');
    mcring_decoded_free(d);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: agent CONFIG place|write TAG|read TAG|readkeys\n");
    return 2;
  }
  mcring_client *c = NULL;
  mcring_status s = mcring_client_new(argv[1], &c);
  if (s != MCRING_OK) die("config", s);
  const char *cmd = argv[2];
  char line[512];
  if (strcmp(cmd, "place") == 0) {
    char name[300];
    while (fgets(line, sizeof line, stdin)) {
      size_t n = strcspn(line, "\n");
      s = mcring_server_for_key(c, line, n, name, sizeof name);
      if (s != MCRING_OK) die("place", s);
      puts(name);
    }
  } else if (strcmp(cmd, "write") == 0 && argc > 3) {
    write_set(c, argv[3]);
    puts("ok");
  } else if (strcmp(cmd, "read") == 0 && argc > 3) {
    read_set(c, argv[3]);
  } else if (strcmp(cmd, "readkeys") == 0) {
    while (fgets(line, sizeof line, stdin)) {
      size_t n = strcspn(line, "\n");
      mcring_value *v = NULL;
      s = mcring_get(c, line, n, &v);
      printf("%.*s ", (int)n, line);
      if (s == MCRING_OK) {
        print_hex(mcring_value_data(v), mcring_value_len(v));
        putchar('\n');
        mcring_value_free(v);
      } else if (s == MCRING_NOT_FOUND) {
        puts("missing");
      } else {
        die("readkeys", s);
      }
    }
  } else if (strcmp(cmd, "herd") == 0 && argc > 5) {
    herd(c, argv[3], argv[4], atof(argv[5]));
  } else {
    fprintf(stderr, "unknown command %s\n", cmd);
    return 2;
  }
  mcring_client_free(c);
  return 0;
}
