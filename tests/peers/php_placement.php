<?php
/*
 * Answers placement questions with php-memcached (and the system libmemcached
 * it links), speaking the placement oracle's line protocol
 * (tests/oracle/oracle.c): servers, keys, keyshex, place, quit.
 *
 * Set up as php-memcached users do: options first, then addServers, then
 * getServerByKey, which hashes the key and looks the continuum up without
 * dialing a server.
 *  - ketama-weighted: OPT_LIBKETAMA_COMPATIBLE => true (+ OPT_HASH)
 *  - ketama: OPT_DISTRIBUTION => DISTRIBUTION_CONSISTENT (+ OPT_HASH)
 *  - modula: OPT_DISTRIBUTION => DISTRIBUTION_MODULA (+ OPT_HASH)
 * getServerByKey names a server by host and port, so every (host, port) of a
 * list must be distinct.
 */

const HASHES = [
    'one_at_a_time' => 0, 'md5' => 1, 'crc' => 2, 'fnv1_64' => 3, 'fnv1a_64' => 4,
    'fnv1_32' => 5, 'fnv1a_32' => 6, 'hsieh' => 7, 'murmur' => 8, 'jenkins' => 9,
    'murmur3' => 10,
];

function fatal(string $reason): void
{
    echo "fatal $reason\n";
    exit(2);
}

function read_line(): string
{
    $line = fgets(STDIN);
    if ($line === false) {
        fatal('input ended early');
    }
    if (substr($line, -1) === "\n") {
        $line = substr($line, 0, -1);
    }
    return $line;
}

function read_servers(int $n): array
{
    $servers = [];
    for ($i = 0; $i < $n; $i++) {
        $f = explode(' ', read_line());
        if ($f[0] === 'tcp' && count($f) === 4) {
            $servers[] = [$f[1], (int) $f[2], (int) $f[3]];
        } elseif ($f[0] === 'unix' && count($f) === 3) {
            $servers[] = [$f[1], 0, (int) $f[2]];
        } else {
            fatal('bad server line ' . implode(' ', $f));
        }
    }
    return $servers;
}

function read_keys(int $n, bool $hexed): array
{
    $keys = [];
    for ($i = 0; $i < $n; $i++) {
        $line = read_line();
        $keys[] = $hexed ? hex2bin($line) : $line;
    }
    return $keys;
}

function place(array $servers, array $keys, string $distribution, string $hash): string
{
    $head = "place $distribution $hash ";
    $index = [];
    foreach ($servers as $i => [$host, $port]) {
        $id = "$host $port";
        if (isset($index[$id])) {
            return $head . "error server $id appears twice\n";
        }
        $index[$id] = $i;
    }
    $options = match ($distribution) {
        'ketama-weighted' => [Memcached::OPT_LIBKETAMA_COMPATIBLE => true],
        'ketama' => [Memcached::OPT_DISTRIBUTION => Memcached::DISTRIBUTION_CONSISTENT],
        'modula' => [Memcached::OPT_DISTRIBUTION => Memcached::DISTRIBUTION_MODULA],
        default => null,
    };
    if ($options === null) {
        return $head . "error unknown distribution\n";
    }
    $m = new Memcached();
    foreach ($options as $option => $value) {
        if (!$m->setOption($option, $value)) {
            return $head . 'error ' . $m->getResultMessage() . "\n";
        }
    }
    if ($hash !== 'default') {
        if (!isset(HASHES[$hash])) {
            return $head . "unsupported unknown hash\n";
        }
        if (!@$m->setOption(Memcached::OPT_HASH, HASHES[$hash])) {
            return $head . 'unsupported ' . $m->getResultMessage() . "\n";
        }
    }
    if (!$m->addServers($servers)) {
        return $head . 'error addServers: ' . $m->getResultMessage() . "\n";
    }
    $out = $head . 'ok ' . count($keys) . "\n";
    foreach ($keys as $key) {
        $server = @$m->getServerByKey($key);
        if ($server === false) {
            $out .= 'ERR ' . $m->getResultMessage() . "\n";
            continue;
        }
        $id = $server['host'] . ' ' . $server['port'];
        if (!isset($index[$id])) {
            return $head . "error getServerByKey named an unknown server $id\n";
        }
        $out .= $index[$id] . "\n";
    }
    return $out;
}

$servers = [];
$keys = [];
while (($line = fgets(STDIN)) !== false) {
    $f = preg_split('/\s+/', trim($line));
    if ($f[0] === 'servers' && count($f) === 2) {
        $servers = read_servers((int) $f[1]);
        echo 'ok ' . count($servers) . "\n";
    } elseif (($f[0] === 'keys' || $f[0] === 'keyshex') && count($f) === 2) {
        $keys = read_keys((int) $f[1], $f[0] === 'keyshex');
        echo 'ok ' . count($keys) . "\n";
    } elseif ($f[0] === 'place' && count($f) === 3) {
        echo place($servers, $keys, $f[1], $f[2]);
    } elseif ($f[0] === 'quit') {
        break;
    } else {
        fatal("unknown command $line");
    }
}
