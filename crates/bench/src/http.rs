//! A lean HTTP/1.1 load generator: one keep-alive connection per sender, a request built once.
//!
//! The bench shares two cores with ingress and RabbitMQ, so every microsecond the client spends
//! is taken from the service it measures. A general client (reqwest, hyper's pool) costs several
//! times what ingress does per request; this one writes prepared bytes and parses the status
//! line and headers with `httparse`, as `wrk` would.

use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The wire form of one POST, reused for every request.
#[derive(Clone)]
pub(crate) struct Request {
    address: String,
    bytes: Vec<u8>,
}

impl Request {
    /// A JSON POST of `body` to `url` (http only).
    pub(crate) fn post_json(url: &str, body: &[u8]) -> anyhow::Result<Self> {
        let url = url::Url::parse(url)?;
        anyhow::ensure!(url.scheme() == "http", "only http is supported: {url}");
        let host = url.host_str().context("a host")?;
        let port = url.port_or_known_default().context("a port")?;
        let mut bytes = format!(
            "POST {} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            url.path(),
            body.len()
        )
        .into_bytes();
        bytes.extend_from_slice(body);
        Ok(Self {
            address: format!("{host}:{port}"),
            bytes,
        })
    }
}

/// One keep-alive connection; reconnects after any error.
pub(crate) struct Connection {
    request: Request,
    stream: Option<TcpStream>,
    buffer: Vec<u8>,
}

impl Connection {
    pub(crate) fn new(request: Request) -> Self {
        Self {
            request,
            stream: None,
            buffer: Vec::with_capacity(4096),
        }
    }

    /// Sends the request and reads the whole answer; its status code. A kept-alive connection
    /// the server closed while idle is reopened once, as any HTTP client does.
    pub(crate) async fn send(&mut self) -> anyhow::Result<u16> {
        let reused = self.stream.is_some();
        match self.send_once().await {
            Err(_) if reused => self.send_once().await,
            answered => answered,
        }
    }

    async fn send_once(&mut self) -> anyhow::Result<u16> {
        let result = tokio::time::timeout(Duration::from_secs(10), self.exchange()).await;
        match result {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                anyhow::bail!("no answer within 10 s")
            }
        }
    }

    async fn exchange(&mut self) -> anyhow::Result<u16> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.request.address).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().context("connected")?;
        stream.write_all(&self.request.bytes).await?;
        self.buffer.clear();
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response.parse(&self.buffer)? {
                let status = response.code.context("a status code")?;
                let length: usize = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .map(|h| std::str::from_utf8(h.value).unwrap_or("").trim().parse())
                    .transpose()?
                    .context("a content-length")?;
                while self.buffer.len() < head + length {
                    if stream.read_buf(&mut self.buffer).await? == 0 {
                        anyhow::bail!("the connection closed mid-body");
                    }
                }
                anyhow::ensure!(
                    self.buffer.len() == head + length,
                    "more bytes than one answer"
                );
                return Ok(status);
            }
            if stream.read_buf(&mut self.buffer).await? == 0 {
                anyhow::bail!("the connection closed before an answer");
            }
        }
    }
}
