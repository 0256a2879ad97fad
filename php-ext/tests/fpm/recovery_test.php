<?php
/*
 * A network blip under PHP-FPM must not empty a server. A pool of 4
 * workers with shared health On (the default) and 3 memcached servers:
 * 300 keys written (about 100 on each server), then one server is stopped
 * for 0.4 s (SIGSTOP, SIGCONT) while requests run. Requests time out on it,
 * it is marked dead for the pool, writes meant for it go elsewhere; then it
 * answers again and is used again. Afterwards every one of its keys
 * written before the blip is still on it (read from the server itself) and
 * read through the client: a recovered server is invalidated key by key
 * (the keys written elsewhere meanwhile), never flushed.
 *
 *   php -n recovery_test.php /path/to/mcring.so
 */

include __DIR__ . '/fpm.inc';

const KEYS = 300;

/** The keys of $keys that the server $name holds (one `get`, read there). */
function held_keys(string $name, array $keys): array
{
    $s = stream_socket_client("tcp://$name", $errno, $error, 2);
    fwrite($s, 'get ' . implode(' ', $keys) . "\r\n");
    $held = [];
    while (($line = fgets($s)) !== false && trim($line) !== 'END') {
        $parts = explode(' ', trim($line));
        if ($parts[0] !== 'VALUE') {
            fwrite(STDERR, "unexpected reply from $name: $line");
            exit(1);
        }
        $held[] = $parts[1];
        fread($s, (int) $parts[3] + 2);
    }
    fclose($s);
    return $held;
}

/** Sum of one counter of one server over the workers' last reports. */
function server_counter(array $replies, string $server, string $counter): int
{
    return array_sum(array_map(fn($c) => $c[$server][$counter] ?? 0, last_counters($replies)));
}

$servers = [start_memcached(), start_memcached(), start_memcached()];
$names = array_column($servers, 'name');
$blipped = $names[2];
$blipped_pid = proc_get_status($servers[2]['proc'])['pid'];
$options = ['connect_timeout_ms' => 150, 'io_timeout_ms' => 150, 'failure_limit' => 2, 'retry_timeout_ms' => 300];
$query = ['servers' => implode(',', $names), 'options' => json_encode($options), 'keys' => KEYS];
$fpm = start_fpm([], [], __DIR__ . '/recovery_app.php');
$keep = array_map(fn($i) => "keep:$i", range(0, KEYS - 1));

echo "1. " . KEYS . " keys written, then $blipped stopped for 0.4 s while requests run\n";
$written = requests($fpm, ['action' => 'write'] + $query, 1, 1)[0];
check('the keys were stored', ($written['stored'] ?? 0) === KEYS, $written);
$before = held_keys($blipped, $keep);
printf("     %s holds %d of the %d keys\n", $blipped, count($before), KEYS);
check("$blipped holds a share of the keys", count($before) >= KEYS / 6, count($before));
$warm = requests($fpm, ['action' => 'traffic'] + $query, 40, WORKERS);
check('warm-up requests answered', bad_replies($warm) === [] && count($warm) === 40);

// The blip, from a process of its own so that requests run through it.
$blip = proc_open(['sh', '-c', "sleep 0.1; kill -STOP $blipped_pid; sleep 0.4; kill -CONT $blipped_pid"],
    [0 => ['file', '/dev/null', 'r']], $pipes);
// Requests in batches until the server has been resumed, and one batch more.
$during = [];
$first = 1000;
do {
    $running = proc_get_status($blip)['running'];
    $during = array_merge($during, requests($fpm, ['action' => 'traffic'] + $query, 40, WORKERS, $first));
    $first += 40;
} while ($running);
proc_close($blip);
check(count($during) . ' requests answered through the blip', bad_replies($during) === [],
    bad_replies($during)[0] ?? null);
$timeouts = server_counter($during, $blipped, 'timeouts') - server_counter($warm, $blipped, 'timeouts');
$elsewhere = 0;
foreach ($names as $name) {
    $elsewhere += server_counter($during, $name, 'stored_elsewhere') - server_counter($warm, $name, 'stored_elsewhere');
}
printf("     %d timeouts on %s, %d writes stored elsewhere while it was dead\n", $timeouts, $blipped, $elsewhere);
check('requests timed out on the stopped server (failure_limit reached)', $timeouts >= $options['failure_limit'], $timeouts);
check('writes meant for it went elsewhere while it was dead', $elsewhere > 0, $elsewhere);

echo "2. after SIGCONT and the retry timeout, the server is used again\n";
usleep(($options['retry_timeout_ms'] + 300) * 1000);
$after = requests($fpm, ['action' => 'traffic'] + $query, 80, WORKERS, 2000);
check('80 requests answered after the blip', bad_replies($after) === [] && count($after) === 80);
$invalidated = server_counter($after, $blipped, 'invalidations');
printf("     %d keys invalidated on %s (the ones written elsewhere while it was dead)\n", $invalidated, $blipped);
check('the keys written elsewhere were invalidated on the recovered server', $invalidated > 0, $invalidated);
$held = held_keys($blipped, $keep);
$lost = array_values(array_diff($before, $held));
printf("     %s holds %d of its %d keys from before the blip\n", $blipped, count($before) - count($lost), count($before));
check("$blipped still holds every key it held before the blip (it was not flushed)", $lost === [],
    array_slice($lost, 0, 5));
$read = requests($fpm, ['action' => 'read'] + $query, WORKERS * 2, WORKERS, 3000);
$short = array_values(array_filter($read, fn($r) => ($r['missing'] ?? null) !== []));
check('every key written before the blip is read through the client, in every request', $short === [],
    isset($short[0]['missing']) ? count($short[0]['missing']) . ' missing: ' . implode(' ', array_slice($short[0]['missing'], 0, 5))
        : ($short[0] ?? null));

stop($fpm['proc']);
foreach ($servers as $s) {
    stop($s['proc']);
}
echo "\nFPM recovery: $passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
