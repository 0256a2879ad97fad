/*
 * The McRing\Client class and McRing\Exception.
 */
#ifndef MCRING_CLIENT_H
#define MCRING_CLIENT_H

#include "php.h"
#include <libmcring.h>

#include "mcring_codes.h"
#include "mcring_persistent.h"

/* A McRing\Client object. */
typedef struct {
	/* The client in use: the object's own, or a persistent one. */
	mcring_client *client;
	/* The persistent client in use, or NULL for an object's own. */
	mcring_shared_client *shared;
	/* How arrays and objects are serialized (the 'serializer' option). */
	mcring_serializer serializer;
	/* Whether this object created its client (php-memcached's isPristine). */
	bool pristine;
	/* The outcome of the last call. */
	mcring_status status;
	/* Its php-memcached result code, for getResultCode(). */
	int code;
	/* Its message, or NULL when the status speaks for itself. */
	zend_string *message;
	zend_object std;
} mcring_object;

extern zend_class_entry *mcring_client_ce;
extern zend_class_entry *mcring_exception_ce;

/* Sets up the registered classes and the persistent resource type. */
void mcring_client_startup(int module_number, zend_class_entry *client_ce,
	zend_class_entry *exception_ce);

/* The object behind $this, or NULL (with an Error thrown) if its
   constructor did not run. */
mcring_object *mcring_this(zval *this_zv);

/* Records the outcome of a libmcring call; a failure's message is
   mcring_last_error(). */
void mcring_result(mcring_object *o, mcring_status status);

/* Whether a command took effect: on the key's home, or only on a failover
   target (MCRING_STORED_ELSEWHERE, which getResultCode() then reports). */
static inline bool mcring_is_done(mcring_status status)
{
	return status == MCRING_OK || status == MCRING_STORED_ELSEWHERE;
}

/* Records a failure with a message of the extension's own, or, when
   `message` is NULL, libmcring's. Takes `message`. */
void mcring_result_message(mcring_object *o, mcring_status status, zend_string *message);

/* A time to live or delay argument as libmcring takes it, or false with a
   ValueError thrown. */
bool mcring_seconds_arg(zend_long seconds, uint32_t arg_num, uint32_t *out);

/* The client's hot keys as getHotKeys() returns them, into `out` (an array
   in any case); the status of libmcring's call. */
mcring_status mcring_hot_keys_array(mcring_client *client, zval *out);

/* An array element's key as a string (an integer key as its digits). */
zend_string *mcring_key_of(zend_string *str_key, zend_ulong num_key);

#endif /* MCRING_CLIENT_H */
