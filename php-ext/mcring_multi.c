/*
 * Multi-key commands of McRing\Client: one libmcring fan-out each, so a
 * call costs about the slowest server's round trip.
 *
 * libmcring hands found values to a callback while its request is in
 * progress. The callback only copies them, with malloc(), into one buffer
 * per call: no PHP code runs there, so no PHP error (memory_limit) can jump
 * out through libmcring's frames. They are decoded and become PHP values
 * one at a time after the call returns.
 */
#include "mcring_client.h"
#include "mcring_values.h"

#include "zend_exceptions.h"

/* Keys taken from a PHP array's values, as libmcring wants them. */
typedef struct {
	uint32_t count;
	zend_string **keys;
	const char **ptrs;
	size_t *lens;
} key_list;

static void key_list_free(key_list *list)
{
	for (uint32_t i = 0; i < list->count; i++) {
		zend_string_release(list->keys[i]);
	}
	efree(list->keys);
	efree(list->ptrs);
	efree(list->lens);
}

/* The array's values as keys: strings, or ints as their digits. False
   with a TypeError for anything else. */
static bool key_list_from(HashTable *array, uint32_t arg_num, key_list *list)
{
	uint32_t n = zend_hash_num_elements(array);
	list->count = 0;
	list->keys = safe_emalloc(n, sizeof(zend_string *), 0);
	list->ptrs = safe_emalloc(n, sizeof(const char *), 0);
	list->lens = safe_emalloc(n, sizeof(size_t), 0);
	zval *key;
	ZEND_HASH_FOREACH_VAL(array, key) {
		ZVAL_DEREF(key);
		zend_string *text;
		if (Z_TYPE_P(key) == IS_STRING) {
			text = zend_string_copy(Z_STR_P(key));
		} else if (Z_TYPE_P(key) == IS_LONG) {
			text = zend_long_to_str(Z_LVAL_P(key));
		} else {
			zend_argument_type_error(arg_num, "must contain only string keys, %s found",
				zend_zval_type_name(key));
			key_list_free(list);
			return false;
		}
		list->keys[list->count] = text;
		list->ptrs[list->count] = ZSTR_VAL(text);
		list->lens[list->count] = ZSTR_LEN(text);
		list->count++;
	} ZEND_HASH_FOREACH_END();
	return true;
}

/* Values found by a multi-get, as stored: their bytes one after another in
   one malloc'd buffer, and where each key's are. */
typedef struct {
	size_t count;
	char *bytes;
	size_t used, capacity;
	/* By key index: offset in `bytes` + 1 (0: not found), length, flags. */
	size_t *offsets;
	size_t *lens;
	uint32_t *flags;
	bool out_of_memory;
} found_values;

static void on_value(void *userdata, size_t index, const uint8_t *value, size_t value_len,
	uint32_t flags, uint64_t cas)
{
	(void) cas;
	found_values *found = userdata;
	if (index >= found->count || found->offsets[index] != 0) {
		return;
	}
	if (value_len > found->capacity - found->used) {
		size_t capacity = found->capacity * 2 > found->used + value_len
			? found->capacity * 2 : found->used + value_len;
		char *bytes = realloc(found->bytes, capacity > 0 ? capacity : 1);
		if (bytes == NULL) {
			found->out_of_memory = true;
			return;
		}
		found->bytes = bytes;
		found->capacity = capacity;
	}
	memcpy(found->bytes + found->used, value, value_len);
	found->offsets[index] = found->used + 1;
	found->lens[index] = value_len;
	found->flags[index] = flags;
	found->used += value_len;
}

PHP_METHOD(McRing_Client, getMulti)
{
	HashTable *keys_array;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_ARRAY_HT(keys_array)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	key_list keys;
	if (o == NULL || !key_list_from(keys_array, 1, &keys)) {
		RETURN_THROWS();
	}
	if (keys.count == 0) {
		key_list_free(&keys);
		mcring_result(o, MCRING_OK);
		RETURN_EMPTY_ARRAY();
	}

	found_values found = {
		.count = keys.count,
		.capacity = 16384,
		.bytes = malloc(16384),
		.offsets = ecalloc(keys.count, sizeof(size_t)),
		.lens = ecalloc(keys.count, sizeof(size_t)),
		.flags = ecalloc(keys.count, sizeof(uint32_t)),
	};
	if (found.bytes == NULL) {
		found.capacity = 0;
	}
	mcring_status status = mcring_get_multi(
		o->client, keys.ptrs, keys.lens, keys.count, on_value, &found, NULL);
	zend_string *message = NULL;
	if (status != MCRING_OK) {
		message = zend_string_init(mcring_last_error(), strlen(mcring_last_error()), 0);
	} else if (found.out_of_memory) {
		status = MCRING_INTERNAL_ERROR;
		message = zend_string_init(ZEND_STRL("out of memory while copying values"), 0);
	}

	/* The values found, in the order of the keys. */
	array_init_size(return_value, keys.count);
	for (uint32_t i = 0; i < keys.count; i++) {
		if (found.offsets[i] == 0) {
			continue;
		}
		zval value;
		zend_string *error = NULL;
		const char *bytes = found.bytes + found.offsets[i] - 1;
		mcring_status decoded = MCRING_OK;
		if (mcring_is_plain_string(o->client, found.flags[i])) {
			/* A string stored as is: no decoding step. */
			ZVAL_STRINGL(&value, bytes, found.lens[i]);
		} else {
			decoded = mcring_php_decode(o->client, o->serializer, (const uint8_t *) bytes,
				found.lens[i], found.flags[i], &value, &error);
		}
		if (decoded == MCRING_OK) {
			zend_symtable_update(Z_ARRVAL_P(return_value), keys.keys[i], &value);
		} else if (status == MCRING_OK) {
			/* The first value that cannot be read names the failure. */
			status = decoded;
			message = error != NULL ? error
				: zend_strpprintf(0, "value of key \"%s\": %s", ZSTR_VAL(keys.keys[i]),
					mcring_last_error());
		} else if (error != NULL) {
			zend_string_release(error);
		}
	}
	free(found.bytes);
	efree(found.offsets);
	efree(found.lens);
	efree(found.flags);
	key_list_free(&keys);
	mcring_result_message(o, status, message);
}

PHP_METHOD(McRing_Client, setMulti)
{
	HashTable *items_array;
	zend_long ttl = 0;
	ZEND_PARSE_PARAMETERS_START(1, 2)
		Z_PARAM_ARRAY_HT(items_array)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(ttl)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	uint32_t ttl_seconds;
	if (o == NULL || !mcring_seconds_arg(ttl, 2, &ttl_seconds)) {
		RETURN_THROWS();
	}
	uint32_t n = zend_hash_num_elements(items_array);
	if (n == 0) {
		mcring_result(o, MCRING_OK);
		RETURN_TRUE;
	}

	mcring_set_item *items = safe_emalloc(n, sizeof(mcring_set_item), 0);
	mcring_value **values = ecalloc(n, sizeof(mcring_value *));
	zend_string **keys = ecalloc(n, sizeof(zend_string *));
	uint32_t made = 0;
	mcring_status status = MCRING_OK;
	zend_string *error = NULL;
	zend_string *str_key;
	zend_ulong num_key;
	zval *value;
	ZEND_HASH_FOREACH_KEY_VAL(items_array, num_key, str_key, value) {
		keys[made] = mcring_key_of(str_key, num_key);
		status = mcring_php_encode(o->client, o->serializer, value, &values[made], &error);
		made++;
		if (status != MCRING_OK) {
			break;
		}
		items[made - 1] = (mcring_set_item) {
			.key = ZSTR_VAL(keys[made - 1]),
			.key_len = ZSTR_LEN(keys[made - 1]),
			.value = mcring_value_data(values[made - 1]),
			.value_len = mcring_value_len(values[made - 1]),
			.flags = mcring_value_flags(values[made - 1]),
		};
	} ZEND_HASH_FOREACH_END();
	if (status == MCRING_OK) {
		/* One fan-out; a bad key fails it before anything is sent. */
		status = mcring_set_multi(o->client, items, n, ttl_seconds, NULL);
	}
	mcring_result_message(o, status, error);
	for (uint32_t i = 0; i < made; i++) {
		mcring_value_free(values[i]);
		zend_string_release(keys[i]);
	}
	efree(items);
	efree(values);
	efree(keys);
	RETURN_BOOL(status == MCRING_OK);
}

PHP_METHOD(McRing_Client, deleteMulti)
{
	HashTable *keys_array;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_ARRAY_HT(keys_array)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	key_list keys;
	if (o == NULL || !key_list_from(keys_array, 1, &keys)) {
		RETURN_THROWS();
	}
	if (keys.count == 0) {
		key_list_free(&keys);
		mcring_result(o, MCRING_OK);
		RETURN_EMPTY_ARRAY();
	}
	mcring_status *statuses = safe_emalloc(keys.count, sizeof(mcring_status), 0);
	mcring_status status =
		mcring_delete_multi(o->client, keys.ptrs, keys.lens, keys.count, statuses);
	mcring_result(o, status);
	/* Each key: true, or its RES_* code (RES_NOTFOUND if it did not exist). */
	array_init_size(return_value, keys.count);
	for (uint32_t i = 0; i < keys.count; i++) {
		zval result;
		if (statuses[i] == MCRING_OK) {
			ZVAL_TRUE(&result);
		} else {
			ZVAL_LONG(&result, (zend_long) mcring_res_of(statuses[i]));
		}
		zend_symtable_update(Z_ARRVAL_P(return_value), keys.keys[i], &result);
	}
	efree(statuses);
	key_list_free(&keys);
}
