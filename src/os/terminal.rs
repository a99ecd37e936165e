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

pub(crate) use imp::{Keys, Terminal, restore, stdout_columns, supports_ansi};

#[cfg(unix)]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::io::{BufRead, BufReader, Read, Write};

    pub(crate) struct Terminal {
        tty: File,
    }

    impl Terminal {
        /// The controlling terminal; `None` when there is none.
        pub(crate) fn open() -> Option<Terminal> {
            let tty = OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .ok()?;
            Some(Terminal { tty })
        }

        /// Write `prompt` and read one line; `None` for an empty line or a failure.
        pub(crate) fn ask(&self, prompt: &str) -> Option<String> {
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
        pub(crate) fn ask_secret(&self, prompt: &str) -> Option<String> {
            use rustix::termios::LocalModes;
            let _quiet = Changed::apply(&self.tty, |quiet| {
                quiet.local_modes.remove(LocalModes::ECHO);
                quiet.local_modes.insert(LocalModes::ECHONL);
            })?;
            self.ask(prompt)
        }
    }

    /// The terminal's settings, changed until this drops; the ones in force before are kept
    /// for [`restore`] too, so a signal that ends the run half-way puts them back.
    struct Changed<'a> {
        tty: &'a File,
        saved: rustix::termios::Termios,
    }

    impl<'a> Changed<'a> {
        fn apply(
            tty: &'a File,
            change: impl FnOnce(&mut rustix::termios::Termios),
        ) -> Option<Changed<'a>> {
            use rustix::termios::{OptionalActions, tcgetattr, tcsetattr};
            let saved = tcgetattr(tty).ok()?;
            let mut changed = saved.clone();
            change(&mut changed);
            *lock_saved() = Some(saved.clone());
            let guard = Changed { tty, saved };
            // A failure drops the guard, which puts back what was there.
            tcsetattr(tty, OptionalActions::Now, &changed).ok()?;
            Some(guard)
        }
    }

    impl Drop for Changed<'_> {
        fn drop(&mut self) {
            let _ = rustix::termios::tcsetattr(
                self.tty,
                rustix::termios::OptionalActions::Now,
                &self.saved,
            );
            *lock_saved() = None;
        }
    }

    /// The terminal read key by key (a picker): no echo, no line editing, no signals from
    /// Ctrl-C (read as a key), until dropped.
    pub(crate) struct Keys<'a> {
        tty: &'a File,
        _raw: Changed<'a>,
    }

    impl Terminal {
        /// Key by key until the returned [`Keys`] drops; `None` when the terminal refuses.
        pub(crate) fn keys(&self) -> Option<Keys<'_>> {
            use rustix::termios::{InputModes, LocalModes, SpecialCodeIndex};
            let raw = Changed::apply(&self.tty, |raw| {
                raw.local_modes.remove(
                    LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG | LocalModes::IEXTEN,
                );
                raw.input_modes.remove(InputModes::ICRNL | InputModes::IXON);
                raw.special_codes[SpecialCodeIndex::VMIN] = 1;
                raw.special_codes[SpecialCodeIndex::VTIME] = 0;
            })?;
            Some(Keys {
                tty: &self.tty,
                _raw: raw,
            })
        }
    }

    impl Keys<'_> {
        /// What the next key press sent (an escape sequence arrives whole); `None` at the end.
        pub(crate) fn read(&mut self) -> Option<Vec<u8>> {
            let mut buf = [0u8; 64];
            let n = (&*self.tty).read(&mut buf).ok()?;
            (n > 0).then(|| buf[..n].to_vec())
        }

        pub(crate) fn write(&mut self, text: &str) {
            let mut tty = self.tty;
            let _ = tty.write_all(text.as_bytes());
            let _ = tty.flush();
        }

        /// The terminal's size: (columns, rows).
        pub(crate) fn size(&self) -> Option<(usize, usize)> {
            let size = rustix::termios::tcgetwinsize(self.tty).ok()?;
            (size.ws_col > 0 && size.ws_row > 0)
                .then_some((usize::from(size.ws_col), usize::from(size.ws_row)))
        }
    }

    static SAVED: std::sync::Mutex<Option<rustix::termios::Termios>> = std::sync::Mutex::new(None);

    fn lock_saved() -> std::sync::MutexGuard<'static, Option<rustix::termios::Termios>> {
        SAVED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether colour escapes may be written to `stream`: it is a terminal.
    pub(crate) fn supports_ansi(stream: &impl std::io::IsTerminal) -> bool {
        stream.is_terminal()
    }

    /// The width of the terminal on stdout, in columns; `None` when stdout is not one.
    pub(crate) fn stdout_columns() -> Option<usize> {
        use std::io::IsTerminal;
        let stdout = std::io::stdout();
        if !stdout.is_terminal() {
            return None;
        }
        let size = rustix::termios::tcgetwinsize(&stdout).ok()?;
        (size.ws_col > 0).then_some(usize::from(size.ws_col))
    }

    /// Put back the terminal's echo if a no-echo prompt was interrupted.
    pub(crate) fn restore() {
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

    pub(crate) enum Terminal {
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
        pub(crate) fn open() -> Option<Terminal> {
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
        pub(crate) fn ask(&self, prompt: &str) -> Option<String> {
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
        pub(crate) fn ask_secret(&self, prompt: &str) -> Option<String> {
            let Terminal::Console { input, output } = self else {
                eprintln!(
                    "note: this terminal (mintty) has no Windows console, so what you type next \
                     will be shown; run `winpty aws-cred …` to hide it"
                );
                return self.ask(prompt);
            };
            let _quiet = Changed::apply(input, |mode| mode & !ENABLE_ECHO_INPUT, true)?;
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
    pub(crate) struct Keys<'a> {
        input: &'a File,
        output: &'a File,
        _raw: (Changed<'a>, Changed<'a>),
    }

    /// A console handle's mode, changed until this drops. With `remember`, the mode in force
    /// before is kept for [`restore`] too, so a signal that ends the run half-way puts it back.
    struct Changed<'a> {
        file: &'a File,
        saved: CONSOLE_MODE,
        remembered: bool,
    }

    impl<'a> Changed<'a> {
        fn apply(
            file: &'a File,
            change: impl FnOnce(CONSOLE_MODE) -> CONSOLE_MODE,
            remember: bool,
        ) -> Option<Changed<'a>> {
            let saved = console_mode(file)?;
            if remember {
                *lock_saved() = Some(saved);
            }
            let guard = Changed {
                file,
                saved,
                remembered: remember,
            };
            // SAFETY: a valid console handle owned by `file`. A failure drops the guard, which
            // puts back what was there.
            (unsafe { SetConsoleMode(file.as_raw_handle(), change(saved)) } != 0).then_some(guard)
        }
    }

    impl Drop for Changed<'_> {
        fn drop(&mut self) {
            // SAFETY: a valid console handle owned by the File.
            unsafe { SetConsoleMode(self.file.as_raw_handle(), self.saved) };
            if self.remembered {
                *lock_saved() = None;
            }
        }
    }

    impl Terminal {
        pub(crate) fn keys(&self) -> Option<Keys<'_>> {
            use windows_sys::Win32::System::Console::{
                ENABLE_LINE_INPUT, ENABLE_PROCESSED_INPUT, ENABLE_VIRTUAL_TERMINAL_INPUT,
                ENABLE_VIRTUAL_TERMINAL_PROCESSING,
            };
            let Terminal::Console { input, output } = self else {
                return None;
            };
            let raw_input = Changed::apply(
                input,
                |mode| {
                    (mode & !(ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT | ENABLE_PROCESSED_INPUT))
                        | ENABLE_VIRTUAL_TERMINAL_INPUT
                },
                true,
            )?;
            // If this fails, `raw_input` drops and the input's mode is put back.
            let vt_output = Changed::apply(
                output,
                |mode| mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING,
                false,
            )?;
            Some(Keys {
                input,
                output,
                _raw: (raw_input, vt_output),
            })
        }
    }

    impl Keys<'_> {
        /// What the next key press sent; `None` at the end or on a failure.
        pub(crate) fn read(&mut self) -> Option<Vec<u8>> {
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

        pub(crate) fn write(&mut self, text: &str) {
            let _ = write_console(self.output, text);
        }

        /// The console window's size: (columns, rows).
        pub(crate) fn size(&self) -> Option<(usize, usize)> {
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
    pub(crate) fn supports_ansi(stream: &(impl std::io::IsTerminal + AsRawHandle)) -> bool {
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
    pub(crate) fn stdout_columns() -> Option<usize> {
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
    pub(crate) fn restore() {
        if let Some(saved) = lock_saved().take()
            && let Ok(input) = OpenOptions::new().read(true).write(true).open("CONIN$")
        {
            // SAFETY: a valid console handle owned by `input`.
            unsafe { SetConsoleMode(input.as_raw_handle(), saved) };
        }
    }
}
