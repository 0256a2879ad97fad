--TEST--
McRing\Memcached failures side by side with php-memcached: a closed port, a stopped server, a dead server among live ones; getLastError*, getLastDisconnectedServer
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--FILE--
<?php
include 'memcached.inc';
$closed = mc_server_list([mcring_test_closed()])[0];
$stopped = mc_server_list([mcring_test_stopped()])[0];
$live = mc_server_list();

/** A client of $class over these servers, with short timeouts. */
function failing(string $class, array $servers, array $options = []): object
{
    $m = new $class();
    $m->setOptions($options + [Memcached::OPT_CONNECT_TIMEOUT => 200, Memcached::OPT_POLL_TIMEOUT => 200,
        Memcached::OPT_RETRY_TIMEOUT => 30]);
    $m->addServers($servers);
    return $m;
}

// A closed port: the first command fails to connect, the ones after it
// find the server disabled until the retry timeout.
$r = [];
foreach (['Memcached', 'McRing\Memcached'] as $class) {
    $m = failing($class, [$closed]);
    $o = [mc_obs($m, $m->get('k')), mc_obs($m, $m->set('k', 1)), mc_obs($m, $m->get('k')),
        mc_obs($m, $m->getMulti(['k', 'l'])), mc_obs($m, $m->delete('k'))];
    $o[] = $m->getLastErrorCode();
    $o[] = $m->getLastDisconnectedServer();
    $r[$class] = $o;
    $msg[$class] = $m->getLastErrorMessage();
}
$pick = fn($o, $i) => array_intersect_key($o, array_flip($i));
check('a closed port: writes, and the first read', $pick($r['Memcached'], [0, 1, 4, 5, 6]) === $pick($r['McRing\Memcached'], [0, 1, 4, 5, 6]), $r);
// Reads of a server the engine marked dead are misses here (the engine does
// not ask it), where libmemcached reports the server disabled.
check('a closed port: later reads miss', $r['McRing\Memcached'][2] === [false, Memcached::RES_NOTFOUND]
    && $r['McRing\Memcached'][3] === [[], Memcached::RES_NOTFOUND]
    && $r['Memcached'][2] === [false, Memcached::RES_SERVER_TEMPORARILY_DISABLED], $r);
check('the last error message names the failure', str_contains($msg['McRing\Memcached'], 'SERVER HAS FAILED'), $msg);

// A stopped server: the first command times out (within the timeouts).
$r = [];
foreach (['Memcached', 'McRing\Memcached'] as $class) {
    $m = failing($class, [$stopped]);
    $start = hrtime(true);
    $o = [mc_obs($m, $m->get('k'))];
    $o[] = (hrtime(true) - $start) / 1e6 < 3000;
    $o[] = mc_obs($m, $m->get('k'));
    $r[$class] = $o;
}
check('a stopped server: the first read times out, within the timeouts',
    array_slice($r['Memcached'], 0, 2) === array_slice($r['McRing\Memcached'], 0, 2), $r);
// libmemcached times out again on the next read (a timeout on an open
// connection does not disable the server there); the engine marked it dead.
check('a stopped server: then it is dead', $r['McRing\Memcached'][2] === [false, Memcached::RES_NOTFOUND]
    && $r['Memcached'][2] === [false, Memcached::RES_TIMEOUT], $r);

// A dead server among live ones (modula: its keys are not moved): its keys
// fail, the others work, multi-key reads return what the live servers have.
$r = [];
foreach (['Memcached', 'McRing\Memcached'] as $class) {
    $m = failing($class, array_merge($live, [$closed]));
    $o = [];
    $keys = [];
    for ($i = 0; $i < 40; $i++) {
        $key = mc_key("dead$i");
        $keys[] = $key;
        $o[] = [$m->getServerByKey($key)['port'] === $closed[1], $m->set($key, $i)];
    }
    $found = $m->getMulti($keys);
    ksort($found);
    $o[] = [$found, $m->getResultCode()];
    $o[] = $m->getLastDisconnectedServer();
    $r[$class] = $o;
    mc_forget($keys);
}
// php-memcached's set() to the dead server reports its state (connection
// failure, then disabled); compare which sets succeeded and what was read.
$shape = fn($o) => array_map(fn($x) => is_array($x) && count($x) === 2 && is_bool($x[1] ?? null) ? [$x[0], $x[1]] : $x, $o);
check('a dead server among live ones', $shape($r['Memcached']) === $shape($r['McRing\Memcached']),
    [$r['Memcached'][40], $r['McRing\Memcached'][40]]);

// With OPT_REMOVE_FAILED_SERVERS (and consistent placement) a failed server
// is taken out and its keys go to the others.
$m = failing('McRing\Memcached', array_merge($live, [$closed]), [Memcached::OPT_LIBKETAMA_COMPATIBLE => true,
    Memcached::OPT_REMOVE_FAILED_SERVERS => true, Memcached::OPT_SERVER_FAILURE_LIMIT => 1]);
$ok = 0;
for ($i = 0; $i < 40; $i++) {
    $ok += $m->set(mc_key("eject$i"), $i) ? 1 : 0;
}
check('failed servers removed: writes go on', $ok >= 38, $ok);
?>
--EXPECT--
ok a closed port: writes, and the first read
ok a closed port: later reads miss
ok the last error message names the failure
ok a stopped server: the first read times out, within the timeouts
ok a stopped server: then it is dead
ok a dead server among live ones
ok failed servers removed: writes go on
