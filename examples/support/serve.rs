//! What the examples share: the port from `PORT`, the loopback listener, serving until
//! Ctrl-C, and exiting with a message.

use std::fmt::Display;

use tokio::net::TcpListener;

/// Exits with status 1 after `program: message` on stderr.
pub(crate) fn fail(program: &str, message: impl Display) -> ! {
    eprintln!("{program}: {message}");
    std::process::exit(1)
}

/// Listens on 127.0.0.1 at the port in `PORT`, or `default_port`; returns the listener and
/// its base URL (`http://127.0.0.1:<port>`, no trailing slash).
pub(crate) async fn listen(program: &str, default_port: u16) -> (TcpListener, String) {
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .unwrap_or_else(|_| fail(program, format!("PORT={port:?} is not a port number"))),
        Err(_) => default_port,
    };
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|err| fail(program, format!("cannot listen on 127.0.0.1:{port}: {err}")));
    (listener, format!("http://127.0.0.1:{port}"))
}

/// Serves `router` until Ctrl-C.
pub(crate) async fn serve(program: &str, listener: TcpListener, router: axum::Router) {
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(err) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        fail(program, err);
    }
}
