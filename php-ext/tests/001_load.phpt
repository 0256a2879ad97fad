--TEST--
mcring loads: classes, result codes, phpinfo() with the version and settings
--SKIPIF--
<?php if (!extension_loaded('mcring')) die('skip mcring not loaded'); ?>
--FILE--
<?php
var_dump(extension_loaded('mcring'), phpversion('mcring'));
var_dump(class_exists('McRing\Client'), is_subclass_of('McRing\Exception', 'RuntimeException'));
// php-memcached's numbers, under McRing\Client's names.
$codes = (new ReflectionClass('McRing\Client'))->getConstants();
foreach ($codes as $name => $value) {
    echo "$name = $value\n";
}
ob_start();
phpinfo(INFO_MODULES);
$info = ob_get_clean();
preg_match('/^mcring support => (.*)$/m', $info, $m);
echo "support: $m[1]\n";
preg_match('/^Extension version => (.*)$/m', $info, $m);
echo "version: $m[1]\n";
var_dump(preg_match('/^libmcring version \(running\) => \d+\.\d+\.\d+$/m', $info));
var_dump(preg_match('/^mcring.shared_health => On => On$/m', $info));
var_dump(preg_match('/^Shared server health => active$/m', $info));
var_dump(ini_get('mcring.shared_health'));
?>
--EXPECT--
bool(true)
string(5) "0.1.0"
bool(true)
bool(true)
RES_SUCCESS = 0
RES_NOTFOUND = 16
RES_NOTSTORED = 14
RES_EXISTS = 12
RES_BAD_KEY = 33
RES_BAD_VALUE = -1001
RES_BAD_CONFIG = 43
RES_INVALID_ARGUMENT = 38
RES_TIMEOUT = 31
RES_CONNECTION_ERROR = 3
RES_SERVER_DOWN = 47
RES_TOO_LARGE = 37
RES_CLIENT_ERROR = 9
RES_SERVER_ERROR = 10
RES_PROTOCOL_ERROR = 8
RES_NO_SERVERS = 20
RES_BUFFER_TOO_SMALL = 1
RES_INTERNAL_ERROR = 1
RES_STORED_ELSEWHERE = -2001
RES_STALE = -2002
RES_AUTH_FAILED = 41
support: enabled
version: 0.1.0
int(1)
int(1)
int(1)
string(1) "1"
