--TEST--
Bad keys: RES_BAD_KEY before anything is sent; the prefix option
--SKIPIF--
<?php include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';
$c = mcring_test_client(['prefix' => 'keys:']);
$bad = [
    'empty' => '',
    'space' => 'a b',
    'newline' => "a\nb",
    'tab' => "a\tb",
    'NUL' => "a\0b",
    'DEL' => "a\x7fb",
    '251 bytes with the prefix' => str_repeat('k', 251 - strlen('keys:')),
];
foreach ($bad as $what => $key) {
    $get = $c->get($key);
    $code = $c->getResultCode();
    $message = $c->getResultMessage();
    $set = $c->set($key, 'v');
    $ok = $get === false && $set === false && $code === McRing\Client::RES_BAD_KEY
        && $c->getResultCode() === McRing\Client::RES_BAD_KEY && str_contains($message, 'bad key');
    check("refused: $what", $ok, [$code, $message]);
}
check('refused by getServerByKey', $c->getServerByKey('a b') === false && $c->getResultCode() === McRing\Client::RES_BAD_KEY);
check('refused by delete', $c->delete('') === false && $c->getResultCode() === McRing\Client::RES_BAD_KEY);
check('refused by increment', $c->increment('a b') === false && $c->getResultCode() === McRing\Client::RES_BAD_KEY);
check('a bad key fails setMulti before anything is sent',
    $c->setMulti(['good' => 1, 'a b' => 2]) === false && $c->getResultCode() === McRing\Client::RES_BAD_KEY
    && $c->get('good') === false);

// The longest key that fits with the prefix, and keys of any other bytes.
$longest = str_repeat('k', 250 - strlen('keys:'));
check('250 bytes with the prefix', $c->set($longest, 'v') && $c->get($longest) === 'v');
$binary = "caf\xc3\xa9-\x80\xff";
check('non-ASCII bytes', $c->set($binary, 'v') && $c->get($binary) === 'v');

// The prefix is on the wire but not hashed (libmemcached's namespace): one
// server, so that placement does not get in the way.
$one = [mcring_test_servers()[0]];
$prefixed = new McRing\Client($one, ['prefix' => 'keys:']);
$plain = new McRing\Client($one);
check('prefix is part of the stored key', $prefixed->set('p', 'x') && $plain->get('keys:p') === 'x');
check('prefix is not hashed', (new McRing\Client(mcring_test_servers(), ['prefix' => 'any:']))->getServerByKey('k')
    === (new McRing\Client(mcring_test_servers()))->getServerByKey('k'));
?>
--EXPECT--
ok refused: empty
ok refused: space
ok refused: newline
ok refused: tab
ok refused: NUL
ok refused: DEL
ok refused: 251 bytes with the prefix
ok refused by getServerByKey
ok refused by delete
ok refused by increment
ok a bad key fails setMulti before anything is sent
ok 250 bytes with the prefix
ok non-ASCII bytes
ok prefix is part of the stored key
ok prefix is not hashed
