/*
 * Persistent clients: the mcring_client and its pooled connections stay in
 * PHP's persistent list between requests, so a PHP-FPM worker reconnects
 * only when a server drops the connection. A worker that forks keeps its
 * list, and libmcring opens fresh connections in the child.
 */
#include "mcring_persistent.h"

#include "zend_list.h"

#define KEY_PREFIX "mcring:client:"

static int le_shared_client;

/* The persistent list lets go of a client (replaced, or at shutdown). */
static ZEND_RSRC_DTOR_FUNC(shared_client_dtor)
{
	if (res->ptr) {
		mcring_persistent_release((mcring_shared_client *) res->ptr);
		res->ptr = NULL;
	}
}

void mcring_persistent_startup(int module_number)
{
	le_shared_client = zend_register_list_destructors_ex(
		NULL, shared_client_dtor, "McRing persistent client", module_number);
}

void mcring_persistent_release(mcring_shared_client *shared)
{
	if (--shared->refs > 0) {
		return;
	}
	mcring_client_free(shared->client);
	zend_string_release_ex(shared->config, 1);
	pefree(shared, 1);
}

mcring_shared_client *mcring_persistent_acquire(zend_string *persistent_id, zend_string *config,
	bool *created, mcring_status *status)
{
	zend_string *key = zend_string_concat2(
		KEY_PREFIX, sizeof(KEY_PREFIX) - 1, ZSTR_VAL(persistent_id), ZSTR_LEN(persistent_id));
	zend_resource *listed = zend_hash_find_ptr(&EG(persistent_list), key);
	if (listed != NULL && listed->type == le_shared_client && listed->ptr != NULL) {
		mcring_shared_client *shared = listed->ptr;
		if (zend_string_equals(shared->config, config)) {
			shared->refs++;
			*created = false;
			zend_string_release(key);
			return shared;
		}
	}
	if (listed != NULL) {
		/* Another configuration under the same id: the new one wins. */
		zend_hash_del(&EG(persistent_list), key);
	}

	mcring_client *client = NULL;
	*status = mcring_client_new(ZSTR_VAL(config), &client);
	if (*status != MCRING_OK) {
		zend_string_release(key);
		return NULL;
	}
	mcring_shared_client *shared = pemalloc(sizeof(*shared), 1);
	shared->client = client;
	shared->config = zend_string_dup(config, 1);
	shared->refs = 2; /* the list's and the caller's */
	/* The list keeps its own persistent copy of the key. */
	zend_register_persistent_resource(ZSTR_VAL(key), ZSTR_LEN(key), shared, le_shared_client);
	zend_string_release(key);
	*created = true;
	return shared;
}

uint32_t mcring_persistent_count(void)
{
	uint32_t count = 0;
	zend_resource *res;
	ZEND_HASH_FOREACH_PTR(&EG(persistent_list), res) {
		if (res->type == le_shared_client) {
			count++;
		}
	} ZEND_HASH_FOREACH_END();
	return count;
}
