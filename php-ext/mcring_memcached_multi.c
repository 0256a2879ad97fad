/*
 * McRing\Memcached's multi-key commands: getMulti, getDelayed with fetch
 * and fetchAll, setMulti, deleteMulti, and their *ByKey forms. Each is one
 * libmcring fan-out (keys grouped by server, one poll loop), where
 * php-memcached's setMulti and deleteMulti make one round trip per key.
 *
 * Found values are copied by libmcring's callback into one malloc'd buffer
 * (no PHP code runs inside libmcring's frames) and become PHP values after
 * the call returns.
 */
#include "mcring_memcached.h"

#include "zend_exceptions.h"

#define SERVER_KEY(sk) ((sk) != NULL ? ZSTR_VAL(sk) : NULL), ((sk) != NULL ? ZSTR_LEN(sk) : 0)

/* Whether php-memcached sends a key of a multi-key command: 1..250 bytes. */
static bool sendable_length(const zend_string *key)
{
	return ZSTR_LEN(key) > 0 && ZSTR_LEN(key) <= MC_KEY_MAX;
}

/* Whether the engine can send a key (no space or control byte): a key
   php-memcached would send and that splits the text command reads as a
   miss here. */
static bool sendable_bytes(const zend_string *key)
{
	const unsigned char *p = (const unsigned char *) ZSTR_VAL(key);
	for (size_t i = 0; i < ZSTR_LEN(key); i++) {
		if (p[i] <= ' ' || p[i] == 0x7f) {
			return false;
		}
	}
	return true;
}

/* The keys of a multi-key call: every array value as a string, and the
   ones to send. */
typedef struct {
	uint32_t count;
	zend_string **all;
	/* The keys to send: pointers, lengths, and their index in `all`. */
	uint32_t sent;
	const char **ptrs;
	size_t *lens;
	uint32_t *index;
	/* Keys of a sendable length (php-memcached's "valid keys"). */
	uint32_t valid;
} key_list;

static void keys_of(HashTable *array, key_list *list)
{
	uint32_t n = zend_hash_num_elements(array);
	list->count = 0;
	list->sent = 0;
	list->valid = 0;
	list->all = safe_emalloc(n, sizeof(zend_string *), 0);
	list->ptrs = safe_emalloc(n, sizeof(const char *), 0);
	list->lens = safe_emalloc(n, sizeof(size_t), 0);
	list->index = safe_emalloc(n, sizeof(uint32_t), 0);
	zval *entry;
	ZEND_HASH_FOREACH_VAL(array, entry) {
		zend_string *key = zval_get_string(entry);
		uint32_t i = list->count++;
		list->all[i] = key;
		if (sendable_length(key)) {
			list->valid++;
			if (sendable_bytes(key)) {
				list->ptrs[list->sent] = ZSTR_VAL(key);
				list->lens[list->sent] = ZSTR_LEN(key);
				list->index[list->sent] = i;
				list->sent++;
			}
		}
	} ZEND_HASH_FOREACH_END();
}

static void keys_free(key_list *list)
{
	for (uint32_t i = 0; i < list->count; i++) {
		zend_string_release(list->all[i]);
	}
	efree(list->all);
	efree(list->ptrs);
	efree(list->lens);
	efree(list->index);
}

/* Values found, as stored: their bytes one after another in one malloc'd
   buffer, and where each sent key's are. */
typedef struct {
	size_t count;
	char *bytes;
	size_t used, capacity;
	/* By sent-key index: offset in `bytes` + 1 (0: not found), length,
	   flags, CAS token. */
	size_t *offsets;
	size_t *lens;
	uint32_t *flags;
	uint64_t *cas;
	bool out_of_memory;
} found_values;

static void on_value(void *userdata, size_t index, const uint8_t *value, size_t value_len,
	uint32_t flags, uint64_t cas)
{
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
	found->cas[index] = cas;
	found->used += value_len;
}

static void found_init(found_values *found, size_t count)
{
	*found = (found_values) {
		.count = count,
		.capacity = 16384,
		.bytes = malloc(16384),
		.offsets = ecalloc(count, sizeof(size_t)),
		.lens = ecalloc(count, sizeof(size_t)),
		.flags = ecalloc(count, sizeof(uint32_t)),
		.cas = ecalloc(count, sizeof(uint64_t)),
	};
	if (found->bytes == NULL) {
		found->capacity = 0;
	}
}

static void found_free(found_values *found)
{
	free(found->bytes);
	efree(found->offsets);
	efree(found->lens);
	efree(found->flags);
	efree(found->cas);
}

/* Fetches the sent keys of `keys` in one fan-out into `found`. Returns
   the call's status; `*hits` counts the values found. */
static mcring_status fetch_multi(mcring_mc_object *o, mcring_client *client,
	zend_string *server_key, key_list *keys, bool with_cas, found_values *found, uint32_t *hits)
{
	found_init(found, keys->sent);
	*hits = 0;
	if (keys->sent == 0) {
		return MCRING_OK;
	}
	mcring_status status = mcring_get_multi_by_key(client, SERVER_KEY(server_key), keys->ptrs,
		keys->lens, keys->sent, with_cas, on_value, found, NULL);
	if (status == MCRING_OK && found->out_of_memory) {
		status = MCRING_INTERNAL_ERROR;
	}
	for (uint32_t i = 0; i < keys->sent; i++) {
		*hits += found->offsets[i] != 0;
	}
	return status;
}

/* The result code of a multi-get as libmemcached reports it: a server that
   failed while others answered is not an error (its keys are misses);
   nothing found at all is RES_NOTFOUND. */
static void multi_get_result(mcring_mc_object *o, mcring_status status, uint32_t hits)
{
	if (status == MCRING_OK || (hits > 0 && status != MCRING_INTERNAL_ERROR)) {
		o->rescode = hits > 0 ? MCRING_RES_SUCCESS : MCRING_RES_NOTFOUND;
	} else {
		mcring_mc_result(o, status);
	}
}

/* A found value as a PHP value; false (the call then reports
   RES_SOME_ERRORS) if it cannot be read. */
static bool found_value(mcring_mc_object *o, mcring_client *client, const found_values *found,
	uint32_t i, zval *out)
{
	return mcring_mc_decode(o, client, (const uint8_t *) found->bytes + found->offsets[i] - 1,
		found->lens[i], found->flags[i], out);
}

static void get_multi_impl(INTERNAL_FUNCTION_PARAMETERS, bool by_key)
{
	zend_string *server_key = NULL;
	HashTable *keys_array;
	zend_long get_flags = 0;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(2, 3)
			Z_PARAM_STR(server_key)
			Z_PARAM_ARRAY_HT(keys_array)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(get_flags)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(1, 2)
			Z_PARAM_ARRAY_HT(keys_array)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(get_flags)
		ZEND_PARSE_PARAMETERS_END();
	}
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	if (zend_hash_num_elements(keys_array) == 0) {
		o->rescode = MCRING_RES_NOTFOUND;
		RETURN_EMPTY_ARRAY();
	}
	o->rescode = MCRING_RES_SUCCESS;
	bool extended = (get_flags & MC_GET_EXTENDED) != 0;
	key_list keys;
	keys_of(keys_array, &keys);
	array_init_size(return_value, keys.count);
	if (get_flags & MC_GET_PRESERVE_ORDER) {
		for (uint32_t i = 0; i < keys.count; i++) {
			zval null;
			ZVAL_NULL(&null);
			zend_symtable_update(Z_ARRVAL_P(return_value), keys.all[i], &null);
		}
	}
	if (keys.valid == 0) {
		keys_free(&keys);
		o->rescode = MCRING_RES_BAD_KEY_PROVIDED;
		zval_ptr_dtor(return_value);
		RETURN_FALSE;
	}
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		keys_free(&keys);
		zval_ptr_dtor(return_value);
		RETURN_FALSE;
	}
	found_values found;
	uint32_t hits;
	mcring_status status = fetch_multi(o, client, server_key, &keys, extended, &found, &hits);
	multi_get_result(o, status, hits);
	bool some_unreadable = false;
	for (uint32_t i = 0; i < keys.sent; i++) {
		if (found.offsets[i] == 0) {
			continue;
		}
		zval value;
		if (!found_value(o, client, &found, i, &value)) {
			some_unreadable = true;
			continue;
		}
		zend_string *key = keys.all[keys.index[i]];
		if (extended) {
			zval entry, cas;
			array_init_size(&entry, 3);
			add_assoc_zval(&entry, "value", &value);
			mcring_mc_cas_zval(&cas, found.cas[i]);
			add_assoc_zval(&entry, "cas", &cas);
			add_assoc_long(&entry, "flags", (zend_long) mcring_user_flags(found.flags[i]));
			zend_symtable_update(Z_ARRVAL_P(return_value), key, &entry);
		} else {
			zend_symtable_update(Z_ARRVAL_P(return_value), key, &value);
		}
	}
	found_free(&found);
	keys_free(&keys);
	if (some_unreadable && !mcring_mc_is_failure(o->rescode)) {
		o->rescode = MCRING_RES_SOME_ERRORS;
	}
	if (EG(exception)) {
		o->rescode = MCRING_RES_PAYLOAD_FAILURE;
	}
	/* php-memcached returns what it found for a miss or a value it could
	   not read, and false for any other failure. */
	if (mcring_mc_is_failure(o->rescode) && o->rescode != MCRING_RES_NOTFOUND
		&& o->rescode != MCRING_RES_SOME_ERRORS) {
		zval_ptr_dtor(return_value);
		RETURN_FALSE;
	}
}

PHP_METHOD(McRing_Memcached, getMulti)
{
	get_multi_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, false);
}

PHP_METHOD(McRing_Memcached, getMultiByKey)
{
	get_multi_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, true);
}

/* ---- getDelayed, fetch, fetchAll --------------------------------------- */

/* One result of getDelayed() as php-memcached gives it: key and value, and
   with CAS tokens asked for, the token and the user flags. */
static void result_entry(zval *entry, zend_string *key, zval *value, bool with_cas, uint64_t cas,
	uint32_t flags)
{
	array_init_size(entry, 4);
	add_assoc_str(entry, "key", zend_string_copy(key));
	add_assoc_zval(entry, "value", value);
	if (with_cas && cas != 0) {
		zval token;
		mcring_mc_cas_zval(&token, cas);
		add_assoc_zval(entry, "cas", &token);
		add_assoc_long(entry, "flags", (zend_long) mcring_user_flags(flags));
	}
}

static void get_delayed_impl(INTERNAL_FUNCTION_PARAMETERS, bool by_key)
{
	zend_string *server_key = NULL;
	HashTable *keys_array;
	bool with_cas = false;
	zend_fcall_info fci = empty_fcall_info;
	zend_fcall_info_cache fcc = empty_fcall_info_cache;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(2, 4)
			Z_PARAM_STR(server_key)
			Z_PARAM_ARRAY_HT(keys_array)
			Z_PARAM_OPTIONAL
			Z_PARAM_BOOL(with_cas)
			Z_PARAM_FUNC_OR_NULL(fci, fcc)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(1, 3)
			Z_PARAM_ARRAY_HT(keys_array)
			Z_PARAM_OPTIONAL
			Z_PARAM_BOOL(with_cas)
			Z_PARAM_FUNC_OR_NULL(fci, fcc)
		ZEND_PARSE_PARAMETERS_END();
	}
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	/* A new request replaces the results of the last one. */
	zval_ptr_dtor(&o->delayed);
	ZVAL_UNDEF(&o->delayed);
	o->delayed_next = 0;

	key_list keys;
	keys_of(keys_array, &keys);
	if (keys.valid == 0) {
		keys_free(&keys);
		o->rescode = MCRING_RES_BAD_KEY_PROVIDED;
		RETURN_FALSE;
	}
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		keys_free(&keys);
		RETURN_FALSE;
	}
	/* The request completes here; fetch() then hands out its results. */
	found_values found;
	uint32_t hits;
	mcring_status status = fetch_multi(o, client, server_key, &keys, with_cas, &found, &hits);
	if (status != MCRING_OK && hits == 0) {
		mcring_mc_result(o, status);
		found_free(&found);
		keys_free(&keys);
		RETURN_FALSE;
	}
	o->rescode = MCRING_RES_SUCCESS;
	array_init(&o->delayed);
	for (uint32_t i = 0; i < keys.sent; i++) {
		if (found.offsets[i] == 0) {
			continue;
		}
		zval value, entry;
		if (!found_value(o, client, &found, i, &value)) {
			continue;
		}
		result_entry(&entry, keys.all[keys.index[i]], &value, with_cas, found.cas[i], found.flags[i]);
		add_next_index_zval(&o->delayed, &entry);
	}
	found_free(&found);
	keys_free(&keys);

	if (ZEND_FCI_INITIALIZED(fci)) {
		/* The value callback: ($memcached, $result) for each result. */
		zval *entry;
		ZEND_HASH_FOREACH_VAL(Z_ARRVAL(o->delayed), entry) {
			zval params[2], retval;
			ZVAL_COPY(&params[0], ZEND_THIS);
			ZVAL_COPY(&params[1], entry);
			fci.retval = &retval;
			fci.params = params;
			fci.param_count = 2;
			if (zend_call_function(&fci, &fcc) == FAILURE) {
				php_error_docref(NULL, E_WARNING, "could not invoke result callback");
			}
			zval_ptr_dtor(&retval);
			zval_ptr_dtor(&params[0]);
			zval_ptr_dtor(&params[1]);
			if (EG(exception)) {
				break;
			}
		} ZEND_HASH_FOREACH_END();
		zval_ptr_dtor(&o->delayed);
		ZVAL_UNDEF(&o->delayed);
		if (EG(exception)) {
			RETURN_THROWS();
		}
	}
	RETURN_TRUE;
}

PHP_METHOD(McRing_Memcached, getDelayed)
{
	get_delayed_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, false);
}

PHP_METHOD(McRing_Memcached, getDelayedByKey)
{
	get_delayed_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, true);
}

/* The results getDelayed() left that fetch() has not handed out yet. */
static uint32_t delayed_left(const mcring_mc_object *o)
{
	return Z_TYPE(o->delayed) == IS_ARRAY ? zend_hash_num_elements(Z_ARRVAL(o->delayed)) - o->delayed_next : 0;
}

PHP_METHOD(McRing_Memcached, fetch)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	if (delayed_left(o) == 0) {
		o->rescode = MCRING_RES_NOTFOUND;
		RETURN_FALSE;
	}
	o->rescode = MCRING_RES_SUCCESS;
	zval *entry = zend_hash_index_find(Z_ARRVAL(o->delayed), o->delayed_next++);
	if (entry == NULL) {
		o->rescode = MCRING_RES_NOTFOUND;
		RETURN_FALSE;
	}
	RETVAL_COPY(entry);
	if (delayed_left(o) == 0) {
		zval_ptr_dtor(&o->delayed);
		ZVAL_UNDEF(&o->delayed);
		o->delayed_next = 0;
	}
}

PHP_METHOD(McRing_Memcached, fetchAll)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	if (delayed_left(o) == 0) {
		o->rescode = MCRING_RES_NOTFOUND;
		RETURN_FALSE;
	}
	o->rescode = MCRING_RES_SUCCESS;
	array_init(return_value);
	for (uint32_t i = o->delayed_next; delayed_left(o) > 0; i++, o->delayed_next++) {
		zval *entry = zend_hash_index_find(Z_ARRVAL(o->delayed), i);
		if (entry != NULL) {
			Z_TRY_ADDREF_P(entry);
			add_next_index_zval(return_value, entry);
		}
	}
	zval_ptr_dtor(&o->delayed);
	ZVAL_UNDEF(&o->delayed);
	o->delayed_next = 0;
}

/* ---- setMulti ------------------------------------------------------------ */

static void set_multi_impl(INTERNAL_FUNCTION_PARAMETERS, bool by_key)
{
	zend_string *server_key = NULL;
	HashTable *items_array;
	zend_long expiration = 0;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(2, 3)
			Z_PARAM_STR(server_key)
			Z_PARAM_ARRAY_HT(items_array)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(expiration)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(1, 2)
			Z_PARAM_ARRAY_HT(items_array)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(expiration)
		ZEND_PARSE_PARAMETERS_END();
	}
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	uint32_t n = zend_hash_num_elements(items_array);
	if (n == 0) {
		RETURN_TRUE;
	}
	mcring_client *client = mcring_mc_client(o);
	if (client == NULL) {
		RETURN_FALSE;
	}
	mcring_set_item *items = safe_emalloc(n, sizeof(mcring_set_item), 0);
	mcring_value **values = ecalloc(n, sizeof(mcring_value *));
	zend_string **keys = ecalloc(n, sizeof(zend_string *));
	uint32_t made = 0;
	/* A key or value that cannot be stored fails the call, as in
	   php-memcached, while the other items are stored. */
	int failure = MCRING_RES_SUCCESS;
	zend_string *str_key;
	zend_ulong num_key;
	zval *value;
	ZEND_HASH_FOREACH_KEY_VAL(items_array, num_key, str_key, value) {
		zend_string *key = str_key != NULL ? zend_string_copy(str_key) : zend_long_to_str((zend_long) num_key);
		if (!sendable_length(key) || !sendable_bytes(key)) {
			failure = MCRING_RES_BAD_KEY_PROVIDED;
			zend_string_release(key);
			continue;
		}
		mcring_value *v = mcring_mc_encode(o, client, value);
		if (v == NULL) {
			failure = o->rescode;
			zend_string_release(key);
			if (EG(exception)) {
				break;
			}
			continue;
		}
		keys[made] = key;
		values[made] = v;
		items[made] = (mcring_set_item) {
			.key = ZSTR_VAL(key),
			.key_len = ZSTR_LEN(key),
			.value = mcring_value_data(v),
			.value_len = mcring_value_len(v),
			.flags = mcring_value_flags(v),
		};
		made++;
	} ZEND_HASH_FOREACH_END();
	mcring_status status = MCRING_OK;
	if (made > 0 && !EG(exception)) {
		status = mcring_mc_made(mcring_set_multi_by_key(client, SERVER_KEY(server_key), items, made,
			mcring_mc_expiration(expiration), o->pool->behavior[MC_BEHAVIOR_NOREPLY] != 0, NULL));
	}
	mcring_mc_result(o, status);
	if (status == MCRING_OK && failure != MCRING_RES_SUCCESS) {
		o->rescode = failure;
	}
	for (uint32_t i = 0; i < made; i++) {
		mcring_value_free(values[i]);
		zend_string_release(keys[i]);
	}
	efree(items);
	efree(values);
	efree(keys);
	if (EG(exception)) {
		RETURN_THROWS();
	}
	RETURN_BOOL(!mcring_mc_is_failure(o->rescode));
}

PHP_METHOD(McRing_Memcached, setMulti)
{
	set_multi_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, false);
}

PHP_METHOD(McRing_Memcached, setMultiByKey)
{
	set_multi_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, true);
}

/* ---- deleteMulti ---------------------------------------------------------- */

static void delete_multi_impl(INTERNAL_FUNCTION_PARAMETERS, bool by_key)
{
	zend_string *server_key = NULL;
	HashTable *keys_array;
	zend_long time = 0;
	if (by_key) {
		ZEND_PARSE_PARAMETERS_START(2, 3)
			Z_PARAM_STR(server_key)
			Z_PARAM_ARRAY_HT(keys_array)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(time)
		ZEND_PARSE_PARAMETERS_END();
	} else {
		ZEND_PARSE_PARAMETERS_START(1, 2)
			Z_PARAM_ARRAY_HT(keys_array)
			Z_PARAM_OPTIONAL
			Z_PARAM_LONG(time)
		ZEND_PARSE_PARAMETERS_END();
	}
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	o->rescode = MCRING_RES_SUCCESS;
	array_init(return_value);
	key_list keys;
	keys_of(keys_array, &keys);
	mcring_client *client = time == 0 ? mcring_mc_client(o) : NULL;
	mcring_status *statuses = safe_emalloc(keys.sent > 0 ? keys.sent : 1, sizeof(mcring_status), 0);
	mcring_status status = MCRING_OK;
	if (client != NULL && keys.sent > 0) {
		/* OPT_NOREPLY: quiet deletes, one round trip per server; every key
		   sent is a success, as libmemcached reports a noreply delete. */
		status = o->pool->behavior[MC_BEHAVIOR_NOREPLY] != 0
			? mcring_delete_multi_noreply_by_key(
				client, SERVER_KEY(server_key), keys.ptrs, keys.lens, keys.sent, statuses)
			: mcring_delete_multi_by_key(
				client, SERVER_KEY(server_key), keys.ptrs, keys.lens, keys.sent, statuses);
	}
	/* Each key: true, or its result code, as php-memcached reports them,
	   one key after another (empty keys are left out); the call's result
	   code is the last key's. */
	uint32_t sent = 0;
	for (uint32_t i = 0; i < keys.count; i++) {
		zend_string *key = keys.all[i];
		if (ZSTR_LEN(key) == 0) {
			continue;
		}
		int code;
		if (time != 0) {
			code = MCRING_RES_INVALID_ARGUMENTS;
		} else if (sent < keys.sent && keys.index[sent] == i) {
			code = client != NULL ? mcring_res_of(mcring_mc_made(statuses[sent])) : o->rescode;
			sent++;
		} else {
			code = MCRING_RES_BAD_KEY_PROVIDED;
		}
		zval result;
		if (mcring_mc_is_failure(code)) {
			ZVAL_LONG(&result, code);
		} else {
			ZVAL_TRUE(&result);
		}
		zend_symtable_update(Z_ARRVAL_P(return_value), key, &result);
		o->rescode = code;
	}
	if (status != MCRING_OK && client != NULL) {
		/* Keep the message of the call's failure for getLastErrorMessage(). */
		int last = o->rescode;
		mcring_mc_result(o, status);
		o->rescode = last;
	}
	efree(statuses);
	keys_free(&keys);
}

PHP_METHOD(McRing_Memcached, deleteMulti)
{
	delete_multi_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, false);
}

PHP_METHOD(McRing_Memcached, deleteMultiByKey)
{
	delete_multi_impl(INTERNAL_FUNCTION_PARAM_PASSTHRU, true);
}
