--TEST--
Fork: a child keeps using a client made before the fork, over its own connections
--SKIPIF--
<?php include 'skipif.inc'; if (!function_exists('pcntl_fork')) die('skip pcntl is not available'); ?>
--FILE--
<?php
include 'config.inc';
$c = mcring_test_client();
$c->set('parent', 'p');   // the parent's connections are open now
$children = [];
for ($i = 0; $i < 4; $i++) {
    $pid = pcntl_fork();
    if ($pid === 0) {
        // Concurrent children over the same client object: every reply
        // must be their own (a shared socket would mix them up).
        $ok = true;
        for ($j = 0; $j < 200; $j++) {
            $ok = $ok && $c->set("child$i:$j", "$i:$j") && $c->get("child$i:$j") === "$i:$j";
        }
        exit($ok && $c->get('parent') === 'p' ? 0 : 1);
    }
    $children[] = $pid;
}
$all = true;
foreach ($children as $pid) {
    pcntl_waitpid($pid, $status);
    $all = $all && pcntl_wexitstatus($status) === 0;
}
check('every child read its own replies', $all);
check('the parent still works', $c->get('parent') === 'p' && $c->get('child3:199') === '3:199');
?>
--EXPECT--
ok every child read its own replies
ok the parent still works
