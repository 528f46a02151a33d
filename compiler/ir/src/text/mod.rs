//! Textual IR (`.pir`): printer and parser.
//!
//! Contract (to be implemented):
//! * `pub fn print(g: &Graph) -> String`
//! * `pub fn parse(src: &str) -> Result<Graph, ParseError>`
