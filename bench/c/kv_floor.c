/* The floor: the least a client can do on the wire. Blocking sockets, one
 * send and one recv per request, no placement, no parsing beyond finding the
 * end of the reply. Key i lives on server i % n. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kv_common.h"

static int fds[KV_MAX_SERVERS];
static char buf[1 << 20];

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) { perror("send"); exit(1); }
    p += w; n -= (size_t)w;
  }
}

/* Reads until the reply ends with `end`. */
static size_t recv_until(int fd, const char *end) {
  size_t len = 0, elen = strlen(end);
  for (;;) {
    ssize_t r = recv(fd, buf + len, sizeof buf - len, 0);
    if (r <= 0) { perror("recv"); exit(1); }
    len += (size_t)r;
    if (len >= elen && memcmp(buf + len - elen, end, elen) == 0) return len;
  }
}

int main(int argc, char **argv) {
  struct kv_args a;
  kv_parse(argc, argv, &a);
  for (int s = 0; s < a.nservers; s++) {
    struct sockaddr_in sin = {0};
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)a.ports[s]);
    inet_pton(AF_INET, a.hosts[s], &sin.sin_addr);
    fds[s] = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fds[s], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fds[s], (struct sockaddr *)&sin, sizeof sin) != 0) { perror("connect"); return 1; }
  }
  char value[KV_VALUE_LEN];
  memset(value, 'x', sizeof value);
  char req[4096];
  /* Preload every key (also warms the connections). */
  for (int i = 0; i < KV_KEYS; i++) {
    int n = snprintf(req, sizeof req, "set floor:%d 0 0 %d\r\n", i, KV_VALUE_LEN);
    memcpy(req + n, value, KV_VALUE_LEN);
    memcpy(req + n + KV_VALUE_LEN, "\r\n", 2);
    int fd = fds[i % a.nservers];
    send_all(fd, req, (size_t)n + KV_VALUE_LEN + 2);
    recv_until(fd, "\r\n");
  }
  double t0 = kv_now();
  if (strcmp(a.op, "get") == 0) {
    for (long op = 0; op < a.ops; op++) {
      int i = (int)(op % KV_KEYS);
      int n = snprintf(req, sizeof req, "get floor:%d\r\n", i);
      int fd = fds[i % a.nservers];
      send_all(fd, req, (size_t)n);
      recv_until(fd, "END\r\n");
    }
  } else if (strcmp(a.op, "set") == 0) {
    for (long op = 0; op < a.ops; op++) {
      int i = (int)(op % KV_KEYS);
      int n = snprintf(req, sizeof req, "set floor:%d 0 0 %d\r\n", i, KV_VALUE_LEN);
      memcpy(req + n, value, KV_VALUE_LEN);
      memcpy(req + n + KV_VALUE_LEN, "\r\n", 2);
      int fd = fds[i % a.nservers];
      send_all(fd, req, (size_t)n + KV_VALUE_LEN + 2);
      recv_until(fd, "\r\n");
    }
  } else if (strcmp(a.op, "mget") == 0) {
    static char lines[KV_MAX_SERVERS][KV_MULTI * 32];
    int lens[KV_MAX_SERVERS];
    for (long op = 0; op < a.ops; op++) {
      int base = (int)((op * KV_MULTI) % KV_KEYS);
      for (int s = 0; s < a.nservers; s++) lens[s] = 0;
      for (int k = 0; k < KV_MULTI; k++) {
        int i = (base + k) % KV_KEYS, s = i % a.nservers;
        if (lens[s] == 0) lens[s] = sprintf(lines[s], "get");
        lens[s] += sprintf(lines[s] + lens[s], " floor:%d", i);
      }
      for (int s = 0; s < a.nservers; s++) {
        if (lens[s] == 0) continue;
        lens[s] += sprintf(lines[s] + lens[s], "\r\n");
        send_all(fds[s], lines[s], (size_t)lens[s]);
      }
      for (int s = 0; s < a.nservers; s++)
        if (lens[s]) recv_until(fds[s], "END\r\n");
    }
  } else {
    fprintf(stderr, "unknown op %s\n", a.op);
    return 2;
  }
  double t1 = kv_now();
  printf("%.0f\n", (double)a.ops / (t1 - t0));
  return 0;
}
