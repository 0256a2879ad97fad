--TEST--
append and prepend keep a compressed value whole (php-memcached refuses them while compression is on)
--SKIPIF--
<?php include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';
$c = mcring_test_client();
$long = str_repeat('abcdefgh', 1000);
var_dump($c->set('big', $long, 300));
var_dump($c->append('big', '|tail'), $c->prepend('big', 'head|'));
var_dump($c->get('big') === 'head|' . $long . '|tail');
var_dump($c->append('missing', 'x'), $c->getResultCode() === McRing\Client::RES_NOTSTORED);
?>
--EXPECT--
bool(true)
bool(true)
bool(true)
bool(true)
bool(false)
bool(true)
