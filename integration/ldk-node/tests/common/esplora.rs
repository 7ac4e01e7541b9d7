//! A local Esplora stub: just enough of the Esplora HTTP API for an ldk-node on regtest to
//! build, start and stop with no chain at all.
//!
//! - `GET /fee-estimates`: every confirmation target at 2 sat/vB;
//! - `GET /blocks/tip/height`: `0`; `GET /blocks/tip/hash`: the regtest genesis hash;
//! - `GET /block/<genesis>/header` and `/status`: the genesis block's header and status;
//! - `GET /scripthash/<hash>/txs...`: no transactions;
//! - anything else: 404 (ldk-node logs the failed background sync and carries on).
//!
//! Every request path is recorded, so a test can show what the node asked for.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ldk_node::bitcoin::consensus::encode::serialize_hex;
use ldk_node::bitcoin::{Network, constants::genesis_block};
use tiny_http::{Header, Response, Server};

pub struct EsploraStub {
    server: Arc<Server>,
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl EsploraStub {
    pub fn start() -> EsploraStub {
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind the Esplora stub"));
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (server, requests) = (Arc::clone(&server), Arc::clone(&requests));
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let path = request.url().to_owned();
                    requests.lock().unwrap().push(path.clone());
                    let (status, body, json) = answer(&path);
                    let mut response = Response::from_string(body).with_status_code(status);
                    if json {
                        let header = Header::from_bytes("Content-Type", "application/json");
                        response.add_header(header.expect("a valid header"));
                    }
                    // The client may have gone away; nothing to do about it here.
                    let _ = request.respond(response);
                }
            })
        };
        EsploraStub {
            server,
            url: format!("http://127.0.0.1:{port}"),
            requests,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The distinct request paths served so far, in first-seen order.
    pub fn paths(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for path in self.requests.lock().unwrap().iter() {
            if !seen.contains(path) {
                seen.push(path.clone());
            }
        }
        seen
    }
}

impl Drop for EsploraStub {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Status, body and whether the body is JSON.
fn answer(path: &str) -> (u16, String, bool) {
    let genesis = genesis_block(Network::Regtest);
    let hash = genesis.block_hash().to_string();
    match path {
        "/fee-estimates" => {
            let targets = (1..=25).chain([144, 504, 1008]);
            let map: Vec<String> = targets.map(|t| format!("\"{t}\":2.0")).collect();
            (200, format!("{{{}}}", map.join(",")), true)
        }
        "/blocks/tip/height" => (200, "0".to_owned(), false),
        "/blocks/tip/hash" => (200, hash, false),
        p if p == format!("/block/{hash}/header") => (200, serialize_hex(&genesis.header), false),
        p if p == format!("/block/{hash}/status") => {
            (200, r#"{"in_best_chain":true,"height":0,"next_best":null}"#.to_owned(), true)
        }
        p if p.starts_with("/scripthash/") && p.contains("/txs") => (200, "[]".to_owned(), true),
        _ => (404, "not found".to_owned(), false),
    }
}
