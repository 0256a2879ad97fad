<?php
/*
 * The application bench/scale/fpm_connections.py requests from its PHP-FPM
 * pool: one client per request, as a web application makes it, then a
 * multi-get of 100 keys (spread over the pool's servers).
 *
 * Query: client=mcring|php-memcached|none|preload  servers=h:p,h:p,...
 *        pid=<persistent id, or empty for none>  n=<request number>
 *        options=<JSON of mcring options>
 */
$client = $_GET['client'] ?? 'none';
$servers = explode(',', $_GET['servers'] ?? '');
$persistent_id = ($_GET['pid'] ?? '') === '' ? null : $_GET['pid'];
$n = (int) ($_GET['n'] ?? 0);
$options = json_decode($_GET['options'] ?? '{}', true) ?: [];

$keys = [];
for ($i = 0; $i < 100; $i++) {
    $keys[] = 'fpm:' . (($n * 100 + $i) % 1000);
}
$found = 0;
if ($client === 'preload') {
    // The keys, as plain strings both clients read.
    $c = new McRing\Client($servers, $options);
    for ($i = 0; $i < 1000; $i++) {
        $found += $c->set("fpm:$i", str_repeat('x', 100)) ? 1 : 0;
    }
} elseif ($client === 'mcring') {
    $c = new McRing\Client($servers, $options, $persistent_id);
    $found = count($c->getMulti($keys));
} elseif ($client === 'php-memcached') {
    $c = $persistent_id === null ? new Memcached() : new Memcached($persistent_id);
    if (!$c->getServerList()) {
        // A persistent instance keeps its servers: add them once.
        $c->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
        $c->setOption(Memcached::OPT_TCP_NODELAY, true);
        $c->addServers(array_map(fn($s) => [explode(':', $s)[0], (int) explode(':', $s)[1]], $servers));
    }
    $found = count($c->getMulti($keys) ?: []);
}
header('Content-Type: application/json');
echo json_encode(['pid' => getmypid(), 'found' => $found]);
