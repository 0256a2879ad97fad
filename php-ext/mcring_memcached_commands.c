/*
 * McRing\Memcached's single-key commands and their *ByKey forms: each
 * checks its arguments as php-memcached does, makes one libmcring call
 * (placed by the server key for *ByKey, as libmemcached's *_by_key
 * functions place), and records php-memcached's result code.
 */
#include "mcring_memcached.h"

#include "zend_exceptions.h"

/* The server key of a *ByKey call, or NULL for the plain form. */
#define SERVER_KEY(sk) ((sk) != NULL ? ZSTR_VAL(sk) : NULL), ((sk) != NULL ? ZSTR_LEN(sk) : 0)

/* The value callback of get(): php-memcached's read-through cache. Called on
   a miss with ($memcached, $key, &$value, &$expiration) (or, with
   GET_EXTENDED, ($memcached, $key, &$value) where the callback sets
   ['value' => ..., 'cas' => ...] and the 'cas' entry is the expiration, as
   php-memcached reads it); a true return stores the value and makes it the
   result. The read and the store go through the engine's lease (see
   get_through_lease()): of all the callers of the pool that miss the key
   at once, one calls its callback and the others get its value. With a
   lease, the value is stored by filling it; without one (`lease` NULL, a
   server without the meta protocol), with a plain set(). */
static bool read_through(mcring_mc_object *o, zval *object, zend_fcall_info *fci,
	zend_fcall_info_cache *fcc, bool extended, zend_string *key, mcring_lease *lease,
	zval *return_value);

/* Stores the callback's value: fills `lease`, or with none a set() under
   `key`. */
static bool store_value(mcring_mc_object *o, zend_string *key, mcring_lease *lease, zval *value,
	zend_long expiration);

/* Sets return_value to a found value (the array of GET_EXTENDED with its
   cas and flags); false if it does not decode. Frees `v`. */
static bool return_value_of(mcring_mc_object *o, mcring_client *client, mcring_value *v,
	bool extended, zval *return_value)
{
	zval value;
	if (!mcring_mc_decode(o, client, mcring_value_data(v), mcring_value_len(v),
			mcring_value_flags(v), &value)) {
		o->rescode = EG(exception) ? MCRING_RES_PAYLOAD_FAILURE : MCRING_RES_SOME_ERRORS;
		mcring_value_free(v);
		return false;
	}
	o->rescode = MCRING_RES_SUCCESS;
	if (extended) {
		array_init_size(return_value, 3);
		add_assoc_zval(return_value, "value", &value);
		zval cas;
		mcring_mc_cas_zval(&cas, mcring_value_cas(v));
		add_assoc_zval(return_value, "cas", &cas);
		add_assoc_long(return_value, "flags", (zend_long) mcring_user_flags(mcring_value_flags(v)));
	} else {
		ZVAL_COPY_VALUE(return_value, &value);
	}
	mcring_value_free(v);
	return true;
}

/* get() with a value callback: the key is read through the engine's lease,
   so that when many callers (any process, any language) miss it at once,
   one of them runs its callback while the others wait for that value
   instead of each computing it. A server without the meta protocol is read
   and filled as php-memcached does (get, callback, set). */
static void get_through_lease(mcring_mc_object *o, mcring_client *client, zval *object,
	zend_fcall_info *fci, zend_fcall_info_cache *fcc, bool extended, zend_string *server_key,
	zend_string *key, zval *return_value)
{
	mcring_value *v = NULL;
	mcring_lease *lease = NULL;
	mcring_status status = mcring_get_or_lease_by_key(
		client, SERVER_KEY(server_key), ZSTR_VAL(key), ZSTR_LEN(key), NULL, &v, &lease);
	if (status == MCRING_OK || status == MCRING_STALE) {
		if (!return_value_of(o, client, v, extended, return_value)) {
			RETURN_FALSE;
		}
		return;
	}
	if (status == MCRING_SERVER_ERROR) {
		/* No meta protocol (memcached before 1.6): no lease to be had. */
		status = mcring_get_by_key(
			client, SERVER_KEY(server_key), ZSTR_VAL(key), ZSTR_LEN(key), extended, &v);
		if (status == MCRING_OK) {
			if (!return_value_of(o, client, v, extended, return_value)) {
				RETURN_FALSE;
			}
			return;
		}
	}
	if (status != MCRING_LEASE && status != MCRING_NOT_FOUND) {
		mcring_mc_result(o, status);
		RETURN_FALSE;
	}
	/* This caller computes: a miss as far as php-memcached's caller can
	   tell; the previous value (stale, or about to expire) is not needed. */
	mcring_value_free(v);
	o->rescode = MCRING_RES_NOTFOUND;
	if (!read_through(o, object, fci, fcc, extended, key, lease, return_value)) {
		RETURN_FALSE;
	}
}

static void get_impl(INTERNAL_FUNCTION_PARAMETERS, bool by_key)
{
	zend_string *server_key = NULL, *key;
	zend_fcall_info fci = empty_fcall_info;
	zend_fcall_info_cache fcc = empty_fcall_info_cache;
	zend_long get_flags = 0;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(2, 4)
			Z_PARAM_STR(server_key)
			Z_PARAM_STR(key)
			Z_PARAM_OPTIONAL
			Z_PARAM_FUNC_OR_NULL(fci, fcc)
			Z_PARAM_LONG(get_flags)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(1, 3)
			Z_PARAM_STR(key)
			Z_PARAM_OPTIONAL
			Z_PARAM_FUNC_OR_NULL(fci, fcc)
			Z_PARAM_LONG(get_flags)
		ZEND_PARSE_PARAMETERS_END();
	}
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	if (!mcring_mc_check_key(o, key)) {
		RETURN_FALSE;
	}
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	bool extended = (get_flags & MC_GET_EXTENDED) != 0;
	if (ZEND_FCI_INITIALIZED(fci)) {
		get_through_lease(o, client, ZEND_THIS, &fci, &fcc, extended, server_key, key, return_value);
		return;
	}
	mcring_value *v = NULL;
	mcring_status status = mcring_get_by_key(
		client, SERVER_KEY(server_key), ZSTR_VAL(key), ZSTR_LEN(key), extended, &v);
	if (status == MCRING_OK) {
		if (!return_value_of(o, client, v, extended, return_value)) {
			RETURN_FALSE;
		}
		return;
	}
	mcring_mc_result(o, status);
	RETURN_FALSE;
}

static bool read_through(mcring_mc_object *o, zval *object, zend_fcall_info *fci,
	zend_fcall_info_cache *fcc, bool extended, zend_string *key, mcring_lease *lease,
	zval *return_value)
{
	zval params[4], retval;
	ZVAL_COPY(&params[0], object);
	ZVAL_STR_COPY(&params[1], key);
	ZVAL_NEW_EMPTY_REF(&params[2]);
	ZVAL_NULL(Z_REFVAL(params[2]));
	if (extended) {
		fci->param_count = 3;
	} else {
		ZVAL_NEW_EMPTY_REF(&params[3]);
		ZVAL_NULL(Z_REFVAL(params[3]));
		fci->param_count = 4;
	}
	fci->retval = &retval;
	fci->params = params;
	bool stored = false;
	if (zend_call_function(fci, fcc) == SUCCESS) {
		if (zend_is_true(&retval)) {
			zval *value = Z_REFVAL(params[2]);
			if (extended) {
				if (Z_TYPE_P(value) == IS_ARRAY) {
					zval *inner = zend_hash_str_find(Z_ARRVAL_P(value), ZEND_STRL("value"));
					if (inner != NULL) {
						zval *cas = zend_hash_str_find(Z_ARRVAL_P(value), ZEND_STRL("cas"));
						stored = store_value(o, key, lease, inner,
							cas != NULL ? zval_get_long(cas) : 0);
						lease = NULL;
					}
					ZVAL_COPY(return_value, value);
				}
			} else {
				stored = store_value(o, key, lease, value, zval_get_long(Z_REFVAL(params[3])));
				lease = NULL;
				ZVAL_COPY(return_value, value);
			}
		}
	} else {
		o->rescode = MCRING_RES_NOTFOUND;
	}
	zval_ptr_dtor(&params[0]);
	zval_ptr_dtor(&params[1]);
	zval_ptr_dtor(&params[2]);
	if (!extended) {
		zval_ptr_dtor(&params[3]);
	}
	zval_ptr_dtor(&retval);
	if (lease != NULL) {
		/* Not stored (the callback said no, or threw): another caller may
		   compute at once instead of after the lease's time. */
		mcring_lease_release(mcring_mc_client(o), lease);
	}
	if (!stored) {
		zval_ptr_dtor(return_value);
		ZVAL_UNDEF(return_value);
	}
	return stored;
}

PHP_METHOD(McRing_Memcached, get)
{
	get_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, false);
}

PHP_METHOD(McRing_Memcached, getByKey)
{
	get_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, true);
}

/* ---- storage ------------------------------------------------------------- */

/* Stores an encoded value; the result code is recorded. */
static bool store_encoded(mcring_mc_object *o, mcring_client *client, mcring_store_mode mode,
	zend_string *server_key, zend_string *key, mcring_value *v, uint32_t expiration, uint64_t cas)
{
	mcring_status status = mcring_mc_made(mcring_store_by_key(client, SERVER_KEY(server_key), mode,
		ZSTR_VAL(key), ZSTR_LEN(key), mcring_value_data(v), mcring_value_len(v), mcring_value_flags(v),
		expiration, cas, o->pool->behavior[MC_BEHAVIOR_NOREPLY] != 0));
	mcring_mc_result(o, status);
	return status == MCRING_OK;
}

static bool store_value(mcring_mc_object *o, zend_string *key, mcring_lease *lease, zval *value,
	zend_long expiration)
{
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		/* Freed here; on the server the lease ends when it expires. */
		if (lease != NULL) {
			mcring_lease_release(NULL, lease);
		}
		return false;
	}
	mcring_value *v = mcring_mc_encode(o, client, value);
	if (v == NULL) {
		if (lease != NULL) {
			mcring_lease_release(client, lease);
		}
		return false;
	}
	bool ok;
	if (lease == NULL) {
		/* As php-memcached stores it: a set() placed by the key, also for
		   getByKey(). A lease is filled where it was taken. */
		ok = store_encoded(o, client, MCRING_STORE_SET, NULL, key, v, mcring_mc_expiration(expiration), 0);
	} else {
		mcring_status status = mcring_lease_fill(client, lease, mcring_value_data(v),
			mcring_value_len(v), mcring_value_flags(v), mcring_mc_expiration(expiration));
		/* A fill the cache declined (a newer write came first, the key was
		   deleted meanwhile, no lease could be had) still leaves the
		   callback's value valid: it is the result, as after php-memcached's
		   set(). */
		ok = status == MCRING_OK || status == MCRING_STORED_ELSEWHERE || status == MCRING_EXISTS
			|| status == MCRING_NOT_FOUND || status == MCRING_NOT_STORED;
		mcring_mc_result(o, ok ? MCRING_OK : status);
	}
	mcring_value_free(v);
	return ok;
}

static void store_impl(INTERNAL_FUNCTION_PARAMETERS, mcring_store_mode mode, bool by_key)
{
	zend_string *server_key = NULL, *key;
	zval *value;
	zend_long expiration = 0;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(3, 4)
			Z_PARAM_STR(server_key)
			Z_PARAM_STR(key)
			Z_PARAM_ZVAL(value)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(expiration)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(2, 3)
			Z_PARAM_STR(key)
			Z_PARAM_ZVAL(value)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(expiration)
		ZEND_PARSE_PARAMETERS_END();
	}
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	if (!mcring_mc_check_key(o, key)) {
		RETURN_FALSE;
	}
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	mcring_value *v = mcring_mc_encode(o, client, value);
	if (v == NULL) {
		RETURN_FALSE;
	}
	bool ok = store_encoded(o, client, mode, server_key, key, v, mcring_mc_expiration(expiration), 0);
	mcring_value_free(v);
	RETURN_BOOL(ok);
}

PHP_METHOD(McRing_Memcached, set)
{
	store_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, MCRING_STORE_SET, false);
}

PHP_METHOD(McRing_Memcached, setByKey)
{
	store_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, MCRING_STORE_SET, true);
}

PHP_METHOD(McRing_Memcached, add)
{
	store_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, MCRING_STORE_ADD, false);
}

PHP_METHOD(McRing_Memcached, addByKey)
{
	store_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, MCRING_STORE_ADD, true);
}

PHP_METHOD(McRing_Memcached, replace)
{
	store_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, MCRING_STORE_REPLACE, false);
}

PHP_METHOD(McRing_Memcached, replaceByKey)
{
	store_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, MCRING_STORE_REPLACE, true);
}

/* append and prepend: bytes added to the stored bytes, as php-memcached
   does, which refuses them while compression is on (they would corrupt a
   compressed value). */
static void concat_impl(INTERNAL_FUNCTION_PARAMETERS, mcring_store_mode mode, bool by_key)
{
	zend_string *server_key = NULL, *key, *value;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(3, 3)
			Z_PARAM_STR(server_key)
			Z_PARAM_STR(key)
			Z_PARAM_STR(value)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(2, 2)
			Z_PARAM_STR(key)
			Z_PARAM_STR(value)
		ZEND_PARSE_PARAMETERS_END();
	}
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	if (!mcring_mc_check_key(o, key)) {
		RETURN_FALSE;
	}
	if (o->pool->compression) {
		php_error_docref(NULL, E_WARNING, "cannot append/prepend with compression turned on");
		RETURN_NULL();
	}
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	mcring_status status = mcring_mc_made(mcring_store_by_key(client, SERVER_KEY(server_key), mode,
		ZSTR_VAL(key), ZSTR_LEN(key), (const uint8_t *) ZSTR_VAL(value), ZSTR_LEN(value), 0, 0, 0,
		o->pool->behavior[MC_BEHAVIOR_NOREPLY] != 0));
	mcring_mc_result(o, status);
	RETURN_BOOL(status == MCRING_OK);
}

PHP_METHOD(McRing_Memcached, append)
{
	concat_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, MCRING_STORE_APPEND, false);
}

PHP_METHOD(McRing_Memcached, appendByKey)
{
	concat_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, MCRING_STORE_APPEND, true);
}

PHP_METHOD(McRing_Memcached, prepend)
{
	concat_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, MCRING_STORE_PREPEND, false);
}

PHP_METHOD(McRing_Memcached, prependByKey)
{
	concat_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, MCRING_STORE_PREPEND, true);
}

static void cas_impl(INTERNAL_FUNCTION_PARAMETERS, bool by_key)
{
	zval *token, *value;
	zend_string *server_key = NULL, *key;
	zend_long expiration = 0;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(4, 5)
			Z_PARAM_ZVAL(token)
			Z_PARAM_STR(server_key)
			Z_PARAM_STR(key)
			Z_PARAM_ZVAL(value)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(expiration)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(3, 4)
			Z_PARAM_ZVAL(token)
			Z_PARAM_STR(key)
			Z_PARAM_ZVAL(value)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(expiration)
		ZEND_PARSE_PARAMETERS_END();
	}
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	if (!mcring_mc_check_key(o, key)) {
		RETURN_FALSE;
	}
	uint64_t cas = mcring_mc_cas_of(token);
	if (EG(exception)) {
		RETURN_THROWS();
	}
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	mcring_value *v = mcring_mc_encode(o, client, value);
	if (v == NULL) {
		RETURN_FALSE;
	}
	bool ok = store_encoded(o, client, MCRING_STORE_CAS, server_key, key, v, mcring_mc_expiration(expiration), cas);
	mcring_value_free(v);
	RETURN_BOOL(ok);
}

PHP_METHOD(McRing_Memcached, cas)
{
	cas_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, false);
}

PHP_METHOD(McRing_Memcached, casByKey)
{
	cas_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, true);
}

static void touch_impl(INTERNAL_FUNCTION_PARAMETERS, bool by_key)
{
	zend_string *server_key = NULL, *key;
	zend_long expiration = 0;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(2, 3)
			Z_PARAM_STR(server_key)
			Z_PARAM_STR(key)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(expiration)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(1, 2)
			Z_PARAM_STR(key)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(expiration)
		ZEND_PARSE_PARAMETERS_END();
	}
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	if (!mcring_mc_check_key(o, key)) {
		RETURN_FALSE;
	}
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	mcring_status status = mcring_mc_made(mcring_touch_by_key(client, SERVER_KEY(server_key),
		ZSTR_VAL(key), ZSTR_LEN(key), mcring_mc_expiration(expiration),
		o->pool->behavior[MC_BEHAVIOR_NOREPLY] != 0));
	mcring_mc_result(o, status);
	RETURN_BOOL(status == MCRING_OK);
}

PHP_METHOD(McRing_Memcached, touch)
{
	touch_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, false);
}

PHP_METHOD(McRing_Memcached, touchByKey)
{
	touch_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, true);
}

static void delete_impl(INTERNAL_FUNCTION_PARAMETERS, bool by_key)
{
	zend_string *server_key = NULL, *key;
	zend_long time = 0;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(2, 3)
			Z_PARAM_STR(server_key)
			Z_PARAM_STR(key)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(time)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(1, 2)
			Z_PARAM_STR(key)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(time)
		ZEND_PARSE_PARAMETERS_END();
	}
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	if (!mcring_mc_check_key(o, key)) {
		RETURN_FALSE;
	}
	/* memcached dropped delete's hold time; libmemcached refuses it. */
	if (time != 0) {
		o->rescode = MCRING_RES_INVALID_ARGUMENTS;
		RETURN_FALSE;
	}
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	mcring_status status = mcring_mc_made(mcring_delete_by_key(client, SERVER_KEY(server_key),
		ZSTR_VAL(key), ZSTR_LEN(key), o->pool->behavior[MC_BEHAVIOR_NOREPLY] != 0));
	mcring_mc_result(o, status);
	RETURN_BOOL(status == MCRING_OK);
}

PHP_METHOD(McRing_Memcached, delete)
{
	delete_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, false);
}

PHP_METHOD(McRing_Memcached, deleteByKey)
{
	delete_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, true);
}

/* increment and decrement; with an initial value (the third argument), a
   missing key is created with it, atomically (meta arithmetic with
   autovivify), where php-memcached needs the binary protocol. */
static void arith_impl(INTERNAL_FUNCTION_PARAMETERS, bool by_key, bool decrement)
{
	zend_string *server_key = NULL, *key;
	zend_long offset = 1, initial = 0, expiry = 0;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(2, 5)
			Z_PARAM_STR(server_key)
			Z_PARAM_STR(key)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(offset)
			Z_PARAM_LONG(initial)
			Z_PARAM_LONG(expiry)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(1, 4)
			Z_PARAM_STR(key)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(offset)
			Z_PARAM_LONG(initial)
			Z_PARAM_LONG(expiry)
		ZEND_PARSE_PARAMETERS_END();
	}
	bool with_initial = ZEND_NUM_ARGS() >= (by_key ? 4u : 3u);
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	if (!mcring_mc_check_key(o, key)) {
		RETURN_FALSE;
	}
	if (offset < 0) {
		php_error_docref(NULL, E_WARNING, "offset cannot be a negative value");
		RETURN_FALSE;
	}
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	uint64_t start = (uint64_t) initial;
	uint64_t value = 0;
	mcring_status status = mcring_arith_by_key(client, SERVER_KEY(server_key), ZSTR_VAL(key),
		ZSTR_LEN(key), decrement, (uint64_t) offset, with_initial ? &start : NULL,
		mcring_mc_expiration(expiry), &value);
	mcring_mc_result(o, status);
	if (status != MCRING_OK || value == UINT64_MAX) {
		RETURN_FALSE;
	}
	RETURN_LONG((zend_long) value);
}

PHP_METHOD(McRing_Memcached, increment)
{
	arith_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, false, false);
}

PHP_METHOD(McRing_Memcached, decrement)
{
	arith_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, false, true);
}

PHP_METHOD(McRing_Memcached, incrementByKey)
{
	arith_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, true, false);
}

PHP_METHOD(McRing_Memcached, decrementByKey)
{
	arith_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, true, true);
}
