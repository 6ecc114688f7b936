//! A TCP proxy a test controls: forward, stall (hold every byte: the peer sees silence), or
//! cut (close every connection and refuse new ones), to play a broker that hangs or dies.

use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    Stall,
    Cut,
}

/// A proxy on `127.0.0.1:<port>` in front of `upstream`.
pub struct TcpProxy {
    pub port: u16,
    mode: Arc<watch::Sender<Mode>>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(upstream: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (tx, _) = watch::channel(Mode::Forward);
        let mode = Arc::new(tx);
        let upstream = upstream.to_owned();
        let accept_mode = mode.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *accept_mode.borrow() == Mode::Cut {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let rx = accept_mode.subscribe();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        pipe(client, server, rx).await;
                    }
                });
            }
        });
        Ok(Self { port, mode, accept })
    }

    /// An AMQP URL through this proxy.
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Pass traffic (again); stalled bytes flow on.
    pub fn forward(&self) {
        self.mode.send_replace(Mode::Forward);
    }

    /// Hold all traffic in both directions; connections stay open.
    pub fn stall(&self) {
        self.mode.send_replace(Mode::Stall);
    }

    /// Close every connection and refuse new ones.
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Cut);
        self.accept.abort();
    }
}

async fn pipe(client: TcpStream, server: TcpStream, rx: watch::Receiver<Mode>) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = tokio::spawn(copy(client_read, server_write, rx.clone()));
    let down = tokio::spawn(copy(server_read, client_write, rx));
    let _ = tokio::join!(up, down);
}

/// Waits until the proxy forwards; `false` once it is cut.
async fn forwarding(rx: &mut watch::Receiver<Mode>) -> bool {
    loop {
        match *rx.borrow_and_update() {
            Mode::Forward => return true,
            Mode::Cut => return false,
            Mode::Stall => {}
        }
        if rx.changed().await.is_err() {
            return false;
        }
    }
}

async fn copy<R, W>(mut from: R, mut to: W, mut rx: watch::Receiver<Mode>)
where
    R: AsyncReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        if !forwarding(&mut rx).await {
            return;
        }
        let n = tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            changed = rx.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        // Bytes read just before a stall are held until traffic flows again.
        if !forwarding(&mut rx).await {
            return;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
