--TEST--
McRing\Memcached servers side by side with php-memcached: addServer(s), getServerList, resetServerList, getStats, getVersion, flush, quit; persistent ids keep one copy of the servers
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--CONFLICTS--
all
--FILE--
<?php
include 'memcached.inc';

mc_same('addServer and addServers as libmemcached reads them', function ($m) {
    $o = [];
    $o[] = $m->addServer('127.0.0.1', 70000);
    $o[] = $m->addServer('', 0);
    $o[] = $m->addServer('/tmp/mcring-none.sock', 0);
    $o[] = @$m->addServers([['/tmp/mcring-other.sock', 0, 2], ['127.0.0.9', 0], ['h', '21213', '4'],
        ['h', 21214, 'x'], [1 => 'a', 0 => 'b'], 'not an array', ['only host']]);
    $o[] = $m->getResultCode();
    $o[] = $m->getServerList();
    $o[] = $m->resetServerList();
    $o[] = $m->getServerList();
    return $o;
});

mc_same('no servers', function ($m) {
    $m->resetServerList();
    return [mc_obs($m, $m->get('k')), mc_obs($m, $m->set('k', 1)), mc_obs($m, $m->getMulti(['k'])),
        mc_obs($m, $m->getStats()), mc_obs($m, $m->getVersion()), mc_obs($m, $m->getServerByKey('k')),
        mc_obs($m, $m->flush())];
});

mc_same('getStats: servers, names and types', function ($m) {
    $stats = $m->getStats();
    $shape = [];
    foreach ($stats as $server => $s) {
        $shape[$server] = [gettype($s['pid']), gettype($s['version']), gettype($s['rusage_user']),
            gettype($s['curr_connections']), isset($s['limit_maxbytes'])];
    }
    return [array_keys($stats), $shape, $m->getResultCode(), array_keys($m->getStats('settings')),
        mc_obs($m, @$m->getStats('bogus'))];
});

mc_same('getVersion', fn($m) => [mc_obs($m, $m->getVersion())]);

mc_same('flush and quit', function ($m) {
    $k = mc_key('flushed');
    $m->set($k, 1);
    return [mc_obs($m, $m->flush()), mc_obs($m, $m->get($k)), $m->quit(), mc_obs($m, $m->set($k, 2)),
        mc_obs($m, $m->get($k)), $m->flushBuffers()];
}, [], [mc_key('flushed')]);

mc_same('isPersistent and isPristine without a persistent id', fn($m) => [$m->isPersistent(), $m->isPristine()]);

// Persistent ids: the second object of an id reuses the first's servers and
// options (both clients); mcring keeps one copy of a server added again.
foreach (['Memcached', 'McRing\Memcached'] as $class) {
    $id = "sbs-$class-" . getmypid();
    $first = new $class($id);
    $first->setOption(Memcached::OPT_PREFIX_KEY, 'pid:');
    $first->addServers(mc_server_list());
    $second = new $class($id);
    $second->addServers(mc_server_list());
    $count = count($second->getServerList());
    $o[$class] = [$first->isPersistent(), $first->isPristine(), $second->isPersistent(), $second->isPristine(),
        $second->getOption(Memcached::OPT_PREFIX_KEY), $count];
}
check('persistent ids', array_slice($o['Memcached'], 0, 5) === array_slice($o['McRing\Memcached'], 0, 5),
    $o);
check('a server added again is not duplicated', $o['McRing\Memcached'][5] === 3 && $o['Memcached'][5] === 6, $o);

// The constructor's callback runs for a new pool only, with the object and id.
$calls = [];
$cb = function ($m, $id) use (&$calls) {
    $calls[] = [get_class($m), $id];
    $m->addServers(mc_server_list());
};
$id = 'cb-' . getmypid();
$a = new McRing\Memcached($id, $cb);
$b = new McRing\Memcached($id, $cb);
$c = new McRing\Memcached(null, $cb);
check('the on_new callback', $calls === [['McRing\Memcached', $id], ['McRing\Memcached', null]]
    && count($b->getServerList()) === 3 && $b->set('cbk', 1));
try {
    new McRing\Memcached('thrower-' . getmypid(), function () { throw new RuntimeException('no'); });
} catch (RuntimeException $e) {
}
$t = new McRing\Memcached('thrower-' . getmypid());
check('a callback that throws leaves no pool behind', $t->isPristine() && $t->getServerList() === []);
$broken = (new ReflectionClass('McRing\Memcached'))->newInstanceWithoutConstructor();
try {
    $broken->get('k');
    check('an object whose constructor did not run cannot be used', false);
} catch (Error $e) {
    check('an object whose constructor did not run cannot be used', $e->getMessage() === 'Memcached constructor was not called');
}

// A server added after first use joins the running client (the engine's
// run-time membership, as McRing\Client's addServer): keys that move to it
// are copied over from their previous owner on first read.
$servers = mc_server_list();
$m = new McRing\Memcached();
$m->addServer($servers[0][0], $servers[0][1]);
$keys = array_map(fn($i) => mc_key("grow$i"), range(0, 99));
foreach ($keys as $k) {
    $m->set($k, "v:$k");
}
$m->addServer($servers[1][0], $servers[1][1]);
$moved = count(array_filter($keys, fn($k) => $m->getServerByKey($k)['port'] === $servers[1][1]));
$found = count(array_filter($keys, fn($k) => $m->get($k) === "v:$k"));
check('a server added after first use joins the running client; its keys are migrated',
    $moved > 0 && $found === 100 && count($m->getServerList()) === 2, [$moved, $found]);
mc_forget($keys);

// What mcring does not offer: a warning, false and RES_NOT_SUPPORTED.
$m = mc_new('McRing\Memcached');
$unsupported = [
    'setSaslAuthData' => fn() => $m->setSaslAuthData('user', 'secret'),
    'setEncodingKey' => fn() => $m->setEncodingKey('key'),
    'setBucket' => fn() => $m->setBucket([0, 1], null, 0),
];
foreach ($unsupported as $name => $call) {
    error_clear_last();
    $r = @$call();
    check("$name is not supported", $r === false && $m->getResultCode() === Memcached::RES_NOT_SUPPORTED
        && str_contains(error_get_last()['message'] ?? '', 'not supported'), error_get_last());
}
check('HAVE_SASL and HAVE_ENCODING say so', McRing\Memcached::HAVE_SASL === false && McRing\Memcached::HAVE_ENCODING === false);
?>
--EXPECT--
ok addServer and addServers as libmemcached reads them
ok no servers
ok getStats: servers, names and types
ok getVersion
ok flush and quit
ok isPersistent and isPristine without a persistent id
ok persistent ids
ok a server added again is not duplicated
ok the on_new callback
ok a callback that throws leaves no pool behind
ok an object whose constructor did not run cannot be used
ok a server added after first use joins the running client; its keys are migrated
ok setSaslAuthData is not supported
ok setEncodingKey is not supported
ok setBucket is not supported
ok HAVE_SASL and HAVE_ENCODING say so
