//! Per-key background tasks (one fetch round per account, one push per keyCRM warehouse)
//! that free their key however they end, panics included.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use tokio::task::{Id, JoinSet};

/// At most one running task per key, at most `limit` at once.
pub struct KeyedTasks<K> {
    set: JoinSet<()>,
    keys: HashMap<Id, K>,
    limit: usize,
}

impl<K: Clone + Eq + Hash + Send + std::fmt::Debug + 'static> KeyedTasks<K> {
    pub fn new(limit: usize) -> Self {
        Self {
            set: JoinSet::new(),
            keys: HashMap::new(),
            limit: limit.max(1),
        }
    }

    /// Starts `work` for `key` unless one runs for it already or the limit is reached;
    /// answers whether it started.
    pub fn start(&mut self, key: K, work: impl Future<Output = ()> + Send + 'static) -> bool {
        if self.keys.len() >= self.limit || self.keys.values().any(|k| *k == key) {
            return false;
        }
        let handle = self.set.spawn(work);
        self.keys.insert(handle.id(), key);
        true
    }

    /// Forgets the tasks that ended since the last call; a panicked task's key is freed
    /// like any other (and the panic logged).
    pub fn reap(&mut self) {
        while let Some(done) = self.set.try_join_next_with_id() {
            self.forget(done);
        }
    }

    /// Waits until one task ends (pending forever when none runs); for `select!`.
    pub async fn next(&mut self) {
        match self.set.join_next_with_id().await {
            Some(done) => self.forget(done),
            None => std::future::pending().await,
        }
    }

    /// Waits for every task to end.
    pub async fn drain(&mut self) {
        while let Some(done) = self.set.join_next_with_id().await {
            self.forget(done);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn forget(&mut self, done: Result<(Id, ()), tokio::task::JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(err) => {
                let id = err.id();
                tracing::error!(key = ?self.keys.get(&id), error = %err, "a background task failed; its key is free again");
                id
            }
        };
        self.keys.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_frees_its_key() {
        let mut tasks = KeyedTasks::new(2);
        assert!(tasks.start("a", async { panic!("boom") }));
        assert!(!tasks.start("a", async {}), "one task per key");
        assert!(tasks.start("b", async {}));
        assert!(!tasks.start("c", async {}), "the limit holds");
        tasks.drain().await;
        assert!(tasks.is_empty());
        assert!(tasks.start("a", async {}), "the panicked key is free again");
    }
}
