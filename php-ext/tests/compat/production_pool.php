<?php
/*
 * A production pool class of the kind php-memcached users run, unchanged:
 * a persistent pool configured once per worker, weight-25 servers,
 * libketama placement, failure handling, timeouts, no compression, the
 * binary protocol, and getStats() for a health page. Placement is compared
 * with php-memcached's, computed by the parent test (MCRING_EXPECTED_PLACEMENT).
 */
include __DIR__ . '/common.inc';

final class CachePool
{
    private Memcached $memcached;

    public function __construct(array $servers, string $pool = 'production_pool')
    {
        $this->memcached = new Memcached($pool);
        if (!$this->memcached->getServerList()) {
            $this->memcached->setOptions([
                Memcached::OPT_LIBKETAMA_COMPATIBLE => true,
                Memcached::OPT_DISTRIBUTION => Memcached::DISTRIBUTION_CONSISTENT,
                Memcached::OPT_SERVER_FAILURE_LIMIT => 2,
                Memcached::OPT_REMOVE_FAILED_SERVERS => true,
                Memcached::OPT_RETRY_TIMEOUT => 1,
                Memcached::OPT_CONNECT_TIMEOUT => 100,
                Memcached::OPT_SEND_TIMEOUT => 300000,
                Memcached::OPT_RECV_TIMEOUT => 300000,
                Memcached::OPT_POLL_TIMEOUT => 300,
                Memcached::OPT_COMPRESSION => false,
                Memcached::OPT_BINARY_PROTOCOL => true,
            ]);
            $this->memcached->addServers(array_map(fn($s) => [$s[0], $s[1], 25], $servers));
        }
    }

    public function remember(string $key, int $ttl, callable $compute): mixed
    {
        $value = $this->memcached->get($key);
        if ($this->memcached->getResultCode() === Memcached::RES_NOTFOUND) {
            $value = $compute();
            $this->memcached->set($key, $value, $ttl);
        }
        return $value;
    }

    public function client(): Memcached
    {
        return $this->memcached;
    }

    public function health(): array
    {
        $report = [];
        foreach ($this->memcached->getStats() as $server => $stats) {
            $report[$server] = $stats['curr_connections'] > 0 && $stats['uptime'] > 0;
        }
        return $report;
    }
}

check('\Memcached is McRing\Memcached', (new ReflectionClass('Memcached'))->getName() === 'McRing\Memcached'
    && !extension_loaded('memcached'));
$pool = new CachePool(test_servers());
$m = $pool->client();
check('a new pool', $m->isPersistent() && $m->isPristine());
$calls = 0;
$v1 = $pool->remember('user:1', 60, function () use (&$calls) { $calls++; return ['id' => 1, 'name' => 'Ada']; });
$v2 = $pool->remember('user:1', 60, function () use (&$calls) { $calls++; return null; });
check('remember computes once', $calls === 1 && $v1 === $v2 && $v2 === ['id' => 1, 'name' => 'Ada']);
check('getStats of every server', count($pool->health()) === 3 && !in_array(false, $pool->health(), true), $pool->health());
check('options as set', $m->getOption(Memcached::OPT_LIBKETAMA_COMPATIBLE) === 1
    && $m->getOption(Memcached::OPT_BINARY_PROTOCOL) === 1 && $m->getOption(Memcached::OPT_COMPRESSION) === false);

// The same pool object again (the next request of the worker): nothing added twice.
$again = new CachePool(test_servers());
check('the pool is reused as it is', !$again->client()->isPristine() && count($again->client()->getServerList()) === 3);

// Placement: php-memcached's, for the same servers and options.
$expected = json_decode((string) getenv('MCRING_EXPECTED_PLACEMENT'), true);
$mismatch = 0;
foreach ($expected as $key => $server) {
    $s = $m->getServerByKey($key);
    $mismatch += ($s['host'] . ':' . $s['port']) === $server ? 0 : 1;
}
check('placement equals php-memcached\'s', $mismatch === 0 && count($expected) >= 200, [$mismatch, count($expected)]);
// And the keys are stored there.
$one = [];
foreach (test_servers() as [$host, $port]) {
    $c = new Memcached();
    $c->addServer($host, $port);
    $one["$host:$port"] = $c;
}
$wrong = 0;
foreach (array_slice($expected, 0, 50, true) as $key => $server) {
    $m->set($key, 'here');
    $wrong += $one[$server]->get($key) === 'here' ? 0 : 1;
}
check('keys are stored on that server', $wrong === 0, $wrong);
