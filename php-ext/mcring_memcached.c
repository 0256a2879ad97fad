/*
 * McRing\Memcached: the object, its construction (persistent pools shared
 * by a persistent id, as php-memcached shares a memcached_st), the engine
 * client made from its pool, and the result of the last call.
 */
#include "mcring_memcached.h"

#include "ext/spl/spl_exceptions.h"
#include "zend_exceptions.h"
#include "zend_list.h"

#include "php_mcring.h"

zend_class_entry *mcring_memcached_ce;
zend_class_entry *mcring_memcached_exception_ce;

static zend_object_handlers mcring_mc_handlers;

/* The persistent list's resource type for pools of a persistent id. */
static int le_mc_pool;

#define POOL_KEY_PREFIX "mcring:memcached:"

static bool compat_active;

bool mcring_mc_compat_active(void)
{
	return compat_active;
}

const mcring_mc_settings *mcring_mc_settings_in_use(void)
{
	return compat_active ? &MCRING_G(compat) : &MCRING_G(own);
}

/* ---- objects --------------------------------------------------------- */

static zend_object *mc_create(zend_class_entry *ce)
{
	mcring_mc_object *o = zend_object_alloc(sizeof(mcring_mc_object), ce);
	zend_object_std_init(&o->std, ce);
	object_properties_init(&o->std, ce);
	o->std.handlers = &mcring_mc_handlers;
	ZVAL_UNDEF(&o->delayed);
	return &o->std;
}

static void mc_free(zend_object *obj)
{
	mcring_mc_object *o = mcring_mc_of(obj);
	if (o->pool != NULL) {
		mcring_mc_pool_release(o->pool);
		o->pool = NULL;
	}
	zval_ptr_dtor(&o->delayed);
	ZVAL_UNDEF(&o->delayed);
	zend_object_std_dtor(obj);
}

mcring_mc_object *mcring_mc_this(zval *this_zv)
{
	mcring_mc_object *o = mcring_mc_of(Z_OBJ_P(this_zv));
	if (o->pool == NULL) {
		zend_throw_error(NULL, "Memcached constructor was not called");
		return NULL;
	}
	return o;
}

/* ---- the engine client ------------------------------------------------ */

void mcring_mc_pool_changed(mcring_mc_pool *pool)
{
	pool->recheck = true;
}

/* The options of a config string: everything from its first option (the
   server tokens come first, and "distribution=" is always written). */
static const char *options_of(const char *config)
{
	const char *options = strstr(config, "distribution=");
	return options != NULL ? options : config + strlen(config);
}

/* A change of the server list alone (addServer, addServers or
   resetServerList after first use) goes through the engine's run-time
   membership, as McRing\Client's does: the client keeps its connections to
   the servers that stay, and keys that move are migrated on first read.
   False when the options changed too (or the engine refused the list): then
   a new client is made. */
static bool change_servers(mcring_mc_pool *pool, zend_string *config)
{
	const char *options = options_of(ZSTR_VAL(config));
	if (strcmp(options, options_of(ZSTR_VAL(pool->client_config))) != 0) {
		return false;
	}
	size_t len = (size_t) (options - ZSTR_VAL(config));
	while (len > 0 && ZSTR_VAL(config)[len - 1] == ' ') {
		len--;
	}
	char *servers = estrndup(ZSTR_VAL(config), len);
	mcring_status status = mcring_client_set_servers(pool->client, servers, false);
	efree(servers);
	if (status != MCRING_OK) {
		return false;
	}
	zend_string_release_ex(pool->client_config, 1);
	pool->client_config = zend_string_dup(config, 1);
	return true;
}

mcring_client *mcring_mc_client(mcring_mc_object *o)
{
	mcring_mc_pool *pool = o->pool;
	if (EXPECTED(pool->client != NULL && !pool->recheck)) {
		return pool->client;
	}
	/* An option set again to the value it had (every request of a
	   persistent object, typically) keeps the client and its connections;
	   a real change makes a new one, as php-memcached reconnects. */
	zend_string *config = mcring_mc_config_string(pool);
	pool->recheck = false;
	if (pool->client != NULL && zend_string_equals(config, pool->client_config)) {
		zend_string_release(config);
		return pool->client;
	}
	if (pool->client != NULL && change_servers(pool, config)) {
		zend_string_release(config);
		return pool->client;
	}
	mcring_client *client = NULL;
	mcring_status status = mcring_client_new(ZSTR_VAL(config), &client);
	if (status != MCRING_OK) {
		php_error_docref(NULL, E_WARNING, "the engine refused the configuration \"%s\": %s",
			ZSTR_VAL(config), mcring_last_error());
		zend_string_release(config);
		mcring_mc_result(o, status);
		pool->recheck = true;
		return NULL;
	}
	if (pool->client != NULL) {
		mcring_client_free(pool->client);
		zend_string_release_ex(pool->client_config, 1);
	}
	pool->client = client;
	pool->client_config = zend_string_dup(config, 1);
	zend_string_release(config);
	return client;
}

/* ---- results ----------------------------------------------------------- */

bool mcring_mc_is_failure(int code)
{
	switch (code) {
	case MCRING_RES_SUCCESS:
	case MCRING_RES_STORED:
	case MCRING_RES_DELETED:
	case MCRING_RES_STAT:
	case MCRING_RES_END:
	case MCRING_RES_BUFFERED:
		return false;
	default:
		return true;
	}
}

/* The errno in an engine message ("... (os error 111)"), or 0. */
static int errno_of(const char *message)
{
	const char *at = strstr(message, "(os error ");
	return at != NULL ? atoi(at + strlen("(os error ")) : 0;
}

/* The server an engine message names: its failures start with the
   server's name ("127.0.0.1:11211: connection refused ..."). */
static char *server_of(const char *message)
{
	const char *end = strstr(message, ": ");
	if (end == NULL || end == message || memchr(message, ' ', (size_t) (end - message)) != NULL) {
		return NULL;
	}
	return pestrndup(message, (size_t) (end - message), 1);
}

void mcring_mc_result(mcring_mc_object *o, mcring_status status)
{
	if (EXPECTED(status == MCRING_OK)) {
		o->rescode = MCRING_RES_SUCCESS;
		return;
	}
	int code = mcring_res_of(status);
	o->rescode = code;
	if (status == MCRING_NOT_FOUND || status == MCRING_NOT_STORED || status == MCRING_EXISTS) {
		return;
	}
	/* A failure of the engine's: kept for getLastError*(). */
	mcring_mc_pool *pool = o->pool;
	const char *message = mcring_last_error();
	pool->last_error_code = code;
	pool->last_errno = errno_of(message);
	if (pool->last_error_message != NULL) {
		pefree(pool->last_error_message, 1);
	}
	pool->last_error_message = pestrdup(message, 1);
	if (status == MCRING_CONNECTION_ERROR || status == MCRING_TIMEOUT || status == MCRING_PROTOCOL_ERROR) {
		char *server = server_of(message);
		if (server != NULL) {
			if (pool->last_disconnected != NULL) {
				pefree(pool->last_disconnected, 1);
			}
			pool->last_disconnected = server;
		}
	}
}

bool mcring_mc_check_key(mcring_mc_object *o, const zend_string *key)
{
	size_t len = ZSTR_LEN(key);
	const unsigned char *p = (const unsigned char *) ZSTR_VAL(key);
	bool ok = len > 0 && len <= MC_KEY_MAX;
	if (ok && o->pool->behavior[MC_BEHAVIOR_BINARY_PROTOCOL]) {
		ok = memchr(p, '\n', len) == NULL;
	} else {
		/* isgraph() in the C locale: '!' to '~'. */
		for (size_t i = 0; ok && i < len; i++) {
			ok = p[i] > ' ' && p[i] < 0x7f;
		}
	}
	if (!ok) {
		o->rescode = MCRING_RES_BAD_KEY_PROVIDED;
	}
	return ok;
}

/* ---- persistent pools ---------------------------------------------------- */

static ZEND_RSRC_DTOR_FUNC(mc_pool_dtor)
{
	if (res->ptr != NULL) {
		mcring_mc_pool_release((mcring_mc_pool *) res->ptr);
		res->ptr = NULL;
	}
}

/* Calls the constructor's callback as php-memcached does: ($memcached,
   $persistent_id). False if it could not be called or threw. */
static bool call_on_new(zval *object, zend_fcall_info *fci, zend_fcall_info_cache *fcc,
	zend_string *persistent_id)
{
	zval params[2], retval;
	ZVAL_COPY(&params[0], object);
	if (persistent_id != NULL) {
		ZVAL_STR_COPY(&params[1], persistent_id);
	} else {
		ZVAL_NULL(&params[1]);
	}
	fci->retval = &retval;
	fci->params = params;
	fci->param_count = 2;
	bool ok = zend_call_function(fci, fcc) == SUCCESS;
	if (!ok) {
		php_error_docref(NULL, E_WARNING, "Failed to invoke 'on_new' callback");
	}
	zval_ptr_dtor(&params[0]);
	zval_ptr_dtor(&params[1]);
	zval_ptr_dtor(&retval);
	return ok && !EG(exception);
}

PHP_METHOD(McRing_Memcached, __construct)
{
	zend_string *persistent_id = NULL;
	zend_string *connection = NULL;
	zend_fcall_info fci = {0};
	zend_fcall_info_cache fcc;

	ZEND_PARSE_PARAMETERS_START(0, 3)
		Z_PARAM_OPTIONAL
		Z_PARAM_STR_OR_NULL(persistent_id)
		Z_PARAM_FUNC_OR_NULL(fci, fcc)
		Z_PARAM_STR_OR_NULL(connection)
	ZEND_PARSE_PARAMETERS_END();

	mcring_mc_object *o = mcring_mc_of(Z_OBJ_P(ZEND_THIS));
	if (o->pool != NULL) {
		zend_throw_error(NULL, "Memcached object is already constructed");
		RETURN_THROWS();
	}
	o->pristine = true;
	o->rescode = MCRING_RES_SUCCESS;

	zend_string *list_key = NULL;
	if (persistent_id != NULL && ZSTR_LEN(persistent_id) > 0) {
		list_key = zend_string_concat2(POOL_KEY_PREFIX, sizeof(POOL_KEY_PREFIX) - 1,
			ZSTR_VAL(persistent_id), ZSTR_LEN(persistent_id));
		zend_resource *listed = zend_hash_find_ptr(&EG(persistent_list), list_key);
		if (listed != NULL && listed->type == le_mc_pool && listed->ptr != NULL) {
			/* The pool this id made in an earlier request of this worker:
			   its servers, options and connections, as they are. */
			o->pool = listed->ptr;
			o->pool->refs++;
			o->pristine = false;
			zend_string_release(list_key);
			return;
		}
	}

	mcring_mc_pool *pool = mcring_mc_pool_new(list_key != NULL);
	o->pool = pool;
	if (connection != NULL && ZSTR_LEN(connection) > 0
		&& !mcring_mc_apply_connection_string(o, connection)) {
		mcring_mc_pool_release(pool);
		o->pool = NULL;
		if (list_key != NULL) {
			zend_string_release(list_key);
		}
		zend_throw_exception_ex(mcring_memcached_exception_ce, MCRING_RES_PARSE_ERROR,
			"cannot read the connection string \"%s\"", ZSTR_VAL(connection));
		RETURN_THROWS();
	}
	if (ZEND_FCI_INITIALIZED(fci) && !call_on_new(ZEND_THIS, &fci, &fcc, persistent_id)) {
		/* As php-memcached: the object stays unusable. */
		mcring_mc_pool_release(pool);
		o->pool = NULL;
		if (list_key != NULL) {
			zend_string_release(list_key);
		}
		return;
	}
	if (list_key != NULL) {
		if (zend_hash_exists(&EG(persistent_list), list_key)) {
			zend_hash_del(&EG(persistent_list), list_key);
		}
		pool->refs++; /* the list's */
		zend_register_persistent_resource(ZSTR_VAL(list_key), ZSTR_LEN(list_key), pool, le_mc_pool);
		zend_string_release(list_key);
	}
}

/* ---- methods about the object ---------------------------------------- */

#define MC_THIS_OR_THROW(o) \
	mcring_mc_object *o = mcring_mc_this(ZEND_THIS); \
	if (o == NULL) { \
		RETURN_THROWS(); \
	}

PHP_METHOD(McRing_Memcached, getResultCode)
{
	ZEND_PARSE_PARAMETERS_NONE();
	MC_THIS_OR_THROW(o);
	RETURN_LONG(o->rescode);
}

PHP_METHOD(McRing_Memcached, getResultMessage)
{
	ZEND_PARSE_PARAMETERS_NONE();
	MC_THIS_OR_THROW(o);
	RETURN_STRING(mcring_res_message(o->rescode));
}

PHP_METHOD(McRing_Memcached, getLastErrorMessage)
{
	ZEND_PARSE_PARAMETERS_NONE();
	MC_THIS_OR_THROW(o);
	if (o->pool->last_error_code == MCRING_RES_SUCCESS || o->pool->last_error_message == NULL) {
		RETURN_STRING(mcring_res_message(MCRING_RES_SUCCESS));
	}
	RETURN_STR(zend_strpprintf(0, "%s: %s", mcring_res_message(o->pool->last_error_code),
		o->pool->last_error_message));
}

PHP_METHOD(McRing_Memcached, getLastErrorCode)
{
	ZEND_PARSE_PARAMETERS_NONE();
	MC_THIS_OR_THROW(o);
	RETURN_LONG(o->pool->last_error_code);
}

PHP_METHOD(McRing_Memcached, getLastErrorErrno)
{
	ZEND_PARSE_PARAMETERS_NONE();
	MC_THIS_OR_THROW(o);
	RETURN_LONG(o->pool->last_errno);
}

PHP_METHOD(McRing_Memcached, getLastDisconnectedServer)
{
	ZEND_PARSE_PARAMETERS_NONE();
	MC_THIS_OR_THROW(o);
	const char *server = o->pool->last_disconnected;
	if (server == NULL) {
		RETURN_FALSE;
	}
	/* "host:port", "[v6addr]:port" or a socket path. */
	const char *colon = server[0] == '/' ? NULL : strrchr(server, ':');
	size_t host_len = colon != NULL ? (size_t) (colon - server) : strlen(server);
	const char *host = server;
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		host++;
		host_len -= 2;
	}
	array_init_size(return_value, 2);
	add_assoc_stringl(return_value, "host", host, host_len);
	add_assoc_long(return_value, "port", colon != NULL ? ZEND_STRTOL(colon + 1, NULL, 10) : 0);
}

PHP_METHOD(McRing_Memcached, isPersistent)
{
	ZEND_PARSE_PARAMETERS_NONE();
	MC_THIS_OR_THROW(o);
	RETURN_BOOL(o->pool->persistent);
}

PHP_METHOD(McRing_Memcached, isPristine)
{
	ZEND_PARSE_PARAMETERS_NONE();
	MC_THIS_OR_THROW(o);
	RETURN_BOOL(o->pristine);
}

PHP_METHOD(McRing_Memcached, checkKey)
{
	zend_string *key;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(key)
	ZEND_PARSE_PARAMETERS_END();
	MC_THIS_OR_THROW(o);
	o->rescode = MCRING_RES_SUCCESS;
	RETURN_BOOL(mcring_mc_check_key(o, key));
}

PHP_METHOD(McRing_Memcached, quit)
{
	ZEND_PARSE_PARAMETERS_NONE();
	MC_THIS_OR_THROW(o);
	if (o->pool->client != NULL) {
		mcring_client_close(o->pool->client);
	}
	RETURN_TRUE;
}

PHP_METHOD(McRing_Memcached, flushBuffers)
{
	ZEND_PARSE_PARAMETERS_NONE();
	MC_THIS_OR_THROW(o);
	/* Nothing is buffered: writes are sent when they are made. */
	RETURN_TRUE;
}

PHP_METHOD(McRing_Memcached, setSaslAuthData)
{
	zend_string *user, *password;
	ZEND_PARSE_PARAMETERS_START(2, 2)
		Z_PARAM_STR(user)
		Z_PARAM_STR(password)
	ZEND_PARSE_PARAMETERS_END();
	MC_THIS_OR_THROW(o);
	php_error_docref(NULL, E_WARNING,
		"SASL authentication is not supported by mcring (Memcached::HAVE_SASL is false)");
	o->rescode = MCRING_RES_NOT_SUPPORTED;
	RETURN_FALSE;
}

PHP_METHOD(McRing_Memcached, setEncodingKey)
{
	zend_string *key;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(key)
	ZEND_PARSE_PARAMETERS_END();
	MC_THIS_OR_THROW(o);
	php_error_docref(NULL, E_WARNING,
		"libmemcached's AES value encoding is not supported by mcring (Memcached::HAVE_ENCODING is false)");
	o->rescode = MCRING_RES_NOT_SUPPORTED;
	RETURN_FALSE;
}

PHP_METHOD(McRing_Memcached, setBucket)
{
	HashTable *host_map, *forward_map = NULL;
	zend_long replicas;
	ZEND_PARSE_PARAMETERS_START(3, 3)
		Z_PARAM_ARRAY_HT(host_map)
		Z_PARAM_ARRAY_HT_OR_NULL(forward_map)
		Z_PARAM_LONG(replicas)
	ZEND_PARSE_PARAMETERS_END();
	MC_THIS_OR_THROW(o);
	php_error_docref(NULL, E_WARNING,
		"virtual buckets (DISTRIBUTION_VIRTUAL_BUCKET) are not supported by mcring");
	o->rescode = MCRING_RES_NOT_SUPPORTED;
	RETURN_FALSE;
}

void mcring_memcached_startup(int module_number, zend_class_entry *memcached_ce,
	zend_class_entry *exception_ce, bool compat)
{
	le_mc_pool = zend_register_list_destructors_ex(
		NULL, mc_pool_dtor, "McRing\\Memcached persistent pool", module_number);

	mcring_memcached_ce = memcached_ce;
	mcring_memcached_ce->create_object = mc_create;
	memcpy(&mcring_mc_handlers, zend_get_std_object_handlers(), sizeof(zend_object_handlers));
	mcring_mc_handlers.offset = XtOffsetOf(mcring_mc_object, std);
	mcring_mc_handlers.free_obj = mc_free;
	mcring_mc_handlers.clone_obj = NULL;
	mcring_mc_values_startup(mcring_memcached_ce);

	mcring_memcached_exception_ce = exception_ce;

	compat_active = compat;
	if (compat) {
		zend_register_class_alias("Memcached", mcring_memcached_ce);
		zend_register_class_alias("MemcachedException", mcring_memcached_exception_ce);
	}
}
