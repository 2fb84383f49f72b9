//! The space-separated access log lines AWS writes for Application Load Balancers and S3
//! server access (`aws_alb`, `s3_access`): how a line splits into fields, the checks and
//! `unmapped` conventions both readers apply to it, and the HTTP status both map.

use evident_model::Event;
use serde_json::{Map, Value};

use super::util;
use crate::parse::ParseError;

/// Splits an access log line (line ending removed) into fields and refuses one with fewer than
/// `min_fields`: both formats need their fields up to a known one to be a log line at all.
pub(super) fn split_line<'a>(
    line: &'a str,
    format: &'static str,
    min_fields: usize,
) -> Result<Vec<&'a str>, ParseError> {
    let values = split_fields(line.trim_end_matches(['\r', '\n']), format)?;
    if values.len() < min_fields {
        return Err(ParseError::Unrecognized {
            format,
            detail: format!(
                "expected at least {min_fields} space-separated fields, found {}",
                values.len()
            ),
        });
    }
    Ok(values)
}

/// Splits an AWS access log line into fields: separated by spaces; a field in double quotes
/// runs to the quote that is followed by a space or the end (so a quote inside a user agent
/// survives unless a space follows it); a field in brackets runs to the closing bracket when
/// a space or the end follows it. Quotes and those brackets are removed.
pub(super) fn split_fields<'a>(
    line: &'a str,
    format: &'static str,
) -> Result<Vec<&'a str>, ParseError> {
    let bytes = line.as_bytes();
    let mut fields = Vec::with_capacity(32);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' {
            i += 1;
            continue;
        }
        // `[06/Feb/2019:00:00:38 +0000]` is one field; `[2001:db8::7]:443` is a plain one.
        let bracket_end = (bytes[i] == b'[')
            .then(|| bytes[i..].iter().position(|b| *b == b']'))
            .flatten()
            .map(|p| i + p)
            .filter(|&c| c + 1 == bytes.len() || bytes[c + 1] == b' ');
        let (field, next) = if bytes[i] == b'"' {
            let mut j = i + 1;
            loop {
                match bytes[j..].iter().position(|b| *b == b'"') {
                    Some(p) if j + p + 1 == bytes.len() || bytes[j + p + 1] == b' ' => {
                        break (&line[i + 1..j + p], j + p + 1);
                    }
                    Some(p) => j += p + 1,
                    None => {
                        return Err(ParseError::Unrecognized {
                            format,
                            detail: format!("unterminated quoted field at byte {i}"),
                        });
                    }
                }
            }
        } else if let Some(close) = bracket_end {
            (&line[i + 1..close], close + 1)
        } else {
            let end = bytes[i..]
                .iter()
                .position(|b| *b == b' ')
                .map_or(bytes.len(), |p| i + p);
            (&line[i..end], end)
        };
        fields.push(field);
        i = next;
    }
    Ok(fields)
}

/// Keeps the fields a line has past its `documented` ones under `additionalFields`, as
/// Panther's JSON rows do, so that AWS adding a field loses nothing.
pub(super) fn insert_additional_fields(
    map: &mut Map<String, Value>,
    values: &[&str],
    documented: usize,
) {
    if values.len() > documented {
        let extra: Vec<Value> = values[documented..]
            .iter()
            .map(|v| Value::from(*v))
            .collect();
        map.insert("additionalFields".into(), extra.into());
    }
}

/// Sets `http_response.code`, `status_code` and the status (Failure from 400 up) from the
/// HTTP status a line or row records.
pub(super) fn set_http_response(e: &mut Event, code: i64) {
    e.set("http_response.code", code);
    e.set("status_code", code.to_string());
    e.set_status(util::http_status(code));
}
