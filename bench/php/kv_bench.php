<?php
/*
 * Single-thread key-value benchmark of the PHP clients against the C floor.
 *
 * Three memcached servers on free 127.0.0.1 ports; every client and server
 * is pinned to one core (taskset -c 0), so each request costs the same
 * context switches for every client. Workloads, as bench/c/kv_common.h
 * defines them: get and set of one key (1000 keys, 100-byte values) and
 * getMulti of 100 keys spread over the 3 servers. Clients, each in its own
 * process, in the same run:
 *
 *     floor          bench/c/kv_floor.c: raw blocking sockets, no placement, no parsing
 *     mcring         McRing\Client (ketama-weighted, the default)
 *     mcring-memcached  McRing\Memcached, configured as php-memcached is:
 *                    OPT_LIBKETAMA_COMPATIBLE and OPT_TCP_NODELAY
 *     php-memcached  Memcached with OPT_LIBKETAMA_COMPATIBLE and OPT_TCP_NODELAY
 *     engine         for reference: the mcring engine called from Rust
 *                    (bench/src/kv.rs), i.e. mcring without PHP
 *
 * The PHP clients run in the same interpreter setup (php -n with both
 * extensions loaded). Each figure is the median of --rounds rounds; the
 * clients take turns within a round.
 *
 *     bench/php/run.sh [--rounds N]     # builds what it needs and runs this
 */

const KEYS = 1000;
const MULTI = 100;
const WORKLOADS = ['get' => 50000, 'set' => 50000, 'mget' => 5000];
const CLIENTS = ['floor', 'mcring', 'mcring-memcached', 'php-memcached', 'engine'];

function make_client(string $name, array $servers): object
{
    if ($name === 'mcring') {
        return new McRing\Client($servers);
    }
    // php-memcached's configuration, for php-memcached and for the drop-in.
    $m = $name === 'mcring-memcached' ? new McRing\Memcached() : new Memcached();
    $m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
    $m->setOption(Memcached::OPT_TCP_NODELAY, true);
    $m->addServers(array_map(fn($s) => [explode(':', $s)[0], (int) explode(':', $s)[1]], $servers));
    return $m;
}

/** Preloads the keys, runs `ops` operations and prints ops per second. */
function run_client(string $name, string $op, int $ops, array $servers): void
{
    $c = make_client($name, $servers);
    $value = str_repeat('x', 100);
    $keys = [];
    for ($i = 0; $i < KEYS; $i++) {
        $keys[] = "$name:$i";
        $c->set("$name:$i", $value);
    }
    $batches = [];
    for ($b = 0; $b < KEYS / MULTI; $b++) {
        $batches[] = array_slice($keys, $b * MULTI, MULTI);
    }
    if ($c->get($keys[0]) !== $value || count($c->getMulti($batches[0])) !== MULTI) {
        fwrite(STDERR, "$name: preloaded keys do not read back\n");
        exit(1);
    }
    $start = hrtime(true);
    if ($op === 'get') {
        for ($i = 0; $i < $ops; $i++) {
            $c->get($keys[$i % KEYS]);
        }
    } elseif ($op === 'set') {
        for ($i = 0; $i < $ops; $i++) {
            $c->set($keys[$i % KEYS], $value);
        }
    } else {
        $n = count($batches);
        for ($i = 0; $i < $ops; $i++) {
            $c->getMulti($batches[$i % $n]);
        }
    }
    $seconds = (hrtime(true) - $start) / 1e9;
    printf("%.0f\n", $ops / $seconds);
}

// ---- the run ----------------------------------------------------------------

function free_port(): int
{
    $s = stream_socket_server('tcp://127.0.0.1:0');
    $port = (int) explode(':', stream_socket_get_name($s, false))[1];
    fclose($s);
    return $port;
}

function start_memcached(): array
{
    $port = free_port();
    $command = ['taskset', '-c', '0', 'memcached', '-l', '127.0.0.1', '-p', (string) $port, '-U', '0', '-t', '1'];
    if (trim((string) shell_exec('id -u')) === '0') {
        array_push($command, '-u', 'root');
    }
    $p = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
    for ($i = 0; $i < 500; $i++) {
        $s = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $error, 1);
        if ($s !== false) {
            fclose($s);
            return [$p, "127.0.0.1:$port"];
        }
        usleep(20000);
    }
    fwrite(STDERR, "memcached did not start\n");
    exit(1);
}

/** One pinned run of one client; its ops per second. */
function measure(string $client, string $op, int $ops, array $servers, array $binaries, array $php): float
{
    $command = isset($binaries[$client])
        ? array_merge([$binaries[$client], $op, (string) $ops], $servers)
        : array_merge($php, [__FILE__, '--client', $client, $op, (string) $ops], $servers);
    $p = proc_open(array_merge(['taskset', '-c', '0'], $command), [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    if (proc_close($p) !== 0) {
        fwrite(STDERR, "$client $op failed:\n$out$err");
        exit(1);
    }
    return (float) trim($out);
}

function median(array $values): float
{
    sort($values);
    return $values[intdiv(count($values) - 1, 2)];
}

$args = array_slice($argv, 1);
if (($args[0] ?? '') === '--client') {
    [, $client, $op, $ops] = $args;
    run_client($client, $op, (int) $ops, array_slice($args, 4));
    exit(0);
}
$options = getopt('', ['rounds:', 'floor:', 'engine:', 'php:']);
$rounds = (int) ($options['rounds'] ?? 3);
$binaries = ['floor' => $options['floor'] ?? '', 'engine' => $options['engine'] ?? ''];
// The interpreter command the PHP clients run with: both extensions loaded.
$php = explode(' ', $options['php'] ?? '');
if (!is_executable($binaries['floor']) || !is_executable($binaries['engine']) || $php === ['']) {
    fwrite(STDERR, "usage: php kv_bench.php --floor=/path/kv_floor --engine=/path/kv --php='php -n -d extension=...' [--rounds=N]\n");
    exit(2);
}

$procs = [];
$servers = [];
for ($i = 0; $i < 3; $i++) {
    [$procs[], $servers[]] = start_memcached();
}
$results = [];
foreach (WORKLOADS as $op => $ops) {
    for ($r = 0; $r < $rounds; $r++) {
        foreach (CLIENTS as $client) {
            $results[$op][$client][] = measure($client, $op, $ops, $servers, $binaries, $php);
        }
    }
}
foreach ($procs as $p) {
    proc_terminate($p);
    proc_close($p);
}

$names = ['get' => 'get', 'set' => 'set', 'mget' => 'getMulti (100 keys)'];
echo "| workload | floor ops/s | McRing\\Client ops/s | McRing\\Memcached ops/s | php-memcached ops/s | McRing\\Client / floor | McRing\\Memcached / McRing\\Client | McRing\\Memcached / php-memcached | McRing\\Client / php-memcached | engine alone / floor |\n";
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
foreach ($results as $op => $by) {
    $f = median($by['floor']);
    $m = median($by['mcring']);
    $d = median($by['mcring-memcached']);
    $p = median($by['php-memcached']);
    $e = median($by['engine']);
    printf("| %s | %.0f | %.0f | %.0f | %.0f | %.2f× | %.3f | %.2f | %.2f | %.2f× |\n", $names[$op], $f, $m, $d, $p,
        $m / $f, $d / $m, $d / $p, $m / $p, $e / $f);
}
printf("\n(median of %d rounds; 3 memcached servers, 1000 keys, 100-byte values; clients and servers pinned to CPU 0)\n", $rounds);
