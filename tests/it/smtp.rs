//! A real SMTP server for tests: Python's aiosmtpd on loopback (`tests/smtp_sink.py`). Each
//! received message arrives as a JSON line on the sink's stdout; nothing polls or sleeps.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;

pub struct SmtpSink {
    pub port: u16,
    child: Child,
    stdin: Option<ChildStdin>,
    messages: mpsc::Receiver<serde_json::Value>,
}

/// A received message.
pub struct Received {
    pub to: Vec<String>,
    /// The whole message, headers and body (quoted-printable decoded where needed by the caller).
    pub data: String,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd (tests/run-all.sh installs it)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines
            .next()
            .expect("the SMTP sink printed nothing")
            .unwrap();
        let port = ready
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("unexpected sink output: {ready}"))
            .parse()
            .unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        SmtpSink {
            port,
            stdin: child.stdin.take(),
            child,
            messages,
        }
    }

    /// The next message the server received (waits up to 30 s).
    pub fn next_message(&self) -> Received {
        let v = self
            .messages
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("no mail arrived within 30 s");
        Received {
            to: v["to"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect(),
            data: v["data"].as_str().unwrap().to_string(),
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.wait();
    }
}
