//! RTP port allocation: each call holds an even RTP port and the odd RTCP port
//! above it, bound for real so no other process can take them, and freed when the
//! call ends. A full range is reported, never a panic.

use std::net::{IpAddr, SocketAddr, UdpSocket};

/// An RTP/RTCP socket pair owned by one call.
#[derive(Debug)]
pub struct RtpPorts {
    /// RTP socket (even port).
    pub rtp: UdpSocket,
    /// RTCP socket (RTP port + 1), held so no one else takes the port.
    #[allow(dead_code)]
    pub rtcp: UdpSocket,
}

impl RtpPorts {
    /// The RTP port.
    pub fn port(&self) -> u16 {
        self.rtp.local_addr().map(|a| a.port()).unwrap_or(0)
    }
}

/// Hands out port pairs from a range, round-robin so a port just freed is not
/// reused at once (late packets of the old call would land in the new one).
#[derive(Debug)]
pub struct RtpPortPool {
    ip: IpAddr,
    start: u16,
    pairs: u16,
    next: u16,
}

impl RtpPortPool {
    /// A pool over `[start, start + count)`, binding on `ip`.
    pub fn new(ip: IpAddr, start: u16, count: u16) -> RtpPortPool {
        let start = start + (start % 2);
        let end = u32::from(start) + u32::from(count);
        let end = end.min(65535) as u16;
        RtpPortPool {
            ip,
            start,
            pairs: end.saturating_sub(start) / 2,
            next: 0,
        }
    }

    /// Binds the next free pair, or `None` when every pair is taken.
    pub fn allocate(&mut self) -> Option<RtpPorts> {
        for _ in 0..self.pairs {
            let port = self.start + 2 * self.next;
            self.next = (self.next + 1) % self.pairs.max(1);
            let Ok(rtp) = UdpSocket::bind(SocketAddr::new(self.ip, port)) else {
                continue;
            };
            let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(self.ip, port + 1)) else {
                continue;
            };
            let _ = rtp.set_nonblocking(true);
            let _ = rtcp.set_nonblocking(true);
            return Some(RtpPorts { rtp, rtcp });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_even_pairs_and_reports_exhaustion() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let mut pool = RtpPortPool::new(ip, 41001, 4);
        let a = pool.allocate().expect("first pair");
        let b = pool.allocate().expect("second pair");
        assert_eq!(a.port() % 2, 0);
        assert_eq!(
            a.rtcp.local_addr().unwrap().port(),
            a.port() + 1,
            "RTCP is the odd port above"
        );
        assert_ne!(a.port(), b.port());
        assert!(pool.allocate().is_none(), "range of two pairs is full");
        drop(a);
        assert!(pool.allocate().is_some(), "freed pair is reused");
    }
}
