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
        /*
         * Result codes: php-memcached's numbers (Memcached::RES_*), under
         * the names of the outcomes this client reports.
         */

        /**
         * The operation succeeded.
         * @var int
         * @cvalue MCRING_RES_SUCCESS
         */
        public const RES_SUCCESS = UNKNOWN;
        /**
         * The key does not exist.
         * @var int
         * @cvalue MCRING_RES_NOTFOUND
         */
        public const RES_NOTFOUND = UNKNOWN;
        /**
         * The server declined the store (add of an existing key, replace,
         * append or prepend of a missing one).
         * @var int
         * @cvalue MCRING_RES_NOTSTORED
         */
        public const RES_NOTSTORED = UNKNOWN;
        /**
         * cas: the item changed since its CAS token was read.
         * @var int
         * @cvalue MCRING_RES_DATA_EXISTS
         */
        public const RES_EXISTS = UNKNOWN;
        /**
         * The key is empty, too long or holds a space or control byte.
         * @var int
         * @cvalue MCRING_RES_BAD_KEY_PROVIDED
         */
        public const RES_BAD_KEY = UNKNOWN;
        /**
         * The value is too large, or cannot be encoded or decoded.
         * @var int
         * @cvalue MCRING_RES_PAYLOAD_FAILURE
         */
        public const RES_BAD_VALUE = UNKNOWN;
        /**
         * The configuration is invalid.
         * @var int
         * @cvalue MCRING_RES_PARSE_ERROR
         */
        public const RES_BAD_CONFIG = UNKNOWN;
        /**
         * An argument is invalid.
         * @var int
         * @cvalue MCRING_RES_INVALID_ARGUMENTS
         */
        public const RES_INVALID_ARGUMENT = UNKNOWN;
        /**
         * A server did not answer within connect_timeout_ms / io_timeout_ms.
         * @var int
         * @cvalue MCRING_RES_TIMEOUT
         */
        public const RES_TIMEOUT = UNKNOWN;
        /**
         * A connection failed.
         * @var int
         * @cvalue MCRING_RES_CONNECTION_FAILURE
         */
        public const RES_CONNECTION_ERROR = UNKNOWN;
        /**
         * The server is marked dead after repeated failures and was not
         * tried (php-memcached's RES_SERVER_TEMPORARILY_DISABLED).
         * @var int
         * @cvalue MCRING_RES_SERVER_TEMPORARILY_DISABLED
         */
        public const RES_SERVER_DOWN = UNKNOWN;
        /**
         * The value is larger than max_value_bytes, or than the server's
         * item size limit (php-memcached's RES_E2BIG).
         * @var int
         * @cvalue MCRING_RES_E2BIG
         */
        public const RES_TOO_LARGE = UNKNOWN;
        /**
         * The server answered CLIENT_ERROR (e.g. increment of a value that
         * is not a number).
         * @var int
         * @cvalue MCRING_RES_CLIENT_ERROR
         */
        public const RES_CLIENT_ERROR = UNKNOWN;
        /**
         * The server answered with an error.
         * @var int
         * @cvalue MCRING_RES_SERVER_ERROR
         */
        public const RES_SERVER_ERROR = UNKNOWN;
        /**
         * The server sent an invalid reply.
         * @var int
         * @cvalue MCRING_RES_PROTOCOL_ERROR
         */
        public const RES_PROTOCOL_ERROR = UNKNOWN;
        /**
         * No server is configured.
         * @var int
         * @cvalue MCRING_RES_NO_SERVERS
         */
        public const RES_NO_SERVERS = UNKNOWN;
        /**
         * A result did not fit (not expected from PHP); php-memcached's
         * RES_FAILURE, as RES_INTERNAL_ERROR.
         * @var int
         * @cvalue MCRING_RES_FAILURE
         */
        public const RES_BUFFER_TOO_SMALL = UNKNOWN;
        /**
         * A bug in libmcring; the message says where.
         * @var int
         * @cvalue MCRING_RES_FAILURE
         */
        public const RES_INTERNAL_ERROR = UNKNOWN;
        /**
         * Stored (or deleted) only on a failover target: the key's home
         * server could not be reached; its copy is invalidated before it
         * serves again. The command returned true.
         * @var int
         * @cvalue MCRING_RES_STORED_ELSEWHERE
         */
        public const RES_STORED_ELSEWHERE = UNKNOWN;
        /**
         * getOrSet() served a stale value (after invalidate(), or in the
         * stale time) while another caller recomputes it. The call returned
         * the value.
         * @var int
         * @cvalue MCRING_RES_STALE
         */
        public const RES_STALE = UNKNOWN;
        /**
         * The server refused the login (memcached -Y: wrong 'username' or
         * 'password'), or requires one and none is configured. The server
         * is not marked dead; it is not tried again for retry_timeout_ms. php-memcached's RES_AUTH_FAILURE (41).
         * @var int
         * @cvalue MCRING_RES_AUTH_FAILURE
         */
        public const RES_AUTH_FAILED = UNKNOWN;

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

        /** The servers now: a list of ['host', 'port', 'weight']. */
        public function getServerList(): array {}

        /** Adds a server at run time (the ring is rebuilt; moved keys are migrated on first read). */
        public function addServer(string $host, int $port = 11211, int $weight = 0): bool {}

        /** Adds servers ([host, port, weight] each) in one change. */
        public function addServers(array $servers): bool {}

        /** Empties the server list (addServer() fills it again). */
        public function resetServerList(): bool {}

        /** Replaces the server list: tokens as in a config string (host:port[:weight], dns+NAME:PORT, srv+NAME). */
        public function setServers(string $servers, bool $drain = false): bool {}

        /** Removes a server ("host:port") or DNS source; with $drain it is read until migration_s has passed. */
        public function removeServer(string $server, bool $drain = false): bool {}

        /** memcached's own statistics: ["host:port" => [name => value]]. */
        public function getStats(?string $type = null): array {}

        /** The client's counters: ['total' => [...], 'servers' => ["host:port" => [...]], 'latency' => [...], 'hot_keys' => getHotKeys()]. */
        public function getClientStats(): array {}

        /** ["host:port" => version string, or false if the server did not answer]. */
        public function getVersion(): array {}

        /** Probes every server: ["host:port" => ['alive', 'result_code', 'latency_us', 'error']]. */
        public function getHealth(): array {}

        /**
         * The value of $key; when it is missing (or invalidated, or due for
         * early recache) one caller of the whole pool (any process or
         * language) calls $compute() and stores its value with $ttl, while
         * the others wait for it or get the stale value. $options:
         * 'lease_ttl' (seconds, default the client's lease_ttl, 3),
         * 'recache_s' (early recache below this remaining TTL), 'stale_ttl'
         * (values stay this long past $ttl, served stale while one caller
         * recomputes). An exception of $compute gives the lease back and
         * propagates; false on a cache error (see getResultCode()).
         */
        public function getOrSet(string $key, callable $compute, int $ttl, array $options = []): mixed {}

        /** Marks $key stale for $staleTtl seconds instead of deleting it (0 deletes); true if a copy held it. */
        public function invalidate(string $key, int $staleTtl = 30): bool {}

        /** The most read keys per server (option hot_keys=N): ["host:port" => [['key', 'reads', 'error', 'rate'], ...]]. */
        public function getHotKeys(): array {}

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

    /**
     * php-memcached 3.x's Memcached, method for method, over the mcring
     * engine: the same constants, option numbers, result codes and stored
     * values. With mcring.memcached_compat=On (and php-memcached not
     * loaded) it is also \Memcached. See the README, "Moving from
     * php-memcached", for what differs.
     *
     * @not-serializable
     */
    class Memcached
    {
        /* The libmemcached version php-memcached reports (1.0.18 semantics, as Debian's php-memcached 3.2 over libmemcached-awesome 1.1). */
        /** @var int */
        public const LIBMEMCACHED_VERSION_HEX = 16777240;

        /* php-memcached's own options. */
        /** @var int */
        public const OPT_COMPRESSION = -1001;
        /** @var int */
        public const OPT_COMPRESSION_TYPE = -1004;
        /** @var int */
        public const OPT_PREFIX_KEY = -1002;
        /** @var int */
        public const OPT_SERIALIZER = -1003;
        /** @var int */
        public const OPT_USER_FLAGS = -1006;
        /** @var int */
        public const OPT_STORE_RETRY_COUNT = -1005;
        /** @var int */
        public const OPT_COMPRESSION_LEVEL = -1007;
        /** @var int */
        public const OPT_ITEM_SIZE_LIMIT = -1008;

        /* What this build offers: igbinary and msgpack when those extensions are loaded; no AES encoding, SASL or zstd. */
        /** @var bool (true at start-up when the extension is loaded) */
        public const HAVE_IGBINARY = false;
        /** @var bool */
        public const HAVE_JSON = true;
        /** @var bool (true at start-up when the extension is loaded) */
        public const HAVE_MSGPACK = false;
        /** @var bool */
        public const HAVE_ENCODING = false;
        /** @var bool */
        public const HAVE_SESSION = true;
        /** @var bool */
        public const HAVE_SASL = false;
        /** @var bool */
        public const HAVE_ZSTD = false;

        /* libmemcached behaviors (their numbers); see the README for what each one does here. */
        /** @var int */
        public const OPT_HASH = 2;
        /** @var int */
        public const HASH_DEFAULT = 0;
        /** @var int */
        public const HASH_MD5 = 1;
        /** @var int */
        public const HASH_CRC = 2;
        /** @var int */
        public const HASH_FNV1_64 = 3;
        /** @var int */
        public const HASH_FNV1A_64 = 4;
        /** @var int */
        public const HASH_FNV1_32 = 5;
        /** @var int */
        public const HASH_FNV1A_32 = 6;
        /** @var int */
        public const HASH_HSIEH = 7;
        /** @var int */
        public const HASH_MURMUR = 8;
        /** @var int */
        public const OPT_DISTRIBUTION = 9;
        /** @var int */
        public const DISTRIBUTION_MODULA = 0;
        /** @var int */
        public const DISTRIBUTION_CONSISTENT = 1;
        /** @var int */
        public const DISTRIBUTION_VIRTUAL_BUCKET = 6;
        /** @var int */
        public const OPT_LIBKETAMA_COMPATIBLE = 16;
        /** @var int */
        public const OPT_LIBKETAMA_HASH = 17;
        /** @var int */
        public const OPT_TCP_KEEPALIVE = 32;
        /** @var int */
        public const OPT_BUFFER_WRITES = 10;
        /** @var int */
        public const OPT_BINARY_PROTOCOL = 18;
        /** @var int */
        public const OPT_NO_BLOCK = 0;
        /** @var int */
        public const OPT_TCP_NODELAY = 1;
        /** @var int */
        public const OPT_SOCKET_SEND_SIZE = 4;
        /** @var int */
        public const OPT_SOCKET_RECV_SIZE = 5;
        /** @var int */
        public const OPT_CONNECT_TIMEOUT = 14;
        /** @var int */
        public const OPT_RETRY_TIMEOUT = 15;
        /** @var int */
        public const OPT_DEAD_TIMEOUT = 36;
        /** @var int */
        public const OPT_SEND_TIMEOUT = 19;
        /** @var int */
        public const OPT_RECV_TIMEOUT = 20;
        /** @var int */
        public const OPT_POLL_TIMEOUT = 8;
        /** @var int */
        public const OPT_CACHE_LOOKUPS = 6;
        /** @var int */
        public const OPT_SERVER_FAILURE_LIMIT = 21;
        /** @var int */
        public const OPT_AUTO_EJECT_HOSTS = 28;
        /** @var int */
        public const OPT_HASH_WITH_PREFIX_KEY = 25;
        /** @var int */
        public const OPT_NOREPLY = 26;
        /** @var int */
        public const OPT_SORT_HOSTS = 12;
        /** @var int */
        public const OPT_VERIFY_KEY = 13;
        /** @var int */
        public const OPT_USE_UDP = 27;
        /** @var int */
        public const OPT_NUMBER_OF_REPLICAS = 29;
        /** @var int */
        public const OPT_RANDOMIZE_REPLICA_READ = 30;
        /** @var int */
        public const OPT_REMOVE_FAILED_SERVERS = 35;
        /** @var int */
        public const OPT_SERVER_TIMEOUT_LIMIT = 37;

        /* Result codes: libmemcached's, and php-memcached's RES_PAYLOAD_FAILURE. */
        /** @var int */
        public const RES_SUCCESS = 0;
        /** @var int */
        public const RES_FAILURE = 1;
        /** @var int */
        public const RES_HOST_LOOKUP_FAILURE = 2;
        /** @var int */
        public const RES_CONNECTION_FAILURE = 3;
        /** @var int */
        public const RES_CONNECTION_BIND_FAILURE = 4;
        /** @var int */
        public const RES_WRITE_FAILURE = 5;
        /** @var int */
        public const RES_READ_FAILURE = 6;
        /** @var int */
        public const RES_UNKNOWN_READ_FAILURE = 7;
        /** @var int */
        public const RES_PROTOCOL_ERROR = 8;
        /** @var int */
        public const RES_CLIENT_ERROR = 9;
        /** @var int */
        public const RES_SERVER_ERROR = 10;
        /** @var int */
        public const RES_DATA_EXISTS = 12;
        /** @var int */
        public const RES_DATA_DOES_NOT_EXIST = 13;
        /** @var int */
        public const RES_NOTSTORED = 14;
        /** @var int */
        public const RES_STORED = 15;
        /** @var int */
        public const RES_NOTFOUND = 16;
        /** @var int */
        public const RES_PARTIAL_READ = 18;
        /** @var int */
        public const RES_SOME_ERRORS = 19;
        /** @var int */
        public const RES_NO_SERVERS = 20;
        /** @var int */
        public const RES_END = 21;
        /** @var int */
        public const RES_DELETED = 22;
        /** @var int */
        public const RES_VALUE = 23;
        /** @var int */
        public const RES_STAT = 24;
        /** @var int */
        public const RES_ITEM = 25;
        /** @var int */
        public const RES_ERRNO = 26;
        /** @var int */
        public const RES_FAIL_UNIX_SOCKET = 27;
        /** @var int */
        public const RES_NOT_SUPPORTED = 28;
        /** @var int */
        public const RES_NO_KEY_PROVIDED = 29;
        /** @var int */
        public const RES_FETCH_NOTFINISHED = 30;
        /** @var int */
        public const RES_TIMEOUT = 31;
        /** @var int */
        public const RES_BUFFERED = 32;
        /** @var int */
        public const RES_BAD_KEY_PROVIDED = 33;
        /** @var int */
        public const RES_INVALID_HOST_PROTOCOL = 34;
        /** @var int */
        public const RES_SERVER_MARKED_DEAD = 35;
        /** @var int */
        public const RES_UNKNOWN_STAT_KEY = 36;
        /** @var int */
        public const RES_INVALID_ARGUMENTS = 38;
        /** @var int */
        public const RES_PARSE_ERROR = 43;
        /** @var int */
        public const RES_PARSE_USER_ERROR = 44;
        /** @var int */
        public const RES_DEPRECATED = 45;
        /** @var int */
        public const RES_IN_PROGRESS = 46;
        /** @var int */
        public const RES_MAXIMUM_RETURN = 49;
        /** @var int */
        public const RES_MEMORY_ALLOCATION_FAILURE = 17;
        /** @var int */
        public const RES_CONNECTION_SOCKET_CREATE_FAILURE = 11;
        /** @var int */
        public const RES_E2BIG = 37;
        /** @var int */
        public const RES_KEY_TOO_BIG = 39;
        /** @var int */
        public const RES_SERVER_TEMPORARILY_DISABLED = 47;
        /** @var int */
        public const RES_SERVER_MEMORY_ALLOCATION_FAILURE = 48;
        /** @var int */
        public const RES_AUTH_PROBLEM = 40;
        /** @var int */
        public const RES_AUTH_FAILURE = 41;
        /** @var int */
        public const RES_AUTH_CONTINUE = 42;
        /** @var int */
        public const RES_PAYLOAD_FAILURE = -1001;

        /* Serializers, compression types and get flags. */
        /** @var int */
        public const SERIALIZER_PHP = 1;
        /** @var int */
        public const SERIALIZER_IGBINARY = 2;
        /** @var int */
        public const SERIALIZER_JSON = 3;
        /** @var int */
        public const SERIALIZER_JSON_ARRAY = 4;
        /** @var int */
        public const SERIALIZER_MSGPACK = 5;
        /** @var int */
        public const COMPRESSION_FASTLZ = 2;
        /** @var int */
        public const COMPRESSION_ZLIB = 1;
        /** @var int */
        public const COMPRESSION_ZSTD = 3;
        /** @var int */
        public const GET_PRESERVE_ORDER = 1;
        /** @var int */
        public const GET_EXTENDED = 2;
        /** @var bool */
        public const GET_ERROR_RETURN_VALUE = false;

        public function __construct(?string $persistent_id = null, ?callable $callback = null, ?string $connection_str = null) {}

        public function getResultCode(): int {}
        public function getResultMessage(): string {}

        public function get(string $key, ?callable $cache_cb = null, int $get_flags = 0): mixed {}
        public function getByKey(string $server_key, string $key, ?callable $cache_cb = null, int $get_flags = 0): mixed {}
        public function getMulti(array $keys, int $get_flags = 0): array|false {}
        public function getMultiByKey(string $server_key, array $keys, int $get_flags = 0): array|false {}
        public function getDelayed(array $keys, bool $with_cas = false, ?callable $value_cb = null): bool {}
        public function getDelayedByKey(string $server_key, array $keys, bool $with_cas = false, ?callable $value_cb = null): bool {}
        public function fetch(): array|false {}
        public function fetchAll(): array|false {}

        public function set(string $key, mixed $value, int $expiration = 0): bool {}
        public function setByKey(string $server_key, string $key, mixed $value, int $expiration = 0): bool {}

        public function touch(string $key, int $expiration = 0): bool {}
        public function touchByKey(string $server_key, string $key, int $expiration = 0): bool {}

        public function setMulti(array $items, int $expiration = 0): bool {}
        public function setMultiByKey(string $server_key, array $items, int $expiration = 0): bool {}

        public function cas(string|int|float $cas_token, string $key, mixed $value, int $expiration = 0): bool {}
        public function casByKey(string|int|float $cas_token, string $server_key, string $key, mixed $value, int $expiration = 0): bool {}
        public function add(string $key, mixed $value, int $expiration = 0): bool {}
        public function addByKey(string $server_key, string $key, mixed $value, int $expiration = 0): bool {}
        public function append(string $key, string $value): ?bool {}
        public function appendByKey(string $server_key, string $key, string $value): ?bool {}
        public function prepend(string $key, string $value): ?bool {}
        public function prependByKey(string $server_key, string $key, string $value): ?bool {}
        public function replace(string $key, mixed $value, int $expiration = 0): bool {}
        public function replaceByKey(string $server_key, string $key, mixed $value, int $expiration = 0): bool {}
        public function delete(string $key, int $time = 0): bool {}
        public function deleteMulti(array $keys, int $time = 0): array {}
        public function deleteByKey(string $server_key, string $key, int $time = 0): bool {}
        public function deleteMultiByKey(string $server_key, array $keys, int $time = 0): array {}

        public function increment(string $key, int $offset = 1, int $initial_value = 0, int $expiry = 0): int|false {}
        public function decrement(string $key, int $offset = 1, int $initial_value = 0, int $expiry = 0): int|false {}
        public function incrementByKey(string $server_key, string $key, int $offset = 1, int $initial_value = 0, int $expiry = 0): int|false {}
        public function decrementByKey(string $server_key, string $key, int $offset = 1, int $initial_value = 0, int $expiry = 0): int|false {}

        public function addServer(string $host, int $port, int $weight = 0): bool {}
        public function addServers(array $servers): bool {}
        public function getServerList(): array {}
        public function getServerByKey(string $server_key): array|false {}
        public function resetServerList(): bool {}
        public function quit(): bool {}
        public function flushBuffers(): bool {}

        public function getLastErrorMessage(): string {}
        public function getLastErrorCode(): int {}
        public function getLastErrorErrno(): int {}
        public function getLastDisconnectedServer(): array|false {}

        public function getStats(?string $type = null): array|false {}
        public function getVersion(): array|false {}
        public function getAllKeys(): array|false {}

        public function flush(int $delay = 0): bool {}

        public function getOption(int $option): mixed {}
        public function setOption(int $option, mixed $value): bool {}
        public function setOptions(array $options): bool {}
        public function setBucket(array $host_map, ?array $forward_map, int $replicas): bool {}
        public function setSaslAuthData(string $username, #[\SensitiveParameter] string $password): bool {}
        public function setEncodingKey(string $key): bool {}
        public function isPersistent(): bool {}
        public function isPristine(): bool {}
        public function checkKey(string $key): bool {}
    }

    /** php-memcached's MemcachedException (\MemcachedException with mcring.memcached_compat=On). */
    class MemcachedException extends \RuntimeException
    {
    }
}
