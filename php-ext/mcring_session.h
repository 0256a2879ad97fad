/*
 * The session save handler "mcring" (and, in compat mode, "memcached"):
 * php-memcached's handler over libmcring, with the same keys, lock keys
 * and value layout, so the two can serve the same sessions.
 */
#ifndef MCRING_SESSION_H
#define MCRING_SESSION_H

#include <stdbool.h>

/* Registers the handler "mcring" (mcring.sess_* settings) and, in compat
   mode, "memcached" (php-memcached's memcached.sess_* settings). */
void mcring_session_startup(int module_number, bool compat);

#endif /* MCRING_SESSION_H */
