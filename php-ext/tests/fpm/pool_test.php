<?php
/*
 * A real PHP-FPM pool (pm = static, 4 workers, the mcring extension loaded)
 * driven with FastCGI requests by cgi-fcgi, against memcached processes this
 * script starts on free 127.0.0.1 ports and stops by pid:
 *
 * 1. with a persistent_id, the servers' connection counts stay flat over
 *    1,000 requests (without one, every request connects anew);
 * 2. after SIGKILL of a memcached, each request costs at most the
 *    configured timeouts, and the dead server is skipped once marked;
 * 3. with a stopped (SIGSTOP) memcached, the timeouts one worker pays mark
 *    the server dead for the whole pool when mcring.shared_health is On;
 *    with it Off, every worker pays its own;
 * 4. McRing\Memcached under a persistent id with options and servers set on
 *    every request (php-memcached's common pattern) keeps one copy of each
 *    server and its connections.
 * 5. with mcring.shared_metrics = PATH, one scrape of `mcring exporter
 *    --shm PATH` holds the counts and latencies of every worker's requests.
 *
 *   MCRING_BIN=/path/to/mcring php -n pool_test.php /path/to/mcring.so
 */

include __DIR__ . '/fpm.inc';

// ---------------------------------------------------------------------------
echo "1. connections with and without a persistent_id (" . WORKERS . " workers, 3 servers)\n";
$servers = [start_memcached(), start_memcached(), start_memcached()];
$names = array_column($servers, 'name');
$fpm = start_fpm([]);
$query = ['servers' => implode(',', $names), 'options' => '{}', 'pid' => 'app'];
$before = array_map('server_stats', $names);
$replies = requests($fpm, $query, 1000, WORKERS);
$after = array_map('server_stats', $names);
check('1,000 requests answered', count($replies) === 1000 && bad_replies($replies) === [], bad_replies($replies)[0] ?? null);
$pids = array_unique(array_column($replies, 'pid'));
$pristine = count(array_filter($replies, fn($r) => $r['pristine'] ?? false));
printf("     %d workers served the requests\n", count($pids));
check('several workers served requests', count($pids) >= 2, count($pids));
check('each worker created its client once', $pristine === count($pids), $pristine);
check('every request succeeded', array_sum(array_map(fn($r) => array_sum($r['codes'] ?? [1]), $replies)) === 0);
foreach ($names as $i => $name) {
    // +1: the `stats` probe that measures counts itself.
    $opened = (int) $after[$i]['total_connections'] - (int) $before[$i]['total_connections'] - 1;
    printf("     %s: total_connections +%d over 1,000 requests, curr_connections %d -> %d\n",
        $name, $opened, $before[$i]['curr_connections'], $after[$i]['curr_connections']);
    check("$name: at most one connection per worker", $opened <= WORKERS, $opened);
}
$connects = array_sum(array_map(fn($c) => $c['connects'], last_counters($replies)));
check('the clients opened one connection per worker and server', $connects === count($pids) * 3, $connects);

$before = array_map('server_stats', $names);
$plain = requests($fpm, ['pid' => ''] + $query, 200, WORKERS, 1000);
$after = array_map('server_stats', $names);
check('200 requests without a persistent_id answered', count($plain) === 200 && bad_replies($plain) === []);
check('without a persistent_id each request has a new client', count(array_filter($plain, fn($r) => $r['pristine'] && !$r['persistent'])) === 200);
foreach ($names as $i => $name) {
    $opened = (int) $after[$i]['total_connections'] - (int) $before[$i]['total_connections'] - 1;
    printf("     %s: total_connections +%d over 200 requests without a persistent_id\n", $name, $opened);
    check("$name: a connection per request without a persistent_id", $opened >= 200, $opened);
}
stop($fpm['proc']);

// ---------------------------------------------------------------------------
echo "2. a memcached killed with SIGKILL (connect_timeout_ms=250, io_timeout_ms=250, failure_limit=3)\n";
$options = ['connect_timeout_ms' => 250, 'io_timeout_ms' => 250, 'failure_limit' => 3, 'retry_timeout_ms' => 60000];
$fpm = start_fpm(['mcring.shared_health' => 'On']);
$query = ['servers' => implode(',', $names), 'options' => json_encode($options), 'pid' => 'killed'];
$warm = requests($fpm, $query, 40, WORKERS);
check('warm-up requests succeeded', bad_replies($warm) === [] && count(array_unique(array_column($warm, 'pid'))) >= 2);
proc_terminate($servers[2]['proc'], SIGKILL);
proc_close($servers[2]['proc']);
$processes = array_values(array_filter($processes, fn($q) => $q !== $servers[2]['proc']));
$replies = requests($fpm, $query, 200, WORKERS, 2000);
check('200 requests answered after the kill', count($replies) === 200 && bad_replies($replies) === []);
$us = array_column($replies, 'us');
// Two calls, each at most connect + io timeout, and slack for a busy machine.
$bound_us = 2 * (250 + 250) * 1000 + 500000;
$failed_requests = count(array_filter($replies, fn($r) => array_sum($r['codes']) !== 0));
printf("     per request: median %d us, p99 %d us, max %d us; %d of 200 saw an error\n",
    percentile($us, 0.5), percentile($us, 0.99), max($us), $failed_requests);
check('no request took longer than its timeouts allow', max($us) < $bound_us, max($us));
$errors = array_sum(array_map(fn($c) => $c['errors'], last_counters($replies)));
$warm_errors = array_sum(array_map(fn($c) => $c['errors'], last_counters($warm)));
printf("     failures counted by the pool's clients after the kill: %d (then the server was dead for every worker)\n",
    $errors - $warm_errors);
check('once marked dead the server is skipped by the whole pool',
    $errors - $warm_errors <= $options['failure_limit'] + WORKERS - 1, $errors - $warm_errors);
stop($fpm['proc']);

// ---------------------------------------------------------------------------
echo "3. a stopped memcached (SIGSTOP): shared health On vs Off\n";
$servers[2] = start_memcached();
$names = array_column($servers, 'name');
$totals = [];
foreach (['On', 'Off'] as $shared) {
    $fpm = start_fpm(['mcring.shared_health' => $shared]);
    $query = ['servers' => implode(',', $names), 'options' => json_encode($options), 'pid' => 'stopped'];
    $warm = requests($fpm, $query, 40, WORKERS);
    $warm_pids = array_unique(array_column($warm, 'pid'));
    proc_terminate($servers[2]['proc'], SIGSTOP);
    $replies = requests($fpm, $query, 120, WORKERS, 3000);
    proc_terminate($servers[2]['proc'], SIGCONT);
    check("shared_health=$shared: 120 requests answered", count($replies) === 120 && bad_replies($replies) === []);
    $timeouts = 0;
    $served = [];
    foreach (last_counters($replies) as $pid => $c) {
        $timeouts += $c['timeouts'];
    }
    foreach ($replies as $r) {
        $served[$r['pid']] = ($served[$r['pid']] ?? 0) + 1;
    }
    $us = array_column($replies, 'us');
    $slow = count(array_filter($us, fn($u) => $u >= 200000));
    printf("     shared_health=%s: %d timeouts paid by the pool (%d workers), %d requests slowed by a timeout, max %d us\n",
        $shared, $timeouts, count($served), $slow, max($us));
    check("shared_health=$shared: no request took longer than its timeouts allow", max($us) < $bound_us, max($us));
    $totals[$shared] = ['timeouts' => $timeouts, 'served' => $served];
    stop($fpm['proc']);
}
$limit = $options['failure_limit'];
check('On: the pool pays about failure_limit timeouts, not one set per worker',
    $totals['On']['timeouts'] >= $limit && $totals['On']['timeouts'] <= $limit + WORKERS - 1, $totals['On']['timeouts']);
$full = count(array_filter($totals['Off']['served'], fn($n) => $n >= $limit));
check('Off: every worker pays its own failure_limit timeouts',
    $totals['Off']['timeouts'] >= $limit * $full && $totals['Off']['timeouts'] <= $limit * count($totals['Off']['served']),
    [$totals['Off']['timeouts'], $full]);
check('On costs the pool fewer timeouts than Off', $totals['On']['timeouts'] < $totals['Off']['timeouts']);

// ---------------------------------------------------------------------------
echo "4. McRing\\Memcached('every-request') with setOptions() and addServers() on every request\n";
$fpm = start_fpm([], [], __DIR__ . '/memcached_app.php');
$query = ['servers' => implode(',', $names)];
$before = array_map('server_stats', $names);
$replies = requests($fpm, $query, 500, WORKERS);
$after = array_map('server_stats', $names);
check('500 requests answered, every one stored and read', count($replies) === 500
    && count(array_filter($replies, fn($r) => $r['ok'] ?? false)) === 500, bad_replies($replies)[0] ?? null);
check('each worker kept one server list of 3', array_unique(array_column($replies, 'servers')) === [3]);
$pids = array_unique(array_column($replies, 'pid'));
check('each worker made its pool once', count(array_filter($replies, fn($r) => $r['pristine'])) === count($pids));
foreach ($names as $i => $name) {
    $opened = (int) $after[$i]['total_connections'] - (int) $before[$i]['total_connections'] - 1;
    printf("     %s: total_connections +%d over 500 requests\n", $name, $opened);
    check("$name: at most one connection per worker", $opened <= WORKERS, $opened);
}
stop($fpm['proc']);

echo "5. shared client metrics (mcring.shared_metrics): one scrape of `mcring exporter --shm` shows every worker's requests\n";
$mcring_binary = (string) getenv('MCRING_BIN');
check('MCRING_BIN names the mcring binary', is_executable($mcring_binary), $mcring_binary);
$shm = "$work/metrics.shm";
$fpm = start_fpm(['mcring.shared_metrics' => $shm]);
$query = ['servers' => implode(',', $names), 'options' => '{}', 'pid' => 'metrics'];
$replies = requests($fpm, $query, 400, WORKERS, 4000);
check('400 requests answered', count($replies) === 400 && bad_replies($replies) === []);
$workers = last_counters($replies);
printf("     %d workers served the requests\n", count($workers));
check('several workers served requests', count($workers) >= 2, count($workers));
// Each worker's persistent client counted its own share; the area has the sum.
$own = fn(string $name) => array_sum(array_column($workers, $name));
$port = free_port();
$exporter = start([$mcring_binary, 'exporter', '--listen', "127.0.0.1:$port", '--shm', $shm], $port,
    "$work/exporter.log");
$scrape = (string) @file_get_contents("http://127.0.0.1:$port/metrics");
stop($exporter);
/** The sum of a family's samples whose labels contain $match. */
$sum = function (string $family, string $match = '') use ($scrape): float {
    $total = 0.0;
    foreach (explode("\n", $scrape) as $line) {
        if (str_starts_with($line, "$family{") && str_contains($line, $match)) {
            $total += (float) substr($line, strrpos($line, ' ') + 1);
        }
    }
    return $total;
};
printf("     one scrape: %d gets, %d stores timed, %d multi-gets timed; the workers' own clients: %d gets\n",
    $sum('mcring_client_gets_total'), $sum('mcring_client_request_duration_seconds_count', 'command="store"'),
    $sum('mcring_client_request_duration_seconds_count', 'command="get_multi"'), $own('gets'));
check('the area is readable', $sum('mcring_shared_metrics_up') === 1.0, $scrape);
check('gets of every worker, summed', $sum('mcring_client_gets_total') === (float) $own('gets')
    && $own('gets') === 400 * 30, [$sum('mcring_client_gets_total'), $own('gets')]);
check('hits, misses and stores of every worker, summed', $sum('mcring_client_hits_total') === (float) $own('hits')
    && $sum('mcring_client_misses_total') === (float) $own('misses')
    && $sum('mcring_client_stored_total') === 400.0);
check('a latency observation per set of every worker',
    $sum('mcring_client_request_duration_seconds_count', 'command="store"') === 400.0
    && $sum('mcring_client_request_duration_seconds_bucket', 'command="store",le="+Inf"') === 400.0);
$multi = $sum('mcring_client_request_duration_seconds_count', 'command="get_multi"');
check('a latency observation per server of each multi-get', $multi >= 400 && $multi <= 400 * count($names), $multi);
check('every server is in the area', count(array_filter($names,
    fn($n) => str_contains($scrape, "mcring_client_gets_total{server=\"$n\"}"))) === count($names));
stop($fpm['proc']);

foreach ($servers as $s) {
    stop($s['proc']);
}
echo "\nFPM: $passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
