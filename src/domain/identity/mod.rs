//! Identity: JWTs (HS256 only, `exp` enforced) and argon2id password hashes.

pub mod password;
pub mod token;

pub use token::{Claims, TokenError, TokenService};
