/*
 * McRing\Memcached's options: libmemcached's behaviors and php-memcached's
 * own options, stored as php-memcached stores them (so getOption() reports
 * what php-memcached reports, including how options affect each other),
 * and the engine config string the pool's client is made from.
 *
 * What maps to the engine: the distribution and its weighting, the key
 * hash, the prefix and whether it is hashed, the timeouts, the failure
 * limit and retry timeout, ejection of failed servers, replicas and
 * random replica reads, compression. The rest (binary protocol, blocking,
 * buffering, socket options, ...) is accepted and reported, and has no
 * effect: the engine speaks the text and meta protocols over its own
 * non-blocking sockets.
 */
#include "mcring_memcached.h"

#include "zend_smart_str.h"

#include <sys/socket.h>
#include <unistd.h>

#include "php_mcring.h"

/* libmemcached's defaults (memcached.cc, defaults.h). */
static const int64_t behavior_defaults[MC_BEHAVIOR_COUNT] = {
	[MC_BEHAVIOR_SOCKET_SEND_SIZE] = -1,
	[MC_BEHAVIOR_SOCKET_RECV_SIZE] = -1,
	[MC_BEHAVIOR_POLL_TIMEOUT] = 5000,
	[MC_BEHAVIOR_CONNECT_TIMEOUT] = 4000,
	[MC_BEHAVIOR_RETRY_TIMEOUT] = 2,
	[MC_BEHAVIOR_SERVER_FAILURE_LIMIT] = 5,
	[MC_BEHAVIOR_IO_MSG_WATERMARK] = 500,
	[MC_BEHAVIOR_IO_BYTES_WATERMARK] = 65 * 1024,
};

/* Hashes libmemcached accepts (libhashkit as Debian builds it: no hsieh),
   by their numbers, with the engine's names. */
static const char *const hash_names[] = {
	"one_at_a_time", "md5", "crc", "fnv1_64", "fnv1a_64", "fnv1_32", "fnv1a_32",
	NULL /* hsieh */, "murmur", "jenkins", "murmur3",
};
#define HASH_COUNT ((int64_t) (sizeof hash_names / sizeof hash_names[0]))

static int serializer_of_name(const char *name)
{
	if (name == NULL || strcmp(name, "php") == 0) {
		return MC_SERIALIZER_PHP;
	}
	if (strcmp(name, "json") == 0) {
		return MC_SERIALIZER_JSON;
	}
	if (strcmp(name, "json_array") == 0) {
		return MC_SERIALIZER_JSON_ARRAY;
	}
	if (strcmp(name, "igbinary") == 0) {
		return MC_SERIALIZER_IGBINARY;
	}
	if (strcmp(name, "msgpack") == 0) {
		return MC_SERIALIZER_MSGPACK;
	}
	return MC_SERIALIZER_PHP;
}

mcring_mc_pool *mcring_mc_pool_new(bool persistent)
{
	const mcring_mc_settings *ini = mcring_mc_settings_in_use();
	mcring_mc_pool *pool = pecalloc(1, sizeof(*pool), 1);
	pool->persistent = persistent;
	pool->refs = 1;
	memcpy(pool->behavior, behavior_defaults, sizeof pool->behavior);
	pool->compression = true;
	pool->compression_type =
		ini->compression_type != NULL && strcmp(ini->compression_type, "zlib") == 0
		? MC_COMPRESSION_ZLIB : MC_COMPRESSION_FASTLZ;
	pool->compression_level = ini->compression_level;
	pool->serializer = serializer_of_name(ini->serializer);
	pool->user_flags = -1;
	pool->store_retry_count = ini->store_retry_count;
	pool->item_size_limit = ini->item_size_limit;
	/* php-memcached's memcached.default_* settings. */
	if (ini->default_consistent_hash) {
		pool->behavior[MC_BEHAVIOR_DISTRIBUTION] = MC_DISTRIBUTION_CONSISTENT;
	}
	if (ini->default_binary_protocol) {
		pool->behavior[MC_BEHAVIOR_BINARY_PROTOCOL] = 1;
		pool->behavior[MC_BEHAVIOR_TCP_NODELAY] = 1;
	}
	if (ini->default_connect_timeout) {
		pool->behavior[MC_BEHAVIOR_CONNECT_TIMEOUT] = (int32_t) ini->default_connect_timeout;
	}
	return pool;
}

void mcring_mc_pool_release(mcring_mc_pool *pool)
{
	if (--pool->refs > 0) {
		return;
	}
	if (pool->client != NULL) {
		mcring_client_free(pool->client);
	}
	if (pool->client_config != NULL) {
		zend_string_release_ex(pool->client_config, 1);
	}
	for (uint32_t i = 0; i < pool->server_count; i++) {
		pefree(pool->servers[i].host, 1);
	}
	if (pool->servers != NULL) {
		pefree(pool->servers, 1);
	}
	if (pool->prefix != NULL) {
		pefree(pool->prefix, 1);
	}
	if (pool->engine_options != NULL) {
		pefree(pool->engine_options, 1);
	}
	if (pool->last_error_message != NULL) {
		pefree(pool->last_error_message, 1);
	}
	if (pool->last_disconnected != NULL) {
		pefree(pool->last_disconnected, 1);
	}
	pefree(pool, 1);
}

/* ---- libmemcached's behaviors ------------------------------------------ */

static bool is_consistent(int64_t distribution)
{
	return distribution == MC_DISTRIBUTION_CONSISTENT
		|| distribution == MC_DISTRIBUTION_CONSISTENT_KETAMA
		|| distribution == MC_DISTRIBUTION_CONSISTENT_KETAMA_SPY
		|| distribution == MC_DISTRIBUTION_CONSISTENT_WEIGHTED;
}

/* memcached_behavior_get(), as a PHP int. */
static zend_long behavior_get(const mcring_mc_pool *pool, int flag)
{
	const int64_t *b = pool->behavior;
	switch (flag) {
	case MC_BEHAVIOR_KETAMA:
		return is_consistent(b[MC_BEHAVIOR_DISTRIBUTION]);
	case MC_BEHAVIOR_KETAMA_WEIGHTED:
		return is_consistent(b[MC_BEHAVIOR_DISTRIBUTION]) && pool->weighted;
	case MC_BEHAVIOR_AUTO_EJECT_HOSTS:
		return b[MC_BEHAVIOR_REMOVE_FAILED_SERVERS];
	case MC_BEHAVIOR_CACHE_LOOKUPS:
	case MC_BEHAVIOR_CORK:
		return 1;
	case MC_BEHAVIOR_USER_DATA:
	case MC_BEHAVIOR_LOAD_FROM_FILE:
		return 0;
	default:
		return (zend_long) b[flag];
	}
}

/* A distribution change, with libmemcached's effect on the weighted flag. */
static int set_distribution(mcring_mc_pool *pool, int64_t d)
{
	switch (d) {
	case MC_DISTRIBUTION_MODULA:
		break;
	case MC_DISTRIBUTION_CONSISTENT:
	case MC_DISTRIBUTION_CONSISTENT_KETAMA:
		pool->weighted = false;
		break;
	case MC_DISTRIBUTION_CONSISTENT_WEIGHTED:
		pool->weighted = true;
		break;
	case MC_DISTRIBUTION_RANDOM:
	case MC_DISTRIBUTION_CONSISTENT_KETAMA_SPY:
	case MC_DISTRIBUTION_VIRTUAL_BUCKET:
		/* Valid in libmemcached; placement the engine does not offer. */
		php_error_docref(NULL, E_WARNING,
			"distribution %" PRId64 " (random, ketama-spy or virtual buckets) is not supported by mcring",
			d);
		return MCRING_RES_NOT_SUPPORTED;
	default:
		return MCRING_RES_INVALID_ARGUMENTS;
	}
	pool->behavior[MC_BEHAVIOR_DISTRIBUTION] = d;
	return MCRING_RES_SUCCESS;
}

/* A hash change, as libhashkit takes it: a hash it knows but does not
   offer (hsieh, custom) leaves the hash as it was; a number past its list
   resets it to the default. */
static int set_hash(mcring_mc_pool *pool, int flag, uint64_t h)
{
	if (h >= 12) {
		pool->behavior[flag] = 0;
		return MCRING_RES_INVALID_ARGUMENTS;
	}
	if ((int64_t) h >= HASH_COUNT || hash_names[h] == NULL) {
		return MCRING_RES_INVALID_ARGUMENTS;
	}
	pool->behavior[flag] = h;
	return MCRING_RES_SUCCESS;
}

/* memcached_behavior_set(): a libmemcached result code. */
int mcring_mc_behavior_set(mcring_mc_pool *pool, int flag, uint64_t data)
{
	int64_t *b = pool->behavior;
	switch (flag) {
	case MC_BEHAVIOR_NUMBER_OF_REPLICAS:
	case MC_BEHAVIOR_IO_MSG_WATERMARK:
	case MC_BEHAVIOR_IO_BYTES_WATERMARK:
	case MC_BEHAVIOR_IO_KEY_PREFETCH:
	case MC_BEHAVIOR_SERVER_TIMEOUT_LIMIT:
	case MC_BEHAVIOR_TCP_KEEPIDLE:
		b[flag] = (uint32_t) data;
		break;
	case MC_BEHAVIOR_SND_TIMEOUT:
	case MC_BEHAVIOR_RCV_TIMEOUT:
	case MC_BEHAVIOR_POLL_TIMEOUT:
	case MC_BEHAVIOR_CONNECT_TIMEOUT:
	case MC_BEHAVIOR_RETRY_TIMEOUT:
	case MC_BEHAVIOR_DEAD_TIMEOUT:
	case MC_BEHAVIOR_SOCKET_SEND_SIZE:
	case MC_BEHAVIOR_SOCKET_RECV_SIZE:
		b[flag] = (int32_t) data;
		break;
	case MC_BEHAVIOR_SERVER_FAILURE_LIMIT:
		if (data == 0) {
			return MCRING_RES_INVALID_ARGUMENTS;
		}
		b[flag] = (uint32_t) data;
		break;
	case MC_BEHAVIOR_REMOVE_FAILED_SERVERS:
	case MC_BEHAVIOR_AUTO_EJECT_HOSTS:
		b[MC_BEHAVIOR_REMOVE_FAILED_SERVERS] = data != 0;
		break;
	case MC_BEHAVIOR_BINARY_PROTOCOL:
		if (data) {
			b[MC_BEHAVIOR_VERIFY_KEY] = 0;
		}
		b[flag] = data != 0;
		break;
	case MC_BEHAVIOR_VERIFY_KEY:
		if (b[MC_BEHAVIOR_BINARY_PROTOCOL]) {
			return MCRING_RES_INVALID_ARGUMENTS;
		}
		b[flag] = data != 0;
		break;
	case MC_BEHAVIOR_USE_UDP:
		if (data) {
			php_error_docref(NULL, E_WARNING, "UDP is not supported by mcring");
			return MCRING_RES_NOT_SUPPORTED;
		}
		b[flag] = 0;
		break;
	case MC_BEHAVIOR_DISTRIBUTION:
		return set_distribution(pool, (int64_t) data);
	case MC_BEHAVIOR_KETAMA:
		return set_distribution(
			pool, data ? MC_DISTRIBUTION_CONSISTENT_KETAMA : MC_DISTRIBUTION_MODULA);
	case MC_BEHAVIOR_KETAMA_WEIGHTED:
		if (!data) {
			return set_distribution(pool, MC_DISTRIBUTION_CONSISTENT_KETAMA);
		}
		b[MC_BEHAVIOR_HASH] = 1; /* md5 */
		b[MC_BEHAVIOR_KETAMA_HASH] = 1;
		return set_distribution(pool, MC_DISTRIBUTION_CONSISTENT_WEIGHTED);
	case MC_BEHAVIOR_HASH:
	case MC_BEHAVIOR_KETAMA_HASH:
		return set_hash(pool, flag, data);
	case MC_BEHAVIOR_CACHE_LOOKUPS:
	case MC_BEHAVIOR_USER_DATA:
	case MC_BEHAVIOR_CORK:
		return MCRING_RES_DEPRECATED;
	case MC_BEHAVIOR_LOAD_FROM_FILE:
		return MCRING_RES_INVALID_ARGUMENTS;
	default: /* flags */
		b[flag] = data != 0;
		break;
	}
	return MCRING_RES_SUCCESS;
}

/* ---- setOption() ---------------------------------------------------------- */

/* The prefix as libmemcached's namespace takes it: up to 127 bytes
   (longer ones leave the prefix as it was, and php-memcached still
   reports success). */
static bool set_prefix(mcring_mc_object *o, zval *value)
{
	mcring_mc_pool *pool = o->pool;
	zend_string *text = zval_get_string(value);
	if (ZSTR_LEN(text) >= 128) {
		zend_string_release(text);
		return true;
	}
	/* A byte the engine cannot put in a text command (php-memcached sends
	   it, and the server then misreads the command). */
	for (size_t i = 0; i < ZSTR_LEN(text); i++) {
		unsigned char c = (unsigned char) ZSTR_VAL(text)[i];
		if (c <= ' ' || c == 0x7f) {
			zend_string_release(text);
			o->rescode = MCRING_RES_INVALID_ARGUMENTS;
			php_error_docref(NULL, E_WARNING, "bad key provided");
			return false;
		}
	}
	if (pool->prefix != NULL) {
		pefree(pool->prefix, 1);
		pool->prefix = NULL;
	}
	if (ZSTR_LEN(text) > 0) {
		pool->prefix = pestrndup(ZSTR_VAL(text), ZSTR_LEN(text), 1);
	}
	zend_string_release(text);
	mcring_mc_pool_changed(pool);
	return true;
}

static bool serializer_available(zend_long s)
{
	switch (s) {
	case MC_SERIALIZER_PHP:
	case MC_SERIALIZER_JSON:
	case MC_SERIALIZER_JSON_ARRAY:
		return true;
	case MC_SERIALIZER_IGBINARY:
		return zend_hash_str_exists(&module_registry, ZEND_STRL("igbinary"));
	case MC_SERIALIZER_MSGPACK:
		return zend_hash_str_exists(&module_registry, ZEND_STRL("msgpack"));
	default:
		return false;
	}
}

bool mcring_mc_set_option(mcring_mc_object *o, zend_long option, zval *value)
{
	mcring_mc_pool *pool = o->pool;
	zend_long lval;
	switch (option) {
	case MC_OPT_COMPRESSION:
		pool->compression = zval_get_long(value) != 0;
		mcring_mc_pool_changed(pool);
		return true;
	case MC_OPT_COMPRESSION_TYPE:
		lval = zval_get_long(value);
		if (lval != MC_COMPRESSION_FASTLZ && lval != MC_COMPRESSION_ZLIB) {
			o->rescode = MCRING_RES_INVALID_ARGUMENTS;
			return false;
		}
		pool->compression_type = lval;
		mcring_mc_pool_changed(pool);
		return true;
	case MC_OPT_COMPRESSION_LEVEL:
		pool->compression_level = zval_get_long(value);
		mcring_mc_pool_changed(pool);
		return true;
	case MC_OPT_PREFIX_KEY:
		return set_prefix(o, value);
	case MC_OPT_SERIALIZER:
		lval = zval_get_long(value);
		if (!serializer_available(lval)) {
			pool->serializer = MC_SERIALIZER_PHP;
			o->rescode = MCRING_RES_INVALID_ARGUMENTS;
			php_error_docref(NULL, E_WARNING, "invalid serializer provided");
			return false;
		}
		pool->serializer = lval;
		return true;
	case MC_OPT_USER_FLAGS:
		lval = zval_get_long(value);
		if (lval < 0) {
			pool->user_flags = -1;
			return true;
		}
		if (lval > 0xffff) {
			php_error_docref(NULL, E_WARNING, "MEMC_OPT_USER_FLAGS must be < %u", 0xffff);
			return false;
		}
		pool->user_flags = lval;
		return true;
	case MC_OPT_STORE_RETRY_COUNT:
		pool->store_retry_count = zval_get_long(value);
		return true;
	case MC_OPT_ITEM_SIZE_LIMIT:
		lval = zval_get_long(value);
		pool->item_size_limit = lval > 0 ? lval : 0;
		return true;
	default:
		break;
	}

	/* A libmemcached behavior. */
	int code;
	if (option < 0 || option >= MC_BEHAVIOR_COUNT) {
		code = MCRING_RES_INVALID_ARGUMENTS;
	} else {
		int flag = (int) option;
		lval = zval_get_long(value);
		/* php-memcached leaves an option alone when it already has the
		   value (libmemcached would drop connections for nothing) — except
		   OPT_LIBKETAMA_COMPATIBLE, which it always sets, and turning it
		   off also resets the hash and distribution. */
		if (flag != MC_BEHAVIOR_KETAMA_WEIGHTED
			&& !((flag == MC_BEHAVIOR_SOCKET_SEND_SIZE || flag == MC_BEHAVIOR_SOCKET_RECV_SIZE)
				&& pool->behavior[flag] == -1)
			&& behavior_get(pool, flag) == lval) {
			return true;
		}
		code = mcring_mc_behavior_set(pool, flag, (uint64_t) lval);
		if (flag == MC_BEHAVIOR_KETAMA_WEIGHTED && code == MCRING_RES_SUCCESS && !lval) {
			pool->behavior[MC_BEHAVIOR_HASH] = 0;
			pool->behavior[MC_BEHAVIOR_KETAMA_HASH] = 0;
			pool->behavior[MC_BEHAVIOR_DISTRIBUTION] = MC_DISTRIBUTION_MODULA;
		}
		if (code == MCRING_RES_SUCCESS) {
			mcring_mc_pool_changed(pool);
		}
	}
	o->rescode = code;
	if (mcring_mc_is_failure(code)) {
		php_error_docref(NULL, E_WARNING, "error setting memcached option: %s", mcring_res_message(code));
		return false;
	}
	return true;
}

/* The kernel's default socket buffer size (SO_SNDBUF or SO_RCVBUF) of a new
   TCP socket: what libmemcached reports for OPT_SOCKET_SEND_SIZE and
   OPT_SOCKET_RECV_SIZE when they were not set (it asks its first server's
   connected socket; the engine's sockets are its own). */
static zend_long default_socket_size(int which)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		return 0;
	}
	int size = 0;
	socklen_t len = sizeof size;
	if (getsockopt(fd, SOL_SOCKET, which, &size, &len) != 0) {
		size = 0;
	}
	close(fd);
	return size;
}

PHP_METHOD(McRing_Memcached, getOption)
{
	zend_long option;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_LONG(option)
	ZEND_PARSE_PARAMETERS_END();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_mc_pool *pool = o->pool;
	switch (option) {
	case MC_OPT_COMPRESSION_TYPE:
		RETURN_LONG(pool->compression_type);
	case MC_OPT_COMPRESSION:
		RETURN_BOOL(pool->compression);
	case MC_OPT_COMPRESSION_LEVEL:
		RETURN_LONG(pool->compression_level);
	case MC_OPT_PREFIX_KEY:
		if (pool->prefix != NULL) {
			RETURN_STRING(pool->prefix);
		}
		RETURN_EMPTY_STRING();
	case MC_OPT_SERIALIZER:
		RETURN_LONG(pool->serializer);
	case MC_OPT_USER_FLAGS:
		RETURN_LONG(pool->user_flags);
	case MC_OPT_STORE_RETRY_COUNT:
		RETURN_LONG(pool->store_retry_count);
	case MC_OPT_ITEM_SIZE_LIMIT:
		RETURN_LONG(pool->item_size_limit);
	case MC_BEHAVIOR_SOCKET_SEND_SIZE:
	case MC_BEHAVIOR_SOCKET_RECV_SIZE:
		if (pool->server_count == 0) {
			php_error_docref(NULL, E_WARNING, "no servers defined");
			return;
		}
		if (pool->behavior[option] == -1) {
			RETURN_LONG(default_socket_size(
				option == MC_BEHAVIOR_SOCKET_SEND_SIZE ? SO_SNDBUF : SO_RCVBUF));
		}
		RETURN_LONG((zend_long) pool->behavior[option]);
	default:
		if (option < 0 || option >= MC_BEHAVIOR_COUNT) {
			/* php-memcached's libmemcached aborts the process here. */
			php_error_docref(NULL, E_WARNING, "invalid option " ZEND_LONG_FMT, option);
			RETURN_FALSE;
		}
		RETURN_LONG(behavior_get(pool, (int) option));
	}
}

PHP_METHOD(McRing_Memcached, setOption)
{
	zend_long option;
	zval *value;
	ZEND_PARSE_PARAMETERS_START(2, 2)
		Z_PARAM_LONG(option)
		Z_PARAM_ZVAL(value)
	ZEND_PARSE_PARAMETERS_END();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	RETURN_BOOL(mcring_mc_set_option(o, option, value));
}

PHP_METHOD(McRing_Memcached, setOptions)
{
	HashTable *options;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_ARRAY_HT(options)
	ZEND_PARSE_PARAMETERS_END();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	bool ok = true;
	zend_string *name;
	zend_ulong index;
	zval *value;
	ZEND_HASH_FOREACH_KEY_VAL(options, index, name, value) {
		if (name != NULL) {
			php_error_docref(NULL, E_WARNING, "invalid configuration option");
			ok = false;
		} else if (!mcring_mc_set_option(o, (zend_long) index, value)) {
			ok = false;
		}
	} ZEND_HASH_FOREACH_END();
	RETURN_BOOL(ok);
}

/* ---- the engine config string -------------------------------------------- */

/* One server token of a config string. Without libmemcached's weighted
   flag, consistent placement ignores weights, so they are left out (the
   engine would otherwise weight servers of weight > 1). */
static void append_server(smart_str *out, const mcring_mc_server *s, bool with_weight)
{
	uint32_t weight = with_weight && s->weight > 1 ? s->weight : 1;
	if (s->is_unix) {
		smart_str_appends(out, s->host);
	} else if (strchr(s->host, ':') != NULL) {
		smart_str_appendc(out, '[');
		smart_str_appends(out, s->host);
		smart_str_appendc(out, ']');
		smart_str_appendc(out, ':');
		smart_str_append_unsigned(out, s->port);
	} else {
		smart_str_appends(out, s->host);
		smart_str_appendc(out, ':');
		smart_str_append_unsigned(out, s->port);
	}
	if (weight > 1) {
		smart_str_appendc(out, ':');
		smart_str_append_unsigned(out, weight);
	}
}

/* libmemcached's SORT_HOSTS order: by host name, then port. */
static int compare_servers(const void *a, const void *b)
{
	const mcring_mc_server *x = a, *y = b;
	int by_name = strcmp(x->host, y->host);
	if (by_name != 0) {
		return by_name;
	}
	return (int) x->port - (int) y->port;
}

static void append_option(smart_str *out, const char *name, const char *value)
{
	smart_str_appendc(out, ' ');
	smart_str_appends(out, name);
	smart_str_appendc(out, '=');
	smart_str_appends(out, value);
}

static void append_number(smart_str *out, const char *name, int64_t value)
{
	char text[32];
	snprintf(text, sizeof text, "%" PRId64, value);
	append_option(out, name, text);
}

/* A timeout in milliseconds as the engine takes it (1..3600000); 0 and
   negative values (libmemcached's "infinite") become the longest. */
static int64_t timeout_ms(int64_t ms)
{
	return ms <= 0 || ms > 3600000 ? 3600000 : ms;
}

zend_string *mcring_mc_config_string(const mcring_mc_pool *pool)
{
	const int64_t *b = pool->behavior;
	const mcring_mc_settings *ini = mcring_mc_settings_in_use();
	smart_str out = {0};
	int64_t distribution = b[MC_BEHAVIOR_DISTRIBUTION];
	bool consistent = is_consistent(distribution);
	bool weighted = consistent && pool->weighted;

	if (pool->server_count > 0) {
		mcring_mc_server *order = safe_emalloc(pool->server_count, sizeof *order, 0);
		memcpy(order, pool->servers, pool->server_count * sizeof *order);
		if (b[MC_BEHAVIOR_SORT_HOSTS]) {
			qsort(order, pool->server_count, sizeof *order, compare_servers);
		}
		for (uint32_t i = 0; i < pool->server_count; i++) {
			if (i > 0) {
				smart_str_appendc(&out, ' ');
			}
			append_server(&out, &order[i], weighted);
		}
		efree(order);
	}
	append_option(&out, "distribution",
		!consistent ? "modula" : weighted ? "ketama-weighted" : "ketama");
	append_option(&out, "hash", hash_names[b[MC_BEHAVIOR_HASH]]);
	if (pool->prefix != NULL) {
		append_option(&out, "prefix", pool->prefix);
	}
	append_option(&out, "hash_with_prefix", b[MC_BEHAVIOR_HASH_WITH_PREFIX_KEY] ? "true" : "false");
	append_number(&out, "connect_timeout_ms", timeout_ms(b[MC_BEHAVIOR_CONNECT_TIMEOUT]));
	/* libmemcached waits up to the poll timeout for each step of a request;
	   a send or receive timeout (microseconds), when set and shorter,
	   bounds the socket's operations. */
	int64_t io = timeout_ms(b[MC_BEHAVIOR_POLL_TIMEOUT]);
	for (int t = MC_BEHAVIOR_SND_TIMEOUT; t <= MC_BEHAVIOR_RCV_TIMEOUT; t++) {
		if (b[t] > 0 && (b[t] + 999) / 1000 < io) {
			io = (b[t] + 999) / 1000;
		}
	}
	append_number(&out, "io_timeout_ms", io);
	/* libmemcached leaves a server alone for the retry timeout after any
	   failure; SERVER_FAILURE_LIMIT failures eject it when failed servers
	   are removed. */
	int64_t limit = b[MC_BEHAVIOR_SERVER_FAILURE_LIMIT] > 1000000 ? 1000000 : b[MC_BEHAVIOR_SERVER_FAILURE_LIMIT];
	append_number(&out, "failure_limit", b[MC_BEHAVIOR_REMOVE_FAILED_SERVERS] && limit > 0 ? limit : 1);
	append_number(&out, "retry_timeout_ms",
		b[MC_BEHAVIOR_RETRY_TIMEOUT] <= 0 ? 0
		: b[MC_BEHAVIOR_RETRY_TIMEOUT] > 86400 ? 86400000 : b[MC_BEHAVIOR_RETRY_TIMEOUT] * 1000);
	/* Without REMOVE_FAILED_SERVERS a dead server's keys are not moved. */
	append_option(&out, "failover", b[MC_BEHAVIOR_REMOVE_FAILED_SERVERS] ? "eject" : "none");
	if (b[MC_BEHAVIOR_NUMBER_OF_REPLICAS] > 0) {
		append_number(&out, "replicas",
			b[MC_BEHAVIOR_NUMBER_OF_REPLICAS] > 16 ? 16 : b[MC_BEHAVIOR_NUMBER_OF_REPLICAS]);
		/* libmemcached's: the next servers of the list, so php-memcached
		   and mcring find each other's copies. */
		append_option(&out, "replica_placement", "libmemcached");
		append_option(&out, "read_policy", b[MC_BEHAVIOR_RANDOMIZE_REPLICA_READ] ? "random" : "primary");
	}
	append_option(&out, "value_format", "php");
	/* php-memcached compresses strings and serialized values from
	   memcached.compression_threshold bytes on. */
	append_number(&out, "compress_threshold",
		pool->compression && ini->compression_threshold > 0 ? ini->compression_threshold : 0);
	append_option(&out, "compression", pool->compression_type == MC_COMPRESSION_ZLIB ? "zlib" : "fastlz");
	append_number(&out, "compression_level",
		pool->compression_level < 0 ? 0 : pool->compression_level > 9 ? 9 : pool->compression_level);
	char factor[32];
	snprintf(factor, sizeof factor, "%.17g",
		ini->compression_factor >= 0 && ini->compression_factor <= 1000 ? ini->compression_factor : 1.3);
	append_option(&out, "compression_factor", factor);
	/* Values of any size: as php-memcached, the server's item size limit
	   decides (OPT_ITEM_SIZE_LIMIT is checked before sending). */
	append_number(&out, "max_value_bytes", 1 << 30);
	if (pool->engine_options != NULL) {
		smart_str_appendc(&out, ' ');
		smart_str_appends(&out, pool->engine_options);
	}
	smart_str_0(&out);
	return out.s != NULL ? out.s : ZSTR_EMPTY_ALLOC();
}
