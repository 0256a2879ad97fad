/*
 * mcring: a PHP extension over libmcring, the C ABI of the mcring memcached
 * client engine. The engine does placement, failover, pooling and the value
 * codec; this extension turns PHP values and calls into libmcring calls.
 */
#ifndef PHP_MCRING_H
#define PHP_MCRING_H

#include "php.h"

#include "mcring_memcached.h"

#define PHP_MCRING_VERSION "0.1.0"

extern zend_module_entry mcring_module_entry;
#define phpext_mcring_ptr &mcring_module_entry

ZEND_BEGIN_MODULE_GLOBALS(mcring)
	/* mcring.shared_health: server health in memory shared by the
	   processes forked after module start (PHP-FPM workers). */
	bool shared_health;
	/* mcring.memcached_compat: McRing\Memcached is also \Memcached, and
	   the session handler also "memcached" (when php-memcached is not
	   loaded). */
	bool memcached_compat;
	/* The Memcached class's and session handler's settings: mcring.*, and
	   php-memcached's memcached.* names in compat mode. */
	mcring_mc_settings own;
	mcring_mc_settings compat;
	/* mcring.shared_metrics: the path of the file where every worker's
	   clients add their metrics up (mcring exporter --shm); empty: none. */
	char *shared_metrics;
ZEND_END_MODULE_GLOBALS(mcring)

ZEND_EXTERN_MODULE_GLOBALS(mcring)
#define MCRING_G(v) ZEND_MODULE_GLOBALS_ACCESSOR(mcring, v)

#if defined(ZTS) && defined(COMPILE_DL_MCRING)
ZEND_TSRMLS_CACHE_EXTERN()
#endif

#endif /* PHP_MCRING_H */
