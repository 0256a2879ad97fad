/*
 * Stampede protection and hot keys of McRing\Client: getOrSet() (a read
 * through libmcring's lease), invalidate() (to stale, not deleted) and
 * getHotKeys(). The leases, waits and stale values are the engine's, shared
 * with Python and C callers of the same pool; this file only calls the
 * user's $compute and turns values into zvals.
 */
#include "mcring_client.h"
#include "mcring_values.h"
#include "zend_exceptions.h"

/* A whole number of seconds (or milliseconds) from an options entry, or
   false with a ValueError thrown. */
static bool option_seconds(HashTable *options, const char *name, uint32_t *out)
{
	zval *zv = zend_hash_str_find(options, name, strlen(name));
	if (zv == NULL || Z_TYPE_P(zv) == IS_NULL) {
		return true;
	}
	if (Z_TYPE_P(zv) != IS_LONG || Z_LVAL_P(zv) < 0 || (zend_ulong) Z_LVAL_P(zv) > UINT32_MAX) {
		zend_argument_value_error(4, "option '%s' must be an int between 0 and %" PRIu32, name,
			UINT32_MAX);
		return false;
	}
	*out = (uint32_t) Z_LVAL_P(zv);
	return true;
}

/* The options of getOrSet(): 'lease_ttl' (seconds, int or float),
   'recache_s' and 'stale_ttl' (seconds). */
static bool lease_options_of(HashTable *options, mcring_lease_options *out)
{
	memset(out, 0, sizeof *out);
	if (options == NULL) {
		return true;
	}
	zend_string *name;
	ZEND_HASH_FOREACH_STR_KEY(options, name) {
		if (name == NULL || (!zend_string_equals_literal(name, "lease_ttl")
				&& !zend_string_equals_literal(name, "recache_s")
				&& !zend_string_equals_literal(name, "stale_ttl"))) {
			zend_argument_value_error(4, "has an unknown option (known: lease_ttl, recache_s, stale_ttl)");
			return false;
		}
	} ZEND_HASH_FOREACH_END();
	zval *lease_ttl = zend_hash_str_find(options, "lease_ttl", strlen("lease_ttl"));
	if (lease_ttl != NULL && Z_TYPE_P(lease_ttl) != IS_NULL) {
		double secs = Z_TYPE_P(lease_ttl) == IS_LONG ? (double) Z_LVAL_P(lease_ttl)
			: Z_TYPE_P(lease_ttl) == IS_DOUBLE ? Z_DVAL_P(lease_ttl) : -1.0;
		if (!(secs > 0.0 && secs <= 86400.0)) {
			zend_argument_value_error(4, "option 'lease_ttl' must be a number of seconds above 0 and at most 86400");
			return false;
		}
		out->lease_ttl_ms = (uint32_t) (secs * 1000.0 + 0.5);
		if (out->lease_ttl_ms == 0) {
			out->lease_ttl_ms = 1;
		}
	}
	return option_seconds(options, "recache_s", &out->recache_s)
		&& option_seconds(options, "stale_ttl", &out->stale_ttl);
}

/* Decodes a found value into return_value (false on a bad value), and
   records `status` (MCRING_OK, or MCRING_STALE for a stale value). */
static void return_found(mcring_object *o, mcring_value *v, mcring_status status, zval *return_value)
{
	zend_string *error = NULL;
	mcring_status decoded = mcring_php_decode(o->client, o->serializer, mcring_value_data(v),
		mcring_value_len(v), mcring_value_flags(v), return_value, &error);
	if (decoded != MCRING_OK) {
		mcring_result_message(o, decoded, error);
		ZVAL_FALSE(return_value);
		return;
	}
	mcring_result_message(o, status, NULL);
}

/* The value of $key; when it is missing (or invalidated, or due for early
   recache) and this caller wins the lease, $compute() is called and its
   value stored with $ttl, while every other caller of the pool waits for it
   or is served the stale value. An exception of $compute gives the lease
   back and propagates. */
PHP_METHOD(McRing_Client, getOrSet)
{
	zend_string *key;
	zend_fcall_info fci;
	zend_fcall_info_cache fcc;
	zend_long ttl;
	HashTable *options = NULL;
	ZEND_PARSE_PARAMETERS_START(3, 4)
		Z_PARAM_STR(key)
		Z_PARAM_FUNC(fci, fcc)
		Z_PARAM_LONG(ttl)
		Z_PARAM_OPTIONAL
		Z_PARAM_ARRAY_HT(options)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	uint32_t ttl_seconds;
	mcring_lease_options opts;
	if (o == NULL || !mcring_seconds_arg(ttl, 3, &ttl_seconds) || !lease_options_of(options, &opts)) {
		RETURN_THROWS();
	}
	mcring_value *found = NULL;
	mcring_lease *lease = NULL;
	mcring_status status =
		mcring_get_or_lease(o->client, ZSTR_VAL(key), ZSTR_LEN(key), &opts, &found, &lease);
	if (status == MCRING_OK || status == MCRING_STALE) {
		return_found(o, found, status, return_value);
		mcring_value_free(found);
		return;
	}
	if (status != MCRING_LEASE) {
		mcring_result(o, status);
		RETURN_FALSE;
	}
	/* This caller computes; the previous value, if any, is not needed. */
	mcring_value_free(found);
	zval computed;
	ZVAL_UNDEF(&computed);
	fci.retval = &computed;
	fci.param_count = 0;
	fci.params = NULL;
	if (zend_call_function(&fci, &fcc) != SUCCESS || EG(exception) || Z_ISUNDEF(computed)) {
		mcring_lease_release(o->client, lease);
		zval_ptr_dtor(&computed);
		RETURN_THROWS();
	}
	mcring_value *encoded = NULL;
	zend_string *error = NULL;
	status = mcring_php_encode(o->client, o->serializer, &computed, &encoded, &error);
	if (status != MCRING_OK) {
		/* Not storable: the lease goes back, the caller still gets its value. */
		mcring_lease_release(o->client, lease);
		mcring_result_message(o, status, error);
		RETURN_COPY_VALUE(&computed);
	}
	status = mcring_lease_fill(o->client, lease, mcring_value_data(encoded),
		mcring_value_len(encoded), mcring_value_flags(encoded), ttl_seconds);
	mcring_value_free(encoded);
	/* A fill declined because a newer write came first still returns the
	   computed value; getResultCode() tells. */
	mcring_result(o, status);
	RETURN_COPY_VALUE(&computed);
}

/* Marks $key stale for $staleTtl seconds instead of deleting it (0
   deletes). True if a copy held the key. */
PHP_METHOD(McRing_Client, invalidate)
{
	zend_string *key;
	zend_long stale_ttl = 30;
	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_STR(key)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(stale_ttl)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	uint32_t stale_seconds;
	if (o == NULL || !mcring_seconds_arg(stale_ttl, 2, &stale_seconds)) {
		RETURN_THROWS();
	}
	mcring_status status = mcring_invalidate(o->client, ZSTR_VAL(key), ZSTR_LEN(key), stale_seconds);
	mcring_result(o, status);
	RETURN_BOOL(mcring_is_done(status));
}

/* ["host:port" => [['key', 'reads', 'error', 'rate'], ...]], most read
   first; servers with no counted key are left out. */
mcring_status mcring_hot_keys_array(mcring_client *client, zval *out)
{
	array_init(out);
	mcring_hot_keys *hk = NULL;
	mcring_status status = mcring_hot_keys_get(client, &hk);
	if (status != MCRING_OK) {
		return status;
	}
	size_t n = mcring_hot_keys_count(hk);
	for (size_t i = 0; i < n; i++) {
		const mcring_hot_key *k = mcring_hot_keys_at(hk, i);
		zval *group = zend_symtable_str_find(Z_ARRVAL_P(out), k->server, strlen(k->server));
		if (group == NULL) {
			zval empty;
			array_init(&empty);
			group = zend_symtable_str_update(Z_ARRVAL_P(out), k->server, strlen(k->server), &empty);
		}
		zval entry;
		array_init_size(&entry, 4);
		add_assoc_stringl(&entry, "key", (const char *) k->key, k->key_len);
		add_assoc_long(&entry, "reads", (zend_long) k->reads);
		add_assoc_long(&entry, "error", (zend_long) k->error);
		add_assoc_long(&entry, "rate", (zend_long) k->rate);
		add_next_index_zval(group, &entry);
	}
	mcring_hot_keys_free(hk);
	return MCRING_OK;
}

PHP_METHOD(McRing_Client, getHotKeys)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_result(o, mcring_hot_keys_array(o->client, return_value));
}
