--TEST--
mcring.shared_health=Off: health stays per process, and phpinfo() says so
--SKIPIF--
<?php if (!extension_loaded('mcring')) die('skip mcring not loaded'); ?>
--INI--
mcring.shared_health=0
--FILE--
<?php
ob_start();
phpinfo(INFO_MODULES);
$info = ob_get_clean();
var_dump(preg_match('/^Shared server health => off \(mcring.shared_health\)$/m', $info));
var_dump(preg_match('/^mcring.shared_health => Off => Off$/m', $info));
?>
--EXPECT--
int(1)
int(1)
