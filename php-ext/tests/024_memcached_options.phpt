--TEST--
McRing\Memcached options side by side with php-memcached: every OPT_* through setOption/setOptions/getOption, how options affect each other, and placement under each distribution and hash
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--FILE--
<?php
include 'memcached.inc';

// Every constant php-memcached defines exists here with its value (the
// HAVE_* ones say what each build offers).
$theirs = (new ReflectionClass('Memcached'))->getConstants();
$ours = (new ReflectionClass('McRing\Memcached'))->getConstants();
$missing = array_diff_key($theirs, $ours);
$different = [];
foreach ($theirs as $name => $value) {
    if (array_key_exists($name, $ours) && $ours[$name] !== $value && !str_starts_with($name, 'HAVE_')) {
        $different[$name] = [$value, $ours[$name]];
    }
}
check('every constant, with its value', $missing === [] && $different === [], [$missing, $different]);
check('only php-memcached 3.3 constants are extra',
    array_keys(array_diff_key($ours, $theirs)) === ['OPT_COMPRESSION_LEVEL', 'OPT_ITEM_SIZE_LIMIT', 'HAVE_ZSTD', 'COMPRESSION_ZSTD'],
    array_keys(array_diff_key($ours, $theirs)));

// Methods with php-memcached's names, parameters and defaults.
$methods = [];
foreach ((new ReflectionClass('Memcached'))->getMethods() as $method) {
    $ourMethod = new ReflectionMethod('McRing\Memcached', $method->getName());
    $describe = fn($m) => array_map(fn($p) => [$p->getName(), $p->isOptional(),
        $p->isDefaultValueAvailable() ? $p->getDefaultValue() : null], $m->getParameters());
    if ($describe($method) !== $describe($ourMethod)) {
        $methods[] = $method->getName();
    }
}
check('every method, with its parameters', $methods === [], $methods);

/** getOption() of every option number and php-memcached option. */
function all_options(object $m): array
{
    $o = [];
    foreach (array_merge(range(0, 37), [-1001, -1002, -1003, -1004, -1005, -1006]) as $option) {
        if ($option === 4 || $option === 5) {
            continue; // socket buffer sizes: the kernel's, see below
        }
        $o[$option] = $m->getOption($option);
    }
    return $o;
}

mc_same('defaults', fn($m) => [all_options($m)]);

// Each option set to a few values, and all options read after each.
$sequences = [
    'libketama on and off' => [[16, true], [16, false]],
    'distribution consistent, weighted, modula' => [[9, 1], [9, 5], [9, 0]],
    'ketama behavior' => [[3, 1], [3, 0]],
    'hashes' => [[2, 1], [2, 3], [2, 9], [2, 10], [2, 7], [2, 11], [17, 1]],
    'timeouts' => [[14, 250], [8, 300], [19, 1000000], [20, 2000000], [15, 7], [36, 3], [14, -1]],
    'failures' => [[21, 3], [21, 0], [35, 1], [28, 0], [37, 2]],
    'replicas' => [[29, 2], [30, true], [29, 4294967297]],
    'protocol and sockets' => [[18, true], [13, true], [18, false], [13, true], [0, true], [1, true],
        [10, true], [32, true], [33, 30]],
    'prefix and hashing' => [[-1002, 'app:'], [25, true], [-1002, ''], [-1002, str_repeat('p', 128)]],
    'compression and serializer' => [[-1001, false], [-1001, 'yes'], [-1001, 1], [-1004, 1], [-1004, 7],
        [-1003, 4], [-1003, 99], [-1003, 2]],
    'user flags and retries' => [[-1006, 65535], [-1006, 70000], [-1006, -5], [-1005, 3]],
    'deprecated and invalid' => [[6, 1], [6, 0], [11, 1], [31, 0], [34, 1], [38, 1], [-5, 1], [12, 1], [22, 10],
        [23, 100], [24, 1], [26, true], [26, false], [27, false]],
];
foreach ($sequences as $name => $steps) {
    mc_same("setOption: $name", function ($m) use ($steps) {
        $o = [];
        foreach ($steps as [$option, $value]) {
            $o[] = [$option, @$m->setOption($option, $value), $m->getResultCode(), all_options($m)];
        }
        return $o;
    });
}

mc_same('setOptions with a name among numbers', function ($m) {
    return [@$m->setOptions([14 => 100, 'x' => 1, 15 => 3]), $m->getResultCode(), all_options($m)];
});

mc_same('setOptions as production code calls it', function ($m) {
    return [$m->setOptions([
        Memcached::OPT_LIBKETAMA_COMPATIBLE => true,
        Memcached::OPT_DISTRIBUTION => Memcached::DISTRIBUTION_CONSISTENT,
        Memcached::OPT_SERVER_FAILURE_LIMIT => 2,
        Memcached::OPT_REMOVE_FAILED_SERVERS => true,
        Memcached::OPT_RETRY_TIMEOUT => 1,
        Memcached::OPT_CONNECT_TIMEOUT => 100,
        Memcached::OPT_POLL_TIMEOUT => 200,
        Memcached::OPT_COMPRESSION => false,
        Memcached::OPT_BINARY_PROTOCOL => true,
        Memcached::OPT_TCP_NODELAY => true,
    ]), $m->getResultCode(), all_options($m)];
});

// php-memcached's memcached.default_* settings (mcring.default_* here).
foreach (['memcached', 'mcring'] as $prefix) {
    ini_set("$prefix.default_consistent_hash", '1');
    ini_set("$prefix.default_binary_protocol", '1');
    ini_set("$prefix.default_connect_timeout", '321');
}
mc_same('new objects take the default_* settings', fn($m) => [all_options($m)]);
foreach (['memcached', 'mcring'] as $prefix) {
    ini_restore("$prefix.default_consistent_hash");
    ini_restore("$prefix.default_binary_protocol");
    ini_restore("$prefix.default_connect_timeout");
}

// The socket buffer sizes: no servers is a warning and null; otherwise a
// number (the kernel's, for a socket of this process's own).
foreach (['Memcached', 'McRing\Memcached'] as $class) {
    $m = new $class();
    $none = @$m->getOption(Memcached::OPT_SOCKET_SEND_SIZE);
    $m->addServers(mc_server_list());
    $m->setOption(Memcached::OPT_SOCKET_RECV_SIZE, 65536);
    check("$class: socket sizes", $none === null && is_int($m->getOption(Memcached::OPT_SOCKET_SEND_SIZE))
        && $m->getOption(Memcached::OPT_SOCKET_SEND_SIZE) > 0 && $m->getOption(Memcached::OPT_SOCKET_RECV_SIZE) === 65536);
}

// Placement: the server getServerByKey() names, for lists of weighted and
// unweighted servers (computed, none contacted), under each distribution
// and hash, with options set before and after the servers (libmemcached's
// weighting depends on the order).
// (One case differs, and is left out: libmemcached builds an unweighted
// continuum's points with the key hash in effect when servers were added, and
// does not rebuild it when OPT_HASH changes afterwards; the engine builds it
// with the hash in use. See the README.)
$lists = [
    'three' => [['127.0.0.1', 11211], ['127.0.0.2', 11211], ['127.0.0.3', 11212]],
    'weighted' => [['127.0.0.1', 11211, 25], ['127.0.0.2', 11212, 25], ['127.0.0.3', 11213, 50], ['127.0.0.4', 11214, 10]],
    'one' => [['127.0.0.5', 11211]],
];
$setups = [
    'modula (default)' => [],
    'modula, crc' => [Memcached::OPT_HASH => Memcached::HASH_CRC],
    'libketama' => [Memcached::OPT_LIBKETAMA_COMPATIBLE => true],
    'consistent' => [Memcached::OPT_DISTRIBUTION => Memcached::DISTRIBUTION_CONSISTENT],
    'consistent, md5' => [Memcached::OPT_DISTRIBUTION => Memcached::DISTRIBUTION_CONSISTENT, Memcached::OPT_HASH => Memcached::HASH_MD5],
    'consistent, fnv1a_32' => [Memcached::OPT_DISTRIBUTION => Memcached::DISTRIBUTION_CONSISTENT, Memcached::OPT_HASH => Memcached::HASH_FNV1A_32],
    'libketama, murmur' => [Memcached::OPT_LIBKETAMA_COMPATIBLE => true, Memcached::OPT_HASH => Memcached::HASH_MURMUR],
    'prefix hashed' => [Memcached::OPT_PREFIX_KEY => 'ns:', Memcached::OPT_HASH_WITH_PREFIX_KEY => true, Memcached::OPT_LIBKETAMA_COMPATIBLE => true],
    'sorted hosts' => [Memcached::OPT_SORT_HOSTS => true, Memcached::OPT_LIBKETAMA_COMPATIBLE => true],
];
foreach ($lists as $lname => $list) {
    foreach ($setups as $sname => $options) {
        foreach (['options first' => true, 'servers first' => false] as $order => $options_first) {
            if (!$options_first && str_starts_with($sname, 'consistent,')) {
                continue;
            }
            $placements = [];
            foreach (['Memcached', 'McRing\Memcached'] as $class) {
                $m = new $class();
                if ($options_first) {
                    $m->setOptions($options);
                    $m->addServers($sname === 'sorted hosts' ? array_reverse($list) : $list);
                } else {
                    $m->addServers($sname === 'sorted hosts' ? array_reverse($list) : $list);
                    $m->setOptions($options);
                }
                $p = [];
                for ($i = 0; $i < mcring_test_rounds(500, 40); $i++) {
                    $s = $m->getServerByKey("key:$i:" . md5((string) $i));
                    $p[] = $s['host'] . ':' . $s['port'];
                }
                $placements[] = $p;
            }
            $same = $placements[0] === $placements[1];
            if (!$same) {
                check("placement: $lname, $sname, $order", false, count(array_diff_assoc($placements[0], $placements[1])));
            }
            $results[] = $same;
        }
    }
}
check('placement: every list, distribution, hash and order (' . count($results) . ' cases)', !in_array(false, $results, true));
// addServer() (not addServers()) of a weighted server under a consistent
// distribution turns weighting on, as in libmemcached.
$p = [];
foreach (['Memcached', 'McRing\Memcached'] as $class) {
    $m = new $class();
    $m->setOption(Memcached::OPT_DISTRIBUTION, Memcached::DISTRIBUTION_CONSISTENT);
    $m->addServer('127.0.0.1', 11211, 3);
    $m->addServer('127.0.0.2', 11211, 1);
    $p[] = array_map(fn($i) => $m->getServerByKey("k$i")['host'], range(0, 300));
    $p[] = $m->getOption(Memcached::OPT_LIBKETAMA_COMPATIBLE);
}
check('addServer of a weighted server', $p[0] === $p[2] && $p[1] === $p[3], [$p[1], $p[3]]);

// Keys are stored where getServerByKey() says, by both.
mc_same('keys stored on the server placement names', function ($m) {
    $m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
    $where = [];
    for ($i = 0; $i < 30; $i++) {
        $key = mc_key("placed$i");
        $m->set($key, $i);
        $s = $m->getServerByKey($key);
        $one = new Memcached();
        $one->addServer($s['host'], $s['port']);
        $where[] = [$s['port'], $one->get($key)];
    }
    return $where;
}, [], array_map(fn($i) => mc_key("placed$i"), range(0, 29)));

// An option changed after servers were added takes effect on the next
// command (the engine client is made again).
$m = mc_new('McRing\Memcached');
$m->set(mc_key('moved'), 'modula');
$before = $m->getServerByKey(mc_key('moved'));
$m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
$pm = mc_new('Memcached', [Memcached::OPT_LIBKETAMA_COMPATIBLE => true]);
check('an option changed after the servers', $m->getServerByKey(mc_key('moved')) === $pm->getServerByKey(mc_key('moved')));

// A connection string: libmemcached's syntax, or an mcring config string.
$servers = mcring_test_servers();
$lm = new McRing\Memcached(null, null, '--SERVER=' . $servers[0] . ' --SERVER=' . $servers[1] . '/?2 --BINARY-PROTOCOL --NAMESPACE="cs:" --CONNECT-TIMEOUT=500');
check('libmemcached connection string', count($lm->getServerList()) === 2 && $lm->getOption(Memcached::OPT_BINARY_PROTOCOL) === 1
    && $lm->getOption(Memcached::OPT_PREFIX_KEY) === 'cs:' && $lm->getOption(Memcached::OPT_CONNECT_TIMEOUT) === 500
    && $lm->set('k', 'v') && $lm->get('k') === 'v', $lm->getServerList());
$mc = new McRing\Memcached(null, null, implode(' ', $servers) . ' io_timeout_ms=300');
check('mcring config string', count($mc->getServerList()) === 3 && $mc->set('k2', 'v') && $mc->get('k2') === 'v');
try {
    new McRing\Memcached(null, null, '--BOGUS-OPTION');
    check('a connection string that cannot be read throws', false);
} catch (McRing\MemcachedException $e) {
    check('a connection string that cannot be read throws', str_contains($e->getMessage(), 'BOGUS'));
}
?>
--EXPECTF--
ok every constant, with its value
ok only php-memcached 3.3 constants are extra
ok every method, with its parameters
ok defaults
ok setOption: libketama on and off
ok setOption: distribution consistent, weighted, modula
ok setOption: ketama behavior
ok setOption: hashes
ok setOption: timeouts
ok setOption: failures
ok setOption: replicas
ok setOption: protocol and sockets
ok setOption: prefix and hashing
ok setOption: compression and serializer
ok setOption: user flags and retries
ok setOption: deprecated and invalid
ok setOptions with a name among numbers
ok setOptions as production code calls it
ok new objects take the default_* settings
ok Memcached: socket sizes
ok McRing\Memcached: socket sizes
ok placement: every list, distribution, hash and order (48 cases)
ok addServer of a weighted server
ok keys stored on the server placement names
ok an option changed after the servers
ok libmemcached connection string
ok mcring config string
%Aok a connection string that cannot be read throws
