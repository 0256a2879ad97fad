--TEST--
Persistent clients: one per id and config, shared by objects, replaced by a new config
--SKIPIF--
<?php include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';
$servers = mcring_test_servers();
$count = function (): int {
    ob_start();
    phpinfo(INFO_MODULES);
    preg_match('/^Persistent clients in this process => (\d+)$/m', ob_get_clean(), $m);
    return (int) $m[1];
};
check('none at first', $count() === 0);

$a = new McRing\Client($servers, ['prefix' => 'pers:'], 'app');
check('persistent and pristine', $a->isPersistent() && $a->isPristine());
$a->set('k', 'v');
$b = new McRing\Client($servers, ['prefix' => 'pers:'], 'app');
check('the same id and config reuse the client', $b->isPersistent() && !$b->isPristine() && $b->get('k') === 'v');
// Its connections are reused too: the second object opened none.
check('no new connection', $b->getClientStats()['total']['connects'] === $a->getClientStats()['total']['connects']);
unset($a);
check('freeing one object leaves the client to the other', $b->get('k') === 'v');
unset($b);
check('the client outlives its objects', $count() === 1);
$c = new McRing\Client($servers, ['prefix' => 'pers:'], 'app');
check('and is found again', !$c->isPristine() && $c->getClientStats()['total']['gets'] >= 2);

// Another config under the same id: a new client replaces the old one,
// while an object still using the old one keeps working.
$d = new McRing\Client($servers, ['prefix' => 'pers2:'], 'app');
check('another config makes a new client', $d->isPristine() && $d->get('k') === false);
check('the old object still works', $c->get('k') === 'v');
check('still one client for the id', $count() === 1);
$e = new McRing\Client($servers, [], 'other');
check('another id, another client', $e->isPristine() && $count() === 2);
// A bad config under an existing id throws and leaves no broken client behind.
try {
    new McRing\Client($servers, ['bogus' => 1], 'other');
    check('bad config under an id', false);
} catch (McRing\Exception $ex) {
    check('bad config under an id', $e->get('x') === false && $e->getResultCode() === McRing\Client::RES_NOTFOUND);
}
?>
--EXPECT--
ok none at first
ok persistent and pristine
ok the same id and config reuse the client
ok no new connection
ok freeing one object leaves the client to the other
ok the client outlives its objects
ok and is found again
ok another config makes a new client
ok the old object still works
ok still one client for the id
ok another id, another client
ok bad config under an id
