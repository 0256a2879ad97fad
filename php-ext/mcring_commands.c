/*
 * Single-key commands of McRing\Client. Each parses its arguments, makes
 * one libmcring call, and records the outcome for getResultCode().
 * Failures return false, as in php-memcached; only arguments PHP itself
 * would refuse (a negative ttl or delta) throw.
 */
#include "mcring_client.h"
#include "mcring_values.h"

/* Sets $return_value to the value stored in `v` (false on a bad value). */
static void return_value_of(mcring_object *o, mcring_value *v, zval *return_value)
{
	zend_string *error = NULL;
	mcring_status status = mcring_php_decode(o->client, o->serializer, mcring_value_data(v),
		mcring_value_len(v), mcring_value_flags(v), return_value, &error);
	if (status != MCRING_OK) {
		mcring_result_message(o, status, error);
		ZVAL_FALSE(return_value);
		return;
	}
	mcring_result(o, MCRING_OK);
}

PHP_METHOD(McRing_Client, get)
{
	zend_string *key;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(key)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_value *v = NULL;
	mcring_status status = mcring_get(o->client, ZSTR_VAL(key), ZSTR_LEN(key), &v);
	if (status != MCRING_OK) {
		mcring_result(o, status);
		RETURN_FALSE;
	}
	return_value_of(o, v, return_value);
	mcring_value_free(v);
}

PHP_METHOD(McRing_Client, gets)
{
	zend_string *key;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(key)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_value *v = NULL;
	mcring_status status = mcring_gets(o->client, ZSTR_VAL(key), ZSTR_LEN(key), &v);
	if (status != MCRING_OK) {
		mcring_result(o, status);
		RETURN_FALSE;
	}
	zval value;
	return_value_of(o, v, &value);
	if (o->status != MCRING_OK) {
		mcring_value_free(v);
		RETURN_FALSE;
	}
	array_init_size(return_value, 2);
	add_assoc_zval(return_value, "value", &value);
	/* memcached's tokens fit in 63 bits in practice; cas() takes it back
	   bit for bit either way. */
	add_assoc_long(return_value, "cas", (zend_long) mcring_value_cas(v));
	mcring_value_free(v);
}

/* The stores that take a value and a time to live. */
typedef mcring_status (*store_fn)(mcring_client *, const char *, size_t, const uint8_t *, size_t,
	uint32_t, uint32_t);

static void store(INTERNAL_FUNCTION_PARAMETERS, store_fn fn)
{
	zend_string *key;
	zval *value;
	zend_long ttl = 0;
	ZEND_PARSE_PARAMETERS_START(2, 3)
		Z_PARAM_STR(key)
		Z_PARAM_ZVAL(value)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(ttl)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	uint32_t ttl_seconds;
	if (o == NULL || !mcring_seconds_arg(ttl, 3, &ttl_seconds)) {
		RETURN_THROWS();
	}
	mcring_value *v = NULL;
	zend_string *error = NULL;
	mcring_status status = mcring_php_encode(o->client, o->serializer, value, &v, &error);
	if (status == MCRING_OK) {
		status = fn(o->client, ZSTR_VAL(key), ZSTR_LEN(key), mcring_value_data(v),
			mcring_value_len(v), mcring_value_flags(v), ttl_seconds);
		mcring_value_free(v);
	}
	mcring_result_message(o, status, error);
	RETURN_BOOL(mcring_is_done(status));
}

PHP_METHOD(McRing_Client, set)
{
	store(INTERNAL_FUNCTION_PARAM_PASSTHRU, mcring_set);
}

PHP_METHOD(McRing_Client, add)
{
	store(INTERNAL_FUNCTION_PARAM_PASSTHRU, mcring_add);
}

PHP_METHOD(McRing_Client, replace)
{
	store(INTERNAL_FUNCTION_PARAM_PASSTHRU, mcring_replace);
}

PHP_METHOD(McRing_Client, cas)
{
	zend_long cas;
	zend_string *key;
	zval *value;
	zend_long ttl = 0;
	ZEND_PARSE_PARAMETERS_START(3, 4)
		Z_PARAM_LONG(cas)
		Z_PARAM_STR(key)
		Z_PARAM_ZVAL(value)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(ttl)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	uint32_t ttl_seconds;
	if (o == NULL || !mcring_seconds_arg(ttl, 4, &ttl_seconds)) {
		RETURN_THROWS();
	}
	mcring_value *v = NULL;
	zend_string *error = NULL;
	mcring_status status = mcring_php_encode(o->client, o->serializer, value, &v, &error);
	if (status == MCRING_OK) {
		status = mcring_cas(o->client, ZSTR_VAL(key), ZSTR_LEN(key), mcring_value_data(v),
			mcring_value_len(v), mcring_value_flags(v), ttl_seconds, (uint64_t) cas);
		mcring_value_free(v);
	}
	mcring_result_message(o, status, error);
	RETURN_BOOL(mcring_is_done(status));
}

/* append and prepend: bytes added to the stored value as the codec sees it
   (a value stored compressed is inflated, extended and stored again, where
   php-memcached refuses to append while compression is on). */
typedef mcring_status (*concat_fn)(mcring_client *, const char *, size_t, const uint8_t *, size_t);

static void concat(INTERNAL_FUNCTION_PARAMETERS, concat_fn fn)
{
	zend_string *key, *value;
	ZEND_PARSE_PARAMETERS_START(2, 2)
		Z_PARAM_STR(key)
		Z_PARAM_STR(value)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_status status = fn(o->client, ZSTR_VAL(key), ZSTR_LEN(key),
		(const uint8_t *) ZSTR_VAL(value), ZSTR_LEN(value));
	mcring_result(o, status);
	RETURN_BOOL(mcring_is_done(status));
}

PHP_METHOD(McRing_Client, append)
{
	concat(INTERNAL_FUNCTION_PARAM_PASSTHRU, mcring_append_value);
}

PHP_METHOD(McRing_Client, prepend)
{
	concat(INTERNAL_FUNCTION_PARAM_PASSTHRU, mcring_prepend_value);
}

PHP_METHOD(McRing_Client, delete)
{
	zend_string *key;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(key)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_status status = mcring_delete(o->client, ZSTR_VAL(key), ZSTR_LEN(key));
	mcring_result(o, status);
	RETURN_BOOL(mcring_is_done(status));
}

typedef mcring_status (*counter_fn)(mcring_client *, const char *, size_t, uint64_t, uint64_t *);

static void count(INTERNAL_FUNCTION_PARAMETERS, counter_fn fn)
{
	zend_string *key;
	zend_long by = 1;
	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_STR(key)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(by)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	if (by < 0) {
		zend_argument_value_error(2, "must be greater than or equal to 0");
		RETURN_THROWS();
	}
	uint64_t value = 0;
	mcring_status status = fn(o->client, ZSTR_VAL(key), ZSTR_LEN(key), (uint64_t) by, &value);
	mcring_result(o, status);
	if (status != MCRING_OK) {
		RETURN_FALSE;
	}
	/* memcached counts to 2^64 - 1; past PHP_INT_MAX this wraps, as in
	   php-memcached. */
	RETURN_LONG((zend_long) value);
}

PHP_METHOD(McRing_Client, increment)
{
	count(INTERNAL_FUNCTION_PARAM_PASSTHRU, mcring_incr);
}

PHP_METHOD(McRing_Client, decrement)
{
	count(INTERNAL_FUNCTION_PARAM_PASSTHRU, mcring_decr);
}

PHP_METHOD(McRing_Client, touch)
{
	zend_string *key;
	zend_long ttl = 0;
	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_STR(key)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(ttl)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	uint32_t ttl_seconds;
	if (o == NULL || !mcring_seconds_arg(ttl, 2, &ttl_seconds)) {
		RETURN_THROWS();
	}
	mcring_status status = mcring_touch(o->client, ZSTR_VAL(key), ZSTR_LEN(key), ttl_seconds);
	mcring_result(o, status);
	RETURN_BOOL(mcring_is_done(status));
}
