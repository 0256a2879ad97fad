<?php
/*
 * The application the PHP-FPM herd test requests: every worker reads one
 * missing key at the same moment through a lease, and reports what it got
 * and how long it waited.
 *
 * Query: servers=h:p,h:p  key=K  log=PATH  at=<unix time to start>
 *        api=memcached|client  compute_ms=N  lease_ttl=S  die=0|1
 *   memcached  McRing\Memcached::get($key, $cache_cb) (php-memcached's
 *              read-through callback)
 *   client     McRing\Client::getOrSet($key, $compute, 60, ['lease_ttl' => S])
 * The callback appends this worker's pid to PATH, then takes compute_ms;
 * with die=1 the first callback SIGKILLs its own worker mid-compute.
 */
$servers = explode(',', $_GET['servers'] ?? '');
$key = $_GET['key'] ?? 'herd';
$log = $_GET['log'] ?? '/dev/null';
$compute_ms = (int) ($_GET['compute_ms'] ?? 200);
$die = ($_GET['die'] ?? '0') === '1';

$compute = function () use ($log, $compute_ms, $die) {
    file_put_contents($log, getmypid() . "\n", FILE_APPEND | LOCK_EX);
    if ($die && count(file($log)) === 1) {
        // The winner's worker dies holding the lease (an OOM kill, a
        // deploy): its request never answers.
        shell_exec('kill -9 ' . getmypid());
        sleep(10);
    }
    usleep($compute_ms * 1000);
    return 'computed by ' . getmypid();
};

// Persistent objects: the worker's pool and connections outlive requests.
if (($_GET['api'] ?? '') === 'memcached') {
    $m = new McRing\Memcached('herd');
    if (!$m->getServerList()) {
        $m->addServers(array_map(fn($s) => explode(':', $s), $servers));
    }
} else {
    $c = new McRing\Client($servers, [], 'herd');
}
// Every worker's connections are up before the herd starts.
($m ?? $c)->get('warm-up');
$at = (float) ($_GET['at'] ?? 0);
if ($at > microtime(true)) {
    time_sleep_until($at);
}

$start = hrtime(true);
if (isset($m)) {
    $value = $m->get($key, function ($memc, $key, &$value, &$expiration) use ($compute) {
        $value = $compute();
        $expiration = 60;
        return true;
    });
    $code = $m->getResultCode();
} else {
    $value = $c->getOrSet($key, $compute, 60, ['lease_ttl' => (int) ($_GET['lease_ttl'] ?? 3)]);
    $code = $c->getResultCode();
}
header('Content-Type: application/json');
echo json_encode([
    'pid' => getmypid(),
    'value' => $value,
    'code' => $code,
    'ms' => intdiv(hrtime(true) - $start, 1000000),
    'counters' => [],
]);
