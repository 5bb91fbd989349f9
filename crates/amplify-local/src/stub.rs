//! A programmable HTTP endpoint for the services around Amplify that tests fake: STS, GitHub's
//! OIDC token endpoint, the container credentials endpoint, IMDS. The handler decides each
//! answer (or a hang); every request is recorded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::http::{self, Request, Response};

pub enum Reply {
    Respond(Response),
    /// Accept and never answer: for timeouts.
    Hang,
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

pub struct Stub {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Stub {
    /// Listens on 127.0.0.1, an ephemeral port; returns once listening.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Stub {
        let handler: Arc<Handler> = Arc::new(handler);
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let tx = http::serve_on_thread(listener, move |listener| async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let (h, r) = (handler.clone(), recorded.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    while let Ok(Some(req)) = http::read_request(&mut stream, &mut buf).await {
                        r.lock().unwrap().push(req.clone());
                        match h(&req) {
                            Reply::Respond(resp) => {
                                if http::write_response(&mut stream, &resp).await.is_err() {
                                    return;
                                }
                            }
                            Reply::Hang => {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                                return;
                            }
                        }
                        if req
                            .header("connection")
                            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
                        {
                            return;
                        }
                    }
                });
            }
        });
        Stub {
            addr,
            requests,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
