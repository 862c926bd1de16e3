//! A tiny HTTP/1.1 server on 127.0.0.1 for the download tests (shared by the ipbn-train and
//! ipbn-reports test crates through `#[path]`). Each request path is answered from a fixed
//! table of routes; anything not in it gets a 404.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How the server answers one path.
#[derive(Clone, Debug)]
pub enum Route {
    /// 200 with this body and its true length.
    Body(Vec<u8>),
    /// 200 announcing `claimed` bytes but sending only `body`, then closing.
    Truncated {
        /// What is sent.
        body: Vec<u8>,
        /// The `Content-Length` announced.
        claimed: usize,
    },
    /// Accepts the request and never answers (holds the connection for a minute).
    Hang,
}

/// A running server: its base URL and how many requests it has received.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    hits: Arc<AtomicUsize>,
}

impl Server {
    /// Starts a server answering `routes` (paths like `/dir/file.gz`).
    pub fn start(routes: HashMap<String, Route>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let routes = Arc::new(routes);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let routes = Arc::clone(&routes);
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || serve(stream, &routes, &counter));
            }
        });
        Server { base, hits }
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A base URL on which nothing listens (a port just bound and released).
pub fn dead_base() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = l.local_addr().expect("address");
    drop(l);
    format!("http://{addr}")
}

fn serve(mut stream: TcpStream, routes: &HashMap<String, Route>, hits: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let text = String::from_utf8_lossy(&head);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let reply = |stream: &mut TcpStream, status: &str, len: usize, body: &[u8]| {
        let header = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
        );
        let _ = stream.write_all(header.as_bytes());
        let _ = stream.write_all(body);
        let _ = stream.flush();
    };
    match routes.get(&path) {
        Some(Route::Body(b)) => reply(&mut stream, "200 OK", b.len(), b),
        Some(Route::Truncated { body, claimed }) => reply(&mut stream, "200 OK", *claimed, body),
        Some(Route::Hang) => std::thread::sleep(Duration::from_secs(60)),
        None => reply(&mut stream, "404 Not Found", 9, b"not found"),
    }
}
