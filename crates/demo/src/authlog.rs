//! Debian `auth.log` lines as rsyslog forwards them: RFC 3164 with the priority,
//! `<PRI>Mmm dd hh:mm:ss host prog[pid]: message`.
//!
//! Engineers reach the servers through `bastion-1` with their SSH keys (sshd, PAM and logind
//! lines on both hops) and run a few commands under sudo; cron opens a root session every hour
//! on every host; the internet knocks on the bastion's SSH port; now and then someone is added to
//! the `docker` group. The planted incidents add a password brute force against the bastion and
//! a sudo attempt by a user who is not in sudoers.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::clock::{self, FLAT, HOUR, MINUTE, OFFICE, SECOND};
use crate::company::{BASTION, Host, INNER_HOSTS, Person};
use crate::plan::{self, Attack};
use crate::{Rec, World, dice};

/// SSH sessions through the bastion per employee per weekday.
const SSH_SESSIONS: f64 = 0.12;
/// Internet scanner connections to the bastion per employee per day.
const SCANS: f64 = 0.2;
/// Group changes on a server per employee per weekday.
const GROUP_CHANGES: f64 = 0.004;

// Priorities: facility × 8 + severity (auth = 4, authpriv = 10; err = 3, notice = 5, info = 6,
// alert = 1).
const AUTH_INFO: u8 = 38;
const AUTH_ERR: u8 = 35;
const AUTHPRIV_INFO: u8 = 86;
const AUTHPRIV_NOTICE: u8 = 85;
const AUTHPRIV_ALERT: u8 = 81;

/// Process id of systemd-logind, stable for the life of a host.
const LOGIND_PID: u32 = 612;

const SUDO_COMMANDS: [&str; 8] = [
    "/usr/bin/systemctl restart platform-api",
    "/usr/bin/systemctl status nginx",
    "/usr/bin/journalctl -u platform-api --since -1h",
    "/usr/bin/docker ps",
    "/usr/bin/apt-get update",
    "/usr/bin/tail -n 200 /var/log/nginx/error.log",
    "/usr/bin/docker logs --tail 100 platform-worker",
    "/usr/sbin/ss -tlnp",
];

/// auth.log lines for the whole window, unsorted.
pub(crate) fn generate(world: &World, rng: &mut StdRng) -> Vec<Rec> {
    let mut out = Vec::new();
    let window = &world.window;
    for at in clock::scatter(rng, window, SSH_SESSIONS * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &world.company.technical, at) {
            let inner = if rng.random_bool(0.75) {
                Some(*dice::weighted(rng, &INNER_WEIGHTS))
            } else {
                None
            };
            session(world, rng, &mut out, p, at, inner, false);
        }
    }
    for at in clock::scatter(rng, window, SCANS * world.scale, &FLAT) {
        let ip = plan::scanner_ip(rng);
        scan(rng, &mut out, at, &ip);
    }
    for at in clock::scatter(rng, window, GROUP_CHANGES * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &world.company.technical, at) {
            let host = dice::pick(rng, &INNER_HOSTS);
            let pid = pid(rng);
            for shadow in ["", "shadow "] {
                let msg = format!("add '{}' to {shadow}group 'docker'", p.unix);
                out.push(line(at, AUTH_INFO, host.name, "usermod", pid, &msg));
            }
        }
    }
    cron(rng, &mut out, world);
    if let Some(plan) = &world.plan {
        brute_force(rng, &mut out, &plan.ssh_brute_force);
        let act = plan.sudo_denied;
        session(
            world,
            rng,
            &mut out,
            world.person(act.who),
            act.at,
            Some(&INNER_HOSTS[0]),
            true,
        );
    }
    out
}

/// Inner hosts by how often people log in to them.
const INNER_WEIGHTS: [(u32, &Host); 5] = [
    (4, &INNER_HOSTS[0]),
    (3, &INNER_HOSTS[1]),
    (3, &INNER_HOSTS[2]),
    (2, &INNER_HOSTS[3]),
    (1, &INNER_HOSTS[4]),
];

/// A key-based login to the bastion, perhaps a hop to `inner` with a few sudo commands (or, when
/// `denied`, sudo refused), then logouts in reverse order.
fn session(
    world: &World,
    rng: &mut StdRng,
    out: &mut Vec<Rec>,
    p: &Person,
    at: i64,
    inner: Option<&Host>,
    denied: bool,
) {
    let length = rng.random_range(3 * MINUTE..90 * MINUTE);
    if !world.active(p.index, at + length) {
        return;
    }
    let outer = login(rng, out, p, at, &BASTION, &p.vpn_ip);
    let mut t = at + rng.random_range(5 * SECOND..60 * SECOND);
    if let Some(host) = inner {
        let hop_end = at + length - rng.random_range(5 * SECOND..60 * SECOND);
        let hop = login(rng, out, p, t, host, BASTION.ip);
        let tty = format!("pts/{}", rng.random_range(0..4));
        if denied {
            for command in ["/usr/bin/cat /etc/shadow", "/usr/bin/su -"] {
                t += rng.random_range(20 * SECOND..3 * MINUTE);
                let msg = format!(
                    "{:>8} : user NOT in sudoers ; TTY={tty} ; PWD=/home/{} ; USER=root ; COMMAND={command}",
                    p.unix, p.unix
                );
                out.push(line(t, AUTHPRIV_ALERT, host.name, "sudo", pid(rng), &msg));
            }
        } else if p.dept.sudoer() {
            for _ in 0..rng.random_range(0..=3) {
                t += rng.random_range(20 * SECOND..5 * MINUTE);
                if t >= hop_end {
                    break;
                }
                let pid = pid(rng);
                let command = dice::pick(rng, &SUDO_COMMANDS);
                let msg = format!(
                    "{:>8} : TTY={tty} ; PWD=/home/{} ; USER=root ; COMMAND={command}",
                    p.unix, p.unix
                );
                out.push(line(t, AUTHPRIV_NOTICE, host.name, "sudo", pid, &msg));
                let msg = format!(
                    "pam_unix(sudo:session): session opened for user root(uid=0) by {}(uid={})",
                    p.unix, p.uid
                );
                out.push(line(t + 4, AUTHPRIV_INFO, host.name, "sudo", pid, &msg));
                let closed = t + rng.random_range(200..30 * SECOND);
                let msg = "pam_unix(sudo:session): session closed for user root";
                out.push(line(closed, AUTHPRIV_INFO, host.name, "sudo", pid, msg));
            }
        }
        logout(out, p, t.max(hop_end), host, BASTION.ip, &hop);
    }
    logout(
        out,
        p,
        (at + length).max(t + SECOND),
        &BASTION,
        &p.vpn_ip,
        &outer,
    );
}

/// What a login leaves behind for its logout.
struct Login {
    pid: u32,
    port: u16,
    session: u32,
}

fn login(
    rng: &mut StdRng,
    out: &mut Vec<Rec>,
    p: &Person,
    at: i64,
    host: &Host,
    from: &str,
) -> Login {
    let l = Login {
        pid: pid(rng),
        port: dice::ephemeral_port(rng),
        session: rng.random_range(1..9000),
    };
    let msg = format!(
        "Accepted publickey for {} from {from} port {} ssh2: ED25519 SHA256:{}",
        p.unix, l.port, p.ssh_key
    );
    out.push(line(at, AUTH_INFO, host.name, "sshd", l.pid, &msg));
    let msg = format!(
        "pam_unix(sshd:session): session opened for user {}(uid={}) by (uid=0)",
        p.unix, p.uid
    );
    out.push(line(at + 6, AUTHPRIV_INFO, host.name, "sshd", l.pid, &msg));
    let msg = format!("New session {} of user {}.", l.session, p.unix);
    out.push(line(
        at + 15,
        AUTH_INFO,
        host.name,
        "systemd-logind",
        LOGIND_PID,
        &msg,
    ));
    l
}

fn logout(out: &mut Vec<Rec>, p: &Person, at: i64, host: &Host, from: &str, l: &Login) {
    let h = host.name;
    let msg = format!(
        "Received disconnect from {from} port {}:11: disconnected by user",
        l.port
    );
    out.push(line(at, AUTH_INFO, h, "sshd", l.pid, &msg));
    let msg = format!("Disconnected from user {} {from} port {}", p.unix, l.port);
    out.push(line(at + 1, AUTH_INFO, h, "sshd", l.pid, &msg));
    let msg = format!("pam_unix(sshd:session): session closed for user {}", p.unix);
    out.push(line(at + 3, AUTHPRIV_INFO, h, "sshd", l.pid, &msg));
    let msg = format!(
        "Session {} logged out. Waiting for processes to exit.",
        l.session
    );
    out.push(line(
        at + 9,
        AUTH_INFO,
        h,
        "systemd-logind",
        LOGIND_PID,
        &msg,
    ));
    let msg = format!("Removed session {}.", l.session);
    out.push(line(
        at + 14,
        AUTH_INFO,
        h,
        "systemd-logind",
        LOGIND_PID,
        &msg,
    ));
}

/// One connection from an internet scanner: a banner grab or a password guess or two.
fn scan(rng: &mut StdRng, out: &mut Vec<Rec>, at: i64, ip: &str) {
    let h = BASTION.name;
    match rng.random_range(0..10) {
        0..3 => {
            let pid = pid(rng);
            let port = dice::ephemeral_port(rng);
            let msg = "error: kex_exchange_identification: Connection closed by remote host";
            out.push(line(at, AUTH_ERR, h, "sshd", pid, msg));
            let msg = format!("Connection closed by {ip} port {port}");
            out.push(line(at + 2, AUTH_INFO, h, "sshd", pid, &msg));
        }
        _ => {
            let mut t = at;
            for _ in 0..rng.random_range(1..=2) {
                guess(rng, out, t, ip);
                t += rng.random_range(2 * SECOND..20 * SECOND);
            }
        }
    }
}

/// One failed password attempt, for root or for a user that does not exist.
fn guess(rng: &mut StdRng, out: &mut Vec<Rec>, at: i64, ip: &str) {
    const USERS: [&str; 10] = [
        "admin", "ubuntu", "test", "oracle", "postgres", "user", "git", "deploy", "ftpuser", "pi",
    ];
    let h = BASTION.name;
    let pid = pid(rng);
    let port = dice::ephemeral_port(rng);
    if rng.random_bool(0.35) {
        let msg = format!(
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user=root"
        );
        out.push(line(at, AUTHPRIV_NOTICE, h, "sshd", pid, &msg));
        let msg = format!("Failed password for root from {ip} port {port} ssh2");
        out.push(line(at + 1_900, AUTH_INFO, h, "sshd", pid, &msg));
        let msg =
            format!("Connection closed by authenticating user root {ip} port {port} [preauth]");
        out.push(line(at + 2_300, AUTH_INFO, h, "sshd", pid, &msg));
    } else {
        let user = dice::pick(rng, &USERS);
        let msg = format!("Invalid user {user} from {ip} port {port}");
        out.push(line(at, AUTH_INFO, h, "sshd", pid, &msg));
        let msg = "pam_unix(sshd:auth): check pass; user unknown";
        out.push(line(at + 300, AUTHPRIV_NOTICE, h, "sshd", pid, msg));
        let msg = format!(
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}"
        );
        out.push(line(at + 301, AUTHPRIV_NOTICE, h, "sshd", pid, &msg));
        let msg = format!("Failed password for invalid user {user} from {ip} port {port} ssh2");
        out.push(line(at + 2_100, AUTH_INFO, h, "sshd", pid, &msg));
        let msg = format!("Connection closed by invalid user {user} {ip} port {port} [preauth]");
        out.push(line(at + 2_500, AUTH_INFO, h, "sshd", pid, &msg));
    }
}

/// The planted brute force: 14–18 password guesses from one address in under five minutes.
fn brute_force(rng: &mut StdRng, out: &mut Vec<Rec>, attack: &Attack) {
    let mut t = attack.at;
    for _ in 0..rng.random_range(14..=18) {
        guess(rng, out, t, &attack.ip);
        t += rng.random_range(8 * SECOND..15 * SECOND);
    }
}

/// cron's hourly root session on every host, at 17 minutes past.
fn cron(rng: &mut StdRng, out: &mut Vec<Rec>, world: &World) {
    let window = &world.window;
    let mut hour = window.start.div_euclid(HOUR) * HOUR;
    while hour < window.end {
        let at = hour + 17 * MINUTE + SECOND;
        for host in std::iter::once(&BASTION).chain(&INNER_HOSTS) {
            let pid = pid(rng);
            let msg = "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)";
            out.push(line(at, AUTHPRIV_INFO, host.name, "CRON", pid, msg));
            let msg = "pam_unix(cron:session): session closed for user root";
            out.push(line(
                at + rng.random_range(100..900),
                AUTHPRIV_INFO,
                host.name,
                "CRON",
                pid,
                msg,
            ));
        }
        hour += HOUR;
    }
}

fn pid(rng: &mut StdRng) -> u32 {
    rng.random_range(1_000..400_000)
}

fn line(at: i64, pri: u8, host: &str, program: &str, pid: u32, msg: &str) -> Rec {
    Rec::new(
        at,
        format!(
            "<{pri}>{} {host} {program}[{pid}]: {msg}",
            clock::syslog(at)
        ),
    )
}
