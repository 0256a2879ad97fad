<?php
/*
 * The pattern many php-memcached applications use on every request: a
 * Memcached object under a persistent id, options and servers set each time
 * (no getServerList() check), then a read and a write. Reports the server
 * list the object ends up with and what it did.
 *
 * Query: servers=h:p,h:p  n=<request number>
 */
$m = new McRing\Memcached('every-request');
$m->setOptions([McRing\Memcached::OPT_LIBKETAMA_COMPATIBLE => true, McRing\Memcached::OPT_TCP_NODELAY => true]);
$m->addServers(array_map(fn($s) => explode(':', $s), explode(',', $_GET['servers'] ?? '')));
$n = (int) ($_GET['n'] ?? 0);
$ok = $m->set("every:$n", $n) && $m->get("every:$n") === $n;
header('Content-Type: application/json');
echo json_encode([
    'pid' => getmypid(),
    'ok' => $ok,
    'pristine' => $m->isPristine(),
    'servers' => count($m->getServerList()),
]);
