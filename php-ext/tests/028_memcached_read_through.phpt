--TEST--
McRing\Memcached::get($key, $cache_cb): read-through callbacks go through the engine's lease (one callback per miss across processes), and leave what php-memcached would
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; if (!function_exists('pcntl_fork')) die('skip pcntl is not available'); ?>
--FILE--
<?php
include 'memcached.inc';

/* Forks $n processes that each call $call() at the same moment; returns
   the lines the callbacks logged and whether every process exited 0. */
function herd(int $n, callable $call): array
{
    $log = tempnam(sys_get_temp_dir(), 'mcring-read-through');
    $start = microtime(true) + 1.0;
    $children = [];
    for ($i = 0; $i < $n; $i++) {
        $pid = pcntl_fork();
        if ($pid === 0) {
            while (microtime(true) < $start) { usleep(1000); }
            exit($call($log) ? 0 : 1);
        }
        $children[] = $pid;
    }
    $all = true;
    foreach ($children as $pid) {
        pcntl_waitpid($pid, $status);
        $all = $all && pcntl_wifexited($status) && pcntl_wexitstatus($status) === 0;
    }
    $lines = file($log, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
    unlink($log);
    return [$lines, $all];
}

/* The callback of the herd: logs its pid, takes 200 ms, stores its value. */
function slow_cb(string $log): callable
{
    return function ($memc, $key, &$value, &$expiration) use ($log) {
        file_put_contents($log, getmypid() . "\n", FILE_APPEND | LOCK_EX);
        usleep(200000);
        $value = ['made by' => getmypid()];
        $expiration = 60;
        return true;
    };
}

$k = mc_key('herd');
$m = mc_new('McRing\Memcached');

// 8 processes miss one key at once: one callback runs, all get its value.
[$lines, $all] = herd(8, function ($log) use ($m, $k) {
    $v = $m->get($k, slow_cb($log));
    return is_array($v) && isset($v['made by']) && $m->getResultCode() === Memcached::RES_SUCCESS;
});
check('every process got the value', $all);
check('one callback ran', count($lines) === 1, $lines);
// (php-memcached's objects are made after each herd: a forked child that
// exits closes the connections it inherited, with libmemcached's quit.)
$pm = mc_new('Memcached');
$made = ['made by' => (int) $lines[0]];
check('php-memcached reads the winner\'s value', $pm->get($k) === $made, $pm->get($k));
mc_forget([$k]);

// What the lease stored is what php-memcached's own read-through stores:
// the same bytes and flags.
$cb = function ($memc, $key, &$value, &$expiration) { $value = ['a' => 1, 'b' => [2.5, 'x']]; return true; };
$pm->get($k, $cb);
$theirs = mcring_test_raw_item($k);
mc_forget([$k]);
$m->get($k, $cb);
check('stored bytes and flags as php-memcached\'s', mcring_test_raw_item($k) === $theirs,
    [mcring_test_raw_item($k), $theirs]);
mc_forget([$k]);

// A callback that declines (or throws) gives the lease back: the next
// caller's callback runs at once, not after the lease's time, and a plain
// reader meanwhile sees a miss.
$t = microtime(true);
check('a declining callback: false', $m->get($k, fn($memc, $key, &$value) => false) === false
    && $m->getResultCode() === Memcached::RES_NOTFOUND);
check('nothing left for php-memcached', $pm->get($k) === false && $pm->getResultCode() === Memcached::RES_NOTFOUND);
check('the next callback runs', $m->get($k, $cb) === ['a' => 1, 'b' => [2.5, 'x']]);
check('without waiting out a lease', microtime(true) - $t < 1.0, microtime(true) - $t);
mc_forget([$k]);

// getByKey: the lease is taken and filled on the server key's server.
[$lines, $all] = herd(4, function ($log) use ($m, $k) {
    $v = $m->getByKey('group-1', $k, slow_cb($log));
    return is_array($v) && isset($v['made by']);
});
check('getByKey: every process got the value, one callback ran', $all && count($lines) === 1, $lines);
$pm = mc_new('Memcached');
check('getByKey: stored where the server key places it', $pm->getByKey('group-1', $k) === ['made by' => (int) $lines[0]]);
mc_forget([$k]);
--EXPECT--
ok every process got the value
ok one callback ran
ok php-memcached reads the winner's value
ok stored bytes and flags as php-memcached's
ok a declining callback: false
ok nothing left for php-memcached
ok the next callback runs
ok without waiting out a lease
ok getByKey: every process got the value, one callback ran
ok getByKey: stored where the server key places it
