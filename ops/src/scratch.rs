//! Per-thread scratch buffers that outlive one call, so that the unfolded
//! patches of every convolution in every training step do not each cost a
//! fresh zero-filled allocation (measured: memset was 7-9 % of training
//! the NAS-Bench-201 cell network, most of it these buffers).
//!
//! A buffer's contents are whatever the last user left (always
//! initialised, never cleared): callers write before they read, or ignore
//! what they did not write.

use std::cell::RefCell;

/// How many buffers one caller may hold at once.
pub(crate) const SLOTS: usize = 2;

thread_local! {
    static BUFFERS: [RefCell<Vec<f32>>; SLOTS] = const { [RefCell::new(Vec::new()), RefCell::new(Vec::new())] };
}

/// Runs `f` with this thread's buffer `slot`, at least `len` values long
/// (grown with zeros when shorter). A nested use of the same slot (which
/// the callers never make) gets a fresh buffer rather than a panic.
pub(crate) fn with_scratch<R>(slot: usize, len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut f = Some(f);
    let reused = BUFFERS.with(|buffers| {
        let mut buf = buffers[slot].try_borrow_mut().ok()?;
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        let f = f.take().expect("runs once");
        Some(f(&mut buf[..len]))
    });
    match reused {
        Some(result) => result,
        None => {
            let f = f.take().expect("runs once");
            f(&mut vec![0.0; len])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_nesting_gets_a_fresh_one() {
        let first = with_scratch(0, 4, |buf| {
            buf.copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
            buf.as_ptr() as usize
        });
        let (again, nested) = with_scratch(0, 3, |buf| {
            assert_eq!(buf, &[1.0, 2.0, 3.0], "contents are kept, not cleared");
            let nested = with_scratch(0, 2, |inner| inner.as_ptr() as usize);
            (buf.as_ptr() as usize, nested)
        });
        assert_eq!(first, again, "the same buffer comes back");
        assert_ne!(again, nested, "a nested use gets another buffer");
        assert_eq!(with_scratch(1, 5, |buf| buf.len()), 5);
    }
}
