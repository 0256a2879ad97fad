/*
 * PHP values to and from libmcring's value codec.
 *
 * Strings, ints, floats and booleans go to the matching encoder. Arrays,
 * objects and null are structures: JSON by default (PHP's json encoder;
 * they read back as arrays, like json_decode($text, true)), or PHP
 * serialize() with the option 'serializer' => 'php'. A value PHP wrote with
 * serialize() is only unserialized when the client's serializer is php, so
 * a client never runs unserialize() on data it did not opt into.
 */
#include "mcring_values.h"

#include "ext/json/php_json.h"
#include "ext/standard/php_var.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"

/* JSON as written for structures: compact, and floats stay floats. */
#define JSON_WRITE_OPTIONS \
	(PHP_JSON_PRESERVE_ZERO_FRACTION | PHP_JSON_UNESCAPED_SLASHES | PHP_JSON_UNESCAPED_UNICODE)

static const char *json_error_text(php_json_error_code code)
{
	switch (code) {
	case PHP_JSON_ERROR_DEPTH: return "maximum depth exceeded";
	case PHP_JSON_ERROR_UTF8: return "malformed UTF-8 (store binary data as a string, not inside an array)";
	case PHP_JSON_ERROR_RECURSION: return "recursive references";
	case PHP_JSON_ERROR_INF_OR_NAN: return "INF or NAN inside a structure";
	case PHP_JSON_ERROR_UNSUPPORTED_TYPE: return "a type JSON cannot hold (e.g. a resource)";
	case PHP_JSON_ERROR_SYNTAX: return "syntax error";
	case PHP_JSON_ERROR_CTRL_CHAR: return "control character";
	default: return "error";
	}
}

static mcring_status encode_json(mcring_client *client, zval *value, mcring_value **out,
	zend_string **error)
{
	smart_str buf = {0};
	/* Leave json_last_error() to the application's own calls. */
	php_json_error_code previous = JSON_G(error_code);
	zend_result encoded = php_json_encode(&buf, value, JSON_WRITE_OPTIONS);
	php_json_error_code code = JSON_G(error_code);
	JSON_G(error_code) = previous;
	if (encoded == FAILURE || code != PHP_JSON_ERROR_NONE || EG(exception) || buf.s == NULL) {
		smart_str_free(&buf);
		*error = zend_strpprintf(0, "value cannot be stored as JSON: %s",
			EG(exception) ? "an exception was thrown" : json_error_text(code));
		return MCRING_BAD_VALUE;
	}
	mcring_status status = mcring_encode_json(
		client, (const uint8_t *) ZSTR_VAL(buf.s), ZSTR_LEN(buf.s), 0, out);
	smart_str_free(&buf);
	return status;
}

static mcring_status encode_php_serialized(mcring_client *client, zval *value, mcring_value **out,
	zend_string **error)
{
	smart_str buf = {0};
	php_serialize_data_t var_hash;
	PHP_VAR_SERIALIZE_INIT(var_hash);
	php_var_serialize(&buf, value, &var_hash);
	PHP_VAR_SERIALIZE_DESTROY(var_hash);
	if (EG(exception) || buf.s == NULL) {
		smart_str_free(&buf);
		*error = zend_string_init(ZEND_STRL("value cannot be serialized: an exception was thrown"), 0);
		return MCRING_BAD_VALUE;
	}
	mcring_status status = mcring_encode_php_serialized(
		client, (const uint8_t *) ZSTR_VAL(buf.s), ZSTR_LEN(buf.s), 0, out);
	smart_str_free(&buf);
	return status;
}

mcring_status mcring_php_encode(mcring_client *client, mcring_serializer serializer, zval *value,
	mcring_value **out, zend_string **error)
{
	*error = NULL;
	ZVAL_DEREF(value);
	switch (Z_TYPE_P(value)) {
	case IS_STRING:
		return mcring_encode_string(
			client, (const uint8_t *) Z_STRVAL_P(value), Z_STRLEN_P(value), 0, out);
	case IS_LONG:
		return mcring_encode_int(client, (int64_t) Z_LVAL_P(value), 0, out);
	case IS_DOUBLE:
		return mcring_encode_float(client, Z_DVAL_P(value), 0, out);
	case IS_TRUE:
		return mcring_encode_bool(client, true, 0, out);
	case IS_FALSE:
		return mcring_encode_bool(client, false, 0, out);
	case IS_RESOURCE:
		*error = zend_string_init(ZEND_STRL("a resource cannot be stored"), 0);
		return MCRING_BAD_VALUE;
	default: /* null, arrays, objects */
		if (serializer == MCRING_SERIALIZER_PHP) {
			return encode_php_serialized(client, value, out, error);
		}
		return encode_json(client, value, out, error);
	}
}

static mcring_status decode_json(const uint8_t *data, size_t len, zval *out, zend_string **error)
{
	/* PHP's JSON scanner reads up to a terminating NUL. */
	zend_string *text = zend_string_init((const char *) data, len, 0);
	php_json_error_code previous = JSON_G(error_code);
	zend_result decoded = php_json_decode_ex(
		out, ZSTR_VAL(text), ZSTR_LEN(text), PHP_JSON_OBJECT_AS_ARRAY, PHP_JSON_PARSER_DEFAULT_DEPTH);
	zend_string_release(text);
	php_json_error_code code = JSON_G(error_code);
	JSON_G(error_code) = previous;
	if (decoded == FAILURE) {
		zval_ptr_dtor(out);
		*error = zend_strpprintf(0, "stored JSON cannot be read: %s", json_error_text(code));
		return MCRING_BAD_VALUE;
	}
	return MCRING_OK;
}

static mcring_status decode_php_serialized(const uint8_t *data, size_t len, zval *out,
	zend_string **error)
{
	/* As unserialize() does: on a NUL-terminated copy. */
	zend_string *text = zend_string_init((const char *) data, len, 0);
	const unsigned char *p = (const unsigned char *) ZSTR_VAL(text);
	php_unserialize_data_t var_hash;
	PHP_VAR_UNSERIALIZE_INIT(var_hash);
	bool ok = php_var_unserialize(out, &p, p + len, &var_hash);
	PHP_VAR_UNSERIALIZE_DESTROY(var_hash);
	zend_string_release(text);
	if (!ok || EG(exception)) {
		zval_ptr_dtor(out);
		*error = zend_string_init(ZEND_STRL("stored serialize() data cannot be unserialized"), 0);
		return MCRING_BAD_VALUE;
	}
	return MCRING_OK;
}

static mcring_status refuse(const char *why, zend_string **error)
{
	*error = zend_string_init(why, strlen(why), 0);
	return MCRING_BAD_VALUE;
}

mcring_status mcring_php_decode(mcring_client *client, mcring_serializer serializer,
	const uint8_t *data, size_t len, uint32_t flags, zval *out, zend_string **error)
{
	*error = NULL;
	mcring_decoded *d = NULL;
	mcring_status status = mcring_decode(client, data, len, flags, &d);
	if (status != MCRING_OK) {
		return status;
	}
	status = mcring_php_value(serializer, d, out, error);
	mcring_decoded_free(d);
	return status;
}

mcring_status mcring_php_value(mcring_serializer serializer, const mcring_decoded *d, zval *out,
	zend_string **error)
{
	*error = NULL;
	mcring_status status = MCRING_OK;
	const uint8_t *bytes = mcring_decoded_data(d);
	size_t bytes_len = mcring_decoded_len(d);
	switch (mcring_decoded_type(d)) {
	case MCRING_TYPE_STRING:
	case MCRING_TYPE_BYTES:
		ZVAL_STRINGL(out, (const char *) bytes, bytes_len);
		break;
	case MCRING_TYPE_INT:
		ZVAL_LONG(out, (zend_long) mcring_decoded_int(d));
		break;
	case MCRING_TYPE_BIGINT: {
		/* Beyond PHP's int, as PHP's own arithmetic does: a float. */
		zend_string *digits = zend_string_init((const char *) bytes, bytes_len, 0);
		ZVAL_DOUBLE(out, zend_strtod(ZSTR_VAL(digits), NULL));
		zend_string_release(digits);
		break;
	}
	case MCRING_TYPE_FLOAT:
		ZVAL_DOUBLE(out, mcring_decoded_float(d));
		break;
	case MCRING_TYPE_BOOL:
		ZVAL_BOOL(out, mcring_decoded_bool(d));
		break;
	case MCRING_TYPE_JSON:
		status = decode_json(bytes, bytes_len, out, error);
		break;
	case MCRING_TYPE_PHP_SERIALIZED:
		if (serializer == MCRING_SERIALIZER_PHP) {
			status = decode_php_serialized(bytes, bytes_len, out, error);
		} else {
			status = refuse("value was stored with PHP serialize(); read it with the option "
				"'serializer' => 'php'", error);
		}
		break;
	case MCRING_TYPE_PICKLE:
		status = refuse("value is a Python pickle, which PHP cannot read", error);
		break;
	case MCRING_TYPE_IGBINARY:
		status = refuse("value was stored with php-memcached's igbinary serializer, "
			"which mcring does not read (use JSON)", error);
		break;
	case MCRING_TYPE_MSGPACK:
		status = refuse("value was stored with php-memcached's msgpack serializer, "
			"which mcring does not read (use JSON)", error);
		break;
	default:
		status = refuse("value has a type this extension does not know", error);
		break;
	}
	return status;
}
