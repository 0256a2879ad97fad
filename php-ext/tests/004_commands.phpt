--TEST--
Single-key commands and their result codes
--SKIPIF--
<?php include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';
$c = mcring_test_client();
$R = fn() => [$c->getResultCode(), $c->getResultMessage()];

// get / set / delete
var_dump($c->get('a'), $R());
var_dump($c->set('a', 'one'), $R(), $c->get('a'), $R());
var_dump($c->delete('a'), $c->delete('a'), $R(), $c->get('a'));

// add / replace
var_dump($c->replace('b', 'x'), $R());
var_dump($c->add('b', 'first'), $c->add('b', 'second'), $R(), $c->get('b'));
var_dump($c->replace('b', 'third'), $c->get('b'));

// append / prepend: bytes around the stored value
var_dump($c->append('nope', 'x'), $R());
var_dump($c->append('b', '>'), $c->prepend('b', '<'), $c->get('b'));

// increment / decrement
var_dump($c->increment('n'), $R());
var_dump($c->set('n', 10), $c->increment('n'), $c->increment('n', 5), $c->decrement('n', 3));
var_dump($c->decrement('n', 100), $c->get('n'));
var_dump($c->set('s', 'text'), $c->increment('s'), $c->getResultCode() === McRing\Client::RES_CLIENT_ERROR);
try {
    $c->increment('n', -1);
} catch (ValueError $e) {
    echo get_class($e), ': ', $e->getMessage(), "\n";
}

// touch
var_dump($c->touch('nope', 10), $R());
var_dump($c->touch('n', 100), $R());
var_dump($c->set('short', 'x', 1), $c->touch('short', 0), $c->get('short'));

// ttl: expired items are gone
var_dump($c->set('gone', 'x', time() - 10), $c->get('gone'), $R());
try {
    $c->set('k', 'v', -1);
} catch (ValueError $e) {
    echo get_class($e), ': ', $e->getMessage(), "\n";
}

// gets / cas
$g = $c->gets('b');
var_dump($g['value'], is_int($g['cas']) && $g['cas'] > 0);
var_dump($c->cas($g['cas'], 'b', 'swapped'), $c->get('b'));
var_dump($c->cas($g['cas'], 'b', 'stale'), $R(), $c->get('b'));
var_dump($c->cas(12345, 'nope', 'x'), $R());
var_dump($c->gets('nope'), $R());

// a success after a failure clears the message
$c->get('nope');
$c->set('a', 1);
var_dump($R());
var_dump($c->close(), $c->get('a'));
?>
--EXPECT--
bool(false)
array(2) {
  [0]=>
  int(16)
  [1]=>
  string(9) "NOT FOUND"
}
bool(true)
array(2) {
  [0]=>
  int(0)
  [1]=>
  string(7) "SUCCESS"
}
string(3) "one"
array(2) {
  [0]=>
  int(0)
  [1]=>
  string(7) "SUCCESS"
}
bool(true)
bool(false)
array(2) {
  [0]=>
  int(16)
  [1]=>
  string(9) "NOT FOUND"
}
bool(false)
bool(false)
array(2) {
  [0]=>
  int(14)
  [1]=>
  string(10) "NOT STORED"
}
bool(true)
bool(false)
array(2) {
  [0]=>
  int(14)
  [1]=>
  string(10) "NOT STORED"
}
string(5) "first"
bool(true)
string(5) "third"
bool(false)
array(2) {
  [0]=>
  int(14)
  [1]=>
  string(10) "NOT STORED"
}
bool(true)
bool(true)
string(7) "<third>"
bool(false)
array(2) {
  [0]=>
  int(16)
  [1]=>
  string(9) "NOT FOUND"
}
bool(true)
int(11)
int(16)
int(13)
int(0)
int(0)
bool(true)
bool(false)
bool(true)
ValueError: McRing\Client::increment(): Argument #2 ($by) must be greater than or equal to 0
bool(false)
array(2) {
  [0]=>
  int(16)
  [1]=>
  string(9) "NOT FOUND"
}
bool(true)
array(2) {
  [0]=>
  int(0)
  [1]=>
  string(7) "SUCCESS"
}
bool(true)
bool(true)
string(1) "x"
bool(true)
bool(false)
array(2) {
  [0]=>
  int(16)
  [1]=>
  string(9) "NOT FOUND"
}
ValueError: McRing\Client::set(): Argument #3 ($ttl) must be between 0 and 4294967295
string(7) "<third>"
bool(true)
bool(true)
string(7) "swapped"
bool(false)
array(2) {
  [0]=>
  int(12)
  [1]=>
  string(11) "DATA EXISTS"
}
string(7) "swapped"
bool(false)
array(2) {
  [0]=>
  int(16)
  [1]=>
  string(9) "NOT FOUND"
}
bool(false)
array(2) {
  [0]=>
  int(16)
  [1]=>
  string(9) "NOT FOUND"
}
array(2) {
  [0]=>
  int(0)
  [1]=>
  string(7) "SUCCESS"
}
bool(true)
int(1)
