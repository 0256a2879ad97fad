<?php
/*
 * The application the PHP-FPM pool test requests: one McRing\Client per
 * request (persistent or not, as asked), a write and a multi-key read, and
 * a JSON report of what it cost and what the client counted.
 *
 * Query: servers=h:p,h:p  options=<json>  pid=<persistent id or empty>  n=<request number>
 */
$servers = explode(',', $_GET['servers'] ?? '');
$options = json_decode($_GET['options'] ?? '{}', true) ?: [];
$persistent_id = ($_GET['pid'] ?? '') === '' ? null : $_GET['pid'];
$n = (int) ($_GET['n'] ?? 0);

$start = hrtime(true);
$c = new McRing\Client($servers, $options, $persistent_id);
$codes = [];
$c->set("fpm:$n", $n);
$codes[] = $c->getResultCode();
$keys = [];
for ($i = 0; $i < 30; $i++) {
    $keys[] = 'fpm:' . (($n + $i * 7) % 500);
}
$c->getMulti($keys);
$codes[] = $c->getResultCode();
$elapsed_us = intdiv(hrtime(true) - $start, 1000);

header('Content-Type: application/json');
echo json_encode([
    'pid' => getmypid(),
    'pristine' => $c->isPristine(),
    'persistent' => $c->isPersistent(),
    'codes' => $codes,
    'us' => $elapsed_us,
    'counters' => $c->getClientStats()['total'],
]);
