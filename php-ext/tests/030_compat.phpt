--TEST--
mcring.memcached_compat=On without php-memcached: \Memcached is McRing\Memcached; a production pool class and framework-style cache layers run unchanged and place keys where php-memcached does
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--CONFLICTS--
all
--FILE--
<?php
include 'memcached.inc';

/** Runs a compat script in a PHP of its own: mcring in compat mode, no php-memcached. */
function run_compat(string $script, array $env = [], array $ini = []): string
{
    $dir = getenv('MCRING_TEST_EXTENSION_DIR');
    $cmd = [PHP_BINARY, '-n', '-d', "extension=$dir/igbinary.so", '-d', "extension=$dir/msgpack.so",
        '-d', 'extension=' . getenv('MCRING_TEST_EXTENSION'), '-d', 'mcring.memcached_compat=On'];
    foreach ($ini as $name => $value) {
        array_push($cmd, '-d', "$name=$value");
    }
    $cmd[] = __DIR__ . "/compat/$script";
    $p = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env + getenv());
    $out = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
    proc_close($p);
    return $out;
}

// php-memcached's placement for the production pool's servers and options.
$pm = new Memcached();
$pm->setOptions([Memcached::OPT_LIBKETAMA_COMPATIBLE => true, Memcached::OPT_DISTRIBUTION => Memcached::DISTRIBUTION_CONSISTENT,
    Memcached::OPT_SERVER_FAILURE_LIMIT => 2, Memcached::OPT_REMOVE_FAILED_SERVERS => true, Memcached::OPT_RETRY_TIMEOUT => 1,
    Memcached::OPT_COMPRESSION => false, Memcached::OPT_BINARY_PROTOCOL => true]);
$pm->addServers(array_map(fn($s) => [$s[0], $s[1], 25], mc_server_list()));
$expected = [];
for ($i = 0; $i < mcring_test_rounds(2000, 200); $i++) {
    $key = "prod:$i:" . substr(md5((string) $i), 0, 8);
    $s = $pm->getServerByKey($key);
    $expected[$key] = $s['host'] . ':' . $s['port'];
}
echo run_compat('production_pool.php', ['MCRING_EXPECTED_PLACEMENT' => json_encode($expected)]);
echo run_compat('frameworks.php');

// With php-memcached loaded, compat mode stays off, with a warning.
$dir = getenv('MCRING_TEST_EXTENSION_DIR');
$out = shell_exec(escapeshellarg(PHP_BINARY) . " -n -d extension=$dir/igbinary.so -d extension=$dir/msgpack.so"
    . " -d extension=$dir/memcached.so -d extension=" . escapeshellarg(getenv('MCRING_TEST_EXTENSION'))
    . " -d mcring.memcached_compat=On -r 'echo get_class(new Memcached), PHP_EOL;' 2>&1");
check('php-memcached loaded: \Memcached stays its own', str_contains($out, 'php-memcached is loaded') && str_ends_with(trim($out), 'Memcached')
    && !str_contains($out, 'McRing'), $out);
?>
--EXPECT--
ok \Memcached is McRing\Memcached
ok a new pool
ok remember computes once
ok getStats of every server
ok options as set
ok the pool is reused as it is
ok placement equals php-memcached's
ok keys are stored on that server
ok laravel: a miss is null
ok laravel: put and get
ok laravel: an object comes back as itself
ok laravel: false is a value, found
ok laravel: putMany and many, in order, with misses
ok laravel: add only once
ok laravel: increment and decrement
ok laravel: forever, a long ttl, forget
ok laravel: locks
ok laravel: a persistent connection id reused, servers not added again
ok laravel: keys carry the prefix on the wire
ok symfony: save several with a lifetime
ok symfony: fetch what is there
ok symfony: has
ok symfony: delete, missing keys included
ok symfony: clear
ok symfony: a failure is an exception with the message
ok \MemcachedException is McRing\MemcachedException
ok php-memcached's ini names are there
ok php-memcached loaded: \Memcached stays its own
