#!/usr/bin/env bash
# Builds fuzz/corpus/<target>/ seeds from the repository's own fixtures and rules (a handful
# per target; nothing here is committed). Safe to re-run: seeds are named by content.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
corpus="$here/corpus"
mkdir -p "$corpus"/{parse_record,ingest_body,syslog_frame,sigma_rule,checkpoint,tlog_proof,search_query}

# put TARGET: stdin becomes one seed, named by its hash.
put() {
    local tmp
    tmp=$(mktemp)
    cat >"$tmp"
    mv "$tmp" "$corpus/$1/seed-$(sha1sum "$tmp" | cut -c1-16)"
}

# parse_record: the first byte picks the format (its index in Format::ALL, the order of the
# `formats!` list in crates/model/src/lib.rs), the rest is one record.
mapfile -t formats < <(sed -n '/^formats! {/,/^}/p' "$root/crates/model/src/lib.rs" |
    grep -o '=> "[^"]*"' | cut -d'"' -f2)
for i in "${!formats[@]}"; do
    name=${formats[$i]}
    for dir in "$root/crates/sources/tests/fixtures/$name" \
        "$root/crates/sources/tests/fixtures/${name//-/_}"; do
        [ -d "$dir" ] || continue
        for f in $(find "$dir" -type f | sort | head -n 3); do
            { printf "\\x$(printf %02x "$i")"; head -n 1 "$f" | head -c 4096; } | put parse_record
            head -c 4096 "$f" | put ingest_body
        done
    done
done
# ingest_body: first byte even = JSON framing, odd = lines; plus gzip and array bodies.
printf '\x00[{"a":1},{"b":2}]' | put ingest_body
printf '\x00{"Records":[{"eventName":"x"}]}' | put ingest_body
{ printf '\x01'; printf 'line one\nline two\r\n\n' | gzip -c; } | put ingest_body
{ printf '\x00'; printf '{"a":1}\nnot json\n' | gzip -c; } | put ingest_body

# syslog_frame: a stream of messages, both RFC 5424 and RFC 3164.
head -n 20 "$root/crates/sources/tests/fixtures/syslog/messages.log" | put syslog_frame
head -n 20 "$root/crates/sources/tests/fixtures/authlog/auth.log" | put syslog_frame
printf '<165>1 2026-11-26T10:00:00.003Z host app 123 ID47 [ex@32473 k="v\\"]"] msg\r\n<13>Nov 26 10:00:00 host sshd[1]: hi\0' | put syslog_frame

# sigma_rule: rules from the pack, one of each kind.
for f in $(find "$root/rules" -name '*.yml' | sort | head -n 12); do put sigma_rule <"$f"; done

# checkpoint and tlog_proof: well-formed documents to mutate.
root_hash=$(printf 'evident' | sha256sum | cut -d' ' -f1 | xxd -r -p | base64)
printf 'example.com/log\n42\n%s\n' "$root_hash" | put checkpoint
printf 'example.com/log\n42\n%s\nextension line\n' "$root_hash" | put checkpoint
printf 'example.com/log+0b5a1b8e+AUm2I4Mf1ONr5Xq7dxmJAUbKtiw7DKh0J6FGQ9Dj4U3C\n' | put checkpoint
note=$(printf 'example.com/log\n42\n%s\n\n— example.com/log C1objk/zZd8D/+lkFaPJTuY6Lf4mBzNvrXz/wBdxhFXg69owL3wTSygIcBuiqYiRlobs4FCW9ON6IAC7E8umy0qlsAo=\n' "$root_hash")
printf '%s\n' "$note" | put checkpoint
printf 'c2sp.org/tlog-proof@v1\nindex 3\n%s\n%s\n\n%s\n' "$root_hash" "$root_hash" "$note" | put tlog_proof
printf 'c2sp.org/tlog-proof@v1\nextra abc\nindex 0\n\n%s\n' "$note" | put tlog_proof

# search_query: the grammar's constructs.
for q in 'user:alice AND NOT status:Failure OR "access denied"' \
    'login -(source:okta OR source:github) adm*n' \
    'api.operation:Delete* url:http://x/a' \
    'severity_id:[3 TO 5] src_endpoint.port:{* TO 1024} time:>=100 src_endpoint.ip:10.0.0.0/8' \
    '* | timechart 1h count by class_name' \
    'x | stats count' \
    'class_name:Authentication | table time user | head 5'; do
    printf '%s' "$q" | put search_query
done
for t in "$corpus"/*; do echo "$(basename "$t"): $(find "$t" -type f | wc -l) seeds"; done
