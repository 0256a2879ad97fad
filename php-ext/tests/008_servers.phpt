--TEST--
Server methods: server list, stats, versions, health, client counters, flush
--SKIPIF--
<?php include 'skipif.inc'; ?>
--CONFLICTS--
all
--FILE--
<?php
include 'config.inc';
$servers = mcring_test_servers();
$c = mcring_test_client();

$list = $c->getServerList();
$expected = [];
foreach ($servers as $s) {
    [$host, $port] = explode(':', $s);
    $expected[] = ['host' => $host, 'port' => (int) $port, 'weight' => 1];
}
check('getServerList', $list === $expected, $list);
$weighted = new McRing\Client(["$servers[0]:5", '/tmp/mcring-test.sock:2']);
check('weights and unix sockets', $weighted->getServerList() === [
    ['host' => explode(':', $servers[0])[0], 'port' => (int) explode(':', $servers[0])[1], 'weight' => 5],
    ['host' => '/tmp/mcring-test.sock', 'port' => 0, 'weight' => 2],
]);

$stats = $c->getStats();
check('getStats: one entry per server', array_keys($stats) === $servers, array_keys($stats));
$first = $stats[$servers[0]];
check('getStats: numbers as ints, versions as strings', is_int($first['pid']) && is_int($first['curr_connections'])
    && is_string($first['version']) && is_float($first['rusage_user']), $first);
$settings = $c->getStats('settings');
check('getStats(settings)', isset($settings[$servers[0]]['maxconns']) && $c->getResultCode() === 0);
try {
    $c->getStats("a\0b");
    check('NUL in the stats group', false);
} catch (ValueError $e) {
    check('NUL in the stats group', true);
}
check('getStats of a group with a space', $c->getStats('a b') === [] && $c->getResultCode() === McRing\Client::RES_BAD_VALUE);

$versions = $c->getVersion();
check('getVersion', array_keys($versions) === $servers && preg_match('/^\d+\.\d+\.\d+/', $versions[$servers[0]]) === 1, $versions);

$health = $c->getHealth();
check('getHealth', array_keys($health) === $servers && $health[$servers[1]]['alive'] === true
    && $health[$servers[1]]['result_code'] === 0 && is_int($health[$servers[1]]['latency_us'])
    && $health[$servers[1]]['error'] === '', $health);

$down = new McRing\Client([$servers[0], mcring_test_closed()], ['connect_timeout_ms' => 500]);
$h = $down->getHealth();
check('getHealth reports a closed port', $h[$servers[0]]['alive'] === true && $h[mcring_test_closed()]['alive'] === false
    && $h[mcring_test_closed()]['result_code'] === McRing\Client::RES_CONNECTION_ERROR && $h[mcring_test_closed()]['error'] !== ''
    && $down->getResultCode() === McRing\Client::RES_CONNECTION_ERROR, $h);
$v = $down->getVersion();
check('getVersion: false for a server down', is_string($v[$servers[0]]) && $v[mcring_test_closed()] === false, $v);
check('getStats leaves out a server down', array_keys($down->getStats()) === [$servers[0]]);

$fresh = mcring_test_client();
$before = $fresh->getClientStats();
$fresh->set('a', 1);
$fresh->get('a');
$fresh->get('b');
$fresh->getMulti(['a', 'b', 'c']);
$fresh->delete('a');
$after = $fresh->getClientStats();
$names = ['gets', 'hits', 'misses', 'sets', 'deletes', 'errors', 'timeouts', 'bytes_read', 'bytes_written',
    'connects', 'replica_write_failures', 'failovers', 'read_repairs', 'noreply_errors', 'stored_elsewhere',
    'invalidations', 'invalidations_dropped', 'flush_refused', 'reconnects', 'lease_wins', 'lease_waits',
    'stale_hits', 'lease_fills', 'lease_fills_lost', 'lease_releases', 'near_cache_hits', 'tls_handshakes',
    'tls_resumptions', 'stored', 'not_stored', 'connection_errors', 'protocol_errors', 'server_errors',
    'too_large', 'migrated_keys', 'warmup_hits'];
check('getClientStats names', array_keys($after['total']) === $names && array_keys($after['servers']) === $servers);
$d = fn($k) => $after['total'][$k] - $before['total'][$k];
check('getClientStats counts', $d('gets') === 5 && $d('hits') === 2 && $d('misses') === 3 && $d('sets') === 1
    && $d('deletes') === 1 && $d('errors') === 0, $after['total']);

check('flush', $c->set('f', 1) && $c->flush() && $c->get('f') === false);
check('flush with a delay', $c->set('f', 1) && $c->flush(100) && $c->get('f') === 1 && $c->flush());
?>
--EXPECT--
ok getServerList
ok weights and unix sockets
ok getStats: one entry per server
ok getStats: numbers as ints, versions as strings
ok getStats(settings)
ok NUL in the stats group
ok getStats of a group with a space
ok getVersion
ok getHealth
ok getHealth reports a closed port
ok getVersion: false for a server down
ok getStats leaves out a server down
ok getClientStats names
ok getClientStats counts
ok flush
ok flush with a delay
