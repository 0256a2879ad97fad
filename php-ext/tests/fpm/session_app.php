<?php
/*
 * The application the PHP-FPM session test requests: a session under a
 * given id, with whatever handler the pool's ini configures, and a JSON
 * report of when the session started and closed.
 *
 * Query: sid=<id>  do=write|read|hold  value=<text>  ms=<hold time>
 */
ini_set('session.use_strict_mode', '0');
ini_set('session.use_cookies', '0');
ini_set('session.cache_limiter', '');
session_id($_GET['sid'] ?? 'none');
$asked = microtime(true);
$warnings = [];
set_error_handler(function ($no, $message) use (&$warnings) {
    $warnings[] = $message;
    return true;
});
$started = session_start();
$at = microtime(true);
if ($started) {
    switch ($_GET['do'] ?? 'read') {
        case 'write':
            $_SESSION['value'] = $_GET['value'] ?? '';
            $_SESSION['writes'] = ($_SESSION['writes'] ?? 0) + 1;
            break;
        case 'hold':
            usleep((int) ($_GET['ms'] ?? 0) * 1000);
            $_SESSION['held'] = ($_SESSION['held'] ?? 0) + 1;
            break;
    }
}
$session = $started ? $_SESSION : null;
$closed = $started ? session_write_close() : false;
header('Content-Type: application/json');
echo json_encode([
    'pid' => getmypid(),
    'handler' => ini_get('session.save_handler'),
    'started' => $started,
    'closed' => $closed,
    'asked_at' => $asked,
    'started_at' => $at,
    'closed_at' => microtime(true),
    'session' => $session,
    'warnings' => $warnings,
]);
