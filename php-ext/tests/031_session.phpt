--TEST--
Session handler mcring: php-memcached's keys and layout, lock keys, strict ids, lazy writes touch, destroy, and failures that are errors (php-memcached's handler in the same process for comparison)
--SKIPIF--
<?php $needs_memcached = true; include 'skipif.inc'; ?>
--INI--
session.use_cookies=0
session.use_strict_mode=0
session.cache_limiter=
session.serialize_handler=php
--FILE--
<?php
// Output is held back: session settings cannot change once it has gone out.
ob_start();
include 'memcached.inc';
$save_path = implode(',', mcring_test_servers());

/** Raw [flags, bytes] of a key, and its TTL (memcached's `mg key t`). */
function raw_with_ttl(string $key): array
{
    foreach (mcring_test_servers() as $server) {
        $s = stream_socket_client("tcp://$server");
        fwrite($s, "mg $key t f v\r\n");
        $line = trim(fgets($s));
        if (str_starts_with($line, 'VA ')) {
            $value = rtrim(fgets($s), "\r\n");
            preg_match('/ t(-?\d+)/', $line, $t);
            preg_match('/ f(\d+)/', $line, $f);
            return [(int) $f[1], $value, (int) $t[1]];
        }
    }
    return [];
}

/** A session under $handler with id $sid: writes $data, returns it read back. */
function with_session(string $handler, string $sid, ?array $data, array $ini = []): array|false
{
    global $save_path;
    ini_set('session.save_handler', $handler);
    ini_set('session.save_path', $save_path);
    foreach ($ini as $name => $value) {
        ini_set($name, (string) $value);
    }
    session_id($sid);
    if (!@session_start()) {
        return false;
    }
    $seen = $_SESSION;
    if ($data !== null) {
        $_SESSION = $data;
    }
    session_write_close();
    return $seen;
}

// The same key, flags, bytes and expiry for both handlers.
$stored = [];
foreach (['memcached', 'mcring'] as $handler) {
    $sid = "same{$handler}" . getmypid();
    with_session($handler, $sid, ['user' => 42, 'cart' => [1, 2]], ['session.gc_maxlifetime' => 600]);
    $r = raw_with_ttl("memc.sess.key.$sid");
    $stored[$handler] = [$r[0] ?? null, $r[1] ?? null, isset($r[2]) && $r[2] > 590 && $r[2] <= 600];
    $stored[$handler . ' lock'] = raw_with_ttl("memc.sess.key.lock.$sid");
}
check('the same key, flags, bytes and expiry', $stored['memcached'] === $stored['mcring']
    && $stored['mcring'] === [0, 'user|i:42;cart|a:2:{i:0;i:1;i:1;i:2;}', true], $stored);
check('no lock key left after the request', $stored['memcached lock'] === [] && $stored['mcring lock'] === []);

// While a request holds the session, its lock key is there (value "1").
ini_set('session.save_handler', 'mcring');
session_id('held' . getmypid());
session_start();
$lock = raw_with_ttl('memc.sess.key.lock.held' . getmypid());
session_write_close();
check('the lock key while the session is open', ($lock[0] ?? null) === 0 && ($lock[1] ?? null) === '1', $lock);

// With locking off, no lock key.
ini_set('mcring.sess_locking', '0');
session_id('nolock' . getmypid());
session_start();
$lock = raw_with_ttl('memc.sess.key.lock.nolock' . getmypid());
session_write_close();
ini_set('mcring.sess_locking', '1');
check('mcring.sess_locking=0: no lock', $lock === []);

// Another prefix.
with_session('mcring', 'pfx' . getmypid(), ['a' => 1], ['mcring.sess_prefix' => 'app.sess.']);
check('mcring.sess_prefix', raw_with_ttl('app.sess.pfx' . getmypid())[1] ?? null === 'a|i:1;');
ini_set('mcring.sess_prefix', 'memc.sess.key.');

// Strict mode: an id nobody created is refused and replaced.
ini_set('session.use_strict_mode', '1');
ini_set('session.save_handler', 'mcring');
session_id('forged' . getmypid());
@session_start();
$new_id = session_id();
session_write_close();
check('strict mode replaces an unknown id', $new_id !== 'forged' . getmypid() && strlen($new_id) >= 22, $new_id);
session_id($new_id);
session_start();
$kept = session_id();
session_write_close();
check('strict mode keeps an id the handler created', $kept === $new_id);
ini_set('session.use_strict_mode', '0');

// Lazy writes: an unchanged session is touched, not rewritten.
$sid = 'lazy' . getmypid();
with_session('mcring', $sid, ['v' => 1], ['session.gc_maxlifetime' => 100, 'session.lazy_write' => 1]);
with_session('mcring', $sid, null, ['session.gc_maxlifetime' => 5000]);
$r = raw_with_ttl("memc.sess.key.$sid");
check('an unchanged session has its expiry renewed', ($r[2] ?? 0) > 4000 && $r[1] === 'v|i:1;', $r);

// destroy removes the session and its lock.
ini_set('session.save_handler', 'mcring');
session_id($sid);
session_start();
session_destroy();
check('session_destroy', raw_with_ttl("memc.sess.key.$sid") === [] && raw_with_ttl("memc.sess.key.lock.$sid") === []);

// A lock another request holds: php-memcached's retries, then a warning
// and session_start() fails (for both handlers).
foreach (['memcached', 'mcring'] as $handler) {
    $sid = "locked$handler" . getmypid();
    mcring_test_raw_set(mcring_test_servers()[0], 'unused', 0, '');
    $m = new Memcached();
    $m->setOption(Memcached::OPT_DISTRIBUTION, Memcached::DISTRIBUTION_CONSISTENT);
    $m->setOption(Memcached::OPT_PREFIX_KEY, 'memc.sess.key.');
    $m->addServers(mc_server_list());
    $m->add("lock.$sid", '1', 30);
    $prefix = $handler === 'mcring' ? 'mcring' : 'memcached';
    $start = microtime(true);
    ini_set('session.save_handler', $handler);
    ini_set("$prefix.sess_lock_retries", '3');
    ini_set("$prefix.sess_lock_wait_min", '20');
    ini_set("$prefix.sess_lock_wait_max", '40');
    session_id($sid);
    $ok = session_start();
    $took = microtime(true) - $start;
    $result[$handler] = [$ok, $took > 0.09 && $took < 5.0];
    ini_set("$prefix.sess_lock_retries", '5');
    $m->delete("lock.$sid");
}
check('a held lock fails session_start after the retries, for both handlers',
    $result['memcached'] === [false, true] && $result['mcring'] === [false, true], $result);

// A write that reaches no server is a failure, not silence: the session's
// server is killed while the request holds the session.
$port = (int) explode(':', mcring_test_closed())[1];
$root = trim((string) shell_exec('id -u')) === '0' ? ['-u', 'root'] : [];
$server = proc_open(array_merge([getenv('MEMCACHED') ?: 'memcached'], $root, ['-l', '127.0.0.1', '-p', (string) $port, '-U', '0']),
    [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
for ($i = 0; $i < 500 && !@fsockopen('127.0.0.1', $port); $i++) {
    usleep(20000);
}
ini_set('session.save_handler', 'mcring');
ini_set('session.save_path', mcring_test_closed());
session_id('nowhere' . getmypid());
$started = session_start();
proc_terminate($server, SIGKILL);
proc_close($server);
$_SESSION['x'] = 1;
error_clear_last();
@session_write_close();
// (session_write_close() itself returns true whatever the handler says.)
$error = error_get_last()['message'] ?? '';
check('a session write that reaches no server fails', $started && str_contains($error, 'Failed to write session data'), $error);

// Bad save paths.
ini_set('session.save_path', 'PERSISTENT=x 127.0.0.1:1');
check('PERSISTENT= is refused as by php-memcached', @session_start() === false);
ini_set('session.save_path', '');
check('an empty save path is refused', @session_start() === false);

// Persistent session clients: the same client for the same save path.
ini_set('session.save_path', $save_path);
ini_set('mcring.sess_persistent', '1');
foreach ([1, 2] as $n) {
    with_session('mcring', 'persist' . getmypid(), ['n' => $n]);
}
check('mcring.sess_persistent', with_session('mcring', 'persist' . getmypid(), null) === ['n' => 2]);
ob_end_flush();
?>
--EXPECTF--
ok the same key, flags, bytes and expiry
ok no lock key left after the request
ok the lock key while the session is open
%Aok mcring.sess_locking=0: no lock
ok mcring.sess_prefix
ok strict mode replaces an unknown id
ok strict mode keeps an id the handler created
ok an unchanged session has its expiry renewed
ok session_destroy
%Aok a held lock fails session_start after the retries, for both handlers
ok a session write that reaches no server fails
ok PERSISTENT= is refused as by php-memcached
ok an empty save path is refused
ok mcring.sess_persistent
