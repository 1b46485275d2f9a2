//! A `redis-server` of a test's own, for the DPoP replay store tests (`.ci/run` installs it).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` of our own on a free loopback port, killed when dropped.
pub(crate) struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one; `None` (after a loud message) when there is no `redis-server` to run,
    /// except under CI, where that is a failure: `.ci/run` installs it.
    pub(crate) fn start() -> Option<Self> {
        // Another process may take the free port before redis-server binds it: then it
        // exits, and another port is tried.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match child {
                Ok(child) => child,
                Err(err) => {
                    assert!(
                        std::env::var_os("CI").is_none(),
                        "redis-server cannot be run under CI ({err}): .ci/run installs it"
                    );
                    eprintln!(
                        "\n!!! SKIPPED: redis-server cannot be run ({err}); install it \
                         (apt-get install -y redis-server) to run the Redis replay store tests !!!\n"
                    );
                    return None;
                }
            };
            let mut server = Self { child, port };
            // Ready when it accepts connections; bounded, and only a wait, not a measure.
            for _ in 0..200 {
                if server.child.try_wait().unwrap().is_some() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(server);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("redis-server did not start listening on a free loopback port");
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
