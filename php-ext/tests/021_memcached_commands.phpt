--TEST--
McRing\Memcached single-key commands side by side with php-memcached: return values, result codes, stored bytes and flags
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--FILE--
<?php
include 'memcached.inc';
$k = mc_key('k');
$n = mc_key('n');
$s = mc_key('s');

mc_same('get of a miss, set, get, GET_EXTENDED', function ($m) use ($k) {
    $o = [mc_obs($m, $m->get($k)), mc_obs($m, $m->set($k, 'one', 100)), mc_obs($m, $m->get($k))];
    $x = $m->get($k, null, Memcached::GET_EXTENDED);
    $o[] = [array_keys($x), $x['value'], is_int($x['cas']) && $x['cas'] > 0, $x['flags'], $m->getResultCode()];
    return $o;
}, keys: [$k]);

mc_same('add and replace', function ($m) use ($k) {
    return [
        mc_obs($m, $m->replace($k, 'x')), mc_obs($m, $m->add($k, 'first')),
        mc_obs($m, $m->add($k, 'second')), mc_obs($m, $m->replace($k, 'third')), mc_obs($m, $m->get($k)),
    ];
}, keys: [$k]);

mc_same('append and prepend refused while compression is on', function ($m) use ($k) {
    $m->set($k, 'mid');
    return [mc_obs($m, @$m->append($k, '>')), mc_obs($m, @$m->prepend($k, '<')), mc_obs($m, $m->get($k))];
}, keys: [$k]);

mc_same('append and prepend without compression', function ($m) use ($k) {
    $m->set($k, 'mid');
    return [
        mc_obs($m, $m->append($k, '>')), mc_obs($m, $m->prepend($k, '<')), mc_obs($m, $m->get($k)),
        mc_obs($m, $m->append(mc_key('nope'), 'x')),
    ];
}, [Memcached::OPT_COMPRESSION => false], [$k]);

mc_same('delete', function ($m) use ($k) {
    $m->set($k, 1);
    return [mc_obs($m, $m->delete($k)), mc_obs($m, $m->delete($k)), mc_obs($m, $m->get($k)),
        mc_obs($m, $m->delete($k, 10))];
}, keys: [$k]);

mc_same('increment and decrement', function ($m) use ($n, $s) {
    return [
        mc_obs($m, $m->increment($n)), mc_obs($m, $m->decrement($n)),
        mc_obs($m, $m->set($n, 10)), mc_obs($m, $m->increment($n)), mc_obs($m, $m->increment($n, 5)),
        mc_obs($m, $m->decrement($n, 3)), mc_obs($m, $m->decrement($n, 100)), mc_obs($m, $m->get($n)),
        mc_obs($m, @$m->increment($n, -1)),
        mc_obs($m, $m->set($s, 'text')), mc_obs($m, $m->increment($s)),
        mc_obs($m, $m->set($n, PHP_INT_MAX)), mc_obs($m, $m->increment($n)),
    ];
}, keys: [$n, $s]);

mc_same('touch', function ($m) use ($k) {
    return [mc_obs($m, $m->touch($k, 10)), mc_obs($m, $m->set($k, 'x', 1)), mc_obs($m, $m->touch($k, 0)),
        mc_obs($m, $m->get($k))];
}, keys: [$k]);

mc_same('expired values', function ($m) use ($k) {
    return [mc_obs($m, $m->set($k, 'x', time() - 10)), mc_obs($m, $m->get($k))];
}, keys: [$k]);

mc_same('cas', function ($m) use ($k) {
    $m->set($k, 'a');
    $x = $m->get($k, null, Memcached::GET_EXTENDED);
    return [
        mc_obs($m, $m->cas($x['cas'], $k, 'swapped')), mc_obs($m, $m->get($k)),
        mc_obs($m, $m->cas($x['cas'], $k, 'stale')), mc_obs($m, $m->get($k)),
        mc_obs($m, $m->cas((string) $x['cas'], mc_key('nope'), 'x')),
        mc_obs($m, $m->cas((float) $x['cas'], $k, 'stale')),
    ];
}, keys: [$k]);

mc_same('bad keys', function ($m) {
    $o = [];
    foreach (['', 'a b', "a\nb", str_repeat('x', 251), 'café', "tab\tkey"] as $bad) {
        $o[] = mc_obs($m, $m->get($bad));
        $o[] = mc_obs($m, $m->set($bad, 1));
        $o[] = mc_obs($m, $m->checkKey($bad));
    }
    $o[] = mc_obs($m, $m->get(str_repeat('x', 250)));
    $o[] = mc_obs($m, $m->checkKey('fine'));
    return $o;
});

mc_same('bad keys in binary protocol mode', function ($m) {
    $o = [];
    foreach (['', "a\nb", str_repeat('x', 251)] as $bad) {
        $o[] = mc_obs($m, $m->get($bad));
        $o[] = mc_obs($m, $m->checkKey($bad));
    }
    return $o;
}, [Memcached::OPT_BINARY_PROTOCOL => true]);

mc_same('a value over the server item size limit', function ($m) use ($k) {
    return [mc_obs($m, $m->set($k, random_bytes(2 << 20))), mc_obs($m, $m->get($k))];
}, keys: [$k]);

mc_same('read-through callback', function ($m) use ($k) {
    $cb = function ($memc, $key, &$value, &$expiration) {
        $value = "made for $key";
        $expiration = 100;
        return true;
    };
    $no = fn($memc, $key, &$value) => false;
    return [
        mc_obs($m, $m->get($k, $no)), mc_obs($m, $m->get($k, $cb)), mc_obs($m, $m->get($k)),
        mc_obs($m, $m->get($k, $no)),
    ];
}, keys: [$k]);

mc_same('read-through callbacks: GET_EXTENDED, a throwing one, a false one leaves no trace', function ($m) use ($k) {
    // GET_EXTENDED: the callback sets ['value' => ..., 'cas' => ...], and
    // php-memcached takes the 'cas' entry for the expiration.
    $ext = function ($memc, $key, &$value) {
        $value = ['value' => ['made', 1], 'cas' => 100];
        return true;
    };
    $o = [mc_obs($m, $m->get($k, $ext, Memcached::GET_EXTENDED)), mc_obs($m, $m->get($k))];
    $m->delete($k);
    try {
        $m->get($k, function ($memc, $key, &$value, &$expiration) { throw new RuntimeException('db down'); });
        $o[] = 'no exception';
    } catch (RuntimeException $e) {
        $o[] = [get_class($e), $e->getMessage(), $m->getResultCode()];
    }
    // Neither left anything under the key: a plain read is a miss.
    $o[] = mc_obs($m, $m->get($k));
    $o[] = mc_obs($m, $m->get($k, fn($memc, $key, &$value) => false));
    $o[] = mc_obs($m, $m->get($k));
    $o[] = mc_obs($m, $m->get($k, function ($memc, $key, &$value, &$expiration) {
        $value = 7;
        return true;
    }));
    return $o;
}, keys: [$k]);

mc_same('the result code of a success after a failure', function ($m) use ($k) {
    $m->get($k);
    return [mc_obs($m, $m->set($k, 1)), $m->getResultMessage()];
}, keys: [$k]);

// Result messages: libmemcached's wording for each code the commands give.
$m = new McRing\Memcached();
$pm = new Memcached();
$m->addServers(mc_server_list());
$pm->addServers(mc_server_list());
foreach ([[mc_key('miss'), 'get'], ['a b', 'get'], [mc_key('k'), 'add']] as [$key, $op]) {
    $pm->set(mc_key('k'), 1);
    $op === 'get' ? $pm->get($key) : $pm->$op($key, 1);
    $m->set(mc_key('k'), 1);
    $op === 'get' ? $m->get($key) : $m->$op($key, 1);
    check("message of code {$m->getResultCode()}", $m->getResultMessage() === $pm->getResultMessage()
        && $m->getResultCode() === $pm->getResultCode(), [$m->getResultMessage(), $pm->getResultMessage()]);
}
?>
--EXPECT--
ok get of a miss, set, get, GET_EXTENDED
ok add and replace
ok append and prepend refused while compression is on
ok append and prepend without compression
ok delete
ok increment and decrement
ok touch
ok expired values
ok cas
ok bad keys
ok bad keys in binary protocol mode
ok a value over the server item size limit
ok read-through callback
ok read-through callbacks: GET_EXTENDED, a throwing one, a false one leaves no trace
ok the result code of a success after a failure
ok message of code 16
ok message of code 33
ok message of code 14
