/*
 * php-memcached's result codes (Memcached::RES_*: libmemcached's
 * memcached_return_t values, and php-memcached's own RES_PAYLOAD_FAILURE),
 * used by every class of the extension, and their messages. libmcring maps
 * its statuses to them (mcring_memcached_code()); this file only names them.
 */
#ifndef MCRING_CODES_H
#define MCRING_CODES_H

#include <libmcring.h>

#define MCRING_RES_SUCCESS 0
#define MCRING_RES_FAILURE 1
#define MCRING_RES_HOST_LOOKUP_FAILURE 2
#define MCRING_RES_CONNECTION_FAILURE 3
#define MCRING_RES_CONNECTION_BIND_FAILURE 4
#define MCRING_RES_WRITE_FAILURE 5
#define MCRING_RES_READ_FAILURE 6
#define MCRING_RES_UNKNOWN_READ_FAILURE 7
#define MCRING_RES_PROTOCOL_ERROR 8
#define MCRING_RES_CLIENT_ERROR 9
#define MCRING_RES_SERVER_ERROR 10
#define MCRING_RES_ERROR 11
#define MCRING_RES_DATA_EXISTS 12
#define MCRING_RES_DATA_DOES_NOT_EXIST 13
#define MCRING_RES_NOTSTORED 14
#define MCRING_RES_STORED 15
#define MCRING_RES_NOTFOUND 16
#define MCRING_RES_MEMORY_ALLOCATION_FAILURE 17
#define MCRING_RES_PARTIAL_READ 18
#define MCRING_RES_SOME_ERRORS 19
#define MCRING_RES_NO_SERVERS 20
#define MCRING_RES_END 21
#define MCRING_RES_DELETED 22
#define MCRING_RES_VALUE 23
#define MCRING_RES_STAT 24
#define MCRING_RES_ITEM 25
#define MCRING_RES_ERRNO 26
#define MCRING_RES_FAIL_UNIX_SOCKET 27
#define MCRING_RES_NOT_SUPPORTED 28
#define MCRING_RES_NO_KEY_PROVIDED 29
#define MCRING_RES_FETCH_NOTFINISHED 30
#define MCRING_RES_TIMEOUT 31
#define MCRING_RES_BUFFERED 32
#define MCRING_RES_BAD_KEY_PROVIDED 33
#define MCRING_RES_INVALID_HOST_PROTOCOL 34
#define MCRING_RES_SERVER_MARKED_DEAD 35
#define MCRING_RES_UNKNOWN_STAT_KEY 36
#define MCRING_RES_E2BIG 37
#define MCRING_RES_INVALID_ARGUMENTS 38
#define MCRING_RES_KEY_TOO_BIG 39
#define MCRING_RES_AUTH_PROBLEM 40
#define MCRING_RES_AUTH_FAILURE 41
#define MCRING_RES_AUTH_CONTINUE 42
#define MCRING_RES_PARSE_ERROR 43
#define MCRING_RES_PARSE_USER_ERROR 44
#define MCRING_RES_DEPRECATED 45
#define MCRING_RES_IN_PROGRESS 46
#define MCRING_RES_SERVER_TEMPORARILY_DISABLED 47
#define MCRING_RES_SERVER_MEMORY_ALLOCATION_FAILURE 48
#define MCRING_RES_MAXIMUM_RETURN 49
#define MCRING_RES_CONNECTION_SOCKET_CREATE_FAILURE 11
#define MCRING_RES_PAYLOAD_FAILURE (-1001)
/* mcring's own: a write that took effect only on a failover target
   (McRing\Client's RES_STORED_ELSEWHERE; McRing\Memcached reports
   RES_SUCCESS, as php-memcached would for a write that was made). */
#define MCRING_RES_STORED_ELSEWHERE (-2001)
/* mcring's own: a stale value was served while another caller recomputes
   it (McRing\Client's RES_STALE, after getOrSet()). */
#define MCRING_RES_STALE (-2002)

/* The code of a status as the call that returned it failed: 0 for
   MCRING_OK without a call into libmcring (the common case). */
static inline int mcring_res_of(mcring_status status)
{
	return status == MCRING_OK ? MCRING_RES_SUCCESS : (int) mcring_memcached_code(status);
}

/* The code of a status the extension made up itself (no libmcring call
   behind it). */
static inline int mcring_res_of_own(mcring_status status)
{
	return (int) mcring_status_memcached_code(status);
}

/* The message php-memcached's getResultMessage() gives for a code
   (libmemcached's memcached_strerror() wording). */
const char *mcring_res_message(int code);

#endif /* MCRING_CODES_H */
