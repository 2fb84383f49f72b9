//! iptables / nftables `LOG` target lines as the kernel writes them to syslog (`kern.log`):
//! `Nov 26 10:00:00 fw kernel: [12345.678] [UFW BLOCK] IN=eth0 OUT= MAC=… SRC=203.0.113.5
//! DST=10.0.0.1 LEN=60 … PROTO=TCP SPT=51515 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0`, after
//! the kernel's `nf_log_syslog` output (`net/netfilter/nf_log_syslog.c`: `IN= OUT= MAC= SRC=
//! DST= LEN= TOS= PREC= TTL= ID= [CE] [DF] [MF] PROTO= SPT= DPT= … flags`, IPv6 `TC= HOPLIMIT=
//! FLOWLBL=`, ICMP `TYPE= CODE=`, the quoted packet of ICMP errors in `[…]`). The syslog header
//! is read by [`super::syslog::parse_syslog_header`]; a bare kernel line (dmesg) is accepted
//! too, timed at receipt.
//!
//! OCSF: **Network Activity (4001)**. A log prefix naming `BLOCK`, `DROP`, `REJECT` or `DENY`
//! → Refuse (5) with `disposition` Blocked and `action` Denied; `ACCEPT` or `ALLOW` → Traffic
//! (6) with Allowed; any other prefix (`[UFW AUDIT]`, none) → Traffic (6) without a verdict.
//! `src_endpoint`/`dst_endpoint` get `ip`, `port`, `interface_name` (IN / OUT) and `mac`
//! (from MAC = destination MAC, source MAC, EtherType), `connection_info` gets
//! `protocol_name`/`protocol_num`, `protocol_ver_id`, `tcp_flags` (the OCSF bitmask) and
//! `direction` (IN only → Inbound, OUT only → Outbound, both → Other "Forwarded"), `traffic`
//! gets `bytes` = LEN and `packets` = 1. Severity stays Informational: the syslog level of
//! these lines is the rule's `--log-level` setting, not a judgement of the packet. Every field
//! is in `unmapped` under its kernel name (flags as `true`; a name repeated by the transport
//! header, like UDP's `LEN`, as `UDP_LEN`), with `log_prefix`, `uptime` and the header fields
//! beside them.

use evident_model::{Class, Event, Severity};
use serde_json::{Map, Value};

use super::Shape;
use super::syslog::{self, SyslogHeader, parse_syslog_header};
use crate::parse::{ParseContext, ParseError, text};

/// Does the record look like a netfilter log line: a kernel syslog line with `SRC=`,
/// `DST=` and `PROTO=`?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Text(s) = shape else { return false };
    s.contains("kernel:") && s.contains(" SRC=") && s.contains(" DST=") && s.contains(" PROTO=")
}

/// Normalizes one netfilter log line into a Network Activity event.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let line = text(record)?.trim_end();
    let header = parse_syslog_header(line, ctx.received_at_ms());
    let msg = header.as_ref().map_or(line, |h| h.msg);
    let packet = Packet::parse(msg);
    for field in ["SRC", "DST"] {
        if packet.get(field).is_none() {
            return Err(ParseError::MissingField {
                field: field.into(),
            });
        }
    }
    let mut e = match &header {
        Some(h) => syslog::event(h, Class::NetworkActivity, packet.activity()),
        None => {
            let mut e = Event::new(
                Class::NetworkActivity,
                packet.activity(),
                ctx.received_at_ms(),
            );
            e.set("metadata.product.name", "kernel");
            e.set("message", line);
            e
        }
    };
    map(&mut e, &packet, header.as_ref());
    Ok(vec![e])
}

/// A netfilter log message cut into its parts.
struct Packet<'a> {
    /// Kernel uptime stamp (`[12345.678]`), when present.
    uptime: Option<&'a str>,
    /// The rule's `--log-prefix`, trimmed.
    prefix: &'a str,
    /// `KEY=value` pairs and bare flags (value `None`), in order.
    fields: Vec<(&'a str, Option<&'a str>)>,
    /// The bracketed packet quoted by an ICMP error, as written.
    quoted: Option<&'a str>,
}

impl<'a> Packet<'a> {
    /// Cuts `msg` (the part after `kernel: `).
    fn parse(msg: &'a str) -> Packet<'a> {
        let mut rest = msg.trim_start();
        let mut uptime = None;
        if let Some(after) = rest.strip_prefix('[')
            && let Some((stamp, tail)) = after.split_once(']')
            && !stamp.trim().is_empty()
            && stamp
                .trim()
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.')
        {
            uptime = Some(stamp.trim());
            rest = tail.trim_start();
        }
        let start = field_start(rest);
        let prefix = rest[..start].trim();
        let mut body = &rest[start..];
        let mut quoted = None;
        if let Some(open) = body.find(" [") {
            quoted = Some(body[open + 1..].trim_end());
            body = &body[..open];
        }
        let fields = body
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(|t| match t.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (t, None),
            })
            .collect();
        Packet {
            uptime,
            prefix,
            fields,
            quoted,
        }
    }

    /// The value of `KEY=` (empty for `OUT=`), the first if repeated.
    fn get(&self, key: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| *v)
    }

    /// Whether the bare flag `name` is present.
    fn flag(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, v)| *k == name && v.is_none())
    }

    /// The verdict named by the log prefix: (activity, disposition id, disposition, action id, action).
    fn verdict(&self) -> Option<(u8, u8, &'static str, u8, &'static str)> {
        let p = self.prefix.to_ascii_uppercase();
        if ["BLOCK", "DROP", "REJECT", "DENY"]
            .iter()
            .any(|w| p.contains(w))
        {
            Some((5, 2, "Blocked", 2, "Denied"))
        } else if ["ACCEPT", "ALLOW"].iter().any(|w| p.contains(w)) {
            Some((6, 1, "Allowed", 1, "Allowed"))
        } else {
            None
        }
    }

    /// Refuse (5) for a blocking prefix, else Traffic (6).
    fn activity(&self) -> u8 {
        self.verdict().map_or(6, |v| v.0)
    }
}

/// Byte offset where the `KEY=` fields start: the first of `IN=`, `OUT=`, `PHYSIN=`, `SRC=`
/// standing at a word start (the prefix may contain anything before it).
fn field_start(s: &str) -> usize {
    let mut best = s.len();
    for key in ["IN=", "OUT=", "PHYSIN=", "SRC="] {
        let mut from = 0;
        while let Some(at) = s[from..].find(key).map(|i| i + from) {
            if at == 0
                || s.as_bytes()[at - 1] == b' '
                || s.as_bytes()[at - 1] == b']'
                || s.as_bytes()[at - 1] == b':'
            {
                best = best.min(at);
                break;
            }
            from = at + key.len();
        }
    }
    best
}

/// OCSF `tcp_flags` bits by the kernel's flag names.
const TCP_FLAGS: [(&str, u32); 8] = [
    ("FIN", 1),
    ("SYN", 2),
    ("RST", 4),
    ("PSH", 8),
    ("ACK", 16),
    ("URG", 32),
    ("ECE", 64),
    ("CWR", 128),
];

/// Fills the Network Activity attributes of `e` from `p`.
fn map(e: &mut Event, p: &Packet<'_>, header: Option<&SyslogHeader<'_>>) {
    e.set_severity(Severity::Informational);
    if let Some((_, disposition_id, disposition, action_id, action)) = p.verdict() {
        e.set("disposition_id", disposition_id)
            .set("disposition", disposition);
        e.set("action_id", action_id).set("action", action);
    }
    let nonempty = |k: &str| p.get(k).filter(|v| !v.is_empty());
    e.set_opt("src_endpoint.ip", nonempty("SRC"));
    e.set_opt("dst_endpoint.ip", nonempty("DST"));
    e.set_opt(
        "src_endpoint.port",
        nonempty("SPT").and_then(|v| v.parse::<u16>().ok()),
    );
    e.set_opt(
        "dst_endpoint.port",
        nonempty("DPT").and_then(|v| v.parse::<u16>().ok()),
    );
    let (inbound, outbound) = (nonempty("IN"), nonempty("OUT"));
    e.set_opt("src_endpoint.interface_name", inbound);
    e.set_opt("dst_endpoint.interface_name", outbound);
    if let Some(mac) = nonempty("MAC") {
        let octets: Vec<&str> = mac.split(':').collect();
        if octets.len() >= 12 {
            e.set("dst_endpoint.mac", octets[..6].join(":"));
            e.set("src_endpoint.mac", octets[6..12].join(":"));
        }
    }
    let direction = match (inbound, outbound) {
        (Some(_), None) => Some((1, "Inbound")),
        (None, Some(_)) => Some((2, "Outbound")),
        (Some(_), Some(_)) => Some((99, "Forwarded")),
        (None, None) => None,
    };
    if let Some((id, name)) = direction {
        e.set("connection_info.direction_id", id)
            .set("connection_info.direction", name);
    }
    if let Some(proto) = nonempty("PROTO") {
        e.set("connection_info.protocol_name", proto.to_ascii_lowercase());
        let number = match proto {
            "ICMP" => Some(1),
            "TCP" => Some(6),
            "UDP" => Some(17),
            "GRE" => Some(47),
            "ESP" => Some(50),
            "AH" => Some(51),
            "ICMPv6" => Some(58),
            "SCTP" => Some(132),
            "UDPLITE" => Some(136),
            other => other.parse::<u8>().ok().map(u32::from),
        };
        e.set_opt("connection_info.protocol_num", number);
    }
    if let Some(src) = nonempty("SRC") {
        e.set(
            "connection_info.protocol_ver_id",
            if src.contains(':') { 6 } else { 4 },
        );
    }
    let flags: u32 = TCP_FLAGS
        .iter()
        .filter(|(name, _)| p.flag(name))
        .map(|(_, bit)| bit)
        .sum();
    if nonempty("PROTO") == Some("TCP") {
        e.set("connection_info.tcp_flags", flags);
    }
    e.set_opt(
        "traffic.bytes",
        nonempty("LEN").and_then(|v| v.parse::<u64>().ok()),
    );
    e.set("traffic.packets", 1);
    e.set_opt("device.hostname", header.and_then(|h| h.host));

    let mut unmapped = match e.get("unmapped") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let proto = p.get("PROTO").unwrap_or("");
    for (k, v) in &p.fields {
        let value = v.map_or(Value::Bool(true), Value::from);
        // A key seen again after PROTO= belongs to the transport header (UDP `LEN`, ICMP `ID`).
        let key = if unmapped.contains_key(*k) {
            format!("{proto}_{k}")
        } else {
            (*k).to_owned()
        };
        unmapped.entry(key).or_insert(value);
    }
    if !p.prefix.is_empty() {
        unmapped.insert("log_prefix".into(), p.prefix.into());
    }
    if let Some(uptime) = p.uptime {
        unmapped.insert("uptime".into(), uptime.into());
    }
    if let Some(quoted) = p.quoted {
        unmapped.insert("quoted_packet".into(), quoted.into());
    }
    e.set("unmapped", Value::Object(unmapped));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_uptime_and_fields_are_cut_apart() {
        let p = Packet::parse(
            "[ 4512.337] DROP-IN: IN=eth0 OUT= MAC=aa SRC=1.2.3.4 DST=5.6.7.8 LEN=40 DF PROTO=TCP SPT=1 DPT=22 SYN URGP=0",
        );
        assert_eq!(p.uptime, Some("4512.337"));
        assert_eq!(p.prefix, "DROP-IN:");
        assert_eq!(p.get("OUT"), Some(""));
        assert_eq!(p.get("DPT"), Some("22"));
        assert!(p.flag("DF") && p.flag("SYN") && !p.flag("ACK"));
        assert_eq!(p.activity(), 5);
        let p = Packet::parse(
            "IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=ICMP TYPE=3 CODE=3 [SRC=5.6.7.8 DST=1.2.3.4 PROTO=UDP SPT=53 DPT=9 ]",
        );
        assert_eq!(p.prefix, "");
        assert_eq!(p.get("SRC"), Some("1.2.3.4"));
        assert_eq!(
            p.quoted,
            Some("[SRC=5.6.7.8 DST=1.2.3.4 PROTO=UDP SPT=53 DPT=9 ]")
        );
        assert_eq!(p.activity(), 6);
    }

    #[test]
    fn prefixes_containing_field_names_do_not_cut_early() {
        assert_eq!(field_start("LOGIN=x IN=eth0 OUT="), 8);
        assert_eq!(field_start("[UFW ALLOW] IN=eth0"), 12);
    }
}
