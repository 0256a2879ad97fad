--TEST--
Failures: timeouts and refused connections cost at most the configured timeouts, then the server is dead
--SKIPIF--
<?php include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';
$servers = mcring_test_servers();

// A stopped server (SIGSTOP): it accepts connections, never answers.
$c = new McRing\Client([mcring_test_stopped()], ['io_timeout_ms' => 200, 'connect_timeout_ms' => 200,
    'failure_limit' => 2, 'retry_timeout_ms' => 60000, 'failover' => 'none']);
$t = hrtime(true);
$got = $c->get('k');
$ms = (hrtime(true) - $t) / 1e6;
check('a stopped server times out', $got === false && $c->getResultCode() === McRing\Client::RES_TIMEOUT
    && str_contains($c->getResultMessage(), mcring_test_stopped()), [$c->getResultCode(), $c->getResultMessage()]);
check('within a generous bound of the timeouts', $ms < 5000, $ms);
check('set times out too', $c->set('k', 'v') === false && $c->getResultCode() === McRing\Client::RES_TIMEOUT);
// Two failures (failure_limit=2): the server is dead and is not asked
// again until retry_timeout_ms; with failover=none its keys read as misses
// and writes to it fail at once.
check('then it is dead: reads miss', $c->get('k') === false && $c->getResultCode() === McRing\Client::RES_NOTFOUND,
    [$c->getResultCode(), $c->getResultMessage()]);
check('then it is dead: writes fail', $c->set('k', 'v') === false && $c->getResultCode() === McRing\Client::RES_SERVER_DOWN,
    [$c->getResultCode(), $c->getResultMessage()]);
$stats = $c->getClientStats()['total'];
check('two timeouts counted, no third', $stats['timeouts'] === 2, $stats);

// A closed port: refused at once.
$closed = new McRing\Client([mcring_test_closed()], ['connect_timeout_ms' => 200, 'failover' => 'none']);
check('a closed port', $closed->get('k') === false && $closed->getResultCode() === McRing\Client::RES_CONNECTION_ERROR
    && str_contains($closed->getResultMessage(), mcring_test_closed()), $closed->getResultMessage());

// failover=next (the default): a dead server's keys go to the next live one.
$ring = array_merge($servers, [mcring_test_closed()]);
$c = new McRing\Client($ring, ['connect_timeout_ms' => 200, 'failure_limit' => 1, 'retry_timeout_ms' => 60000,
    'prefix' => 'fo:' . getmypid() . ':']);
$on_dead = null;
for ($i = 0; $i < 1000 && $on_dead === null; $i++) {
    $at = $c->getServerByKey("k$i");
    if ($at['host'] . ':' . $at['port'] === mcring_test_closed()) {
        $on_dead = "k$i";
    }
}
$first = $c->set($on_dead, 'v');
$code = $c->getResultCode();
check('the first write to the dead server fails or fails over', $first === true || $code === McRing\Client::RES_CONNECTION_ERROR, $code);
check('then its keys are served by the next server', $c->set($on_dead, 'v') && $c->get($on_dead) === 'v', $c->getResultMessage());
check('failovers counted', $c->getClientStats()['total']['failovers'] > 0);
$many = [];
for ($i = 0; $i < 50; $i++) {
    $many["m$i"] = $i;
}
check('multi-key calls with a dead server', $c->setMulti($many) && $c->getMulti(array_keys($many)) === $many);

// A server error: incr of a value that is not a number.
$c = mcring_test_client();
$c->set('text', 'abc');
check('server error', $c->increment('text') === false && $c->getResultCode() === McRing\Client::RES_CLIENT_ERROR
    && $c->getResultMessage() !== '', $c->getResultMessage());
// A value over memcached's item size limit (1 MiB by default), allowed by max_value_bytes.
$big = mcring_test_client(['max_value_bytes' => 4 << 20, 'compress_threshold' => 0]);
check('value over the server limit', $big->set('huge', random_bytes(2 << 20)) === false
    && $big->getResultCode() === McRing\Client::RES_TOO_LARGE, [$big->getResultCode(), $big->getResultMessage()]);
check('the connection still works afterwards', $big->set('small', 'x') && $big->get('small') === 'x');
?>
--EXPECT--
ok a stopped server times out
ok within a generous bound of the timeouts
ok set times out too
ok then it is dead: reads miss
ok then it is dead: writes fail
ok two timeouts counted, no third
ok a closed port
ok the first write to the dead server fails or fails over
ok then its keys are served by the next server
ok failovers counted
ok multi-key calls with a dead server
ok server error
ok value over the server limit
ok the connection still works afterwards
