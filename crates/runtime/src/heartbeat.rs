//! Keeping a lease alive while its work runs.

use std::future::Future;
use std::time::Duration;

/// Runs `beat` every `every` until dropped. Work that holds a lease (claimed fetches, a
/// push waiting for its budget slot) renews it with a heartbeat, so no second worker takes
/// the same work while the first is alive; a worker that dies stops renewing and the lease
/// runs out.
pub struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    pub fn start<F, Fut>(every: Duration, beat: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                beat().await;
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}
