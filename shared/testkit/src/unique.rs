//! Names and ids that are unique across parallel tests and processes (no RNG dependency).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// A name unique on one machine: `prefix` (only `[A-Za-z0-9_-]` kept, at most 32 characters),
/// the process id, a per-process counter and the clock's nanoseconds. At most 64 characters, so
/// it is a valid DynamoDB table name and, with a suffix such as `-unified.fifo`, an SQS queue name.
pub fn unique_name(prefix: &str) -> String {
    let prefix: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(32)
        .collect();
    let prefix = if prefix.is_empty() { "o2o" } else { &prefix };
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}-{}-{n}-{}",
        std::process::id(),
        now_nanos() % 1_000_000_000
    )
}

/// A UUID-shaped (8-4-4-4-12 lower-case hex) id, unique on one machine; not a real UUID.
pub(crate) fn uuid_like() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let hi = now_nanos() as u64;
    let lo = (u64::from(std::process::id()) << 32) ^ n;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xfff,
        (lo >> 48) & 0xfff,
        lo & 0xffff_ffff_ffff
    )
}

/// `count` lower-case hex digits, unique on one machine (for trace and log-stream ids).
pub(crate) fn hex_id(count: usize) -> String {
    let id: String = uuid_like().chars().filter(|c| *c != '-').collect();
    let mut id = id.chars().rev().collect::<String>();
    while id.len() < count {
        id.push('0');
    }
    id.truncate(count);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_are_unique_and_well_formed() {
        let a = unique_name("my test!");
        let b = unique_name("my test!");
        assert_ne!(a, b);
        assert!(a.starts_with("mytest-"), "{a}");
        assert!(unique_name(&"x".repeat(200)).len() <= 64);
        assert!(unique_name("").starts_with("o2o-"));
        let id = uuid_like();
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(id.matches('-').count(), 4, "{id}");
        assert_ne!(id, uuid_like());
        assert_eq!(hex_id(24).len(), 24);
    }
}
