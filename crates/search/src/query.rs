//! The query language, parsed by hand: a Lucene-like filter, then `|` pipes. A hand parser
//! (rather than tantivy's `QueryParser`) gives errors with a column and what was expected,
//! CIDR values for IP fields, OCSF dotted names mapped onto typed fields, and the pipes,
//! none of which tantivy's parser has. docs/search.md is the user reference.

use std::ops::Bound;

use serde::Serialize;

/// A parsed query: the filter and the pipes after it, in order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Query {
    /// Which events match.
    pub filter: Expr,
    /// What to do with them.
    pub pipes: Vec<Pipe>,
}

/// The filter part of a query.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Expr {
    /// Every event (empty filter or `*`).
    All,
    /// A bare word in the full text (may hold `*`/`?` wildcards).
    Text {
        /// The word.
        word: String,
        /// 1-based column where it starts.
        at: usize,
    },
    /// A bare quoted phrase in the full text.
    Phrase {
        /// The phrase.
        phrase: String,
        /// 1-based column where it starts.
        at: usize,
    },
    /// `field:value`.
    Field {
        /// Field name as written (`src_endpoint.ip`).
        field: String,
        /// The value.
        value: Value,
        /// 1-based column of the field name.
        at: usize,
    },
    /// `NOT x` or `-x`.
    Not {
        /// What must not match.
        expr: Box<Expr>,
    },
    /// Every one matches (`a AND b`, `a b`).
    And {
        /// The operands.
        exprs: Vec<Expr>,
    },
    /// Any one matches.
    Or {
        /// The operands.
        exprs: Vec<Expr>,
    },
}

/// A field's value in a filter.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Value {
    /// One value (a word, or a quoted string for keyword fields).
    Term {
        /// The text.
        text: String,
    },
    /// A quoted phrase.
    Phrase {
        /// The text.
        text: String,
    },
    /// A value with `*` or `?` wildcards.
    Wildcard {
        /// The pattern.
        pattern: String,
    },
    /// `[a TO b]`, `{a TO b}`, `>a`, `<=b`; `*` is an open end.
    Range {
        /// Lower end.
        #[serde(serialize_with = "ser_bound")]
        lower: Bound<String>,
        /// Upper end.
        #[serde(serialize_with = "ser_bound")]
        upper: Bound<String>,
    },
}

/// One pipe command.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Pipe {
    /// `stats count [by a,b]`.
    Stats {
        /// Group-by fields (none: one row, the total).
        by: Vec<String>,
    },
    /// `timechart SPAN count [by f]`.
    Timechart {
        /// Bucket width in ms.
        span_ms: i64,
        /// Split each bucket by this field.
        by: Option<String>,
    },
    /// `sort [-]field` (`-` = descending).
    Sort {
        /// Field or column.
        field: String,
        /// Descending.
        desc: bool,
    },
    /// `head N`.
    Head {
        /// How many.
        n: usize,
    },
    /// `fields a,b`.
    Fields {
        /// Field names to keep.
        names: Vec<String>,
    },
}

/// A query that does not parse: where (1-based line and column) and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("query:{line}:{column}: {message}")]
pub struct QueryError {
    /// Line (queries are one line, so 1 unless they hold newlines).
    pub line: usize,
    /// Column, counted in characters.
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

/// Parses a query.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    p.skip_ws();
    let filter = if p.at_end() || p.peek() == Some('|') {
        Expr::All
    } else {
        p.or()?
    };
    p.skip_ws();
    let mut pipes = Vec::new();
    while let Some(c) = p.peek() {
        if c == ')' {
            return Err(p.error(p.pos, "unexpected ')' without a matching '('"));
        }
        if c != '|' {
            return Err(p.error(p.pos, format!("unexpected {}", describe(c))));
        }
        p.pos += 1;
        pipes.push(p.pipe()?);
        p.skip_ws();
    }
    Ok(Query { filter, pipes })
}

/// Parses a span like `30s`, `5m`, `1h`, `1d` into milliseconds.
pub fn parse_span(text: &str) -> Option<i64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = text.split_at(split);
    let n: i64 = num.parse().ok().filter(|n| *n > 0)?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '|' | '"')
}

fn describe(c: char) -> String {
    format!("'{c}'")
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// An error at character offset `at` (0-based).
    fn error(&self, at: usize, message: impl Into<String>) -> QueryError {
        let before = &self.chars[..at.min(self.chars.len())];
        let line = 1 + before.iter().filter(|c| **c == '\n').count();
        let column = 1 + before.iter().rev().take_while(|c| **c != '\n').count();
        QueryError {
            line,
            column,
            message: message.into(),
        }
    }

    /// What is at the current position, for "expected …, found …".
    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the query".to_owned(),
            Some(c) => describe(c),
        }
    }

    /// The bare word at the current position (without consuming it), for keywords.
    fn word_ahead(&self) -> String {
        self.chars[self.pos..]
            .iter()
            .take_while(|c| !ends_word(**c))
            .collect()
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if self.word_ahead() == kw {
            self.pos += kw.chars().count();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut exprs = vec![self.and()?];
        loop {
            self.skip_ws();
            if self.keyword("OR") {
                self.skip_ws();
                if self.at_end() || matches!(self.peek(), Some(')' | '|')) {
                    return Err(self.error(
                        self.pos,
                        format!("expected a term after OR, found {}", self.found()),
                    ));
                }
                exprs.push(self.and()?);
            } else {
                break;
            }
        }
        Ok(if exprs.len() == 1 {
            exprs.remove(0)
        } else {
            Expr::Or { exprs }
        })
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut exprs = vec![self.unary()?];
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(')' | '|') => break,
                _ => {}
            }
            if self.word_ahead() == "OR" {
                break;
            }
            if self.keyword("AND") {
                self.skip_ws();
                if self.at_end() || matches!(self.peek(), Some(')' | '|')) {
                    return Err(self.error(
                        self.pos,
                        format!("expected a term after AND, found {}", self.found()),
                    ));
                }
            }
            exprs.push(self.unary()?);
        }
        Ok(if exprs.len() == 1 {
            exprs.remove(0)
        } else {
            Expr::And { exprs }
        })
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        self.skip_ws();
        if self.keyword("NOT") {
            self.skip_ws();
            if self.at_end() || matches!(self.peek(), Some(')' | '|')) {
                return Err(self.error(
                    self.pos,
                    format!("expected a term after NOT, found {}", self.found()),
                ));
            }
            return Ok(Expr::Not {
                expr: Box::new(self.unary()?),
            });
        }
        if self.peek() == Some('-')
            && self
                .chars
                .get(self.pos + 1)
                .is_some_and(|c| !ends_word(*c) || *c == '(' || *c == '"')
        {
            self.pos += 1;
            return Ok(Expr::Not {
                expr: Box::new(self.primary()?),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let start = self.pos;
        match self.peek() {
            None => Err(self.error(start, "expected a term, found the end of the query")),
            Some('(') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(')') {
                    return Err(self.error(self.pos, "expected a term inside '(' ')'"));
                }
                let e = self.or()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err(self.error(
                        self.pos,
                        format!(
                            "expected ')' to close the '(' at column {}, found {}",
                            start + 1,
                            self.found()
                        ),
                    ));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(')') => Err(self.error(start, "unexpected ')' without a matching '('")),
            Some('"') => {
                let phrase = self.quoted()?;
                Ok(Expr::Phrase {
                    phrase,
                    at: start + 1,
                })
            }
            Some(_) => {
                if let Some(field) = self.field_name() {
                    self.pos += field.chars().count() + 1;
                    let value = self.value()?;
                    return Ok(Expr::Field {
                        field,
                        value,
                        at: start + 1,
                    });
                }
                let word = self.word()?;
                if word == "*" {
                    return Ok(Expr::All);
                }
                Ok(Expr::Text {
                    word,
                    at: start + 1,
                })
            }
        }
    }

    /// `name:` ahead: a letter or `_`, then letters, digits, `_`, `.`, `@`, `-`.
    fn field_name(&self) -> Option<String> {
        let rest = &self.chars[self.pos..];
        let first = *rest.first()?;
        if !(first.is_ascii_alphabetic() || first == '_' || first == '@') {
            return None;
        }
        let len = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
            .count();
        (rest.get(len) == Some(&':')).then(|| rest[..len].iter().collect())
    }

    /// A field's value after `:`.
    fn value(&mut self) -> Result<Value, QueryError> {
        match self.peek() {
            None => Err(self.error(self.pos, "expected a field value after ':'")),
            Some(c) if c.is_whitespace() || c == ')' || c == '|' => {
                Err(self.error(self.pos, "expected a field value after ':'"))
            }
            Some('"') => Ok(Value::Phrase {
                text: self.quoted()?,
            }),
            Some('[' | '{') => self.range(),
            Some('>' | '<') => {
                let op = self.peek();
                self.pos += 1;
                let inclusive = self.peek() == Some('=');
                if inclusive {
                    self.pos += 1;
                }
                if self.peek().is_none_or(ends_word) {
                    return Err(
                        self.error(self.pos, "expected a value after the comparison operator")
                    );
                }
                let v = self.word()?;
                let b = if inclusive {
                    Bound::Included(v)
                } else {
                    Bound::Excluded(v)
                };
                Ok(if op == Some('>') {
                    Value::Range {
                        lower: b,
                        upper: Bound::Unbounded,
                    }
                } else {
                    Value::Range {
                        lower: Bound::Unbounded,
                        upper: b,
                    }
                })
            }
            Some(_) => {
                let (text, wild) = self.word_with_wildcards()?;
                Ok(if wild {
                    Value::Wildcard { pattern: text }
                } else {
                    Value::Term { text }
                })
            }
        }
    }

    /// `[a TO b]` / `{a TO b}` (mixed brackets allowed).
    fn range(&mut self) -> Result<Value, QueryError> {
        let open_at = self.pos;
        let inclusive_lower = self.peek() == Some('[');
        self.pos += 1;
        self.skip_ws();
        let lower = self.range_end("a lower bound")?;
        self.skip_ws();
        if !self.keyword("TO") {
            return Err(self.error(
                self.pos,
                format!("expected 'TO' in the range, found {}", self.found()),
            ));
        }
        self.skip_ws();
        let upper = self.range_end("an upper bound")?;
        self.skip_ws();
        let inclusive_upper = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(self.error(
                    self.pos,
                    format!(
                        "expected ']' or '}}' to close the range opened at column {}, found {}",
                        open_at + 1,
                        self.found()
                    ),
                ));
            }
        };
        self.pos += 1;
        let bound = |v: Option<String>, inclusive: bool| match v {
            None => Bound::Unbounded,
            Some(v) if inclusive => Bound::Included(v),
            Some(v) => Bound::Excluded(v),
        };
        Ok(Value::Range {
            lower: bound(lower, inclusive_lower),
            upper: bound(upper, inclusive_upper),
        })
    }

    /// One end of a range: a value or `*` (open).
    fn range_end(&mut self, what: &str) -> Result<Option<String>, QueryError> {
        let v: String = self.chars[self.pos..]
            .iter()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ']' | '}' | '|' | ')'))
            .collect();
        if v.is_empty() {
            return Err(self.error(
                self.pos,
                format!("expected {what} in the range, found {}", self.found()),
            ));
        }
        self.pos += v.chars().count();
        Ok((v != "*").then_some(v))
    }

    /// A quoted string; `\"` and `\\` escape.
    fn quoted(&mut self) -> Result<String, QueryError> {
        let open = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(
                        self.error(open, "unterminated quoted phrase: expected a closing '\"'")
                    );
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some('\\') if matches!(self.chars.get(self.pos + 1), Some('"' | '\\')) => {
                    s.push(self.chars[self.pos + 1]);
                    self.pos += 2;
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A bare word; `\` escapes the next character (kept escaped when the word also holds
    /// wildcards, so the pattern still says which `*` is literal).
    fn word(&mut self) -> Result<String, QueryError> {
        Ok(self.word_with_wildcards()?.0)
    }

    /// A bare word and whether it holds unescaped wildcards (escaped ones are kept as
    /// `\*`/`\?` in a wildcard pattern, plain in a term).
    fn word_with_wildcards(&mut self) -> Result<(String, bool), QueryError> {
        let start = self.pos;
        let mut plain = String::new();
        let mut pattern = String::new();
        let mut wild = false;
        while let Some(c) = self.peek() {
            if ends_word(c) {
                break;
            }
            if c == '\\' {
                match self.chars.get(self.pos + 1) {
                    Some(&n) => {
                        plain.push(n);
                        pattern.push('\\');
                        pattern.push(n);
                        self.pos += 2;
                        continue;
                    }
                    None => {
                        return Err(self.error(self.pos, "expected a character after '\\'"));
                    }
                }
            }
            if c == '*' || c == '?' {
                wild = true;
            }
            plain.push(c);
            pattern.push(c);
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(start, format!("expected a term, found {}", self.found())));
        }
        Ok(if wild {
            (pattern, true)
        } else {
            (plain, false)
        })
    }

    /// A field name in a pipe (`src_endpoint.ip`).
    fn pipe_field(&mut self, what: &str) -> Result<String, QueryError> {
        self.skip_ws();
        let name: String = self.chars[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
            .collect();
        if name.is_empty() {
            return Err(self.error(self.pos, format!("expected {what}, found {}", self.found())));
        }
        self.pos += name.chars().count();
        Ok(name)
    }

    /// `a, b ,c`.
    fn field_list(&mut self, what: &str) -> Result<Vec<String>, QueryError> {
        let mut names = vec![self.pipe_field(what)?];
        loop {
            let save = self.pos;
            self.skip_ws();
            if self.peek() == Some(',') {
                self.pos += 1;
                names.push(self.pipe_field(what)?);
            } else {
                self.pos = save;
                return Ok(names);
            }
        }
    }

    fn pipe(&mut self) -> Result<Pipe, QueryError> {
        self.skip_ws();
        let at = self.pos;
        let cmd = self.word_ahead();
        self.pos += cmd.chars().count();
        let pipe = match cmd.as_str() {
            "stats" => {
                self.skip_ws();
                if !self.keyword("count") {
                    return Err(self.error(
                        self.pos,
                        format!("expected 'count' after 'stats', found {}", self.found()),
                    ));
                }
                self.skip_ws();
                let by = if self.keyword("by") {
                    self.field_list("a field name after 'by'")?
                } else {
                    Vec::new()
                };
                Pipe::Stats { by }
            }
            "timechart" => {
                self.skip_ws();
                let span_at = self.pos;
                let span = self.word_ahead();
                let span_ms = parse_span(&span).ok_or_else(|| {
                    self.error(
                        span_at,
                        format!(
                            "expected a span like 5m, 1h or 1d after 'timechart', found {}",
                            if span.is_empty() {
                                self.found()
                            } else {
                                format!("'{span}'")
                            }
                        ),
                    )
                })?;
                self.pos += span.chars().count();
                self.skip_ws();
                if !self.keyword("count") {
                    return Err(self.error(
                        self.pos,
                        format!("expected 'count' after the span, found {}", self.found()),
                    ));
                }
                self.skip_ws();
                let by = if self.keyword("by") {
                    Some(self.pipe_field("a field name after 'by'")?)
                } else {
                    None
                };
                Pipe::Timechart { span_ms, by }
            }
            "sort" => {
                self.skip_ws();
                let desc = match self.peek() {
                    Some('-') => {
                        self.pos += 1;
                        true
                    }
                    Some('+') => {
                        self.pos += 1;
                        false
                    }
                    _ => false,
                };
                let field = self.pipe_field("a field name after 'sort'")?;
                Pipe::Sort { field, desc }
            }
            "head" => {
                self.skip_ws();
                let n_at = self.pos;
                let n = self.word_ahead();
                let parsed = n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    self.error(
                        n_at,
                        format!(
                            "expected a positive number after 'head', found {}",
                            if n.is_empty() {
                                self.found()
                            } else {
                                format!("'{n}'")
                            }
                        ),
                    )
                })?;
                self.pos += n.chars().count();
                Pipe::Head { n: parsed }
            }
            "fields" => Pipe::Fields {
                names: self.field_list("a field name after 'fields'")?,
            },
            "" => {
                return Err(self.error(
                    at,
                    format!(
                        "expected a command after '|' (stats, timechart, sort, head, fields), found {}",
                        self.found()
                    ),
                ));
            }
            other => {
                return Err(self.error(
                    at,
                    format!(
                        "unknown command '{other}': expected stats, timechart, sort, head or fields"
                    ),
                ));
            }
        };
        self.skip_ws();
        if !self.at_end() && self.peek() != Some('|') {
            return Err(self.error(
                self.pos,
                format!(
                    "expected '|' or the end of the query, found {}",
                    self.found()
                ),
            ));
        }
        Ok(pipe)
    }
}

fn ser_bound<S: serde::Serializer>(b: &Bound<String>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        Bound::Included(v) => s.serialize_str(&format!("[{v}")),
        Bound::Excluded(v) => s.serialize_str(&format!("({v}")),
        Bound::Unbounded => s.serialize_str("*"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(field: &str, text: &str, at: usize) -> Expr {
        Expr::Field {
            field: field.into(),
            value: Value::Term { text: text.into() },
            at,
        }
    }

    fn err(q: &str) -> String {
        parse(q).unwrap_err().to_string()
    }

    #[test]
    fn fields_words_and_boolean_operators() {
        let q = parse("user:alice AND NOT status:Failure OR \"access denied\"").unwrap();
        assert_eq!(
            q.filter,
            Expr::Or {
                exprs: vec![
                    Expr::And {
                        exprs: vec![
                            term("user", "alice", 1),
                            Expr::Not {
                                expr: Box::new(term("status", "Failure", 20)),
                            },
                        ],
                    },
                    Expr::Phrase {
                        phrase: "access denied".into(),
                        at: 38,
                    },
                ],
            }
        );
        assert!(q.pipes.is_empty());
    }

    #[test]
    fn implicit_and_minus_groups_and_wildcards() {
        let q = parse("login -(source:okta OR source:github) adm*n").unwrap();
        assert_eq!(
            q.filter,
            Expr::And {
                exprs: vec![
                    Expr::Text {
                        word: "login".into(),
                        at: 1,
                    },
                    Expr::Not {
                        expr: Box::new(Expr::Or {
                            exprs: vec![term("source", "okta", 9), term("source", "github", 24)],
                        }),
                    },
                    Expr::Text {
                        word: "adm*n".into(),
                        at: 39,
                    },
                ],
            }
        );
        let q = parse("api.operation:Delete* url:http://x/a").unwrap();
        assert_eq!(
            q.filter,
            Expr::And {
                exprs: vec![
                    Expr::Field {
                        field: "api.operation".into(),
                        value: Value::Wildcard {
                            pattern: "Delete*".into(),
                        },
                        at: 1,
                    },
                    term("url", "http://x/a", 23),
                ],
            }
        );
    }

    #[test]
    fn ranges_comparisons_and_cidr() {
        let q = parse("severity_id:[3 TO 5] src_endpoint.port:{* TO 1024} time:>=100 src_endpoint.ip:10.0.0.0/8").unwrap();
        let Expr::And { exprs } = q.filter else {
            panic!("not an AND")
        };
        assert_eq!(
            exprs,
            vec![
                Expr::Field {
                    field: "severity_id".into(),
                    value: Value::Range {
                        lower: Bound::Included("3".into()),
                        upper: Bound::Included("5".into()),
                    },
                    at: 1,
                },
                Expr::Field {
                    field: "src_endpoint.port".into(),
                    value: Value::Range {
                        lower: Bound::Unbounded,
                        upper: Bound::Excluded("1024".into()),
                    },
                    at: 22,
                },
                Expr::Field {
                    field: "time".into(),
                    value: Value::Range {
                        lower: Bound::Included("100".into()),
                        upper: Bound::Unbounded,
                    },
                    at: 52,
                },
                term("src_endpoint.ip", "10.0.0.0/8", 63),
            ]
        );
    }

    #[test]
    fn pipes() {
        let q = parse(
            "| stats count by src_endpoint.ip, user | sort -count | head 5 | fields user,count",
        )
        .unwrap();
        assert_eq!(q.filter, Expr::All);
        assert_eq!(
            q.pipes,
            vec![
                Pipe::Stats {
                    by: vec!["src_endpoint.ip".into(), "user".into()],
                },
                Pipe::Sort {
                    field: "count".into(),
                    desc: true,
                },
                Pipe::Head { n: 5 },
                Pipe::Fields {
                    names: vec!["user".into(), "count".into()],
                },
            ]
        );
        let q = parse("* | timechart 1h count by class_name").unwrap();
        assert_eq!(q.filter, Expr::All);
        assert_eq!(
            q.pipes,
            vec![Pipe::Timechart {
                span_ms: 3_600_000,
                by: Some("class_name".into()),
            }]
        );
        assert_eq!(
            parse("x | stats count").unwrap().pipes,
            vec![Pipe::Stats { by: vec![] }]
        );
    }

    #[test]
    fn errors_name_the_column_and_what_was_expected() {
        assert_eq!(
            err("class_name: foo"),
            "query:1:12: expected a field value after ':'"
        );
        assert_eq!(
            err("user:alice AND"),
            "query:1:15: expected a term after AND, found the end of the query"
        );
        assert_eq!(
            err("(user:a OR user:b"),
            "query:1:18: expected ')' to close the '(' at column 1, found the end of the query"
        );
        assert_eq!(
            err("a)"),
            "query:1:2: unexpected ')' without a matching '('"
        );
        assert_eq!(
            err("\"open phrase"),
            "query:1:1: unterminated quoted phrase: expected a closing '\"'"
        );
        assert_eq!(
            err("severity_id:[3 5]"),
            "query:1:16: expected 'TO' in the range, found '5'"
        );
        assert_eq!(
            err("severity_id:[3 TO 5"),
            "query:1:20: expected ']' or '}' to close the range opened at column 13, found the end of the query"
        );
        assert_eq!(
            err("x | stats by user"),
            "query:1:11: expected 'count' after 'stats', found 'b'"
        );
        assert_eq!(
            err("x | timechart 1y count"),
            "query:1:15: expected a span like 5m, 1h or 1d after 'timechart', found '1y'"
        );
        assert_eq!(
            err("x | head 0"),
            "query:1:10: expected a positive number after 'head', found '0'"
        );
        assert_eq!(
            err("x | grep y"),
            "query:1:5: unknown command 'grep': expected stats, timechart, sort, head or fields"
        );
        assert_eq!(
            err("x |"),
            "query:1:4: expected a command after '|' (stats, timechart, sort, head, fields), found the end of the query"
        );
        assert_eq!(
            err("x | stats count by"),
            "query:1:19: expected a field name after 'by', found the end of the query"
        );
        assert_eq!(
            err("x | head 5 6"),
            "query:1:12: expected '|' or the end of the query, found '6'"
        );
        assert_eq!(
            err("NOT"),
            "query:1:4: expected a term after NOT, found the end of the query"
        );
    }

    #[test]
    fn spans() {
        assert_eq!(parse_span("5m"), Some(300_000));
        assert_eq!(parse_span("1d"), Some(86_400_000));
        assert_eq!(parse_span("0h"), None);
        assert_eq!(parse_span("h"), None);
        assert_eq!(parse_span("10"), None);
    }
}
