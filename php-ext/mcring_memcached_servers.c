/*
 * McRing\Memcached's server list and the commands addressed to every
 * server: flush, statistics, versions, the keys they hold.
 */
#include "mcring_memcached.h"
#include "mcring_report.h"

/* The client for a command addressed to every server, or NULL (with
   RES_NO_SERVERS) when the list is empty, as libmemcached refuses it. */
static mcring_client *every_server_client(mcring_mc_object *o)
{
	if (o->pool->server_count == 0) {
		o->rescode = MCRING_RES_NO_SERVERS;
		return NULL;
	}
	return mcring_mc_client(o);
}

/* Whether two servers are the same entry of a list. */
static bool same_server(const mcring_mc_server *s, const char *host, uint16_t port, uint32_t weight)
{
	return s->port == port && s->weight == weight && strcmp(s->host, host) == 0;
}

void mcring_mc_add_server(mcring_mc_pool *pool, const char *host, zend_long port, zend_long weight,
	bool from_push)
{
	/* As libmemcached: an empty host is localhost; a path is a unix socket
	   (its port 0 when pushed by addServers(), 11211 when added by
	   addServer()); a TCP port 0 is 11211; ports and weights are taken
	   as libmemcached's unsigned types take them. */
	if (host[0] == '\0') {
		host = "localhost";
	}
	bool is_unix = host[0] == '/';
	uint16_t p = (uint16_t) port;
	if (p == 0 && !(is_unix && from_push)) {
		p = 11211;
	}
	uint32_t w = (uint32_t) weight;
	for (uint32_t i = 0; i < pool->server_count; i++) {
		if (same_server(&pool->servers[i], host, p, w)) {
			return;
		}
	}
	if (pool->server_count == pool->server_cap) {
		pool->server_cap = pool->server_cap == 0 ? 4 : pool->server_cap * 2;
		pool->servers = perealloc(pool->servers, pool->server_cap * sizeof *pool->servers, 1);
	}
	pool->servers[pool->server_count++] = (mcring_mc_server) {
		.host = pestrdup(host, 1), .port = p, .weight = w, .is_unix = is_unix,
	};
	/* libmemcached's weighted flag: addServer() sets it for a weight > 1
	   under a consistent distribution, addServers() for any weight > 1. */
	int64_t d = pool->behavior[MC_BEHAVIOR_DISTRIBUTION];
	bool consistent = d == MC_DISTRIBUTION_CONSISTENT || d == MC_DISTRIBUTION_CONSISTENT_KETAMA
		|| d == MC_DISTRIBUTION_CONSISTENT_KETAMA_SPY || d == MC_DISTRIBUTION_CONSISTENT_WEIGHTED;
	if (w > 1 && (from_push || consistent)) {
		pool->weighted = true;
	}
	mcring_mc_pool_changed(pool);
}

PHP_METHOD(McRing_Memcached, addServer)
{
	zend_string *host;
	zend_long port, weight = 0;
	ZEND_PARSE_PARAMETERS_START(2, 3)
		Z_PARAM_STR(host)
		Z_PARAM_LONG(port)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(weight)
	ZEND_PARSE_PARAMETERS_END();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	if (memchr(ZSTR_VAL(host), '\0', ZSTR_LEN(host)) != NULL) {
		o->rescode = MCRING_RES_INVALID_HOST_PROTOCOL;
		RETURN_FALSE;
	}
	mcring_mc_add_server(o->pool, ZSTR_VAL(host), port, weight, false);
	RETURN_TRUE;
}

PHP_METHOD(McRing_Memcached, addServers)
{
	HashTable *servers;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_ARRAY_HT(servers)
	ZEND_PARSE_PARAMETERS_END();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	uint32_t position = 0;
	zval *entry;
	/* As php-memcached: an entry is [host, port(, weight)] by position;
	   one that is not is skipped with a warning. */
	ZEND_HASH_FOREACH_VAL(servers, entry) {
		position++;
		ZVAL_DEREF(entry);
		if (Z_TYPE_P(entry) != IS_ARRAY) {
			php_error_docref(NULL, E_WARNING, "server list entry #%" PRIu32 " is not an array", position);
			continue;
		}
		HashTable *fields = Z_ARRVAL_P(entry);
		if (zend_hash_num_elements(fields) < 2) {
			php_error_docref(NULL, E_WARNING, "could not add entry #%" PRIu32 " to the server list",
				position + 1);
			continue;
		}
		zval *values[3] = {NULL, NULL, NULL};
		uint32_t n = 0;
		zval *field;
		ZEND_HASH_FOREACH_VAL(fields, field) {
			if (n < 3) {
				values[n++] = field;
			}
		} ZEND_HASH_FOREACH_END();
		zend_string *host = zval_get_string(values[0]);
		zend_long port = zval_get_long(values[1]);
		zend_long weight = values[2] != NULL ? zval_get_long(values[2]) : 0;
		if (memchr(ZSTR_VAL(host), '\0', ZSTR_LEN(host)) == NULL) {
			mcring_mc_add_server(o->pool, ZSTR_VAL(host), port, weight, true);
		} else {
			php_error_docref(NULL, E_WARNING, "could not add entry #%" PRIu32 " to the server list",
				position + 1);
		}
		zend_string_release(host);
	} ZEND_HASH_FOREACH_END();
	RETURN_TRUE;
}

PHP_METHOD(McRing_Memcached, getServerList)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_mc_pool *pool = o->pool;
	array_init_size(return_value, pool->server_count);
	for (uint32_t i = 0; i < pool->server_count; i++) {
		zval server;
		array_init_size(&server, 3);
		add_assoc_string(&server, "host", pool->servers[i].host);
		add_assoc_long(&server, "port", pool->servers[i].port);
		add_assoc_string(&server, "type", pool->servers[i].is_unix ? "SOCKET" : "TCP");
		add_next_index_zval(return_value, &server);
	}
}

PHP_METHOD(McRing_Memcached, resetServerList)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_mc_pool *pool = o->pool;
	for (uint32_t i = 0; i < pool->server_count; i++) {
		pefree(pool->servers[i].host, 1);
	}
	pool->server_count = 0;
	mcring_mc_pool_changed(pool);
	RETURN_TRUE;
}

PHP_METHOD(McRing_Memcached, getServerByKey)
{
	zend_string *server_key;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(server_key)
	ZEND_PARSE_PARAMETERS_END();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	/* Computed, as libmemcached's memcached_server_by_key(): no connection. */
	size_t index = 0;
	mcring_server info;
	mcring_status status = mcring_server_index_for_key(
		client, ZSTR_VAL(server_key), ZSTR_LEN(server_key), &index);
	if (status == MCRING_OK) {
		status = mcring_server_info(client, index, &info);
	}
	if (status != MCRING_OK) {
		mcring_mc_result(o, status);
		RETURN_FALSE;
	}
	array_init_size(return_value, 3);
	add_assoc_string(return_value, "host", info.host);
	add_assoc_long(return_value, "port", info.port);
	/* php-memcached cannot read the weight back and always says 0. */
	add_assoc_long(return_value, "weight", 0);
}

PHP_METHOD(McRing_Memcached, flush)
{
	zend_long delay = 0;
	ZEND_PARSE_PARAMETERS_START(0, 1)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(delay)
	ZEND_PARSE_PARAMETERS_END();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	mcring_client *client = every_server_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	mcring_status status = mcring_flush_all(client, (uint32_t) delay);
	mcring_mc_result(o, status);
	/* libmemcached reports a server that failed among several as
	   RES_SOME_ERRORS. */
	if (status != MCRING_OK && status != MCRING_NO_SERVERS && o->pool->server_count > 1) {
		o->rescode = MCRING_RES_SOME_ERRORS;
	}
	RETURN_BOOL(status == MCRING_OK);
}

static void on_stat(void *userdata, const char *server, const char *name, const char *value)
{
	report_add(userdata, server, name, value, 0, 0);
}

/* A statistic as php-memcached types it: an integer, else a float, else
   the text. */
static void add_stat(zval *stats, const char *name, const char *value)
{
	char *end;
	errno = 0;
	long long l = strtoll(value, &end, 10);
	if (errno == 0 && end != value && *end == '\0') {
		add_assoc_long(stats, name, (zend_long) l);
		return;
	}
	errno = 0;
	double d = zend_strtod(value, (const char **) &end);
	if (errno == 0 && end != value && *end == '\0') {
		add_assoc_double(stats, name, d);
		return;
	}
	add_assoc_string(stats, name, value);
}

PHP_METHOD(McRing_Memcached, getStats)
{
	zend_string *type = NULL;
	ZEND_PARSE_PARAMETERS_START(0, 1)
		Z_PARAM_OPTIONAL
		Z_PARAM_STR_OR_NULL(type)
	ZEND_PARSE_PARAMETERS_END();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	mcring_client *client = every_server_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	if (type != NULL && (ZSTR_LEN(type) == 0 || memchr(ZSTR_VAL(type), '\0', ZSTR_LEN(type)) != NULL)) {
		type = NULL;
	}
	report r = {0};
	mcring_status status =
		mcring_server_stats(client, type != NULL ? ZSTR_VAL(type) : NULL, on_stat, &r);
	if (status == MCRING_OK && r.out_of_memory) {
		status = MCRING_INTERNAL_ERROR;
	}
	mcring_mc_result(o, status);
	if (status != MCRING_OK) {
		/* A group the server does not know: libmemcached's code for it. */
		if (o->rescode == MCRING_RES_ERROR || o->rescode == MCRING_RES_CLIENT_ERROR) {
			o->rescode = MCRING_RES_INVALID_ARGUMENTS;
		}
		report_free(&r);
		RETURN_FALSE;
	}
	array_init(return_value);
	for (size_t i = 0; i < r.len; i++) {
		const report_row *row = &r.rows[i];
		if (row->text[0] == NULL || row->text[1] == NULL || row->text[2] == NULL) {
			continue;
		}
		zval *server = zend_symtable_str_find(Z_ARRVAL_P(return_value), row->text[0], strlen(row->text[0]));
		if (server == NULL) {
			zval fresh;
			array_init(&fresh);
			server = zend_symtable_str_update(
				Z_ARRVAL_P(return_value), row->text[0], strlen(row->text[0]), &fresh);
		}
		add_stat(server, row->text[1], row->text[2]);
	}
	report_free(&r);
}

static void on_version(void *userdata, const char *server, mcring_status status, const char *version)
{
	report_add(userdata, server, status == MCRING_OK ? version : NULL, NULL, (int64_t) status, 0);
}

PHP_METHOD(McRing_Memcached, getVersion)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	mcring_client *client = every_server_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	report r = {0};
	mcring_status status = mcring_server_versions(client, on_version, &r);
	if (status == MCRING_OK && r.out_of_memory) {
		status = MCRING_INTERNAL_ERROR;
	}
	mcring_mc_result(o, status);
	if (status != MCRING_OK) {
		if (status != MCRING_NO_SERVERS) {
			o->rescode = MCRING_RES_SOME_ERRORS;
		}
		report_free(&r);
		RETURN_FALSE;
	}
	array_init(return_value);
	for (size_t i = 0; i < r.len; i++) {
		if (r.rows[i].text[0] != NULL && r.rows[i].text[1] != NULL) {
			add_assoc_string(return_value, r.rows[i].text[0], r.rows[i].text[1]);
		}
	}
	report_free(&r);
}

static void on_key(void *userdata, const char *server, const uint8_t *key, size_t key_len,
	int64_t exptime, int64_t last_access, uint64_t cas, uint32_t size)
{
	(void) server;
	(void) exptime;
	(void) last_access;
	(void) cas;
	(void) size;
	/* Keys are URL-decoded by libmcring and never hold a NUL (memcached
	   keys are printable); one would end the copy early. */
	char *copy = malloc(key_len + 1);
	if (copy == NULL) {
		((report *) userdata)->out_of_memory = true;
		return;
	}
	memcpy(copy, key, key_len);
	copy[key_len] = '\0';
	report_add(userdata, copy, NULL, NULL, (int64_t) key_len, 0);
	free(copy);
}

PHP_METHOD(McRing_Memcached, getAllKeys)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	mcring_client *client = every_server_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	/* memcached's `lru_crawler metadump all` on every server: the keys as
	   stored (with the prefix), as php-memcached returns them. */
	report r = {0};
	mcring_status status = mcring_dump_keys(client, on_key, &r);
	if (status == MCRING_OK && r.out_of_memory) {
		status = MCRING_INTERNAL_ERROR;
	}
	mcring_mc_result(o, status);
	if (status != MCRING_OK) {
		report_free(&r);
		RETURN_FALSE;
	}
	array_init_size(return_value, (uint32_t) r.len);
	for (size_t i = 0; i < r.len; i++) {
		if (r.rows[i].text[0] != NULL) {
			add_next_index_string(return_value, r.rows[i].text[0]);
		}
	}
	report_free(&r);
}
