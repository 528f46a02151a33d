//! The IR verifier.
//!
//! Contract (to be implemented): `pub fn verify(g: &Graph) -> Result<(), VerifyError>`.
