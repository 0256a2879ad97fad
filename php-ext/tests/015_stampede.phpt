--TEST--
Stampedes: getOrSet computes once across processes, invalidate serves stale, exceptions give the lease back, hot keys
--SKIPIF--
<?php include 'skipif.inc'; if (!function_exists('pcntl_fork')) die('skip pcntl is not available'); ?>
--FILE--
<?php
include 'config.inc';
$c = mcring_test_client(['hot_keys' => 16]);

// A hit and a miss.
$computes = 0;
$compute = function () use (&$computes) { $computes++; return ['answer' => 42]; };
check('a miss computes', $c->getOrSet('plain', $compute, 60) === ['answer' => 42] && $c->getResultCode() === 0);
check('a hit does not', $c->getOrSet('plain', $compute, 60) === ['answer' => 42] && $computes === 1);
check('the value is stored', $c->get('plain') === ['answer' => 42]);

// 8 processes on one missing key, a 200 ms compute: one compute.
$log = tempnam(sys_get_temp_dir(), 'mcring-stampede');
$start = microtime(true) + 1.0;
$children = [];
for ($i = 0; $i < 8; $i++) {
    $pid = pcntl_fork();
    if ($pid === 0) {
        while (microtime(true) < $start) { usleep(1000); }
        $v = $c->getOrSet('herd', function () use ($log) {
            file_put_contents($log, getmypid() . "\n", FILE_APPEND | LOCK_EX);
            usleep(200000);
            return 'computed by ' . getmypid();
        }, 60);
        exit(is_string($v) && str_starts_with($v, 'computed by ') ? 0 : 1);
    }
    $children[] = $pid;
}
$all = true;
foreach ($children as $pid) {
    pcntl_waitpid($pid, $status);
    $all = $all && pcntl_wexitstatus($status) === 0;
}
$lines = file($log, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
unlink($log);
check('every process got the value', $all);
check('one process computed', count($lines) === 1, $lines);
check('the value is the winner\'s', $c->get('herd') === 'computed by ' . $lines[0]);

// invalidate: the stale value is served while one caller recomputes.
check('invalidate', $c->invalidate('plain') === true);
check('the winner recomputes', $c->getOrSet('plain', fn () => 'new', 60, ['stale_ttl' => 5]) === 'new');
check('invalidate a missing key', $c->invalidate('nothing') === false && $c->getResultCode() === McRing\Client::RES_NOTFOUND);
$c->set('stale', 'old', 60);
$c->invalidate('stale', 30);
$pid = pcntl_fork();
if ($pid === 0) {
    // The child wins the recompute and takes its time.
    $c->getOrSet('stale', function () { usleep(500000); return 'fresh'; }, 60);
    exit(0);
}
usleep(100000);
// Had it waited for the recompute, it would get 'fresh'.
$v = $c->getOrSet('stale', fn () => 'computed twice', 60);
check('others get the stale value at once', $v === 'old' && $c->getResultCode() === McRing\Client::RES_STALE
    && $c->getResultMessage() === 'STALE', [$v, $c->getResultCode()]);
pcntl_waitpid($pid, $status);
check('then the fresh one', $c->get('stale') === 'fresh');
check('invalidate with 0 deletes', $c->invalidate('stale', 0) && $c->get('stale') === false);

// An exception of $compute propagates and gives the lease back.
try {
    $c->getOrSet('fails', function () { throw new RuntimeException('database down'); }, 60, ['lease_ttl' => 30]);
    check('the exception propagates', false);
} catch (RuntimeException $e) {
    check('the exception propagates', $e->getMessage() === 'database down');
}
$t0 = microtime(true);
check('the next caller computes', $c->getOrSet('fails', fn () => 'second', 60, ['lease_ttl' => 30]) === 'second');
check('without waiting out the lease', microtime(true) - $t0 < 10);

// Early recache.
$c->getOrSet('early', fn () => 'old', 10, ['recache_s' => 2]);
check('no recompute above recache_s', $c->getOrSet('early', fn () => 'new', 10, ['recache_s' => 2]) === 'old');
// memcached counts whole seconds: a window of 30 s is entered at once.
check('one caller recomputes early', $c->getOrSet('early', fn () => 'new', 60, ['recache_s' => 30]) === 'new');
check('and stores it', $c->get('early') === 'new');

// Bad arguments.
foreach ([
    ['lease_ttl' => 0], ['lease_ttl' => 'x'], ['recache_s' => -1], ['nope' => 1],
] as $bad) {
    try {
        $c->getOrSet('k', fn () => 1, 60, $bad);
        check('bad options throw ' . json_encode($bad), false);
    } catch (ValueError $e) {
        check('bad options throw ' . json_encode($bad), true);
    }
}
try {
    $c->getOrSet('k', 'no_such_function', 60);
    check('a non-callable throws', false);
} catch (TypeError $e) {
    check('a non-callable throws', true);
}
check('a bad key is false', $c->getOrSet('has space', fn () => 1, 60) === false && $c->getResultCode() !== 0);

// Hot keys.
for ($i = 0; $i < 50; $i++) {
    $c->get('hot');
}
$hot = $c->getHotKeys();
$server = $c->getServerByKey('hot');
$top = $hot[$server['host'] . ':' . $server['port']][0] ?? null;
check('the hottest key', $top !== null && $top['key'] === 'hot' && $top['reads'] >= 50, $hot);
check('no counting without hot_keys', (new McRing\Client(mcring_test_servers()))->getHotKeys() === []);
$inStats = $c->getClientStats()['hot_keys'] ?? null;
check('hot keys in the client stats', is_array($inStats) && array_keys($inStats) === array_keys($hot)
    && ($inStats[$server['host'] . ':' . $server['port']][0]['key'] ?? null) === 'hot', $inStats);
--EXPECT--
ok a miss computes
ok a hit does not
ok the value is stored
ok every process got the value
ok one process computed
ok the value is the winner's
ok invalidate
ok the winner recomputes
ok invalidate a missing key
ok others get the stale value at once
ok then the fresh one
ok invalidate with 0 deletes
ok the exception propagates
ok the next caller computes
ok without waiting out the lease
ok no recompute above recache_s
ok one caller recomputes early
ok and stores it
ok bad options throw {"lease_ttl":0}
ok bad options throw {"lease_ttl":"x"}
ok bad options throw {"recache_s":-1}
ok bad options throw {"nope":1}
ok a non-callable throws
ok a bad key is false
ok the hottest key
ok no counting without hot_keys
ok hot keys in the client stats
