//! Who is at the other end of a loopback TCP connection. A listener on 127.0.0.1 (the OAuth
//! callback, the browser hand-off) is reachable by every local user; the answers it waits for
//! must come from the person running aws-cred, not from another account on the same computer
//! that read the port (and perhaps the `state`) from `ps`.
//!
//! - Linux: the connecting socket is a line of `/proc/net/tcp` (or `tcp6`, for a dual-stack
//!   client) whose local address is the peer's and whose remote address is ours; its `uid`
//!   column is the owner. A connection whose line cannot be found is refused: it is gone, or
//!   not what it claims.
//! - Elsewhere the owner is not looked up (docs/SECURITY.md says so): [`Owner::Unknown`].

use std::net::SocketAddr;

/// The owner of the connecting socket, as far as this platform can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "only Linux looks the owner up")
)]
pub(crate) enum Owner {
    /// The user running aws-cred, or the superuser (who can read this process's memory anyway;
    /// WSL's localhost relay for a Windows browser connects as root).
    ThisUser,
    /// Another user (the numeric id, for the message).
    Other(String),
    /// Looked up, but the connection was not found.
    NotFound,
    /// This platform does not say.
    #[cfg_attr(
        target_os = "linux",
        allow(dead_code, reason = "Linux looks the owner up; other systems do not")
    )]
    Unknown,
}

impl Owner {
    /// Whether a connection from this owner may be served.
    pub(crate) fn allowed(&self) -> bool {
        matches!(self, Owner::ThisUser | Owner::Unknown)
    }
}

/// A socket's OS handle, kept beside the connection that owns it (see [`has_pending`]).
#[cfg(unix)]
pub(crate) type RawSocket = std::os::fd::RawFd;
#[cfg(windows)]
pub(crate) type RawSocket = std::os::windows::io::RawSocket;

/// The handle of `stream`, for [`has_pending`] while its task owns it.
pub(crate) fn raw_socket(stream: &tokio::net::TcpStream) -> RawSocket {
    #[cfg(unix)]
    {
        std::os::fd::AsRawFd::as_raw_fd(stream)
    }
    #[cfg(windows)]
    {
        std::os::windows::io::AsRawSocket::as_raw_socket(stream)
    }
}

/// Whether bytes wait to be read on `socket`: a client whose request arrived but was not read
/// yet is not a silent one. The caller must know the socket is still open (its owner has not
/// finished; on a current-thread runtime nothing closes it meanwhile). Windows: not looked at
/// (`false`).
pub(crate) fn has_pending(socket: RawSocket) -> bool {
    #[cfg(unix)]
    {
        let mut byte = [0u8; 1];
        // SAFETY: recv into a 1-byte local buffer; MSG_PEEK leaves the byte for its reader and
        // MSG_DONTWAIT never blocks. An invalid descriptor only makes it return -1.
        let got = unsafe {
            libc::recv(
                socket,
                byte.as_mut_ptr().cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        got > 0
    }
    #[cfg(windows)]
    {
        let _ = socket;
        false
    }
}

/// The longest `/proc/net/tcp*` read (a busy host lists many sockets; 150 bytes a line).
#[cfg(target_os = "linux")]
const MAX_TABLE: u64 = 64 * 1024 * 1024;

/// The owner of the socket that connected from `peer` to our `local` address.
#[cfg(target_os = "linux")]
pub(crate) fn owner(local: SocketAddr, peer: SocketAddr) -> Owner {
    use std::io::Read;
    let me = rustix::process::geteuid().as_raw();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let mut text = String::new();
        let read = std::fs::File::open(table)
            .and_then(|file| file.take(MAX_TABLE).read_to_string(&mut text));
        if read.is_err() {
            continue;
        }
        if let Some(uid) = find_uid(&text, peer, local) {
            return if uid == me || uid == 0 {
                Owner::ThisUser
            } else {
                Owner::Other(uid.to_string())
            };
        }
    }
    Owner::NotFound
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn owner(_local: SocketAddr, _peer: SocketAddr) -> Owner {
    Owner::Unknown
}

/// The `uid` of the line whose local address is `from` and remote address is `to`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn find_uid(table: &str, from: SocketAddr, to: SocketAddr) -> Option<u32> {
    table.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace();
        let _slot = fields.next()?;
        let local = parse_address(fields.next()?)?;
        let remote = parse_address(fields.next()?)?;
        // st, tx:rx, tr:when, retrnsmt, then uid.
        let uid = fields.nth(4)?.parse().ok()?;
        (same(local, from) && same(remote, to)).then_some(uid)
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits `:PORT` (IPv6): each 32-bit word as the kernel
/// holds it in memory, printed as a native-endian number; the port as a plain number.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
    let ip: std::net::IpAddr = match ip.len() {
        8 => std::net::Ipv4Addr::from(word(ip)?).into(),
        32 => {
            let mut octets = [0u8; 16];
            for (i, chunk) in octets.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&word(ip.get(i * 8..i * 8 + 8)?)?);
            }
            std::net::Ipv6Addr::from(octets).into()
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Equal addresses, an IPv4-mapped IPv6 address being its IPv4 one.
fn same(a: SocketAddr, b: SocketAddr) -> bool {
    let canonical = |addr: SocketAddr| match addr.ip() {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr.ip(), std::net::IpAddr::V4),
        ip => ip,
    };
    a.port() == b.port() && canonical(a) == canonical(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn reads_the_owner_from_the_kernel_table() {
        let (lo, port_a, port_b) = (u32::from_ne_bytes([127, 0, 0, 1]), 0x1F90u16, 0xC350u16);
        let table = format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: {lo:08X}:{port_a:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   1: {lo:08X}:{port_b:04X} {lo:08X}:{port_a:04X} 01 00000000:00000000 00:00000000 00000000  1000        0 2 1\n"
        );
        assert_eq!(
            find_uid(&table, addr("127.0.0.1:50000"), addr("127.0.0.1:8080")),
            Some(1000)
        );
        // The other direction (our own accepted socket) is not the peer's.
        assert_eq!(
            find_uid(&table, addr("127.0.0.1:8080"), addr("127.0.0.1:50000")),
            None
        );
        let mapped = {
            let words = [0u32, 0, u32::from_ne_bytes([0, 0, 0xff, 0xff]), lo];
            words.iter().map(|w| format!("{w:08X}")).collect::<String>()
        };
        let table6 = format!(
            "  sl  local_address remote_address st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: {mapped}:{port_b:04X} {mapped}:{port_a:04X} 01 00000000:00000000 00:00000000 00000000    7        0 3 1\n"
        );
        assert_eq!(
            find_uid(&table6, addr("127.0.0.1:50000"), addr("127.0.0.1:8080")),
            Some(7)
        );
        assert_eq!(parse_address("zz:1"), None);
        assert_eq!(
            find_uid("header only\n", addr("127.0.0.1:1"), addr("127.0.0.1:2")),
            None
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_connection_of_this_process_belongs_to_this_user() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(client.local_addr().unwrap(), peer);
        assert_eq!(owner(listener.local_addr().unwrap(), peer), Owner::ThisUser);
        // A port nobody connected from.
        drop(client);
        let nobody = SocketAddr::new(peer.ip(), 1);
        assert_eq!(
            owner(listener.local_addr().unwrap(), nobody),
            Owner::NotFound
        );
    }
}
