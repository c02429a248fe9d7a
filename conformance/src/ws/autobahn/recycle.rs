//! Compressors handed on from one compression case to the next.
//!
//! A compressor's state is about 380 KB with a 15-bit window, and each of the
//! 216 compression cases needs one for its single connection. Allocated and
//! freed once per case, these blocks are larger than glibc's initial mmap
//! threshold: the first one freed raises the threshold above their size, and
//! from then on every one of them lands in a heap between the smaller
//! allocations of the cases around it, which fragments the heap (the run's
//! resident memory grew to half again its live data). Kept here when a case
//! ends and reset, a compressor serves the next case with the same settings:
//! the run allocates about as many as it plays cases at once.
//!
//! A reset compressor compresses exactly as a new one of the same settings
//! (zlib's `deflateReset`), so the bytes on the wire are the same.

use std::sync::{LazyLock, Mutex};

use pulsecheck_ws::Role;
use pulsecheck_ws::deflate::Agreement;

use crate::ws::deflate::Deflater;

/// The most idle compressors kept: as many as compression cases play at once
/// ([`COMPRESSION_CASES`](super::COMPRESSION_CASES)), about 3 MB at most.
pub const KEPT: usize = 8;

/// Idle compressors, oldest first.
static IDLE: LazyLock<Mutex<Vec<Deflater>>> = LazyLock::new(|| Mutex::new(Vec::new()));

/// The deflater `role` sends with under `agreement` ([`Deflater::new`]): an idle
/// one with the same settings when one is kept, a new one otherwise.
pub fn deflater(agreement: &Agreement, role: Role, reset: bool) -> Deflater {
    let config = Deflater::config_for(agreement, role, reset);
    let kept = IDLE.lock().ok().and_then(|mut idle| {
        let at = idle
            .iter()
            .rposition(|d| d.role() == role && d.config() == config)?;
        Some(idle.remove(at))
    });
    kept.unwrap_or_else(|| Deflater::new(agreement, role, reset))
}

/// Takes back the deflater of a case that ended, reset, for the next case;
/// the oldest idle one goes when more than [`KEPT`] are.
pub fn give_back(mut deflater: Deflater) {
    deflater.reset();
    if let Ok(mut idle) = IDLE.lock() {
        idle.push(deflater);
        if idle.len() > KEPT {
            idle.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulsecheck_ws::deflate::WindowBits;

    fn agreement(bits: u8) -> Agreement {
        Agreement {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: WindowBits::MAX,
            client_max_window_bits: WindowBits::new(bits).expect("bits"),
        }
    }

    #[test]
    fn a_deflater_handed_on_compresses_as_a_new_one() {
        // Window 12 and a context kept: settings no other test hands on.
        let message = b"a message, a message, a message that compresses".repeat(40);
        let mut used = deflater(&agreement(12), Role::Client, false);
        let mut out = Vec::new();
        used.compress(&message, &mut out).expect("compresses");
        // Mid-context (the next message would refer back to this one) when
        // given back: reset, it is what a new deflater gives.
        give_back(used);
        let mut again = deflater(&agreement(12), Role::Client, false);
        let mut fresh = Deflater::new(&agreement(12), Role::Client, false);
        for _ in 0..3 {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            again.compress(&message, &mut a).expect("compresses");
            fresh.compress(&message, &mut b).expect("compresses");
            assert_eq!(a, b);
        }
        assert_eq!(again.config(), fresh.config());
    }

    #[test]
    fn only_the_same_settings_and_role_are_handed_on_and_few_are_kept() {
        give_back(Deflater::new(&agreement(11), Role::Server, true));
        let other = deflater(&agreement(11), Role::Client, true);
        assert_eq!(other.role(), Role::Client);
        let narrower = deflater(&agreement(10), Role::Server, true);
        assert_eq!(
            narrower.config(),
            Deflater::new(&agreement(10), Role::Server, true).config()
        );
        for _ in 0..3 * KEPT {
            give_back(Deflater::new(&agreement(11), Role::Server, true));
        }
        let kept = IDLE.lock().map(|idle| idle.len()).unwrap_or(usize::MAX);
        assert!(kept <= KEPT, "{kept}");
    }
}
