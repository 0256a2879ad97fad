--TEST--
McRing\Memcached values side by side with php-memcached: every type and serializer, FastLZ and zlib compression, user flags; each reads the other's
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--FILE--
<?php
include 'memcached.inc';

class Point
{
    public function __construct(public int $x = 0, public ?Point $next = null) {}
}

mt_srand(11);
$words = ['alpha', 'beta', 'gamma', 'delta'];
$text = '';
// Over 64 KiB (FastLZ level 2) in the plain run.
for ($i = 0; $i < mcring_test_rounds(20000, 3000); $i++) {
    $text .= $words[mt_rand(0, 3)] . ' ';
}
$values = [
    'string' => 'hello',
    'empty' => '',
    'binary' => "\x00\xff\x80",
    'int' => -123456789,
    'zero' => 0,
    'max int' => PHP_INT_MAX,
    'float' => 3.25,
    'small float' => 1.0e-7,
    'big float' => 1.5e300,
    'negative zero' => -0.0,
    'infinity' => INF,
    'nan' => NAN,
    'true' => true,
    'false' => false,
    'null' => null,
    'list' => [1, 2, 3],
    'map' => ['a' => [1, 2.5, 'x'], 'b' => null, 'c' => true],
    'object' => new Point(1, new Point(2)),
    'long text' => $text,
    'long binary' => random_bytes(5000),
    'long array' => array_fill(0, 500, 'repeated value'),
];
$serializers = [
    'php' => Memcached::SERIALIZER_PHP,
    'json' => Memcached::SERIALIZER_JSON,
    'json_array' => Memcached::SERIALIZER_JSON_ARRAY,
    'igbinary' => Memcached::SERIALIZER_IGBINARY,
    'msgpack' => Memcached::SERIALIZER_MSGPACK,
];
check('igbinary and msgpack are there', McRing\Memcached::HAVE_IGBINARY && McRing\Memcached::HAVE_MSGPACK);

// Stored bytes and flags, and what each reads back, for every value and
// serializer, with each compression.
$compressions = [
    'fastlz' => [Memcached::OPT_COMPRESSION_TYPE => Memcached::COMPRESSION_FASTLZ],
    'zlib' => [Memcached::OPT_COMPRESSION_TYPE => Memcached::COMPRESSION_ZLIB],
    'off' => [Memcached::OPT_COMPRESSION => false],
];
foreach ($serializers as $sname => $serializer) {
    foreach ($compressions as $cname => $coptions) {
        $keys = [];
        foreach ($values as $what => $v) {
            $keys[$what] = mc_key("$sname-$cname-" . str_replace(' ', '_', $what));
        }
        mc_same("$sname serializer, compression $cname", function ($m) use ($values, $keys) {
            $o = [];
            foreach ($values as $what => $v) {
                $o["$what set"] = mc_obs($m, $m->set($keys[$what], $v));
                $o["$what get"] = mc_obs($m, $m->get($keys[$what]));
            }
            return $o;
        }, [Memcached::OPT_SERIALIZER => $serializer] + $coptions, array_values($keys));
    }
}

// User flags in the high 16 bits, read back with GET_EXTENDED.
$k = mc_key('flags');
mc_same('user flags', function ($m) use ($k) {
    $m->set($k, 'flagged');
    $x = $m->get($k, null, Memcached::GET_EXTENDED);
    return [$x['value'], $x['flags'], $m->getOption(Memcached::OPT_USER_FLAGS)];
}, [Memcached::OPT_USER_FLAGS => 0xbeef], [$k]);

// The compression threshold and factor: values too short or that do not
// shrink by a factor of 1.3 are stored as they are.
$keys = [];
$sizes = [1999, 2000, 2001, 70000];
foreach ($sizes as $size) {
    $keys[] = mc_key("threshold-$size");
}
$keys[] = mc_key('incompressible');
mc_same('compression threshold and factor', function ($m) use ($keys, $sizes) {
    foreach ($sizes as $i => $size) {
        $m->set($keys[$i], str_repeat('ab', intdiv($size, 2)) . ($size % 2 ? 'c' : ''));
    }
    mt_srand(5);
    $noise = '';
    for ($i = 0; $i < 3000; $i++) {
        $noise .= chr(mt_rand(0, 255));
    }
    $m->set($keys[4], $noise);
    return [];
}, [], $keys);

// The ini settings both read: memcached.compression_threshold and
// compression_factor (mcring.* for McRing\Memcached).
ini_set('memcached.compression_threshold', '100');
ini_set('mcring.compression_threshold', '100');
ini_set('memcached.compression_factor', '2.5');
ini_set('mcring.compression_factor', '2.5');
$keys = [mc_key('ini-small'), mc_key('ini-factor'), mc_key('ini-level')];
mt_srand(9);
$mixed = str_repeat('abcdefgh', 30);
for ($i = 0; $i < 60; $i++) {
    $mixed .= chr(mt_rand(0, 255));
}
mc_same('compression_threshold and compression_factor from the ini', function ($m) use ($keys, $mixed) {
    $m->set($keys[0], str_repeat('abc', 40));
    $m->set($keys[1], $mixed);
    return [];
}, [], array_slice($keys, 0, 2));
ini_restore('memcached.compression_threshold');
ini_restore('mcring.compression_threshold');
ini_restore('memcached.compression_factor');
ini_restore('mcring.compression_factor');

// OPT_ITEM_SIZE_LIMIT (php-memcached 3.3): a payload over it is refused
// before it is sent.
$ours = mc_new('McRing\Memcached', [McRing\Memcached::OPT_ITEM_SIZE_LIMIT => 100, Memcached::OPT_COMPRESSION => false]);
check('OPT_ITEM_SIZE_LIMIT', @$ours->set(mc_key('limit'), str_repeat('x', 101)) === false
    && $ours->getResultCode() === Memcached::RES_PAYLOAD_FAILURE && $ours->set(mc_key('limit'), str_repeat('x', 100))
    && $ours->getOption(McRing\Memcached::OPT_ITEM_SIZE_LIMIT) === 100);

// Each reads what the other wrote, for every serializer (a reader uses the
// stored type, whatever its own serializer is).
$pm = mc_new('Memcached');
$ours = mc_new('McRing\Memcached');
foreach ($serializers as $sname => $serializer) {
    foreach ([[$pm, $ours, 'php-memcached -> mcring'], [$ours, $pm, 'mcring -> php-memcached']] as [$writer, $reader, $how]) {
        $writer->setOption(Memcached::OPT_SERIALIZER, $serializer);
        $reader->setOption(Memcached::OPT_SERIALIZER, $serializer);
        $bad = [];
        foreach ($values as $what => $v) {
            $key = mc_key("cross-$sname-" . str_replace(' ', '_', $what));
            $writer->set($key, $v);
            $back = $reader->get($key);
            $expect = $writer->get($key);
            if (serialize($back) !== serialize($expect) || $reader->getResultCode() !== 0) {
                $bad[] = $what;
            }
        }
        check("$sname: $how", $bad === [], $bad);
    }
}
// A reader whose serializer differs still reads by the stored type.
$pm->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_IGBINARY);
$ours->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_JSON);
$pm->set(mc_key('igb'), new Point(7));
check('an igbinary value read with the json serializer', $ours->get(mc_key('igb')) == new Point(7));

// Values McRing\Client wrote (JSON structures) read as php-memcached reads
// them (on the same ring: McRing\Client is libketama-compatible by default,
// McRing\Memcached, as php-memcached, modula).
$client = mcring_test_client(['prefix' => '']);
$client->set(mc_key('from-client'), ['a' => 1]);
$ours->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_JSON_ARRAY);
$ours->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
check('McRing\Client JSON read by McRing\Memcached', $ours->get(mc_key('from-client')) === ['a' => 1]);

// Unreadable values: a warning and false, as php-memcached.
$key = mc_key('garbage');
mcring_test_raw_set(mcring_test_servers()[0], $key, 0x10 | 0x40, "\x05\x00\x00\x00junk");
$ours->addServers([]);
$one = new McRing\Memcached();
$one->addServer(...mc_server_list([mcring_test_servers()[0]])[0]);
$pmone = new Memcached();
$pmone->addServer(...mc_server_list([mcring_test_servers()[0]])[0]);
$r1 = @$one->get($key);
$r2 = @$pmone->get($key);
check('a corrupt compressed value', $r1 === false && $r2 === false && $one->getResultCode() === $pmone->getResultCode(),
    [$one->getResultCode(), $pmone->getResultCode()]);
mcring_test_raw_set(mcring_test_servers()[0], $key, 9, 'x');
$r1 = @$one->get($key);
$r2 = @$pmone->get($key);
check('an unknown type', $r1 === false && $r2 === false && $one->getResultCode() === $pmone->getResultCode());
?>
--EXPECT--
ok igbinary and msgpack are there
ok php serializer, compression fastlz
ok php serializer, compression zlib
ok php serializer, compression off
ok json serializer, compression fastlz
ok json serializer, compression zlib
ok json serializer, compression off
ok json_array serializer, compression fastlz
ok json_array serializer, compression zlib
ok json_array serializer, compression off
ok igbinary serializer, compression fastlz
ok igbinary serializer, compression zlib
ok igbinary serializer, compression off
ok msgpack serializer, compression fastlz
ok msgpack serializer, compression zlib
ok msgpack serializer, compression off
ok user flags
ok compression threshold and factor
ok compression_threshold and compression_factor from the ini
ok OPT_ITEM_SIZE_LIMIT
ok php: php-memcached -> mcring
ok php: mcring -> php-memcached
ok json: php-memcached -> mcring
ok json: mcring -> php-memcached
ok json_array: php-memcached -> mcring
ok json_array: mcring -> php-memcached
ok igbinary: php-memcached -> mcring
ok igbinary: mcring -> php-memcached
ok msgpack: php-memcached -> mcring
ok msgpack: mcring -> php-memcached
ok an igbinary value read with the json serializer
ok McRing\Client JSON read by McRing\Memcached
ok a corrupt compressed value
ok an unknown type
