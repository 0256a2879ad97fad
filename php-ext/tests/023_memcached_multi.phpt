--TEST--
McRing\Memcached multi-key commands side by side with php-memcached: getMulti and its flags, setMulti, deleteMulti, getDelayed, fetch, fetchAll
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--FILE--
<?php
include 'memcached.inc';

$items = [];
for ($i = 0; $i < 60; $i++) {
    $items[mc_key("m$i")] = $i % 3 ? "value $i" : [$i, 'x' => $i / 2];
}
$items[12345] = 'an int key';
$keys = array_keys($items);
$stored = array_map('strval', $keys);
$missing = [mc_key('absent1'), mc_key('absent2')];

/** An array sorted by key, for results whose order is the servers'. */
function sorted(array|false $a): array|false
{
    if (is_array($a)) {
        ksort($a, SORT_STRING);
    }
    return $a;
}

mc_same('setMulti, then getMulti of hits and misses', function ($m) use ($items, $keys, $missing) {
    return [
        mc_obs($m, $m->setMulti($items, 100)),
        mc_obs($m, sorted($m->getMulti(array_merge($keys, $missing)))),
        mc_obs($m, $m->getMulti($missing)),
        mc_obs($m, $m->getMulti([])),
    ];
}, [], $stored);

mc_same('GET_PRESERVE_ORDER', function ($m) use ($items, $keys, $missing) {
    $m->setMulti($items);
    $order = array_merge([$missing[0]], array_reverse($keys), [$missing[1]]);
    return [mc_obs($m, $m->getMulti($order, Memcached::GET_PRESERVE_ORDER))];
}, [], $stored);

mc_same('GET_EXTENDED', function ($m) use ($items, $keys) {
    $m->setMulti($items);
    $got = $m->getMulti(array_slice($keys, 0, 5), Memcached::GET_EXTENDED);
    $shape = array_map(fn($e) => [array_keys($e), $e['value'], is_int($e['cas']), $e['flags']], $got);
    return [sorted($shape), $m->getResultCode()];
}, [], $stored);

mc_same('getMulti keys that are empty, too long, or hold a space', function ($m) use ($items, $keys) {
    $m->setMulti($items);
    return [
        mc_obs($m, $m->getMulti(['', str_repeat('x', 251)])),
        mc_obs($m, sorted($m->getMulti(['', $keys[0], str_repeat('x', 251), 'has space', $keys[1]]))),
        mc_obs($m, $m->getMulti(['', $keys[0], 'has space'], Memcached::GET_PRESERVE_ORDER)),
    ];
}, [], $stored);

mc_same('deleteMulti', function ($m) use ($items, $keys, $missing) {
    $m->setMulti($items);
    return [
        mc_obs($m, $m->deleteMulti(array_merge(array_slice($keys, 0, 3), $missing, ['']))),
        mc_obs($m, $m->deleteMulti([$keys[5], $missing[0]])),
        mc_obs($m, $m->deleteMulti([$keys[6], $keys[7]])),
        mc_obs($m, $m->deleteMulti([$keys[8]], 10)),
        mc_obs($m, sorted($m->getMulti(array_slice($keys, 0, 9)))),
    ];
}, [], $stored);

mc_same('getDelayed, fetch, fetchAll', function ($m) use ($items, $keys, $missing) {
    $m->setMulti($items);
    $o = [mc_obs($m, $m->getDelayed(array_merge(array_slice($keys, 0, 6), $missing)))];
    $first = $m->fetch();
    $o[] = [array_keys($first), $m->getResultCode()];
    $rest = $m->fetchAll();
    $all = array_merge([$first], $rest);
    usort($all, fn($a, $b) => strcmp($a['key'], $b['key']));
    $o[] = [$all, $m->getResultCode()];
    $o[] = mc_obs($m, $m->fetch());
    $o[] = mc_obs($m, $m->fetchAll());
    $o[] = mc_obs($m, $m->getDelayed(['', str_repeat('y', 300)]));
    return $o;
}, [], $stored);

mc_same('getDelayed with CAS tokens and a callback', function ($m) use ($items, $keys) {
    $m->setMulti($items);
    $seen = [];
    $ok = $m->getDelayed(array_slice($keys, 0, 4), true, function ($memc, $result) use (&$seen, $m) {
        $seen[] = [$memc === $m, array_keys($result), $result['key'], $result['value'], is_int($result['cas'])];
    });
    usort($seen, fn($a, $b) => strcmp($a[2], $b[2]));
    return [$ok, $m->getResultCode(), $seen, mc_obs($m, $m->fetch())];
}, [], $stored);

mc_same('setMulti with an empty key last', function ($m) {
    return [mc_obs($m, $m->setMulti([mc_key('fine') => 3, '' => 1])), mc_obs($m, $m->get(mc_key('fine')))];
}, [], [mc_key('fine')]);
// php-memcached's setMulti reports only the last item's result; mcring's
// fails when any item failed.
$ours = mc_new('McRing\Memcached');
check('setMulti fails when an item other than the last failed',
    $ours->setMulti(['' => 1, mc_key('fine2') => 2]) === false
    && $ours->getResultCode() === Memcached::RES_BAD_KEY_PROVIDED && $ours->get(mc_key('fine2')) === 2);

mc_same('setMulti and getMulti with a prefix', function ($m) use ($items, $keys) {
    return [mc_obs($m, $m->setMulti(array_slice($items, 0, 10))),
        mc_obs($m, sorted($m->getMulti(array_slice($keys, 0, 10))))];
}, [Memcached::OPT_PREFIX_KEY => 'pfx:'], array_slice($stored, 0, 10), 'pfx:');
?>
--EXPECT--
ok setMulti, then getMulti of hits and misses
ok GET_PRESERVE_ORDER
ok GET_EXTENDED
ok getMulti keys that are empty, too long, or hold a space
ok deleteMulti
ok getDelayed, fetch, fetchAll
ok getDelayed with CAS tokens and a callback
ok setMulti with an empty key last
ok setMulti fails when an item other than the last failed
ok setMulti and getMulti with a prefix
