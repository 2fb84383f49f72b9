//! The ledger entry: a versioned binary record of what was received, when, from whom. Its
//! exact bytes are the Merkle leaf, so the encoding is strict and canonical.

/// Entry format version written by this code.
pub const ENTRY_VERSION: u8 = 1;

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A log record received from a source.
    Log,
    /// An action on Evident itself (login, export, case change, …).
    Audit,
}

impl EntryKind {
    fn to_byte(self) -> u8 {
        match self {
            EntryKind::Log => 1,
            EntryKind::Audit => 2,
        }
    }

    fn from_byte(b: u8) -> Option<EntryKind> {
        match b {
            1 => Some(EntryKind::Log),
            2 => Some(EntryKind::Audit),
            _ => None,
        }
    }

    /// Lowercase name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Log => "log",
            EntryKind::Audit => "audit",
        }
    }
}

/// One ledger record. `body` is the raw bytes exactly as received; `metadata` holds
/// receiver facts (peer address, credential id, format hint) as ordered key/value pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Log record or audit record.
    pub kind: EntryKind,
    /// When Evident received it, nanoseconds since the Unix epoch.
    pub received_at_ns: u64,
    /// Source name (for audit entries, the subsystem).
    pub source: String,
    /// Receiver facts; keys ≤ 255 bytes, values ≤ 65535 bytes, at most 65535 pairs.
    pub metadata: Vec<(String, String)>,
    /// The record exactly as received.
    pub body: Vec<u8>,
}

/// Why bytes are not a valid entry, or an entry cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// Unknown version byte.
    #[error("unsupported entry version {0}")]
    Version(u8),
    /// Unknown kind byte.
    #[error("unknown entry kind {0}")]
    Kind(u8),
    /// The bytes end inside a field.
    #[error("entry truncated while reading {0}")]
    Truncated(&'static str),
    /// Bytes left over after the body.
    #[error("{0} unexpected bytes after the entry body")]
    Trailing(usize),
    /// A name or metadata string is not UTF-8.
    #[error("{0} is not valid UTF-8")]
    Utf8(&'static str),
    /// A field is too long for its length prefix.
    #[error("{0} is too long to encode")]
    TooLong(&'static str),
}

impl Entry {
    /// A log entry with no metadata.
    pub fn log(source: &str, received_at_ns: u64, body: Vec<u8>) -> Entry {
        Entry {
            kind: EntryKind::Log,
            received_at_ns,
            source: source.to_owned(),
            metadata: Vec::new(),
            body,
        }
    }

    /// Value of a metadata key, if present.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Appends the canonical encoding to `out`: the leaf bytes.
    ///
    /// Layout (integers big-endian): version u8, kind u8, received_at_ns u64,
    /// source (u16 len, bytes), metadata count u16 then per pair (u8 len, key, u16 len,
    /// value), body (u32 len, bytes).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EntryError> {
        out.push(ENTRY_VERSION);
        out.push(self.kind.to_byte());
        out.extend_from_slice(&self.received_at_ns.to_be_bytes());
        put_u16_bytes(out, self.source.as_bytes(), "source")?;
        let count =
            u16::try_from(self.metadata.len()).map_err(|_| EntryError::TooLong("metadata"))?;
        out.extend_from_slice(&count.to_be_bytes());
        for (k, v) in &self.metadata {
            let kl = u8::try_from(k.len()).map_err(|_| EntryError::TooLong("metadata key"))?;
            out.push(kl);
            out.extend_from_slice(k.as_bytes());
            put_u16_bytes(out, v.as_bytes(), "metadata value")?;
        }
        let bl = u32::try_from(self.body.len()).map_err(|_| EntryError::TooLong("body"))?;
        out.extend_from_slice(&bl.to_be_bytes());
        out.extend_from_slice(&self.body);
        Ok(())
    }

    /// The canonical encoding as a new vector.
    pub fn encode(&self) -> Result<Vec<u8>, EntryError> {
        let mut out = Vec::with_capacity(32 + self.source.len() + self.body.len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Decodes entry bytes; rejects anything [`Entry::encode`] would not produce.
    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        let mut r = Reader(bytes);
        let version = r.u8("version")?;
        if version != ENTRY_VERSION {
            return Err(EntryError::Version(version));
        }
        let kind_byte = r.u8("kind")?;
        let kind = EntryKind::from_byte(kind_byte).ok_or(EntryError::Kind(kind_byte))?;
        let received_at_ns = u64::from_be_bytes(r.array("received-at")?);
        let source_len = u16::from_be_bytes(r.array("source length")?) as usize;
        let source = r.string(source_len, "source")?;
        let count = u16::from_be_bytes(r.array("metadata count")?);
        let mut metadata = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let kl = r.u8("metadata key length")? as usize;
            let k = r.string(kl, "metadata key")?;
            let vl = u16::from_be_bytes(r.array("metadata value length")?) as usize;
            let v = r.string(vl, "metadata value")?;
            metadata.push((k, v));
        }
        let bl = u32::from_be_bytes(r.array("body length")?) as usize;
        let body = r.take(bl, "body")?.to_vec();
        if !r.0.is_empty() {
            return Err(EntryError::Trailing(r.0.len()));
        }
        Ok(Entry {
            kind,
            received_at_ns,
            source,
            metadata,
            body,
        })
    }
}

fn put_u16_bytes(out: &mut Vec<u8>, b: &[u8], what: &'static str) -> Result<(), EntryError> {
    let l = u16::try_from(b.len()).map_err(|_| EntryError::TooLong(what))?;
    out.extend_from_slice(&l.to_be_bytes());
    out.extend_from_slice(b);
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], EntryError> {
        if self.0.len() < n {
            return Err(EntryError::Truncated(what));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, EntryError> {
        Ok(self.take(1, what)?[0])
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], EntryError> {
        let b = self.take(N, what)?;
        <[u8; N]>::try_from(b).map_err(|_| EntryError::Truncated(what))
    }

    fn string(&mut self, n: usize, what: &'static str) -> Result<String, EntryError> {
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| EntryError::Utf8(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        Entry {
            kind: EntryKind::Audit,
            received_at_ns: 1_764_150_000_123_456_789,
            source: "okta".into(),
            metadata: vec![("peer".into(), "10.0.0.1:5555".into())],
            body: b"{\"a\":1}\n\xff".to_vec(),
        }
    }

    #[test]
    fn encoding_is_frozen() {
        // Changing this layout changes every leaf hash: bump ENTRY_VERSION instead.
        let bytes = sample().encode().unwrap();
        let expect: Vec<u8> = [
            &[1u8, 2][..],
            &1_764_150_000_123_456_789u64.to_be_bytes(),
            &[0, 4],
            b"okta",
            &[0, 1, 4],
            b"peer",
            &[0, 13],
            b"10.0.0.1:5555",
            &[0, 0, 0, 9],
            b"{\"a\":1}\n\xff",
        ]
        .concat();
        assert_eq!(bytes, expect);
        assert_eq!(Entry::decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn decode_names_the_damage() {
        let bytes = sample().encode().unwrap();
        assert_eq!(
            Entry::decode(&bytes[..bytes.len() - 1]),
            Err(EntryError::Truncated("body"))
        );
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(Entry::decode(&extra), Err(EntryError::Trailing(1)));
        let mut v = bytes.clone();
        v[0] = 9;
        assert_eq!(Entry::decode(&v), Err(EntryError::Version(9)));
        let mut k = bytes;
        k[1] = 7;
        assert_eq!(Entry::decode(&k), Err(EntryError::Kind(7)));
    }
}
