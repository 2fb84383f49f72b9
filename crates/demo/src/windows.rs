//! Windows Security events from the domain controller `DC1`, as winlogbeat ships them: one JSON
//! object per event, the ECS fields around a `winlog` object whose `event_data` holds the event's
//! named fields (keys sorted, as winlogbeat writes them).
//!
//! Laptops and people authenticate to the domain all day (4624 network logons, Kerberos), with
//! the odd mistyped password (4625); computer and service accounts log on around the clock; IT
//! and security staff hold administrative rights, so their logons add a 4672 (special
//! privileges), and they sometimes open a console or RDP session on the DC and add someone to an
//! ordinary security group (4728). The planted incidents add a grant to Domain Admins and the
//! Security log cleared at night (1102). From [`Plan::dc_silent_from`](crate::plan::Plan) on the
//! DC's forwarder is broken and nothing more arrives.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::clock::{self, FLAT, MINUTE, OFFICE, SECOND};
use crate::company::{Dept, Person};
use crate::json::{self, Obj};
use crate::{Rec, World, dice};

/// Domain logons per employee per weekday (Group Policy refresh, file shares, mail).
const USER_LOGONS: f64 = 5.0;
/// Computer-account logons per employee per day.
const MACHINE_LOGONS: f64 = 1.0;
/// Service-account logons per employee per day.
const SERVICE_LOGONS: f64 = 0.4;
/// Console or RDP sessions on the DC per employee per weekday (by IT and security).
const ADMIN_SESSIONS: f64 = 0.02;
/// Additions to ordinary security groups per employee per weekday.
const GROUP_CHANGES: f64 = 0.003;
/// Share of user logons preceded by a mistyped password.
const TYPOS: f64 = 0.03;

const DC: &str = "DC1.northwind.example";
const DC_SHORT: &str = "DC1";
const DOMAIN: &str = "NORTHWIND";
const DOMAIN_SID: &str = "S-1-5-21-1844237615-2930712164-3511384076";
/// Process id of `lsass.exe`, which writes the Security log.
const LSASS_PID: i64 = 748;
/// Where the DC's own console and RDP logons come from, as Windows records them.
const LOCALHOST: &str = "127.0.0.1";
/// Events before the first one of the window, so record ids look like a long-lived log.
const FIRST_RECORD_ID: i64 = 48_113_207;

/// Rights an administrator's logon receives, as event 4672 lists them.
const ADMIN_PRIVILEGES: &str = "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege\n\t\t\tSeSystemEnvironmentPrivilege\n\t\t\tSeLoadDriverPrivilege\n\t\t\tSeImpersonatePrivilege\n\t\t\tSeDelegateSessionUserImpersonatePrivilege\n\t\t\tSeEnableDelegationPrivilege";
/// Rights of the backup service account.
const BACKUP_PRIVILEGES: &str = "SeBackupPrivilege\n\t\t\tSeRestorePrivilege";

/// Service accounts: name, relative id, the server they log on from, and their special rights.
const SERVICES: [(&str, u32, &str, Option<&str>); 4] = [
    ("svc-backup", 1051, "10.0.0.31", Some(BACKUP_PRIVILEGES)),
    ("svc-sql", 1052, "10.0.0.32", None),
    ("svc-jenkins", 1053, "10.0.0.33", None),
    ("svc-print", 1054, "10.0.0.34", None),
];

/// Ordinary security-enabled global groups and their relative ids.
const GROUPS: [(&str, u32); 5] = [
    ("VPN Users", 1201),
    ("Finance Share Readers", 1202),
    ("Engineering", 1203),
    ("Jira Users", 1204),
    ("Remote Desktop Gateway Users", 1205),
];
const DOMAIN_ADMINS: (&str, u32) = ("Domain Admins", 512);

/// Security events for the window, unsorted; nothing at or after the forwarder broke.
pub(crate) fn generate(world: &World, rng: &mut StdRng) -> Vec<Rec> {
    let Some(plan) = &world.plan else {
        return Vec::new();
    };
    let mut evs = Vec::new();
    let window = &world.window;
    let everyone: Vec<usize> = (0..world.company.people.len()).collect();

    for at in clock::scatter(rng, window, USER_LOGONS * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &everyone, at) {
            let account = Account::person(p);
            let port = windows_port(rng);
            if rng.random_bool(TYPOS) {
                let before = at - rng.random_range(5 * SECOND..40 * SECOND);
                evs.push(failed_logon(
                    before,
                    &account,
                    &p.vpn_ip,
                    port,
                    &workstation(p),
                ));
            }
            network_logon(rng, &mut evs, at, &account, &p.vpn_ip, port);
        }
    }
    for at in clock::scatter(rng, window, MACHINE_LOGONS * world.scale, &FLAT) {
        let who = *dice::pick(rng, &everyone);
        let p = world.person(who);
        let account = Account {
            name: format!("{}$", workstation(p)),
            sid: sid(3100 + p.index),
            privileges: None,
        };
        let port = windows_port(rng);
        network_logon(rng, &mut evs, at, &account, &p.vpn_ip, port);
    }
    for at in clock::scatter(rng, window, SERVICE_LOGONS * world.scale, &FLAT) {
        let (name, rid, ip, privileges) = *dice::pick(rng, &SERVICES);
        let account = Account {
            name: name.to_owned(),
            sid: sid(rid as usize),
            privileges,
        };
        let port = windows_port(rng);
        network_logon(rng, &mut evs, at, &account, ip, port);
    }
    let admins: Vec<usize> = everyone
        .iter()
        .copied()
        .filter(|&i| matches!(world.person(i).dept, Dept::It | Dept::Security))
        .collect();
    for at in clock::scatter(rng, window, ADMIN_SESSIONS * world.scale, &OFFICE) {
        if let Some(p) = world.pick(rng, &admins, at) {
            admin_session(rng, &mut evs, at, p);
        }
    }
    for at in clock::scatter(rng, window, GROUP_CHANGES * world.scale, &OFFICE) {
        let Some(admin) = world.pick(rng, &world.company.okta_admins, at) else {
            continue;
        };
        let Some(member) = world.pick(rng, &everyone, at) else {
            continue;
        };
        let logon = admin_session(rng, &mut evs, at, admin);
        let group = *dice::pick(rng, &GROUPS);
        let added = at + rng.random_range(MINUTE..10 * MINUTE);
        evs.push(group_add(added, admin, &logon, member, group));
    }

    let grant = &plan.domain_admin_grant;
    let admin = world.person(grant.actor);
    let logon = admin_session(rng, &mut evs, grant.at - 4 * MINUTE, admin);
    evs.push(group_add(
        grant.at,
        admin,
        &logon,
        world.person(grant.target),
        DOMAIN_ADMINS,
    ));
    let cleared = &plan.audit_log_cleared;
    let admin = world.person(cleared.who);
    let logon = admin_session(rng, &mut evs, cleared.at - 6 * MINUTE, admin);
    evs.push(Ev {
        at: cleared.at,
        kind: Kind::LogCleared,
        data: vec![
            ("SubjectDomainName", DOMAIN.to_owned()),
            ("SubjectLogonId", logon),
            ("SubjectUserName", admin.login.clone()),
            ("SubjectUserSid", sid(1100 + admin.index)),
            ("xml_name", "LogFileCleared".to_owned()),
        ],
    });

    // The forwarder broke: what the DC logged afterwards never arrives.
    evs.retain(|e| e.at < plan.dc_silent_from);
    evs.sort_by_key(|e| e.at);
    evs.iter()
        .enumerate()
        .map(|(i, e)| render(rng, e, FIRST_RECORD_ID + i as i64))
        .collect()
}

/// A domain account as the events name it.
struct Account {
    /// `sAMAccountName`: `alice.nguyen`, `NW-LT-0042$`, `svc-backup`.
    name: String,
    sid: String,
    /// What a 4672 lists when the account logs on; `None` for ordinary accounts.
    privileges: Option<&'static str>,
}

impl Account {
    fn person(p: &Person) -> Self {
        Account {
            name: p.login.clone(),
            sid: sid(1100 + p.index),
            privileges: admin(p).then_some(ADMIN_PRIVILEGES),
        }
    }
}

/// Whether `p` is a member of Domain Admins (IT and security staff).
fn admin(p: &Person) -> bool {
    matches!(p.dept, Dept::It | Dept::Security)
}

/// One event before rendering: its time, its id and its `event_data` (keys sorted).
struct Ev {
    at: i64,
    kind: Kind,
    data: Vec<(&'static str, String)>,
}

#[derive(Clone, Copy)]
enum Kind {
    Logon,
    LogonFailed,
    SpecialLogon,
    GroupMemberAdded,
    LogCleared,
}

impl Kind {
    fn id(self) -> i64 {
        match self {
            Kind::Logon => 4624,
            Kind::LogonFailed => 4625,
            Kind::SpecialLogon => 4672,
            Kind::GroupMemberAdded => 4728,
            Kind::LogCleared => 1102,
        }
    }

    /// `event.action`, `event.outcome`, `winlog.task`, the first line of the message.
    fn describe(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Kind::Logon => (
                "logged-in",
                "success",
                "Logon",
                "An account was successfully logged on.",
            ),
            Kind::LogonFailed => (
                "logon-failed",
                "failure",
                "Logon",
                "An account failed to log on.",
            ),
            Kind::SpecialLogon => (
                "logged-in-special",
                "success",
                "Special Logon",
                "Special privileges assigned to new logon.",
            ),
            Kind::GroupMemberAdded => (
                "added-member-to-group",
                "success",
                "Security Group Management",
                "A member was added to a security-enabled global group.",
            ),
            Kind::LogCleared => (
                "audit-log-cleared",
                "success",
                "Log clear",
                "The audit log was cleared.",
            ),
        }
    }

    /// `winlog.provider_name` and `winlog.provider_guid`: 1102 comes from the event log
    /// service itself, everything else from the auditing subsystem.
    fn provider(self) -> (&'static str, &'static str) {
        match self {
            Kind::LogCleared => (
                "Microsoft-Windows-Eventlog",
                "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}",
            ),
            _ => (
                "Microsoft-Windows-Security-Auditing",
                "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            ),
        }
    }
}

/// A Kerberos network logon (type 3) from `ip`, plus a 4672 for a privileged account.
fn network_logon(
    rng: &mut StdRng,
    out: &mut Vec<Ev>,
    at: i64,
    account: &Account,
    ip: &str,
    port: u16,
) -> String {
    let logon_id = logon_id(rng);
    out.push(Ev {
        at,
        kind: Kind::Logon,
        data: vec![
            ("AuthenticationPackageName", "Kerberos".to_owned()),
            ("ElevatedToken", elevated(account)),
            ("ImpersonationLevel", "%%1833".to_owned()),
            ("IpAddress", ip.to_owned()),
            ("IpPort", port.to_string()),
            ("KeyLength", "0".to_owned()),
            ("LmPackageName", "-".to_owned()),
            ("LogonGuid", format!("{{{}}}", dice::uuid(rng))),
            ("LogonProcessName", "Kerberos".to_owned()),
            ("LogonType", "3".to_owned()),
            ("ProcessId", "0x0".to_owned()),
            ("ProcessName", "-".to_owned()),
            ("SubjectDomainName", "-".to_owned()),
            ("SubjectLogonId", "0x0".to_owned()),
            ("SubjectUserName", "-".to_owned()),
            ("SubjectUserSid", "S-1-0-0".to_owned()),
            ("TargetDomainName", DOMAIN.to_owned()),
            ("TargetLogonId", logon_id.clone()),
            ("TargetUserName", account.name.clone()),
            ("TargetUserSid", account.sid.clone()),
            ("WorkstationName", "-".to_owned()),
        ],
    });
    special(out, at, account, &logon_id);
    logon_id
}

/// A console (type 2) or RDP (type 10) session on the DC by administrator `p`; returns its
/// logon id.
fn admin_session(rng: &mut StdRng, out: &mut Vec<Ev>, at: i64, p: &Person) -> String {
    let account = Account::person(p);
    let logon_id = logon_id(rng);
    let (logon_type, ip) = if rng.random_bool(0.7) {
        ("10", p.vpn_ip.as_str())
    } else {
        ("2", LOCALHOST)
    };
    out.push(Ev {
        at,
        kind: Kind::Logon,
        data: vec![
            ("AuthenticationPackageName", "Negotiate".to_owned()),
            ("ElevatedToken", elevated(&account)),
            ("ImpersonationLevel", "%%1833".to_owned()),
            ("IpAddress", ip.to_owned()),
            ("IpPort", "0".to_owned()),
            ("KeyLength", "0".to_owned()),
            ("LmPackageName", "-".to_owned()),
            ("LogonGuid", format!("{{{}}}", dice::uuid(rng))),
            ("LogonProcessName", "User32 ".to_owned()),
            ("LogonType", logon_type.to_owned()),
            ("ProcessId", "0x2c8".to_owned()),
            (
                "ProcessName",
                "C:\\Windows\\System32\\svchost.exe".to_owned(),
            ),
            ("SubjectDomainName", DOMAIN.to_owned()),
            ("SubjectLogonId", "0x3e7".to_owned()),
            ("SubjectUserName", format!("{DC_SHORT}$")),
            ("SubjectUserSid", "S-1-5-18".to_owned()),
            ("TargetDomainName", DOMAIN.to_owned()),
            ("TargetLogonId", logon_id.clone()),
            ("TargetUserName", account.name.clone()),
            ("TargetUserSid", account.sid.clone()),
            ("WorkstationName", DC_SHORT.to_owned()),
        ],
    });
    special(out, at, &account, &logon_id);
    logon_id
}

/// The 4672 Windows writes beside a privileged account's 4624.
fn special(out: &mut Vec<Ev>, at: i64, account: &Account, logon_id: &str) {
    if let Some(privileges) = account.privileges {
        out.push(Ev {
            at,
            kind: Kind::SpecialLogon,
            data: vec![
                ("PrivilegeList", privileges.to_owned()),
                ("SubjectDomainName", DOMAIN.to_owned()),
                ("SubjectLogonId", logon_id.to_owned()),
                ("SubjectUserName", account.name.clone()),
                ("SubjectUserSid", account.sid.clone()),
            ],
        });
    }
}

/// A wrong password over NTLM (4625, status "bad user name or password", sub-status "bad
/// password").
fn failed_logon(at: i64, account: &Account, ip: &str, port: u16, workstation: &str) -> Ev {
    Ev {
        at,
        kind: Kind::LogonFailed,
        data: vec![
            ("AuthenticationPackageName", "NTLM".to_owned()),
            ("FailureReason", "%%2313".to_owned()),
            ("IpAddress", ip.to_owned()),
            ("IpPort", port.to_string()),
            ("KeyLength", "0".to_owned()),
            ("LmPackageName", "-".to_owned()),
            ("LogonProcessName", "NtLmSsp ".to_owned()),
            ("LogonType", "3".to_owned()),
            ("ProcessId", "0x0".to_owned()),
            ("ProcessName", "-".to_owned()),
            ("Status", "0xc000006d".to_owned()),
            ("SubStatus", "0xc000006a".to_owned()),
            ("SubjectDomainName", "-".to_owned()),
            ("SubjectLogonId", "0x0".to_owned()),
            ("SubjectUserName", "-".to_owned()),
            ("SubjectUserSid", "S-1-0-0".to_owned()),
            ("TargetDomainName", DOMAIN.to_owned()),
            ("TargetUserName", account.name.clone()),
            ("TargetUserSid", "S-1-0-0".to_owned()),
            ("TransmittedServices", "-".to_owned()),
            ("WorkstationName", workstation.to_owned()),
        ],
    }
}

/// 4728: `admin`, logged on as `logon`, added `member` to the global group `group`.
fn group_add(at: i64, admin: &Person, logon: &str, member: &Person, group: (&str, u32)) -> Ev {
    let (group, rid) = group;
    Ev {
        at,
        kind: Kind::GroupMemberAdded,
        data: vec![
            ("MemberName", distinguished_name(member)),
            ("MemberSid", sid(1100 + member.index)),
            ("PrivilegeList", "-".to_owned()),
            ("SubjectDomainName", DOMAIN.to_owned()),
            ("SubjectLogonId", logon.to_owned()),
            ("SubjectUserName", admin.login.clone()),
            ("SubjectUserSid", sid(1100 + admin.index)),
            ("TargetDomainName", DOMAIN.to_owned()),
            ("TargetSid", sid(rid as usize)),
            ("TargetUserName", group.to_owned()),
        ],
    }
}

/// The event as winlogbeat 8 writes it (keys sorted at every level).
fn render(rng: &mut StdRng, e: &Ev, record_id: i64) -> Rec {
    let (action, outcome, task, message) = e.kind.describe();
    let (provider, guid) = e.kind.provider();
    let code = e.kind.id().to_string();
    let thread = rng.random_range(700..9000);
    let data = |o: &mut Obj<'_>| {
        for (k, v) in &e.data {
            o.str(k, v);
        }
    };
    let bytes = json::object(|o| {
        o.str("@timestamp", &clock::iso_millis(e.at))
            .obj("agent", |o| {
                o.str("hostname", DC_SHORT)
                    .str("type", "winlogbeat")
                    .str("version", "8.15.3");
            })
            .obj("ecs", |o| {
                o.str("version", "8.0.0");
            })
            .obj("event", |o| {
                o.str("action", action)
                    .str("code", &code)
                    .str("created", &clock::iso_millis(e.at + 700))
                    .str("kind", "event")
                    .str("outcome", outcome)
                    .str("provider", provider);
            })
            .obj("host", |o| {
                o.str("name", DC);
            })
            .obj("log", |o| {
                o.str("level", "information");
            })
            .str("message", message)
            .obj("winlog", |o| {
                o.str("api", "wineventlog")
                    .str("channel", "Security")
                    .str("computer_name", DC);
                match e.kind {
                    Kind::LogCleared => o.obj("user_data", data),
                    _ => o.obj("event_data", data),
                };
                o.int("event_id", e.kind.id())
                    .arr("keywords", |a| {
                        a.str(match e.kind {
                            Kind::LogonFailed => "Audit Failure",
                            _ => "Audit Success",
                        });
                    })
                    .str("opcode", "Info")
                    .obj("process", |o| {
                        o.int("pid", LSASS_PID).obj("thread", |o| {
                            o.int("id", thread);
                        });
                    })
                    .str("provider_guid", guid)
                    .str("provider_name", provider)
                    .int("record_id", record_id)
                    .str("task", task);
            });
    });
    Rec::new(e.at, bytes)
}

/// `S-1-5-21-…-rid` in the NORTHWIND domain.
fn sid(rid: usize) -> String {
    format!("{DOMAIN_SID}-{rid}")
}

/// `CN=Alice Nguyen,OU=Engineering,OU=Staff,DC=northwind,DC=example`.
fn distinguished_name(p: &Person) -> String {
    format!(
        "CN={},OU={},OU=Staff,DC=northwind,DC=example",
        p.name,
        p.dept.group()
    )
}

/// The laptop of roster member `p`.
fn workstation(p: &Person) -> String {
    format!("NW-LT-{:04}", p.index % 10_000)
}

/// `%%1842` (yes) for an administrator's elevated token, `%%1843` (no) otherwise.
fn elevated(account: &Account) -> String {
    if account.privileges.is_some() {
        "%%1842"
    } else {
        "%%1843"
    }
    .to_owned()
}

fn logon_id(rng: &mut StdRng) -> String {
    format!("0x{:x}", rng.random_range(0x10_0000_u32..0x0fff_ffff))
}

/// A client port from Windows' dynamic range.
fn windows_port(rng: &mut StdRng) -> u16 {
    rng.random_range(49_152..65_535)
}
