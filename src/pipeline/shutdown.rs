//! Graceful shutdown: a signal that stops new work while in-flight records finish and commit.

use tokio::sync::watch;

/// The receiving side of a shutdown signal. Cheap to clone; hand one to every run.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// The sending side: [`ShutdownTrigger::trigger`] asks every holder of a [`Shutdown`] to stop.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

/// A connected trigger / signal pair.
pub fn shutdown_channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl ShutdownTrigger {
    /// Requests shutdown. Runs stop reading and stop starting records, finish the ones in
    /// flight (a post is never cut off mid-request), commit the checkpoint and return.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Another receiver for this trigger.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            rx: self.tx.subscribe(),
        }
    }
}

impl Shutdown {
    /// A signal that never fires.
    pub fn never() -> Self {
        let (_tx, rx) = watch::channel(false);
        Self { rx }
    }

    /// `true` once shutdown was requested.
    pub fn is_requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves when shutdown is requested (never, if the trigger was dropped unfired).
    pub async fn requested(&self) {
        let mut rx = self.rx.clone();
        loop {
            if *rx.borrow_and_update() {
                return;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn trigger_wakes_waiters_and_never_stays_quiet() {
        let (trigger, s) = shutdown_channel();
        let s2 = trigger.subscribe();
        assert!(!s.is_requested());
        let waiter = tokio::spawn(async move { s2.requested().await });
        trigger.trigger();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(s.is_requested());
        let never = Shutdown::never();
        assert!(
            tokio::time::timeout(Duration::from_millis(20), never.requested())
                .await
                .is_err()
        );
    }
}
