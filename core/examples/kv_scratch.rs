use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = &args[1];
    let ops: usize = args[2].parse().unwrap();
    let servers = args[3..].join(" ");
    let c = mcring::Client::from_config_str(&servers).unwrap();
    let keys: Vec<String> = (0..1000).map(|i| format!("mcr:{i}")).collect();
    let value = vec![b'x'; 100];
    for k in &keys {
        c.set(k, &value, 0, 0).unwrap();
    }
    let t0 = Instant::now();
    match op.as_str() {
        "get" => {
            for i in 0..ops {
                let v = c.get(&keys[i % 1000]).unwrap();
                assert!(v.is_some());
            }
        }
        "set" => {
            for i in 0..ops {
                c.set(&keys[i % 1000], &value, 0, 0).unwrap();
            }
        }
        "mget" => {
            for i in 0..ops {
                let base = (i * 100) % 1000;
                let ks: Vec<&[u8]> = (0..100).map(|k| keys[(base + k) % 1000].as_bytes()).collect();
                let r = c.get_multi(&ks).unwrap();
                assert_eq!(r.len(), 100);
            }
        }
        _ => panic!(),
    }
    println!("{:.0}", ops as f64 / t0.elapsed().as_secs_f64());
}
