//! TypeScript for the web client, generated from the wire types with ts-rs
//! (`web/src/contract.ts`). Regenerate with
//! `UPDATE_CONTRACT=1 cargo test --lib contract_ts`; the test fails when the
//! checked-in file differs from [`contract`].
