//! End-to-end tests: real function binaries (through `cargo lambda watch`), real webhook
//! deliveries from the Sanity emulator, real Stytch emulator, real moto.

mod answers;
mod authz;
mod bulk;
mod cold_start;
mod common;
mod delete;
mod gate;
mod policies;
mod providers;
mod publish;
mod reconcile;
mod security;
mod staff;
mod token;

/// The suite's one concurrency rule (common/mod.rs, `STACK_LOCK`): every test's first statement
/// takes the stack lock, shared or exclusive. A test that forgets it would race the exclusive
/// ones (reconcile, webhooks off) and fail only sometimes, so the rule is checked here.
#[test]
fn every_test_takes_the_stack_lock() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e");
    let mut tests = 0;
    let mut takes = 0;
    let mut missing = Vec::new();
    let files = std::fs::read_dir(dir).unwrap().chain(std::fs::read_dir(format!("{dir}/common")).unwrap());
    for entry in files {
        let path = entry.unwrap().path();
        // main.rs names the two calls in this check's own strings.
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("main.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        takes += text.matches("shared().await").count() + text.matches("exclusive().await").count();
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            if !line.starts_with("#[tokio::test") {
                continue;
            }
            tests += 1;
            // Past the signature (which may wrap) to the body's first statement.
            let mut signature = String::new();
            for l in lines.by_ref() {
                signature.push_str(l);
                if l.ends_with('{') {
                    break;
                }
            }
            let first = lines.by_ref().find(|l| !l.is_empty() && !l.starts_with("//")).unwrap_or("");
            if first != "let _stack = shared().await;" && first != "let _stack = exclusive().await;" {
                missing.push(format!("{}: {signature} … {first}", path.display()));
            }
        }
    }
    assert!(tests > 40, "found only {tests} tests under {dir}");
    // Taken anywhere else (a helper), it would be taken twice by one test: a queued exclusive()
    // between the two makes that test wait for itself.
    assert_eq!(takes, tests, "the stack lock is taken outside a test's first statement");
    assert!(missing.is_empty(), "tests that do not start with the stack lock:\n{}", missing.join("\n"));
}
