/* The floor: the least a client can do on the wire. Blocking sockets, one
 * send per server and request, no placement, no parsing beyond finding the
 * end of the reply. Key i lives on server i % n. Each thread has its own
 * connections. Multi-key calls write every server's requests, then read
 * each server's replies in turn. With KV_NOREPLY=1, mset and mdel send
 * `noreply` commands and one `mn` per server, whose `MN` says all of them
 * were processed. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kv_common.h"

struct floor {
  int *fds;
  char *buf;
  size_t cap;
  /* One request buffer per server, for multi-key calls. */
  char **req;
  size_t *req_len, *req_cap;
};

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) { perror("send"); exit(1); }
    p += w; n -= (size_t)w;
  }
}

/* Reads until the reply ends with `end`. */
static size_t recv_until(struct floor *f, int fd, const char *end) {
  size_t len = 0, elen = strlen(end);
  for (;;) {
    if (len == f->cap) kv_die("floor: reply larger than the buffer");
    ssize_t r = recv(fd, f->buf + len, f->cap - len, 0);
    if (r <= 0) { perror("recv"); exit(1); }
    len += (size_t)r;
    if (len >= elen && memcmp(f->buf + len - elen, end, elen) == 0) return len;
  }
}

/* Reads `lines` reply lines. */
static void recv_lines(struct floor *f, int fd, long lines) {
  while (lines > 0) {
    ssize_t r = recv(fd, f->buf, f->cap, 0);
    if (r <= 0) { perror("recv"); exit(1); }
    for (ssize_t i = 0; i < r; i++) lines -= f->buf[i] == '\n';
  }
}

static void req_put(struct floor *f, int s, const char *p, size_t n) {
  if (f->req_len[s] + n > f->req_cap[s]) {
    f->req_cap[s] = (f->req_len[s] + n) * 2;
    f->req[s] = realloc(f->req[s], f->req_cap[s]);
  }
  memcpy(f->req[s] + f->req_len[s], p, n);
  f->req_len[s] += n;
}

static void *floor_open(const struct kv_args *a) {
  struct floor *f = calloc(1, sizeof *f);
  f->fds = calloc((size_t)a->nservers, sizeof(int));
  f->cap = (size_t)a->multi * (a->value_len + 128) + (1 << 20);
  f->buf = malloc(f->cap);
  f->req = calloc((size_t)a->nservers, sizeof(char *));
  f->req_len = calloc((size_t)a->nservers, sizeof(size_t));
  f->req_cap = calloc((size_t)a->nservers, sizeof(size_t));
  for (int s = 0; s < a->nservers; s++) {
    struct sockaddr_in sin = {0};
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)a->ports[s]);
    inet_pton(AF_INET, a->hosts[s], &sin.sin_addr);
    f->fds[s] = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(f->fds[s], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(f->fds[s], (struct sockaddr *)&sin, sizeof sin) != 0) { perror("connect"); exit(1); }
  }
  return f;
}

static void floor_get(void *st, const struct kv_args *a, long op) {
  struct floor *f = st;
  char req[128];
  int i = kv_key_of(a, op, 0);
  int n = snprintf(req, sizeof req, "get %s\r\n", a->key[i]);
  int fd = f->fds[i % a->nservers];
  send_all(fd, req, (size_t)n);
  size_t len = recv_until(f, fd, "END\r\n");
  if (len == 5 && !a->miss_ok) kv_die("floor: preloaded key missing");
}

/* Appends the set command of key i to server s's request. */
static void put_set(struct floor *f, const struct kv_args *a, int s, int i, int noreply) {
  char head[128];
  int n = snprintf(head, sizeof head, "set %s 0 0 %zu%s\r\n", a->key[i], a->value_len, noreply ? " noreply" : "");
  req_put(f, s, head, (size_t)n);
  req_put(f, s, a->value, a->value_len);
  req_put(f, s, "\r\n", 2);
}

/* One set: header, value and CRLF in one writev (no copy of the value). */
static void floor_set(void *st, const struct kv_args *a, long op) {
  struct floor *f = st;
  int i = kv_key_of(a, op, 0), fd = f->fds[i % a->nservers];
  char head[128];
  int n = snprintf(head, sizeof head, "set %s 0 0 %zu\r\n", a->key[i], a->value_len);
  struct iovec iov[3] = {{head, (size_t)n}, {a->value, a->value_len}, {(char *)"\r\n", 2}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 3};
  size_t left = (size_t)n + a->value_len + 2;
  while (left > 0) {
    ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (w <= 0) { perror("sendmsg"); exit(1); }
    left -= (size_t)w;
    while (msg.msg_iovlen > 0 && (size_t)w >= msg.msg_iov[0].iov_len) {
      w -= (ssize_t)msg.msg_iov[0].iov_len;
      msg.msg_iov++;
      msg.msg_iovlen--;
    }
    if (msg.msg_iovlen > 0) {
      msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + w;
      msg.msg_iov[0].iov_len -= (size_t)w;
    }
  }
  recv_lines(f, fd, 1);
}

static void floor_mget(void *st, const struct kv_args *a, long op) {
  struct floor *f = st;
  for (int s = 0; s < a->nservers; s++) f->req_len[s] = 0;
  for (int k = 0; k < a->multi; k++) {
    int i = kv_key_of(a, op, k), s = i % a->nservers;
    req_put(f, s, f->req_len[s] ? " " : "get ", f->req_len[s] ? 1 : 4);
    req_put(f, s, a->key[i], a->key_len[i]);
  }
  for (int s = 0; s < a->nservers; s++) {
    if (f->req_len[s] == 0) continue;
    req_put(f, s, "\r\n", 2);
    send_all(f->fds[s], f->req[s], f->req_len[s]);
  }
  for (int s = 0; s < a->nservers; s++)
    if (f->req_len[s]) recv_until(f, f->fds[s], "END\r\n");
}

/* Sends every server its commands and reads the replies: one line per
 * command, or with noreply the `MN` of a closing `mn`. */
static void floor_pipeline(struct floor *f, const struct kv_args *a, long *commands) {
  for (int s = 0; s < a->nservers; s++) {
    if (commands[s] == 0) continue;
    if (a->noreply) req_put(f, s, "mn\r\n", 4);
    send_all(f->fds[s], f->req[s], f->req_len[s]);
  }
  for (int s = 0; s < a->nservers; s++) {
    if (commands[s] == 0) continue;
    if (a->noreply) recv_until(f, f->fds[s], "MN\r\n");
    else recv_lines(f, f->fds[s], commands[s]);
  }
}

static void floor_mset(void *st, const struct kv_args *a, long op) {
  struct floor *f = st;
  long commands[KV_MAX_SERVERS] = {0};
  for (int s = 0; s < a->nservers; s++) f->req_len[s] = 0;
  for (int k = 0; k < a->multi; k++) {
    int i = kv_key_of(a, op, k), s = i % a->nservers;
    put_set(f, a, s, i, a->noreply);
    commands[s]++;
  }
  floor_pipeline(f, a, commands);
}

static void floor_mdel(void *st, const struct kv_args *a, long op) {
  struct floor *f = st;
  long commands[KV_MAX_SERVERS] = {0};
  char line[128];
  for (int s = 0; s < a->nservers; s++) f->req_len[s] = 0;
  for (int k = 0; k < a->multi; k++) {
    int i = kv_key_of(a, op, k), s = i % a->nservers;
    int n = snprintf(line, sizeof line, "delete %s%s\r\n", a->key[i], a->noreply ? " noreply" : "");
    req_put(f, s, line, (size_t)n);
    commands[s]++;
  }
  floor_pipeline(f, a, commands);
}

static int floor_count(void *st, const struct kv_args *a, long op) {
  struct floor *f = st;
  int found = 0;
  for (int k = 0; k < a->multi; k++) {
    char req[128];
    int i = kv_key_of(a, op, k);
    int n = snprintf(req, sizeof req, "get %s\r\n", a->key[i]);
    int fd = f->fds[i % a->nservers];
    send_all(fd, req, (size_t)n);
    found += recv_until(f, fd, "END\r\n") > 5;
  }
  return found;
}

/* `memcpy`: the rate of copying the value once in user space, for scale
 * (no server is contacted). */
static int floor_memcpy(int argc, char **argv) {
  struct kv_args a;
  kv_parse(argc, argv, &a);
  char *dst = malloc(a.value_len);
  volatile char sink = 0;
  double t0 = kv_now();
  for (long i = 0; i < a.ops; i++) {
    a.value[0] = (char)i;
    memcpy(dst, a.value, a.value_len);
    sink ^= dst[a.value_len - 1];
  }
  printf("%.0f\n", (double)a.ops / (kv_now() - t0));
  return sink & 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "memcpy") == 0) return floor_memcpy(argc, argv);
  const struct kv_client c = {
    .ns = "floor", .open = floor_open, .get = floor_get, .set = floor_set, .mget = floor_mget,
    .mset = floor_mset, .mdel = floor_mdel, .count = floor_count,
  };
  return kv_main(argc, argv, &c);
}
