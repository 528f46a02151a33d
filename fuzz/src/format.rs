//! The input formats a campaign mutates, with their file extensions.

use std::fmt;

/// One kind of file pare reads.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Format {
    Onnx,
    Pt2,
    Pir,
    Npy,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Onnx, Format::Pt2, Format::Pir, Format::Npy];

    pub fn name(self) -> &'static str {
        match self {
            Format::Onnx => "onnx",
            Format::Pt2 => "pt2",
            Format::Pir => "pir",
            Format::Npy => "npy",
        }
    }

    /// The extension a regression case of this format is written with (`.npy` cases
    /// that are zip archives are written as `.npz`, see [`Format::extension_for`]).
    pub fn extension_for(self, bytes: &[u8]) -> &'static str {
        match self {
            Format::Npy if bytes.starts_with(b"PK") => "npz",
            f => f.name(),
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The wire code of the format in the worker protocol.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(c: u8) -> Option<Format> {
        Format::ALL.get(c as usize).copied()
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
