//! RFC 6587 framing of a syslog byte stream (TCP and TLS), detected per frame: a frame that
//! starts with `MSG-LEN SP` (a non-zero digit, at most nine digits, a space) is
//! octet-counted; any other frame ends at LF (a CR before it is dropped) or NUL
//! ("non-transparent framing"). Senders that mix both, or put a newline after an
//! octet-counted frame, are read correctly: empty lines between frames are skipped.
//!
//! A frame over the size limit is reported and skipped, never buffered: an octet-counted one
//! by skipping exactly its declared length, a line by discarding up to its terminator. Either
//! way the stream is back in sync at the next frame. Memory per connection stays below the
//! limit plus one read.

/// What [`Framer`] found in the stream.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Frame<'a> {
    /// One message without its framing (octet count, LF / CRLF / NUL terminator).
    Message(&'a [u8]),
    /// A frame over the limit, skipped. `len` is the declared length of an octet-counted
    /// frame, or for a line, how much of it had arrived when it passed the limit.
    Oversized {
        /// Bytes declared or seen.
        len: usize,
        /// Octet-counted (`len` is exact) or a line (`len` is a lower bound).
        counted: bool,
    },
    /// The stream ended inside an octet-counted frame.
    Truncated {
        /// The length the frame declared.
        declared: usize,
        /// The bytes of it that arrived.
        got: usize,
    },
}

/// Splits a byte stream, fed in arbitrary pieces, into syslog frames.
#[derive(Debug)]
pub(super) struct Framer {
    /// Largest message accepted (`ingest.max_record_bytes`).
    max: usize,
    /// Bytes of an incomplete frame; always starts at a frame boundary, and is empty while
    /// skipping.
    pending: Vec<u8>,
    /// For a line in `pending`: how many of its bytes are known to hold no terminator, so
    /// a long line arriving in many reads is searched once, not once per read.
    scanned: usize,
    /// Where in the stream the framer is.
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At a frame boundary.
    Frame,
    /// Inside an oversized octet-counted frame: this many bytes are still to skip.
    SkipCount(usize),
    /// Inside an oversized line: skip up to and including its terminator.
    SkipLine,
}

/// What the start of a frame says about its framing.
enum Header {
    /// `MSG-LEN SP`: `digits` digits declaring `len` bytes.
    Counted { digits: usize, len: usize },
    /// Only digits so far; the next read decides.
    Undecided,
    /// Not octet-counted: a line.
    Line,
}

/// Most digits of an octet count (just under 1 GB): a longer run of digits is text.
const MAX_COUNT_DIGITS: usize = 9;

impl Framer {
    /// A framer for messages of at most `max` bytes.
    pub(super) fn new(max: usize) -> Framer {
        Framer {
            max,
            pending: Vec::new(),
            scanned: 0,
            state: State::Frame,
        }
    }

    /// Feeds the next bytes of the stream, calling `emit` for every frame they complete.
    pub(super) fn push(&mut self, data: &[u8], mut emit: impl FnMut(Frame<'_>)) {
        if self.pending.is_empty() {
            let used = self.scan(data, false, &mut emit);
            self.pending.extend_from_slice(&data[used..]);
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(data);
            let used = self.scan(&pending, false, &mut emit);
            pending.drain(..used);
            self.pending = pending;
        }
    }

    /// The stream ended: an unterminated last line is a message, an incomplete
    /// octet-counted frame is [`Frame::Truncated`].
    pub(super) fn finish(&mut self, mut emit: impl FnMut(Frame<'_>)) {
        let pending = std::mem::take(&mut self.pending);
        self.scan(&pending, true, &mut emit);
        self.scanned = 0;
        self.state = State::Frame;
    }

    /// Emits the frames complete in `b` (which starts where the stream left off); returns
    /// how many bytes were consumed. The rest starts an incomplete frame (none at `eof`).
    fn scan(&mut self, b: &[u8], eof: bool, emit: &mut impl FnMut(Frame<'_>)) -> usize {
        let mut pos = 0;
        loop {
            match self.state {
                State::SkipCount(n) => {
                    let k = n.min(b.len() - pos);
                    pos += k;
                    if k < n {
                        self.state = State::SkipCount(n - k);
                        return pos;
                    }
                    self.state = State::Frame;
                }
                State::SkipLine => match find_terminator(&b[pos..]) {
                    Some(i) => {
                        pos += i + 1;
                        self.state = State::Frame;
                    }
                    None => return b.len(),
                },
                State::Frame => {
                    let rest = &b[pos..];
                    if rest.is_empty() {
                        return pos;
                    }
                    match octet_header(rest) {
                        Header::Counted { digits, len } => {
                            let body = pos + digits + 1;
                            let available = b.len() - body;
                            if len > self.max {
                                emit(Frame::Oversized { len, counted: true });
                                pos = body;
                                self.state = State::SkipCount(len);
                            } else if available >= len {
                                emit(Frame::Message(&b[body..body + len]));
                                pos = body + len;
                            } else if eof {
                                emit(Frame::Truncated {
                                    declared: len,
                                    got: available,
                                });
                                return b.len();
                            } else {
                                return pos;
                            }
                            continue;
                        }
                        Header::Undecided if !eof => return pos,
                        Header::Undecided | Header::Line => {}
                    }
                    // A line. `scanned` applies only to a line that starts `b`.
                    let from = if pos == 0 { self.scanned } else { 0 };
                    match find_terminator(&rest[from..]) {
                        Some(i) => {
                            let end = from + i;
                            let line = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
                            if line.len() > self.max {
                                emit(Frame::Oversized {
                                    len: line.len(),
                                    counted: false,
                                });
                            } else if !line.is_empty() {
                                emit(Frame::Message(line));
                            }
                            self.scanned = 0;
                            pos += end + 1;
                        }
                        // One more byte than the limit may be the CR of a CRLF.
                        None if rest.len() > self.max + 1 => {
                            emit(Frame::Oversized {
                                len: rest.len(),
                                counted: false,
                            });
                            self.scanned = 0;
                            self.state = State::SkipLine;
                            return b.len();
                        }
                        None if eof => {
                            let line = rest.strip_suffix(b"\r").unwrap_or(rest);
                            if line.len() > self.max {
                                emit(Frame::Oversized {
                                    len: line.len(),
                                    counted: false,
                                });
                            } else if !line.is_empty() {
                                emit(Frame::Message(line));
                            }
                            self.scanned = 0;
                            return b.len();
                        }
                        None => {
                            self.scanned = rest.len();
                            return pos;
                        }
                    }
                }
            }
        }
    }
}

/// Reads `MSG-LEN SP` at the start of a frame (RFC 6587 §3.4.1: a non-zero digit first).
fn octet_header(b: &[u8]) -> Header {
    if !matches!(b.first(), Some(b'1'..=b'9')) {
        return Header::Line;
    }
    let mut len = 0usize;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' if i < MAX_COUNT_DIGITS => len = len * 10 + usize::from(c - b'0'),
            b' ' => return Header::Counted { digits: i, len },
            _ => return Header::Line,
        }
    }
    Header::Undecided
}

/// Position of the first LF or NUL.
fn find_terminator(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n' || c == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a framer makes of `chunks`, as owned frames (`M`essage, `O`versized, `T`runcated).
    fn frames(max: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut framer = Framer::new(max);
        let mut out = Vec::new();
        let mut record = |f: Frame<'_>| {
            out.push(match f {
                Frame::Message(m) => format!("M:{}", String::from_utf8_lossy(m)),
                Frame::Oversized { len, counted } => format!("O:{len}:{counted}"),
                Frame::Truncated { declared, got } => format!("T:{declared}:{got}"),
            })
        };
        for c in chunks {
            framer.push(c, &mut record);
        }
        framer.finish(&mut record);
        out
    }

    #[test]
    fn octet_counting() {
        let stream = b"11 <13>1 - - a12 <13>1 - - bc";
        assert_eq!(frames(100, &[stream]), ["M:<13>1 - - a", "M:<13>1 - - bc"]);
    }

    #[test]
    fn lf_crlf_and_nul_terminators_and_blank_lines() {
        let stream = b"<13>one\n<13>two\r\n\n\r\n<13>three\0<13>four";
        assert_eq!(
            frames(100, &[stream]),
            ["M:<13>one", "M:<13>two", "M:<13>three", "M:<13>four"]
        );
    }

    #[test]
    fn mixed_framing_detected_per_frame() {
        // Counted, then a line, a counted frame followed by a stray LF, and a line that
        // starts with digits but is no count (an RFC 3339 timestamp).
        let stream = b"5 <13>a<13>line\n3 xyz\n2026-11-26T10:00:00Z h app: m\n";
        assert_eq!(
            frames(100, &[stream]),
            [
                "M:<13>a",
                "M:<13>line",
                "M:xyz",
                "M:2026-11-26T10:00:00Z h app: m"
            ]
        );
        // Ten digits before the space are text, not a count.
        assert_eq!(frames(100, &[b"1234567890 x\n"]), ["M:1234567890 x"]);
    }

    #[test]
    fn frames_split_across_reads_at_every_position() {
        let stream: &[u8] = b"12 <13>1 - - ab<13>line one\r\n9 <13>x\ny z<13>last";
        let whole = frames(100, &[stream]);
        assert_eq!(
            whole,
            [
                "M:<13>1 - - ab",
                "M:<13>line one",
                "M:<13>x\ny z",
                "M:<13>last"
            ]
        );
        for i in 0..stream.len() {
            for j in i..stream.len() {
                let pieces = [&stream[..i], &stream[i..j], &stream[j..]];
                assert_eq!(frames(100, &pieces), whole, "split at {i}, {j}");
            }
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(frames(100, &bytes), whole);
    }

    #[test]
    fn oversized_counted_frame_is_skipped_exactly() {
        let stream = b"4 abcd12 0123456789ab3 xyz";
        assert_eq!(frames(10, &[stream]), ["M:abcd", "O:12:true", "M:xyz"]);
        // The skipped bytes arrive over several reads.
        let pieces: Vec<&[u8]> = stream.chunks(3).collect();
        assert_eq!(frames(10, &pieces), ["M:abcd", "O:12:true", "M:xyz"]);
    }

    #[test]
    fn oversized_line_is_skipped_to_its_terminator() {
        // Whole in one read: the exact length is known.
        assert_eq!(
            frames(10, &[b"short\n0123456789abcdef\nafter\n"]),
            ["M:short", "O:16:false", "M:after"]
        );
        // Arriving in pieces: reported once, as soon as it passes the limit, and never
        // buffered past it.
        let mut framer = Framer::new(10);
        let mut out = Vec::new();
        for piece in [
            &b"short\n0123"[..],
            b"45678",
            b"9abcdef",
            b"ghij",
            b"\nafter\n",
        ] {
            framer.push(piece, |f| out.push(format!("{f:?}")));
            assert!(framer.pending.len() <= 12, "{}", framer.pending.len());
        }
        assert_eq!(
            out,
            [
                "Message([115, 104, 111, 114, 116])",
                "Oversized { len: 16, counted: false }",
                "Message([97, 102, 116, 101, 114])"
            ]
        );
        // A line of exactly the limit is a message, also with CRLF.
        assert_eq!(
            frames(10, &[b"0123456789\r", b"\n0123456789"]),
            ["M:0123456789", "M:0123456789"]
        );
        assert_eq!(frames(10, &[b"0123456789X"]), ["O:11:false"]);
    }

    #[test]
    fn stream_ending_inside_a_counted_frame_is_truncated() {
        assert_eq!(frames(100, &[b"3 abc10 12345"]), ["M:abc", "T:10:5"]);
        // Digits alone at the end are an unterminated line.
        assert_eq!(frames(100, &[b"3 abc42"]), ["M:abc", "M:42"]);
    }

    #[test]
    fn long_line_in_many_reads_is_scanned_once() {
        let mut framer = Framer::new(1 << 20);
        let chunk = [b'x'; 1000];
        let mut n = 0;
        for _ in 0..100 {
            framer.push(&chunk, |_| n += 1);
        }
        assert_eq!(
            (n, framer.scanned, framer.pending.len()),
            (0, 100_000, 100_000)
        );
        let mut len = 0;
        framer.push(b"\n", |f| {
            if let Frame::Message(m) = f {
                len = m.len();
            }
        });
        assert_eq!((len, framer.scanned, framer.pending.len()), (100_000, 0, 0));
    }
}
