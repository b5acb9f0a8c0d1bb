//! The web client's types are generated from the Rust wire types: the
//! checked-in `web/src/contract.ts` must equal what the code generates.

use std::path::Path;

#[test]
fn the_web_client_types_are_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/src/contract.ts");
    let generated = switchboard::wire::ts::contract();
    if std::env::var_os("UPDATE_CONTRACT").is_some() {
        std::fs::write(&path, &generated).expect("write contract.ts");
    }
    let checked_in = std::fs::read_to_string(&path).expect("read contract.ts");
    assert!(
        checked_in == generated,
        "web/src/contract.ts is stale: run `UPDATE_CONTRACT=1 cargo test --test api contract` \
         and commit the result"
    );
}
