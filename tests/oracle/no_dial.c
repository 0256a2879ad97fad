/*
 * No-dial guard, loaded with LD_PRELOAD into the php and python processes
 * that answer placement questions: every attempt to connect a socket or to
 * resolve a host name is refused before anything leaves the process, and
 * recorded, one line per attempt, in the file named by MCRING_NO_DIAL_LOG.
 * A test then asserts the record is empty: computing placement never dials.
 *
 * Build: cc -O2 -shared -fPIC -o no_dial.so no_dial.c
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void record(const char *what, const char *detail) {
  const char *path = getenv("MCRING_NO_DIAL_LOG");
  if (!path) {
    return;
  }
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return;
  }
  char line[512];
  int n = snprintf(line, sizeof(line), "%s %s\n", what, detail ? detail : "(null)");
  if (n > 0) {
    ssize_t ignored = write(fd, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1);
    (void) ignored;
  }
  close(fd);
}

static void describe(const struct sockaddr *addr, char *out, size_t size) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (!addr) {
    snprintf(out, size, "(no address)");
  } else if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *) addr;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
  } else if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) addr;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
  } else if (addr->sa_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *) addr;
    snprintf(out, size, "unix:%.200s", un->sun_path);
  } else {
    snprintf(out, size, "family %d", addr->sa_family);
  }
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  (void) fd;
  (void) len;
  char text[300];
  describe(addr, text, sizeof(text));
  record("connect", text);
  errno = ECONNREFUSED;
  return -1;
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
               socklen_t len) {
  (void) fd;
  (void) buf;
  (void) n;
  (void) flags;
  (void) len;
  char text[300];
  describe(addr, text, sizeof(text));
  record("sendto", text);
  errno = ENETUNREACH;
  return -1;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res) {
  (void) service;
  (void) hints;
  (void) res;
  record("getaddrinfo", node);
  return EAI_FAIL;
}

struct hostent *gethostbyname(const char *name) {
  record("gethostbyname", name);
  h_errno = HOST_NOT_FOUND;
  return NULL;
}

struct hostent *gethostbyname2(const char *name, int af) {
  (void) af;
  record("gethostbyname2", name);
  h_errno = HOST_NOT_FOUND;
  return NULL;
}

int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
                    struct hostent **result, int *h_errnop) {
  (void) ret;
  (void) buf;
  (void) buflen;
  record("gethostbyname_r", name);
  *result = NULL;
  *h_errnop = HOST_NOT_FOUND;
  return ENOENT;
}

int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
                     struct hostent **result, int *h_errnop) {
  (void) af;
  (void) ret;
  (void) buf;
  (void) buflen;
  record("gethostbyname2_r", name);
  *result = NULL;
  *h_errnop = HOST_NOT_FOUND;
  return ENOENT;
}
