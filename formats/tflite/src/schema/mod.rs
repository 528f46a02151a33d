//! The TFLite schema (revision 3, `schema/schema.fbs`) as flatc 25.12.19 generated it:
//! run `scripts/regenerate.sh` after changing the schema, never edit the generated file.

// The generated accessors read the flatbuffer through `unsafe` blocks that the flatbuffers
// runtime makes sound (tables are reached only through `root`/`Verifier` or the builder);
// the workspace denies unsafe code everywhere else. The generated code predates some lints.
#[allow(
    unsafe_code,
    clippy::all,
    clippy::pedantic,
    unused_imports,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    deprecated,
    missing_debug_implementations,
    mismatched_lifetime_syntaxes,
    unknown_lints
)]
// Kept byte for byte as flatc wrote it, so regenerating shows only schema changes.
#[rustfmt::skip]
mod schema_generated;

pub use schema_generated::tflite::*;
