/*
 * McRing\Client methods that change the server list, also after first use:
 * php-memcached's addServer(), addServers() and resetServerList(), and
 * mcring's setServers() and removeServer() (with drain). The engine builds
 * the new ring aside and swaps it in (libmcring's mcring_client_*_server*
 * functions); placement, migration of moved keys and closing removed
 * servers are its own. A persistent client's list lives in this worker
 * process: other PHP-FPM workers keep theirs, as with php-memcached.
 *
 * McRing\Memcached (php-memcached's own class names, added on the `php`
 * branch) must do the same for its addServer(), addServers() and
 * resetServerList() once its client exists: build the token list with
 * append_token() and server_args_ok() below and call
 * mcring_client_set_servers() / mcring_client_add_server(), rather than
 * keeping a list of its own.
 */
#include "mcring_client.h"

#include "zend_smart_str.h"

/* Appends the server token of (host, port, weight) to `out`: "host:port",
 * "[v6]:port", or a socket path, and ":weight" when not 0. */
static void append_token(smart_str *out, const char *host, size_t host_len, zend_long port,
	zend_long weight)
{
	if (out->s != NULL && ZSTR_LEN(out->s) > 0) {
		smart_str_appendc(out, ' ');
	}
	bool unix_socket = host_len > 0 && host[0] == '/';
	bool v6 = !unix_socket && memchr(host, ':', host_len) != NULL && host[0] != '[';
	if (v6) {
		smart_str_appendc(out, '[');
	}
	smart_str_appendl(out, host, host_len);
	if (v6) {
		smart_str_appendc(out, ']');
	}
	if (!unix_socket) {
		smart_str_appendc(out, ':');
		smart_str_append_long(out, port);
	}
	if (weight > 0) {
		smart_str_appendc(out, ':');
		smart_str_append_long(out, weight);
	}
}

/* Checks one server's arguments; false with the result set when bad. */
static bool server_args_ok(mcring_object *o, size_t host_len, const char *host, zend_long port,
	zend_long weight)
{
	const char *bad = NULL;
	if (host_len == 0) {
		bad = "host is empty";
	} else if (memchr(host, ' ', host_len) != NULL || memchr(host, '\t', host_len) != NULL) {
		bad = "host contains whitespace";
	} else if (host[0] != '/' && (port < 1 || port > 65535)) {
		bad = "port must be 1..65535";
	} else if (weight < 0 || weight > UINT32_MAX) {
		bad = "weight must be 0..4294967295";
	}
	if (bad != NULL) {
		mcring_result_message(o, MCRING_BAD_CONFIG, zend_string_init(bad, strlen(bad), 0));
		return false;
	}
	return true;
}

PHP_METHOD(McRing_Client, addServer)
{
	zend_string *host;
	zend_long port = 11211, weight = 0;
	ZEND_PARSE_PARAMETERS_START(1, 3)
		Z_PARAM_STR(host)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(port)
		Z_PARAM_LONG(weight)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	if (!server_args_ok(o, ZSTR_LEN(host), ZSTR_VAL(host), port, weight)) {
		RETURN_FALSE;
	}
	smart_str token = {0};
	append_token(&token, ZSTR_VAL(host), ZSTR_LEN(host), port, weight);
	smart_str_0(&token);
	mcring_status status = mcring_client_add_server(o->client, ZSTR_VAL(token.s));
	smart_str_free(&token);
	mcring_result(o, status);
	RETURN_BOOL(status == MCRING_OK);
}

PHP_METHOD(McRing_Client, addServers)
{
	HashTable *servers;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_ARRAY_HT(servers)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	/* The current list plus the new servers, in one change (one rebuild). */
	smart_str list = {0};
	size_t count = mcring_server_count(o->client);
	for (size_t i = 0; i < count; i++) {
		mcring_server info;
		if (mcring_server_info(o->client, i, &info) == MCRING_OK) {
			const char *host = info.is_unix ? info.name : info.host;
			append_token(&list, host, strlen(host), info.port, info.weight > 1 ? info.weight : 0);
		}
	}
	zval *entry;
	ZEND_HASH_FOREACH_VAL(servers, entry) {
		ZVAL_DEREF(entry);
		zval *h = Z_TYPE_P(entry) == IS_ARRAY ? zend_hash_index_find(Z_ARRVAL_P(entry), 0) : NULL;
		if (h == NULL || Z_TYPE_P(h) != IS_STRING) {
			smart_str_free(&list);
			mcring_result_message(o, MCRING_BAD_CONFIG,
				zend_string_init(ZEND_STRL("each server must be [host, port, weight]"), 0));
			RETURN_FALSE;
		}
		zval *p = zend_hash_index_find(Z_ARRVAL_P(entry), 1);
		zval *w = zend_hash_index_find(Z_ARRVAL_P(entry), 2);
		zend_long port = p != NULL ? zval_get_long(p) : 11211;
		zend_long weight = w != NULL ? zval_get_long(w) : 0;
		if (!server_args_ok(o, Z_STRLEN_P(h), Z_STRVAL_P(h), port, weight)) {
			smart_str_free(&list);
			RETURN_FALSE;
		}
		append_token(&list, Z_STRVAL_P(h), Z_STRLEN_P(h), port, weight);
	} ZEND_HASH_FOREACH_END();
	smart_str_0(&list);
	mcring_status status =
		mcring_client_set_servers(o->client, list.s != NULL ? ZSTR_VAL(list.s) : "", false);
	smart_str_free(&list);
	mcring_result(o, status);
	RETURN_BOOL(status == MCRING_OK);
}

PHP_METHOD(McRing_Client, resetServerList)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_status status = mcring_client_set_servers(o->client, "", false);
	mcring_result(o, status);
	RETURN_BOOL(status == MCRING_OK);
}

PHP_METHOD(McRing_Client, setServers)
{
	zend_string *servers;
	bool drain = false;
	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_STR(servers)
		Z_PARAM_OPTIONAL
		Z_PARAM_BOOL(drain)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_status status = mcring_client_set_servers(o->client, ZSTR_VAL(servers), drain);
	mcring_result(o, status);
	RETURN_BOOL(status == MCRING_OK);
}

PHP_METHOD(McRing_Client, removeServer)
{
	zend_string *server;
	bool drain = false;
	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_STR(server)
		Z_PARAM_OPTIONAL
		Z_PARAM_BOOL(drain)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_status status = mcring_client_remove_server(o->client, ZSTR_VAL(server), drain);
	mcring_result(o, status);
	RETURN_BOOL(status == MCRING_OK);
}
