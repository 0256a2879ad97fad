--TEST--
Client::__construct: config string, server list, options; bad config is McRing\Exception
--SKIPIF--
<?php include 'skipif.inc'; ?>
--FILE--
<?php
include 'config.inc';
$servers = mcring_test_servers();

// A config string, with options inside it.
$c = new McRing\Client(implode(' ', $servers) . ' io_timeout_ms=500 prefix=cfg-string:');
check('config string works', $c->set('k', 'v') && $c->get('k') === 'v');
// A list of servers and an options array: the same keys land on the same servers.
$d = new McRing\Client($servers, ['io_timeout_ms' => 500, 'prefix' => 'cfg-string:']);
check('server list with options reads the same key', $d->get('k') === 'v');
check('options as int and bool', (new McRing\Client($servers, ['replicas' => 1, 'read_repair' => true])) instanceof McRing\Client);
check('weights in the list', count((new McRing\Client([$servers[0] . ':3']))->getServerList()) === 1);
check('not persistent without an id', !$c->isPersistent() && $c->isPristine());

function refused(string $what, callable $make, string $part): void
{
    try {
        $make();
        check($what, false, 'no exception');
    } catch (McRing\Exception $e) {
        $ok = $e->getCode() === McRing\Client::RES_BAD_CONFIG && str_contains($e->getMessage(), $part);
        check($what, $ok, [$e->getCode(), $e->getMessage()]);
    }
}
refused('unknown option', fn() => new McRing\Client($servers, ['bogus' => 1]), 'unknown option "bogus"');
refused('unknown option in the string', fn() => new McRing\Client('127.0.0.1:11211 bogus=1'), 'bogus');
refused('bad port', fn() => new McRing\Client(['127.0.0.1:99999']), 'port must be 1..65535');
refused('bad option value', fn() => new McRing\Client($servers, ['replicas' => 'many']), 'replicas');
refused('bad distribution', fn() => new McRing\Client($servers, ['distribution' => 'random']), 'distribution');
refused('server entry with a space', fn() => new McRing\Client(['127.0.0.1:1 x']), 'whitespace');
refused('server entry with "="', fn() => new McRing\Client(['replicas=1']), "contains '='");
refused('empty server entry', fn() => new McRing\Client(['']), 'server is empty');
refused('server entry not a string', fn() => new McRing\Client([11211]), 'server #0 must be a string');
refused('option name not a string', fn() => new McRing\Client($servers, [1]), 'option names are strings');
refused('option value a float', fn() => new McRing\Client($servers, ['io_timeout_ms' => 1.5]), 'must be a string, an int or a bool');
refused('option value with a space', fn() => new McRing\Client($servers, ['prefix' => 'a b']), 'whitespace');
refused('NUL in the config string', fn() => new McRing\Client("127.0.0.1:1\0x"), 'NUL');
refused('empty persistent id', fn() => new McRing\Client($servers, [], ''), 'persistent_id is empty');
refused('pickle serializer', fn() => new McRing\Client($servers, ['serializer' => 'pickle']), 'pickle');
refused('gutter failover without a gutter', fn() => new McRing\Client($servers, ['failover' => 'gutter']), 'gutter');

// No servers: a client whose requests fail with RES_NO_SERVERS.
$none = new McRing\Client([]);
check('no servers: get fails', $none->get('k') === false && $none->getResultCode() === McRing\Client::RES_NO_SERVERS);
check('no servers: set fails', $none->set('k', 1) === false && $none->getResultCode() === McRing\Client::RES_NO_SERVERS);

// Misuse that PHP reports with an Error.
try {
    $c->__construct($servers);
    check('constructing twice', false);
} catch (Error $e) {
    check('constructing twice', $e->getMessage() === 'McRing\Client is already constructed');
}
$raw = (new ReflectionClass('McRing\Client'))->newInstanceWithoutConstructor();
try {
    $raw->get('k');
    check('unconstructed object', false);
} catch (Error $e) {
    check('unconstructed object', $e->getMessage() === 'McRing\Client object is not constructed');
}
try {
    $copy = clone $c;
    check('clone', false);
} catch (Error $e) {
    check('clone', str_contains($e->getMessage(), 'Trying to clone an uncloneable object'));
}
try {
    serialize($c);
    check('serialize', false);
} catch (Exception $e) {
    check('serialize', str_contains($e->getMessage(), 'not allowed'));
}
// A subclass works like the class.
class MyClient extends McRing\Client {}
$sub = new MyClient($servers, ['prefix' => 'sub:']);
check('subclass', $sub->set('k', 1) && $sub->get('k') === 1);
try {
    new McRing\Client(new stdClass());
    check('servers of another type', false);
} catch (TypeError $e) {
    check('servers of another type', str_contains($e->getMessage(), 'must be of type array|string'));
}
?>
--EXPECT--
ok config string works
ok server list with options reads the same key
ok options as int and bool
ok weights in the list
ok not persistent without an id
ok unknown option
ok unknown option in the string
ok bad port
ok bad option value
ok bad distribution
ok server entry with a space
ok server entry with "="
ok empty server entry
ok server entry not a string
ok option name not a string
ok option value a float
ok option value with a space
ok NUL in the config string
ok empty persistent id
ok pickle serializer
ok gutter failover without a gutter
ok no servers: get fails
ok no servers: set fails
ok constructing twice
ok unconstructed object
ok clone
ok serialize
ok subclass
ok servers of another type
