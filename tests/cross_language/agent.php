<?php
/*
 * The PHP side of the cross-language test, for both the mcring extension
 * (`agent.php mcring CONFIG ...`) and php-memcached with
 * OPT_LIBKETAMA_COMPATIBLE and the JSON serializer (`agent.php
 * php-memcached SERVERS ...`). Commands and output as in agent.c.
 */

$VALUES = [
    'str' => "héllo wörld ✓",
    'empty' => '',
    'int' => 42,
    'neg' => -9000000000,
    'float' => 3.25,
    'float2' => 0.1,
    'bool_t' => true,
    'bool_f' => false,
    'map' => ['a' => 1, 'b' => [1, 2, 3], 'c' => 'x'],
    'list' => [1, 'two', 3.5],
    'long' => str_repeat('abcdefgh', 1000),
];

function shown($value): string {
    if (is_bool($value)) return 'bool ' . ($value ? 'true' : 'false');
    if (is_int($value)) return "int $value";
    if (is_float($value)) return 'float ' . sprintf('%.17g', $value);
    if (is_array($value)) return 'array ' . json_encode($value);
    if (is_string($value)) return 'string ' . ($value === '' ? '-' : bin2hex($value));
    return 'other ' . gettype($value);
}

[$self, $client, $config, $cmd] = array_pad($argv, 4, null);
$tag = $argv[4] ?? null;

if ($client === 'mcring') {
    $mc = new McRing\Client($config);
    $server_for = function (string $key) use ($mc): string {
        $s = $mc->getServerByKey($key);
        return str_contains($s['host'], ':') ? "[{$s['host']}]:{$s['port']}" : "{$s['host']}:{$s['port']}";
    };
} else {
    $mc = new Memcached();
    $mc->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
    $mc->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_JSON_ARRAY);
    $mc->setOption(Memcached::OPT_TCP_NODELAY, true);
    $servers = [];
    foreach (preg_split('/\s+/', trim($config)) as $token) {
        if (str_contains($token, '=')) continue;
        [$host, $port] = explode(':', $token);
        $servers[] = [$host, (int)$port, 1];
    }
    $mc->addServers($servers);
    $server_for = function (string $key) use ($mc): string {
        $s = $mc->getServerByKey($key);
        return "{$s['host']}:{$s['port']}";
    };
}

$stdin_keys = function (): array {
    $keys = [];
    while (($line = fgets(STDIN)) !== false) $keys[] = rtrim($line, "\n");
    return $keys;
};

switch ($cmd) {
case 'place':
    foreach ($stdin_keys() as $key) echo $server_for($key), "\n";
    break;
case 'write':
    foreach ($VALUES as $name => $value) {
        if (!$mc->set("$tag:$name", $value)) {
            fwrite(STDERR, "set $tag:$name failed: " . $mc->getResultMessage() . "\n");
            exit(1);
        }
    }
    echo "ok\n";
    break;
case 'read':
    foreach (array_keys($VALUES) as $name) {
        $value = $mc->get("$tag:$name");
        if ($value === false && $mc->getResultCode() !== 0) {
            echo "$name missing\n";
        } else {
            echo "$name ", shown($value), "\n";
        }
    }
    break;
case 'readkeys':
    foreach ($stdin_keys() as $key) {
        $value = $mc->get($key);
        echo $key, ' ', ($value === false ? 'missing' : ($value === '' ? '-' : bin2hex((string)$value))), "\n";
    }
    break;
case 'herd':
    // herd KEY LOG START_AT: getOrSet at START_AT (Unix time); the compute
    // appends a line to LOG, sleeps 200 ms and returns who computed.
    // Prints `<value> <ms waited>`.
    [, , , , $key, $log, $start_at] = $argv;
    while (microtime(true) < (float) $start_at) usleep(500);
    $t0 = hrtime(true);
    $value = $mc->getOrSet($key, function () use ($log) {
        file_put_contents($log, 'PHP ' . getmypid() . "\n", FILE_APPEND | LOCK_EX);
        usleep(200000);
        return 'computed by PHP ' . getmypid();
    }, 60);
    printf("%s %d\n", var_export($value, true) === "''" ? '-' : $value, (hrtime(true) - $t0) / 1e6);
    break;
default:
    fwrite(STDERR, "unknown command $cmd\n");
    exit(2);
}
