/*
 * McRing\Memcached: php-memcached's Memcached class over libmcring.
 *
 * An object holds what php-memcached keeps in its memcached_st: the server
 * list, libmemcached's behaviors and php-memcached's own options (a
 * "pool", shared by the objects of one persistent id), and builds the
 * engine client from them when a command needs it. Placement, failover,
 * retries and the value codec are the engine's; these files translate
 * names, arguments, options, values and result codes.
 */
#ifndef MCRING_MEMCACHED_H
#define MCRING_MEMCACHED_H

#include "php.h"
#include <libmcring.h>

#include "mcring_codes.h"

/* libmemcached's behaviors (memcached_behavior_t), as php-memcached's
   OPT_* constants number them. */
enum {
	MC_BEHAVIOR_NO_BLOCK = 0,
	MC_BEHAVIOR_TCP_NODELAY = 1,
	MC_BEHAVIOR_HASH = 2,
	MC_BEHAVIOR_KETAMA = 3,
	MC_BEHAVIOR_SOCKET_SEND_SIZE = 4,
	MC_BEHAVIOR_SOCKET_RECV_SIZE = 5,
	MC_BEHAVIOR_CACHE_LOOKUPS = 6,
	MC_BEHAVIOR_SUPPORT_CAS = 7,
	MC_BEHAVIOR_POLL_TIMEOUT = 8,
	MC_BEHAVIOR_DISTRIBUTION = 9,
	MC_BEHAVIOR_BUFFER_REQUESTS = 10,
	MC_BEHAVIOR_USER_DATA = 11,
	MC_BEHAVIOR_SORT_HOSTS = 12,
	MC_BEHAVIOR_VERIFY_KEY = 13,
	MC_BEHAVIOR_CONNECT_TIMEOUT = 14,
	MC_BEHAVIOR_RETRY_TIMEOUT = 15,
	MC_BEHAVIOR_KETAMA_WEIGHTED = 16,
	MC_BEHAVIOR_KETAMA_HASH = 17,
	MC_BEHAVIOR_BINARY_PROTOCOL = 18,
	MC_BEHAVIOR_SND_TIMEOUT = 19,
	MC_BEHAVIOR_RCV_TIMEOUT = 20,
	MC_BEHAVIOR_SERVER_FAILURE_LIMIT = 21,
	MC_BEHAVIOR_IO_MSG_WATERMARK = 22,
	MC_BEHAVIOR_IO_BYTES_WATERMARK = 23,
	MC_BEHAVIOR_IO_KEY_PREFETCH = 24,
	MC_BEHAVIOR_HASH_WITH_PREFIX_KEY = 25,
	MC_BEHAVIOR_NOREPLY = 26,
	MC_BEHAVIOR_USE_UDP = 27,
	MC_BEHAVIOR_AUTO_EJECT_HOSTS = 28,
	MC_BEHAVIOR_NUMBER_OF_REPLICAS = 29,
	MC_BEHAVIOR_RANDOMIZE_REPLICA_READ = 30,
	MC_BEHAVIOR_CORK = 31,
	MC_BEHAVIOR_TCP_KEEPALIVE = 32,
	MC_BEHAVIOR_TCP_KEEPIDLE = 33,
	MC_BEHAVIOR_LOAD_FROM_FILE = 34,
	MC_BEHAVIOR_REMOVE_FAILED_SERVERS = 35,
	MC_BEHAVIOR_DEAD_TIMEOUT = 36,
	MC_BEHAVIOR_SERVER_TIMEOUT_LIMIT = 37,
	MC_BEHAVIOR_COUNT = 38
};

/* libmemcached's distributions (memcached_server_distribution_t). */
enum {
	MC_DISTRIBUTION_MODULA = 0,
	MC_DISTRIBUTION_CONSISTENT = 1,
	MC_DISTRIBUTION_CONSISTENT_KETAMA = 2,
	MC_DISTRIBUTION_RANDOM = 3,
	MC_DISTRIBUTION_CONSISTENT_KETAMA_SPY = 4,
	MC_DISTRIBUTION_CONSISTENT_WEIGHTED = 5,
	MC_DISTRIBUTION_VIRTUAL_BUCKET = 6
};

/* php-memcached's own options, serializers, compressions and get flags. */
#define MC_OPT_COMPRESSION -1001
#define MC_OPT_PREFIX_KEY -1002
#define MC_OPT_SERIALIZER -1003
#define MC_OPT_COMPRESSION_TYPE -1004
#define MC_OPT_STORE_RETRY_COUNT -1005
#define MC_OPT_USER_FLAGS -1006
#define MC_OPT_COMPRESSION_LEVEL -1007
#define MC_OPT_ITEM_SIZE_LIMIT -1008

#define MC_SERIALIZER_PHP 1
#define MC_SERIALIZER_IGBINARY 2
#define MC_SERIALIZER_JSON 3
#define MC_SERIALIZER_JSON_ARRAY 4
#define MC_SERIALIZER_MSGPACK 5

#define MC_COMPRESSION_ZLIB 1
#define MC_COMPRESSION_FASTLZ 2

#define MC_GET_PRESERVE_ORDER 1
#define MC_GET_EXTENDED 2

/* Keys: memcached's limit, as php-memcached checks it. */
#define MC_KEY_MAX 250

/* One server of the list, as added. */
typedef struct {
	char *host;
	uint16_t port;
	uint32_t weight;
	bool is_unix;
} mcring_mc_server;

/*
 * What php-memcached keeps in a memcached_st: servers, behaviors, options,
 * and here the engine client made from them. Allocated persistently (it
 * may outlive the request); shared by the objects of one persistent id.
 */
typedef struct {
	bool persistent;
	uint32_t refs;

	mcring_mc_server *servers;
	uint32_t server_count, server_cap;

	/* libmemcached's behavior values, by behavior number. */
	int64_t behavior[MC_BEHAVIOR_COUNT];
	/* libmemcached's "weighted ketama" flag, which distribution changes and
	   servers of weight > 1 set and clear in their own order. */
	bool weighted;
	/* OPT_PREFIX_KEY (libmemcached's namespace), or NULL. */
	char *prefix;

	/* php-memcached's own options. */
	bool compression;
	zend_long compression_type;
	zend_long compression_level;
	zend_long serializer;
	zend_long user_flags; /* -1: none */
	zend_long store_retry_count;
	zend_long item_size_limit;

	/* Engine options given in an mcring connection string, or NULL. */
	char *engine_options;

	/* The engine client made from the above (NULL until a command needs
	   it), the config string it was made from, and whether an option or
	   the server list may have changed since (the next command then makes
	   the config string again, and a new client if it differs). */
	mcring_client *client;
	zend_string *client_config;
	bool recheck;

	/* getLastError*(): the last command's failure, if it failed. */
	int last_error_code;
	int last_errno;
	char *last_error_message;
	/* getLastDisconnectedServer(): "host:port" of the last server a
	   connection-level failure concerned, or NULL. */
	char *last_disconnected;
} mcring_mc_pool;

/* A McRing\Memcached object. */
typedef struct {
	/* NULL until the constructor ran (or after its callback failed). */
	mcring_mc_pool *pool;
	bool pristine;
	/* getResultCode(): php-memcached's code of the last call. */
	int rescode;
	/* Results getDelayed() fetched, for fetch() and fetchAll(). */
	zval delayed;
	uint32_t delayed_next;
	zend_object std;
} mcring_mc_object;

extern zend_class_entry *mcring_memcached_ce;
extern zend_class_entry *mcring_memcached_exception_ce;

/* The ini settings of the Memcached class and its session handler:
   mcring.* for McRing\Memcached, memcached.* in compat mode. */
typedef struct {
	char *serializer;
	char *compression_type;
	double compression_factor;
	zend_long compression_threshold;
	zend_long compression_level;
	zend_long store_retry_count;
	zend_long item_size_limit;
	bool default_consistent_hash;
	bool default_binary_protocol;
	zend_long default_connect_timeout;

	bool sess_locking;
	zend_long sess_lock_wait_min;
	zend_long sess_lock_wait_max;
	zend_long sess_lock_retries;
	zend_long sess_lock_expire;
	char *sess_prefix;
	bool sess_persistent;
	bool sess_consistent_hash;
	char *sess_consistent_hash_type;
	bool sess_binary_protocol;
	bool sess_remove_failed_servers;
	zend_long sess_server_failure_limit;
	zend_long sess_number_of_replicas;
	bool sess_randomize_replica_read;
	zend_long sess_connect_timeout;
	char *sess_sasl_username;
	char *sess_sasl_password;
} mcring_mc_settings;

/* The settings in use: memcached.* in compat mode, mcring.* otherwise. */
const mcring_mc_settings *mcring_mc_settings_in_use(void);

/* Whether \Memcached is this class (mcring.memcached_compat in effect). */
bool mcring_mc_compat_active(void);

/* Sets up the registered classes, the persistent pool type and, in compat
   mode, the \Memcached and \MemcachedException aliases. */
void mcring_memcached_startup(int module_number, zend_class_entry *memcached_ce,
	zend_class_entry *exception_ce, bool compat);

/* ---- the object and its result ---------------------------------------- */

static inline mcring_mc_object *mcring_mc_of(zend_object *obj)
{
	return (mcring_mc_object *) ((char *) obj - XtOffsetOf(mcring_mc_object, std));
}

/* The object behind $this, or NULL with an Error thrown when its
   constructor did not run, as php-memcached throws. */
mcring_mc_object *mcring_mc_this(zval *this_zv);

/* The engine client for the object's current servers and options, built if
   needed; NULL (with the result code set and a warning) if the engine
   refused the configuration. */
mcring_client *mcring_mc_client(mcring_mc_object *o);

/* Notes that the servers or options may have changed: the next command
   makes a new client if its config string differs. */
void mcring_mc_pool_changed(mcring_mc_pool *pool);

/* Records the outcome of a libmcring call as the result code and, for a
   failure, as the last error (message from mcring_last_error()). */
void mcring_mc_result(mcring_mc_object *o, mcring_status status);

/* A write's status as php-memcached reports it: one that took effect only
   on a failover target (MCRING_STORED_ELSEWHERE) was made, a success. */
static inline mcring_status mcring_mc_made(mcring_status status)
{
	return status == MCRING_STORED_ELSEWHERE ? MCRING_OK : status;
}

/* Records a result code of the class's own (no libmcring call behind it). */
static inline void mcring_mc_code(mcring_mc_object *o, int code)
{
	o->rescode = code;
}

/* Whether a code is a failure as php-memcached counts them (SUCCESS,
   STORED, DELETED, STAT, END and BUFFERED are not; SOME_ERRORS is). */
bool mcring_mc_is_failure(int code);

/* php-memcached's key check: 1..250 bytes; in text-protocol mode only
   printable ASCII without spaces, in binary mode anything but '\n'. Sets
   RES_BAD_KEY_PROVIDED and returns false for a bad key. */
bool mcring_mc_check_key(mcring_mc_object *o, const zend_string *key);

/* An expiration as memcached takes it: seconds (up to 30 days) or a Unix
   time; a negative one (already expired) as the earliest Unix time
   memcached reads as one. */
static inline uint32_t mcring_mc_expiration(zend_long expiration)
{
	if (expiration < 0) {
		return 60 * 60 * 24 * 30 + 1;
	}
	return (zend_ulong) expiration > UINT32_MAX ? UINT32_MAX : (uint32_t) expiration;
}

/* ---- options (mcring_memcached_options.c) ---------------------------- */

/* A new pool with libmemcached's and php-memcached's defaults and the ini
   settings in use. */
mcring_mc_pool *mcring_mc_pool_new(bool persistent);
void mcring_mc_pool_release(mcring_mc_pool *pool);

/* memcached_behavior_set() of one libmemcached behavior: the result code
   libmemcached gives (RES_SUCCESS, RES_INVALID_ARGUMENTS, ...). */
int mcring_mc_behavior_set(mcring_mc_pool *pool, int flag, uint64_t data);

/* setOption() for one option; false (with the result code set, and a
   warning where php-memcached warns) if refused. */
bool mcring_mc_set_option(mcring_mc_object *o, zend_long option, zval *value);

/* Applies a connection string (mcring_memcached_connection.c):
   libmemcached's "--SERVER=... --OPTION" syntax, or an mcring config string
   ("host:port ... name=value"). False with a warning if it cannot be read. */
bool mcring_mc_apply_connection_string(mcring_mc_object *o, zend_string *text);

/* The engine config string of a pool. */
zend_string *mcring_mc_config_string(const mcring_mc_pool *pool);

/* ---- servers (mcring_memcached_servers.c) ----------------------------- */

/* Appends a server unless the list has it already (same host, port and
   weight): re-adding the servers on every request of a persistent object
   keeps one copy of each. `from_push` as libmemcached's
   memcached_server_push() (addServers) rather than
   memcached_server_add_with_weight() (addServer), which treat weights
   and ports of unix sockets differently. */
void mcring_mc_add_server(mcring_mc_pool *pool, const char *host, zend_long port, zend_long weight,
	bool from_push);

/* ---- values (mcring_memcached_values.c) ------------------------------- */

/* Registers what the values need at module start-up (whether igbinary and
   msgpack are loaded). */
void mcring_mc_values_startup(zend_class_entry *ce);

/* Encodes a PHP value as php-memcached stores it, with the object's
   serializer and user flags (compression is the engine's, per the pool's
   options). NULL with RES_PAYLOAD_FAILURE recorded (and a warning where
   php-memcached warns) if it cannot be. */
mcring_value *mcring_mc_encode(mcring_mc_object *o, mcring_client *client, zval *value);

/* Decodes stored bytes and flags as php-memcached does; false, with a
   warning as php-memcached gives, when they cannot be read. */
bool mcring_mc_decode(mcring_mc_object *o, mcring_client *client, const uint8_t *data, size_t len,
	uint32_t flags, zval *out);

/* A CAS token as php-memcached returns it: an int, or a string past
   PHP_INT_MAX. */
void mcring_mc_cas_zval(zval *out, uint64_t cas);

/* A CAS token argument (int, float or decimal string) as a number. */
uint64_t mcring_mc_cas_of(zval *token);

#endif /* MCRING_MEMCACHED_H */
