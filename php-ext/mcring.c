/*
 * The mcring module: ini settings, start-up (classes; the shared health
 * area for PHP-FPM's workers) and the phpinfo() section.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "php.h"
#include "ext/standard/info.h"

#include "php_mcring.h"
#include "mcring_client.h"
#include "mcring_persistent.h"

ZEND_DECLARE_MODULE_GLOBALS(mcring)

/* Whether the shared health area is in use in this process. */
static bool shared_health_active;
/* Why it is not, when it was asked for and failed. */
static char shared_health_error[256];

PHP_INI_BEGIN()
	STD_PHP_INI_BOOLEAN("mcring.shared_health", "1", PHP_INI_SYSTEM, OnUpdateBool, shared_health,
		zend_mcring_globals, mcring_globals)
PHP_INI_END()

static PHP_GINIT_FUNCTION(mcring)
{
#if defined(COMPILE_DL_MCRING) && defined(ZTS)
	ZEND_TSRMLS_CACHE_UPDATE();
#endif
	mcring_globals->shared_health = true;
}

static PHP_MINIT_FUNCTION(mcring)
{
	REGISTER_INI_ENTRIES();
	mcring_client_startup(module_number);
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
	php_info_print_table_row(2, "Persistent clients in this process", persistent);
	php_info_print_table_end();
	DISPLAY_INI_ENTRIES();
}

static const zend_module_dep mcring_deps[] = {
	ZEND_MOD_REQUIRED("json")
	ZEND_MOD_REQUIRED("spl")
	ZEND_MOD_REQUIRED("standard")
	ZEND_MOD_END
};

zend_module_entry mcring_module_entry = {
	STANDARD_MODULE_HEADER_EX,
	NULL,
	mcring_deps,
	"mcring",
	NULL, /* no functions: everything is McRing\Client */
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
