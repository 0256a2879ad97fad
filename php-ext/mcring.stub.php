<?php

/**
 * The PHP API of the mcring extension. Edit this file, then regenerate
 * mcring_arginfo.h with PHP's build/gen_stub.php (see run-tests.sh).
 *
 * @generate-class-entries
 */

namespace McRing {

    /**
     * A memcached client over a pool of servers, placing keys exactly as
     * php-memcached with OPT_LIBKETAMA_COMPATIBLE (libmemcached's weighted
     * ketama) by default.
     *
     * @strict-properties
     * @not-serializable
     */
    class Client
    {
        /**
         * The operation succeeded.
         * @var int
         * @cvalue MCRING_OK
         */
        public const RES_SUCCESS = UNKNOWN;
        /**
         * The key does not exist.
         * @var int
         * @cvalue MCRING_NOT_FOUND
         */
        public const RES_NOTFOUND = UNKNOWN;
        /**
         * The server declined the store (add of an existing key, replace,
         * append or prepend of a missing one).
         * @var int
         * @cvalue MCRING_NOT_STORED
         */
        public const RES_NOTSTORED = UNKNOWN;
        /**
         * cas: the item changed since its CAS token was read.
         * @var int
         * @cvalue MCRING_EXISTS
         */
        public const RES_EXISTS = UNKNOWN;
        /**
         * The key is empty, too long or holds a space or control byte.
         * @var int
         * @cvalue MCRING_BAD_KEY
         */
        public const RES_BAD_KEY = UNKNOWN;
        /**
         * The value is too large, or cannot be encoded or decoded.
         * @var int
         * @cvalue MCRING_BAD_VALUE
         */
        public const RES_BAD_VALUE = UNKNOWN;
        /**
         * The configuration is invalid.
         * @var int
         * @cvalue MCRING_BAD_CONFIG
         */
        public const RES_BAD_CONFIG = UNKNOWN;
        /**
         * An argument is invalid.
         * @var int
         * @cvalue MCRING_INVALID_ARGUMENT
         */
        public const RES_INVALID_ARGUMENT = UNKNOWN;
        /**
         * A server did not answer within connect_timeout_ms / io_timeout_ms.
         * @var int
         * @cvalue MCRING_TIMEOUT
         */
        public const RES_TIMEOUT = UNKNOWN;
        /**
         * A connection failed, or the server is marked dead.
         * @var int
         * @cvalue MCRING_CONNECTION_ERROR
         */
        public const RES_CONNECTION_ERROR = UNKNOWN;
        /**
         * The server answered with an error.
         * @var int
         * @cvalue MCRING_SERVER_ERROR
         */
        public const RES_SERVER_ERROR = UNKNOWN;
        /**
         * The server sent an invalid reply.
         * @var int
         * @cvalue MCRING_PROTOCOL_ERROR
         */
        public const RES_PROTOCOL_ERROR = UNKNOWN;
        /**
         * No server is configured.
         * @var int
         * @cvalue MCRING_NO_SERVERS
         */
        public const RES_NO_SERVERS = UNKNOWN;
        /**
         * A result did not fit (not expected from PHP).
         * @var int
         * @cvalue MCRING_BUFFER_TOO_SMALL
         */
        public const RES_BUFFER_TOO_SMALL = UNKNOWN;
        /**
         * A bug in libmcring; the message says where.
         * @var int
         * @cvalue MCRING_INTERNAL_ERROR
         */
        public const RES_INTERNAL_ERROR = UNKNOWN;
        /**
         * Stored (or deleted) only on a failover target: the key's home
         * server could not be reached; its copy is invalidated before it
         * serves again. The command returned true.
         * @var int
         * @cvalue MCRING_STORED_ELSEWHERE
         */
        public const RES_STORED_ELSEWHERE = UNKNOWN;

        /**
         * $servers: a config string ("127.0.0.1:11211 127.0.0.1:11212
         * replicas=1") or a list of "host:port[:weight]". $options: config
         * option names and values (['replicas' => 1, 'io_timeout_ms' => 250]).
         * With a $persistent_id the client and its connections outlive the
         * request (one per id and worker process).
         *
         * @throws Exception on a bad configuration
         */
        public function __construct(string|array $servers, array $options = [], ?string $persistent_id = null) {}

        /** The value, or false on a miss or an error (see getResultCode()). */
        public function get(string $key): mixed {}

        /** ['value' => ..., 'cas' => int], or false on a miss or an error. */
        public function gets(string $key): array|false {}

        public function set(string $key, mixed $value, int $ttl = 0): bool {}

        public function add(string $key, mixed $value, int $ttl = 0): bool {}

        public function replace(string $key, mixed $value, int $ttl = 0): bool {}

        /** Stores only if the item's CAS token (from gets()) is still $cas. */
        public function cas(int $cas, string $key, mixed $value, int $ttl = 0): bool {}

        /** Appends to the stored value (a compressed one is inflated, extended and stored again). */
        public function append(string $key, string $value): bool {}

        /** Prepends to the stored value, as append(). */
        public function prepend(string $key, string $value): bool {}

        public function delete(string $key): bool {}

        /** The new value, or false on a miss or an error. */
        public function increment(string $key, int $by = 1): int|false {}

        /** The new value (never below 0), or false on a miss or an error. */
        public function decrement(string $key, int $by = 1): int|false {}

        public function touch(string $key, int $ttl = 0): bool {}

        /** [key => value] for the keys found, in the order of $keys. */
        public function getMulti(array $keys): array {}

        /** $items: key => value. */
        public function setMulti(array $items, int $ttl = 0): bool {}

        /** [key => true, or the RES_* code of that key]. */
        public function deleteMulti(array $keys): array {}

        public function flush(int $delay = 0): bool {}

        /** ['host' => ..., 'port' => ..., 'weight' => ...] of the key's server. */
        public function getServerByKey(string $key): array|false {}

        /** The configured servers: a list of ['host', 'port', 'weight']. */
        public function getServerList(): array {}

        /** memcached's own statistics: ["host:port" => [name => value]]. */
        public function getStats(?string $type = null): array {}

        /** The client's counters: ['total' => [...], 'servers' => ["host:port" => [...]]]. */
        public function getClientStats(): array {}

        /** ["host:port" => version string, or false if the server did not answer]. */
        public function getVersion(): array {}

        /** Probes every server: ["host:port" => ['alive', 'result_code', 'latency_us', 'error']]. */
        public function getHealth(): array {}

        public function getResultCode(): int {}

        public function getResultMessage(): string {}

        /** Whether the client outlives the request (made with a persistent id). */
        public function isPersistent(): bool {}

        /** Whether this object created its client (false when it reused a persistent one). */
        public function isPristine(): bool {}

        /** Closes idle connections; they reopen on demand. */
        public function close(): bool {}
    }

    /** A bad configuration given to Client::__construct(). */
    class Exception extends \RuntimeException
    {
    }
}
