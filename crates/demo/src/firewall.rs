//! The edge firewall `fw-1` of the Portland office: iptables `LOG` lines as the kernel prints them
//! (`nf_log_syslog`) and rsyslog stores them in `kern.log`: `<4>Nov 26 10:00:00 fw-1 kernel:
//! [3542113.123456] [FW-BLOCK] IN=eth0 OUT= MAC=… SRC=… DST=… LEN=60 TOS=0x00 PREC=0x00 TTL=50
//! ID=54321 DF PROTO=TCP SPT=51515 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0`.
//!
//! The internet scans the office's public address around the clock: TCP SYNs to well-known
//! ports, UDP probes and pings, often several ports in a burst from one address, all dropped on
//! the INPUT chain (`[FW-BLOCK]`). Remote staff reach the VPN gateway behind the firewall over
//! HTTPS, forwarded and logged as `[FW-ACCEPT]` (as are scanners that knock on 443).
//!
//! The firewall's clock runs [`FIREWALL_SKEW`] slow, so the syslog timestamp of every line is
//! that much behind the record's true time (the `firewall-clock-skew` incident).

use rand::RngExt;
use rand::rngs::StdRng;

use crate::clock::{self, DAY, FLAT, HOUR, MINUTE, OFFICE, SECOND};
use crate::plan::{self, FIREWALL_SKEW};
use crate::{Rec, World, dice};

/// Scan bursts (one address, a few probes) per employee per day.
const SCAN_BURSTS: f64 = 2.4;
/// VPN connections from remote staff per employee per weekday.
const VPN_CONNECTS: f64 = 1.0;

const HOST: &str = "fw-1";
/// The office's public address, on `eth0`.
const PUBLIC_IP: &str = "198.51.100.10";
/// The VPN gateway behind the firewall, where 443 is forwarded.
const VPN_GATEWAY: &str = "10.0.0.20";
/// Destination MAC (`eth0`), source MAC (the ISP's router), EtherType IPv4.
const MAC: &str = "00:0c:29:4f:8e:35:f4:4e:05:9b:12:c0:08:00";
/// `kern.warning`, the level the LOG rules use.
const PRIORITY: u8 = 4;
/// How long the firewall had been up when the window starts.
const UPTIME_AT_START: i64 = 41 * DAY + 3 * HOUR + 17 * MINUTE;

/// TCP ports scanners try, by how often.
const TCP_PORTS: [(u32, u16); 14] = [
    (12, 22),
    (6, 23),
    (5, 80),
    (2, 443),
    (6, 445),
    (7, 3389),
    (3, 1433),
    (3, 3306),
    (2, 5432),
    (3, 5900),
    (4, 8080),
    (2, 8443),
    (3, 6379),
    (2, 9200),
];
/// UDP ports scanners try.
const UDP_PORTS: [u16; 6] = [53, 123, 161, 1900, 5060, 11211];

/// Kernel log lines for the whole window, unsorted.
pub(crate) fn generate(world: &World, rng: &mut StdRng) -> Vec<Rec> {
    let mut out = Vec::new();
    let window = &world.window;
    let boot = window.start - UPTIME_AT_START;
    for at in clock::scatter(rng, window, SCAN_BURSTS * world.scale, &FLAT) {
        let ip = plan::scanner_ip(rng);
        let tool = *dice::pick(rng, &[Tool::Masscan, Tool::Zmap, Tool::Linux]);
        let mut t = at;
        for _ in 0..rng.random_range(1..=8) {
            let line = match rng.random_range(0..20) {
                0 => icmp(rng, &ip),
                1..3 => udp(rng, &ip),
                _ => {
                    let port = *dice::weighted(rng, &TCP_PORTS);
                    let dst = if port == 443 { VPN_GATEWAY } else { PUBLIC_IP };
                    syn(rng, tool, &ip, dst, port)
                }
            };
            out.push(line_at(rng, t, boot, &line));
            t += rng.random_range(20..3 * SECOND);
        }
    }
    let remote: Vec<usize> = world
        .company
        .people
        .iter()
        .filter(|p| p.public_ip != PUBLIC_IP)
        .map(|p| p.index)
        .collect();
    if !remote.is_empty() {
        for at in clock::scatter(rng, window, VPN_CONNECTS * world.scale, &OFFICE) {
            if let Some(p) = world.pick(rng, &remote, at) {
                let line = syn(rng, Tool::Linux, &p.public_ip, VPN_GATEWAY, 443);
                out.push(line_at(rng, at, boot, &line));
            }
        }
    }
    out
}

/// How a scanner's packets look.
#[derive(Clone, Copy)]
enum Tool {
    /// Bare SYNs with a fixed window, no DF.
    Masscan,
    /// Bare SYNs with IP id 54321.
    Zmap,
    /// A full Linux stack: options, DF, window 64240.
    Linux,
}

/// The `SRC= … URGP=0` part of a TCP SYN to `dst:port`, with the rule's prefix.
fn syn(rng: &mut StdRng, tool: Tool, src: &str, dst: &str, port: u16) -> String {
    let (prefix, out) = verdict(dst);
    let spt = dice::ephemeral_port(rng);
    let (len, ttl, id, df, window) = match tool {
        Tool::Masscan => (
            40,
            rng.random_range(230..250),
            rng.random_range(1..65_535),
            "",
            1024,
        ),
        Tool::Zmap => (44, rng.random_range(40..60), 54_321, "", 65_535),
        Tool::Linux => (
            60,
            rng.random_range(45..60),
            rng.random_range(1..65_535),
            "DF ",
            64_240,
        ),
    };
    format!(
        "{prefix} IN=eth0 OUT={out} MAC={MAC} SRC={src} DST={dst} LEN={len} TOS=0x00 PREC=0x00 TTL={ttl} ID={id} {df}PROTO=TCP SPT={spt} DPT={port} WINDOW={window} RES=0x00 SYN URGP=0"
    )
}

fn udp(rng: &mut StdRng, src: &str) -> String {
    let port = *dice::pick(rng, &UDP_PORTS);
    let payload: u16 = rng.random_range(0..64);
    let len = payload + 8;
    format!(
        "[FW-BLOCK] IN=eth0 OUT= MAC={MAC} SRC={src} DST={PUBLIC_IP} LEN={} TOS=0x00 PREC=0x00 TTL={} ID={} PROTO=UDP SPT={} DPT={port} LEN={len}",
        len + 20,
        rng.random_range(40..250),
        rng.random_range(1..65_535),
        dice::ephemeral_port(rng),
    )
}

fn icmp(rng: &mut StdRng, src: &str) -> String {
    format!(
        "[FW-BLOCK] IN=eth0 OUT= MAC={MAC} SRC={src} DST={PUBLIC_IP} LEN=84 TOS=0x00 PREC=0x00 TTL={} ID={} DF PROTO=ICMP TYPE=8 CODE=0 ID={} SEQ={}",
        rng.random_range(40..60),
        rng.random_range(1..65_535),
        rng.random_range(1..65_535),
        rng.random_range(1..5),
    )
}

/// The log prefix and `OUT=` interface: 443 is forwarded to the VPN gateway, everything else
/// is dropped on the INPUT chain.
fn verdict(dst: &str) -> (&'static str, &'static str) {
    if dst == VPN_GATEWAY {
        ("[FW-ACCEPT]", "eth1")
    } else {
        ("[FW-BLOCK]", "")
    }
}

/// The kern.log line for a packet seen at true time `at`, stamped by the slow clock.
fn line_at(rng: &mut StdRng, at: i64, boot: i64, msg: &str) -> Rec {
    let uptime_us = (at - boot) * 1_000 + rng.random_range(0..1_000);
    Rec::new(
        at,
        format!(
            "<{PRIORITY}>{} {HOST} kernel: [{}.{:06}] {msg}",
            clock::syslog(at - FIREWALL_SKEW),
            uptime_us / 1_000_000,
            uptime_us % 1_000_000
        ),
    )
}
