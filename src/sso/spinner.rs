//! A spinner on stderr while waiting for the person in the browser: only when stderr is a
//! terminal, in colour where it understands the escapes and `NO_COLOR` is unset or blank. Never
//! on stdout.

use crate::os::Context;
use std::io::Write;
use std::time::Duration;

pub struct Spinner {
    task: Option<tokio::task::JoinHandle<()>>,
    width: usize,
}

impl Spinner {
    pub fn start(ctx: &Context, message: &str) -> Spinner {
        let dumb = ctx.var("TERM") == Some("dumb");
        if !ctx.stderr_is_tty || dumb {
            return Spinner {
                task: None,
                width: 0,
            };
        }
        let color = crate::settings::colour_on_stderr(ctx);
        let message = message.to_string();
        let width = message.chars().count() + 2;
        let task = tokio::spawn(async move {
            const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
            for i in 0.. {
                let frame = FRAMES[i % FRAMES.len()];
                let text = if color {
                    format!("\r\x1b[36m{frame}\x1b[0m {message}")
                } else {
                    format!("\r{frame} {message}")
                };
                {
                    let mut err = std::io::stderr().lock();
                    let _ = err.write_all(text.as_bytes());
                    let _ = err.flush();
                }
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
        });
        Spinner {
            task: Some(task),
            width,
        }
    }

    /// Stop and clear the line.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(self.width));
            let _ = err.flush();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}
