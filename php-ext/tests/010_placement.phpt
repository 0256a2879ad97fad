--TEST--
getServerByKey equals php-memcached's with OPT_LIBKETAMA_COMPATIBLE; keys are stored there
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--CONFLICTS--
all
--FILE--
<?php
include 'config.inc';

/** php-memcached's placement for the same list ("host:port[:weight]"). */
function memcached_for(array $list): Memcached
{
    $m = new Memcached();
    $m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
    $servers = [];
    foreach ($list as $s) {
        $parts = explode(':', $s);
        $servers[] = [$parts[0], (int) ($parts[1] ?? 11211), (int) ($parts[2] ?? 1)];
    }
    $m->addServers($servers);
    return $m;
}

// Computed only: none of these is contacted (loopback addresses all the
// same, in case a client did dial).
$lists = [
    'three equal' => ['127.0.0.1:11211', '127.0.0.2:11211', '127.0.0.3:11211'],
    'ports and weights' => ['127.0.0.1:11211:3', '127.0.0.1:11212:1', '127.0.0.1:22122:2', '127.0.0.4:11213:5'],
    'twelve' => array_map(fn($i) => "127.0.1.$i:" . (11211 + $i % 3), range(1, 12)),
    'default port omitted' => ['127.0.0.5', '127.0.0.6:11211', 'localhost:11300'],
    'one server' => ['127.0.0.9:11211'],
];
foreach ($lists as $name => $list) {
    $mc = new McRing\Client($list);
    $m = memcached_for($list);
    $mismatches = 0;
    $used = [];
    for ($i = 0; $i < 2000; $i++) {
        $key = $i % 2 ? "user:$i:profile" : substr(md5((string) $i), 0, 1 + $i % 32);
        $ours = $mc->getServerByKey($key);
        $theirs = $m->getServerByKey($key);
        if ($ours['host'] !== $theirs['host'] || $ours['port'] !== $theirs['port']) {
            $mismatches++;
        }
        $used[$ours['host'] . ':' . $ours['port']] = true;
    }
    check("$name: 2000 keys, every server used", $mismatches === 0 && count($used) === count($list), [$mismatches, count($used)]);
}
// php-memcached reports weight 0; mcring the configured weight.
$m = memcached_for(['127.0.0.1:11211:3']);
check('weights', (new McRing\Client(['127.0.0.1:11211:3']))->getServerByKey('k') === ['host' => '127.0.0.1', 'port' => 11211, 'weight' => 3]
    && $m->getServerByKey('k')['weight'] === 0);

// Neither client dials for placement: a live server's connection count does not
// move (the test runs alone, --CONFLICTS-- all, so no other test connects).
$servers = mcring_test_servers();
$total = fn() => (int) mcring_test_server_stats($servers[0])['total_connections'];
$before = $total();
$mc = new McRing\Client($servers);
$m = memcached_for($servers);
for ($i = 0; $i < 100; $i++) {
    $mc->getServerByKey("k$i");
    $m->getServerByKey("k$i");
}
check('getServerByKey makes no connection', $total() === $before + 1, [$before, $total()]); // +1: the stats probe itself

// On the real ring, each key is stored on the server both clients name.
$mc = mcring_test_client(['prefix' => '']);
$m = memcached_for($servers);
$single = [];
foreach ($servers as $s) {
    $single[$s] = new McRing\Client([$s]);
}
$p = 'placed:' . getmypid() . ':';
$wrong = 0;
for ($i = 0; $i < 300; $i++) {
    $key = $p . $i;
    $mc->set($key, $i);
    $at = $mc->getServerByKey($key);
    $name = $at['host'] . ':' . $at['port'];
    $theirs = $m->getServerByKey($key);
    foreach ($single as $s => $client) {
        $found = $client->get($key) === $i;
        if ($found !== ($s === $name) || $theirs['port'] !== $at['port']) {
            $wrong++;
        }
    }
}
check('300 keys stored exactly where getServerByKey says', $wrong === 0, $wrong);
?>
--EXPECT--
ok three equal: 2000 keys, every server used
ok ports and weights: 2000 keys, every server used
ok twelve: 2000 keys, every server used
ok default port omitted: 2000 keys, every server used
ok one server: 2000 keys, every server used
ok weights
ok getServerByKey makes no connection
ok 300 keys stored exactly where getServerByKey says
