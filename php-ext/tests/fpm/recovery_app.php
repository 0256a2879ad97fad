<?php
/*
 * The application the PHP-FPM recovery test requests: one persistent
 * McRing\Client per worker, and one of three actions, with a JSON report of
 * what the client did and counted.
 *
 * Query: servers=h:p,h:p  options=<json>  action=write|traffic|read  keys=N  n=<request number>
 *   write    sets keep:0 .. keep:N-1 (the keys that must survive the blip)
 *   traffic  sets and reads 10 keys of its own (traffic:n:0 .. traffic:n:9)
 *   read     reads keep:0 .. keep:N-1 and names the ones not found
 */
$servers = explode(',', $_GET['servers'] ?? '');
$options = json_decode($_GET['options'] ?? '{}', true) ?: [];
$n = (int) ($_GET['n'] ?? 0);
$count = (int) ($_GET['keys'] ?? 0);

$c = new McRing\Client($servers, $options, 'recovery');
$report = ['pid' => getmypid()];
$keep = array_map(fn($i) => "keep:$i", range(0, max(0, $count - 1)));
switch ($_GET['action'] ?? '') {
    case 'write':
        $report['stored'] = count(array_filter($keep, fn($k) => $c->set($k, "value of $k")));
        break;
    case 'traffic':
        $start = hrtime(true);
        for ($i = 0; $i < 10; $i++) {
            $c->set("traffic:$n:$i", $i);
            $c->get("traffic:$n:$i");
        }
        $report['us'] = intdiv(hrtime(true) - $start, 1000);
        break;
    case 'read':
        $found = $c->getMulti($keep);
        $report['missing'] = array_values(array_filter($keep, fn($k) => ($found[$k] ?? null) !== "value of $k"));
        break;
}
$report['counters'] = $c->getClientStats()['servers'];
header('Content-Type: application/json');
echo json_encode($report);
