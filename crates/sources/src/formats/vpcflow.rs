//! AWS VPC Flow Logs, as "Flow log records" documents them
//! (<https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html>): text lines
//! of space-separated fields, `-` for a field with no value. The default (version 2) format
//! has 14 fields, `version account-id interface-id srcaddr dstaddr srcport dstport protocol
//! packets bytes start end action log-status`. A custom format (versions 3–5 add `vpc-id`,
//! `subnet-id`, `instance-id`, `tcp-flags`, `type`, `pkt-srcaddr`, `pkt-dstaddr`, `region`,
//! `az-id`, `sublocation-*`, `pkt-*-aws-service`, `flow-direction`, `traffic-path`, in any
//! order) is announced by the header line that starts every file delivered to S3: the header
//! yields no event and sets the field order of the lines after it. Panther's JSON row of a
//! record (`srcAddr`, `dstPort`, `interfaceId`, `status`, …) is accepted too.
//!
//! Every record becomes a Network Activity (4001):
//!
//! | record | activity | `disposition` / `action` |
//! |---|---|---|
//! | `log-status` NODATA or SKIPDATA | Other 99, no endpoints | — |
//! | `action` ACCEPT | Traffic 6 | Allowed / Allowed |
//! | `action` REJECT | Refuse 5 | Blocked / Denied |
//! | no action | Traffic 6 | — |
//!
//! `start` (epoch seconds) is the event time and `start_time`, `end` the `end_time`;
//! addresses and ports go to `src_endpoint`/`dst_endpoint`, `protocol` to
//! `connection_info.protocol_num` and `protocol_name` (IANA keyword: 6 tcp, 17 udp, 1 icmp,
//! 58 ipv6-icmp), `packets`/`bytes` to `traffic`, `flow-direction` to
//! `connection_info.direction`, `traffic-path` to `connection_info.boundary_id`, and the
//! interface, instance, VPC and subnet to the endpoint on the interface's side (the
//! destination for ingress traffic, else the source). A text line's fields go to `unmapped`
//! under the header's names.

use evident_model::{Class, Event};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{mark_unparsed_time, parse_time, starts_as_json_object};
use crate::parse::{ParseContext, ParseError, json_object, text};

/// The default (version 2) field order.
const DEFAULT_FIELDS: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// Every documented field name, with the name Panther's JSON rows use for it.
const FIELD_NAMES: &[(&str, &str)] = &[
    ("version", "version"),
    ("account-id", "account"),
    ("interface-id", "interfaceId"),
    ("srcaddr", "srcAddr"),
    ("dstaddr", "dstAddr"),
    ("srcport", "srcPort"),
    ("dstport", "dstPort"),
    ("protocol", "protocol"),
    ("packets", "packets"),
    ("bytes", "bytes"),
    ("start", "start"),
    ("end", "end"),
    ("action", "action"),
    ("log-status", "status"),
    ("vpc-id", "vpcId"),
    ("subnet-id", "subNetId"),
    ("instance-id", "instanceId"),
    ("tcp-flags", "tcpFlags"),
    ("type", "trafficType"),
    ("pkt-srcaddr", "pktSrcAddr"),
    ("pkt-dstaddr", "pktDstAddr"),
    ("region", "region"),
    ("az-id", "azId"),
    ("sublocation-type", "sublocationType"),
    ("sublocation-id", "sublocationId"),
    ("pkt-src-aws-service", "pktSrcAwsService"),
    ("pkt-dst-aws-service", "pktDstAwsService"),
    ("flow-direction", "flowDirection"),
    ("traffic-path", "trafficPath"),
    ("ecs-cluster-arn", "ecsClusterArn"),
    ("ecs-cluster-name", "ecsClusterName"),
    ("ecs-container-instance-arn", "ecsContainerInstanceArn"),
    ("ecs-container-instance-id", "ecsContainerInstanceId"),
    ("ecs-container-id", "ecsContainerId"),
    ("ecs-second-container-id", "ecsSecondContainerId"),
    ("ecs-service-name", "ecsServiceName"),
    ("ecs-task-definition-arn", "ecsTaskDefinitionArn"),
    ("ecs-task-arn", "ecsTaskArn"),
    ("ecs-task-id", "ecsTaskId"),
    ("reject-reason", "rejectReason"),
];

/// Text fields held as numbers in `unmapped`.
const NUMERIC: &[&str] = &[
    "version",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "tcp-flags",
    "traffic-path",
];

/// JSON keys that only a flow record has; one of them (or a `status` of a log-status value)
/// is needed for detection.
const JSON_MARKS: &[&str] = &[
    "srcAddr",
    "dstAddr",
    "interfaceId",
    "pktSrcAddr",
    "pktDstAddr",
];

/// Known names a header line must have at least this many of.
const HEADER_MIN_KNOWN: usize = 3;

/// Does the record look like a flow log? Text: a header line (every word a field name, at
/// least three known ones), a default-format line (14 fields, version 2, an `eni-`
/// interface) or a custom-format line (version 3–5 first, an `eni-` field and a log status).
/// JSON: only flow record keys (Panther's `p_*` aside), with an address, an interface, or a
/// log status among them.
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    match shape {
        Shape::Json(obj) => {
            let marked = JSON_MARKS.iter().any(|k| obj.contains_key(*k))
                || obj
                    .get("status")
                    .and_then(Value::as_str)
                    .is_some_and(|s| matches!(s, "OK" | "NODATA" | "SKIPDATA"));
            // The cheap test first: this runs for every JSON record of an `auto` source.
            marked
                && obj
                    .keys()
                    .all(|k| k.starts_with("p_") || FIELD_NAMES.iter().any(|(_, json)| json == k))
        }
        Shape::Text(line) => {
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            if is_header(&words) {
                return true;
            }
            let eni = words.iter().any(|w| w.starts_with("eni-"));
            match words.first() {
                Some(&"2") => words.len() == DEFAULT_FIELDS.len() && words[2].starts_with("eni-"),
                Some(&("3" | "4" | "5")) => {
                    eni && words
                        .iter()
                        .any(|w| matches!(*w, "OK" | "NODATA" | "SKIPDATA"))
                }
                _ => false,
            }
        }
    }
}

/// Flow log parser; remembers the field order of the last header line.
#[derive(Debug, Default)]
pub(crate) struct VpcFlowParser {
    /// Field names of the last header line; `None` means the default version 2 order.
    header: Option<Vec<String>>,
}

impl VpcFlowParser {
    /// Normalizes one record. A header line sets the field order and yields no event; a data
    /// line must have as many fields as the header (14 without one); a JSON row is mapped
    /// from Panther's names.
    pub(crate) fn parse(
        &mut self,
        record: &[u8],
        ctx: &ParseContext<'_>,
    ) -> Result<Vec<Event>, ParseError> {
        if starts_as_json_object(record) {
            let obj = json_object(record)?;
            let flow = Flow::from_json(&obj)?;
            let mut e = flow.event(ctx, obj.get("p_event_time").and_then(parse_time));
            let time_not_parsed = flow.time_not_parsed;
            e.set("unmapped", Value::Object(obj));
            mark_unparsed_time(&mut e, !time_not_parsed);
            return Ok(vec![e]);
        }
        let line = text(record)?;
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        if is_header(&words) {
            self.header = Some(words.iter().map(|w| (*w).to_owned()).collect());
            return Ok(Vec::new());
        }
        let names: Vec<&str> = match &self.header {
            Some(h) => h.iter().map(String::as_str).collect(),
            None => DEFAULT_FIELDS.to_vec(),
        };
        if words.len() != names.len() {
            let detail = match self.header {
                Some(_) => format!(
                    "the line has {} fields, the header names {}",
                    words.len(),
                    names.len()
                ),
                None => format!(
                    "expected the 14 fields of the default format (or a header line first), found {}",
                    words.len()
                ),
            };
            return Err(ParseError::Unrecognized {
                format: "vpcflow",
                detail,
            });
        }
        let flow = Flow::from_text(&names, &words)?;
        let mut unmapped = Map::new();
        for (name, value) in names.iter().zip(&words) {
            if *value == "-" {
                continue;
            }
            let v = match NUMERIC.contains(name) {
                true => value
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::from(*value)),
                false => Value::from(*value),
            };
            unmapped.insert((*name).to_owned(), v);
        }
        let mut e = flow.event(ctx, None);
        e.set("unmapped", Value::Object(unmapped));
        Ok(vec![e])
    }
}

/// Is this line a header: every word a lower-case field-name-like token, at least three of
/// them documented names?
fn is_header(words: &[&str]) -> bool {
    words.len() >= HEADER_MIN_KNOWN
        && words.iter().all(|w| {
            w.starts_with(|c: char| c.is_ascii_lowercase())
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && words
            .iter()
            .filter(|w| FIELD_NAMES.iter().any(|(name, _)| name == *w))
            .count()
            >= HEADER_MIN_KNOWN
}

/// One flow record's mapped fields, from either shape.
#[derive(Debug, Default)]
struct Flow<'a> {
    account: Option<&'a str>,
    interface: Option<&'a str>,
    src_addr: Option<&'a str>,
    dst_addr: Option<&'a str>,
    src_port: Option<i64>,
    dst_port: Option<i64>,
    protocol: Option<i64>,
    packets: Option<i64>,
    bytes: Option<i64>,
    start: Option<i64>,
    end: Option<i64>,
    action: Option<&'a str>,
    log_status: Option<&'a str>,
    vpc: Option<&'a str>,
    subnet: Option<&'a str>,
    instance: Option<&'a str>,
    tcp_flags: Option<i64>,
    region: Option<&'a str>,
    az: Option<&'a str>,
    direction: Option<&'a str>,
    traffic_path: Option<i64>,
    /// A JSON `start` or `end` was present but not a time.
    time_not_parsed: bool,
}

impl<'a> Flow<'a> {
    /// From a text line's words under the given names; numeric fields must be integers.
    fn from_text(names: &[&str], words: &[&'a str]) -> Result<Flow<'a>, ParseError> {
        let mut flow = Flow::default();
        for (name, word) in names.iter().zip(words) {
            if *word == "-" {
                continue;
            }
            let int = || {
                word.parse::<i64>().map_err(|_| ParseError::WrongType {
                    field: (*name).to_owned(),
                    expected: "an integer",
                })
            };
            flow.assign(name, Some(word), int)?;
        }
        Ok(flow)
    }

    /// From Panther's JSON row; numeric fields may be numbers or digit strings, `start` / `end`
    /// epoch seconds or RFC 3339 times (one that is neither is left out and flagged).
    fn from_json(obj: &'a Map<String, Value>) -> Result<Flow<'a>, ParseError> {
        let mut flow = Flow::default();
        for (name, json) in FIELD_NAMES {
            let Some(v) = obj.get(*json).filter(|v| !v.is_null()) else {
                continue;
            };
            if matches!(*name, "start" | "end") {
                // A time that is not a time leaves the fallback time, marked.
                match parse_time(v) {
                    Some(ms) if *name == "start" => flow.start = Some(ms / 1000),
                    Some(ms) => flow.end = Some(ms / 1000),
                    None => flow.time_not_parsed = true,
                }
                continue;
            }
            let int = || {
                let n = match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.parse::<i64>().ok(),
                    _ => None,
                };
                n.ok_or_else(|| ParseError::WrongType {
                    field: (*json).to_owned(),
                    expected: "an integer",
                })
            };
            flow.assign(name, v.as_str(), int)?;
        }
        Ok(flow)
    }

    /// Stores one field by its AWS name: text fields from `text`, numeric ones from `int`.
    fn assign(
        &mut self,
        name: &str,
        text: Option<&'a str>,
        int: impl Fn() -> Result<i64, ParseError>,
    ) -> Result<(), ParseError> {
        match name {
            "account-id" => self.account = text,
            "interface-id" => self.interface = text,
            "srcaddr" => self.src_addr = text,
            "dstaddr" => self.dst_addr = text,
            "srcport" => self.src_port = Some(int()?),
            "dstport" => self.dst_port = Some(int()?),
            "protocol" => self.protocol = Some(int()?),
            "packets" => self.packets = Some(int()?),
            "bytes" => self.bytes = Some(int()?),
            "start" => self.start = Some(int()?),
            "end" => self.end = Some(int()?),
            "action" => self.action = text,
            "log-status" => self.log_status = text,
            "vpc-id" => self.vpc = text,
            "subnet-id" => self.subnet = text,
            "instance-id" => self.instance = text,
            "tcp-flags" => self.tcp_flags = Some(int()?),
            "region" => self.region = text,
            "az-id" => self.az = text,
            "flow-direction" => self.direction = text,
            "traffic-path" => self.traffic_path = Some(int()?),
            _ => {}
        }
        Ok(())
    }

    /// The Network Activity event (without `unmapped`). Without `start` the time is
    /// `fallback` (Panther's `p_event_time`) or the receive time.
    fn event(&self, ctx: &ParseContext<'_>, fallback: Option<i64>) -> Event {
        let no_data = matches!(self.log_status, Some("NODATA" | "SKIPDATA"));
        let activity = match (no_data, self.action) {
            (true, _) => 99,
            (false, Some("REJECT")) => 5,
            _ => 6,
        };
        let time = self
            .start
            .and_then(|s| s.checked_mul(1000))
            .or(fallback)
            .unwrap_or_else(|| ctx.received_at_ms());
        let mut e = Event::new(Class::NetworkActivity, activity, time);
        e.set("metadata.product.name", "Amazon VPC")
            .set("metadata.product.vendor_name", "AWS")
            .set("metadata.log_name", "VPC Flow Logs");
        e.set("cloud.provider", "AWS");
        e.set_opt(
            "cloud.account.uid",
            self.account.filter(|a| *a != "unknown"),
        );
        e.set_opt("cloud.region", self.region);
        e.set_opt("cloud.zone", self.az);
        // A start/end too large to be a time in ms is left out, not wrapped (fuzz finding).
        e.set_opt("start_time", self.start.and_then(|s| s.checked_mul(1000)));
        e.set_opt("end_time", self.end.and_then(|s| s.checked_mul(1000)));
        e.set_opt("status_detail", self.log_status);
        if no_data {
            return e;
        }
        match self.action {
            Some("ACCEPT") => {
                e.set("action_id", 1).set("action", "Allowed");
                e.set("disposition_id", 1).set("disposition", "Allowed");
            }
            Some("REJECT") => {
                e.set("action_id", 2).set("action", "Denied");
                e.set("disposition_id", 2).set("disposition", "Blocked");
            }
            _ => {}
        }
        e.set_opt("src_endpoint.ip", self.src_addr);
        e.set_opt("src_endpoint.port", self.src_port);
        e.set_opt("dst_endpoint.ip", self.dst_addr);
        e.set_opt("dst_endpoint.port", self.dst_port);
        // The interface whose traffic was captured is the destination of ingress traffic and
        // the source of anything else.
        let side = if self.direction == Some("ingress") {
            "dst_endpoint"
        } else {
            "src_endpoint"
        };
        e.set_opt(format!("{side}.interface_uid"), self.interface);
        e.set_opt(format!("{side}.instance_uid"), self.instance);
        e.set_opt(format!("{side}.vpc_uid"), self.vpc);
        e.set_opt(format!("{side}.subnet_uid"), self.subnet);
        if let Some(p) = self.protocol {
            e.set("connection_info.protocol_num", p);
            e.set_opt("connection_info.protocol_name", protocol_name(p));
        }
        e.set_opt("connection_info.tcp_flags", self.tcp_flags);
        match self.direction {
            Some("ingress") => {
                e.set("connection_info.direction_id", 1)
                    .set("connection_info.direction", "Inbound");
            }
            Some("egress") => {
                e.set("connection_info.direction_id", 2)
                    .set("connection_info.direction", "Outbound");
            }
            _ => {}
        }
        // traffic-path 1–8 are OCSF boundary ids 4–11 (Same VPC … Internet Gateway).
        if let Some(path) = self.traffic_path.filter(|p| (1..=8).contains(p)) {
            e.set("connection_info.boundary_id", path + 3);
        }
        e.set_opt("traffic.packets", self.packets);
        e.set_opt("traffic.bytes", self.bytes);
        e
    }
}

/// IANA keyword of the common protocol numbers.
fn protocol_name(num: i64) -> Option<&'static str> {
    Some(match num {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        47 => "gre",
        50 => "esp",
        58 => "ipv6-icmp",
        _ => return None,
    })
}
