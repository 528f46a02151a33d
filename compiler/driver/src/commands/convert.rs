//! `pare convert`: read a model in one format and write it in another.

use crate::model_io;
use anyhow::Result;
use std::path::Path;

pub fn convert(input: &Path, output: &Path) -> Result<()> {
    // Check the output format before doing the work.
    model_io::format_of(output)?;
    let g = model_io::load(input)?;
    model_io::save(&g, output)
}
