#!/usr/bin/env python3
"""Verify an Evident evidence package without Evident.

usage: python3 verify_package.py PACKAGE_DIR [VERIFIER_KEY]

VERIFIER_KEY is the log's public key as the company gave it to you
(<origin>+<hex key id>+<base64>); without it, integrity/verifier.key from the
package is used (which only proves the package is self-consistent).

Checks, from the public specs (C2SP signed-note, tlog-checkpoint, tlog-proof;
RFC 9162 Merkle proofs): the manifest signature, every file's SHA-256, no file
missing or added, both checkpoint signatures, the consistency proof between
them, and every tlog-proof against the end checkpoint and the entry's bytes.
Prints one line per problem; exit 0 clean, 1 problems, 2 cannot run.
Needs: pip install cryptography
"""
import base64
import hashlib
import json
import os
import sys

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:
    print("cannot run: pip install cryptography")
    sys.exit(2)

MANIFEST_HEADER = "evident.dev/evidence-manifest/v1"
problems = []


def sha256(b):
    return hashlib.sha256(b).digest()


def parse_key(text):
    name, kid, key = text.strip().split("+", 2)
    key = base64.b64decode(key)
    if len(key) != 33 or key[0] != 1:
        raise ValueError("not an Ed25519 verifier key")
    if sha256(name.encode() + b"\n" + key)[:4].hex() != kid:
        raise ValueError("key id does not match the key")
    return name, bytes.fromhex(kid), Ed25519PublicKey.from_public_bytes(key[1:])


def open_note(key, note):
    """Returns the signed text if `note` carries a valid signature by `key`, else None."""
    name, kid, pub = key
    if "\n\n" not in note:
        return None
    split = note.rindex("\n\n")
    text, sigs = note[: split + 1], note[split + 2 :]
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "):
            return None
        who, _, sig = line[2:].partition(" ")
        sig = base64.b64decode(sig)
        if who != name or sig[:4] != kid:
            continue
        try:
            pub.verify(sig[4:], text.encode())
            return text
        except Exception:
            return None
    return None


def open_checkpoint(key, note):
    text = open_note(key, note)
    if text is None:
        return None
    lines = text.split("\n")
    if lines[0] != key[0]:
        return None
    return int(lines[1]), base64.b64decode(lines[2])


def node(l, r):
    return sha256(b"\x01" + l + r)


def inclusion_root(index, size, leaf, proof):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def consistent(size1, root1, size2, root2, proof):
    """RFC 9162 section 2.1.4.2."""
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof
    if size1 > size2 or not proof:
        return False
    if size1 & (size1 - 1) == 0:
        proof = [root1] + proof
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        sys.exit(2)
    root = sys.argv[1]
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                files[os.path.relpath(p, root).replace(os.sep, "/")] = f.read()
    try:
        key_text = sys.argv[2] if len(sys.argv) == 3 else files["integrity/verifier.key"].decode()
        key = parse_key(key_text)
    except Exception as e:
        print("cannot run: verifier key: %s" % e)
        sys.exit(2)
    if "MANIFEST.json" not in files:
        print("cannot run: no MANIFEST.json")
        sys.exit(2)
    manifest = files["MANIFEST.json"]
    text = open_note(key, files.get("MANIFEST.json.sig", b"").decode())
    if text != "%s\nsha256 %s\n" % (MANIFEST_HEADER, sha256(manifest).hex()):
        problems.append("MANIFEST.json.sig: signature does not verify for MANIFEST.json")
    listed = {f["path"]: f["sha256"] for f in json.loads(manifest)["files"]}
    for path, digest in sorted(listed.items()):
        if path not in files:
            problems.append("%s: missing (listed in MANIFEST.json)" % path)
        elif sha256(files[path]).hex() != digest:
            problems.append("%s: SHA-256 does not match MANIFEST.json" % path)
    for path in sorted(files):
        if path not in listed and path not in ("MANIFEST.json", "MANIFEST.json.sig"):
            problems.append("%s: not listed in MANIFEST.json" % path)
    cps = {}
    for which in ("start", "end"):
        path = "integrity/checkpoint-%s.txt" % which
        cp = open_checkpoint(key, files.get(path, b"").decode())
        if cp is None:
            problems.append("%s: not a checkpoint signed by %s" % (path, key[0]))
        cps[which] = cp
    if cps["start"] and cps["end"]:
        lines = files.get("integrity/consistency-proof.txt", b"").decode().split("\n")
        proof = [base64.b64decode(l) for l in lines[3:] if l]
        ok = (
            lines[1:3] == ["from %d" % cps["start"][0], "to %d" % cps["end"][0]]
            and consistent(cps["start"][0], cps["start"][1], cps["end"][0], cps["end"][1], proof)
        )
        if not ok:
            problems.append("integrity/consistency-proof.txt: does not prove the end checkpoint extends the start checkpoint")
    end_note = files.get("integrity/checkpoint-end.txt", b"").decode()
    for path in sorted(p for p in files if p.startswith("integrity/proofs/")):
        want = path[len("integrity/proofs/entry-"):].split(".")[0]
        want = int(want) if want.isdigit() else -1
        text = files[path].decode()
        head, _, note = text.partition("\n\n")
        lines = head.split("\n")
        if lines[0] != "c2sp.org/tlog-proof@v1":
            problems.append("%s: not a tlog-proof" % path)
            continue
        lines = [l for l in lines[1:] if not l.startswith("extra ")]
        index = int(lines[0].split(" ")[1])
        if index != want:
            problems.append("%s: proves entry %d, not %d" % (path, index, want))
            continue
        if note != end_note:
            problems.append("%s: its checkpoint is not the end checkpoint" % path)
            continue
        entry = files.get("integrity/entries/entry-%06d.bin" % index)
        cp = open_checkpoint(key, note)
        if entry is None or cp is None:
            problems.append("%s: entry bytes or checkpoint missing" % path)
            continue
        proof = [base64.b64decode(l) for l in lines[1:]]
        if inclusion_root(index, cp[0], sha256(b"\x00" + entry), proof) != cp[1]:
            problems.append("%s: inclusion proof does not match the checkpoint root" % path)
    for p in problems:
        print(p)
    print("%d problem(s); %d files checked" % (len(problems), len(listed)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
