<?php
/*
 * One PHP client running one benchmark workload, as the C clients do.
 *
 *     php kv_client.php <mcring|php-memcached> <op> <ops> <host:port>...
 *
 * prints <ops_per_second> (<ops/s> <p50_us> <p99_us> with KV_LATENCY=1), for
 * the workloads bench/c/kv_common.h defines, read from the same environment:
 * KV_KEYS, KV_MULTI, KV_VALUE_LEN, KV_VALUE_FILE, KV_LATENCY. Ops: get, set,
 * mget, mset, mdel.
 *
 *     KV_MCRING_OPTIONS  mcring: config options, "name=value name=value"
 *     KV_COMPRESS=1  mcring: compress_threshold 2000 (its default; else 0)
 *                    php-memcached: OPT_COMPRESSION with zlib (the format
 *                    mcring writes; php-memcached's default is FastLZ) above
 *                    memcached.compression_threshold (2000); else no
 *                    compression
 *
 * Run by the scale benchmarks (bench/scale/) with both extensions loaded.
 */

function env_int(string $name, int $default): int
{
    $v = getenv($name);
    return $v === false || $v === '' ? $default : (int) $v;
}

[, $name, $op, $ops] = $argv;
$ops = (int) $ops;
$servers = array_slice($argv, 4);
$keys_n = env_int('KV_KEYS', 1000);
$multi = env_int('KV_MULTI', 100);
$latency = env_int('KV_LATENCY', 0) === 1;
$compress = env_int('KV_COMPRESS', 0) === 1;
$value_len = env_int('KV_VALUE_LEN', 100);
$file = getenv('KV_VALUE_FILE');
$value = $file ? (string) file_get_contents($file, false, null, 0, $value_len) : str_repeat('x', $value_len);
if (strlen($value) < $value_len) {
    fwrite(STDERR, "KV_VALUE_FILE is shorter than KV_VALUE_LEN\n");
    exit(1);
}

if ($name === 'mcring') {
    // KV_MCRING_OPTIONS: "name=value ..." config options (bench/scale/harness.py).
    $options = ['compress_threshold' => $compress ? 2000 : 0];
    foreach (preg_split('/\s+/', trim((string) getenv('KV_MCRING_OPTIONS')), -1, PREG_SPLIT_NO_EMPTY) as $kv) {
        [$k, $v] = explode('=', $kv, 2);
        $options[$k] = preg_match('/^[0-9]+$/', $v) ? (int) $v : $v;  // ctype is not loaded under php -n
    }
    $c = new McRing\Client($servers, $options);
} elseif ($name === 'php-memcached') {
    $c = new Memcached();
    $c->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
    $c->setOption(Memcached::OPT_TCP_NODELAY, true);
    $c->setOption(Memcached::OPT_COMPRESSION, $compress);
    $c->setOption(Memcached::OPT_COMPRESSION_TYPE, Memcached::COMPRESSION_ZLIB);
    $c->addServers(array_map(fn($s) => [explode(':', $s)[0], (int) explode(':', $s)[1]], $servers));
} else {
    fwrite(STDERR, "unknown client $name\n");
    exit(2);
}

$keys = [];
for ($i = 0; $i < $keys_n; $i++) {
    $keys[] = "php$name:$i";
    $c->set("php$name:$i", $value);
}
if ($c->get($keys[0]) !== $value) {
    fwrite(STDERR, "$name: preloaded key does not read back\n");
    exit(1);
}

function batch(array $keys, int $multi, int $i): array
{
    $n = count($keys);
    $base = ($i * $multi) % $n;
    if ($base + $multi <= $n) {
        return array_slice($keys, $base, $multi);
    }
    $out = [];
    for ($k = 0; $k < $multi; $k++) {
        $out[] = $keys[($base + $k) % $n];
    }
    return $out;
}

$lat = [];
$busy = 0;
$start = hrtime(true);
for ($i = 0; $i < $ops; $i++) {
    if ($op === 'mdel') {
        $c->setMulti(array_fill_keys(batch($keys, $multi, $i), $value));
    }
    $t0 = ($latency || $op === 'mdel') ? hrtime(true) : 0;
    switch ($op) {
        case 'get':
            if ($c->get($keys[$i % $keys_n]) === false) {
                fwrite(STDERR, "preloaded key missing\n");
                exit(1);
            }
            break;
        case 'set':
            $c->set($keys[$i % $keys_n], $value);
            break;
        case 'mget':
            if (count($c->getMulti(batch($keys, $multi, $i))) !== $multi) {
                fwrite(STDERR, "preloaded keys missing\n");
                exit(1);
            }
            break;
        case 'mset':
            $c->setMulti(array_fill_keys(batch($keys, $multi, $i), $value));
            break;
        case 'mdel':
            $c->deleteMulti(batch($keys, $multi, $i));
            break;
        default:
            fwrite(STDERR, "unknown op $op\n");
            exit(2);
    }
    if ($t0) {
        $d = hrtime(true) - $t0;
        $busy += $d;
        $lat[] = $d;
    }
}
$seconds = ($op === 'mdel' ? $busy : hrtime(true) - $start) / 1e9;
if ($op === 'mset' && count($c->getMulti(batch($keys, $multi, $ops - 1))) !== $multi) {
    fwrite(STDERR, "mset: keys missing afterwards\n");
    exit(1);
}
if ($op === 'mdel' && count($c->getMulti(batch($keys, $multi, $ops - 1))) !== 0) {
    fwrite(STDERR, "mdel: keys left afterwards\n");
    exit(1);
}
if ($latency) {
    sort($lat);
    printf("%.0f %.1f %.1f\n", $ops / $seconds, $lat[intdiv(count($lat), 2)] / 1e3, $lat[(int) (count($lat) * 0.99)] / 1e3);
} else {
    printf("%.0f\n", $ops / $seconds);
}
