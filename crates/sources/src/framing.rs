//! From received bytes to records: gzip detection, record framing, size limits.

use std::io::Read;

use evident_model::Framing;
use serde_json::value::RawValue;

/// Size limits that protect memory; anything above is refused with a precise error.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest single record.
    pub max_record_bytes: usize,
    /// Largest body after decompression.
    pub max_decoded_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: 1 << 20,
            max_decoded_bytes: 100 << 20,
        }
    }
}

/// A body that cannot be split at all. Nothing from it is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The gzip stream is cut short or corrupt.
    #[error("gzip data is corrupt or truncated after {decoded} decompressed bytes: {reason}")]
    Gzip {
        /// Bytes decompressed before the failure.
        decoded: usize,
        /// The decoder's message.
        reason: String,
    },
    /// Decompressed size above [`Limits::max_decoded_bytes`].
    #[error("decompressed body exceeds the limit of {limit} bytes")]
    DecodedTooLarge {
        /// The limit.
        limit: usize,
    },
    /// One record above [`Limits::max_record_bytes`].
    #[error("record on line {line} is {size} bytes, over the record limit of {limit} bytes")]
    RecordTooLarge {
        /// 1-based line where the record starts.
        line: usize,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// One record cut from a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// 1-based line where the record starts.
    pub line: usize,
    /// Exact bytes (no line terminator).
    pub bytes: &'a [u8],
}

/// A record that was kept but is not well-formed for its framing.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordWarning {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub error: String,
}

/// The records of a body plus notes about malformed ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split<'a> {
    /// Records in order.
    pub records: Vec<Record<'a>>,
    /// Records that were kept but do not parse.
    pub warnings: Vec<RecordWarning>,
}

/// Gunzips `body` if it starts with the gzip magic bytes; returns it unchanged otherwise.
/// Concatenated gzip members (as `cat a.gz b.gz` makes) are all decoded.
pub fn decode_body<'a>(
    body: &'a [u8],
    limits: &Limits,
) -> Result<std::borrow::Cow<'a, [u8]>, BodyError> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(body));
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(body)
        .take((limits.max_decoded_bytes as u64).saturating_add(1));
    decoder.read_to_end(&mut out).map_err(|e| BodyError::Gzip {
        decoded: out.len(),
        reason: e.to_string(),
    })?;
    if out.len() > limits.max_decoded_bytes {
        return Err(BodyError::DecodedTooLarge {
            limit: limits.max_decoded_bytes,
        });
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// Splits a (decoded) body into records.
///
/// - [`Framing::Lines`]: every non-empty line (LF or CRLF) is a record; invalid UTF-8 is
///   kept and noted.
/// - [`Framing::Json`]: a body starting with `[` is a JSON array whose elements are the
///   records; an object with a `Records` array (CloudTrail files) yields its elements;
///   otherwise every non-empty line is a record and lines that are not JSON are noted.
///   A body that looks like an array or `Records` file but does not parse falls back to
///   lines, with a note, so nothing is lost.
pub fn split_records<'a>(
    body: &'a [u8],
    framing: Framing,
    limits: &Limits,
) -> Result<Split<'a>, BodyError> {
    let split = match framing {
        Framing::Lines => split_lines(body, false),
        Framing::Json => split_json(body),
    };
    for r in &split.records {
        if r.bytes.len() > limits.max_record_bytes {
            return Err(BodyError::RecordTooLarge {
                line: r.line,
                size: r.bytes.len(),
                limit: limits.max_record_bytes,
            });
        }
    }
    Ok(split)
}

fn split_lines(body: &[u8], json: bool) -> Split<'_> {
    let mut split = Split::default();
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let n = i + 1;
        if json {
            if let Err(e) = serde_json::from_slice::<&RawValue>(line) {
                split.warnings.push(RecordWarning {
                    line: n,
                    error: format!("not valid JSON: {e}"),
                });
            }
        } else if let Err(e) = std::str::from_utf8(line) {
            split.warnings.push(RecordWarning {
                line: n,
                error: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            });
        }
        split.records.push(Record {
            line: n,
            bytes: line,
        });
    }
    split
}

/// A CloudTrail log file: `{"Records": [...]}`.
#[derive(serde::Deserialize)]
struct RecordsFile<'a> {
    #[serde(borrow, rename = "Records")]
    records: Vec<&'a RawValue>,
}

fn split_json(body: &[u8]) -> Split<'_> {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let trimmed = &body[start..];
    if trimmed.first() == Some(&b'[') {
        return match serde_json::from_slice::<Vec<&RawValue>>(trimmed) {
            Ok(items) => elements(body, items),
            Err(e) => with_note(
                split_lines(body, true),
                format!("not a valid JSON array ({e}); split into lines instead"),
            ),
        };
    }
    if trimmed.first() == Some(&b'{') {
        if let Ok(file) = serde_json::from_slice::<RecordsFile<'_>>(trimmed) {
            return elements(body, file.records);
        }
        if !single_line(trimmed) && serde_json::from_slice::<&RawValue>(trimmed).is_ok() {
            // One pretty-printed JSON document.
            let end = body.len()
                - body
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
            return Split {
                records: vec![Record {
                    line: line_of(body, start),
                    bytes: &body[start..end],
                }],
                warnings: Vec::new(),
            };
        }
    }
    split_lines(body, true)
}

/// True when the body holds at most one non-empty line.
fn single_line(b: &[u8]) -> bool {
    b.split(|&c| c == b'\n')
        .filter(|l| !l.iter().all(|c| c.is_ascii_whitespace()))
        .count()
        <= 1
}

fn elements<'a>(body: &'a [u8], items: Vec<&'a RawValue>) -> Split<'a> {
    let records = items
        .into_iter()
        .map(|raw| {
            let bytes = raw.get().as_bytes();
            // RawValue borrows from `body`, so the element's position is its offset in it.
            let offset = (bytes.as_ptr() as usize).saturating_sub(body.as_ptr() as usize);
            Record {
                line: line_of(body, offset),
                bytes,
            }
        })
        .collect();
    Split {
        records,
        warnings: Vec::new(),
    }
}

fn line_of(body: &[u8], offset: usize) -> usize {
    1 + body[..offset.min(body.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn with_note(mut split: Split<'_>, note: String) -> Split<'_> {
    split.warnings.insert(
        0,
        RecordWarning {
            line: 1,
            error: note,
        },
    );
    split
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lim() -> Limits {
        Limits::default()
    }

    #[test]
    fn lines_keep_exact_bytes_and_flag_invalid_utf8() {
        let body = b"first\r\n\n  \nsec\xffond\nthird";
        let s = split_records(body, Framing::Lines, &lim()).unwrap();
        let got: Vec<(usize, &[u8])> = s.records.iter().map(|r| (r.line, r.bytes)).collect();
        assert_eq!(
            got,
            vec![
                (1, &b"first"[..]),
                (4, &b"sec\xffond"[..]),
                (5, &b"third"[..])
            ]
        );
        assert_eq!(
            s.warnings,
            vec![RecordWarning {
                line: 4,
                error: "invalid UTF-8 at byte 3".into()
            }]
        );
    }

    #[test]
    fn ndjson_keeps_bad_lines_and_names_them() {
        let body = b"{\"a\":1}\n{\"b\":\n{\"c\":3}\n";
        let s = split_records(body, Framing::Json, &lim()).unwrap();
        assert_eq!(s.records.len(), 3);
        assert_eq!(s.records[1].bytes, b"{\"b\":");
        assert_eq!(s.warnings.len(), 1);
        assert_eq!(s.warnings[0].line, 2);
        assert!(
            s.warnings[0]
                .error
                .starts_with("not valid JSON: EOF while parsing")
        );
    }

    #[test]
    fn json_array_and_cloudtrail_records_yield_exact_element_bytes() {
        let body = b"[\n {\"a\": 1},\n {\"b\": [2, 3]}\n]";
        let s = split_records(body, Framing::Json, &lim()).unwrap();
        let got: Vec<(usize, &[u8])> = s.records.iter().map(|r| (r.line, r.bytes)).collect();
        assert_eq!(
            got,
            vec![(2, &b"{\"a\": 1}"[..]), (3, &b"{\"b\": [2, 3]}"[..])]
        );
        let ct = b"{\"Records\":[{\"eventName\":\"A\"},{\"eventName\":\"B\"}]}";
        let s = split_records(ct, Framing::Json, &lim()).unwrap();
        assert_eq!(
            s.records.iter().map(|r| r.bytes).collect::<Vec<_>>(),
            vec![&b"{\"eventName\":\"A\"}"[..], b"{\"eventName\":\"B\"}"]
        );
    }

    #[test]
    fn pretty_printed_document_is_one_record() {
        let body = b"{\n  \"a\": 1,\n  \"b\": 2\n}\n";
        let s = split_records(body, Framing::Json, &lim()).unwrap();
        assert_eq!(s.records.len(), 1);
        assert_eq!(s.records[0].bytes, &body[..body.len() - 1]);
    }

    #[test]
    fn broken_array_falls_back_to_lines_with_a_note() {
        let body = b"[{\"a\":1},\n{\"b\":";
        let s = split_records(body, Framing::Json, &lim()).unwrap();
        assert_eq!(s.records.len(), 2);
        assert!(s.warnings[0].error.starts_with("not a valid JSON array"));
    }

    #[test]
    fn oversized_record_is_refused_with_its_line() {
        let limits = Limits {
            max_record_bytes: 4,
            ..Limits::default()
        };
        let err = split_records(b"ok\ntoolong\n", Framing::Lines, &limits).unwrap_err();
        assert_eq!(
            err,
            BodyError::RecordTooLarge {
                line: 2,
                size: 7,
                limit: 4
            }
        );
        assert_eq!(
            err.to_string(),
            "record on line 2 is 7 bytes, over the record limit of 4 bytes"
        );
    }

    #[test]
    fn gzip_is_detected_and_truncation_reported() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"a\nb\n").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(&*decode_body(&gz, &lim()).unwrap(), b"a\nb\n");
        assert_eq!(&*decode_body(b"plain", &lim()).unwrap(), b"plain");
        let err = decode_body(&gz[..gz.len() - 6], &lim()).unwrap_err();
        assert!(matches!(err, BodyError::Gzip { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("gzip data is corrupt or truncated")
        );
        let small = Limits {
            max_decoded_bytes: 2,
            ..Limits::default()
        };
        assert_eq!(
            decode_body(&gz, &small).unwrap_err(),
            BodyError::DecodedTooLarge { limit: 2 }
        );
    }
}
