//! The worker's memory cap: a global allocator that counts live heap bytes and ends
//! the process with [`OVER_CAP_EXIT`] when an allocation would take them past the cap.
//!
//! Counting in the allocator (rather than only `RLIMIT_AS`) measures what the code
//! under test asks for, not address space reserved by the runtime, and it stops the
//! case before the memory is touched. Exiting (rather than returning null) gives the
//! parent an exit code of its own to tell over-cap from other aborts. `_exit` is used
//! because nothing may allocate or take locks from inside the allocator.

// The allocator and `_exit`/`setrlimit` are the only unsafe code of the crate; each
// block forwards to the system allocator or libc with the caller's own arguments.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The exit code of a worker that went over its memory cap.
pub const OVER_CAP_EXIT: i32 = 87;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static CAP: AtomicUsize = AtomicUsize::new(usize::MAX);

/// The system allocator with a cap on live bytes (no cap until [`set_cap`]).
#[derive(Debug)]
pub struct CappedAlloc;

/// Caps live heap bytes of this process from now on.
pub fn set_cap(bytes: usize) {
    CAP.store(bytes, Ordering::SeqCst);
}

/// Live heap bytes now.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Also caps the address space (`RLIMIT_AS`), for mappings the allocator does not
/// see. Best effort: an error leaves the allocator's cap as the only one.
pub fn limit_address_space(bytes: u64) {
    #[cfg(unix)]
    {
        let lim = libc::rlimit {
            rlim_cur: bytes as libc::rlim_t,
            rlim_max: bytes as libc::rlim_t,
        };
        // SAFETY: setrlimit reads the struct we pass and touches nothing else.
        unsafe {
            libc::setrlimit(libc::RLIMIT_AS, &lim);
        }
    }
    #[cfg(not(unix))]
    let _ = bytes;
}

fn reserve(n: usize) {
    let before = LIVE.fetch_add(n, Ordering::Relaxed);
    if before.saturating_add(n) > CAP.load(Ordering::Relaxed) {
        // SAFETY: _exit ends the process without running any Rust or libc code that
        // could allocate; the parent reads the exit code.
        unsafe { libc::_exit(OVER_CAP_EXIT) }
    }
}

fn release(n: usize) {
    LIVE.fetch_sub(n, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the same layout and pointer; the
// counting happens around those calls and never changes what they return.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        reserve(layout.size());
        let p = System.alloc(layout);
        if p.is_null() {
            release(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        reserve(layout.size());
        let p = System.alloc_zeroed(layout);
        if p.is_null() {
            release(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        release(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old {
            reserve(new_size - old);
        }
        let p = System.realloc(ptr, layout, new_size);
        if p.is_null() {
            if new_size > old {
                release(new_size - old);
            }
        } else if new_size < old {
            release(old - new_size);
        }
        p
    }
}
