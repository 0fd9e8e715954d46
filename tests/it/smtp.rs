//! A real SMTP server for tests: Python's aiosmtpd on loopback (`tests/smtp_sink.py`). Each
//! received message arrives as a JSON line on the sink's stdout; nothing polls or sleeps.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};

use tokio::sync::mpsc;

pub struct SmtpSink {
    pub port: u16,
    child: Child,
    /// Closing it tells the sink to exit.
    stdin: Option<ChildStdin>,
    messages: mpsc::UnboundedReceiver<serde_json::Value>,
}

/// A received message.
pub struct Received {
    pub to: Vec<String>,
    /// The whole message as sent: headers and MIME parts.
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
        let (tx, messages) = mpsc::unbounded_channel();
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

    /// The next message the server received (waits up to 30 s, without blocking the runtime:
    /// the app's own job workers may be the ones sending it).
    pub async fn next_message(&mut self) -> Received {
        let v = tokio::time::timeout(std::time::Duration::from_secs(30), self.messages.recv())
            .await
            .expect("no mail arrived within 30 s")
            .expect("the SMTP sink stopped");
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
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
