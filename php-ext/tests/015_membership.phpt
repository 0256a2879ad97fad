--TEST--
Server list changes after first use: addServer, addServers, resetServerList, setServers, removeServer; placement equals php-memcached's after each; values survive a resize
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';

/** php-memcached over the same [host, port, weight] list. */
function memcached_for(array $list): Memcached
{
    $m = new Memcached();
    $m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
    $m->addServers($list);
    return $m;
}

/** How many of 2000 keys mcring places elsewhere than php-memcached. */
function mismatches(McRing\Client $mc): int
{
    $list = array_map(fn($s) => [$s['host'], $s['port'], $s['weight']], $mc->getServerList());
    $m = memcached_for($list);
    $bad = 0;
    for ($i = 0; $i < 2000; $i++) {
        $key = "elastic:$i";
        $ours = $mc->getServerByKey($key);
        $theirs = $m->getServerByKey($key);
        if ($ours['host'] !== $theirs['host'] || $ours['port'] !== $theirs['port']) {
            $bad++;
        }
    }
    return $bad;
}

function names(McRing\Client $mc): array
{
    return array_map(fn($s) => $s['host'] . ':' . $s['port'], $mc->getServerList());
}

// Computed only: these servers are never contacted.
$mc = new McRing\Client(['127.6.0.1:11211', '127.6.0.2:11211', '127.6.0.3:11212']);
$mc->getServerByKey('first use');
check('three servers', mismatches($mc) === 0);
check('addServer', $mc->addServer('127.6.0.4', 11211) && names($mc)[3] === '127.6.0.4:11211' && mismatches($mc) === 0);
check('addServer with a weight', $mc->addServer('127.6.0.5', 11300, 3) && $mc->getServerList()[4]['weight'] === 3 && mismatches($mc) === 0);
check('addServers', $mc->addServers([['127.6.0.6', 11211], ['127.6.0.7', 11211, 2]]) && count($mc->getServerList()) === 7 && mismatches($mc) === 0);
check('removeServer', $mc->removeServer('127.6.0.2:11211') && !in_array('127.6.0.2:11211', names($mc)) && mismatches($mc) === 0);
check('setServers', $mc->setServers('127.6.1.1:11211 127.6.0.3:11212') && names($mc) === ['127.6.1.1:11211', '127.6.0.3:11212'] && mismatches($mc) === 0);
check('resetServerList', $mc->resetServerList() && $mc->getServerList() === []);
check('no servers', $mc->get('k') === false && $mc->getResultCode() === McRing\Client::RES_NO_SERVERS);
check('addServers after a reset', $mc->addServers([['127.6.2.1', 11211], ['127.6.2.2', 11211]]) && mismatches($mc) === 0);
check('IPv6 host', $mc->addServer('::1', 11299) && array_slice($mc->getServerList(), -1)[0] === ['host' => '::1', 'port' => 11299, 'weight' => 1]
    && $mc->getServerByKey('k') !== false);

// Bad input: false, a specific message, and the list as it was.
$before = $mc->getServerList();
$bad = [
    'port 0' => fn() => $mc->addServer('127.6.3.1', 0),
    'empty host' => fn() => $mc->addServer('', 11211),
    'host with a space' => fn() => $mc->addServer('127.6.3.1 127.6.3.2', 11211),
    'negative weight' => fn() => $mc->addServer('127.6.3.1', 11211, -1),
    'addServers entry not a list' => fn() => $mc->addServers(['127.6.3.1:11211']),
    'addServers bad port' => fn() => $mc->addServers([['127.6.3.1', 70000]]),
    'removeServer unknown' => fn() => $mc->removeServer('127.6.9.9:11211'),
    'setServers bad token' => fn() => $mc->setServers('127.6.3.1:11211 nonsense:port'),
];
foreach ($bad as $what => $call) {
    $ok = $call() === false && $mc->getResultCode() === McRing\Client::RES_BAD_CONFIG && $mc->getResultMessage() !== '';
    check("$what refused", $ok && $mc->getServerList() === $before, [$mc->getResultCode(), $mc->getResultMessage()]);
}

// On real servers: values survive adding a server (moved keys are copied to
// their new owner on first read) and removing one with drain.
$servers = mcring_test_servers();
$p = 'resize-' . getmypid() . ':';
$mc = new McRing\Client([$servers[0], $servers[1]]);
for ($i = 0; $i < 600; $i++) {
    $mc->set($p . $i, "v$i");
}
[$host, $port] = explode(':', $servers[2]);
check('addServer after use', $mc->addServer($host, (int) $port));
$hits = 0;
for ($i = 0; $i < 600; $i++) {
    $hits += $mc->get($p . $i) === "v$i" ? 1 : 0;
}
$migrated = $mc->getClientStats()['total']['migrated_keys'];
check('every key found after the add', $hits === 600, $hits);
check('about a third migrated', $migrated > 100 && $migrated < 400, $migrated);
check('removeServer with drain', $mc->removeServer($servers[0], true));
$hits = 0;
for ($i = 0; $i < 600; $i++) {
    $hits += $mc->get($p . $i) === "v$i" ? 1 : 0;
}
check('every key found after the drained removal', $hits === 600, $hits);
$m = mcring_test_memcached([$servers[1], $servers[2]]);
$theirs = 0;
for ($i = 0; $i < 600; $i++) {
    $theirs += $m->get($p . $i) !== false ? 1 : 0;
}
check('php-memcached over the new list finds them too', $theirs === 600, $theirs);

// A persistent client's list change is seen by the next object of that id
// in this process (as with php-memcached), not by another id.
$a = new McRing\Client([$servers[0]], [], 'elastic');
$a->addServer($host, (int) $port);
$b = new McRing\Client([$servers[0]], [], 'elastic');
check('persistent: the next object sees the change', names($b) === [$servers[0], $servers[2]]);
$c = new McRing\Client([$servers[0]], [], 'elastic-other');
check('persistent: another id does not', names($c) === [$servers[0]]);
?>
--EXPECT--
ok three servers
ok addServer
ok addServer with a weight
ok addServers
ok removeServer
ok setServers
ok resetServerList
ok no servers
ok addServers after a reset
ok IPv6 host
ok port 0 refused
ok empty host refused
ok host with a space refused
ok negative weight refused
ok addServers entry not a list refused
ok addServers bad port refused
ok removeServer unknown refused
ok setServers bad token refused
ok addServer after use
ok every key found after the add
ok about a third migrated
ok removeServer with drain
ok every key found after the drained removal
ok php-memcached over the new list finds them too
ok persistent: the next object sees the change
ok persistent: another id does not
