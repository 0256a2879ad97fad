<?php
/*
 * Memcached used the way framework cache layers use it, written here from
 * their documented behaviour (no framework code): a Laravel-style connector
 * and store (persistent connection id, options, servers added once,
 * results judged by getResultCode(), GET_PRESERVE_ORDER for many(), atomic
 * add() locks), and a Symfony-style adapter (its client options, setMulti
 * with a lifetime, result codes checked after every call, deleteMulti).
 * Runs unchanged with mcring.memcached_compat=On.
 */
include __DIR__ . '/common.inc';

// ---- Laravel-style --------------------------------------------------------

final class LaravelStyleConnector
{
    public function connect(array $servers, ?string $connectionId = null, array $options = []): Memcached
    {
        $memcached = $connectionId !== null ? new Memcached($connectionId) : new Memcached();
        if ($options) {
            $memcached->setOptions($options);
        }
        if (!$memcached->getServerList()) {
            foreach ($servers as $server) {
                $memcached->addServer($server['host'], $server['port'], $server['weight']);
            }
        }
        return $memcached;
    }
}

final class LaravelStyleStore
{
    public function __construct(private Memcached $memcached, private string $prefix = '') {}

    public function get(string $key): mixed
    {
        $value = $this->memcached->get($this->prefix . $key);
        return $this->memcached->getResultCode() === 0 ? $value : null;
    }

    public function many(array $keys): array
    {
        $prefixed = array_map(fn($k) => $this->prefix . $k, $keys);
        $values = $this->memcached->getMulti($prefixed, Memcached::GET_PRESERVE_ORDER);
        if ($this->memcached->getResultCode() !== 0) {
            return array_fill_keys($keys, null);
        }
        return array_combine($keys, $values);
    }

    public function put(string $key, mixed $value, int $seconds): bool
    {
        return $this->memcached->set($this->prefix . $key, $value, $this->expiration($seconds));
    }

    public function putMany(array $values, int $seconds): bool
    {
        $prefixed = [];
        foreach ($values as $key => $value) {
            $prefixed[$this->prefix . $key] = $value;
        }
        return $this->memcached->setMulti($prefixed, $this->expiration($seconds));
    }

    public function add(string $key, mixed $value, int $seconds): bool
    {
        return $this->memcached->add($this->prefix . $key, $value, $this->expiration($seconds));
    }

    public function increment(string $key, int $by = 1): int|false
    {
        return $this->memcached->increment($this->prefix . $key, $by);
    }

    public function decrement(string $key, int $by = 1): int|false
    {
        return $this->memcached->decrement($this->prefix . $key, $by);
    }

    public function forever(string $key, mixed $value): bool
    {
        return $this->put($key, $value, 0);
    }

    public function forget(string $key): bool
    {
        return $this->memcached->delete($this->prefix . $key);
    }

    public function flush(): bool
    {
        return $this->memcached->flush();
    }

    public function lock(string $name, int $seconds, string $owner): bool
    {
        return $this->memcached->add($this->prefix . "lock:$name", $owner, $seconds);
    }

    public function release(string $name, string $owner): bool
    {
        if ($this->memcached->get($this->prefix . "lock:$name") === $owner) {
            return $this->memcached->delete($this->prefix . "lock:$name");
        }
        return false;
    }

    /** Seconds as memcached wants them: over 30 days, a Unix time. */
    private function expiration(int $seconds): int
    {
        return $seconds > 60 * 60 * 24 * 30 ? time() + $seconds : $seconds;
    }
}

$servers = array_map(fn($s) => ['host' => $s[0], 'port' => $s[1], 'weight' => 100], test_servers());
$connector = new LaravelStyleConnector();
$m = $connector->connect($servers, 'laravel', [Memcached::OPT_PREFIX_KEY => 'app:']);
$store = new LaravelStyleStore($m, 'cache:');
$store->flush();
check('laravel: a miss is null', $store->get('nope') === null);
check('laravel: put and get', $store->put('user', ['id' => 7, 'roles' => ['admin']], 60)
    && $store->get('user') === ['id' => 7, 'roles' => ['admin']]);
check('laravel: an object comes back as itself', $store->put('obj', new ArrayObject([1, 2]), 60)
    && $store->get('obj') == new ArrayObject([1, 2]));
check('laravel: false is a value, found', $store->put('flag', false, 60) && $store->get('flag') === false);
check('laravel: putMany and many, in order, with misses', $store->putMany(['a' => 1, 'b' => 'two'], 60)
    && $store->many(['b', 'missing', 'a']) === ['b' => 'two', 'missing' => null, 'a' => 1], $store->many(['b', 'missing', 'a']));
check('laravel: add only once', $store->add('once', 1, 60) && !$store->add('once', 2, 60) && $store->get('once') === 1);
check('laravel: increment and decrement', $store->put('hits', 10, 60) && $store->increment('hits', 5) === 15
    && $store->decrement('hits') === 14 && $store->increment('nohits') === false);
check('laravel: forever, a long ttl, forget', $store->forever('f', 'x') && $store->put('long', 'y', 86400 * 40)
    && $store->get('long') === 'y' && $store->forget('f') && $store->get('f') === null);
check('laravel: locks', $store->lock('job', 10, 'me') && !$store->lock('job', 10, 'you')
    && !$store->release('job', 'you') && $store->release('job', 'me') && $store->lock('job', 10, 'you'));
$again = $connector->connect($servers, 'laravel', [Memcached::OPT_PREFIX_KEY => 'app:']);
check('laravel: a persistent connection id reused, servers not added again',
    !$again->isPristine() && count($again->getServerList()) === 3);
check('laravel: keys carry the prefix on the wire', in_array('app:cache:user', $m->getAllKeys() ?: [], true));

// ---- Symfony-style --------------------------------------------------------

final class SymfonyStyleAdapter
{
    private Memcached $client;

    public function __construct(array $dsns, private string $namespace = '')
    {
        $this->client = new Memcached();
        $this->client->setOptions([
            Memcached::OPT_BINARY_PROTOCOL => true,
            Memcached::OPT_NO_BLOCK => true,
            Memcached::OPT_TCP_NODELAY => true,
            Memcached::OPT_LIBKETAMA_COMPATIBLE => true,
        ]);
        $servers = [];
        foreach ($dsns as $dsn) {
            $url = parse_url($dsn);
            parse_str($url['query'] ?? '', $query);
            $servers[] = [$url['host'], $url['port'] ?? 11211, (int) ($query['weight'] ?? 0)];
        }
        $this->client->addServers($servers);
    }

    private function id(string $key): string
    {
        return $this->namespace . rawurlencode($key);
    }

    private function checkResultCode(mixed $result): mixed
    {
        $code = $this->client->getResultCode();
        if ($code === Memcached::RES_SUCCESS || $code === Memcached::RES_NOTFOUND) {
            return $result;
        }
        throw new RuntimeException('memcached client error: ' . strtolower($this->client->getResultMessage()));
    }

    public function save(array $values, int $lifetime): bool
    {
        $encoded = [];
        foreach ($values as $key => $value) {
            $encoded[$this->id($key)] = serialize($value);
        }
        return $this->checkResultCode($this->client->setMulti($encoded, $lifetime));
    }

    public function fetch(array $keys): array
    {
        $ids = array_map(fn($k) => $this->id($k), $keys);
        $found = $this->checkResultCode($this->client->getMulti($ids));
        $result = [];
        foreach ($keys as $i => $key) {
            if (isset($found[$ids[$i]])) {
                $result[$key] = unserialize($found[$ids[$i]]);
            }
        }
        return $result;
    }

    public function has(string $key): bool
    {
        return false !== $this->client->get($this->id($key))
            || $this->checkResultCode(Memcached::RES_SUCCESS === $this->client->getResultCode());
    }

    public function delete(array $keys): bool
    {
        $ok = true;
        foreach ($this->checkResultCode($this->client->deleteMulti(array_map(fn($k) => $this->id($k), $keys))) as $result) {
            if ($result !== true && $result !== Memcached::RES_SUCCESS && $result !== Memcached::RES_NOTFOUND) {
                $ok = false;
            }
        }
        return $ok;
    }

    public function clear(): bool
    {
        return $this->checkResultCode($this->client->flush());
    }
}

$dsns = array_map(fn($s) => "memcached://{$s[0]}:{$s[1]}?weight=10", test_servers());
$adapter = new SymfonyStyleAdapter($dsns, 'sf:');
check('symfony: save several with a lifetime', $adapter->save(['a b' => [1, 2], 'c' => 'd', 'n' => null], 60));
check('symfony: fetch what is there', $adapter->fetch(['a b', 'c', 'n', 'gone']) === ['a b' => [1, 2], 'c' => 'd', 'n' => null]);
check('symfony: has', $adapter->has('c') && !$adapter->has('gone'));
check('symfony: delete, missing keys included', $adapter->delete(['c', 'gone']) && !$adapter->has('c'));
check('symfony: clear', $adapter->clear() && $adapter->fetch(['a b']) === []);
$down = new SymfonyStyleAdapter(['memcached://' . getenv('MCRING_TEST_CLOSED')]);
try {
    $down->save(['k' => 1], 60);
    check('symfony: a failure is an exception with the message', false);
} catch (RuntimeException $e) {
    check('symfony: a failure is an exception with the message', str_contains($e->getMessage(), 'connection failure'),
        $e->getMessage());
}

// ---- exceptions and the session handler name --------------------------------

check('\MemcachedException is McRing\MemcachedException', (new MemcachedException('x')) instanceof McRing\MemcachedException
    && (new MemcachedException('x')) instanceof RuntimeException);
check('php-memcached\'s ini names are there', ini_get('memcached.sess_prefix') === 'memc.sess.key.'
    && ini_get('memcached.serializer') === 'php');
