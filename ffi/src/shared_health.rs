//! Server health shared by processes forked from one parent.

use crate::boundary::{status_call, Failure};
use crate::status::mcring_status::{self, *};

/// Creates the area where server health (failure counts, dead servers) is
/// kept for this process and every process forked from it afterwards.
///
/// Call it once in the parent before workers fork: PHP-FPM's master at
/// module start-up, a pre-fork server's master before it spawns workers.
/// Clients created afterwards, in the parent or in any worker, then share
/// what they learn: when one worker finds a server dead, the others stop
/// sending to it without paying their own timeouts.
///
/// Calling it again is a no-op. Clients created before the first call keep
/// their health private.
///
/// Returns `MCRING_OK`, or `MCRING_INTERNAL_ERROR` if the shared memory
/// could not be mapped (with the system's reason in `mcring_last_error()`).
#[no_mangle]
pub extern "C" fn mcring_shared_health_init() -> mcring_status {
    status_call(|| {
        mcring::shared_health::init()
            .map_err(|e| Failure::new(MCRING_INTERNAL_ERROR, format!("shared health area: {e}")))?;
        Ok(MCRING_OK)
    })
}
