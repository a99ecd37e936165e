//! The person's terminal, for prompts: never stdin or stdout, which may carry data.
//!
//! - Unix: `/dev/tty`; echo is turned off with termios for secrets.
//! - Windows: the console (`CONIN$`/`CONOUT$`, read and written as UTF-16, so any password
//!   survives the console's code page); echo is turned off with the console mode. In Git Bash's
//!   mintty there is no console: standard input is mintty's terminal, read as is, and the person
//!   is told in one line that what they type will show (`winpty aws-cred …` gives a console).
//!
//! The settings in force before a no-echo prompt are kept while it runs, so
//! [`restore`] can put them back when a signal ends the run half-way.

/// The most characters read for one answer: a prompt is never a data channel.
const MAX_ANSWER: usize = 4096;

/// Trim the line ending in place (the line may be a password: no copies).
fn finish(mut line: String) -> Option<String> {
    let len = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(len);
    (!line.is_empty()).then_some(line)
}

pub use imp::{Keys, Terminal, restore, stdout_columns, supports_ansi};

#[cfg(unix)]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::io::{BufRead, BufReader, Read, Write};

    pub struct Terminal {
        tty: File,
    }

    impl Terminal {
        /// The controlling terminal; `None` when there is none.
        pub fn open() -> Option<Terminal> {
            let tty = OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .ok()?;
            Some(Terminal { tty })
        }

        /// Write `prompt` and read one line; `None` for an empty line or a failure.
        pub fn ask(&self, prompt: &str) -> Option<String> {
            let mut writer = &self.tty;
            writer.write_all(prompt.as_bytes()).ok()?;
            writer.flush().ok()?;
            let mut line = String::new();
            BufReader::new((&self.tty).take(super::MAX_ANSWER as u64))
                .read_line(&mut line)
                .ok()?;
            super::finish(line)
        }

        /// [`Terminal::ask`] with echo off while the person types.
        pub fn ask_secret(&self, prompt: &str) -> Option<String> {
            use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
            let saved = tcgetattr(&self.tty).ok()?;
            let mut quiet = saved.clone();
            quiet.local_modes.remove(LocalModes::ECHO);
            quiet.local_modes.insert(LocalModes::ECHONL);
            *lock_saved() = Some(saved.clone());
            struct Restore<'a>(&'a File, rustix::termios::Termios);
            impl Drop for Restore<'_> {
                fn drop(&mut self) {
                    let _ = tcsetattr(self.0, OptionalActions::Now, &self.1);
                    *lock_saved() = None;
                }
            }
            let _restore = Restore(&self.tty, saved);
            tcsetattr(&self.tty, OptionalActions::Now, &quiet).ok()?;
            self.ask(prompt)
        }
    }

    /// The terminal read key by key (a picker): no echo, no line editing, no signals from
    /// Ctrl-C (read as a key), until dropped.
    pub struct Keys<'a> {
        tty: &'a File,
        saved: rustix::termios::Termios,
    }

    impl Terminal {
        /// Key by key until the returned [`Keys`] drops; `None` when the terminal refuses.
        pub fn keys(&self) -> Option<Keys<'_>> {
            use rustix::termios::{
                InputModes, LocalModes, OptionalActions, SpecialCodeIndex, tcgetattr, tcsetattr,
            };
            let saved = tcgetattr(&self.tty).ok()?;
            let mut raw = saved.clone();
            raw.local_modes.remove(
                LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG | LocalModes::IEXTEN,
            );
            raw.input_modes.remove(InputModes::ICRNL | InputModes::IXON);
            raw.special_codes[SpecialCodeIndex::VMIN] = 1;
            raw.special_codes[SpecialCodeIndex::VTIME] = 0;
            *lock_saved() = Some(saved.clone());
            if tcsetattr(&self.tty, OptionalActions::Now, &raw).is_err() {
                *lock_saved() = None;
                return None;
            }
            Some(Keys {
                tty: &self.tty,
                saved,
            })
        }
    }

    impl Keys<'_> {
        /// What the next key press sent (an escape sequence arrives whole); `None` at the end.
        pub fn read(&mut self) -> Option<Vec<u8>> {
            let mut buf = [0u8; 64];
            let n = (&*self.tty).read(&mut buf).ok()?;
            (n > 0).then(|| buf[..n].to_vec())
        }

        pub fn write(&mut self, text: &str) {
            let mut tty = self.tty;
            let _ = tty.write_all(text.as_bytes());
            let _ = tty.flush();
        }

        /// The terminal's size: (columns, rows).
        pub fn size(&self) -> Option<(usize, usize)> {
            let size = rustix::termios::tcgetwinsize(self.tty).ok()?;
            (size.ws_col > 0 && size.ws_row > 0)
                .then_some((usize::from(size.ws_col), usize::from(size.ws_row)))
        }
    }

    impl Drop for Keys<'_> {
        fn drop(&mut self) {
            let _ = rustix::termios::tcsetattr(
                self.tty,
                rustix::termios::OptionalActions::Now,
                &self.saved,
            );
            *lock_saved() = None;
        }
    }

    static SAVED: std::sync::Mutex<Option<rustix::termios::Termios>> = std::sync::Mutex::new(None);

    fn lock_saved() -> std::sync::MutexGuard<'static, Option<rustix::termios::Termios>> {
        SAVED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether colour escapes may be written to `stream`: it is a terminal.
    pub fn supports_ansi(stream: &impl std::io::IsTerminal) -> bool {
        stream.is_terminal()
    }

    /// The width of the terminal on stdout, in columns; `None` when stdout is not one.
    pub fn stdout_columns() -> Option<usize> {
        use std::io::IsTerminal;
        let stdout = std::io::stdout();
        if !stdout.is_terminal() {
            return None;
        }
        let size = rustix::termios::tcgetwinsize(&stdout).ok()?;
        (size.ws_col > 0).then_some(usize::from(size.ws_col))
    }

    /// Put back the terminal's echo if a no-echo prompt was interrupted.
    pub fn restore() {
        if let Some(saved) = lock_saved().take()
            && let Ok(tty) = OpenOptions::new().write(true).open("/dev/tty")
        {
            let _ = rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Now, &saved);
        }
    }
}

#[cfg(windows)]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::System::Console::{
        CONSOLE_MODE, ENABLE_ECHO_INPUT, GetConsoleMode, ReadConsoleW, SetConsoleMode,
        WriteConsoleW,
    };

    pub enum Terminal {
        /// A Windows console (cmd, PowerShell, Windows Terminal).
        Console { input: File, output: File },
        /// Git Bash's mintty (or another pty-backed terminal): no console; standard input is the
        /// terminal, standard error shows the prompt.
        Pty,
    }

    fn console_mode(file: &File) -> Option<CONSOLE_MODE> {
        let mut mode: CONSOLE_MODE = 0;
        // SAFETY: a valid handle owned by `file`, and a pointer to a local.
        let ok = unsafe { GetConsoleMode(file.as_raw_handle(), &mut mode) };
        (ok != 0).then_some(mode)
    }

    impl Terminal {
        /// The console, or mintty's terminal when standard input is one; `None` otherwise.
        pub fn open() -> Option<Terminal> {
            use std::io::IsTerminal;
            let stdin = std::io::stdin();
            // Rust's is_terminal() also recognises the MSYS/Cygwin pty pipes mintty uses; those
            // are no console.
            let mut mode: CONSOLE_MODE = 0;
            // SAFETY: the process's standard input handle (null or invalid is reported as a
            // failure) and a pointer to a local.
            let stdin_is_console = unsafe { GetConsoleMode(stdin.as_raw_handle(), &mut mode) != 0 };
            if stdin.is_terminal() && !stdin_is_console {
                return Some(Terminal::Pty);
            }
            let input = OpenOptions::new()
                .read(true)
                .write(true)
                .open("CONIN$")
                .ok()?;
            console_mode(&input)?;
            let output = OpenOptions::new().write(true).open("CONOUT$").ok()?;
            Some(Terminal::Console { input, output })
        }

        /// Write `prompt` and read one line; `None` for an empty line or a failure.
        pub fn ask(&self, prompt: &str) -> Option<String> {
            match self {
                Terminal::Console { input, output } => {
                    write_console(output, prompt)?;
                    read_console(input)
                }
                Terminal::Pty => {
                    let mut err = std::io::stderr();
                    err.write_all(prompt.as_bytes()).ok()?;
                    err.flush().ok()?;
                    let mut line = String::new();
                    BufReader::new(std::io::stdin().take(super::MAX_ANSWER as u64))
                        .read_line(&mut line)
                        .ok()?;
                    super::finish(line)
                }
            }
        }

        /// [`Terminal::ask`] with echo off while the person types. In mintty echo cannot be
        /// turned off from a Windows program: the person is told, and the answer is read anyway.
        pub fn ask_secret(&self, prompt: &str) -> Option<String> {
            let Terminal::Console { input, output } = self else {
                eprintln!(
                    "note: this terminal (mintty) has no Windows console, so what you type next \
                     will be shown; run `winpty aws-cred …` to hide it"
                );
                return self.ask(prompt);
            };
            let saved = console_mode(input)?;
            *lock_saved() = Some(saved);
            struct Restore<'a>(&'a File, CONSOLE_MODE);
            impl Drop for Restore<'_> {
                fn drop(&mut self) {
                    // SAFETY: a valid console handle owned by the File.
                    unsafe { SetConsoleMode(self.0.as_raw_handle(), self.1) };
                    *lock_saved() = None;
                }
            }
            let _restore = Restore(input, saved);
            // SAFETY: a valid console handle owned by `input`.
            if unsafe { SetConsoleMode(input.as_raw_handle(), saved & !ENABLE_ECHO_INPUT) } == 0 {
                return None;
            }
            write_console(output, prompt)?;
            let answer = read_console(input);
            // The Enter key was not echoed either.
            write_console(output, "\r\n");
            answer
        }
    }

    /// A Windows console read key by key (a picker): no line editing, no echo, Ctrl-C read as
    /// a key, and keys sent as the escape sequences a Unix terminal sends
    /// (`ENABLE_VIRTUAL_TERMINAL_INPUT`, Windows 10 and later), until dropped. mintty has no
    /// console: there the picker asks for a line instead.
    pub struct Keys<'a> {
        input: &'a File,
        output: &'a File,
        saved_input: CONSOLE_MODE,
        saved_output: CONSOLE_MODE,
    }

    impl Terminal {
        pub fn keys(&self) -> Option<Keys<'_>> {
            use windows_sys::Win32::System::Console::{
                ENABLE_LINE_INPUT, ENABLE_PROCESSED_INPUT, ENABLE_VIRTUAL_TERMINAL_INPUT,
                ENABLE_VIRTUAL_TERMINAL_PROCESSING,
            };
            let Terminal::Console { input, output } = self else {
                return None;
            };
            let saved_input = console_mode(input)?;
            let saved_output = console_mode(output)?;
            let raw = (saved_input
                & !(ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT | ENABLE_PROCESSED_INPUT))
                | ENABLE_VIRTUAL_TERMINAL_INPUT;
            *lock_saved() = Some(saved_input);
            // SAFETY: valid console handles owned by `input` and `output`.
            let set = unsafe {
                SetConsoleMode(input.as_raw_handle(), raw) != 0
                    && SetConsoleMode(
                        output.as_raw_handle(),
                        saved_output | ENABLE_VIRTUAL_TERMINAL_PROCESSING,
                    ) != 0
            };
            let keys = Keys {
                input,
                output,
                saved_input,
                saved_output,
            };
            // Dropping `keys` puts both modes back, also when only one was set.
            set.then_some(keys)
        }
    }

    impl Keys<'_> {
        /// What the next key press sent; `None` at the end or on a failure.
        pub fn read(&mut self) -> Option<Vec<u8>> {
            let mut buf = [0u16; 64];
            let mut read = 0u32;
            // SAFETY: a valid console handle, a buffer of 64 UTF-16 units, a pointer to a local.
            let ok = unsafe {
                ReadConsoleW(
                    self.input.as_raw_handle(),
                    buf.as_mut_ptr().cast(),
                    buf.len() as u32,
                    &mut read,
                    std::ptr::null(),
                )
            };
            (ok != 0 && read > 0)
                .then(|| String::from_utf16_lossy(&buf[..read as usize]).into_bytes())
        }

        pub fn write(&mut self, text: &str) {
            let _ = write_console(self.output, text);
        }

        /// The console window's size: (columns, rows).
        pub fn size(&self) -> Option<(usize, usize)> {
            use windows_sys::Win32::System::Console::{
                CONSOLE_SCREEN_BUFFER_INFO, GetConsoleScreenBufferInfo,
            };
            // SAFETY: a zeroed plain-data struct, filled by the call from the console's handle.
            let mut info: CONSOLE_SCREEN_BUFFER_INFO = unsafe { std::mem::zeroed() };
            if unsafe { GetConsoleScreenBufferInfo(self.output.as_raw_handle(), &mut info) } == 0 {
                return None;
            }
            let window = info.srWindow;
            let columns = i32::from(window.Right) - i32::from(window.Left) + 1;
            let rows = i32::from(window.Bottom) - i32::from(window.Top) + 1;
            Some((usize::try_from(columns).ok()?, usize::try_from(rows).ok()?))
                .filter(|(c, r)| *c > 0 && *r > 0)
        }
    }

    impl Drop for Keys<'_> {
        fn drop(&mut self) {
            // SAFETY: valid console handles owned by the Files.
            unsafe {
                SetConsoleMode(self.input.as_raw_handle(), self.saved_input);
                SetConsoleMode(self.output.as_raw_handle(), self.saved_output);
            }
            *lock_saved() = None;
        }
    }

    fn write_console(output: &File, text: &str) -> Option<()> {
        let wide: Vec<u16> = text.encode_utf16().collect();
        let mut written = 0u32;
        let len = u32::try_from(wide.len()).ok()?;
        // SAFETY: a valid console handle, a buffer of `len` UTF-16 units, a pointer to a local.
        let ok = unsafe {
            WriteConsoleW(
                output.as_raw_handle(),
                wide.as_ptr().cast(),
                len,
                &mut written,
                std::ptr::null(),
            )
        };
        (ok != 0).then_some(())
    }

    /// One line from the console, as UTF-16 (the console's code page does not matter).
    fn read_console(input: &File) -> Option<String> {
        let mut units: Vec<u16> = Vec::new();
        let mut buf = [0u16; 256];
        while units.len() < super::MAX_ANSWER {
            let mut read = 0u32;
            // SAFETY: a valid console handle, a buffer of 256 UTF-16 units, a pointer to a local.
            let ok = unsafe {
                ReadConsoleW(
                    input.as_raw_handle(),
                    buf.as_mut_ptr().cast(),
                    buf.len() as u32,
                    &mut read,
                    std::ptr::null(),
                )
            };
            if ok == 0 || read == 0 {
                break;
            }
            let got = &buf[..read as usize];
            units.extend_from_slice(got);
            if got.contains(&u16::from(b'\n')) {
                break;
            }
        }
        let line = String::from_utf16(&units).ok();
        zeroize::Zeroize::zeroize(&mut units);
        zeroize::Zeroize::zeroize(&mut buf);
        super::finish(line?)
    }

    static SAVED: std::sync::Mutex<Option<CONSOLE_MODE>> = std::sync::Mutex::new(None);

    fn lock_saved() -> std::sync::MutexGuard<'static, Option<CONSOLE_MODE>> {
        SAVED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether colour escapes may be written to `stream`: a console that accepts virtual
    /// terminal sequences (turned on here; Windows 10 and later have them), or mintty's pty.
    pub fn supports_ansi(stream: &(impl std::io::IsTerminal + AsRawHandle)) -> bool {
        use windows_sys::Win32::System::Console::ENABLE_VIRTUAL_TERMINAL_PROCESSING;
        if !stream.is_terminal() {
            return false;
        }
        let handle = stream.as_raw_handle();
        let mut mode: CONSOLE_MODE = 0;
        // SAFETY: the stream's own handle and a pointer to a local.
        if unsafe { GetConsoleMode(handle, &mut mode) } == 0 {
            // A terminal that is not a console: mintty, which reads escapes itself.
            return true;
        }
        mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0
            // SAFETY: as above; only the VT flag is added to the console's mode.
            || unsafe { SetConsoleMode(handle, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING) } != 0
    }

    /// The width of the console window on stdout, in columns; `None` when stdout is not a
    /// console (mintty, a pipe, a file).
    pub fn stdout_columns() -> Option<usize> {
        use windows_sys::Win32::System::Console::{
            CONSOLE_SCREEN_BUFFER_INFO, GetConsoleScreenBufferInfo,
        };
        let stdout = std::io::stdout();
        // SAFETY: a zeroed plain-data struct, filled by the call from stdout's own handle.
        let mut info: CONSOLE_SCREEN_BUFFER_INFO = unsafe { std::mem::zeroed() };
        if unsafe { GetConsoleScreenBufferInfo(stdout.as_raw_handle(), &mut info) } == 0 {
            return None;
        }
        let columns = i32::from(info.srWindow.Right) - i32::from(info.srWindow.Left) + 1;
        usize::try_from(columns).ok().filter(|c| *c > 0)
    }

    /// Put back the console's echo if a no-echo prompt was interrupted.
    pub fn restore() {
        if let Some(saved) = lock_saved().take()
            && let Ok(input) = OpenOptions::new().read(true).write(true).open("CONIN$")
        {
            // SAFETY: a valid console handle owned by `input`.
            unsafe { SetConsoleMode(input.as_raw_handle(), saved) };
        }
    }
}
