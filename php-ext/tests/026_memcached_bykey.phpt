--TEST--
McRing\Memcached *ByKey family, increments with an initial value, OPT_NOREPLY and getAllKeys, side by side with php-memcached
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--FILE--
<?php
include 'memcached.inc';

/** Which test server holds $key, read over plain sockets (or null). */
function holder(string $key): ?string
{
    foreach (mcring_test_servers() as $server) {
        $s = stream_socket_client("tcp://$server");
        fwrite($s, "get $key\r\n");
        $line = fgets($s);
        fclose($s);
        if (str_starts_with($line, 'VALUE')) {
            return $server;
        }
    }
    return null;
}

// Every *ByKey command places its keys by the server key, as libmemcached
// does (the server key hashed, the prefix not); both clients put them on
// the same server, with the same results and bytes.
foreach (['modula' => [], 'libketama' => [Memcached::OPT_LIBKETAMA_COMPATIBLE => true],
    'libketama, prefix' => [Memcached::OPT_LIBKETAMA_COMPATIBLE => true, Memcached::OPT_PREFIX_KEY => 'bk:']] as $name => $options) {
    $prefix = $options[Memcached::OPT_PREFIX_KEY] ?? '';
    $keys = array_map(fn($i) => mc_key("bykey$i"), range(0, 11));
    mc_same("*ByKey: $name", function ($m) use ($keys, $prefix) {
        $o = [];
        foreach (['user:1', 'user:2', 'group:x'] as $j => $sk) {
            [$a, $b, $c, $d] = array_slice($keys, $j * 4, 4);
            $o[] = mc_obs($m, $m->setByKey($sk, $a, 'one', 100));
            $o[] = mc_obs($m, $m->getByKey($sk, $a));
            $o[] = mc_obs($m, $m->addByKey($sk, $a, 'again'));
            $o[] = mc_obs($m, $m->addByKey($sk, $b, 2));
            $o[] = mc_obs($m, $m->replaceByKey($sk, $b, 3));
            $o[] = mc_obs($m, $m->incrementByKey($sk, $b, 4));
            $o[] = mc_obs($m, $m->decrementByKey($sk, $b, 1));
            $o[] = mc_obs($m, $m->touchByKey($sk, $a, 50));
            $x = $m->getByKey($sk, $a, null, Memcached::GET_EXTENDED);
            $o[] = mc_obs($m, $m->casByKey($x['cas'], $sk, $a, 'swapped'));
            $o[] = mc_obs($m, $m->setMultiByKey($sk, [$c => [1, 2], $d => 'd'], 100));
            $got = $m->getMultiByKey($sk, [$a, $b, $c, $d, mc_key('none')]);
            ksort($got);
            $o[] = [$got, $m->getResultCode()];
            $o[] = mc_obs($m, $m->getMultiByKey($sk, [$d, $a], Memcached::GET_PRESERVE_ORDER));
            // Where the keys are: the server the server key names.
            $s = $m->getServerByKey($sk);
            $where = $s['host'] . ':' . $s['port'];
            $o[] = array_map(fn($k) => holder($prefix . $k) === $where, [$a, $b, $c, $d]);
            $o[] = mc_obs($m, $m->deleteByKey($sk, $d));
            $o[] = mc_obs($m, $m->deleteMultiByKey($sk, [$c, $d]));
        }
        $o[] = mc_obs($m, $m->getDelayedByKey('user:1', [$keys[0], $keys[1]]));
        $all = $m->fetchAll();
        usort($all, fn($x, $y) => strcmp($x['key'], $y['key']));
        $o[] = $all;
        return $o;
    }, $options + [Memcached::OPT_COMPRESSION => false], $keys, $prefix);
}

// append and prepend by key.
$k = mc_key('bk-append');
mc_same('appendByKey and prependByKey', function ($m) use ($k) {
    $m->setByKey('srv', $k, 'mid');
    return [mc_obs($m, $m->appendByKey('srv', $k, '>')), mc_obs($m, $m->prependByKey('srv', $k, '<')),
        mc_obs($m, $m->getByKey('srv', $k))];
}, [Memcached::OPT_COMPRESSION => false], [$k]);

// increment and decrement with an initial value: php-memcached needs the
// binary protocol for it; mcring uses meta arithmetic (ma N J) with either.
$n = mc_key('counter');
$r = mc_same('increment and decrement with an initial value (binary protocol)', function ($m) use ($n) {
    return [
        mc_obs($m, $m->increment($n, 1, 10)), mc_obs($m, $m->increment($n, 5, 10)),
        mc_obs($m, $m->decrement($n, 100, 10)), mc_obs($m, $m->get($n)),
        mc_obs($m, $m->decrement(mc_key('c2'), 1, 7, 100)),
        mc_obs($m, $m->incrementByKey('sk', mc_key('c3'), 2, 20)),
        mc_obs($m, $m->decrementByKey('sk', mc_key('c3'), 3, 20)),
    ];
}, [Memcached::OPT_BINARY_PROTOCOL => true], [$n, mc_key('c2'), mc_key('c3')]);
$m = mc_new('McRing\Memcached');
mc_forget([$n]);
check('an initial value in text protocol mode too', $m->increment($n, 1, 42, 100) === 42 && $m->increment($n, 1, 42) === 43);

// OPT_NOREPLY: writes go out without waiting for their replies and are there
// once a later request (on the same connections) has an answer.
$keys = array_map(fn($i) => mc_key("noreply$i"), range(0, 9));
mc_same('OPT_NOREPLY', function ($m) use ($keys) {
    $o = [];
    foreach ($keys as $i => $k) {
        $o[] = mc_obs($m, $m->set($k, $i));
    }
    $o[] = mc_obs($m, $m->add($keys[0], 'not stored, nobody waits to hear it'));
    $o[] = mc_obs($m, $m->setMulti([$keys[8] => 'eight', $keys[9] => 'nine']));
    $o[] = mc_obs($m, $m->delete($keys[1]));
    $o[] = mc_obs($m, $m->touch($keys[2], 100));
    $o[] = mc_obs($m, $m->deleteMulti([$keys[3], $keys[4], mc_key('noreply-never-stored')]));
    usleep(100000);
    $m->setOption(Memcached::OPT_NOREPLY, false);
    $got = $m->getMulti($keys);
    ksort($got);
    $o[] = $got;
    return $o;
}, [Memcached::OPT_NOREPLY => true], $keys);

// getAllKeys: the keys on every server, as stored (with the prefix).
$m = mc_new('McRing\Memcached', [Memcached::OPT_PREFIX_KEY => 'all:']);
$mine = array_map(fn($i) => mc_key("allkeys$i"), range(0, 19));
foreach ($mine as $k) {
    $m->set($k, 1);
}
$all = $m->getAllKeys();
check('getAllKeys', is_array($all) && $m->getResultCode() === 0
    && array_diff(array_map(fn($k) => "all:$k", $mine), $all) === [], [$m->getResultCode(), is_array($all) ? count($all) : $all]);
?>
--EXPECT--
ok *ByKey: modula
ok *ByKey: libketama
ok *ByKey: libketama, prefix
ok appendByKey and prependByKey
ok increment and decrement with an initial value (binary protocol)
ok an initial value in text protocol mode too
ok OPT_NOREPLY
ok getAllKeys
