/*
 * Placement oracle: answers, with the system libmemcached, which server of a
 * list owns each key and what libhashkit's hash functions return.
 *
 * It only computes. It never connects, resolves or sends anything: the only
 * libmemcached calls are memcached_create, memcached_behavior_set,
 * memcached_server_add_with_weight, memcached_server_add_unix_socket_with_weight,
 * memcached_server_list_append_with_weight, memcached_server_push,
 * memcached_server_instance_by_position, memcached_server_by_key and
 * memcached_free, and libhashkit's libhashkit_has_algorithm and
 * libhashkit_digest. None of them dials (server_by_key hashes the key and
 * looks the continuum up; servers are only contacted by I/O operations).
 *
 * Each placement runs in a forked child: Debian's libmemcached 1.1.4 is built
 * with assertions, and building a consistent continuum over more than 100
 * servers aborts the process (hosts.cc: "memcached_server_count(ptr) *
 * MEMCACHED_POINTS_PER_SERVER <= MEMCACHED_CONTINUUM_SIZE"). The oracle
 * reports such a crash instead of dying with it.
 *
 * Build: cc -O2 -o oracle oracle.c -lmemcached -lhashkit
 *
 * Protocol: commands on stdin, one per line; answers on stdout.
 *
 *   algorithms
 *       -> one line per libhashkit algorithm: "<id> <name> <0|1>"
 *          (1 = libhashkit_has_algorithm says this build has it), then "end".
 *   servers <n>
 *       followed by n lines, each "tcp <host> <port> <weight>" or
 *       "unix <path> <weight>". Replaces the server list. -> "ok <n>"
 *   keys <n>
 *       followed by n lines, each one key (the bytes up to '\n').
 *       Replaces the key set. -> "ok <n>"
 *   keyshex <n>
 *       as keys, but each line is the key in hex (an empty line is the
 *       empty key). -> "ok <n>"
 *   mode add|push
 *       How "place" hands the servers to libmemcached: "add" (the default)
 *       adds them one by one with memcached_server_add_with_weight and
 *       memcached_server_add_unix_socket_with_weight, as pylibmc and
 *       php-memcached's addServer do; "push" appends them all to a server
 *       list and pushes it once (memcached_server_push), as php-memcached's
 *       addServers does. "add" rebuilds the continuum after every server, so
 *       it costs O(n^2) for n servers. -> "ok <mode>"
 *   place <distribution> <hash>
 *       distribution: ketama-weighted | ketama | modula
 *       hash: default (the distribution's own) or an algorithm name.
 *       Builds a memcached_st the way php-memcached and pylibmc do (behaviors
 *       first, then servers added one by one) and looks every key up with
 *       memcached_server_by_key.
 *       -> "place <distribution> <hash> ok <n>" then n lines, each the
 *          owning server's index in the list or "ERR <libmemcached error>";
 *       or "place <distribution> <hash> unsupported <reason>" when this
 *          libmemcached refuses the hash;
 *       or "place <distribution> <hash> crashed <signal>: <first line of
 *          libmemcached's stderr>" when libmemcached killed the process;
 *       or "place <distribution> <hash> error <reason>" on any other failure.
 *   place-all
 *       "place" for every distribution and every hash (default first), in
 *       that order, then "end".
 *   digest
 *       -> "digest <n>" then one line per key: the value of every algorithm
 *          in "algorithms" order, decimal, "-" where unsupported.
 *   quit
 *
 * A malformed command gets "fatal <reason>" and exit status 2.
 */

#include <errno.h>
#include <signal.h>
#include <libhashkit-1.0/hashkit.h>
#include <libmemcached-1.0/memcached.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct algorithm {
  const char *name;
  hashkit_hash_algorithm_t hashkit;
  memcached_hash_t memcached;
};

/* In libhashkit's enum order. */
static const struct algorithm ALGORITHMS[] = {
    {"one_at_a_time", HASHKIT_HASH_DEFAULT, MEMCACHED_HASH_DEFAULT},
    {"md5", HASHKIT_HASH_MD5, MEMCACHED_HASH_MD5},
    {"crc", HASHKIT_HASH_CRC, MEMCACHED_HASH_CRC},
    {"fnv1_64", HASHKIT_HASH_FNV1_64, MEMCACHED_HASH_FNV1_64},
    {"fnv1a_64", HASHKIT_HASH_FNV1A_64, MEMCACHED_HASH_FNV1A_64},
    {"fnv1_32", HASHKIT_HASH_FNV1_32, MEMCACHED_HASH_FNV1_32},
    {"fnv1a_32", HASHKIT_HASH_FNV1A_32, MEMCACHED_HASH_FNV1A_32},
    {"hsieh", HASHKIT_HASH_HSIEH, MEMCACHED_HASH_HSIEH},
    {"murmur", HASHKIT_HASH_MURMUR, MEMCACHED_HASH_MURMUR},
    {"jenkins", HASHKIT_HASH_JENKINS, MEMCACHED_HASH_JENKINS},
    {"murmur3", HASHKIT_HASH_MURMUR3, MEMCACHED_HASH_MURMUR3},
};
#define ALGORITHM_COUNT (sizeof(ALGORITHMS) / sizeof(ALGORITHMS[0]))

static const char *const DISTRIBUTIONS[] = {"ketama-weighted", "ketama", "modula"};
#define DISTRIBUTION_COUNT (sizeof(DISTRIBUTIONS) / sizeof(DISTRIBUTIONS[0]))

struct server {
  int is_unix;
  char *host;
  unsigned port;
  unsigned weight;
};

struct key {
  char *bytes;
  size_t len;
};

static struct server *servers;
static size_t server_count;
static struct key *keys;
static size_t key_count;
static int push_mode;

static void fatal(const char *what, const char *detail) {
  printf("fatal %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  fflush(stdout);
  exit(2);
}

/* Reads one line without its '\n'; NULL at end of input. */
static char *read_line(size_t *len) {
  static char *line;
  static size_t cap;
  ssize_t n = getline(&line, &cap, stdin);
  if (n < 0) {
    return NULL;
  }
  if (n > 0 && line[n - 1] == '\n') {
    line[--n] = '\0';
  }
  *len = (size_t) n;
  return line;
}

static size_t parse_count(const char *s) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(s, &end, 10);
  if (errno || end == s || *end != '\0' || n > 100000000ULL) {
    fatal("bad count", s);
  }
  return (size_t) n;
}

static void free_servers(void) {
  for (size_t i = 0; i < server_count; i++) {
    free(servers[i].host);
  }
  free(servers);
  servers = NULL;
  server_count = 0;
}

static void free_keys(void) {
  for (size_t i = 0; i < key_count; i++) {
    free(keys[i].bytes);
  }
  free(keys);
  keys = NULL;
  key_count = 0;
}

static void read_servers(size_t n) {
  free_servers();
  servers = calloc(n ? n : 1, sizeof(*servers));
  if (!servers) {
    fatal("out of memory", NULL);
  }
  for (size_t i = 0; i < n; i++) {
    size_t len;
    char *line = read_line(&len);
    if (!line) {
      fatal("input ended inside servers", NULL);
    }
    char host[1100];
    unsigned port = 0, weight = 0;
    struct server *s = &servers[i];
    if (sscanf(line, "tcp %1099s %u %u", host, &port, &weight) == 3) {
      s->is_unix = 0;
    } else if (sscanf(line, "unix %1099s %u", host, &weight) == 2) {
      s->is_unix = 1;
    } else {
      fatal("bad server line", line);
    }
    s->host = strdup(host);
    s->port = port;
    s->weight = weight;
    server_count = i + 1;
  }
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void read_keys(size_t n, int hex) {
  free_keys();
  keys = calloc(n ? n : 1, sizeof(*keys));
  if (!keys) {
    fatal("out of memory", NULL);
  }
  for (size_t i = 0; i < n; i++) {
    size_t len;
    char *line = read_line(&len);
    if (!line) {
      fatal("input ended inside keys", NULL);
    }
    struct key *k = &keys[i];
    if (hex) {
      if (len % 2) {
        fatal("odd hex key", line);
      }
      k->len = len / 2;
      k->bytes = malloc(k->len + 1);
      for (size_t j = 0; j < k->len; j++) {
        int hi = hex_value(line[2 * j]), lo = hex_value(line[2 * j + 1]);
        if (hi < 0 || lo < 0) {
          fatal("bad hex key", line);
        }
        k->bytes[j] = (char) (hi * 16 + lo);
      }
    } else {
      k->len = len;
      k->bytes = malloc(len + 1);
      memcpy(k->bytes, line, len);
    }
    k->bytes[k->len] = '\0';
    key_count = i + 1;
  }
}

static const struct algorithm *find_algorithm(const char *name) {
  for (size_t i = 0; i < ALGORITHM_COUNT; i++) {
    if (strcmp(ALGORITHMS[i].name, name) == 0) {
      return &ALGORITHMS[i];
    }
  }
  return NULL;
}

/* Applies the distribution's behaviors, as php-memcached and pylibmc do.
 * Returns NULL or a reason. */
static const char *set_distribution(memcached_st *memc, const char *distribution) {
  memcached_return_t rc;
  if (strcmp(distribution, "ketama-weighted") == 0) {
    rc = memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
  } else if (strcmp(distribution, "ketama") == 0) {
    rc = memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                                MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
  } else if (strcmp(distribution, "modula") == 0) {
    rc = memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                                MEMCACHED_DISTRIBUTION_MODULA);
  } else {
    return "unknown distribution";
  }
  return memcached_success(rc) ? NULL : memcached_strerror(memc, rc);
}

/* Adds the servers one by one. Returns NULL or a reason. */
static const char *add_servers(memcached_st *memc) {
  static char reason[1400];
  for (size_t i = 0; i < server_count; i++) {
    const struct server *s = &servers[i];
    memcached_return_t rc =
        s->is_unix ? memcached_server_add_unix_socket_with_weight(memc, s->host, s->weight)
                   : memcached_server_add_with_weight(memc, s->host, (in_port_t) s->port,
                                                      s->weight);
    if (memcached_failed(rc)) {
      snprintf(reason, sizeof(reason), "adding server %zu (%s): %s", i, s->host,
               memcached_strerror(memc, rc));
      return reason;
    }
  }
  return NULL;
}

/* Appends every server to a list and pushes the list. A unix socket is a
 * path with port 0 (memcached_server_list_append_with_weight's convention).
 * Returns NULL or a reason. */
static const char *push_servers(memcached_st *memc) {
  static char reason[1400];
  memcached_server_list_st list = NULL;
  for (size_t i = 0; i < server_count; i++) {
    const struct server *s = &servers[i];
    memcached_return_t rc = MEMCACHED_SUCCESS;
    list = memcached_server_list_append_with_weight(list, s->host,
                                                    (in_port_t) (s->is_unix ? 0 : s->port),
                                                    s->weight, &rc);
    if (!list || memcached_failed(rc)) {
      snprintf(reason, sizeof(reason), "appending server %zu (%s): %s", i, s->host,
               memcached_strerror(memc, rc));
      return reason;
    }
  }
  memcached_return_t rc = memcached_server_push(memc, list);
  memcached_server_list_free(list);
  if (memcached_failed(rc)) {
    snprintf(reason, sizeof(reason), "pushing the servers: %s", memcached_strerror(memc, rc));
    return reason;
  }
  return NULL;
}

static void place_here(const char *distribution, const char *hash) {
  printf("place %s %s ", distribution, hash);
  const struct algorithm *algorithm = NULL;
  if (strcmp(hash, "default") != 0) {
    algorithm = find_algorithm(hash);
    if (!algorithm) {
      printf("error unknown hash\n");
      return;
    }
  }
  memcached_st *memc = memcached_create(NULL);
  if (!memc) {
    printf("error memcached_create failed\n");
    return;
  }
  const char *problem = set_distribution(memc, distribution);
  if (problem) {
    printf("error %s\n", problem);
    memcached_free(memc);
    return;
  }
  if (algorithm) {
    memcached_return_t rc =
        memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_HASH, algorithm->memcached);
    if (memcached_failed(rc)) {
      printf("unsupported %s\n", memcached_strerror(memc, rc));
      memcached_free(memc);
      return;
    }
  }
  const char *add_problem = push_mode ? push_servers(memc) : add_servers(memc);
  if (add_problem) {
    printf("error %s\n", add_problem);
    memcached_free(memc);
    return;
  }
  if (memcached_server_count(memc) != server_count) {
    printf("error libmemcached holds %u servers, expected %zu\n", memcached_server_count(memc),
           server_count);
    memcached_free(memc);
    return;
  }

  /* The instances are one array: an instance's index follows from its
   * address, and is checked against the table. */
  const memcached_instance_st **table = calloc(server_count ? server_count : 1, sizeof(*table));
  for (size_t i = 0; i < server_count; i++) {
    table[i] = memcached_server_instance_by_position(memc, (uint32_t) i);
  }
  ptrdiff_t stride =
      server_count > 1 ? (const char *) table[1] - (const char *) table[0] : 1;

  printf("ok %zu\n", key_count);
  for (size_t k = 0; k < key_count; k++) {
    memcached_return_t rc = MEMCACHED_SUCCESS;
    const memcached_instance_st *owner =
        memcached_server_by_key(memc, keys[k].bytes, keys[k].len, &rc);
    if (!owner) {
      printf("ERR %s\n", memcached_strerror(memc, rc));
      continue;
    }
    ptrdiff_t offset = (const char *) owner - (const char *) table[0];
    size_t index = (size_t) (offset / stride);
    if (offset < 0 || offset % stride != 0 || index >= server_count || table[index] != owner) {
      fatal("server_by_key returned an instance outside the list", NULL);
    }
    printf("%zu\n", index);
  }
  free(table);
  memcached_free(memc);
}

/* Runs place_here in a child, so that an abort inside libmemcached is
 * reported rather than fatal. The child's stderr comes back through a pipe. */
static void place(const char *distribution, const char *hash) {
  fflush(stdout);
  int err[2];
  if (pipe(err) != 0) {
    fatal("pipe", strerror(errno));
  }
  pid_t pid = fork();
  if (pid < 0) {
    fatal("fork", strerror(errno));
  }
  if (pid == 0) {
    close(err[0]);
    dup2(err[1], STDERR_FILENO);
    close(err[1]);
    place_here(distribution, hash);
    fflush(stdout);
    _exit(0);
  }
  close(err[1]);
  char text[4096];
  size_t used = 0;
  for (;;) {
    char chunk[4096];
    ssize_t n = read(err[0], chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    size_t take = (size_t) n < sizeof(text) - 1 - used ? (size_t) n : sizeof(text) - 1 - used;
    memcpy(text + used, chunk, take);
    used += take;
  }
  close(err[0]);
  text[used] = '\0';
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      fatal("waitpid", strerror(errno));
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return;
  }
  /* The first non-empty line of what libmemcached printed. */
  char *first = text;
  while (*first == '\n') {
    first++;
  }
  first[strcspn(first, "\n")] = '\0';
  if (WIFSIGNALED(status)) {
    printf("place %s %s crashed %s: %s\n", distribution, hash, strsignal(WTERMSIG(status)), first);
  } else {
    printf("place %s %s crashed exit status %d: %s\n", distribution, hash, WEXITSTATUS(status),
           first);
  }
}

static void digest(void) {
  printf("digest %zu\n", key_count);
  for (size_t k = 0; k < key_count; k++) {
    for (size_t a = 0; a < ALGORITHM_COUNT; a++) {
      if (a) {
        putchar(' ');
      }
      if (libhashkit_has_algorithm(ALGORITHMS[a].hashkit)) {
        printf("%u", libhashkit_digest(keys[k].bytes, keys[k].len, ALGORITHMS[a].hashkit));
      } else {
        putchar('-');
      }
    }
    putchar('\n');
  }
}

int main(void) {
  static char buffer[1 << 16];
  setvbuf(stdout, buffer, _IOFBF, sizeof(buffer));
  size_t len;
  char *line;
  while ((line = read_line(&len)) != NULL) {
    char command[32] = {0}, arg1[64] = {0}, arg2[64] = {0};
    int fields = sscanf(line, "%31s %63s %63s", command, arg1, arg2);
    if (fields <= 0) {
      fatal("empty command", NULL);
    }
    if (strcmp(command, "algorithms") == 0) {
      for (size_t a = 0; a < ALGORITHM_COUNT; a++) {
        printf("%d %s %d\n", (int) ALGORITHMS[a].hashkit, ALGORITHMS[a].name,
               libhashkit_has_algorithm(ALGORITHMS[a].hashkit) ? 1 : 0);
      }
      printf("end\n");
    } else if (strcmp(command, "servers") == 0 && fields == 2) {
      read_servers(parse_count(arg1));
      printf("ok %zu\n", server_count);
    } else if (strcmp(command, "keys") == 0 && fields == 2) {
      read_keys(parse_count(arg1), 0);
      printf("ok %zu\n", key_count);
    } else if (strcmp(command, "keyshex") == 0 && fields == 2) {
      read_keys(parse_count(arg1), 1);
      printf("ok %zu\n", key_count);
    } else if (strcmp(command, "mode") == 0 && fields == 2) {
      if (strcmp(arg1, "add") == 0) {
        push_mode = 0;
      } else if (strcmp(arg1, "push") == 0) {
        push_mode = 1;
      } else {
        fatal("unknown mode", arg1);
      }
      printf("ok %s\n", arg1);
    } else if (strcmp(command, "place") == 0 && fields == 3) {
      place(arg1, arg2);
    } else if (strcmp(command, "place-all") == 0) {
      for (size_t d = 0; d < DISTRIBUTION_COUNT; d++) {
        place(DISTRIBUTIONS[d], "default");
        for (size_t a = 0; a < ALGORITHM_COUNT; a++) {
          place(DISTRIBUTIONS[d], ALGORITHMS[a].name);
        }
      }
      printf("end\n");
    } else if (strcmp(command, "digest") == 0) {
      digest();
    } else if (strcmp(command, "quit") == 0) {
      break;
    } else {
      fatal("unknown command", line);
    }
    fflush(stdout);
  }
  free_servers();
  free_keys();
  return 0;
}
