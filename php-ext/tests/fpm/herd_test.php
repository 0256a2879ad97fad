<?php
/*
 * A thundering herd under PHP-FPM: 8 workers of one pool miss one key at
 * the same moment (the key's compute takes 200 ms) and read it through the
 * engine's lease, with php-memcached's read-through callback
 * (McRing\Memcached::get($key, $cache_cb)) and with McRing\Client::getOrSet:
 * exactly one worker computes and every worker gets its value. Then the
 * winner's worker is SIGKILLed mid-compute: its lease expires after
 * lease_ttl, one other worker computes, and the rest get that value; no
 * request hangs.
 *
 *   php -n herd_test.php /path/to/mcring.so
 */

include __DIR__ . '/fpm.inc';

const HERD = 8;
const COMPUTE_MS = 200;

$servers = [start_memcached(), start_memcached()];
$names = array_column($servers, 'name');
$fpm = start_fpm([], [], __DIR__ . '/herd_app.php', HERD);

/** HERD requests at one moment for $key; the replies and the pids that
    computed, in order. */
function herd(array $fpm, array $names, string $key, array $query): array
{
    global $work;
    $log = "$work/herd-$key.log";
    touch($log);
    $query += [
        'servers' => implode(',', $names), 'key' => $key, 'log' => $log,
        'at' => sprintf('%.3f', microtime(true) + 1.5), 'compute_ms' => COMPUTE_MS,
    ];
    $replies = requests($fpm, $query, HERD, HERD);
    return [$replies, file($log, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES)];
}

function waits(array $replies): string
{
    $ms = array_column(array_filter($replies, fn($r) => isset($r['ms'])), 'ms');
    sort($ms);
    return sprintf('waits: median %d ms, max %d ms', $ms[intdiv(count($ms), 2)] ?? -1, end($ms) ?: -1);
}

$round = 0;
foreach (['memcached' => 'McRing\Memcached::get($key, $cache_cb)', 'client' => 'McRing\Client::getOrSet'] as $api => $what) {
    $round++;
    echo "$round. " . HERD . " workers miss one key at once, $what, a " . COMPUTE_MS . " ms compute\n";
    [$replies, $computes] = herd($fpm, $names, "herd-$api", ['api' => $api]);
    check('every worker answered', bad_replies($replies) === [] && count($replies) === HERD, bad_replies($replies)[0] ?? null);
    check('exactly one worker computed', count($computes) === 1, $computes);
    $want = 'computed by ' . ($computes[0] ?? '?');
    $got = array_filter($replies, fn($r) => ($r['value'] ?? null) === $want && ($r['code'] ?? -1) === 0);
    check("every worker got the winner's value", count($got) === HERD, array_column($replies, 'value'));
    check('the workers were distinct processes', count(array_unique(array_column($replies, 'pid'))) === HERD);
    echo '     ' . waits($replies) . "\n";
    // A generous bound: nobody waited for a second lease (3 s).
    check('nobody waited a lease out', max(array_column($replies, 'ms') ?: [0]) < 3000, waits($replies));
}

$round++;
echo "$round. the winner's worker is SIGKILLed mid-compute (lease_ttl 1 s)\n";
[$replies, $computes] = herd($fpm, $names, 'herd-dies', ['api' => 'client', 'die' => '1', 'lease_ttl' => 1]);
$answered = array_filter($replies, fn($r) => isset($r['pid']));
check('the killed worker\'s request failed, every other answered', count($answered) === HERD - 1,
    count($answered));
check('one more worker computed after the lease expired', count($computes) === 2, $computes);
$want = 'computed by ' . ($computes[1] ?? '?');
$got = array_filter($answered, fn($r) => ($r['value'] ?? null) === $want);
check('the others got the second winner\'s value', count($got) === HERD - 1, array_column($answered, 'value'));
echo '     ' . waits($answered) . "\n";
$ms = array_column($answered, 'ms');
// memcached's clock ticks in seconds: a 1 s lease ends within 1 s or so.
check('no request hung (a generous bound)', max($ms ?: [0]) < 5000, waits($answered));

printf("\nherd under PHP-FPM: %d passed, %d failed\n", $passed, $failed);
exit($failed === 0 ? 0 : 1);
