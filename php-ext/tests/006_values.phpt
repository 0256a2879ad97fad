--TEST--
Values of every PHP type round trip, with the flags php-memcached uses
--SKIPIF--
<?php include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';
$c = mcring_test_client();
$raw = mcring_test_client(['prefix' => '']);

$values = [
    'string' => 'hello',
    'empty string' => '',
    'binary string' => "\x00\x01\xff\xfe",
    'long string (compressed)' => str_repeat('abcdefgh', 1000),
    'int' => 42,
    'negative int' => -7,
    'PHP_INT_MAX' => PHP_INT_MAX,
    'PHP_INT_MIN' => PHP_INT_MIN,
    'float' => 1.5,
    'float 0.1' => 0.1,
    'float 1e100' => 1e100,
    'float -0.0' => -0.0,
    'INF' => INF,
    '-INF' => -INF,
    'true' => true,
    'false' => false,
    'null' => null,
    'list' => [1, 'two', 3.0, false, null],
    'map' => ['a' => 1, 'b' => ['c' => [true]]],
    'empty array' => [],
    'unicode in an array' => ['name' => "Zoë 🌍"],
];
foreach ($values as $what => $value) {
    $key = 'v:' . $what;
    $key = str_replace(' ', '_', $key);
    $stored = $c->set($key, $value);
    $back = $c->get($key);
    check("$what", $stored && $back === $value && $c->getResultCode() === 0, [$stored, $back, $c->getResultMessage()]);
}
$nan = $c->set('nan', NAN) ? $c->get('nan') : null;
check('NAN', is_float($nan) && is_nan($nan));

// Objects are stored as JSON and read back as arrays (json_decode(..., true)).
$o = new stdClass();
$o->x = 1;
$o->list = [1, 2];
check('object reads back as an array', $c->set('obj', $o) && $c->get('obj') === ['x' => 1, 'list' => [1, 2]]);
class Point implements JsonSerializable {
    public function __construct(public int $x, public int $y) {}
    public function jsonSerialize(): array { return ['point' => [$this->x, $this->y]]; }
}
check('JsonSerializable', $c->set('pt', new Point(3, 4)) && $c->get('pt') === ['point' => [3, 4]]);

// What JSON cannot hold is refused with RES_BAD_VALUE, and nothing is stored.
function refused(McRing\Client $c, string $what, mixed $value, string $part): void
{
    $ok = $c->set('refused', $value) === false && $c->getResultCode() === McRing\Client::RES_BAD_VALUE
        && str_contains($c->getResultMessage(), $part) && $c->get('refused') === false;
    check("refused: $what", $ok, $c->getResultMessage());
}
refused($c, 'invalid UTF-8 inside an array', ["\xff"], 'malformed UTF-8');
refused($c, 'INF inside an array', [INF], 'INF or NAN');
$loop = [];
$loop[] = &$loop;
refused($c, 'a recursive array', $loop, 'recursive');
refused($c, 'a resource', fopen('php://memory', 'r'), 'resource');
class Throws implements JsonSerializable {
    public function jsonSerialize(): mixed { throw new RuntimeException('no'); }
}
try {
    $c->set('refused', new Throws());
    check('an exception while serializing', false);
} catch (RuntimeException $e) {
    check('an exception while serializing', $e->getMessage() === 'no' && $c->getResultCode() === McRing\Client::RES_BAD_VALUE);
}
$small = mcring_test_client(['max_value_bytes' => 100, 'compress_threshold' => 0]);
check('over max_value_bytes', $small->set('big', str_repeat('x', 101)) === false && $small->getResultCode() === McRing\Client::RES_TOO_LARGE);
check('at max_value_bytes', $small->set('big', str_repeat('x', 100)) === true);

// The flags and bytes on the wire are php-memcached's.
$p = 'wire:' . getmypid() . ':';
$raw->set($p . 'str', 'abc');
$raw->set($p . 'int', -42);
$raw->set($p . 'float', 0.5);
$raw->set($p . 'true', true);
$raw->set($p . 'false', false);
$raw->set($p . 'arr', ['a' => 1.0]);
$raw->set($p . 'long', str_repeat('z', 5000));
var_dump(mcring_test_raw_item($p . 'str'), mcring_test_raw_item($p . 'int'), mcring_test_raw_item($p . 'float'), mcring_test_raw_item($p . 'true'), mcring_test_raw_item($p . 'false'), mcring_test_raw_item($p . 'arr'));
[$flags, $data] = mcring_test_raw_item($p . 'long');
check('long strings are compressed (php-memcached flags COMPRESSED|zlib)', $flags === (0x10 | 0x20) && strlen($data) < 5000, $flags);

// PHP serialize() only when asked for.
$php = mcring_test_client(['serializer' => 'php']);
$o = new ArrayObject([1, 2]);
check('serializer=php stores objects as themselves', $php->set('o', $o) && $php->get('o') == $o && $php->get('o') instanceof ArrayObject);
// A client with the json serializer refuses to unserialize() what PHP
// serialize() wrote; one with the php serializer reads both.
$php_raw = mcring_test_client(['serializer' => 'php', 'prefix' => '']);
$php_raw->set($p . 'ser', ['a' => 1]);
check('the json serializer does not unserialize()', $raw->get($p . 'ser') === false
    && $raw->getResultCode() === McRing\Client::RES_BAD_VALUE
    && str_contains($raw->getResultMessage(), "'serializer' => 'php'"), $raw->getResultMessage());
check('the php serializer reads JSON too', $php_raw->get($p . 'arr') === ['a' => 1.0] && $php_raw->get($p . 'ser') === ['a' => 1]);
check('serialize() flags', mcring_test_raw_item($p . 'ser')[0] === 4);
?>
--EXPECT--
ok string
ok empty string
ok binary string
ok long string (compressed)
ok int
ok negative int
ok PHP_INT_MAX
ok PHP_INT_MIN
ok float
ok float 0.1
ok float 1e100
ok float -0.0
ok INF
ok -INF
ok true
ok false
ok null
ok list
ok map
ok empty array
ok unicode in an array
ok NAN
ok object reads back as an array
ok JsonSerializable
ok refused: invalid UTF-8 inside an array
ok refused: INF inside an array
ok refused: a recursive array
ok refused: a resource
ok an exception while serializing
ok over max_value_bytes
ok at max_value_bytes
array(2) {
  [0]=>
  int(0)
  [1]=>
  string(3) "abc"
}
array(2) {
  [0]=>
  int(1)
  [1]=>
  string(3) "-42"
}
array(2) {
  [0]=>
  int(2)
  [1]=>
  string(2) ".5"
}
array(2) {
  [0]=>
  int(3)
  [1]=>
  string(1) "1"
}
array(2) {
  [0]=>
  int(3)
  [1]=>
  string(0) ""
}
array(2) {
  [0]=>
  int(6)
  [1]=>
  string(9) "{"a":1.0}"
}
ok long strings are compressed (php-memcached flags COMPRESSED|zlib)
ok serializer=php stores objects as themselves
ok the json serializer does not unserialize()
ok the php serializer reads JSON too
ok serialize() flags
