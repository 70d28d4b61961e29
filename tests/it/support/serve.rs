//! `sacon serve` as a child process: the one place tests wait for the built binary's server to say where it
//! listens, with a bound, so a server that never starts fails the test instead of hanging it.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// How long a server may take to print its first line.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads the child's stdout on a thread, waits (bounded) for `listening on URL`, and returns the URL and the
/// lines that follow (the channel ends when stdout closes).
pub fn listening_url(child: &mut Child) -> (String, Receiver<String>) {
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let Ok(line) = rx.recv_timeout(START_TIMEOUT) else {
        let _ = child.kill();
        let status = child.wait();
        panic!("sacon serve printed no first line within {START_TIMEOUT:?} (exit: {status:?})");
    };
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from sacon serve: {line:?}"))
        .to_string();
    (url, rx)
}
