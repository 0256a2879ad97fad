/*
 * Clients that outlive a request: one per persistent id in each process
 * (each PHP-FPM worker), kept in PHP's persistent list with the
 * configuration they were made from.
 */
#ifndef MCRING_PERSISTENT_H
#define MCRING_PERSISTENT_H

#include "php.h"
#include <libmcring.h>

/* A client shared by the requests of one process. */
typedef struct {
	mcring_client *client;
	/* The config string it was made from (persistent memory). */
	zend_string *config;
	/* One for the persistent list while it is listed, one per object. */
	uint32_t refs;
} mcring_shared_client;

/* Registers the persistent resource type; at module start-up. */
void mcring_persistent_startup(int module_number);

/*
 * The client listed under `persistent_id`, made from `config` if there is
 * none or the listed one was made from another config (which then leaves
 * the list and is freed once no object uses it). The caller holds a
 * reference: give it back with mcring_persistent_release(). `*created`
 * tells whether the client is new. NULL if libmcring refused the config
 * (`*status`, with its message in mcring_last_error()).
 */
mcring_shared_client *mcring_persistent_acquire(zend_string *persistent_id, zend_string *config,
	bool *created, mcring_status *status);

/* Gives back a reference; the client is freed with the last one. */
void mcring_persistent_release(mcring_shared_client *shared);

/* How many persistent clients this process keeps. */
uint32_t mcring_persistent_count(void);

#endif /* MCRING_PERSISTENT_H */
