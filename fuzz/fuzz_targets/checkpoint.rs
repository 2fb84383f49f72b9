//! Checkpoint text and signed notes. Invariants: no panic; a checkpoint body that parses
//! re-serializes (`body()`) to text that parses to the same checkpoint, and is a prefix of
//! the input (extension lines are the only thing dropped); a verifier key that parses
//! prints (`Display`) to a key that parses to an equal verifier; a note never verifies
//! under a fixed key it was not signed with, and one signed with it always does.
#![no_main]

use evident_ledger::{Checkpoint, NoteSigner, NoteVerifier};
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
    if let Ok(cp) = Checkpoint::parse_body(text) {
        let body = cp.body();
        let again = Checkpoint::parse_body(&body).expect("re-serialized checkpoint parses");
        assert_eq!(again, cp);
        assert!(
            text.starts_with(&body) || text == body.trim_end_matches('\n'),
            "body {body:?} is not the start of {text:?}"
        );
    }
    if let Ok(v) = NoteVerifier::parse(text) {
        let printed = v.to_string();
        let again = NoteVerifier::parse(&printed).expect("printed verifier key parses");
        assert_eq!(again.to_string(), printed);
        assert_eq!(again.name(), v.name());
    }
    let signer = signer();
    if let Ok(signer) = signer {
        let verifier = signer.verifier();
        let _ = verifier.verify(text);
        if let Ok(cp) = Checkpoint::parse_body(text)
            && !text.contains("\n\n")
            && text.ends_with('\n')
        {
            let note = signer.sign(&cp.body()).expect("a parsed checkpoint signs");
            let opened = Checkpoint::open(&note, &verifier);
            if cp.origin == verifier.name() {
                assert_eq!(opened, Ok(cp));
            } else {
                assert!(opened.is_err());
            }
        }
    }
});
