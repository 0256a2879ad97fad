<?php
// The demo's PHP service: stores 1,000 sessions through the mcring extension.
//   php -d extension=mcring.so write_sessions.php CONFIG
$mc = new McRing\Client($argv[1]);
for ($i = 0; $i < 1000; $i++) {
    $session = ['user' => $i, 'name' => "user$i", 'cart' => [$i % 7, $i % 11], 'admin' => $i % 100 == 0];
    if (!$mc->set("session:$i", $session, 3600)) {
        fwrite(STDERR, "set session:$i: " . $mc->getResultMessage() . "\n");
        exit(1);
    }
}
echo "PHP wrote 1000 sessions\n";
