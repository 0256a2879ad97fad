/*
 * McRing\Client: the object, its construction from servers and options,
 * persistence, and the result code of the last call.
 */
#include "mcring_client.h"

#include "ext/spl/spl_exceptions.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"


zend_class_entry *mcring_client_ce;
zend_class_entry *mcring_exception_ce;

static zend_object_handlers mcring_object_handlers;

static inline mcring_object *object_of(zend_object *obj)
{
	return (mcring_object *) ((char *) obj - XtOffsetOf(mcring_object, std));
}

static zend_object *mcring_object_create(zend_class_entry *ce)
{
	mcring_object *o = zend_object_alloc(sizeof(mcring_object), ce);
	zend_object_std_init(&o->std, ce);
	object_properties_init(&o->std, ce);
	o->std.handlers = &mcring_object_handlers;
	o->serializer = MCRING_SERIALIZER_JSON;
	o->status = MCRING_OK;
	o->code = MCRING_RES_SUCCESS;
	return &o->std;
}

static void mcring_object_free(zend_object *obj)
{
	mcring_object *o = object_of(obj);
	if (o->shared != NULL) {
		mcring_persistent_release(o->shared);
	} else if (o->client != NULL) {
		mcring_client_free(o->client);
	}
	o->client = NULL;
	o->shared = NULL;
	if (o->message != NULL) {
		zend_string_release(o->message);
		o->message = NULL;
	}
	zend_object_std_dtor(obj);
}

mcring_object *mcring_this(zval *this_zv)
{
	mcring_object *o = object_of(Z_OBJ_P(this_zv));
	if (o->client == NULL) {
		zend_throw_error(NULL, "%s object is not constructed", ZSTR_VAL(Z_OBJCE_P(this_zv)->name));
		return NULL;
	}
	return o;
}

void mcring_result_message(mcring_object *o, mcring_status status, zend_string *message)
{
	if (o->message != NULL) {
		zend_string_release(o->message);
	}
	/* A message of the extension's own means no libmcring call failed. */
	o->code = message != NULL ? mcring_res_of_own(status) : mcring_res_of(status);
	if (message == NULL && status != MCRING_OK && status != MCRING_NOT_FOUND
		&& status != MCRING_NOT_STORED && status != MCRING_EXISTS
		&& status != MCRING_STORED_ELSEWHERE && status != MCRING_STALE) {
		message = zend_string_init(mcring_last_error(), strlen(mcring_last_error()), 0);
	}
	o->status = status;
	o->message = message;
}

void mcring_result(mcring_object *o, mcring_status status)
{
	if (status == MCRING_OK && o->message == NULL) {
		o->status = MCRING_OK; /* the common case, kept cheap */
		o->code = MCRING_RES_SUCCESS;
		return;
	}
	mcring_result_message(o, status, NULL);
}

bool mcring_seconds_arg(zend_long seconds, uint32_t arg_num, uint32_t *out)
{
	if (seconds < 0 || (zend_ulong) seconds > UINT32_MAX) {
		zend_argument_value_error(arg_num, "must be between 0 and %" PRIu32, UINT32_MAX);
		return false;
	}
	*out = (uint32_t) seconds;
	return true;
}

zend_string *mcring_key_of(zend_string *str_key, zend_ulong num_key)
{
	return str_key != NULL ? zend_string_copy(str_key) : zend_long_to_str((zend_long) num_key);
}

/* Throws McRing\Exception with a status's result code as its code. */
static void throw_config_error(mcring_status status, const char *message)
{
	zend_throw_exception(mcring_exception_ce, message, (zend_long) mcring_res_of_own(status));
}

/* Refuses text that would not stay one token of a config string (an
   option's value may be empty: "prefix=" is no prefix). */
static bool one_token(const char *what, zend_string *text, bool is_value, bool shown)
{
	if (ZSTR_LEN(text) == 0 && !is_value) {
		zend_throw_exception_ex(mcring_exception_ce, MCRING_RES_PARSE_ERROR, "%s is empty", what);
		return false;
	}
	for (size_t i = 0; i < ZSTR_LEN(text); i++) {
		unsigned char c = (unsigned char) ZSTR_VAL(text)[i];
		if ((c <= ' ' || c == 0x7f) && !shown) {
			/* A secret (the password) is never echoed. */
			zend_throw_exception_ex(mcring_exception_ce, MCRING_BAD_CONFIG,
				"%s contains whitespace or a control byte", what);
			return false;
		}
		if (c <= ' ' || c == 0x7f) {
			zend_throw_exception_ex(mcring_exception_ce, MCRING_RES_PARSE_ERROR,
				"%s \"%s\" contains whitespace or control byte 0x%02x", what, ZSTR_VAL(text), c);
			return false;
		}
		if (c == '=' && !is_value) {
			zend_throw_exception_ex(mcring_exception_ce, MCRING_RES_PARSE_ERROR,
				"%s \"%s\" contains '='", what, ZSTR_VAL(text));
			return false;
		}
	}
	return true;
}

/* An option value as config text: strings as they are, ints in decimal,
   booleans as true/false. NULL (with an exception) for anything else. */
static zend_string *option_text(zend_string *name, zval *value)
{
	ZVAL_DEREF(value);
	switch (Z_TYPE_P(value)) {
	case IS_STRING:
		return zend_string_copy(Z_STR_P(value));
	case IS_LONG:
		return zend_long_to_str(Z_LVAL_P(value));
	case IS_TRUE:
		return zend_string_init(ZEND_STRL("true"), 0);
	case IS_FALSE:
		return zend_string_init(ZEND_STRL("false"), 0);
	default:
		zend_throw_exception_ex(mcring_exception_ce, MCRING_RES_PARSE_ERROR,
			"option \"%s\" must be a string, an int or a bool, %s given", ZSTR_VAL(name),
			zend_zval_type_name(value));
		return NULL;
	}
}

/*
 * The config string libmcring parses: the servers (a config string as
 * given, or the list's entries) followed by name=value for each option.
 * NULL with an exception thrown when an entry cannot be part of one.
 */
static zend_string *config_string(zend_string *servers_text, HashTable *servers_list,
	HashTable *options)
{
	smart_str config = {0};
	if (servers_text != NULL) {
		if (memchr(ZSTR_VAL(servers_text), '\0', ZSTR_LEN(servers_text)) != NULL) {
			throw_config_error(MCRING_BAD_CONFIG, "servers string contains a NUL byte");
			return NULL;
		}
		smart_str_append(&config, servers_text);
	} else {
		zval *server;
		uint32_t position = 0;
		ZEND_HASH_FOREACH_VAL(servers_list, server) {
			ZVAL_DEREF(server);
			if (Z_TYPE_P(server) != IS_STRING) {
				zend_throw_exception_ex(mcring_exception_ce, MCRING_RES_PARSE_ERROR,
					"server #%" PRIu32 " must be a string \"host:port[:weight]\", %s given",
					position, zend_zval_type_name(server));
				smart_str_free(&config);
				return NULL;
			}
			if (!one_token("server", Z_STR_P(server), false, true)) {
				smart_str_free(&config);
				return NULL;
			}
			if (position++ > 0) {
				smart_str_appendc(&config, ' ');
			}
			smart_str_append(&config, Z_STR_P(server));
		} ZEND_HASH_FOREACH_END();
	}
	if (options != NULL) {
		zend_string *name;
		zend_ulong index;
		zval *value;
		ZEND_HASH_FOREACH_KEY_VAL(options, index, name, value) {
			if (name == NULL) {
				zend_throw_exception_ex(mcring_exception_ce, MCRING_RES_PARSE_ERROR,
					"option names are strings (like 'replicas'), got the int key " ZEND_ULONG_FMT,
					index);
				smart_str_free(&config);
				return NULL;
			}
			zend_string *text = option_text(name, value);
			if (text == NULL || !one_token("option name", name, false, true)
				|| !one_token("option value", text, true,
					!zend_string_equals_literal(name, "password"))) {
				if (text != NULL) {
					zend_string_release(text);
				}
				smart_str_free(&config);
				return NULL;
			}
			smart_str_appendc(&config, ' ');
			smart_str_append(&config, name);
			smart_str_appendc(&config, '=');
			smart_str_append(&config, text);
			zend_string_release(text);
		} ZEND_HASH_FOREACH_END();
	}
	smart_str_0(&config);
	return config.s != NULL ? config.s : ZSTR_EMPTY_ALLOC();
}

PHP_METHOD(McRing_Client, __construct)
{
	zend_string *servers_text = NULL;
	HashTable *servers_list = NULL;
	HashTable *options = NULL;
	zend_string *persistent_id = NULL;

	ZEND_PARSE_PARAMETERS_START(1, 3)
		Z_PARAM_ARRAY_HT_OR_STR(servers_list, servers_text)
		Z_PARAM_OPTIONAL
		Z_PARAM_ARRAY_HT(options)
		Z_PARAM_STR_OR_NULL(persistent_id)
	ZEND_PARSE_PARAMETERS_END();

	mcring_object *o = object_of(Z_OBJ_P(ZEND_THIS));
	if (o->client != NULL) {
		zend_throw_error(NULL, "McRing\\Client is already constructed");
		RETURN_THROWS();
	}
	if (persistent_id != NULL && ZSTR_LEN(persistent_id) == 0) {
		throw_config_error(MCRING_BAD_CONFIG, "persistent_id is empty (use null for none)");
		RETURN_THROWS();
	}
	zend_string *config = config_string(servers_text, servers_list, options);
	if (config == NULL) {
		RETURN_THROWS();
	}

	mcring_status status = MCRING_OK;
	mcring_client *client = NULL;
	mcring_shared_client *shared = NULL;
	bool created = true;
	if (persistent_id != NULL) {
		shared = mcring_persistent_acquire(persistent_id, config, &created, &status);
		client = shared != NULL ? shared->client : NULL;
	} else {
		status = mcring_client_new(ZSTR_VAL(config), &client);
	}
	zend_string_release(config);
	if (status != MCRING_OK) {
		throw_config_error(status, mcring_last_error());
		RETURN_THROWS();
	}

	mcring_serializer serializer = mcring_client_serializer(client);
	if (serializer == MCRING_SERIALIZER_PICKLE) {
		if (shared != NULL) {
			mcring_persistent_release(shared);
		} else {
			mcring_client_free(client);
		}
		throw_config_error(MCRING_BAD_CONFIG,
			"serializer=pickle is Python's; PHP stores arrays and objects as json or php");
		RETURN_THROWS();
	}
	o->client = client;
	o->shared = shared;
	o->serializer = serializer;
	o->pristine = created;
	o->status = MCRING_OK;
	o->code = MCRING_RES_SUCCESS;
}

PHP_METHOD(McRing_Client, getResultCode)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	RETURN_LONG((zend_long) o->code);
}

PHP_METHOD(McRing_Client, getResultMessage)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	if (o->message != NULL) {
		RETURN_STR_COPY(o->message);
	}
	switch (o->status) {
	case MCRING_OK: RETURN_STRING("SUCCESS");
	case MCRING_NOT_FOUND: RETURN_STRING("NOT FOUND");
	case MCRING_NOT_STORED: RETURN_STRING("NOT STORED");
	case MCRING_EXISTS: RETURN_STRING("DATA EXISTS");
	case MCRING_STORED_ELSEWHERE: RETURN_STRING("STORED ELSEWHERE");
	case MCRING_STALE: RETURN_STRING("STALE");
	case MCRING_AUTH_FAILED: RETURN_STRING("AUTHENTICATION FAILURE");
	default: RETURN_STRING(mcring_status_name(o->status));
	}
}

PHP_METHOD(McRing_Client, isPersistent)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	RETURN_BOOL(o->shared != NULL);
}

PHP_METHOD(McRing_Client, isPristine)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	RETURN_BOOL(o->pristine);
}

PHP_METHOD(McRing_Client, close)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_status status = mcring_client_close(o->client);
	mcring_result(o, status);
	RETURN_BOOL(status == MCRING_OK);
}

void mcring_client_startup(int module_number, zend_class_entry *client_ce,
	zend_class_entry *exception_ce)
{
	mcring_persistent_startup(module_number);

	mcring_client_ce = client_ce;
	mcring_client_ce->create_object = mcring_object_create;
	memcpy(&mcring_object_handlers, zend_get_std_object_handlers(), sizeof(zend_object_handlers));
	mcring_object_handlers.offset = XtOffsetOf(mcring_object, std);
	mcring_object_handlers.free_obj = mcring_object_free;
	mcring_object_handlers.clone_obj = NULL;

	mcring_exception_ce = exception_ce;
}
