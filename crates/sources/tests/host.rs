//! Host, database and Windows formats: syslog, auth.log, auditd, netfilter, Windows Security,
//! pgaudit and MySQL audit. Golden tests over the fixtures in `tests/fixtures/<format>/`
//! (written from the vendors' documentation and the demo generator's shapes), detection,
//! and the exact error messages for malformed records.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use std::path::PathBuf;

use evident_model::{Class, Format};
use evident_sources::{ParseContext, Parser, detect};
use serde_json::{Map, Value, json};

/// 2026-11-26T10:00:00Z, in ns: the receive time of every fixture.
const RECEIVED_NS: u64 = 1_795_687_200_000_000_000;

/// The formats this file covers.
const MINE: [Format; 7] = [
    Format::Syslog,
    Format::AuthLog,
    Format::Auditd,
    Format::Netfilter,
    Format::WindowsSecurity,
    Format::PgAudit,
    Format::MysqlAudit,
];

fn ctx() -> ParseContext<'static> {
    ParseContext::new("host-test", RECEIVED_NS)
}

fn fixture(path: &str) -> Vec<String> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(path);
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_one(format: Format, line: &str) -> evident_sources::Event {
    let mut events = Parser::new(format)
        .parse(line.as_bytes(), &ctx())
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(events.len(), 1, "{line}");
    events.remove(0)
}

fn error(format: Format, record: &[u8]) -> String {
    Parser::new(format)
        .parse(record, &ctx())
        .unwrap_err()
        .to_string()
}

/// The event without what is derived from the ids (`class_name`, `category_*`,
/// `activity_name`, `type_name`, `severity`, `status` captions), `raw_data`, `unmapped` and
/// `metadata.{version,evident}`: what is left is exactly what the parser decided.
fn trimmed(e: &evident_sources::Event) -> Value {
    let mut m: Map<String, Value> = e.to_json();
    for k in [
        "class_name",
        "category_uid",
        "category_name",
        "activity_name",
        "type_name",
        "severity",
        "status",
        "raw_data",
        "unmapped",
    ] {
        m.remove(k);
    }
    if let Some(Value::Object(meta)) = m.get_mut("metadata") {
        meta.remove("version");
        meta.remove("evident");
    }
    Value::Object(m)
}

/// Every line of `file` is detected as `format` and parses to exactly the expected event,
/// with the derived attributes consistent and `raw_data` the line.
fn check(format: Format, file: &str, expected: &[Value]) {
    let lines = fixture(file);
    assert_eq!(lines.len(), expected.len(), "{file}: line count");
    for (line, want) in lines.iter().zip(expected) {
        assert_eq!(detect(line.as_bytes()), Some(format), "{line}");
        let e = parse_one(format, line);
        assert_eq!(trimmed(&e), *want, "{line}");
        let class = e.class().unwrap();
        assert_ne!(class, Class::BaseEvent);
        assert_eq!(e.get_str("class_name"), Some(class.name()));
        assert_eq!(e.get_str("metadata.evident.format"), Some(format.as_str()));
        assert_eq!(e.get_str("raw_data"), Some(line.as_str()));
        assert!(e.get("unmapped").is_some_and(Value::is_object), "{line}");
    }
}

#[test]
fn syslog_lines_become_event_log_activity() {
    check(
        Format::Syslog,
        "syslog/messages.log",
        &syslog_log_expected(),
    );
}

#[test]
fn authlog_lines_map_logons_sudo_and_account_changes() {
    check(Format::AuthLog, "authlog/auth.log", &authlog_log_expected());
}

#[test]
fn auditd_records_map_by_type() {
    check(Format::Auditd, "auditd/audit.log", &auditd_log_expected());
}

#[test]
fn netfilter_lines_become_network_activity() {
    check(
        Format::Netfilter,
        "netfilter/kern.log",
        &netfilter_log_expected(),
    );
}

#[test]
fn winlogbeat_events_map_by_event_id() {
    check(
        Format::WindowsSecurity,
        "windows-security/winlogbeat.jsonl",
        &windows_security_jsonl_expected(),
    );
}

#[test]
fn windows_event_xml_maps_like_winlogbeat() {
    check(
        Format::WindowsSecurity,
        "windows-security/events.xml",
        &windows_security_xml_expected(),
    );
}

#[test]
fn pgaudit_and_server_lines_map_to_datastore_authentication_and_roles() {
    check(
        Format::PgAudit,
        "pgaudit/postgresql.log",
        &pgaudit_log_expected(),
    );
}

#[test]
fn mysql_and_percona_audit_records() {
    check(
        Format::MysqlAudit,
        "mysql-audit/audit.jsonl",
        &mysql_audit_jsonl_expected(),
    );
}

fn syslog_log_expected() -> Vec<Value> {
    vec![
        json!({"activity_id": 99, "actor": {"process": {"name": "evntslog", "pid": 4123}}, "class_uid": 1008, "device": {"hostname": "mymachine.example.com"}, "log_provider": "evntslog", "message": "An application event log entry", "metadata": {"product": {"name": "evntslog"}}, "severity_id": 2, "time": 1795687200123i64, "type_uid": 100899}),
        json!({"activity_id": 99, "actor": {"process": {"name": "myapp"}}, "class_uid": 1008, "device": {"hostname": "host1"}, "log_provider": "myapp", "message": "starting", "metadata": {"product": {"name": "myapp"}}, "severity_id": 1, "time": 1795683540000i64, "type_uid": 100899}),
        json!({"activity_id": 99, "actor": {"process": {"name": "nginx", "pid": 812}}, "class_uid": 1008, "device": {"hostname": "web-1"}, "log_provider": "nginx", "message": "worker process 815 exited with code 0", "metadata": {"product": {"name": "nginx"}}, "severity_id": 2, "time": 1795687110000i64, "type_uid": 100899}),
        json!({"activity_id": 99, "actor": {"process": {"name": "CRON", "pid": 4431}}, "class_uid": 1008, "device": {"hostname": "web-1"}, "log_provider": "CRON", "message": "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)", "metadata": {"product": {"name": "CRON"}}, "severity_id": 1, "time": 1795687021000i64, "type_uid": 100899}),
        json!({"activity_id": 99, "actor": {"process": {"name": "systemd", "pid": 1}}, "class_uid": 1008, "device": {"hostname": "db-1"}, "log_provider": "systemd", "message": "Started Daily apt upgrade and clean activities.", "metadata": {"product": {"name": "systemd"}}, "severity_id": 1, "time": 1793692800000i64, "type_uid": 100899}),
        json!({"activity_id": 99, "actor": {"process": {"name": "dockerd", "pid": 990}}, "class_uid": 1008, "device": {"hostname": "web-2"}, "log_provider": "dockerd", "message": "time=\"2026-11-26T09:55:00Z\" level=info msg=\"Container started\"", "metadata": {"product": {"name": "dockerd"}}, "severity_id": 1, "time": 1795686900123i64, "type_uid": 100899}),
        json!({"activity_id": 99, "actor": {"process": {"name": "kernel"}}, "class_uid": 1008, "device": {"hostname": "web-1"}, "log_provider": "kernel", "message": "Out of memory: Killed process 1234 (java)", "metadata": {"product": {"name": "kernel"}}, "severity_id": 4, "time": 1795686600000i64, "type_uid": 100899}),
        json!({"activity_id": 99, "actor": {"process": {"name": "app"}}, "class_uid": 1008, "device": {"hostname": "web-1"}, "log_provider": "app", "message": "year end", "metadata": {"product": {"name": "app"}}, "severity_id": 5, "time": 1767225599000i64, "type_uid": 100899}),
    ]
}

fn authlog_log_expected() -> Vec<Value> {
    vec![
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 48213}}, "auth_protocol": "publickey", "auth_protocol_id": 99, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "Accepted publickey for grace from 10.8.0.14 port 51522 ssh2: ED25519 SHA256:pF2kqAVbOQ6cRyAnc1OEc1iLtrkA6u4yDNBDqZ0Yh4Y", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "10.8.0.14", "port": 51522}, "status_id": 1, "time": 1795684447000i64, "type_uid": 300201, "user": {"name": "grace"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 48213}, "user": {"uid": "0"}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "pam_unix(sshd:session): session opened for user grace(uid=1004) by (uid=0)", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "status_id": 1, "time": 1795684447000i64, "type_uid": 300201, "user": {"name": "grace", "uid": "1004"}}),
        json!({"activity_id": 99, "actor": {"process": {"name": "systemd-logind", "pid": 612}}, "class_uid": 1008, "device": {"hostname": "bastion-1"}, "log_provider": "systemd-logind", "message": "New session 311 of user grace.", "metadata": {"product": {"name": "systemd-logind"}}, "severity_id": 1, "time": 1795684447000i64, "type_uid": 100899}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sudo", "pid": 20117}, "user": {"name": "grace"}}, "class_uid": 1007, "device": {"hostname": "app-1"}, "message": "   grace : TTY=pts/1 ; PWD=/home/grace ; USER=root ; COMMAND=/usr/bin/systemctl restart platform-api", "metadata": {"product": {"name": "sudo"}}, "process": {"cmd_line": "/usr/bin/systemctl restart platform-api", "file": {"path": "/usr/bin/systemctl"}, "name": "systemctl", "user": {"name": "root"}, "working_directory": "/home/grace"}, "severity_id": 2, "status_id": 1, "time": 1795684600000i64, "type_uid": 100701}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sudo", "pid": 20117}, "user": {"name": "grace", "uid": "1004"}}, "class_uid": 3002, "device": {"hostname": "app-1"}, "dst_endpoint": {"hostname": "app-1"}, "message": "pam_unix(sudo:session): session opened for user root(uid=0) by grace(uid=1004)", "metadata": {"product": {"name": "sudo"}}, "service": {"name": "sudo"}, "severity_id": 1, "status_id": 1, "time": 1795684600000i64, "type_uid": 300201, "user": {"name": "root", "uid": "0"}}),
        json!({"activity_id": 2, "actor": {"process": {"name": "sudo", "pid": 20117}}, "class_uid": 3002, "device": {"hostname": "app-1"}, "dst_endpoint": {"hostname": "app-1"}, "message": "pam_unix(sudo:session): session closed for user root", "metadata": {"product": {"name": "sudo"}}, "service": {"name": "sudo"}, "severity_id": 1, "status_id": 1, "time": 1795684612000i64, "type_uid": 300202, "user": {"name": "root"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sudo", "pid": 20190}, "user": {"name": "mallory"}}, "class_uid": 1007, "device": {"hostname": "app-1"}, "message": " mallory : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/mallory ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow", "metadata": {"product": {"name": "sudo"}}, "process": {"cmd_line": "/usr/bin/cat /etc/shadow", "file": {"path": "/usr/bin/cat"}, "name": "cat", "user": {"name": "root"}, "working_directory": "/home/mallory"}, "severity_id": 5, "status_detail": "user NOT in sudoers", "status_id": 2, "time": 1795684800000i64, "type_uid": 100701}),
        json!({"activity_id": 99, "actor": {"process": {"name": "sshd", "pid": 48213}}, "class_uid": 1008, "device": {"hostname": "bastion-1"}, "log_provider": "sshd", "message": "Received disconnect from 10.8.0.14 port 51522:11: disconnected by user", "metadata": {"product": {"name": "sshd"}}, "severity_id": 1, "time": 1795686000000i64, "type_uid": 100899}),
        json!({"activity_id": 2, "actor": {"process": {"name": "sshd", "pid": 48213}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "Disconnected from user grace 10.8.0.14 port 51522", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "10.8.0.14", "port": 51522}, "status_id": 1, "time": 1795686000000i64, "type_uid": 300202, "user": {"name": "grace"}}),
        json!({"activity_id": 2, "actor": {"process": {"name": "sshd", "pid": 48213}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "pam_unix(sshd:session): session closed for user grace", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "status_id": 1, "time": 1795686000000i64, "type_uid": 300202, "user": {"name": "grace"}}),
        json!({"activity_id": 99, "actor": {"process": {"name": "systemd-logind", "pid": 612}}, "class_uid": 1008, "device": {"hostname": "bastion-1"}, "log_provider": "systemd-logind", "message": "Session 311 logged out. Waiting for processes to exit.", "metadata": {"product": {"name": "systemd-logind"}}, "severity_id": 1, "time": 1795686000000i64, "type_uid": 100899}),
        json!({"activity_id": 99, "actor": {"process": {"name": "sshd", "pid": 77120}}, "class_uid": 1008, "device": {"hostname": "bastion-1"}, "log_provider": "sshd", "message": "error: kex_exchange_identification: Connection closed by remote host", "metadata": {"product": {"name": "sshd"}}, "severity_id": 4, "time": 1795662765000i64, "type_uid": 100899}),
        json!({"activity_id": 99, "actor": {"process": {"name": "sshd", "pid": 77120}}, "class_uid": 1008, "device": {"hostname": "bastion-1"}, "log_provider": "sshd", "message": "Connection closed by 198.51.100.23 port 40112", "metadata": {"product": {"name": "sshd"}}, "severity_id": 1, "time": 1795662765000i64, "type_uid": 100899}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 77201}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "message": "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.23  user=root", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 2, "src_endpoint": {"ip": "198.51.100.23"}, "status_detail": "authentication failure", "status_id": 2, "time": 1795662780000i64, "type_uid": 300201, "user": {"name": "root"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 77201}}, "auth_protocol": "password", "auth_protocol_id": 99, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "Failed password for root from 198.51.100.23 port 40230 ssh2", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "198.51.100.23", "port": 40230}, "status_detail": "Failed password", "status_id": 2, "time": 1795662782000i64, "type_uid": 300201, "user": {"name": "root"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 77201}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "Connection closed by authenticating user root 198.51.100.23 port 40230 [preauth]", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "198.51.100.23", "port": 40230}, "status_detail": "Connection closed by authenticating user", "status_id": 2, "time": 1795662782000i64, "type_uid": 300201, "user": {"name": "root"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 77305}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "Invalid user oracle from 198.51.100.23 port 40388", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "198.51.100.23", "port": 40388}, "status_detail": "Invalid user", "status_id": 2, "time": 1795662850000i64, "type_uid": 300201, "user": {"name": "oracle"}}),
        json!({"activity_id": 99, "actor": {"process": {"name": "sshd", "pid": 77305}}, "class_uid": 1008, "device": {"hostname": "bastion-1"}, "log_provider": "sshd", "message": "pam_unix(sshd:auth): check pass; user unknown", "metadata": {"product": {"name": "sshd"}}, "severity_id": 2, "time": 1795662850000i64, "type_uid": 100899}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 77305}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "message": "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.23", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 2, "src_endpoint": {"ip": "198.51.100.23"}, "status_detail": "authentication failure", "status_id": 2, "time": 1795662850000i64, "type_uid": 300201}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 77305}}, "auth_protocol": "password", "auth_protocol_id": 99, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "Failed password for invalid user oracle from 198.51.100.23 port 40388 ssh2", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "198.51.100.23", "port": 40388}, "status_detail": "Failed password", "status_id": 2, "time": 1795662852000i64, "type_uid": 300201, "user": {"name": "oracle"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 77305}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "Connection closed by invalid user oracle 198.51.100.23 port 40388 [preauth]", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "198.51.100.23", "port": 40388}, "status_detail": "Connection closed by invalid user", "status_id": 2, "time": 1795662852000i64, "type_uid": 300201, "user": {"name": "oracle"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "CRON", "pid": 30551}, "user": {"uid": "0"}}, "class_uid": 3002, "device": {"hostname": "app-2"}, "dst_endpoint": {"hostname": "app-2"}, "logon_type": "Batch", "logon_type_id": 4, "message": "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)", "metadata": {"product": {"name": "CRON"}}, "service": {"name": "cron"}, "severity_id": 1, "status_id": 1, "time": 1795684621000i64, "type_uid": 300201, "user": {"name": "root", "uid": "0"}}),
        json!({"activity_id": 2, "actor": {"process": {"name": "CRON", "pid": 30551}}, "class_uid": 3002, "device": {"hostname": "app-2"}, "dst_endpoint": {"hostname": "app-2"}, "logon_type": "Batch", "logon_type_id": 4, "message": "pam_unix(cron:session): session closed for user root", "metadata": {"product": {"name": "CRON"}}, "service": {"name": "cron"}, "severity_id": 1, "status_id": 1, "time": 1795684621000i64, "type_uid": 300202, "user": {"name": "root"}}),
        json!({"activity_id": 3, "actor": {"process": {"name": "usermod", "pid": 41210}}, "class_uid": 3006, "device": {"hostname": "app-1"}, "group": {"name": "docker"}, "message": "add 'grace' to group 'docker'", "metadata": {"product": {"name": "usermod"}}, "severity_id": 1, "status_id": 1, "time": 1795690953000i64, "type_uid": 300603, "user": {"name": "grace"}}),
        json!({"activity_id": 99, "actor": {"process": {"name": "usermod", "pid": 41210}}, "class_uid": 1008, "device": {"hostname": "app-1"}, "log_provider": "usermod", "message": "add 'grace' to shadow group 'docker'", "metadata": {"product": {"name": "usermod"}}, "severity_id": 1, "time": 1795690953000i64, "type_uid": 100899}),
        json!({"activity_id": 6, "actor": {"process": {"name": "useradd", "pid": 41300}}, "class_uid": 3006, "device": {"hostname": "app-1"}, "group": {"name": "bob", "uid": "1005"}, "message": "new group: name=bob, GID=1005", "metadata": {"product": {"name": "useradd"}}, "severity_id": 1, "status_id": 1, "time": 1795691100000i64, "type_uid": 300606}),
        json!({"activity_id": 1, "actor": {"process": {"name": "useradd", "pid": 41300}}, "class_uid": 3001, "device": {"hostname": "app-1"}, "message": "new user: name=bob, UID=1005, GID=1005, home=/home/bob, shell=/bin/bash, from=/dev/pts/1", "metadata": {"product": {"name": "useradd"}}, "severity_id": 1, "status_id": 1, "time": 1795691100000i64, "type_uid": 300101, "user": {"name": "bob", "uid": "1005"}}),
        json!({"activity_id": 3, "actor": {"process": {"name": "gpasswd", "pid": 41321}, "user": {"name": "root"}}, "class_uid": 3006, "device": {"hostname": "app-1"}, "group": {"name": "sudo"}, "message": "user bob added by root to group sudo", "metadata": {"product": {"name": "gpasswd"}}, "severity_id": 1, "status_id": 1, "time": 1795691160000i64, "type_uid": 300603, "user": {"name": "bob"}}),
        json!({"activity_id": 3, "actor": {"process": {"name": "passwd", "pid": 41330}}, "class_uid": 3001, "device": {"hostname": "app-1"}, "message": "pam_unix(passwd:chauthtok): password changed for bob", "metadata": {"product": {"name": "passwd"}}, "severity_id": 1, "status_id": 1, "time": 1795691220000i64, "type_uid": 300103, "user": {"name": "bob"}}),
        json!({"activity_id": 6, "actor": {"process": {"name": "groupadd", "pid": 41340}}, "class_uid": 3006, "device": {"hostname": "app-1"}, "group": {"name": "devs", "uid": "1006"}, "message": "new group: name=devs, GID=1006", "metadata": {"product": {"name": "groupadd"}}, "severity_id": 1, "status_id": 1, "time": 1795691280000i64, "type_uid": 300606}),
        json!({"activity_id": 6, "actor": {"process": {"name": "userdel", "pid": 41350}}, "class_uid": 3001, "device": {"hostname": "app-1"}, "message": "delete user 'carol'", "metadata": {"product": {"name": "userdel"}}, "severity_id": 1, "status_id": 1, "time": 1795691340000i64, "type_uid": 300106, "user": {"name": "carol"}}),
        json!({"activity_id": 3, "actor": {"process": {"name": "usermod", "pid": 41360}}, "class_uid": 3001, "device": {"hostname": "app-1"}, "message": "change user 'bob' password", "metadata": {"product": {"name": "usermod"}}, "severity_id": 1, "status_id": 1, "time": 1795691400000i64, "type_uid": 300103, "user": {"name": "bob"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sudo", "pid": 41370}, "user": {"name": "bob"}}, "class_uid": 1007, "device": {"hostname": "app-1"}, "message": "     bob : 3 incorrect password attempts ; TTY=pts/2 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id", "metadata": {"product": {"name": "sudo"}}, "process": {"cmd_line": "/usr/bin/id", "file": {"path": "/usr/bin/id"}, "name": "id", "user": {"name": "root"}, "working_directory": "/home/bob"}, "severity_id": 1, "status_detail": "3 incorrect password attempts", "status_id": 2, "time": 1795691460000i64, "type_uid": 100701}),
        json!({"activity_id": 5, "actor": {"process": {"name": "su", "pid": 41380}, "user": {"name": "grace"}}, "class_uid": 1007, "device": {"hostname": "app-1"}, "message": "(to root) grace on pts/1", "metadata": {"product": {"name": "su"}}, "process": {"user": {"name": "root"}}, "severity_id": 1, "status_id": 1, "time": 1795691520000i64, "type_uid": 100705}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 41390}}, "auth_protocol": "password", "auth_protocol_id": 99, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "Accepted password for deploy from 2001:db8::7 port 60222 ssh2", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "2001:db8::7", "port": 60222}, "status_id": 1, "time": 1795691550000i64, "type_uid": 300201, "user": {"name": "deploy"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 41391}}, "auth_protocol": "password", "auth_protocol_id": 99, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "message repeated 2 times: [ Failed password for root from 203.0.113.77 port 41000 ssh2]", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "203.0.113.77", "port": 41000}, "status_detail": "Failed password", "status_id": 2, "time": 1795691580000i64, "type_uid": 300201, "user": {"name": "root"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd", "pid": 41391}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "dst_endpoint": {"hostname": "bastion-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "error: maximum authentication attempts exceeded for root from 203.0.113.77 port 41000 ssh2 [preauth]", "metadata": {"product": {"name": "sshd"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "203.0.113.77", "port": 41000}, "status_detail": "maximum authentication attempts exceeded", "status_id": 2, "time": 1795691610000i64, "type_uid": 300201, "user": {"name": "root"}}),
        json!({"activity_id": 9, "actor": {"process": {"name": "usermod", "pid": 41400}}, "class_uid": 3001, "device": {"hostname": "app-1"}, "message": "lock user 'carol' password", "metadata": {"product": {"name": "usermod"}}, "severity_id": 1, "status_id": 1, "time": 1795691640000i64, "type_uid": 300109, "user": {"name": "carol"}}),
        json!({"activity_id": 1, "actor": {"process": {"name": "sshd-session", "pid": 5050}}, "auth_protocol": "publickey", "auth_protocol_id": 99, "class_uid": 3002, "device": {"hostname": "app-1"}, "dst_endpoint": {"hostname": "app-1"}, "is_remote": true, "logon_type": "Remote Interactive", "logon_type_id": 10, "message": "Accepted publickey for grace from 10.8.0.14 port 50000 ssh2: RSA SHA256:2Ofq8mSGhC5sZ0tHkE0V0H1p5mAZ1yM3Uq7ZmCqYpWQ", "metadata": {"product": {"name": "sshd-session"}}, "service": {"name": "sshd"}, "severity_id": 1, "src_endpoint": {"ip": "10.8.0.14", "port": 50000}, "status_id": 1, "time": 1795691700000i64, "type_uid": 300201, "user": {"name": "grace"}}),
    ]
}

fn auditd_log_expected() -> Vec<Value> {
    vec![
        json!({"activity_id": 1, "actor": {"session": {"uid": "311"}, "user": {"uid": "1004"}}, "class_uid": 1007, "metadata": {"correlation_uid": "1795687200.123:4711", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "process": {"file": {"path": "/usr/bin/systemctl"}, "name": "systemctl", "parent_process": {"pid": 2100}, "pid": 2155, "user": {"uid": "0"}}, "severity_id": 1, "status_id": 1, "time": 1795687200123i64, "type_uid": 100701}),
        json!({"activity_id": 1, "class_uid": 1007, "metadata": {"correlation_uid": "1795687200.123:4711", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "process": {"cmd_line": "systemctl restart platform-api now"}, "severity_id": 1, "time": 1795687200123i64, "type_uid": 100701}),
        json!({"activity_id": 99, "class_uid": 1007, "metadata": {"correlation_uid": "1795687200.123:4711", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "process": {"cmd_line": "systemctl restart platform-api"}, "severity_id": 1, "time": 1795687200123i64, "type_uid": 100799}),
        json!({"activity_id": 1, "actor": {"process": {"file": {"path": "/usr/sbin/sshd"}, "pid": 77201}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "message": "USER_LOGIN login", "metadata": {"correlation_uid": "1795687300.000:4800", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "src_endpoint": {"ip": "198.51.100.23"}, "status_id": 2, "time": 1795687300000i64, "type_uid": 300201, "user": {"name": "root"}}),
        json!({"activity_id": 1, "actor": {"process": {"file": {"path": "/usr/bin/sudo"}, "pid": 20117}, "session": {"uid": "311"}, "user": {"uid": "1004"}}, "class_uid": 3002, "message": "USER_AUTH PAM:authentication", "metadata": {"correlation_uid": "1795687400.500:4900", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "status_id": 1, "time": 1795687400500i64, "type_uid": 300201, "user": {"name": "grace"}}),
        json!({"activity_id": 1, "actor": {"process": {"file": {"path": "/usr/bin/sudo"}, "pid": 20117}, "session": {"uid": "311"}, "user": {"uid": "1004"}}, "class_uid": 1007, "metadata": {"correlation_uid": "1795687400.600:4901", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "process": {"cmd_line": "systemctl restart platform-api", "working_directory": "/home/grace"}, "severity_id": 1, "status_id": 1, "time": 1795687400600i64, "type_uid": 100701}),
        json!({"activity_id": 1, "actor": {"process": {"file": {"path": "/usr/sbin/useradd"}, "pid": 41300}, "session": {"uid": "311"}, "user": {"uid": "1004"}}, "class_uid": 3001, "message": "ADD_USER add-user", "metadata": {"correlation_uid": "1795687500.000:5000", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "status_id": 1, "time": 1795687500000i64, "type_uid": 300101, "user": {"name": "bob", "uid": "1005"}}),
        json!({"activity_id": 6, "actor": {"process": {"file": {"path": "/usr/sbin/useradd"}, "pid": 41300}, "session": {"uid": "311"}, "user": {"uid": "1004"}}, "class_uid": 3006, "group": {"name": "bob", "uid": "1005"}, "message": "ADD_GROUP add-group", "metadata": {"correlation_uid": "1795687500.000:5001", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "status_id": 1, "time": 1795687500000i64, "type_uid": 300606}),
        json!({"activity_id": 3, "actor": {"process": {"file": {"path": "/usr/sbin/usermod"}, "pid": 41210}, "session": {"uid": "311"}, "user": {"uid": "1004"}}, "class_uid": 3006, "group": {"name": "docker"}, "message": "GRP_MGMT add-user-to-group", "metadata": {"correlation_uid": "1795687600.000:5010", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "status_id": 1, "time": 1795687600000i64, "type_uid": 300603, "user": {"name": "grace"}}),
        json!({"activity_id": 3, "actor": {"process": {"file": {"path": "/usr/bin/passwd"}, "pid": 41330}, "session": {"uid": "311"}, "user": {"uid": "1004"}}, "class_uid": 3001, "message": "USER_CHAUTHTOK PAM:chauthtok", "metadata": {"correlation_uid": "1795687700.000:5020", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "status_id": 1, "time": 1795687700000i64, "type_uid": 300103, "user": {"name": "bob"}}),
        json!({"activity_id": 6, "actor": {"process": {"file": {"path": "/usr/sbin/userdel"}, "pid": 41350}, "session": {"uid": "311"}, "user": {"uid": "1004"}}, "class_uid": 3001, "message": "DEL_USER delete-user", "metadata": {"correlation_uid": "1795687800.000:5030", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "status_id": 1, "time": 1795687800000i64, "type_uid": 300106, "user": {"name": "carol", "uid": "1003"}}),
        json!({"activity_id": 10, "actor": {"session": {"uid": "311"}, "user": {"uid": "1004"}}, "class_uid": 1008, "message": "CONFIG_CHANGE set", "metadata": {"correlation_uid": "1795687900.000:5040", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "status_id": 1, "time": 1795687900000i64, "type_uid": 100810}),
        json!({"activity_id": 99, "class_uid": 1007, "metadata": {"correlation_uid": "1795687200.123:4711", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "time": 1795687200123i64, "type_uid": 100799}),
        json!({"activity_id": 1, "actor": {"session": {"uid": "311"}, "user": {"name": "grace", "uid": "1004"}}, "class_uid": 1007, "metadata": {"correlation_uid": "1795688000.250:5050", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "process": {"file": {"path": "/usr/bin/bash"}, "name": "bash", "parent_process": {"pid": 41000}, "pid": 41001, "user": {"name": "grace", "uid": "1004"}}, "severity_id": 1, "status_id": 2, "time": 1795688000250i64, "type_uid": 100701}),
        json!({"activity_id": 1, "actor": {"process": {"file": {"path": "/usr/sbin/sshd"}, "pid": 1}, "session": {"uid": "312"}, "user": {"uid": "1004"}}, "class_uid": 3002, "device": {"hostname": "bastion-1"}, "message": "USER_LOGIN login", "metadata": {"correlation_uid": "1795687500.000:5100", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "src_endpoint": {"ip": "10.8.0.14"}, "status_id": 1, "time": 1795687500000i64, "type_uid": 300201, "user": {"uid": "1004"}}),
        json!({"activity_id": 6, "actor": {"process": {"pid": 611}}, "class_uid": 1008, "message": "DAEMON_START start", "metadata": {"correlation_uid": "1795680000.000:8841", "log_name": "audit.log", "product": {"name": "auditd", "vendor_name": "Linux"}}, "severity_id": 1, "status_id": 1, "time": 1795680000000i64, "type_uid": 100806}),
    ]
}

fn netfilter_log_expected() -> Vec<Value> {
    vec![
        json!({"action": "Denied", "action_id": 2, "activity_id": 5, "actor": {"process": {"name": "kernel"}}, "class_uid": 4001, "connection_info": {"direction": "Inbound", "direction_id": 1, "protocol_name": "tcp", "protocol_num": 6, "protocol_ver_id": 4, "tcp_flags": 2}, "device": {"hostname": "fw-1"}, "disposition": "Blocked", "disposition_id": 2, "dst_endpoint": {"ip": "10.0.0.1", "mac": "52:54:00:12:34:56", "port": 22}, "message": "[12345.678901] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 SRC=203.0.113.5 DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=54321 DF PROTO=TCP SPT=51515 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0", "metadata": {"product": {"name": "kernel"}}, "severity_id": 1, "src_endpoint": {"interface_name": "eth0", "ip": "203.0.113.5", "mac": "52:54:00:ab:cd:ef", "port": 51515}, "time": 1795687200000i64, "traffic": {"bytes": 60, "packets": 1}, "type_uid": 400105}),
        json!({"action": "Allowed", "action_id": 1, "activity_id": 6, "actor": {"process": {"name": "kernel"}}, "class_uid": 4001, "connection_info": {"direction": "Inbound", "direction_id": 1, "protocol_name": "tcp", "protocol_num": 6, "protocol_ver_id": 4, "tcp_flags": 24}, "device": {"hostname": "fw-1"}, "disposition": "Allowed", "disposition_id": 1, "dst_endpoint": {"ip": "10.0.0.1", "mac": "52:54:00:12:34:56", "port": 443}, "message": "[12350.000001] [UFW ALLOW] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 SRC=198.51.100.20 DST=10.0.0.1 LEN=52 TOS=0x00 PREC=0x00 TTL=117 ID=4242 DF PROTO=TCP SPT=60000 DPT=443 WINDOW=8192 RES=0x00 ACK PSH URGP=0", "metadata": {"product": {"name": "kernel"}}, "severity_id": 1, "src_endpoint": {"interface_name": "eth0", "ip": "198.51.100.20", "mac": "52:54:00:ab:cd:ef", "port": 60000}, "time": 1795687205000i64, "traffic": {"bytes": 52, "packets": 1}, "type_uid": 400106}),
        json!({"action": "Denied", "action_id": 2, "activity_id": 5, "actor": {"process": {"name": "kernel"}}, "class_uid": 4001, "connection_info": {"direction": "Outbound", "direction_id": 2, "protocol_name": "udp", "protocol_num": 17, "protocol_ver_id": 4}, "device": {"hostname": "gw-1"}, "disposition": "Blocked", "disposition_id": 2, "dst_endpoint": {"interface_name": "eth1", "ip": "192.0.2.53", "port": 53}, "message": "DROP-OUT: IN= OUT=eth1 SRC=10.0.0.7 DST=192.0.2.53 LEN=76 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=40000 DPT=53 LEN=56", "metadata": {"product": {"name": "kernel"}}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.7", "port": 40000}, "time": 1795687210000i64, "traffic": {"bytes": 76, "packets": 1}, "type_uid": 400105}),
        json!({"activity_id": 6, "actor": {"process": {"name": "kernel"}}, "class_uid": 4001, "connection_info": {"direction": "Forwarded", "direction_id": 99, "protocol_name": "icmpv6", "protocol_num": 58, "protocol_ver_id": 6}, "device": {"hostname": "gw-1"}, "dst_endpoint": {"interface_name": "eth1", "ip": "2001:db8:1::2", "mac": "52:54:00:12:34:56"}, "message": "[99.5] FWD IN=eth0 OUT=eth1 MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:86:dd SRC=2001:db8::1 DST=2001:db8:1::2 LEN=104 TC=0 HOPLIMIT=63 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=1 SEQ=1", "metadata": {"product": {"name": "kernel"}}, "severity_id": 1, "src_endpoint": {"interface_name": "eth0", "ip": "2001:db8::1", "mac": "52:54:00:ab:cd:ef"}, "time": 1795687215000i64, "traffic": {"bytes": 104, "packets": 1}, "type_uid": 400106}),
        json!({"action": "Denied", "action_id": 2, "activity_id": 5, "actor": {"process": {"name": "kernel"}}, "class_uid": 4001, "connection_info": {"direction": "Inbound", "direction_id": 1, "protocol_name": "icmp", "protocol_num": 1, "protocol_ver_id": 4}, "device": {"hostname": "fw-1"}, "disposition": "Blocked", "disposition_id": 2, "dst_endpoint": {"ip": "10.0.0.1"}, "message": "[12400.1] REJECT IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.1 LEN=56 TOS=0x00 PREC=0xC0 TTL=64 ID=5 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.0.0.1 DST=203.0.113.9 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=53 DPT=33434 LEN=8 ]", "metadata": {"product": {"name": "kernel"}}, "severity_id": 1, "src_endpoint": {"interface_name": "eth0", "ip": "203.0.113.9"}, "time": 1795687220000i64, "traffic": {"bytes": 56, "packets": 1}, "type_uid": 400105}),
    ]
}

fn windows_security_jsonl_expected() -> Vec<Value> {
    vec![
        json!({"activity_id": 1, "actor": {"user": {"domain": "CORP", "name": "DC1$", "uid": "S-1-5-18"}}, "auth_protocol": "Negotiate", "auth_protocol_id": 99, "class_uid": 3002, "device": {"hostname": "DC1.corp.example.com"}, "dst_endpoint": {"hostname": "DC1.corp.example.com"}, "is_remote": true, "logon_process": {"name": "User32"}, "logon_type": "Remote Interactive", "logon_type_id": 10, "metadata": {"event_code": "4624", "log_name": "Security", "log_provider": "Microsoft-Windows-Security-Auditing", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918273"}, "session": {"uid": "0x8a3f2c1"}, "severity_id": 1, "src_endpoint": {"hostname": "DC1", "ip": "10.8.0.14", "port": 51522}, "status_id": 1, "time": 1795687200123i64, "type_uid": 300201, "user": {"domain": "CORP", "name": "grace", "uid": "S-1-5-21-3623811015-3361044348-30300820-1104"}}),
        json!({"activity_id": 1, "auth_protocol": "NTLM", "auth_protocol_id": 1, "class_uid": 3002, "device": {"hostname": "DC1.corp.example.com"}, "dst_endpoint": {"hostname": "DC1.corp.example.com"}, "is_remote": true, "logon_process": {"name": "NtLmSsp"}, "logon_type": "Network", "logon_type_id": 3, "metadata": {"event_code": "4625", "log_name": "Security", "log_provider": "Microsoft-Windows-Security-Auditing", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918280"}, "severity_id": 1, "src_endpoint": {"hostname": "KALI", "ip": "203.0.113.66"}, "status_code": "0xc000006a", "status_detail": "bad password", "status_id": 2, "time": 1795687260000i64, "type_uid": 300201, "user": {"domain": "CORP", "name": "administrator"}}),
        json!({"activity_id": 1, "class_uid": 3002, "device": {"hostname": "DC1.corp.example.com"}, "dst_endpoint": {"hostname": "DC1.corp.example.com"}, "metadata": {"event_code": "4672", "log_name": "Security", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918274"}, "privileges": ["SeSecurityPrivilege", "SeBackupPrivilege", "SeDebugPrivilege"], "session": {"uid": "0x8a3f2c1"}, "severity_id": 1, "status_id": 1, "time": 1795687200125i64, "type_uid": 300201, "user": {"domain": "CORP", "name": "grace", "uid": "S-1-5-21-3623811015-3361044348-30300820-1104"}}),
        json!({"activity_id": 1, "actor": {"session": {"uid": "0x8a3f2c1"}, "user": {"domain": "CORP", "name": "grace", "uid": "S-1-5-21-3623811015-3361044348-30300820-1104"}}, "class_uid": 3001, "device": {"hostname": "DC1.corp.example.com"}, "metadata": {"event_code": "4720", "log_name": "Security", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918300"}, "severity_id": 1, "status_id": 1, "time": 1795687500000i64, "type_uid": 300101, "user": {"domain": "CORP", "name": "bob", "uid": "S-1-5-21-3623811015-3361044348-30300820-1105"}}),
        json!({"activity_id": 3, "actor": {"session": {"uid": "0x8a3f2c1"}, "user": {"domain": "CORP", "name": "grace", "uid": "S-1-5-21-3623811015-3361044348-30300820-1104"}}, "class_uid": 3006, "device": {"hostname": "DC1.corp.example.com"}, "group": {"domain": "CORP", "name": "Domain Admins", "type": "Security Enabled Global Group", "uid": "S-1-5-21-3623811015-3361044348-30300820-512"}, "metadata": {"event_code": "4728", "log_name": "Security", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918310"}, "severity_id": 1, "status_id": 1, "time": 1795687560000i64, "type_uid": 300603, "user": {"name": "Bob Builder", "uid": "S-1-5-21-3623811015-3361044348-30300820-1105"}}),
        json!({"activity_id": 1, "actor": {"user": {"domain": "CORP", "name": "grace", "uid": "S-1-5-21-3623811015-3361044348-30300820-1104"}}, "class_uid": 1008, "device": {"hostname": "DC1.corp.example.com"}, "log_name": "Security", "log_provider": "Microsoft-Windows-Eventlog", "metadata": {"event_code": "1102", "log_name": "Security", "log_provider": "Microsoft-Windows-Eventlog", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918320"}, "severity_id": 1, "status_id": 1, "time": 1795687620000i64, "type_uid": 100801}),
        json!({"activity_id": 99, "actor": {"user": {"domain": "CORP", "name": "grace", "uid": "S-1-5-21-3623811015-3361044348-30300820-1104"}}, "class_uid": 3001, "device": {"hostname": "DC1.corp.example.com"}, "metadata": {"event_code": "4738", "log_name": "Security", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918330"}, "severity_id": 1, "status_id": 1, "time": 1795687680000i64, "type_uid": 300199, "user": {"domain": "CORP", "name": "bob", "uid": "S-1-5-21-3623811015-3361044348-30300820-1105"}}),
        json!({"activity_id": 99, "actor": {"user": {"domain": "CORP", "name": "grace"}}, "class_uid": 1008, "device": {"hostname": "WS-17.corp.example.com"}, "log_name": "Security", "metadata": {"event_code": "4688", "log_name": "Security", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "5512"}, "severity_id": 1, "time": 1795687740000i64, "type_uid": 100899}),
    ]
}

fn windows_security_xml_expected() -> Vec<Value> {
    vec![
        json!({"activity_id": 1, "auth_protocol": "NTLM", "auth_protocol_id": 1, "class_uid": 3002, "device": {"hostname": "FS1.corp.example.com"}, "dst_endpoint": {"hostname": "FS1.corp.example.com"}, "is_remote": true, "logon_process": {"name": "NtLmSsp"}, "logon_type": "Network", "logon_type_id": 3, "metadata": {"event_code": "4624", "log_name": "Security", "log_provider": "Microsoft-Windows-Security-Auditing", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918275"}, "session": {"uid": "0x1b2c3d"}, "severity_id": 1, "src_endpoint": {"hostname": "BACKUP01", "ip": "10.0.4.20", "port": 49733}, "status_id": 1, "time": 1795687200123i64, "type_uid": 300201, "user": {"domain": "CORP", "name": "svc_backup", "uid": "S-1-5-21-3623811015-3361044348-30300820-1106"}}),
        json!({"activity_id": 1, "class_uid": 3002, "device": {"hostname": "FS1.corp.example.com"}, "dst_endpoint": {"hostname": "FS1.corp.example.com"}, "is_remote": true, "logon_type": "Network", "logon_type_id": 3, "metadata": {"event_code": "4625", "log_name": "Security", "log_provider": "Microsoft-Windows-Security-Auditing", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918281"}, "severity_id": 1, "src_endpoint": {"ip": "203.0.113.66"}, "status_code": "0xC0000064", "status_detail": "user name does not exist", "status_id": 2, "time": 1795687320500i64, "type_uid": 300201, "user": {"domain": "CORP", "name": "o'brien & co"}}),
        json!({"activity_id": 3, "actor": {"session": {"uid": "0x8a3f2c1"}, "user": {"domain": "CORP", "name": "grace", "uid": "S-1-5-21-3623811015-3361044348-30300820-1104"}}, "class_uid": 3006, "device": {"hostname": "FS1.corp.example.com"}, "group": {"domain": "Builtin", "name": "Administrators", "type": "Security Enabled Local Group", "uid": "S-1-5-32-544"}, "metadata": {"event_code": "4732", "log_name": "Security", "log_provider": "Microsoft-Windows-Security-Auditing", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918290"}, "severity_id": 1, "status_id": 1, "time": 1795687380000i64, "type_uid": 300603, "user": {"uid": "S-1-5-21-3623811015-3361044348-30300820-1105"}}),
        json!({"activity_id": 1, "actor": {"user": {"domain": "CORP", "name": "grace", "uid": "S-1-5-21-3623811015-3361044348-30300820-1104"}}, "class_uid": 1008, "device": {"hostname": "FS1.corp.example.com"}, "log_name": "Security", "log_provider": "Microsoft-Windows-Eventlog", "metadata": {"event_code": "1102", "log_name": "Security", "log_provider": "Microsoft-Windows-Eventlog", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918295"}, "severity_id": 1, "status_id": 1, "time": 1795687440000i64, "type_uid": 100801}),
        json!({"activity_id": 6, "actor": {"session": {"uid": "0x8a3f2c1"}, "user": {"domain": "CORP", "name": "grace", "uid": "S-1-5-21-3623811015-3361044348-30300820-1104"}}, "class_uid": 3001, "device": {"hostname": "DC1.corp.example.com"}, "metadata": {"event_code": "4726", "log_name": "Security", "log_provider": "Microsoft-Windows-Security-Auditing", "product": {"name": "Microsoft Windows", "vendor_name": "Microsoft"}, "uid": "918296"}, "severity_id": 1, "status_id": 1, "time": 1795687500000i64, "type_uid": 300106, "user": {"domain": "CORP", "name": "carol", "uid": "S-1-5-21-3623811015-3361044348-30300820-1103"}}),
    ]
}

fn pgaudit_log_expected() -> Vec<Value> {
    vec![
        json!({"activity_id": 1, "actor": {"process": {"pid": 2104}, "user": {"name": "app"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "message": "AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.customers,\"SELECT id, email, plan, status FROM customers WHERE id = $1\",<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "SELECT id, email, plan, status FROM customers WHERE id = $1"}, "resources": [{"name": "public.customers", "type": "TABLE"}], "severity_id": 1, "status_id": 1, "table": {"name": "public.customers"}, "time": 1793697247123i64, "type_uid": 600501}),
        json!({"activity_id": 5, "actor": {"process": {"pid": 2107}, "user": {"name": "app"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "message": "AUDIT: SESSION,7,1,WRITE,INSERT,TABLE,public.orders,\"INSERT INTO orders (customer_id, total_cents, currency, status) VALUES ($1, $2, $3, $4) RETURNING id\",<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "INSERT INTO orders (customer_id, total_cents, currency, status) VALUES ($1, $2, $3, $4) RETURNING id"}, "resources": [{"name": "public.orders", "type": "TABLE"}], "severity_id": 1, "status_id": 1, "table": {"name": "public.orders"}, "time": 1793697248004i64, "type_uid": 600505}),
        json!({"activity_id": 2, "actor": {"process": {"pid": 2110}, "user": {"name": "app"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "message": "AUDIT: SESSION,3,1,WRITE,UPDATE,TABLE,public.customers,UPDATE customers SET last_seen_at = now() WHERE id = $1,<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "UPDATE customers SET last_seen_at = now() WHERE id = $1"}, "resources": [{"name": "public.customers", "type": "TABLE"}], "severity_id": 1, "status_id": 1, "table": {"name": "public.customers"}, "time": 1793697249500i64, "type_uid": 600502}),
        json!({"activity_id": 7, "actor": {"process": {"pid": 41872}, "user": {"name": "etl"}}, "class_uid": 6005, "database": {"name": "analytics", "type": "Relational", "type_id": 1}, "message": "AUDIT: SESSION,2,1,WRITE,DELETE,TABLE,public.staging_events,DELETE FROM staging_events,<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "DELETE FROM staging_events"}, "resources": [{"name": "public.staging_events", "type": "TABLE"}], "severity_id": 1, "status_id": 1, "table": {"name": "public.staging_events"}, "time": 1793667731000i64, "type_uid": 600507}),
        json!({"activity_id": 2, "actor": {"process": {"pid": 55120}, "user": {"name": "migrator"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "message": "AUDIT: SESSION,1,1,DDL,ALTER TABLE,TABLE,public.orders,ALTER TABLE orders ADD COLUMN IF NOT EXISTS refunded_at timestamptz,<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "ALTER TABLE orders ADD COLUMN IF NOT EXISTS refunded_at timestamptz"}, "resources": [{"name": "public.orders", "type": "TABLE"}], "severity_id": 1, "status_id": 1, "table": {"name": "public.orders"}, "time": 1793716200250i64, "type_uid": 600502}),
        json!({"activity_id": 6, "actor": {"process": {"pid": 55121}, "user": {"name": "migrator"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "message": "AUDIT: SESSION,1,1,DDL,CREATE INDEX,INDEX,public.orders_customer_id_created_at_idx,\"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_created_at_idx ON orders (customer_id, created_at)\",<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_created_at_idx ON orders (customer_id, created_at)"}, "resources": [{"name": "public.orders_customer_id_created_at_idx", "type": "INDEX"}], "severity_id": 1, "status_id": 1, "time": 1793716260000i64, "type_uid": 600506}),
        json!({"activity_id": 1, "actor": {"process": {"pid": 63001}, "user": {"name": "mallory"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "message": "AUDIT: SESSION,4,1,READ,COPY,TABLE,public.customers,\"COPY customers TO STDOUT WITH (FORMAT csv, HEADER)\",<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "COPY customers TO STDOUT WITH (FORMAT csv, HEADER)"}, "resources": [{"name": "public.customers", "type": "TABLE"}], "severity_id": 1, "status_id": 1, "table": {"name": "public.customers"}, "time": 1793673100812i64, "type_uid": 600501}),
        json!({"activity_id": 3, "actor": {"process": {"pid": 63001}}, "class_uid": 6005, "message": "connection received: host=10.8.0.22 port=52144", "metadata": {"product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "severity_id": 1, "src_endpoint": {"ip": "10.8.0.22", "port": 52144}, "status_id": 1, "time": 1793673000015i64, "type_uid": 600503}),
        json!({"activity_id": 1, "actor": {"process": {"pid": 63001}}, "class_uid": 3002, "message": "connection authorized: user=mallory database=customers application_name=psql SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)", "metadata": {"product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "service": {"name": "customers"}, "severity_id": 1, "status_id": 1, "time": 1793673000031i64, "type_uid": 300201, "user": {"name": "mallory"}}),
        json!({"activity_id": 2, "actor": {"process": {"pid": 63001}}, "class_uid": 3002, "message": "disconnection: session time: 0:04:12.385 user=mallory database=customers host=10.8.0.22 port=52144", "metadata": {"product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "service": {"name": "customers"}, "severity_id": 1, "src_endpoint": {"ip": "10.8.0.22", "port": 52144}, "status_id": 1, "time": 1793673252400i64, "type_uid": 300202, "user": {"name": "mallory"}}),
        json!({"activity_id": 1, "actor": {"process": {"pid": 55200}, "user": {"name": "migrator"}}, "class_uid": 3006, "group": {"name": "reporting"}, "message": "AUDIT: SESSION,1,1,ROLE,GRANT,,,\"GRANT SELECT, INSERT ON public.orders TO reporting\",<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "privileges": ["SELECT", "INSERT"], "severity_id": 1, "status_id": 1, "time": 1793718000000i64, "type_uid": 300601}),
        json!({"activity_id": 1, "actor": {"process": {"pid": 55200}, "user": {"name": "migrator"}}, "class_uid": 3001, "message": "AUDIT: SESSION,2,1,ROLE,CREATE ROLE,,,CREATE ROLE reporting NOLOGIN,<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "severity_id": 1, "status_id": 1, "time": 1793718060000i64, "type_uid": 300101, "user": {"name": "reporting"}}),
        json!({"activity_id": 3, "actor": {"process": {"pid": 55200}, "user": {"name": "migrator"}}, "class_uid": 3006, "group": {"name": "reporting"}, "message": "AUDIT: SESSION,3,1,ROLE,GRANT,,,GRANT reporting TO grace,<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "severity_id": 1, "status_id": 1, "time": 1793718120000i64, "type_uid": 300603, "user": {"name": "grace"}}),
        json!({"activity_id": 3, "actor": {"process": {"pid": 55200}, "user": {"name": "migrator"}}, "class_uid": 3001, "message": "AUDIT: SESSION,4,1,ROLE,ALTER ROLE,,,ALTER ROLE grace WITH PASSWORD <REDACTED>,<not logged>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "severity_id": 1, "status_id": 1, "time": 1793718180000i64, "type_uid": 300103, "user": {"name": "grace"}}),
        json!({"activity_id": 1, "actor": {"process": {"pid": 55201}, "user": {"name": "auditor"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "message": "AUDIT: OBJECT,5,1,READ,SELECT,TABLE,public.payment_methods,SELECT * FROM payment_methods,<none>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "SELECT * FROM payment_methods"}, "resources": [{"name": "public.payment_methods", "type": "TABLE"}], "severity_id": 1, "status_id": 1, "table": {"name": "public.payment_methods"}, "time": 1793718240000i64, "type_uid": 600501}),
        json!({"activity_id": 1, "actor": {"process": {"pid": 5555}}, "class_uid": 3002, "message": "password authentication failed for user \"bob\"", "metadata": {"product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "service": {"name": "customers"}, "severity_id": 3, "status_detail": "password authentication failed for user \"bob\"", "status_id": 2, "time": 1793697600000i64, "type_uid": 300201, "user": {"name": "bob"}}),
        json!({"activity_id": 99, "actor": {"process": {"pid": 2104}, "user": {"name": "app"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "message": "duplicate key value violates unique constraint \"orders_pkey\"", "metadata": {"product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "severity_id": 3, "status_id": 2, "time": 1793697660000i64, "type_uid": 600599}),
        json!({"activity_id": 99, "actor": {"process": {"pid": 2104}, "user": {"name": "app"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "message": "INSERT INTO orders (id) VALUES (1)", "metadata": {"product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "INSERT INTO orders (id) VALUES (1)"}, "severity_id": 1, "time": 1793697660000i64, "type_uid": 600599}),
        json!({"activity_id": 7, "actor": {"process": {"pid": 6001}, "user": {"name": "bob"}}, "class_uid": 6005, "database": {"name": "shop", "type": "Relational", "type_id": 1}, "message": "AUDIT: SESSION,1,1,WRITE,DELETE,TABLE,public.carts,DELETE FROM carts WHERE id = 5,<none>", "metadata": {"log_provider": "pgaudit", "product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "DELETE FROM carts WHERE id = 5"}, "resources": [{"name": "public.carts", "type": "TABLE"}], "severity_id": 1, "src_endpoint": {"ip": "10.1.2.3"}, "status_id": 1, "table": {"name": "public.carts"}, "time": 1793697720000i64, "type_uid": 600507}),
        json!({"activity_id": 4, "actor": {"process": {"pid": 6001}, "user": {"name": "bob"}}, "class_uid": 6005, "database": {"name": "shop", "type": "Relational", "type_id": 1}, "message": "statement: SELECT 1", "metadata": {"product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "query_info": {"query_string": "SELECT 1"}, "severity_id": 1, "time": 1793697750000i64, "type_uid": 600504}),
        json!({"activity_id": 99, "actor": {"process": {"pid": 1}}, "class_uid": 6005, "message": "database system is ready to accept connections", "metadata": {"product": {"name": "PostgreSQL", "vendor_name": "PostgreSQL Global Development Group"}}, "severity_id": 1, "time": 1793697780000i64, "type_uid": 600599}),
    ]
}

fn mysql_audit_jsonl_expected() -> Vec<Value> {
    vec![
        json!({"activity_id": 1, "actor": {"session": {"uid": "7"}}, "class_uid": 3002, "metadata": {"product": {"name": "MySQL Enterprise Audit", "vendor_name": "Oracle"}, "uid": "0"}, "service": {"name": "customers"}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.5"}, "status_id": 1, "time": 1795687200000i64, "type_uid": 300201, "user": {"name": "app"}}),
        json!({"activity_id": 1, "actor": {"session": {"uid": "8"}}, "class_uid": 3002, "metadata": {"product": {"name": "MySQL Enterprise Audit", "vendor_name": "Oracle"}, "uid": "0"}, "severity_id": 1, "src_endpoint": {"ip": "203.0.113.66"}, "status_code": "1045", "status_id": 2, "time": 1795687201000i64, "type_uid": 300201, "user": {"name": "root"}}),
        json!({"activity_id": 1, "actor": {"session": {"uid": "7"}, "user": {"name": "app"}}, "class_uid": 6005, "database": {"type": "Relational", "type_id": 1}, "metadata": {"product": {"name": "MySQL Enterprise Audit", "vendor_name": "Oracle"}, "uid": "1"}, "query_info": {"query_string": "SELECT id, email FROM users WHERE id = 42"}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.5"}, "status_id": 1, "time": 1795687202000i64, "type_uid": 600501}),
        json!({"activity_id": 1, "actor": {"session": {"uid": "7"}, "user": {"name": "app"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "metadata": {"product": {"name": "MySQL Enterprise Audit", "vendor_name": "Oracle"}, "uid": "2"}, "query_info": {"query_string": "SELECT id, email FROM users WHERE id = 42"}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.5"}, "table": {"name": "users"}, "time": 1795687202000i64, "type_uid": 600501}),
        json!({"activity_id": 5, "actor": {"session": {"uid": "7"}, "user": {"name": "app"}}, "class_uid": 6005, "database": {"name": "customers", "type": "Relational", "type_id": 1}, "metadata": {"product": {"name": "MySQL Enterprise Audit", "vendor_name": "Oracle"}, "uid": "3"}, "query_info": {"query_string": "INSERT INTO orders (user_id) VALUES (42)"}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.5"}, "table": {"name": "orders"}, "time": 1795687203000i64, "type_uid": 600505}),
        json!({"activity_id": 1, "actor": {"session": {"uid": "9"}, "user": {"name": "admin"}}, "class_uid": 3001, "message": "CREATE USER 'reporting'@'%' IDENTIFIED BY <secret>", "metadata": {"product": {"name": "MySQL Enterprise Audit", "vendor_name": "Oracle"}, "uid": "4"}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.9"}, "status_id": 1, "time": 1795687204000i64, "type_uid": 300101}),
        json!({"activity_id": 1, "actor": {"session": {"uid": "9"}, "user": {"name": "admin"}}, "class_uid": 3006, "message": "GRANT SELECT ON customers.* TO 'reporting'@'%'", "metadata": {"product": {"name": "MySQL Enterprise Audit", "vendor_name": "Oracle"}, "uid": "5"}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.9"}, "status_id": 1, "time": 1795687205000i64, "type_uid": 300601}),
        json!({"activity_id": 7, "actor": {"session": {"uid": "7"}, "user": {"name": "app"}}, "class_uid": 6005, "database": {"type": "Relational", "type_id": 1}, "metadata": {"product": {"name": "MySQL Enterprise Audit", "vendor_name": "Oracle"}, "uid": "6"}, "query_info": {"query_string": "DROP TABLE tmp_import"}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.5"}, "status_code": "1051", "status_id": 2, "time": 1795687206000i64, "type_uid": 600507}),
        json!({"activity_id": 2, "actor": {"session": {"uid": "7"}}, "class_uid": 3002, "metadata": {"product": {"name": "MySQL Enterprise Audit", "vendor_name": "Oracle"}, "uid": "7"}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.5"}, "status_id": 1, "time": 1795687800000i64, "type_uid": 300202, "user": {"name": "app"}}),
        json!({"activity_id": 6, "actor": {"session": {"uid": "0"}}, "class_uid": 1008, "metadata": {"product": {"name": "MySQL Enterprise Audit", "vendor_name": "Oracle"}, "uid": "0"}, "severity_id": 1, "time": 1795683600000i64, "type_uid": 100806}),
        json!({"activity_id": 1, "actor": {"session": {"uid": "61"}, "user": {"name": "analyst"}}, "class_uid": 6005, "database": {"name": "billing", "type": "Relational", "type_id": 1}, "metadata": {"product": {"name": "Percona Audit Log Plugin", "vendor_name": "Percona"}, "uid": "4707_2026-11-26T10:00:00"}, "query_info": {"query_string": "SELECT * FROM payments LIMIT 10"}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.12"}, "status_id": 1, "time": 1795688400000i64, "type_uid": 600501}),
        json!({"activity_id": 1, "actor": {"session": {"uid": "62"}}, "class_uid": 3002, "metadata": {"product": {"name": "Percona Audit Log Plugin", "vendor_name": "Percona"}, "uid": "4708_2026-11-26T10:00:00"}, "severity_id": 1, "src_endpoint": {"ip": "203.0.113.66"}, "status_code": "1045", "status_id": 2, "time": 1795688460000i64, "type_uid": 300201, "user": {"name": "root"}}),
        json!({"activity_id": 2, "actor": {"session": {"uid": "61"}}, "class_uid": 3002, "metadata": {"product": {"name": "Percona Audit Log Plugin", "vendor_name": "Percona"}, "uid": "4709_2026-11-26T10:00:00"}, "service": {"name": "billing"}, "severity_id": 1, "src_endpoint": {"ip": "10.0.0.12"}, "status_id": 1, "time": 1795688520000i64, "type_uid": 300202, "user": {"name": "analyst"}}),
    ]
}

#[test]
fn unmapped_keeps_the_vendor_fields() {
    let syslog = parse_one(Format::Syslog, &fixture("syslog/messages.log")[0]);
    assert_eq!(
        syslog.get("unmapped").unwrap(),
        &json!({
            "facility": 20, "severity": 5, "timestamp": "2026-11-26T10:00:00.123Z",
            "hostname": "mymachine.example.com", "app_name": "evntslog", "procid": "4123", "msgid": "ID47",
            "structured_data": {"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}},
            "msg": "An application event log entry"
        })
    );

    let accepted = parse_one(Format::AuthLog, &fixture("authlog/auth.log")[0]);
    assert_eq!(accepted.get_str("unmapped.key_type"), Some("ED25519"));
    assert_eq!(
        accepted.get_str("unmapped.key_fingerprint"),
        Some("SHA256:pF2kqAVbOQ6cRyAnc1OEc1iLtrkA6u4yDNBDqZ0Yh4Y")
    );
    let sudo = parse_one(Format::AuthLog, &fixture("authlog/auth.log")[3]);
    for (k, v) in [
        ("sudo_user", "grace"),
        ("TTY", "pts/1"),
        ("PWD", "/home/grace"),
        ("USER", "root"),
    ] {
        assert_eq!(sudo.get_str(&format!("unmapped.{k}")), Some(v), "{k}");
    }
    let repeated = parse_one(Format::AuthLog, &fixture("authlog/auth.log")[35]);
    assert_eq!(repeated.get("unmapped.repeated"), Some(&json!(2)));
    let useradd = parse_one(Format::AuthLog, &fixture("authlog/auth.log")[26]);
    assert_eq!(useradd.get_str("unmapped.shell"), Some("/bin/bash"));
    assert_eq!(useradd.get_str("unmapped.home"), Some("/home/bob"));

    let execve = parse_one(Format::Auditd, &fixture("auditd/audit.log")[1]);
    assert_eq!(
        execve.get("unmapped").unwrap(),
        &json!({"type": "EXECVE", "msg": "audit(1795687200.123:4711)", "argc": "3", "a0": "systemctl", "a1": "restart", "a2": "platform-api now"})
    );
    let enriched = parse_one(Format::Auditd, &fixture("auditd/audit.log")[13]);
    assert_eq!(enriched.get_str("unmapped.SYSCALL"), Some("execve"));
    assert_eq!(enriched.get_str("unmapped.key"), Some("(null)"));

    let block = parse_one(Format::Netfilter, &fixture("netfilter/kern.log")[0]);
    let unmapped = block.get("unmapped").unwrap();
    assert_eq!(unmapped["log_prefix"], "[UFW BLOCK]");
    assert_eq!(unmapped["uptime"], "12345.678901");
    assert_eq!(unmapped["SYN"], true);
    assert_eq!(unmapped["OUT"], "");
    assert_eq!(unmapped["WINDOW"], "64240");
    let udp = parse_one(Format::Netfilter, &fixture("netfilter/kern.log")[2]);
    assert_eq!(
        (udp.get_str("unmapped.LEN"), udp.get_str("unmapped.UDP_LEN")),
        (Some("76"), Some("56"))
    );
    let icmp = parse_one(Format::Netfilter, &fixture("netfilter/kern.log")[4]);
    assert_eq!(
        icmp.get_str("unmapped.quoted_packet"),
        Some(
            "[SRC=10.0.0.1 DST=203.0.113.9 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=53 DPT=33434 LEN=8 ]"
        )
    );

    let line = &fixture("windows-security/winlogbeat.jsonl")[0];
    let json_event = parse_one(Format::WindowsSecurity, line);
    assert_eq!(
        json_event.get("unmapped").unwrap(),
        &serde_json::from_str::<Value>(line).unwrap()
    );
    let xml_event = parse_one(
        Format::WindowsSecurity,
        &fixture("windows-security/events.xml")[3],
    );
    assert_eq!(
        xml_event.get("unmapped").unwrap(),
        &json!({
            "EventID": 1102, "TimeCreated": "2026-11-26T10:04:00.0000000Z", "Computer": "FS1.corp.example.com",
            "EventRecordID": "918295", "Channel": "Security", "Provider_Name": "Microsoft-Windows-Eventlog",
            "Level": "4", "Keywords": "0x4020000000000000", "Task": "104", "Opcode": "0",
            "SubjectUserSid": "S-1-5-21-3623811015-3361044348-30300820-1104", "SubjectUserName": "grace",
            "SubjectDomainName": "CORP", "SubjectLogonId": "0x8a3f2c1"
        })
    );

    let audit = parse_one(Format::PgAudit, &fixture("pgaudit/postgresql.log")[0]);
    assert_eq!(
        audit.get("unmapped").unwrap(),
        &json!({
            "log_time": "2026-11-03 09:14:07.123 UTC", "process_id": 2104, "user_name": "app", "database_name": "customers",
            "error_severity": "LOG",
            "message": "AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.customers,\"SELECT id, email, plan, status FROM customers WHERE id = $1\",<not logged>",
            "AUDIT_TYPE": "SESSION", "STATEMENT_ID": "1", "SUBSTATEMENT_ID": "1", "CLASS": "READ", "COMMAND": "SELECT",
            "OBJECT_TYPE": "TABLE", "OBJECT_NAME": "public.customers",
            "STATEMENT": "SELECT id, email, plan, status FROM customers WHERE id = $1", "PARAMETER": "<not logged>"
        })
    );
    let prefixed = parse_one(Format::PgAudit, &fixture("pgaudit/postgresql.log")[18]);
    assert_eq!(prefixed.get_str("unmapped.application_name"), Some("psql"));
    assert_eq!(
        prefixed.get_str("unmapped.connection_from"),
        Some("10.1.2.3")
    );

    let line = &fixture("mysql-audit/audit.jsonl")[10];
    let percona = parse_one(Format::MysqlAudit, line);
    assert_eq!(
        percona.get("unmapped").unwrap(),
        &serde_json::from_str::<Value>(line).unwrap()
    );
}

#[test]
fn auto_detection_routes_each_fixture_to_its_parser() {
    let mut parser = Parser::new(Format::Auto);
    for (file, format) in [
        ("syslog/messages.log", Format::Syslog),
        ("authlog/auth.log", Format::AuthLog),
        ("auditd/audit.log", Format::Auditd),
        ("netfilter/kern.log", Format::Netfilter),
        ("windows-security/winlogbeat.jsonl", Format::WindowsSecurity),
        ("windows-security/events.xml", Format::WindowsSecurity),
        ("pgaudit/postgresql.log", Format::PgAudit),
        ("mysql-audit/audit.jsonl", Format::MysqlAudit),
    ] {
        for line in fixture(file) {
            let events = parser.parse(line.as_bytes(), &ctx()).unwrap();
            assert_eq!(
                events[0].get_str("metadata.evident.format"),
                Some(format.as_str()),
                "{line}"
            );
        }
    }
}

#[test]
fn detection_leaves_other_formats_alone() {
    let mut others: Vec<String> = Vec::new();
    for file in [
        "vpcflow/default_v2.log",
        "vpcflow/custom_v5.log",
        "aws_alb/access.log",
        "s3_access/access.log",
        "json/app.jsonl",
        "text/lines.txt",
        "okta/session_end.json",
        "cloudtrail/create_user.json",
        "github/git_clone.json",
        "duo-auth/authentication.jsonl",
    ] {
        let lines = fixture(file);
        if file.ends_with(".json") {
            others.push(lines.concat());
        } else {
            others.extend(lines);
        }
    }
    others.extend([
        "2026-11-26 10:00:00 INFO [main] server started".to_owned(),
        "plain words, no header".to_owned(),
        r#"{"level":"info","msg":"hello","class":"x"}"#.to_owned(),
    ]);
    for record in &others {
        let got = detect(record.as_bytes());
        assert!(
            !got.is_some_and(|f| MINE.contains(&f)),
            "{got:?} claimed {record}"
        );
    }
    // Syslog lines from sshd are auth.log; syslog lines from others are not.
    assert_eq!(
        detect(b"<13>Nov 26 10:00:00 h sshd[1]: Server listening on 0.0.0.0 port 22."),
        Some(Format::AuthLog)
    );
    assert_eq!(
        detect(b"<13>Nov 26 10:00:00 h nginx[1]: pam_unix(x:y): not really"),
        Some(Format::AuthLog)
    );
    assert_eq!(
        detect(b"<13>Nov 26 10:00:00 h nginx[1]: started"),
        Some(Format::Syslog)
    );
    // A kernel line without a packet is plain syslog.
    assert_eq!(
        detect(b"Nov 26 10:00:00 h kernel: [1.0] usb 1-1: new device"),
        Some(Format::Syslog)
    );
}

#[test]
fn bsd_timestamps_take_the_year_that_is_not_in_the_future() {
    let jan_1_2027_ns = 1_798_761_630_000_000_000; // 2027-01-01T00:00:30Z
    let ctx = ParseContext::new("t", jan_1_2027_ns);
    let e = &Parser::new(Format::Syslog)
        .parse(b"Dec 31 23:59:59 h app: x", &ctx)
        .unwrap()[0];
    assert_eq!(e.time_ms(), Some(1_798_761_599_000)); // 2026-12-31T23:59:59Z
    let dec_31_ns = 1_798_761_540_000_000_000; // 2026-12-31T23:59:00Z
    let ctx = ParseContext::new("t", dec_31_ns);
    let e = &Parser::new(Format::AuthLog)
        .parse(b"Jan  1 00:00:10 h sshd[1]: x", &ctx)
        .unwrap()[0];
    assert_eq!(e.time_ms(), Some(1_798_761_610_000)); // 2027-01-01T00:00:10Z
    // RFC 5424 without a timestamp and pgaudit without a prefix time use the receive time.
    let e = parse_one(Format::Syslog, "<14>1 - h app - - - x");
    assert_eq!(e.time_ms(), Some(1_795_687_200_000));
    let e = parse_one(Format::PgAudit, "[12] LOG:  checkpoint starting: time");
    assert_eq!(e.time_ms(), Some(1_795_687_200_000));
}

#[test]
fn malformed_records_name_the_problem() {
    let cases: &[(Format, &[u8], &str)] = &[
        (
            Format::Syslog,
            b"<13>Nov 26 10:00:00 h a: \xff",
            "invalid UTF-8 at byte 25",
        ),
        (
            Format::Syslog,
            b"hello world",
            "not a valid syslog record: no RFC 5424 or RFC 3164 syslog header",
        ),
        (
            Format::Syslog,
            b"<13>1 2026-13-45T00:00:00Z h a - - - x",
            "not a valid syslog record: no RFC 5424 or RFC 3164 syslog header",
        ),
        (
            Format::AuthLog,
            b"Accepted publickey for grace",
            "not a valid authlog record: no RFC 5424 or RFC 3164 syslog header",
        ),
        (
            Format::AuthLog,
            b"Nov 26 10:00:00 h sshd[1]: \xc3\x28",
            "invalid UTF-8 at byte 27",
        ),
        (
            Format::Auditd,
            b"hello",
            "not a valid auditd record: no `type=… msg=audit(…)` record",
        ),
        (
            Format::Auditd,
            b"type=SYSCALL msg=audit(soon:1): pid=1",
            "field `msg` should be audit(SECONDS.MILLIS:SERIAL):",
        ),
        (
            Format::Auditd,
            b"type=SYSCALL msg=audit(1700000000.1:1: pid=1",
            "field `msg` should be audit(SECONDS.MILLIS:SERIAL):",
        ),
        (
            Format::Netfilter,
            b"Nov 26 10:00:00 fw kernel: IN=eth0 OUT= PROTO=TCP",
            "missing field `SRC`",
        ),
        (
            Format::Netfilter,
            b"Nov 26 10:00:00 fw kernel: SRC=1.2.3.4 PROTO=TCP",
            "missing field `DST`",
        ),
        (
            Format::WindowsSecurity,
            br#"{"winlog":{"event_id":4624"#,
            "invalid JSON: EOF while parsing an object at line 1 column 26",
        ),
        (
            Format::WindowsSecurity,
            br#"{"winlog":{"channel":"Security"}}"#,
            "missing field `winlog.event_id`",
        ),
        (
            Format::WindowsSecurity,
            br#"{"winlog":{"event_id":true}}"#,
            "field `winlog.event_id` should be an event id number",
        ),
        (
            Format::WindowsSecurity,
            br#"{"winlog":{"event_id":"logon"}}"#,
            "field `winlog.event_id` should be an event id number",
        ),
        (
            Format::WindowsSecurity,
            b"[4624]",
            "expected a JSON object, found an array",
        ),
        (
            Format::WindowsSecurity,
            b"<Event><System><Computer>x</Computer></System></Event>",
            "missing field `EventID`",
        ),
        (
            Format::WindowsSecurity,
            b"<Event><System><EventID>46\xff</EventID></System></Event>",
            "invalid UTF-8 at byte 26",
        ),
        (
            Format::WindowsSecurity,
            b"<Other/>",
            "not a valid windows-security record: XML record does not start with <Event",
        ),
        (
            Format::PgAudit,
            b"hello",
            "not a valid pgaudit record: no `LOG:  `/`ERROR:  ` severity marker",
        ),
        (
            Format::PgAudit,
            b"2026-11-03 09:14:07 UTC [1] LOG:  \xff",
            "invalid UTF-8 at byte 34",
        ),
        (
            Format::MysqlAudit,
            br#"{"class":"general","event":"status""#,
            "invalid JSON: EOF while parsing an object at line 1 column 35",
        ),
        (
            Format::MysqlAudit,
            br#"{"event":"status","connection_id":1}"#,
            "missing field `class`",
        ),
        (
            Format::MysqlAudit,
            br#"{"class":"general","event":7}"#,
            "field `event` should be a string",
        ),
        (
            Format::MysqlAudit,
            br#"{"audit_record":"Query"}"#,
            "field `audit_record` should be an object",
        ),
        (
            Format::MysqlAudit,
            br#"{"audit_record":{"sqltext":"SELECT 1"}}"#,
            "missing field `audit_record.name`",
        ),
    ];
    for (format, record, want) in cases {
        assert_eq!(
            error(*format, record),
            *want,
            "{}",
            String::from_utf8_lossy(record)
        );
    }
}

#[test]
fn records_over_a_mebibyte_are_refused() {
    let big = vec![b'a'; (1 << 20) + 1];
    for format in MINE {
        assert_eq!(
            error(format, &big),
            "record of 1048577 bytes exceeds the parser limit of 1048576 bytes"
        );
    }
}

#[test]
fn demo_shaped_lines_all_get_a_specific_or_the_generic_class() {
    // Every auth.log line the demo generator writes maps to Authentication, Process Activity,
    // Group Management or (sessions of systemd-logind, sshd's connection noise) the generic
    // Event Log Activity; none fails.
    let mut classes = std::collections::BTreeMap::new();
    for line in fixture("authlog/auth.log") {
        let e = parse_one(Format::AuthLog, &line);
        *classes.entry(e.class().unwrap().uid()).or_insert(0) += 1;
    }
    assert_eq!(
        classes,
        [(1007, 4), (1008, 7), (3001, 5), (3002, 19), (3006, 4)]
            .into_iter()
            .collect()
    );
}

#[test]
fn postgres_lines_sent_through_syslog_take_the_header_time_and_pid() {
    let line = "Nov 26 09:00:00 db-1 postgres[4242]: [3-1] user=app,db=customers LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>";
    assert_eq!(detect(line.as_bytes()), Some(Format::PgAudit));
    let e = parse_one(Format::PgAudit, line);
    assert_eq!(e.time_ms(), Some(1_795_683_600_000));
    assert_eq!(e.get("actor.process.pid"), Some(&json!(4242)));
    assert_eq!(e.get_str("device.hostname"), Some("db-1"));
    assert_eq!(e.get_str("actor.user.name"), Some("app"));
    assert_eq!(e.get_str("database.name"), Some("customers"));
    assert_eq!(e.get("activity_id"), Some(&json!(1)));
}
