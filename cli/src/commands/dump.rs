//! `dump [--server S]`: every key of every server, from memcached's
//! `lru_crawler metadump` (through the engine's `Client::dump_keys`).
//!
//! Text: `SERVER KEY EXPTIME LAST_ACCESS CAS SIZE` per key (EXPTIME and
//! LAST_ACCESS are Unix times, EXPTIME -1 for items that never expire;
//! keys escaped as values are). A server that cannot be dumped is named on
//! stderr and the exit status is 2; the other servers' keys are all
//! printed.

use crate::args::{self, Global};
use crate::failure::Failure;

pub fn run(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    use serde_json::json;

    use super::get::text_or_escaped;
    use crate::escape::escape;
    use crate::failure::{warn, FAILED, OK};
    use crate::out::Out;
    use crate::pool;

    let a = args::parse("dump", rest, &[("--server", true)])?;
    a.expect(0, 0, "dump [--server SERVER]")?;
    let client = pool::connect_to(global, a.value("--server"))?;
    let mut out = Out::new(global.json);
    let mut failed = false;
    for (server, result) in client.dump_keys() {
        match result {
            Ok(keys) => {
                for k in keys {
                    if out.json {
                        out.json_line(&json!({"server": server, "key": text_or_escaped(&k.key),
                            "exptime": k.exptime, "last_access": k.last_access,
                            "cas": k.cas, "size": k.size}))?;
                    } else {
                        out.bytes(format!("{server} ").as_bytes())?;
                        out.bytes(&escape(&k.key))?;
                        out.line(&format!(
                            " {} {} {} {}",
                            k.exptime, k.last_access, k.cas, k.size
                        ))?;
                    }
                }
            }
            Err(e) => {
                failed = true;
                warn(&e);
            }
        }
        out.flush()?;
    }
    Ok(if failed { FAILED } else { OK })
}
