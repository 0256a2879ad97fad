/*
 * McRing\Memcached's connection strings (the constructor's third argument):
 * libmemcached's configuration syntax ("--SERVER=host:port/?weight
 * --BINARY-PROTOCOL --NAMESPACE=..."), or an mcring config string
 * ("host:port host:port name=value"), whose options are passed to the
 * engine as they are and win over what the Memcached options map to.
 */
#include "mcring_memcached.h"

#include "zend_smart_str.h"

#include <strings.h>

/* libmemcached's configuration options without a value, by name. */
static const struct {
	const char *name;
	int behavior;
} flag_options[] = {
	{"BINARY-PROTOCOL", MC_BEHAVIOR_BINARY_PROTOCOL},
	{"BUFFER-REQUESTS", MC_BEHAVIOR_BUFFER_REQUESTS},
	{"HASH-WITH-NAMESPACE", MC_BEHAVIOR_HASH_WITH_PREFIX_KEY},
	{"NOREPLY", MC_BEHAVIOR_NOREPLY},
	{"RANDOMIZE-REPLICA-READ", MC_BEHAVIOR_RANDOMIZE_REPLICA_READ},
	{"SORT-HOSTS", MC_BEHAVIOR_SORT_HOSTS},
	{"SUPPORT-CAS", MC_BEHAVIOR_SUPPORT_CAS},
	{"TCP-NODELAY", MC_BEHAVIOR_TCP_NODELAY},
	{"TCP-KEEPALIVE", MC_BEHAVIOR_TCP_KEEPALIVE},
	{"USE-UDP", MC_BEHAVIOR_USE_UDP},
	{"VERIFY-KEY", MC_BEHAVIOR_VERIFY_KEY},
	{"REMOVE-FAILED-SERVERS", MC_BEHAVIOR_REMOVE_FAILED_SERVERS},
};

/* ... and with a number. */
static const struct {
	const char *name;
	int behavior;
} number_options[] = {
	{"CONNECT-TIMEOUT", MC_BEHAVIOR_CONNECT_TIMEOUT},
	{"IO-BYTES-WATERMARK", MC_BEHAVIOR_IO_BYTES_WATERMARK},
	{"IO-KEY-PREFETCH", MC_BEHAVIOR_IO_KEY_PREFETCH},
	{"IO-MSG-WATERMARK", MC_BEHAVIOR_IO_MSG_WATERMARK},
	{"NUMBER-OF-REPLICAS", MC_BEHAVIOR_NUMBER_OF_REPLICAS},
	{"POLL-TIMEOUT", MC_BEHAVIOR_POLL_TIMEOUT},
	{"RCV-TIMEOUT", MC_BEHAVIOR_RCV_TIMEOUT},
	{"REMOVE-FAILED-SERVERS", MC_BEHAVIOR_REMOVE_FAILED_SERVERS},
	{"RETRY-TIMEOUT", MC_BEHAVIOR_RETRY_TIMEOUT},
	{"SERVER-FAILURE-LIMIT", MC_BEHAVIOR_SERVER_FAILURE_LIMIT},
	{"SND-TIMEOUT", MC_BEHAVIOR_SND_TIMEOUT},
	{"SOCKET-RECV-SIZE", MC_BEHAVIOR_SOCKET_RECV_SIZE},
	{"SOCKET-SEND-SIZE", MC_BEHAVIOR_SOCKET_SEND_SIZE},
	{"TCP-KEEPIDLE", MC_BEHAVIOR_TCP_KEEPIDLE},
};

/* The value of a token, without the double quotes libmemcached allows. */
static zend_string *unquoted(const char *value, size_t len)
{
	if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
		return zend_string_init(value + 1, len - 2, 0);
	}
	return zend_string_init(value, len, 0);
}

/* "host[:port][/?weight]" or "[v6addr]:port", "/path" (libmemcached's
   --SERVER and --SOCKET), or "host:port:weight", "[v6addr]:port:weight",
   "/path:weight" (an mcring config string's server). */
static bool add_server_token(mcring_mc_pool *pool, const char *token, size_t len, bool mcring_form)
{
	zend_string *text = unquoted(token, len);
	char *spec = ZSTR_VAL(text);
	zend_long weight = 0, port = 0;
	char *weight_at = strstr(spec, "/?");
	if (weight_at != NULL && !mcring_form) {
		*weight_at = '\0';
		weight = ZEND_STRTOL(weight_at + 2, NULL, 10);
	}
	bool ok = true;
	if (spec[0] == '/') {
		char *colon = mcring_form ? strrchr(spec, ':') : NULL;
		if (colon != NULL && colon[1] != '\0' && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
			*colon = '\0';
			weight = ZEND_STRTOL(colon + 1, NULL, 10);
		}
		mcring_mc_add_server(pool, spec, 0, weight, true);
	} else {
		char *host = spec, *rest;
		if (spec[0] == '[') {
			char *close = strchr(spec, ']');
			ok = close != NULL;
			if (ok) {
				*close = '\0';
				host = spec + 1;
				rest = close + 1;
			}
		} else {
			rest = strchr(spec, ':');
			if (rest == NULL) {
				rest = spec + strlen(spec);
			}
		}
		if (ok && *rest == ':') {
			*rest++ = '\0';
			char *end;
			port = ZEND_STRTOL(rest, &end, 10);
			if (mcring_form && *end == ':') {
				weight = ZEND_STRTOL(end + 1, &end, 10);
			}
			ok = *end == '\0' && port > 0 && port <= 65535;
		} else if (ok) {
			*rest = '\0';
		}
		ok = ok && host[0] != '\0';
		if (ok) {
			mcring_mc_add_server(pool, host, port, weight, mcring_form);
		}
	}
	zend_string_release(text);
	return ok;
}

/* One "--NAME[=value]" option of libmemcached's syntax. */
static bool apply_libmemcached_option(mcring_mc_object *o, const char *token, size_t len)
{
	mcring_mc_pool *pool = o->pool;
	const char *eq = memchr(token, '=', len);
	size_t name_len = eq != NULL ? (size_t) (eq - token) : len;
	const char *value = eq != NULL ? eq + 1 : NULL;
	size_t value_len = eq != NULL ? len - name_len - 1 : 0;
#define IS(n) (name_len == strlen(n) && strncasecmp(token, n, name_len) == 0)
	if (IS("SERVER") || IS("SOCKET")) {
		return value != NULL && add_server_token(pool, value, value_len, false);
	}
	if (IS("NAMESPACE")) {
		if (value == NULL) {
			return false;
		}
		zval prefix;
		ZVAL_STR(&prefix, unquoted(value, value_len));
		bool ok = mcring_mc_set_option(o, MC_OPT_PREFIX_KEY, &prefix);
		zval_ptr_dtor(&prefix);
		return ok;
	}
	if (IS("DISTRIBUTION") || IS("HASH")) {
		if (value == NULL) {
			return false;
		}
		static const char *const distributions[] = {"MODULA", "CONSISTENT", NULL, "RANDOM"};
		static const char *const hashes[] = {
			"DEFAULT", "MD5", "CRC", "FNV1_64", "FNV1A_64", "FNV1_32", "FNV1A_32",
			"HSIEH", "MURMUR", "JENKINS", "MURMUR3",
		};
		bool distribution = IS("DISTRIBUTION");
		const char *const *names = distribution ? distributions : hashes;
		size_t count = distribution ? 4 : sizeof hashes / sizeof hashes[0];
		size_t word = strcspn(value, ",");
		if (word > value_len) {
			word = value_len;
		}
		for (size_t i = 0; i < count; i++) {
			if (names[i] != NULL && strlen(names[i]) == word && strncasecmp(value, names[i], word) == 0) {
				return mcring_mc_behavior_set(pool, distribution ? MC_BEHAVIOR_DISTRIBUTION : MC_BEHAVIOR_HASH,
					i) == MCRING_RES_SUCCESS;
			}
		}
		return false;
	}
	if (IS("POOL-MIN") || IS("POOL-MAX") || IS("FETCH-VERSION")) {
		return true; /* the engine keeps its own connection pool */
	}
	for (size_t i = 0; i < sizeof number_options / sizeof number_options[0]; i++) {
		if (value != NULL && IS(number_options[i].name)) {
			char *end;
			zend_long n = ZEND_STRTOL(value, &end, 10);
			return end == value + value_len && value_len > 0
				&& mcring_mc_behavior_set(pool, number_options[i].behavior, (uint64_t) n) == MCRING_RES_SUCCESS;
		}
	}
	for (size_t i = 0; i < sizeof flag_options / sizeof flag_options[0]; i++) {
		if (value == NULL && IS(flag_options[i].name)) {
			return mcring_mc_behavior_set(pool, flag_options[i].behavior, 1) == MCRING_RES_SUCCESS;
		}
	}
#undef IS
	return false;
}

bool mcring_mc_apply_connection_string(mcring_mc_object *o, zend_string *text)
{
	mcring_mc_pool *pool = o->pool;
	smart_str engine = {0};
	const char *p = ZSTR_VAL(text), *end = p + ZSTR_LEN(text);
	bool ok = memchr(p, '\0', ZSTR_LEN(text)) == NULL;
	while (ok && p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',')) {
			p++;
		}
		if (p >= end) {
			break;
		}
		/* A token runs to the next blank outside double quotes. */
		const char *start = p;
		bool quoted = false;
		while (p < end && (quoted || !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))) {
			quoted ^= *p == '"';
			p++;
		}
		size_t len = (size_t) (p - start);
		if (len > 2 && start[0] == '-' && start[1] == '-') {
			ok = apply_libmemcached_option(o, start + 2, len - 2);
		} else if (memchr(start, '=', len) != NULL) {
			/* An mcring option, checked by the engine when the client is
			   made; it wins over what the Memcached options map to. */
			if (engine.s != NULL) {
				smart_str_appendc(&engine, ' ');
			}
			smart_str_appendl(&engine, start, len);
		} else {
			ok = add_server_token(pool, start, len, true);
		}
		if (!ok) {
			php_error_docref(NULL, E_WARNING, "cannot read \"%.*s\" of the connection string", (int) len, start);
		}
	}
	if (ok && engine.s != NULL) {
		smart_str_0(&engine);
		/* Refused now rather than by every command. */
		mcring_client *probe = NULL;
		mcring_status status = mcring_client_new(ZSTR_VAL(engine.s), &probe);
		mcring_client_free(probe);
		if (status != MCRING_OK) {
			php_error_docref(NULL, E_WARNING, "%s", mcring_last_error());
			ok = false;
		} else {
			pool->engine_options = pestrndup(ZSTR_VAL(engine.s), ZSTR_LEN(engine.s), 1);
		}
	}
	smart_str_free(&engine);
	mcring_mc_pool_changed(pool);
	return ok;
}
