//! The harness itself: a memcached starts, answers, pauses, dies and restarts.

use mcring_tests::Memcached;

#[test]
fn memcached_starts_answers_and_restarts() {
    let mut m = Memcached::start();
    let reply = m.raw(b"set k 5 0 2\r\nhi\r\n", b"\r\n");
    assert_eq!(reply, b"STORED\r\n");
    assert_eq!(m.raw_get(b"k"), Some((5, b"hi".to_vec())));
    assert_eq!(m.curr_items(), 1);
    let port = m.port;
    m.restart();
    assert_eq!(m.port, port);
    assert_eq!(m.raw_get(b"k"), None, "a restarted server is empty");
    m.kill();
    assert!(!m.is_running());
}
