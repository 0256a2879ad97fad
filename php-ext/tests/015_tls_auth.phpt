--TEST--
TLS and a login (memcached -Z -Y): every command, RES_AUTH_FAILED, refused certificates (another CA, expired, wrong name, no client certificate), mismatches, no password shown
--EXTENSIONS--
mcring
--SKIPIF--
<?php include __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
include __DIR__ . '/config.inc';
$pki = getenv('MCRING_TEST_PKI');
$secret = getenv('MCRING_TEST_SECRET');
$server = getenv('MCRING_TEST_TLS_AUTH');
$tls = ['tls' => true, 'tls_ca' => "$pki/ca.pem", 'connect_timeout_ms' => 1000, 'io_timeout_ms' => 1000];

$c = new McRing\Client([$server], $tls + ['username' => 'app', 'password' => $secret]);
check('flush', $c->flush());
check('set/get', $c->set('k', 'v1') && $c->get('k') === 'v1');
check('add', !$c->add('k', 'x') && $c->add('new', 42) && $c->get('new') === 42);
check('replace', $c->replace('k', 'v2') && $c->get('k') === 'v2');
check('append/prepend', $c->append('k', '-a') && $c->prepend('k', 'p-') && $c->get('k') === 'p-v2-a');
check('incr/decr', $c->set('n', 10) && $c->increment('n', 5) === 15 && $c->decrement('n', 3) === 12);
check('touch', $c->touch('k', 100));
check('arrays', $c->set('arr', ['a' => [1, 2]]) && $c->get('arr') === ['a' => [1, 2]]);
$many = [];
for ($i = 0; $i < 100; $i++) {
    $many["m$i"] = "value $i";
}
check('setMulti/getMulti', $c->setMulti($many) && $c->getMulti(array_keys($many)) === $many);
check('delete', $c->delete('k') && !$c->delete('k'));
check('stats', $c->getClientStats()['total']['tls_handshakes'] + $c->getClientStats()['total']['tls_resumptions'] > 0);

$wrong = new McRing\Client([$server], $tls + ['username' => 'app', 'password' => "not-$secret"]);
check('wrong password', $wrong->get('k') === false && $wrong->getResultCode() === McRing\Client::RES_AUTH_FAILED,
    $wrong->getResultCode());
check('message', str_contains($wrong->getResultMessage(), 'refused the login')
    && !str_contains($wrong->getResultMessage(), $secret), $wrong->getResultMessage());

$expired = new McRing\Client([getenv('MCRING_TEST_TLS_EXPIRED')], $tls);
check('expired', $expired->set('k', 1) === false
    && $expired->getResultCode() === McRing\Client::RES_CONNECTION_ERROR
    && str_contains($expired->getResultMessage(), 'has expired'), $expired->getResultMessage());

$refused = function (string $what, string $server, array $options, string $reason): void {
    $c = new McRing\Client([$server], $options);
    check($what, $c->set('k', 1) === false
        && $c->getResultCode() === McRing\Client::RES_CONNECTION_ERROR
        && str_contains($c->getResultMessage(), $reason), $c->getResultMessage());
};
$refused('another CA', $server, ['tls_ca' => "$pki/other-ca.pem"] + $tls, 'not signed by a trusted CA');
$refused('wrong name', $server, ['tls_server_name' => 'wrong.invalid'] + $tls,
    "not valid for the server's name");
$needs_cert = getenv('MCRING_TEST_TLS_CLIENT_CERT');
$refused('no client certificate', $needs_cert, $tls, 'requires a client certificate');
$with_cert = new McRing\Client([$needs_cert], $tls + ['tls_cert' => "$pki/client.pem", 'tls_key' => "$pki/client.key"]);
// (Its own key: 'k' is the one the refused client failed to write, queued
// in this process's invalidation log to be deleted there twice, and read
// as a miss until its second delete, after a second.)
check('client certificate', $with_cert->set('kc', 'v') && $with_cert->get('kc') === 'v', $with_cert->getResultMessage());
$to_plain = new McRing\Client([mcring_test_servers()[0]], ['connect_timeout_ms' => 500] + $tls);
check('TLS against plaintext', $to_plain->set('k', 1) === false
    && str_contains($to_plain->getResultMessage(), 'TLS'), $to_plain->getResultMessage());
check('no password in stats, health or the server list', !str_contains(
    var_export([$c->getClientStats(), $c->getHealth(), $c->getServerList(), $wrong->getHealth()], true), $secret));

$plain = new McRing\Client([$server], ['connect_timeout_ms' => 500, 'io_timeout_ms' => 500]);
check('plaintext against TLS', $plain->set('k', 1) === false
    && str_contains($plain->getResultMessage(), 'set tls=true'), $plain->getResultMessage());

$thrown = null;
try {
    new McRing\Client([$server], ['username' => 'app', 'password' => "bad $secret"]);
} catch (McRing\Exception $e) {
    $thrown = $e->getMessage();
}
check('a password with a space is refused', $thrown !== null);
check('no password in the exception', $thrown !== null && !str_contains($thrown, $secret), $thrown);
ob_start();
phpinfo(INFO_MODULES);
check('phpinfo', !str_contains(ob_get_clean(), $secret));
echo "done\n";
?>
--EXPECT--
ok flush
ok set/get
ok add
ok replace
ok append/prepend
ok incr/decr
ok touch
ok arrays
ok setMulti/getMulti
ok delete
ok stats
ok wrong password
ok message
ok expired
ok another CA
ok wrong name
ok no client certificate
ok client certificate
ok TLS against plaintext
ok no password in stats, health or the server list
ok plaintext against TLS
ok a password with a space is refused
ok no password in the exception
ok phpinfo
done
