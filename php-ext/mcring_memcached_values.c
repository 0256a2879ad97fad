/*
 * McRing\Memcached's values, stored exactly as php-memcached stores them:
 * strings, ints, floats and booleans with their type flags (libmcring's
 * codec, which also compresses), anything else serialized with the
 * object's serializer: PHP's serialize() (the default), JSON (read back as
 * objects, or arrays with SERIALIZER_JSON_ARRAY), igbinary or msgpack when
 * those extensions are loaded. Reading goes by the stored type, whatever
 * the object's serializer, as php-memcached reads.
 */
#include "mcring_memcached.h"

#include "ext/json/php_json.h"
#include "ext/standard/php_var.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"

/* The functions of the serializer extensions, if loaded. */
static zend_function *igbinary_serialize_fn, *igbinary_unserialize_fn;
static zend_function *msgpack_pack_fn, *msgpack_unpack_fn;

static zend_function *function_named(const char *name)
{
	return zend_hash_str_find_ptr(CG(function_table), name, strlen(name));
}

static void set_bool_constant(zend_class_entry *ce, const char *name, bool value)
{
	zend_class_constant *c = zend_hash_str_find_ptr(&ce->constants_table, name, strlen(name));
	if (c != NULL) {
		ZVAL_BOOL(&c->value, value);
	}
}

void mcring_mc_values_startup(zend_class_entry *ce)
{
	igbinary_serialize_fn = function_named("igbinary_serialize");
	igbinary_unserialize_fn = function_named("igbinary_unserialize");
	msgpack_pack_fn = function_named("msgpack_pack");
	msgpack_unpack_fn = function_named("msgpack_unpack");
	set_bool_constant(ce, "HAVE_IGBINARY", igbinary_serialize_fn != NULL && igbinary_unserialize_fn != NULL);
	set_bool_constant(ce, "HAVE_MSGPACK", msgpack_pack_fn != NULL && msgpack_unpack_fn != NULL);
}

/* Calls a serializer extension's function on one argument. */
static bool call_function(zend_function *fn, zval *arg, zval *result)
{
	ZVAL_UNDEF(result);
	if (fn == NULL) {
		return false;
	}
	zend_call_known_function(fn, NULL, NULL, result, 1, arg, NULL);
	return !Z_ISUNDEF_P(result) && !EG(exception);
}

/* ---- encoding ---------------------------------------------------------- */

static mcring_status store_serialized(mcring_client *client, zend_long serializer,
	const zend_string *bytes, uint16_t user_flags, mcring_value **out)
{
	const uint8_t *data = (const uint8_t *) ZSTR_VAL(bytes);
	size_t len = ZSTR_LEN(bytes);
	switch (serializer) {
	case MC_SERIALIZER_JSON:
	case MC_SERIALIZER_JSON_ARRAY:
		return mcring_encode_json(client, data, len, user_flags, out);
	case MC_SERIALIZER_IGBINARY:
		return mcring_encode_igbinary(client, data, len, user_flags, out);
	case MC_SERIALIZER_MSGPACK:
		return mcring_encode_msgpack(client, data, len, user_flags, out);
	default:
		return mcring_encode_php_serialized(client, data, len, user_flags, out);
	}
}

/* The serializer's bytes for a value; NULL with a warning on failure. */
static zend_string *serialize(zend_long serializer, zval *value)
{
	zval result;
	switch (serializer) {
	case MC_SERIALIZER_JSON:
	case MC_SERIALIZER_JSON_ARRAY: {
		smart_str buf = {0};
		/* php-memcached encodes with json_encode()'s default options. */
		if (php_json_encode(&buf, value, 0) == FAILURE || EG(exception) || buf.s == NULL) {
			smart_str_free(&buf);
			php_error_docref(NULL, E_WARNING, "could not serialize value with json");
			return NULL;
		}
		return smart_str_extract(&buf);
	}
	case MC_SERIALIZER_IGBINARY:
		if (!call_function(igbinary_serialize_fn, value, &result) || Z_TYPE(result) != IS_STRING) {
			zval_ptr_dtor(&result);
			php_error_docref(NULL, E_WARNING, "could not serialize value with igbinary");
			return NULL;
		}
		return Z_STR(result);
	case MC_SERIALIZER_MSGPACK:
		if (!call_function(msgpack_pack_fn, value, &result) || Z_TYPE(result) != IS_STRING) {
			zval_ptr_dtor(&result);
			php_error_docref(NULL, E_WARNING, "could not serialize value with msgpack");
			return NULL;
		}
		return Z_STR(result);
	default: {
		smart_str buf = {0};
		php_serialize_data_t var_hash;
		PHP_VAR_SERIALIZE_INIT(var_hash);
		php_var_serialize(&buf, value, &var_hash);
		PHP_VAR_SERIALIZE_DESTROY(var_hash);
		if (EG(exception) || buf.s == NULL) {
			smart_str_free(&buf);
			php_error_docref(NULL, E_WARNING, "could not serialize value");
			return NULL;
		}
		return smart_str_extract(&buf);
	}
	}
}

mcring_value *mcring_mc_encode(mcring_mc_object *o, mcring_client *client, zval *value)
{
	mcring_mc_pool *pool = o->pool;
	uint16_t user_flags = pool->user_flags >= 0 ? (uint16_t) pool->user_flags : 0;
	mcring_value *v = NULL;
	mcring_status status;
	ZVAL_DEREF(value);
	switch (Z_TYPE_P(value)) {
	case IS_STRING:
		status = mcring_encode_string(
			client, (const uint8_t *) Z_STRVAL_P(value), Z_STRLEN_P(value), user_flags, &v);
		break;
	case IS_LONG:
		status = mcring_encode_int(client, (int64_t) Z_LVAL_P(value), user_flags, &v);
		break;
	case IS_DOUBLE:
		status = mcring_encode_float(client, Z_DVAL_P(value), user_flags, &v);
		break;
	case IS_TRUE:
	case IS_FALSE:
		status = mcring_encode_bool(client, Z_TYPE_P(value) == IS_TRUE, user_flags, &v);
		break;
	default: { /* null, arrays, objects, resources */
		zend_string *bytes = serialize(pool->serializer, value);
		if (bytes == NULL) {
			o->rescode = MCRING_RES_PAYLOAD_FAILURE;
			return NULL;
		}
		status = store_serialized(client, pool->serializer, bytes, user_flags, &v);
		zend_string_release(bytes);
		break;
	}
	}
	if (status != MCRING_OK) {
		mcring_mc_result(o, status);
		return NULL;
	}
	if (pool->item_size_limit > 0 && mcring_value_len(v) > (size_t) pool->item_size_limit) {
		php_error_docref(NULL, E_WARNING,
			"payload (%zu bytes) is larger than the item size limit (" ZEND_LONG_FMT " bytes)",
			mcring_value_len(v), pool->item_size_limit);
		mcring_value_free(v);
		o->rescode = MCRING_RES_PAYLOAD_FAILURE;
		return NULL;
	}
	return v;
}

/* ---- decoding ---------------------------------------------------------- */

static bool decode_json(mcring_mc_object *o, const uint8_t *data, size_t len, zval *out)
{
	/* PHP's JSON scanner reads up to a terminating NUL. */
	zend_string *text = zend_string_init((const char *) data, len, 0);
	php_json_error_code previous = JSON_G(error_code);
	zend_long options = o->pool->serializer == MC_SERIALIZER_JSON_ARRAY ? PHP_JSON_OBJECT_AS_ARRAY : 0;
	/* As php-memcached: JSON that does not parse reads as null. */
	if (php_json_decode_ex(out, ZSTR_VAL(text), ZSTR_LEN(text), options,
			PHP_JSON_PARSER_DEFAULT_DEPTH) == FAILURE) {
		ZVAL_NULL(out);
	}
	JSON_G(error_code) = previous;
	zend_string_release(text);
	return true;
}

static bool decode_serialized(const uint8_t *data, size_t len, zval *out)
{
	/* As unserialize() does: on a NUL-terminated copy. */
	zend_string *text = zend_string_init((const char *) data, len, 0);
	const unsigned char *p = (const unsigned char *) ZSTR_VAL(text);
	php_unserialize_data_t var_hash;
	PHP_VAR_UNSERIALIZE_INIT(var_hash);
	bool ok = php_var_unserialize(out, &p, p + len, &var_hash);
	PHP_VAR_UNSERIALIZE_DESTROY(var_hash);
	zend_string_release(text);
	if (!ok) {
		zval_ptr_dtor(out);
		ZVAL_FALSE(out);
		php_error_docref(NULL, E_WARNING, "could not unserialize value");
	}
	return ok;
}

static bool decode_with(zend_function *fn, const char *name, const uint8_t *data, size_t len,
	zval *out)
{
	if (fn == NULL) {
		php_error_docref(NULL, E_WARNING, "could not unserialize value, no %s support", name);
		return false;
	}
	zval arg;
	ZVAL_STRINGL(&arg, (const char *) data, len);
	bool ok = call_function(fn, &arg, out);
	zval_ptr_dtor(&arg);
	if (!ok) {
		zval_ptr_dtor(out);
		ZVAL_FALSE(out);
		php_error_docref(NULL, E_WARNING, "could not unserialize value with %s", name);
	}
	return ok;
}

/* A decimal integer past PHP's int, as php-memcached's strtol() reads it:
   the nearest int. */
static zend_long saturated(const uint8_t *digits, size_t len)
{
	return len > 0 && digits[0] == '-' ? ZEND_LONG_MIN : ZEND_LONG_MAX;
}

bool mcring_mc_decode(mcring_mc_object *o, mcring_client *client, const uint8_t *data, size_t len,
	uint32_t flags, zval *out)
{
	if (mcring_is_plain_string(client, flags)) {
		ZVAL_STRINGL(out, (const char *) data, len);
		return true;
	}
	mcring_decoded *d = NULL;
	if (mcring_decode(client, data, len, flags, &d) != MCRING_OK) {
		/* php-memcached's warnings for the same values. */
		const char *why = mcring_last_error();
		if (flags & 0x10) {
			php_error_docref(NULL, E_WARNING, "could not decompress value: %s", why);
		} else if (strstr(why, "unknown") != NULL) {
			php_error_docref(NULL, E_WARNING, "unknown payload type");
		} else {
			php_error_docref(NULL, E_WARNING, "could not read value: %s", why);
		}
		ZVAL_FALSE(out);
		return false;
	}
	const uint8_t *bytes = mcring_decoded_data(d);
	size_t bytes_len = mcring_decoded_len(d);
	bool ok = true;
	switch (mcring_decoded_type(d)) {
	case MCRING_TYPE_STRING:
	case MCRING_TYPE_BYTES:
		ZVAL_STRINGL(out, (const char *) bytes, bytes_len);
		break;
	case MCRING_TYPE_INT:
		ZVAL_LONG(out, (zend_long) mcring_decoded_int(d));
		break;
	case MCRING_TYPE_BIGINT:
		ZVAL_LONG(out, saturated(bytes, bytes_len));
		break;
	case MCRING_TYPE_FLOAT:
		ZVAL_DOUBLE(out, mcring_decoded_float(d));
		break;
	case MCRING_TYPE_BOOL:
		ZVAL_BOOL(out, mcring_decoded_bool(d));
		break;
	case MCRING_TYPE_JSON:
		ok = decode_json(o, bytes, bytes_len, out);
		break;
	case MCRING_TYPE_PHP_SERIALIZED:
		ok = decode_serialized(bytes, bytes_len, out);
		break;
	case MCRING_TYPE_IGBINARY:
		ok = decode_with(igbinary_unserialize_fn, "igbinary", bytes, bytes_len, out);
		break;
	case MCRING_TYPE_MSGPACK:
		ok = decode_with(msgpack_unpack_fn, "msgpack", bytes, bytes_len, out);
		break;
	default: /* a Python pickle */
		php_error_docref(NULL, E_WARNING, "unknown payload type");
		ZVAL_FALSE(out);
		ok = false;
		break;
	}
	mcring_decoded_free(d);
	return ok;
}

/* ---- CAS tokens --------------------------------------------------------- */

void mcring_mc_cas_zval(zval *out, uint64_t cas)
{
	if (cas >= (uint64_t) ZEND_LONG_MAX) {
		ZVAL_STR(out, zend_strpprintf(0, "%" PRIu64, cas));
	} else {
		ZVAL_LONG(out, (zend_long) cas);
	}
}

uint64_t mcring_mc_cas_of(zval *token)
{
	ZVAL_DEREF(token);
	switch (Z_TYPE_P(token)) {
	case IS_LONG:
		return (uint64_t) Z_LVAL_P(token);
	case IS_DOUBLE:
		return Z_DVAL_P(token) < 0.0 ? 0 : (uint64_t) Z_DVAL_P(token);
	case IS_STRING: {
		char *end;
		errno = 0;
		unsigned long long value = strtoull(Z_STRVAL_P(token), &end, 0);
		if (*end != '\0' || errno != 0) {
			zend_argument_value_error(1, "must be a CAS token (an integer or its decimal digits)");
			return 0;
		}
		return value;
	}
	default:
		return 0;
	}
}
