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
 *    with it Off, every worker pays its own.
 *
 *   php -n pool_test.php /path/to/mcring.so
 */

const WORKERS = 4;
define('AS_ROOT', trim((string) shell_exec('id -u')) === '0');
$extension = $argv[1] ?? '';
if (!is_file($extension)) {
    fwrite(STDERR, "usage: php pool_test.php /path/to/mcring.so\n");
    exit(2);
}
$fpm_binary = trim((string) shell_exec('command -v php-fpm8.2 || command -v php-fpm'));
$cgi_fcgi = trim((string) shell_exec('command -v cgi-fcgi'));
$memcached_binary = getenv('MEMCACHED') ?: 'memcached';
if ($fpm_binary === '' || $cgi_fcgi === '') {
    fwrite(STDERR, "pool_test.php: php-fpm and cgi-fcgi (libfcgi-bin) are needed\n");
    exit(2);
}
$app = __DIR__ . '/app.php';
$work = sys_get_temp_dir() . '/mcring-fpm-' . getmypid();
@mkdir($work);

$passed = 0;
$failed = 0;
function check(string $what, bool $ok, mixed $detail = null): void
{
    global $passed, $failed;
    if ($ok) {
        $passed++;
        echo "  ok   $what\n";
    } else {
        $failed++;
        echo "  FAIL $what" . ($detail === null ? '' : ': ' . json_encode($detail)) . "\n";
    }
}

$processes = [];
register_shutdown_function(function () use (&$processes, $work) {
    foreach ($processes as $p) {
        proc_terminate($p, SIGCONT);
        proc_terminate($p, SIGTERM);
        proc_close($p);
    }
    foreach (glob("$work/*") as $f) {
        unlink($f);
    }
    @rmdir($work);
});

function free_port(): int
{
    $s = stream_socket_server('tcp://127.0.0.1:0');
    $port = (int) explode(':', stream_socket_get_name($s, false))[1];
    fclose($s);
    return $port;
}

function listening(int $port): bool
{
    $s = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $error, 1);
    if ($s === false) {
        return false;
    }
    fclose($s);
    return true;
}

/** Starts a process and waits until it listens on $port; returns its handle. */
function start(array $command, int $port, string $log)
{
    global $processes;
    $p = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']], $pipes);
    for ($i = 0; $i < 500; $i++) {
        if (!proc_get_status($p)['running']) {
            break;
        }
        if (listening($port)) {
            $processes[] = $p;
            return $p;
        }
        usleep(20000);
    }
    fwrite(STDERR, "could not start: " . implode(' ', $command) . "\n" . @file_get_contents($log));
    exit(1);
}

function stop($p): void
{
    global $processes;
    proc_terminate($p, SIGCONT);
    proc_terminate($p, SIGTERM);
    proc_close($p);
    $processes = array_values(array_filter($processes, fn($q) => $q !== $p));
}

function start_memcached(): array
{
    global $memcached_binary, $work;
    $port = free_port();
    $root = AS_ROOT ? ['-u', 'root'] : [];
    $p = start(array_merge([$memcached_binary], $root, ['-l', '127.0.0.1', '-p', (string) $port, '-U', '0', '-t', '2', '-m', '64']),
        $port, "$work/memcached-$port.log");
    return ['proc' => $p, 'name' => "127.0.0.1:$port"];
}

/** memcached's `stats` of one server. */
function server_stats(string $name): array
{
    $s = stream_socket_client("tcp://$name", $errno, $error, 2);
    fwrite($s, "stats\r\n");
    $stats = [];
    while (($line = fgets($s)) !== false && trim($line) !== 'END') {
        $parts = explode(' ', trim($line));
        $stats[$parts[1]] = $parts[2];
    }
    fclose($s);
    return $stats;
}

/** Starts a PHP-FPM pool with the extension and these ini settings. */
function start_fpm(array $ini): array
{
    global $fpm_binary, $extension, $work;
    $port = free_port();
    $conf = "$work/fpm-$port.conf";
    $root = AS_ROOT ? "user = root\ngroup = root\n" : '';
    file_put_contents($conf, <<<CONF
        [global]
        pid = $work/fpm-$port.pid
        error_log = $work/fpm-$port.log
        daemonize = no

        [mcring]
        {$root}listen = 127.0.0.1:$port
        pm = static
        pm.max_children = 4
        catch_workers_output = yes
        clear_env = no
        CONF);
    $command = [$fpm_binary, '-n', '-R', '-F', '-y', $conf, '-d', "extension=$extension"];
    foreach ($ini as $name => $value) {
        array_push($command, '-d', "$name=$value");
    }
    $p = start($command, $port, "$work/fpm-$port.out");
    return ['proc' => $p, 'port' => $port];
}

/**
 * Sends `count` requests to the pool, `parallel` at a time, each with the
 * query `$query + ['n' => i]`; returns the decoded replies in order.
 */
function requests(array $fpm, array $query, int $count, int $parallel, int $first = 0): array
{
    global $cgi_fcgi, $app;
    $replies = [];
    $running = [];
    $next = 0;
    while ($next < $count || $running) {
        while ($next < $count && count($running) < $parallel) {
            $env = [
                'SCRIPT_FILENAME' => $app,
                'REQUEST_METHOD' => 'GET',
                'GATEWAY_INTERFACE' => 'CGI/1.1',
                'QUERY_STRING' => http_build_query($query + ['n' => $first + $next]),
            ];
            $p = proc_open([$cgi_fcgi, '-bind', '-connect', "127.0.0.1:{$fpm['port']}"],
                [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
            stream_set_blocking($pipes[1], false);
            $running[$next] = ['proc' => $p, 'out' => $pipes[1], 'err' => $pipes[2], 'buf' => ''];
            $next++;
        }
        $read = array_map(fn($r) => $r['out'], $running);
        $w = $e = null;
        stream_select($read, $w, $e, 1);
        foreach ($running as $i => &$r) {
            $r['buf'] .= (string) stream_get_contents($r['out']);
            if (feof($r['out'])) {
                fclose($r['out']);
                fclose($r['err']);
                proc_close($r['proc']);
                $body = explode("\r\n\r\n", $r['buf'], 2)[1] ?? '';
                $replies[$i] = json_decode($body, true) ?? ['error' => $r['buf']];
                unset($running[$i]);
            }
        }
        unset($r);
    }
    ksort($replies);
    return $replies;
}

/** Each worker's last counters: pid => counters. */
function last_counters(array $replies): array
{
    $last = [];
    foreach ($replies as $r) {
        if (isset($r['pid'])) {
            $last[$r['pid']] = $r['counters'];
        }
    }
    return $last;
}

function bad_replies(array $replies): array
{
    return array_values(array_filter($replies, fn($r) => !isset($r['pid'])));
}

function percentile(array $values, float $p): int
{
    sort($values);
    return $values[(int) min(count($values) - 1, floor($p * count($values)))] ?? 0;
}

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

foreach ($servers as $s) {
    stop($s['proc']);
}
echo "\nFPM: $passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
