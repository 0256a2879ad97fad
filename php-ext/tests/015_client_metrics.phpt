--TEST--
getClientStats(): outcome counters and latency histograms per server and command class
--SKIPIF--
<?php include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';
$servers = mcring_test_servers();
$c = mcring_test_client();
for ($i = 0; $i < 10; $i++) {
    $c->set("k$i", $i);
}
$c->add('k0', 'again');
$c->get('k1');
$c->get('nope');
$c->getMulti(['k1', 'k2', 'k3', 'none']);
$c->delete('k9');
$c->increment('k5');
$c->touch('k1', 60);
$s = $c->getClientStats();

check('keys', array_keys($s) === ['total', 'servers', 'latency', 'hot_keys']
    && array_keys($s['latency']) === $servers && $s['hot_keys'] === [], array_keys($s));
check('outcomes', $s['total']['stored'] === 10 && $s['total']['not_stored'] === 1
    && $s['total']['hits'] === 4 && $s['total']['misses'] === 2 && $s['total']['errors'] === 0, $s['total']);

$classes = ['get', 'get_multi', 'store', 'delete', 'arith', 'touch', 'meta'];
$count = fn(string $class) => array_sum(array_map(fn($l) => $l[$class]['count'], $s['latency']));
check('classes', array_keys($s['latency'][$servers[0]]) === $classes);
check('one observation per request', $count('store') === 11 && $count('get') === 2 && $count('delete') === 1
    && $count('arith') === 1 && $count('touch') === 1 && $count('meta') === 0,
    array_map($count, array_combine($classes, $classes)));
check('multi-get: once per server asked', $count('get_multi') >= 1 && $count('get_multi') <= count($servers));

$ok = true;
foreach ($s['latency'] as $server => $by_class) {
    foreach ($by_class as $class => $h) {
        $b = $h['buckets'];
        $counts = array_column($b, 1);
        $sorted = $counts;
        sort($sorted);
        $ok = $ok && count($b) === 20 && $b[0][0] === 1.0E-5 && $b[18][0] === 10.0 && is_infinite($b[19][0])
            && $counts === $sorted && $b[19][1] === $h['count'] && is_float($h['sum'])
            && ($h['count'] === 0) === ($h['sum'] == 0.0) && $h['sum'] < max(1, $h['count']);
    }
}
check('histograms: 20 cumulative buckets in seconds, count and sum agree', $ok, $s['latency'][$servers[0]]['store']);
?>
--EXPECT--
ok keys
ok outcomes
ok classes
ok one observation per request
ok multi-get: once per server asked
ok histograms: 20 cumulative buckets in seconds, count and sum agree
