//! tlog-proof files. Invariants: no panic; a file that parses re-serializes (`to_text`) to
//! text that parses to the same proof; a malformed file's error names a line inside the
//! file (or the line just after its end); verification against a fixed key never panics.
#![no_main]

use evident_ledger::{NoteSigner, TlogProof, TlogProofError};
use libfuzzer_sys::fuzz_target;

/// A key made fresh for this process: no input can carry a valid signature by it.
fn signer() -> Result<&'static NoteSigner, String> {
    static SIGNER: std::sync::OnceLock<Result<NoteSigner, String>> = std::sync::OnceLock::new();
    SIGNER
        .get_or_init(|| NoteSigner::generate("fuzz.example/log").map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match TlogProof::parse(text) {
        Ok(proof) => {
            let again = TlogProof::parse(&proof.to_text()).expect("re-serialized proof parses");
            assert_eq!(again, proof);
            if let Ok(signer) = signer() {
                assert!(proof.verify(&signer.verifier(), b"entry").is_err());
            }
        }
        Err(TlogProofError::Malformed { line, reason }) => {
            let lines = text.split('\n').count();
            assert!(line >= 1 && line <= lines + 1, "line {line} of {lines}");
            assert!(!reason.is_empty());
        }
        Err(e) => panic!("parse returned a non-parse error: {e:?}"),
    }
});
