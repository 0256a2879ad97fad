/*
 * The mcring module: ini settings, start-up (classes; the shared health
 * and shared metrics areas for PHP-FPM's workers) and the phpinfo() section.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "php.h"
#include "ext/spl/spl_exceptions.h"
#include "ext/standard/info.h"
#include "zend_attributes.h"

#include "php_mcring.h"
#include "mcring_client.h"
#include "mcring_persistent.h"
#include "mcring_session.h"

/* The classes, generated from mcring.stub.php (gen-arginfo.sh). */
#include "mcring_arginfo.h"

ZEND_DECLARE_MODULE_GLOBALS(mcring)

/* Whether the shared health area is in use in this process. */
static bool shared_health_active;
/* Why it is not, when it was asked for and failed. */
static char shared_health_error[256];
/* Whether the shared metrics area is in use, or why not. */
static bool shared_metrics_active;
static char shared_metrics_error[512];

/* Whether McRing\Memcached is also \Memcached in this process. */
static bool compat_active;

/* A serializer name as php-memcached's memcached.serializer takes it. */
static PHP_INI_MH(OnUpdateSerializerName)
{
	const char *v = new_value != NULL ? ZSTR_VAL(new_value) : "php";
	if (strcmp(v, "php") != 0 && strcmp(v, "json") != 0 && strcmp(v, "json_array") != 0
		&& strcmp(v, "igbinary") != 0 && strcmp(v, "msgpack") != 0) {
		return FAILURE;
	}
	return OnUpdateString(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);
}

/* A compression name as php-memcached's memcached.compression_type. */
static PHP_INI_MH(OnUpdateCompressionName)
{
	const char *v = new_value != NULL ? ZSTR_VAL(new_value) : "fastlz";
	if (strcmp(v, "fastlz") != 0 && strcmp(v, "zlib") != 0) {
		return FAILURE;
	}
	return OnUpdateString(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);
}

/* memcached.sess_consistent_hash_type: ketama or ketama_weighted. */
static PHP_INI_MH(OnUpdateConsistentHashType)
{
	const char *v = new_value != NULL ? ZSTR_VAL(new_value) : "ketama";
	if (strcmp(v, "ketama") != 0 && strcmp(v, "ketama_weighted") != 0) {
		php_error_docref(NULL, E_WARNING, "%s must be ketama or ketama_weighted", ZSTR_VAL(entry->name));
		return FAILURE;
	}
	return OnUpdateString(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);
}

/* A session key prefix: printable ASCII, short enough for a key. */
static PHP_INI_MH(OnUpdateSessionPrefix)
{
	if (new_value != NULL && ZSTR_LEN(new_value) > 0) {
		if (ZSTR_LEN(new_value) > 250) {
			php_error_docref(NULL, E_WARNING, "%s too long (max: 250)", ZSTR_VAL(entry->name));
			return FAILURE;
		}
		for (size_t i = 0; i < ZSTR_LEN(new_value); i++) {
			unsigned char c = (unsigned char) ZSTR_VAL(new_value)[i];
			if (c <= ' ' || c >= 0x7f) {
				php_error_docref(NULL, E_WARNING,
					"%s cannot contain whitespace or control characters", ZSTR_VAL(entry->name));
				return FAILURE;
			}
		}
	}
	return OnUpdateString(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);
}

/* The settings of the Memcached class and the session handler, under a
   prefix ("mcring." or php-memcached's "memcached."), into one struct. */
#define MC_ENTRY(prefix, set, name, value, update, field) \
	STD_PHP_INI_ENTRY(prefix name, value, PHP_INI_ALL, update, set.field, zend_mcring_globals, mcring_globals)
#define MC_BOOL(prefix, set, name, value, field) \
	STD_PHP_INI_BOOLEAN(prefix name, value, PHP_INI_ALL, OnUpdateBool, set.field, zend_mcring_globals, mcring_globals)
#define MC_SETTINGS(prefix, set) \
	MC_ENTRY(prefix, set, "serializer", "php", OnUpdateSerializerName, serializer) \
	MC_ENTRY(prefix, set, "compression_type", "fastlz", OnUpdateCompressionName, compression_type) \
	MC_ENTRY(prefix, set, "compression_factor", "1.3", OnUpdateReal, compression_factor) \
	MC_ENTRY(prefix, set, "compression_threshold", "2000", OnUpdateLong, compression_threshold) \
	MC_ENTRY(prefix, set, "compression_level", "6", OnUpdateLong, compression_level) \
	MC_ENTRY(prefix, set, "store_retry_count", "0", OnUpdateLong, store_retry_count) \
	MC_ENTRY(prefix, set, "item_size_limit", "0", OnUpdateLongGEZero, item_size_limit) \
	MC_BOOL(prefix, set, "default_consistent_hash", "0", default_consistent_hash) \
	MC_BOOL(prefix, set, "default_binary_protocol", "0", default_binary_protocol) \
	MC_ENTRY(prefix, set, "default_connect_timeout", "0", OnUpdateLong, default_connect_timeout) \
	MC_BOOL(prefix, set, "sess_locking", "1", sess_locking) \
	MC_ENTRY(prefix, set, "sess_lock_wait_min", "150", OnUpdateLongGEZero, sess_lock_wait_min) \
	MC_ENTRY(prefix, set, "sess_lock_wait_max", "150", OnUpdateLongGEZero, sess_lock_wait_max) \
	MC_ENTRY(prefix, set, "sess_lock_retries", "5", OnUpdateLong, sess_lock_retries) \
	MC_ENTRY(prefix, set, "sess_lock_expire", "0", OnUpdateLongGEZero, sess_lock_expire) \
	MC_ENTRY(prefix, set, "sess_prefix", "memc.sess.key.", OnUpdateSessionPrefix, sess_prefix) \
	MC_BOOL(prefix, set, "sess_persistent", "0", sess_persistent) \
	MC_BOOL(prefix, set, "sess_consistent_hash", "1", sess_consistent_hash) \
	MC_ENTRY(prefix, set, "sess_consistent_hash_type", "ketama", OnUpdateConsistentHashType, \
		sess_consistent_hash_type) \
	MC_BOOL(prefix, set, "sess_binary_protocol", "1", sess_binary_protocol) \
	MC_BOOL(prefix, set, "sess_remove_failed_servers", "0", sess_remove_failed_servers) \
	MC_ENTRY(prefix, set, "sess_server_failure_limit", "0", OnUpdateLongGEZero, sess_server_failure_limit) \
	MC_ENTRY(prefix, set, "sess_number_of_replicas", "0", OnUpdateLongGEZero, sess_number_of_replicas) \
	MC_BOOL(prefix, set, "sess_randomize_replica_read", "0", sess_randomize_replica_read) \
	MC_ENTRY(prefix, set, "sess_connect_timeout", "0", OnUpdateLong, sess_connect_timeout) \
	MC_ENTRY(prefix, set, "sess_sasl_username", "", OnUpdateString, sess_sasl_username) \
	MC_ENTRY(prefix, set, "sess_sasl_password", "", OnUpdateString, sess_sasl_password)

PHP_INI_BEGIN()
	STD_PHP_INI_BOOLEAN("mcring.shared_health", "1", PHP_INI_SYSTEM, OnUpdateBool, shared_health,
		zend_mcring_globals, mcring_globals)
	STD_PHP_INI_BOOLEAN("mcring.memcached_compat", "0", PHP_INI_SYSTEM, OnUpdateBool, memcached_compat,
		zend_mcring_globals, mcring_globals)
	MC_SETTINGS("mcring.", own)
	STD_PHP_INI_ENTRY("mcring.shared_metrics", "", PHP_INI_SYSTEM, OnUpdateString, shared_metrics,
		zend_mcring_globals, mcring_globals)
PHP_INI_END()

/* php-memcached's own ini names, registered in compat mode only. */
static const zend_ini_entry_def compat_ini_entries[] = {
	MC_SETTINGS("memcached.", compat)
	{NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}
};

static PHP_GINIT_FUNCTION(mcring)
{
#if defined(COMPILE_DL_MCRING) && defined(ZTS)
	ZEND_TSRMLS_CACHE_UPDATE();
#endif
	mcring_globals->shared_health = true;
	mcring_globals->memcached_compat = false;
	memset(&mcring_globals->own, 0, sizeof mcring_globals->own);
	memset(&mcring_globals->compat, 0, sizeof mcring_globals->compat);
	mcring_globals->shared_metrics = NULL;
}

static PHP_MINIT_FUNCTION(mcring)
{
	REGISTER_INI_ENTRIES();
	/* Compat mode needs \Memcached free: php-memcached loaded beside mcring
	   keeps its classes, handler and ini names. */
	bool php_memcached_loaded = zend_hash_str_exists(&module_registry, ZEND_STRL("memcached"));
	compat_active = MCRING_G(memcached_compat) && !php_memcached_loaded;
	if (MCRING_G(memcached_compat) && php_memcached_loaded) {
		php_error_docref(NULL, E_WARNING,
			"mcring.memcached_compat is On but php-memcached is loaded: \\Memcached stays php-memcached's");
	}
	if (compat_active) {
		zend_register_ini_entries(compat_ini_entries, module_number);
	}
	mcring_client_startup(module_number, register_class_McRing_Client(),
		register_class_McRing_Exception(spl_ce_RuntimeException));
	mcring_memcached_startup(module_number, register_class_McRing_Memcached(),
		register_class_McRing_MemcachedException(spl_ce_RuntimeException), compat_active);
	mcring_session_startup(module_number, compat_active);
	/* Module start-up runs in PHP-FPM's master before it forks the
	   workers: they all inherit the area, so a server one worker finds
	   dead is skipped by the others without paying their own timeouts. */
	if (MCRING_G(shared_health)) {
		if (mcring_shared_health_init() == MCRING_OK) {
			shared_health_active = true;
		} else {
			snprintf(shared_health_error, sizeof shared_health_error, "%s", mcring_last_error());
			php_error_docref(NULL, E_WARNING,
				"mcring.shared_health: %s; server health stays per process", shared_health_error);
		}
	}
	/* Likewise every worker's clients add their metrics up in one file,
	   which `mcring exporter --shm PATH` serves. */
	const char *metrics_path = MCRING_G(shared_metrics);
	if (metrics_path != NULL && metrics_path[0] != '\0') {
		if (mcring_shared_metrics_init(metrics_path) == MCRING_OK) {
			shared_metrics_active = true;
		} else {
			snprintf(shared_metrics_error, sizeof shared_metrics_error, "%s", mcring_last_error());
			php_error_docref(NULL, E_WARNING,
				"mcring.shared_metrics: %s; client metrics stay per process", shared_metrics_error);
		}
	}
	return SUCCESS;
}

static PHP_MSHUTDOWN_FUNCTION(mcring)
{
	UNREGISTER_INI_ENTRIES();
	return SUCCESS;
}

static PHP_MINFO_FUNCTION(mcring)
{
	char persistent[32];
	snprintf(persistent, sizeof persistent, "%" PRIu32, mcring_persistent_count());
	php_info_print_table_start();
	php_info_print_table_header(2, "mcring support", "enabled");
	php_info_print_table_row(2, "Extension version", PHP_MCRING_VERSION);
	php_info_print_table_row(2, "libmcring version (running)", mcring_version());
	php_info_print_table_row(2, "libmcring version (built against)", MCRING_VERSION);
	php_info_print_table_row(2, "Shared server health",
		shared_health_active ? "active"
		: shared_health_error[0] != '\0' ? shared_health_error : "off (mcring.shared_health)");
	php_info_print_table_row(2, "Shared client metrics",
		shared_metrics_active ? MCRING_G(shared_metrics)
		: shared_metrics_error[0] != '\0' ? shared_metrics_error : "off (mcring.shared_metrics)");
	php_info_print_table_row(2, "Persistent clients in this process", persistent);
	php_info_print_table_row(2, "\\Memcached and session handler \"memcached\"",
		compat_active ? "McRing\\Memcached (mcring.memcached_compat)" : "not provided");
	php_info_print_table_end();
	DISPLAY_INI_ENTRIES();
}

static const zend_module_dep mcring_deps[] = {
	ZEND_MOD_REQUIRED("json")
	ZEND_MOD_REQUIRED("session")
	ZEND_MOD_REQUIRED("spl")
	ZEND_MOD_REQUIRED("standard")
	/* Serializers McRing\Memcached uses when they are loaded. */
	ZEND_MOD_OPTIONAL("igbinary")
	ZEND_MOD_OPTIONAL("msgpack")
	ZEND_MOD_END
};

zend_module_entry mcring_module_entry = {
	STANDARD_MODULE_HEADER_EX,
	NULL,
	mcring_deps,
	"mcring",
	NULL, /* no functions: everything is McRing\Client and McRing\Memcached */
	PHP_MINIT(mcring),
	PHP_MSHUTDOWN(mcring),
	NULL,
	NULL,
	PHP_MINFO(mcring),
	PHP_MCRING_VERSION,
	PHP_MODULE_GLOBALS(mcring),
	PHP_GINIT(mcring),
	NULL,
	NULL,
	STANDARD_MODULE_PROPERTIES_EX
};

#ifdef COMPILE_DL_MCRING
#ifdef ZTS
ZEND_TSRMLS_CACHE_DEFINE()
#endif
ZEND_GET_MODULE(mcring)
#endif
