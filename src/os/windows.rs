//! The Win32 calls aws-cred makes on Windows, each wrapped once with its `unsafe` reasoning:
//! Job Objects (a process tree ended together), console interrupts, file security (owner-only
//! access lists, and who may write a file), the parent process's name, ShellExecute, and the
//! Credential Manager's list of entries.

use std::ffi::{OsStr, c_void};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::RawHandle;
use std::path::Path;
use windows_sys::Win32::Foundation::{
    CloseHandle, HANDLE, HLOCAL, INVALID_HANDLE_VALUE, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{
    GetNamedSecurityInfoW, SE_FILE_OBJECT, SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, ACL_REVISION, AddAccessAllowedAceEx,
    CONTAINER_INHERIT_ACE, DACL_SECURITY_INFORMATION, EqualSid, GetAce, GetLengthSid,
    GetTokenInformation, INHERIT_ONLY_ACE, InitializeAcl, IsWellKnownSid, OBJECT_INHERIT_ACE,
    OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID,
    TOKEN_QUERY, TOKEN_USER, TokenUser, WELL_KNOWN_SID_TYPE, WinBuiltinAdministratorsSid,
    WinCreatorOwnerSid, WinLocalSystemSid, WinWorldSid,
};
use windows_sys::Win32::Storage::FileSystem::FILE_ALL_ACCESS;
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleCtrlHandler};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW, TH32CS_SNAPPROCESS,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentProcessId, OpenProcessToken,
};

/// `path` as a NUL-terminated UTF-16 string.
fn wide(path: &OsStr) -> Vec<u16> {
    path.encode_wide().chain(std::iter::once(0)).collect()
}

/// A handle closed when dropped.
struct Handle(HANDLE);

// SAFETY: a kernel object handle may be used and closed from any thread; `Handle` owns it.
unsafe impl Send for Handle {}
// SAFETY: the calls made through a shared `&Handle` (assign, terminate) are thread-safe.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle this process opened and owns; closed once.
        unsafe { CloseHandle(self.0) };
    }
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// The exit status of a process ended by Ctrl-C (STATUS_CONTROL_C_EXIT).
pub(crate) const CONTROL_C_EXIT: u32 = 0xC000_013A;

/// A Job Object: every process assigned to it, and everything they start, ended together.
pub(crate) struct Job(Handle);

impl Job {
    pub(crate) fn new() -> io::Result<Job> {
        // SAFETY: no security attributes, no name: a new anonymous job.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(Job(Handle(handle)))
    }

    /// Put the process `process` (a handle with PROCESS_SET_QUOTA and PROCESS_TERMINATE, as a
    /// spawned child's is) in the job.
    pub(crate) fn assign(&self, process: RawHandle) -> io::Result<()> {
        // SAFETY: both handles are valid for the call: the job's is ours, the child's is owned
        // by its tokio Child, which outlives this call.
        if unsafe { AssignProcessToJobObject(self.0.0, process as HANDLE) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// End every process in the job (exit code 1).
    pub(crate) fn terminate(self) {
        // SAFETY: the job's handle is valid until `self` drops, after this call.
        unsafe { TerminateJobObject(self.0.0, 1) };
    }
}

unsafe extern "system" fn keep_running(event: u32) -> windows_sys::core::BOOL {
    // Handled (keep running) for Ctrl-C and Ctrl-Break; the default (exit) for the rest.
    i32::from(event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT)
}

/// From now on Ctrl-C and Ctrl-Break do not end aws-cred (they still reach every other process
/// on the console). Unlike ignoring them outright, a handler is not inherited by children
/// started later.
pub(crate) fn ignore_console_interrupts() {
    // SAFETY: registers a handler function with the 'static lifetime of the program.
    unsafe { SetConsoleCtrlHandler(Some(keep_running), 1) };
}

/// The file name of the parent process's program (`pwsh.exe`), lower-cased; `None` when the
/// process list cannot be read or the parent is gone.
pub(crate) fn parent_program() -> Option<String> {
    // SAFETY: a snapshot of the process list; the handle is closed by `Handle`.
    let snapshot = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0) };
    if snapshot == INVALID_HANDLE_VALUE || snapshot.is_null() {
        return None;
    }
    let snapshot = Handle(snapshot);
    let mut processes = Vec::new();
    // SAFETY: a zeroed PROCESSENTRY32W is valid; dwSize is set as the API requires.
    let mut entry: PROCESSENTRY32W = unsafe { std::mem::zeroed() };
    entry.dwSize = std::mem::size_of::<PROCESSENTRY32W>() as u32;
    // SAFETY: a valid snapshot handle and a pointer to a properly sized entry.
    let mut more = unsafe { Process32FirstW(snapshot.0, &mut entry) } != 0;
    // Bounded: a process list has at most a few thousand entries.
    while more && processes.len() < 100_000 {
        let len = entry
            .szExeFile
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(entry.szExeFile.len());
        processes.push((
            entry.th32ProcessID,
            entry.th32ParentProcessID,
            String::from_utf16_lossy(&entry.szExeFile[..len]),
        ));
        // SAFETY: as above.
        more = unsafe { Process32NextW(snapshot.0, &mut entry) } != 0;
    }
    // SAFETY: no arguments, no failure.
    let me = unsafe { GetCurrentProcessId() };
    let parent = processes.iter().find(|(pid, _, _)| *pid == me)?.1;
    processes
        .into_iter()
        .find(|(pid, _, _)| *pid == parent)
        .map(|(_, _, name)| name.to_ascii_lowercase())
}

/// Open `url` with the program Windows has for it, without a shell in between (so `&`, `^`, `%`
/// and `#` arrive intact: `cmd /c start` would cut the URL at `&`).
pub(crate) fn shell_open(url: &str) -> io::Result<()> {
    use windows_sys::Win32::UI::Shell::ShellExecuteW;
    use windows_sys::Win32::UI::WindowsAndMessaging::SW_SHOWNORMAL;
    let verb = wide(OsStr::new("open"));
    let target = wide(OsStr::new(url));
    // SAFETY: NUL-terminated UTF-16 strings that live across the call; no window, no
    // parameters, no directory.
    let result = unsafe {
        ShellExecuteW(
            std::ptr::null_mut(),
            verb.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            SW_SHOWNORMAL,
        )
    };
    // Values above 32 mean success (the API's own convention).
    if result as usize > 32 {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ShellExecute failed (code {})",
            result as usize
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// File security
// ---------------------------------------------------------------------------------------------

/// The current user's SID, as bytes (a SID is variable-length and self-contained).
fn current_user_sid() -> io::Result<Vec<u8>> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the pseudo-handle of this process and a pointer to a local for the token.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let token = Handle(token);
    let mut len = 0u32;
    // SAFETY: a size query (null buffer, length 0); fails with the size needed.
    unsafe { GetTokenInformation(token.0, TokenUser, std::ptr::null_mut(), 0, &mut len) };
    if len == 0 || len > 64 * 1024 {
        return Err(io::Error::last_os_error());
    }
    // u64 words: TOKEN_USER holds a pointer and must be aligned for it.
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: a buffer of at least `len` bytes, aligned for TOKEN_USER.
    if unsafe { GetTokenInformation(token.0, TokenUser, buf.as_mut_ptr().cast(), len, &mut len) }
        == 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call filled the buffer with a TOKEN_USER whose Sid points inside it.
    let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    Ok(sid_bytes(sid))
}

/// A copy of the SID at `sid`.
fn sid_bytes(sid: PSID) -> Vec<u8> {
    // SAFETY: `sid` points at a valid SID (from the system); GetLengthSid reads its header.
    let len = unsafe { GetLengthSid(sid) } as usize;
    // SAFETY: the SID is `len` bytes long.
    unsafe { std::slice::from_raw_parts(sid.cast::<u8>(), len) }.to_vec()
}

fn is_well_known(sid: PSID, kind: WELL_KNOWN_SID_TYPE) -> bool {
    // SAFETY: `sid` points at a valid SID.
    unsafe { IsWellKnownSid(sid, kind) != 0 }
}

fn same_sid(a: PSID, b: PSID) -> bool {
    // SAFETY: both point at valid SIDs (from the system, or copies made by `sid_bytes`).
    unsafe { EqualSid(a, b) != 0 }
}

/// Give `path` an access list that lets only the current user in (full control), not inherited
/// from its folder. A directory's entry is inherited by what is created in it.
pub(crate) fn make_private(path: &Path, directory: bool) -> io::Result<()> {
    let sid = current_user_sid()?;
    let inherit = if directory {
        OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE
    } else {
        0
    };
    set_protected_dacl(path, &[(&sid, FILE_ALL_ACCESS, inherit)])
}

/// Test only: let Everyone write `path` (as a careless `icacls … /grant Everyone:F` would).
#[cfg(test)]
pub(crate) fn grant_everyone_write(path: &Path) -> io::Result<()> {
    use windows_sys::Win32::Security::{CreateWellKnownSid, SECURITY_MAX_SID_SIZE};
    let mut everyone = vec![0u8; SECURITY_MAX_SID_SIZE as usize];
    let mut size = everyone.len() as u32;
    // SAFETY: a buffer of the largest SID size and its length.
    if unsafe {
        CreateWellKnownSid(
            WinWorldSid,
            std::ptr::null_mut(),
            everyone.as_mut_ptr() as PSID,
            &mut size,
        )
    } == 0
    {
        return Err(io::Error::last_os_error());
    }
    everyone.truncate(size as usize);
    let me = current_user_sid()?;
    const GENERIC_WRITE: u32 = 0x4000_0000;
    set_protected_dacl(
        path,
        &[(&me, FILE_ALL_ACCESS, 0), (&everyone, GENERIC_WRITE, 0)],
    )
}

/// Give `path` an access list of exactly these entries (SID, rights, inheritance flags), none
/// inherited from its folder.
fn set_protected_dacl(path: &Path, entries: &[(&[u8], u32, u32)]) -> io::Result<()> {
    let ace_header = std::mem::size_of::<ACCESS_ALLOWED_ACE>() - std::mem::size_of::<u32>();
    let acl_size = std::mem::size_of::<ACL>()
        + entries
            .iter()
            .map(|(sid, _, _)| ace_header + sid.len())
            .sum::<usize>();
    // u32 words: an ACL must be 4-byte aligned.
    let mut acl = vec![0u32; acl_size.div_ceil(4)];
    let acl_ptr = acl.as_mut_ptr().cast::<ACL>();
    // SAFETY: a zeroed, aligned buffer of `acl_size` bytes.
    if unsafe { InitializeAcl(acl_ptr, acl_size as u32, ACL_REVISION) } == 0 {
        return Err(io::Error::last_os_error());
    }
    for (sid, rights, inherit) in entries {
        // SAFETY: the ACL was sized for every entry, and each SID is a valid copy.
        if unsafe {
            AddAccessAllowedAceEx(
                acl_ptr,
                ACL_REVISION,
                *inherit,
                *rights,
                sid.as_ptr() as PSID,
            )
        } == 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    let name = wide(path.as_os_str());
    // SAFETY: a NUL-terminated path, and an ACL valid for the call; owner and group unchanged.
    let status = unsafe {
        SetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            acl_ptr,
            std::ptr::null(),
        )
    };
    if status != 0 {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    Ok(())
}

/// Who owns a file or folder, and who else may change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trust {
    /// Owned by the current user.
    pub owned_by_me: bool,
    /// Owned by SYSTEM or the Administrators group (what an elevated installer leaves).
    pub owned_by_system: bool,
    /// Someone other than the owner, SYSTEM and Administrators may write, replace or re-permit
    /// it: who (`Everyone`, or `another account`).
    pub writable_by: Option<&'static str>,
}

/// The rights that let someone change a file, or plant and replace entries in a folder.
const WRITE_RIGHTS: u32 = 0x0000_0002 // FILE_WRITE_DATA / FILE_ADD_FILE
    | 0x0000_0004 // FILE_APPEND_DATA / FILE_ADD_SUBDIRECTORY
    | 0x0000_0040 // FILE_DELETE_CHILD
    | 0x0001_0000 // DELETE
    | 0x0004_0000 // WRITE_DAC
    | 0x0008_0000 // WRITE_OWNER
    | 0x1000_0000 // GENERIC_ALL
    | 0x4000_0000; // GENERIC_WRITE

/// Read the owner and access list of `path`.
pub(crate) fn trust(path: &Path) -> io::Result<Trust> {
    let my_sid = current_user_sid()?;
    let name = wide(path.as_os_str());
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path and pointers to locals; the descriptor is freed below and
    // `owner`/`dacl` point into it.
    let status = unsafe {
        GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &mut owner,
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut descriptor,
        )
    };
    if status != 0 {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    struct Free(PSECURITY_DESCRIPTOR);
    impl Drop for Free {
        fn drop(&mut self) {
            // SAFETY: memory the system allocated for the descriptor, freed once.
            unsafe { LocalFree(self.0 as HLOCAL) };
        }
    }
    let _free = Free(descriptor);
    // Points into `my_sid`, which lives to the end of this function.
    let me = my_sid.as_ptr() as PSID;
    let owned_by_me = !owner.is_null() && same_sid(owner, me);
    let owned_by_system = !owner.is_null()
        && (is_well_known(owner, WinLocalSystemSid)
            || is_well_known(owner, WinBuiltinAdministratorsSid));
    let writable_by = if dacl.is_null() {
        // No access list at all: everyone has full access.
        Some("Everyone")
    } else {
        others_who_write(dacl, owner, me)
    };
    Ok(Trust {
        owned_by_me,
        owned_by_system,
        writable_by,
    })
}

/// The first entry of `dacl` that lets someone other than the owner, this user, SYSTEM and
/// Administrators write.
fn others_who_write(dacl: *mut ACL, owner: PSID, me: PSID) -> Option<&'static str> {
    // SAFETY: `dacl` points at a valid ACL inside a live security descriptor.
    let count = unsafe { (*dacl).AceCount };
    for index in 0..u32::from(count) {
        let mut ace: *mut c_void = std::ptr::null_mut();
        // SAFETY: index < AceCount; `ace` then points at the entry inside the ACL.
        if unsafe { GetAce(dacl, index, &mut ace) } == 0 || ace.is_null() {
            continue;
        }
        // SAFETY: every ACE starts with an ACE_HEADER.
        let header = unsafe { *ace.cast::<ACE_HEADER>() };
        if u32::from(header.AceType) != 0 /* ACCESS_ALLOWED_ACE_TYPE */
            || u32::from(header.AceFlags) & INHERIT_ONLY_ACE != 0
        {
            continue;
        }
        let allowed = ace.cast::<ACCESS_ALLOWED_ACE>();
        // SAFETY: an ACCESS_ALLOWED_ACE (checked above); its SID starts at SidStart.
        let (mask, sid) = unsafe {
            (
                (*allowed).Mask,
                std::ptr::addr_of_mut!((*allowed).SidStart) as PSID,
            )
        };
        if mask & WRITE_RIGHTS == 0 {
            continue;
        }
        let trusted = same_sid(sid, me)
            || (!owner.is_null() && same_sid(sid, owner))
            || is_well_known(sid, WinLocalSystemSid)
            || is_well_known(sid, WinBuiltinAdministratorsSid)
            || is_well_known(sid, WinCreatorOwnerSid);
        if !trusted {
            return Some(if is_well_known(sid, WinWorldSid) {
                "Everyone"
            } else {
                "another account"
            });
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Credential Manager
// ---------------------------------------------------------------------------------------------

/// The target names of the generic credentials whose name ends with `suffix` (the keyring crate
/// names an entry `<user>.<service>`), with the suffix cut off. Read with CredEnumerateW
/// directly: every pointer it returns is checked before use.
pub(crate) fn credential_names(suffix: &str) -> io::Result<Vec<String>> {
    use windows_sys::Win32::Security::Credentials::{CREDENTIALW, CredEnumerateW, CredFree};
    let mut count = 0u32;
    let mut list: *mut *mut CREDENTIALW = std::ptr::null_mut();
    // Every credential: a filter can only name a prefix.
    // SAFETY: no filter, and pointers to locals; the list is freed below.
    if unsafe { CredEnumerateW(std::ptr::null(), 0, &mut count, &mut list) } == 0 {
        let err = io::Error::last_os_error();
        // ERROR_NOT_FOUND: no credential matches.
        return if err.raw_os_error() == Some(1168) {
            Ok(Vec::new())
        } else {
            Err(err)
        };
    }
    struct Free(*mut *mut CREDENTIALW);
    impl Drop for Free {
        fn drop(&mut self) {
            // SAFETY: the buffer CredEnumerateW allocated, freed once.
            unsafe { CredFree(self.0 as *const c_void) };
        }
    }
    let _free = Free(list);
    let mut names = Vec::new();
    if list.is_null() {
        return Ok(names);
    }
    // wine returns the list (and the entries) at addresses not aligned for pointers: every
    // read is unaligned.
    for index in 0..count as usize {
        // SAFETY: `list` holds `count` pointers.
        let credential = unsafe { list.add(index).read_unaligned() };
        if credential.is_null() {
            continue;
        }
        // SAFETY: a credential the system returned; TargetName is a NUL-terminated string or
        // null.
        let target = unsafe { std::ptr::addr_of!((*credential).TargetName).read_unaligned() };
        if target.is_null() {
            continue;
        }
        // NUL-terminated, bounded by the longest target name Windows allows (32767), read one
        // unit at a time: the string may be unaligned too.
        let mut units: Vec<u16> = Vec::new();
        for i in 0..32_767 {
            // SAFETY: every unit up to and including the NUL is readable.
            match unsafe { target.add(i).read_unaligned() } {
                0 => break,
                unit => units.push(unit),
            }
        }
        let text = String::from_utf16_lossy(&units);
        if let Some(name) = text.strip_suffix(suffix) {
            names.push(name.to_string());
        }
    }
    Ok(names)
}
