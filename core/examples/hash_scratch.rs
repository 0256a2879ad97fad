use std::time::Instant;
fn main() {
    let c = mcring::Config::parse("a:1 b:2 c:3").unwrap();
    let r = mcring::Router::new(&c);
    let keys: Vec<String> = (0..1000).map(|i| format!("mcr:{i}")).collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    let mut out = Vec::new();
    for round in 0..3 {
        let t = Instant::now();
        let mut acc = 0u32;
        for _ in 0..1000 {
            for k in &refs {
                acc = acc.wrapping_add(r.key_hash(k));
            }
        }
        let scalar = t.elapsed().as_nanos() as f64 / 1e6;
        let t = Instant::now();
        for _ in 0..1000 {
            r.key_hashes(&refs, &mut out);
            acc = acc.wrapping_add(out[7]);
        }
        let x4 = t.elapsed().as_nanos() as f64 / 1e6;
        println!("round {round}: scalar {scalar:.1} ns/key, x4 {x4:.1} ns/key ({acc})");
    }
}
