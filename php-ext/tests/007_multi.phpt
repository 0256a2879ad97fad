--TEST--
getMulti, setMulti, deleteMulti over three servers
--SKIPIF--
<?php include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';
$c = mcring_test_client();

$items = [];
for ($i = 0; $i < 100; $i++) {
    $items["k$i"] = $i % 3 === 0 ? "s$i" : ($i % 3 === 1 ? $i : ['i' => $i]);
}
check('setMulti', $c->setMulti($items) && $c->getResultCode() === 0);
// The keys are spread over every server.
$servers = [];
foreach (array_keys($items) as $key) {
    $servers[$c->getServerByKey($key)['port']] = true;
}
check('keys on three servers', count($servers) === 3);

$keys = array_merge(['missing1'], array_reverse(array_keys($items)), ['missing2']);
$got = $c->getMulti($keys);
check('getMulti finds every stored key', count($got) === 100 && $c->getResultCode() === 0);
check('getMulti keeps the order of the keys', array_keys($got) === array_reverse(array_keys($items)));
check('getMulti values', $got == $items);
check('getMulti leaves out misses', !array_key_exists('missing1', $got));

check('empty getMulti', $c->getMulti([]) === [] && $c->getResultCode() === 0);
check('integer keys', $c->setMulti([7 => 'seven', '8' => 'eight']) && $c->getMulti([7, '8']) === [7 => 'seven', 8 => 'eight']);
check('a key asked twice', $c->getMulti(['k0', 'k0']) === ['k0' => 's0']);
check('setMulti with a ttl', $c->setMulti(['t1' => 1, 't2' => 2], 100) && $c->get('t2') === 2);
check('setMulti with an expired ttl', $c->setMulti(['e1' => 1], time() - 10) && $c->get('e1') === false);
check('empty setMulti', $c->setMulti([]) === true);

$deleted = $c->deleteMulti(['k1', 'k2', 'nothere']);
check('deleteMulti', $deleted === ['k1' => true, 'k2' => true, 'nothere' => McRing\Client::RES_NOTFOUND], $deleted);
check('deleted keys are gone', $c->getMulti(['k1', 'k2', 'k3']) === ['k3' => $items['k3']]);
check('empty deleteMulti', $c->deleteMulti([]) === []);

// A bad key fails the whole call.
$bad = $c->getMulti(['k0', 'bad key']);
check('getMulti with a bad key', $bad === [] && $c->getResultCode() === McRing\Client::RES_BAD_KEY, [$bad, $c->getResultMessage()]);
$bad = $c->deleteMulti(['k0', 'bad key']);
check('deleteMulti with a bad key', $bad === ['k0' => McRing\Client::RES_BAD_KEY, 'bad key' => McRing\Client::RES_BAD_KEY] && $c->get('k0') === 's0');

// A value that cannot be read is left out and named by the result.
$plain = mcring_test_client(['prefix' => '']);
$php = mcring_test_client(['prefix' => '', 'serializer' => 'php']);
$p = 'multi:' . getmypid() . ':';
$php->set($p . 'ser', [1]);
$plain->set($p . 'ok', 'fine');
$got = $plain->getMulti([$p . 'ser', $p . 'ok']);
check('unreadable value left out', $got === [$p . 'ok' => 'fine'] && $plain->getResultCode() === McRing\Client::RES_BAD_VALUE);

// Bytes libmcring cannot decode (compressed flags over garbage).
$at = $plain->getServerByKey($p . 'corrupt');
mcring_test_raw_set($at['host'] . ':' . $at['port'], $p . 'corrupt', 0x30, 'not zlib at all');
$got = $plain->getMulti([$p . 'ok', $p . 'corrupt']);
check('corrupt value left out', $got === [$p . 'ok' => 'fine'] && $plain->getResultCode() === McRing\Client::RES_BAD_VALUE
    && str_contains($plain->getResultMessage(), $p . 'corrupt'), $plain->getResultMessage());
check('corrupt value with get', $plain->get($p . 'corrupt') === false && $plain->getResultCode() === McRing\Client::RES_BAD_VALUE);

try {
    $c->getMulti([['nested']]);
    check('keys of another type', false);
} catch (TypeError $e) {
    check('keys of another type', str_contains($e->getMessage(), 'must contain only string keys, array found'));
}
?>
--EXPECT--
ok setMulti
ok keys on three servers
ok getMulti finds every stored key
ok getMulti keeps the order of the keys
ok getMulti values
ok getMulti leaves out misses
ok empty getMulti
ok integer keys
ok a key asked twice
ok setMulti with a ttl
ok setMulti with an expired ttl
ok empty setMulti
ok deleteMulti
ok deleted keys are gone
ok empty deleteMulti
ok getMulti with a bad key
ok deleteMulti with a bad key
ok unreadable value left out
ok corrupt value left out
ok corrupt value with get
ok keys of another type
