//! AWS VPC Flow Logs in the default version 2 text format, one line per flow record:
//! `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start
//! end action log-status`.
//!
//! Customers reach the load balancers over HTTPS, which forward to the app servers, which query
//! PostgreSQL and Redis, resolve names and call SaaS APIs through the NAT gateway; staff SSH to
//! the bastion over the VPN. Each flow is logged in both directions. Scanners from the internet
//! are rejected everywhere but the bastion's SSH port, and quiet interfaces report `NODATA`. The
//! planted SSH brute force shows up as accepted connections from the attacker to the bastion.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::clock::{self, CUSTOMER, FLAT, MINUTE, OFFICE, SECOND};
use crate::company::{AWS_ACCOUNT, BASTION, INNER_HOSTS};
use crate::plan;
use crate::{Rec, World, dice};

/// Customer requests (load balancer → app → maybe database) per employee per weekday.
const WEB: f64 = 6.0;
/// Name lookups, Redis calls and SaaS calls from workloads per employee per day.
const BACKGROUND: f64 = 2.5;
/// Probes from internet scanners per employee per day.
const PROBES: f64 = 2.0;
/// VPN SSH connections to the bastion per employee per weekday.
const SSH: f64 = 0.12;
/// `NODATA` reports per employee per day.
const IDLE: f64 = 0.02;

const TCP: u8 = 6;
const UDP: u8 = 17;

/// A network interface and its address.
struct Nic {
    eni: &'static str,
    ip: &'static str,
}

const ALBS: [Nic; 2] = [
    Nic {
        eni: "eni-0a4c2e6f8b1d3a5c7",
        ip: "10.0.1.20",
    },
    Nic {
        eni: "eni-0d9b7f5e3c1a2b4d6",
        ip: "10.0.1.21",
    },
];
const NAT: Nic = Nic {
    eni: "eni-03e5a7c9b2d4f6a81",
    ip: "10.0.1.30",
};
const REDIS: Nic = Nic {
    eni: "eni-0f2d4b6a8c3e5a7b9",
    ip: "10.0.3.20",
};
const RESOLVER: &str = "10.0.0.2";

/// Flow log lines for the whole window, unsorted.
pub(crate) fn generate(world: &World, rng: &mut StdRng) -> Vec<Rec> {
    let mut out = Vec::new();
    let window = &world.window;
    let apps = &INNER_HOSTS[..3];
    let db = &INNER_HOSTS[4];

    for at in clock::scatter(rng, window, WEB * world.scale, &CUSTOMER) {
        let alb = dice::pick(rng, &ALBS);
        let app = dice::pick(rng, apps);
        let client = format!("192.0.2.{}", rng.random_range(120..255));
        let port = dice::ephemeral_port(rng);
        exchange(
            rng,
            &mut out,
            at,
            Flow {
                eni: alb.eni,
                src: (&client, port),
                dst: (alb.ip, 443),
                proto: TCP,
            },
            20,
        );
        let t = at + rng.random_range(2..40);
        let port = dice::ephemeral_port(rng);
        exchange(
            rng,
            &mut out,
            t,
            Flow {
                eni: app.eni,
                src: (alb.ip, port),
                dst: (app.ip, 8080),
                proto: TCP,
            },
            15,
        );
        if rng.random_bool(0.5) {
            let port = dice::ephemeral_port(rng);
            exchange(
                rng,
                &mut out,
                t + 5,
                Flow {
                    eni: db.eni,
                    src: (app.ip, port),
                    dst: (db.ip, 5432),
                    proto: TCP,
                },
                12,
            );
        }
    }
    for at in clock::scatter(rng, window, BACKGROUND * world.scale, &FLAT) {
        let host = dice::pick(rng, &INNER_HOSTS[..4]);
        let port = dice::ephemeral_port(rng);
        match rng.random_range(0..3) {
            0 => exchange(
                rng,
                &mut out,
                at,
                Flow {
                    eni: host.eni,
                    src: (host.ip, port),
                    dst: (RESOLVER, 53),
                    proto: UDP,
                },
                2,
            ),
            1 => exchange(
                rng,
                &mut out,
                at,
                Flow {
                    eni: REDIS.eni,
                    src: (host.ip, port),
                    dst: (REDIS.ip, 6379),
                    proto: TCP,
                },
                30,
            ),
            _ => {
                let saas = format!("198.51.100.{}", rng.random_range(150..200));
                exchange(
                    rng,
                    &mut out,
                    at,
                    Flow {
                        eni: NAT.eni,
                        src: (host.ip, port),
                        dst: (&saas, 443),
                        proto: TCP,
                    },
                    25,
                );
            }
        }
    }
    for at in clock::scatter(rng, window, PROBES * world.scale, &FLAT) {
        let ip = plan::scanner_ip(rng);
        probe(rng, &mut out, at, &ip);
    }
    for at in clock::scatter(rng, window, SSH * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &world.company.technical, at) {
            let port = dice::ephemeral_port(rng);
            let to = (BASTION.ip, 22);
            exchange(
                rng,
                &mut out,
                at,
                Flow {
                    eni: BASTION.eni,
                    src: (&p.vpn_ip, port),
                    dst: to,
                    proto: TCP,
                },
                200,
            );
        }
    }
    for at in clock::scatter(rng, window, IDLE * world.scale, &FLAT) {
        let eni = dice::pick(rng, &[REDIS.eni, NAT.eni, INNER_HOSTS[3].eni]);
        let start = at / SECOND;
        let end = start + rng.random_range(50..=60);
        let line = format!("2 {AWS_ACCOUNT} {eni} - - - - - - - {start} {end} - NODATA");
        out.push(Rec::new(start * SECOND, line));
    }
    if let Some(plan) = &world.plan {
        // One SSH connection per password guess, rolled up per minute by the capture window.
        let attack = &plan.ssh_brute_force;
        for minute in 0..5 {
            let at = attack.at + minute * MINUTE;
            let port = dice::ephemeral_port(rng);
            let from = (attack.ip.as_str(), port);
            exchange(
                rng,
                &mut out,
                at,
                Flow {
                    eni: BASTION.eni,
                    src: from,
                    dst: (BASTION.ip, 22),
                    proto: TCP,
                },
                60,
            );
        }
    }
    out
}

/// One direction of a conversation, as seen on interface `eni`.
#[derive(Clone, Copy)]
struct Flow<'a> {
    eni: &'a str,
    src: (&'a str, u16),
    dst: (&'a str, u16),
    proto: u8,
}

impl Flow<'_> {
    fn reversed(self) -> Self {
        Flow {
            src: self.dst,
            dst: self.src,
            ..self
        }
    }
}

/// A conversation as two accepted records, request and response; `size` bounds the packets.
fn exchange(rng: &mut StdRng, out: &mut Vec<Rec>, at: i64, flow: Flow<'_>, size: u32) {
    let end = at / SECOND + rng.random_range(1..=60);
    let packets = rng.random_range(1..=size.max(2));
    let bytes = packets * rng.random_range(60..400);
    out.push(record(at, flow, packets, bytes, end, "ACCEPT"));
    let back = (packets * 3 / 2).max(1);
    let back_bytes = back * rng.random_range(200..1400);
    out.push(record(at, flow.reversed(), back, back_bytes, end, "ACCEPT"));
}

/// A scanner probing a public interface: rejected, except SSH on the bastion and HTTPS on the
/// load balancers.
fn probe(rng: &mut StdRng, out: &mut Vec<Rec>, at: i64, ip: &str) {
    const PORTS: [u16; 10] = [22, 23, 80, 443, 445, 3389, 5900, 6379, 8080, 9200];
    let port = *dice::pick(rng, &PORTS);
    let (eni, dst, open) = match rng.random_range(0..3) {
        0 => (BASTION.eni, BASTION.ip, port == 22),
        1 => (NAT.eni, NAT.ip, false),
        _ => {
            let alb = dice::pick(rng, &ALBS);
            (alb.eni, alb.ip, port == 443)
        }
    };
    let action = if open { "ACCEPT" } else { "REJECT" };
    let packets = rng.random_range(1..=3);
    let end = at / SECOND + rng.random_range(1..=60);
    let flow = Flow {
        eni,
        src: (ip, dice::ephemeral_port(rng)),
        dst: (dst, port),
        proto: TCP,
    };
    out.push(record(at, flow, packets, packets * 44, end, action));
}

fn record(at: i64, f: Flow<'_>, packets: u32, bytes: u32, end: i64, action: &str) -> Rec {
    let start = at / SECOND;
    let (eni, (src, sport), (dst, dport), proto) = (f.eni, f.src, f.dst, f.proto);
    Rec::new(
        start * SECOND,
        format!(
            "2 {AWS_ACCOUNT} {eni} {src} {dst} {sport} {dport} {proto} {packets} {bytes} {start} {end} {action} OK"
        ),
    )
}
