/*
 * Sessions in memcached, as php-memcached's handler keeps them:
 *
 * - the session is stored under <sess_prefix><id> (prefix
 *   "memc.sess.key." by default, not hashed: placement goes by the id),
 *   its bytes as PHP's session serializer made them, flags 0, expiring
 *   after session.gc_maxlifetime;
 * - with sess_locking (the default) a request holds the lock key
 *   <sess_prefix>lock.<id>, taken with add (waiting sess_lock_wait_min ms,
 *   doubling up to sess_lock_wait_max, sess_lock_retries times) and
 *   deleted at the end of the request; it expires by itself after
 *   sess_lock_expire seconds (max_execution_time when 0);
 * - sess_number_of_replicas copies on the next servers of the list
 *   (libmemcached's replicas), read when a server fails.
 *
 * A lock that cannot be taken fails session_start() with a warning, and a
 * write that reached no server is a failure, never silent.
 *
 * Placement is the engine's: ketama (one-at-a-time, weights ignored) by
 * default, libketama-compatible with sess_consistent_hash_type =
 * ketama_weighted, modula without sess_consistent_hash.
 */
#include "php.h"
#include "ext/session/php_session.h"
#include "zend_smart_str.h"

#include "mcring_memcached.h"
#include "mcring_session.h"
#include "php_mcring.h"

#include <time.h>
#include <unistd.h>

/* memcached reads an expiration up to 30 days as relative. */
#define REALTIME_MAXDELTA (60 * 60 * 24 * 30)

#define LIST_KEY_PREFIX "mcring:session:"

static int le_session_client;

/* The handler's state for one request (mod_data). */
typedef struct {
	const mcring_mc_settings *settings;
	mcring_client *client;
	/* Whether the client lives in the persistent list (not freed at close). */
	bool persistent;
	/* The lock this request holds, or NULL. */
	zend_string *lock_key;
} session_data;

static ZEND_RSRC_DTOR_FUNC(session_client_dtor)
{
	if (res->ptr != NULL) {
		mcring_client_free((mcring_client *) res->ptr);
		res->ptr = NULL;
	}
}

static uint32_t expiration(zend_long seconds)
{
	if (seconds <= 0) {
		return 0;
	}
	if (seconds <= REALTIME_MAXDELTA) {
		return (uint32_t) seconds;
	}
	zend_long at = (zend_long) time(NULL) + seconds;
	return at > UINT32_MAX ? UINT32_MAX : (uint32_t) at;
}

/* How long a lock lives: sess_lock_expire, else max_execution_time. */
static uint32_t lock_expiration(const mcring_mc_settings *s)
{
	if (s->sess_lock_expire > 0) {
		return expiration(s->sess_lock_expire);
	}
	return expiration(zend_ini_long(ZEND_STRL("max_execution_time"), 0));
}

/* One server of session.save_path ("host[:port[:weight]]",
   "[v6addr]:port[:weight]" or "/path[:weight]") as a config string
   token; the weight only where placement uses it. */
static void append_server(smart_str *out, const char *token, size_t len, bool weighted)
{
	const char *end = token + len;
	const char *host_end, *rest;
	if (token[0] == '[' && memchr(token, ']', len) != NULL) {
		host_end = (const char *) memchr(token, ']', len) + 1;
		rest = host_end;
	} else if (token[0] == '/') {
		host_end = end;
		const char *colon = zend_memrchr(token, ':', len);
		if (colon != NULL && colon + 1 < end && strspn(colon + 1, "0123456789") >= (size_t) (end - colon - 1)) {
			host_end = colon;
		}
		rest = host_end;
	} else {
		host_end = memchr(token, ':', len);
		if (host_end == NULL) {
			host_end = end;
		}
		rest = host_end;
	}
	if (host_end == token) {
		smart_str_appends(out, "localhost");
	} else {
		smart_str_appendl(out, token, (size_t) (host_end - token));
	}
	unsigned long port = 0, weight = 0;
	if (rest < end && *rest == ':') {
		char *next;
		if (token[0] == '/') {
			weight = strtoul(rest + 1, &next, 10);
		} else {
			port = strtoul(rest + 1, &next, 10);
			if (next < end && *next == ':') {
				weight = strtoul(next + 1, &next, 10);
			}
		}
	}
	if (token[0] != '/') {
		smart_str_append_printf(out, ":%lu", port == 0 ? 11211UL : port);
	}
	if (weighted && weight > 1) {
		smart_str_append_printf(out, ":%lu", weight);
	}
	smart_str_appendc(out, ' ');
}

/* The engine config string for session.save_path and the settings. The
   save path is php-memcached's ("host:port,host:port", with an optional
   ":weight") or a config string ("host:port host:port"), and may add
   mcring options ("name=value"), which win. */
static zend_string *config_of(const char *save_path, const mcring_mc_settings *s)
{
	bool consistent = s->sess_consistent_hash;
	bool weighted = consistent && s->sess_consistent_hash_type != NULL
		&& strcmp(s->sess_consistent_hash_type, "ketama_weighted") == 0;
	smart_str out = {0}, options = {0};
	for (const char *p = save_path; *p != '\0';) {
		p += strspn(p, ", \t\r\n");
		size_t len = strcspn(p, ", \t\r\n");
		if (len == 0) {
			break;
		}
		if (memchr(p, '=', len) != NULL) {
			smart_str_appendc(&options, ' ');
			smart_str_appendl(&options, p, len);
		} else {
			append_server(&out, p, len, weighted);
		}
		p += len;
	}
	/* php-memcached sets libmemcached's KETAMA after adding the servers,
	   which turns weighting off; KETAMA_WEIGHTED is md5 and weighted. */
	smart_str_appends(&out, !consistent ? "distribution=modula hash=one_at_a_time"
		: weighted ? "distribution=ketama-weighted hash=md5"
		: "distribution=ketama hash=one_at_a_time");
	if (s->sess_prefix != NULL && s->sess_prefix[0] != '\0') {
		smart_str_appends(&out, " prefix=");
		smart_str_appends(&out, s->sess_prefix);
	}
	smart_str_append_printf(&out, " connect_timeout_ms=%" PRId64,
		(int64_t) (s->sess_connect_timeout > 0 ? s->sess_connect_timeout : 4000));
	smart_str_appends(&out, " io_timeout_ms=5000 retry_timeout_ms=2000");
	if (s->sess_server_failure_limit > 0) {
		smart_str_append_printf(&out, " failure_limit=%" PRId64, (int64_t) s->sess_server_failure_limit);
	}
	smart_str_appends(&out, s->sess_remove_failed_servers ? " failover=eject" : " failover=none");
	if (s->sess_number_of_replicas > 0) {
		smart_str_append_printf(&out, " replicas=%" PRId64 " replica_placement=libmemcached read_policy=%s",
			(int64_t) (s->sess_number_of_replicas > 16 ? 16 : s->sess_number_of_replicas),
			s->sess_randomize_replica_read ? "random" : "primary");
	}
	/* The session's bytes as PHP's serializer made them, never compressed. */
	smart_str_appends(&out, " compress_threshold=0 max_value_bytes=1073741824");
	if (options.s != NULL) {
		smart_str_append_smart_str(&out, &options);
	}
	smart_str_free(&options);
	smart_str_0(&out);
	return out.s;
}

/* The settings of a handler. */
static zend_result open_with(void **mod_data, const char *save_path, const mcring_mc_settings *s)
{
	if (strstr(save_path, "PERSISTENT=") != NULL) {
		php_error_docref(NULL, E_WARNING,
			"failed to parse session.save_path: PERSISTENT is replaced by the sess_persistent setting");
		PS_SET_MOD_DATA(NULL);
		return FAILURE;
	}
	if (s->sess_sasl_username != NULL && s->sess_sasl_username[0] != '\0') {
		php_error_docref(NULL, E_WARNING, "SASL authentication is not supported by mcring");
		PS_SET_MOD_DATA(NULL);
		return FAILURE;
	}
	zend_string *config = config_of(save_path, s);
	mcring_client *client = NULL;
	zend_string *list_key = NULL;
	if (s->sess_persistent) {
		list_key = zend_string_concat2(LIST_KEY_PREFIX, sizeof(LIST_KEY_PREFIX) - 1,
			ZSTR_VAL(config), ZSTR_LEN(config));
		zend_resource *listed = zend_hash_find_ptr(&EG(persistent_list), list_key);
		if (listed != NULL && listed->type == le_session_client && listed->ptr != NULL) {
			client = listed->ptr;
		}
	}
	if (client == NULL) {
		mcring_status status = mcring_client_new(ZSTR_VAL(config), &client);
		if (status != MCRING_OK) {
			php_error_docref(NULL, E_WARNING, "failed to parse session.save_path: %s", mcring_last_error());
			zend_string_release(config);
			if (list_key != NULL) {
				zend_string_release(list_key);
			}
			PS_SET_MOD_DATA(NULL);
			return FAILURE;
		}
		if (mcring_server_count(client) == 0) {
			php_error_docref(NULL, E_WARNING, "failed to parse session.save_path: no servers");
			mcring_client_free(client);
			zend_string_release(config);
			if (list_key != NULL) {
				zend_string_release(list_key);
			}
			PS_SET_MOD_DATA(NULL);
			return FAILURE;
		}
		if (list_key != NULL) {
			zend_register_persistent_resource(ZSTR_VAL(list_key), ZSTR_LEN(list_key), client,
				le_session_client);
		}
	}
	zend_string_release(config);
	if (list_key != NULL) {
		zend_string_release(list_key);
	}
	session_data *data = ecalloc(1, sizeof *data);
	data->settings = s;
	data->client = client;
	data->persistent = s->sess_persistent;
	PS_SET_MOD_DATA(data);
	return SUCCESS;
}

#define DATA_OR_FAIL(data) \
	session_data *data = PS_GET_MOD_DATA(); \
	if (data == NULL) { \
		php_error_docref(NULL, E_WARNING, "Session is not allocated, check session.save_path value"); \
		return FAILURE; \
	}

static bool lock_session(session_data *data, zend_string *sid)
{
	const mcring_mc_settings *s = data->settings;
	zend_string *lock_key = zend_string_concat2("lock.", 5, ZSTR_VAL(sid), ZSTR_LEN(sid));
	uint32_t ttl = lock_expiration(s);
	zend_long wait_ms = s->sess_lock_wait_min;
	zend_long retries = s->sess_lock_retries;
	do {
		mcring_status status = mcring_mc_made(mcring_add(data->client, ZSTR_VAL(lock_key),
			ZSTR_LEN(lock_key), (const uint8_t *) "1", 1, 0, ttl));
		if (status == MCRING_OK) {
			data->lock_key = lock_key;
			return true;
		}
		if (status != MCRING_NOT_STORED && status != MCRING_EXISTS) {
			php_error_docref(NULL, E_WARNING, "Failed to write session lock: %s", mcring_last_error());
			break;
		}
		/* Another request holds it. */
		if (retries > 0) {
			usleep((useconds_t) (wait_ms * 1000));
			wait_ms = wait_ms * 2 < s->sess_lock_wait_max ? wait_ms * 2 : s->sess_lock_wait_max;
		}
	} while (retries-- > 0);
	zend_string_release(lock_key);
	return false;
}

static void unlock_session(session_data *data)
{
	if (data->lock_key != NULL) {
		mcring_delete(data->client, ZSTR_VAL(data->lock_key), ZSTR_LEN(data->lock_key));
		zend_string_release(data->lock_key);
		data->lock_key = NULL;
	}
}

static PS_OPEN_FUNC(mcring)
{
	return open_with(mod_data, save_path, &MCRING_G(own));
}

static PS_OPEN_FUNC(memcached)
{
	return open_with(mod_data, save_path, &MCRING_G(compat));
}

static PS_CLOSE_FUNC(mcring)
{
	DATA_OR_FAIL(data);
	unlock_session(data);
	if (!data->persistent) {
		mcring_client_free(data->client);
	}
	efree(data);
	PS_SET_MOD_DATA(NULL);
	return SUCCESS;
}

static PS_READ_FUNC(mcring)
{
	DATA_OR_FAIL(data);
	if (data->settings->sess_locking && data->lock_key == NULL && !lock_session(data, key)) {
		php_error_docref(NULL, E_WARNING, "Unable to clear session lock record");
		return FAILURE;
	}
	mcring_value *v = NULL;
	mcring_status status = mcring_get(data->client, ZSTR_VAL(key), ZSTR_LEN(key), &v);
	if (status == MCRING_OK) {
		*val = zend_string_init((const char *) mcring_value_data(v), mcring_value_len(v), 0);
		mcring_value_free(v);
		return SUCCESS;
	}
	if (status == MCRING_NOT_FOUND) {
		*val = ZSTR_EMPTY_ALLOC();
		return SUCCESS;
	}
	php_error_docref(NULL, E_WARNING, "error getting session from memcached: %s", mcring_last_error());
	return FAILURE;
}

static PS_WRITE_FUNC(mcring)
{
	DATA_OR_FAIL(data);
	/* A write made only on a failover target (its home server down) is
	   made: the home copy is invalidated before that server serves again. */
	mcring_status status = mcring_mc_made(mcring_set(data->client, ZSTR_VAL(key), ZSTR_LEN(key),
		(const uint8_t *) ZSTR_VAL(val), ZSTR_LEN(val), 0, expiration(maxlifetime)));
	if (status != MCRING_OK) {
		php_error_docref(NULL, E_WARNING, "error saving session to memcached: %s", mcring_last_error());
		return FAILURE;
	}
	return SUCCESS;
}

static PS_DESTROY_FUNC(mcring)
{
	DATA_OR_FAIL(data);
	mcring_delete(data->client, ZSTR_VAL(key), ZSTR_LEN(key));
	unlock_session(data);
	return SUCCESS;
}

static PS_GC_FUNC(mcring)
{
	/* memcached expires sessions itself. */
	return 0;
}

static PS_CREATE_SID_FUNC(mcring)
{
	session_data *data = PS_GET_MOD_DATA();
	if (data == NULL) {
		return php_session_create_id(NULL);
	}
	/* A new id is reserved with add, so two requests cannot pick the same. */
	for (int tries = 0; tries < 3; tries++) {
		zend_string *sid = php_session_create_id((void **) &data);
		if (sid == NULL) {
			return NULL;
		}
		mcring_status status = mcring_mc_made(mcring_add(data->client, ZSTR_VAL(sid), ZSTR_LEN(sid),
			NULL, 0, 0, lock_expiration(data->settings)));
		if (status == MCRING_OK) {
			return sid;
		}
		zend_string_release(sid);
	}
	return NULL;
}

static PS_VALIDATE_SID_FUNC(mcring)
{
	DATA_OR_FAIL(data);
	mcring_value *v = NULL;
	mcring_status status = mcring_get(data->client, ZSTR_VAL(key), ZSTR_LEN(key), &v);
	mcring_value_free(v);
	return status == MCRING_OK ? SUCCESS : FAILURE;
}

static PS_UPDATE_TIMESTAMP_FUNC(mcring)
{
	DATA_OR_FAIL(data);
	mcring_status status = mcring_mc_made(
		mcring_touch(data->client, ZSTR_VAL(key), ZSTR_LEN(key), expiration(maxlifetime)));
	/* A missing session is written anew at the next change. */
	return status == MCRING_OK || status == MCRING_NOT_FOUND ? SUCCESS : FAILURE;
}

static const ps_module mcring_module = {
	"mcring", ps_open_mcring, ps_close_mcring, ps_read_mcring, ps_write_mcring, ps_delete_mcring,
	ps_gc_mcring, ps_create_sid_mcring, ps_validate_sid_mcring, ps_update_timestamp_mcring,
};

static const ps_module memcached_module = {
	"memcached", ps_open_memcached, ps_close_mcring, ps_read_mcring, ps_write_mcring,
	ps_delete_mcring, ps_gc_mcring, ps_create_sid_mcring, ps_validate_sid_mcring,
	ps_update_timestamp_mcring,
};

void mcring_session_startup(int module_number, bool compat)
{
	le_session_client = zend_register_list_destructors_ex(
		NULL, session_client_dtor, "mcring session client", module_number);
	php_session_register_module(&mcring_module);
	if (compat) {
		php_session_register_module(&memcached_module);
	}
}
