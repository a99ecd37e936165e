//! A spinner on stderr while the person waits: for the browser (`sso-login`, `login`) or for
//! an endpoint that is slow to answer. Only on a terminal (the caller decides, with
//! [`Look`]); never on stdout. At most one spinner is on screen at a time: when two waits
//! overlap (two calls at once), the second draws only once the first is gone.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How the spinner is drawn; `None` where it must not be drawn (stderr is not a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Look {
    pub colour: bool,
}

/// Whether some spinner owns the line on stderr.
static ON_SCREEN: AtomicBool = AtomicBool::new(false);

const FRAME_EVERY: Duration = Duration::from_millis(120);

pub(crate) struct Spinner {
    task: Option<tokio::task::JoinHandle<()>>,
    /// Set while this spinner owns the line; the widest text drawn, to clear it.
    drawn: Arc<Drawn>,
}

#[derive(Default)]
struct Drawn {
    owns_line: AtomicBool,
    width: AtomicUsize,
}

impl Spinner {
    /// Drawn at once, until [`Spinner::stop`] or drop.
    pub(crate) fn start(look: Option<Look>, message: &str) -> Spinner {
        Self::spawn(look, message.to_string(), Duration::ZERO, false)
    }

    /// Drawn only if the wait lasts longer than `delay`, with the seconds waited so far.
    pub(crate) fn after(delay: Duration, look: Option<Look>, message: String) -> Spinner {
        Self::spawn(look, message, delay, true)
    }

    fn spawn(look: Option<Look>, message: String, delay: Duration, count: bool) -> Spinner {
        let drawn = Arc::new(Drawn::default());
        let task = match (look, tokio::runtime::Handle::try_current()) {
            (Some(look), Ok(runtime)) => {
                let drawn = drawn.clone();
                Some(runtime.spawn(async move {
                    let started = Instant::now();
                    tokio::time::sleep(delay).await;
                    // Bounded: a wait is itself bounded, and this ends with it; a day of
                    // frames is the backstop.
                    for i in 0..(24 * 3600 * 1000 / FRAME_EVERY.as_millis() as usize) {
                        if drawn.owns_line.load(Ordering::SeqCst)
                            || ON_SCREEN
                                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                                .is_ok()
                        {
                            drawn.owns_line.store(true, Ordering::SeqCst);
                            let waited = count.then(|| started.elapsed().as_secs());
                            draw(&drawn, look, i, &message, waited);
                        }
                        tokio::time::sleep(FRAME_EVERY).await;
                    }
                }))
            }
            _ => None,
        };
        Spinner { task, drawn }
    }

    /// Stop, and clear the line if anything was drawn.
    pub(crate) fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            if self.drawn.owns_line.swap(false, Ordering::SeqCst) {
                let width = self.drawn.width.load(Ordering::SeqCst);
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r{}\r", " ".repeat(width));
                let _ = err.flush();
                ON_SCREEN.store(false, Ordering::SeqCst);
            }
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}

fn draw(drawn: &Drawn, look: Look, frame: usize, message: &str, waited: Option<u64>) {
    const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
    let frame = FRAMES[frame % FRAMES.len()];
    let text = match waited {
        Some(seconds) => format!("{message} ({seconds} s)"),
        None => message.to_string(),
    };
    drawn
        .width
        .fetch_max(text.chars().count() + 2, Ordering::SeqCst);
    let line = if look.colour {
        format!("\r\x1b[36m{frame}\x1b[0m {text}")
    } else {
        format!("\r{frame} {text}")
    };
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_short_wait_draws_nothing_and_frees_the_line() {
        let mut quick = Spinner::after(
            Duration::from_secs(1),
            Some(Look { colour: false }),
            "waiting".into(),
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        quick.stop();
        assert!(!quick.drawn.owns_line.load(Ordering::SeqCst));
        assert_eq!(quick.drawn.width.load(Ordering::SeqCst), 0);
        // Without a look nothing runs at all.
        let none = Spinner::start(None, "waiting");
        assert!(none.task.is_none());
    }
}
