/*
 * PHP values to and from what libmcring stores. The flags convention and
 * compression are libmcring's (php-memcached's flags, shared with every
 * mcring binding); this file only maps PHP types onto its encoders and
 * decoded types, and serializes arrays and objects with PHP's own JSON
 * encoder (or serialize() when the client's serializer is php).
 */
#ifndef MCRING_VALUES_H
#define MCRING_VALUES_H

#include "php.h"
#include <libmcring.h>

/*
 * Encodes `value` for storing. On failure returns the status; `*error` is
 * then a message of the extension's own (a value PHP cannot serialize), or
 * NULL when the message is libmcring's (mcring_last_error()).
 */
mcring_status mcring_php_encode(mcring_client *client, mcring_serializer serializer, zval *value,
	mcring_value **out, zend_string **error);

/*
 * Decodes stored bytes and flags into `*out`. On failure returns the
 * status, leaves `*out` undefined, and sets `*error` as for encoding.
 */
mcring_status mcring_php_decode(mcring_client *client, mcring_serializer serializer,
	const uint8_t *data, size_t len, uint32_t flags, zval *out, zend_string **error);

/*
 * A value libmcring decoded (mcring_decode()) as a PHP value in `*out`.
 * On failure as mcring_php_decode().
 */
mcring_status mcring_php_value(mcring_serializer serializer, const mcring_decoded *d, zval *out,
	zend_string **error);

#endif /* MCRING_VALUES_H */
