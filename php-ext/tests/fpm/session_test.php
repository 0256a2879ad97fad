<?php
/*
 * Sessions under PHP-FPM (4 workers each), driven with FastCGI requests:
 *
 * 1. locking: two concurrent requests on one session run one after the
 *    other (the second waits for the lock the first holds), and a lock that
 *    cannot be had fails session_start() with a warning;
 * 2. replicas: with sess_number_of_replicas=1, SIGKILL of a memcached loses
 *    no session;
 * 3. interoperation: sessions written by php-memcached's handler
 *    ("memcached"), by mcring's ("mcring"), and by mcring's in compat mode
 *    ("memcached", reading php-memcached's memcached.sess_* settings) are
 *    read by each of the others, from the same keys.
 *
 *   php -n session_test.php /path/to/mcring.so
 */

include __DIR__ . '/fpm.inc';

$session_app = __DIR__ . '/session_app.php';
$servers = [start_memcached(), start_memcached(), start_memcached()];
$names = array_column($servers, 'name');
$save_path = implode(',', $names);

/** One request to the session app. */
function session_request(array $fpm, array $query): array
{
    return requests($fpm, $query, 1, 1)[0];
}

/** Requests with their queries, all at once (one per worker). */
function session_requests(array $fpm, array $queries): array
{
    $out = [];
    $procs = [];
    foreach ($queries as $i => $q) {
        [$delay, $query] = $q;
        usleep($delay * 1000);
        $procs[$i] = start_session_request($fpm, $query);
    }
    foreach ($procs as $i => $p) {
        $out[$i] = finish_session_request($p);
    }
    return $out;
}

function start_session_request(array $fpm, array $query)
{
    global $cgi_fcgi;
    $env = [
        'SCRIPT_FILENAME' => $fpm['app'],
        'REQUEST_METHOD' => 'GET',
        'GATEWAY_INTERFACE' => 'CGI/1.1',
        'QUERY_STRING' => http_build_query($query),
    ];
    $p = proc_open([$cgi_fcgi, '-bind', '-connect', "127.0.0.1:{$fpm['port']}"],
        [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
    return [$p, $pipes];
}

function finish_session_request($running): array
{
    [$p, $pipes] = $running;
    $buf = stream_get_contents($pipes[1]);
    fclose($pipes[1]);
    fclose($pipes[2]);
    proc_close($p);
    $body = explode("\r\n\r\n", $buf, 2)[1] ?? '';
    return json_decode($body, true) ?? ['error' => $buf];
}

$mcring_ini = ['session.save_handler' => 'mcring', 'session.save_path' => $save_path];

// ---------------------------------------------------------------------------
echo "1. locking (" . WORKERS . " workers)\n";
$fpm = start_fpm($mcring_ini + ['mcring.sess_lock_retries' => '20'], [], $session_app);
$sid = 'lock' . getmypid();
session_request($fpm, ['sid' => $sid, 'do' => 'write', 'value' => 'first']);
// A holds the session for 600 ms; B asks for it 150 ms later.
[$a, $b] = session_requests($fpm, [[0, ['sid' => $sid, 'do' => 'hold', 'ms' => 600]], [150, ['sid' => $sid, 'do' => 'write', 'value' => 'second']]]);
check('both requests ran, in different workers', $a['started'] && $b['started'] && $a['pid'] !== $b['pid'], [$a, $b]);
printf("     A held the session %.0f ms; B asked %.0f ms after A started and got it %.0f ms after A closed it\n",
    ($a['closed_at'] - $a['started_at']) * 1000, ($b['asked_at'] - $a['started_at']) * 1000,
    ($b['started_at'] - $a['closed_at']) * 1000);
check('B waited for A: it started after A closed the session', $b['started_at'] >= $a['closed_at'] - 0.005, [$a, $b]);
check('B saw what A wrote (and wrote its own after it)', ($b['session']['held'] ?? 0) === 1
    && $b['session']['writes'] === 2 && $b['session']['value'] === 'second', $b['session']);
$c = session_request($fpm, ['sid' => $sid, 'do' => 'read']);
check('the lock is released at the end of a request', $c['started'] && $c['session']['value'] === 'second'
    && ($c['started_at'] - $c['asked_at']) < 0.1, $c);
stop($fpm['proc']);

// The lock held longer than the retries wait: session_start() fails.
$fpm = start_fpm($mcring_ini + ['mcring.sess_lock_retries' => '2', 'mcring.sess_lock_wait_min' => '50',
    'mcring.sess_lock_wait_max' => '50'], [], $session_app);
[$a, $b] = session_requests($fpm, [[0, ['sid' => $sid, 'do' => 'hold', 'ms' => 800]], [100, ['sid' => $sid, 'do' => 'read']]]);
check('a lock that cannot be had fails session_start() with a warning', $a['started'] && $b['started'] === false
    && in_array('session_start(): Unable to clear session lock record', $b['warnings'], true), $b);
stop($fpm['proc']);

// ---------------------------------------------------------------------------
echo "2. replicas: SIGKILL of a memcached with sess_number_of_replicas=1\n";
$fpm = start_fpm($mcring_ini + ['mcring.sess_number_of_replicas' => '1', 'mcring.sess_connect_timeout' => '200'],
    [], $session_app);
$count = 120;
$items_before = array_sum(array_map(fn($n) => (int) server_stats($n)['curr_items'], $names));
$written = 0;
for ($i = 0; $i < $count; $i++) {
    $r = session_request($fpm, ['sid' => "rep$i-" . getmypid(), 'do' => 'write', 'value' => "v$i"]);
    $written += ($r['closed'] ?? false) ? 1 : 0;
}
check("$count sessions written", $written === $count, $written);
$copies = 0;
foreach ($names as $name) {
    $copies += (int) server_stats($name)['curr_items'];
}
check('each session (and nothing else: no lock is left) is on two servers', $copies - $items_before === 2 * $count,
    $copies - $items_before);
proc_terminate($servers[1]['proc'], SIGKILL);
proc_close($servers[1]['proc']);
$processes = array_values(array_filter($processes, fn($q) => $q !== $servers[1]['proc']));
$read = 0;
$bad = [];
for ($i = 0; $i < $count; $i++) {
    $r = session_request($fpm, ['sid' => "rep$i-" . getmypid(), 'do' => 'read']);
    if (($r['session']['value'] ?? null) === "v$i") {
        $read++;
    } else {
        $bad[] = $r;
    }
}
check("every session is read after the kill ($read of $count)", $read === $count, $bad[0] ?? null);
stop($fpm['proc']);
$servers[1] = start_memcached();
$names = array_column($servers, 'name');
$save_path = implode(',', $names);
foreach ($names as $name) {
    $s = stream_socket_client("tcp://$name");
    fwrite($s, "flush_all\r\n");
    fgets($s);
    fclose($s);
}

// ---------------------------------------------------------------------------
echo "3. php-memcached's handler and mcring's read each other's sessions\n";
$common = ['session.save_path' => $save_path];
$pools = [
    'php-memcached' => start_fpm($common + ['session.save_handler' => 'memcached', 'memcached.sess_number_of_replicas' => '1'],
        ['igbinary', 'msgpack', 'memcached'], $session_app),
    'mcring' => start_fpm($common + ['session.save_handler' => 'mcring', 'mcring.sess_number_of_replicas' => '1'],
        [], $session_app),
    'mcring compat' => start_fpm($common + ['session.save_handler' => 'memcached', 'mcring.memcached_compat' => 'On',
        'memcached.sess_number_of_replicas' => '1'], ['igbinary', 'msgpack'], $session_app),
];
foreach ($pools as $writer => $wpool) {
    foreach ($pools as $reader => $rpool) {
        if ($writer === $reader) {
            continue;
        }
        $sid = 'x' . md5("$writer$reader" . getmypid());
        $w = session_request($wpool, ['sid' => $sid, 'do' => 'write', 'value' => "from $writer"]);
        $r = session_request($rpool, ['sid' => $sid, 'do' => 'read']);
        session_request($rpool, ['sid' => $sid, 'do' => 'write', 'value' => "to $reader"]);
        $back = session_request($wpool, ['sid' => $sid, 'do' => 'read']);
        check("$writer -> $reader and back", $w['closed'] && ($r['session']['value'] ?? null) === "from $writer"
            && ($back['session']['value'] ?? null) === "to $reader" && $back['session']['writes'] === 2,
            [$w['handler'] ?? $w, $r, $back['session'] ?? $back]);
    }
}
// The same keys and bytes: each handler's session, read over a plain socket.
$raw = [];
foreach ($pools as $name => $pool) {
    $sid = 'raw' . getmypid();
    session_request($pool, ['sid' => $sid, 'do' => 'write', 'value' => 'same bytes']);
    $found = [];
    foreach ($names as $server) {
        $s = stream_socket_client("tcp://$server");
        fwrite($s, "get memc.sess.key.$sid\r\n");
        $line = trim(fgets($s));
        if (str_starts_with($line, 'VALUE')) {
            $found[] = [$server, $line, fgets($s)];
        }
        fwrite($s, "delete memc.sess.key.$sid\r\n");
        fclose($s);
    }
    $raw[$name] = $found;
}
check('the same keys, servers (primary and replica), flags and bytes', count(array_unique(array_map('serialize', $raw))) === 1
    && count($raw['mcring']) === 2, $raw);
foreach ($pools as $pool) {
    stop($pool['proc']);
}

foreach ($servers as $s) {
    stop($s['proc']);
}
echo "\nFPM sessions: $passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
