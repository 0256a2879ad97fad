--TEST--
Values cross between mcring and php-memcached (OPT_LIBKETAMA_COMPATIBLE) on the same ring
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';
$p = 'interop:' . getmypid() . ':';
$mc = mcring_test_client(['prefix' => '']);
$mcphp = mcring_test_client(['prefix' => '', 'serializer' => 'php']);

$m = mcring_test_memcached();
$m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_JSON_ARRAY);

// php-memcached writes, mcring reads.
$values = [
    'string' => 'hello',
    'empty' => '',
    'binary' => "\x00\xff",
    'int' => -123456789,
    'float' => 3.25,
    'small float' => 1.0e-7,
    'true' => true,
    'false' => false,
    'array' => ['a' => [1, 2, 3], 'b' => 'x'],
];
foreach ($values as $what => $value) {
    $key = $p . str_replace(' ', '_', $what);
    $m->set($key, $value);
    check("php-memcached -> mcring: $what", $mc->get($key) === $value, $mc->get($key));
}
$long = str_repeat('php-memcached compresses this. ', 200);
foreach (['fastlz' => Memcached::COMPRESSION_FASTLZ, 'zlib' => Memcached::COMPRESSION_ZLIB] as $name => $type) {
    $m->setOption(Memcached::OPT_COMPRESSION, true);
    $m->setOption(Memcached::OPT_COMPRESSION_TYPE, $type);
    $m->set($p . $name, $long);
    $m->set($p . $name . '_array', [$long]);
    check("php-memcached -> mcring: $name-compressed string", $mc->get($p . $name) === $long);
    check("php-memcached -> mcring: $name-compressed array", $mc->get($p . $name . '_array') === [$long]);
}
// The flags on the wire say php-memcached compressed them.
check('php-memcached really compressed with fastlz', mcring_test_raw_item($p . 'fastlz')[0] === (0x10 | 0x40));
check('php-memcached really compressed with zlib', mcring_test_raw_item($p . 'zlib')[0] === (0x10 | 0x20));
$counter = $m->set($p . 'counter', 5) && $m->increment($p . 'counter', 2) === 7;
check('php-memcached counter read by mcring', $counter && $mc->get($p . 'counter') === 7 && $mc->increment($p . 'counter') === 8);

// Values php-memcached serialized with PHP serialize(): only with serializer=php.
$m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_PHP);
$m->set($p . 'serialized', ['x' => new ArrayObject([1])]);
check('serialize() refused by default', $mc->get($p . 'serialized') === false && $mc->getResultCode() === McRing\Client::RES_BAD_VALUE);
$back = $mcphp->get($p . 'serialized');
check('serialize() read with serializer=php', is_array($back) && $back['x'] instanceof ArrayObject && $back['x'][0] === 1);
$m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_IGBINARY);
$m->set($p . 'igbinary', [1]);
check('igbinary refused with a reason', $mcphp->get($p . 'igbinary') === false
    && str_contains($mcphp->getResultMessage(), 'igbinary'), $mcphp->getResultMessage());

// mcring writes, php-memcached reads.
$m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_JSON_ARRAY);
foreach ($values + ['long (compressed by mcring)' => $long, 'nested' => ['list' => [1.5, null, true]]] as $what => $value) {
    $key = $p . 'from_mcring_' . str_replace(' ', '_', $what);
    $mc->set($key, $value);
    $read = $m->get($key);
    check("mcring -> php-memcached: $what", $read === $value && $m->getResultCode() === Memcached::RES_SUCCESS,
        [$read, $m->getResultMessage()]);
}
$mc->set($p . 'mcounter', 41);
check('mcring counter incremented by php-memcached', $m->increment($p . 'mcounter') === 42 && $mc->get($p . 'mcounter') === 42);
$m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_PHP);
$mcphp->set($p . 'object', new ArrayObject(['k' => 'v']));
$o = $m->get($p . 'object');
check('serializer=php read by php-memcached', $o instanceof ArrayObject && $o['k'] === 'v');

// getMulti of keys php-memcached wrote on every server.
$m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_JSON_ARRAY);
$many = [];
for ($i = 0; $i < 200; $i++) {
    $many[$p . "many$i"] = $i % 2 ? "v$i" : [$i];
}
$m->setMulti($many);
check('getMulti of 200 keys php-memcached wrote', $mc->getMulti(array_keys($many)) === $many);
$mc->setMulti($many);
$read = $m->getMulti(array_keys($many), Memcached::GET_PRESERVE_ORDER);
check('php-memcached getMulti of 200 keys mcring wrote', $read === $many, $read === false ? $m->getResultMessage() : count($read));
?>
--EXPECT--
ok php-memcached -> mcring: string
ok php-memcached -> mcring: empty
ok php-memcached -> mcring: binary
ok php-memcached -> mcring: int
ok php-memcached -> mcring: float
ok php-memcached -> mcring: small float
ok php-memcached -> mcring: true
ok php-memcached -> mcring: false
ok php-memcached -> mcring: array
ok php-memcached -> mcring: fastlz-compressed string
ok php-memcached -> mcring: fastlz-compressed array
ok php-memcached -> mcring: zlib-compressed string
ok php-memcached -> mcring: zlib-compressed array
ok php-memcached really compressed with fastlz
ok php-memcached really compressed with zlib
ok php-memcached counter read by mcring
ok serialize() refused by default
ok serialize() read with serializer=php
ok igbinary refused with a reason
ok mcring -> php-memcached: string
ok mcring -> php-memcached: empty
ok mcring -> php-memcached: binary
ok mcring -> php-memcached: int
ok mcring -> php-memcached: float
ok mcring -> php-memcached: small float
ok mcring -> php-memcached: true
ok mcring -> php-memcached: false
ok mcring -> php-memcached: array
ok mcring -> php-memcached: long (compressed by mcring)
ok mcring -> php-memcached: nested
ok mcring counter incremented by php-memcached
ok serializer=php read by php-memcached
ok getMulti of 200 keys php-memcached wrote
ok php-memcached getMulti of 200 keys mcring wrote
