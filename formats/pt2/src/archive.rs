//! The `.pt2` zip container: finds the archive root, checks format, version and byte
//! order, recognises older (pickled, torch ≤ 2.8) layouts, and loads the exported
//! program with its weights and constants.

use crate::error::ErrorKind;
use crate::schema::{Model, PayloadConfig};
use crate::weights::weight_from_storage;
use pare_ir::Weight;
use std::collections::BTreeMap;
use std::io::{Cursor, Read};

/// Schema major version of `model.json` pare reads.
pub const SCHEMA_MAJOR: i64 = 8;

/// What the translator needs: the program and its tensors by state-dict name.
#[derive(Debug)]
pub struct Program {
    pub model: Model,
    pub weights: BTreeMap<String, Weight>,
    pub constants: BTreeMap<String, Weight>,
}

/// Opens the zip container at offset 0, where torch's writer always starts it.
///
/// The zip crate's default (`ArchiveOffset::Detect`) guesses where the central
/// directory starts from the 32-bit end record: `EOCD position − CD size`. torch's
/// writer (miniz with `MZ_ZIP_FLAG_WRITE_ZIP64`) always puts a 56-byte ZIP64 end
/// record and a 20-byte locator between the directory and that record, without
/// saturating the 32-bit fields, so the guess lands 76 bytes into the directory.
/// When the first directory entry is exactly 76 bytes long (46 + a 30-byte name:
/// `<8-char archive name>/data/weights/weight_0`, as for `resnet18.pt2`,
/// `vit_b_16.pt2`, `maxvit_t.pt2`) a directory header *is* there, the crate takes
/// the archive to start 76 bytes late, and reading the last directory entry hits the
/// ZIP64 record: "Invalid Central Directory header". With the offset known to be 0
/// the crate reads the directory where the end record says it is.
fn open_zip(bytes: &[u8]) -> Result<zip::ZipArchive<Cursor<&[u8]>>, ErrorKind> {
    let config = zip::read::Config {
        archive_offset: zip::read::ArchiveOffset::Known(0),
    };
    zip::ZipArchive::with_config(config, Cursor::new(bytes))
        .map_err(|e| ErrorKind::Zip(e.to_string()))
}

/// An opened archive.
#[derive(Debug)]
pub struct Archive<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    names: Vec<String>,
    /// `<name>/`, the folder every entry lives under.
    prefix: String,
}

impl<'a> Archive<'a> {
    pub fn open(bytes: &'a [u8]) -> Result<Archive<'a>, ErrorKind> {
        let zip = open_zip(bytes)?;
        let mut names: Vec<String> = zip
            .file_names()
            .map(|r| r.map(|n| n.to_string()))
            .collect::<Result<_, _>>()
            .map_err(|e| ErrorKind::Zip(e.to_string()))?;
        names.sort();
        let mut ar = Archive {
            zip,
            names,
            prefix: String::new(),
        };
        ar.prefix = ar.find_prefix()?;
        ar.check_header()?;
        Ok(ar)
    }

    fn find_prefix(&self) -> Result<String, ErrorKind> {
        if let Some(n) = self.names.iter().find(|n| n.ends_with("archive_format")) {
            return Ok(n.trim_end_matches("archive_format").to_string());
        }
        Err(self.old_layout_error().unwrap_or_else(|| {
            ErrorKind::Missing(
                "<name>/archive_format (this zip is not a torch.export .pt2 archive)".into(),
            )
        }))
    }

    /// Recognises what torch ≤ 2.8 wrote: pickled state dicts and constants.
    fn old_layout_error(&self) -> Option<ErrorKind> {
        let found = self.names.iter().find(|n| {
            n.ends_with(".pkl")
                || n.ends_with("serialized_state_dict.pt")
                || n.ends_with("serialized_exported_program.json")
                || (n.contains("data/weights/") && n.ends_with(".pt"))
        })?;
        Some(ErrorKind::OldLayout(format!(
            "archive entry `{found}` belongs to the older .pt2 layout with pickled weights \
             (torch <= 2.8), which pare cannot read without Python; re-save the program with \
             torch >= 2.9 (`torch.export.save`), or export it to ONNX"
        )))
    }

    fn check_header(&mut self) -> Result<(), ErrorKind> {
        let format = self.text("archive_format")?;
        if format.trim() != "pt2" {
            return Err(ErrorKind::Version {
                what: "archive format",
                got: format.trim().to_string(),
                expected: "`pt2`",
            });
        }
        let version = self.text("archive_version")?;
        if version.trim() != "0" {
            return Err(ErrorKind::Version {
                what: "archive version",
                got: version.trim().to_string(),
                expected: "version 0, written by torch 2.9 and later",
            });
        }
        let order = self.text("byteorder")?;
        if order.trim() != "little" {
            return Err(ErrorKind::Version {
                what: "byte order",
                got: order.trim().to_string(),
                expected: "`little`",
            });
        }
        if let Some(e) = self.old_layout_error() {
            return Err(e);
        }
        Ok(())
    }

    /// Raw bytes of `<prefix><rel>`.
    pub fn read(&mut self, rel: &str) -> Result<Vec<u8>, ErrorKind> {
        let full = format!("{}{rel}", self.prefix);
        let mut f = match self.zip.by_name(&full) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Err(ErrorKind::Missing(full)),
            Err(e) => {
                return Err(ErrorKind::Entry {
                    entry: full,
                    msg: e.to_string(),
                })
            }
        };
        // No pre-allocation from the declared size: it may lie.
        let mut out = Vec::new();
        f.read_to_end(&mut out).map_err(|e| ErrorKind::Entry {
            entry: full.clone(),
            msg: e.to_string(),
        })?;
        Ok(out)
    }

    fn text(&mut self, rel: &str) -> Result<String, ErrorKind> {
        let b = self.read(rel)?;
        String::from_utf8(b).map_err(|_| ErrorKind::Entry {
            entry: format!("{}{rel}", self.prefix),
            msg: "not UTF-8 text".into(),
        })
    }

    fn json<T: serde::de::DeserializeOwned>(&mut self, rel: &str) -> Result<T, ErrorKind> {
        let b = self.read(rel)?;
        serde_json::from_slice(&b).map_err(|e| ErrorKind::Json {
            entry: format!("{}{rel}", self.prefix),
            msg: e.to_string(),
        })
    }

    /// The model name: `models/<model>.json`, preferring `model`.
    fn model_name(&self) -> Result<String, ErrorKind> {
        let dir = format!("{}models/", self.prefix);
        let models: Vec<&str> = self
            .names
            .iter()
            .filter_map(|n| n.strip_prefix(&dir))
            .filter_map(|n| n.strip_suffix(".json"))
            .filter(|n| !n.contains('/'))
            .collect();
        if models.contains(&"model") {
            return Ok("model".into());
        }
        match models.as_slice() {
            [one] => Ok(one.to_string()),
            [] => Err(ErrorKind::Missing(format!("{dir}model.json"))),
            many => Err(ErrorKind::Graph(format!(
                "the archive holds several programs ({}); pare reads one named `model`",
                many.join(", ")
            ))),
        }
    }

    /// Loads the exported program, its weights and its constants.
    pub fn program(&mut self) -> Result<Program, ErrorKind> {
        let name = self.model_name()?;
        let model: Model = self.json(&format!("models/{name}.json"))?;
        if model.schema_version.major != SCHEMA_MAJOR {
            return Err(ErrorKind::Version {
                what: "torch.export schema version",
                got: format!(
                    "{}.{}",
                    model.schema_version.major, model.schema_version.minor
                ),
                expected: "schema 8.x (torch 2.9 and later)",
            });
        }
        let weights = self.payload("data/weights", &format!("{name}_weights_config.json"))?;
        let constants = self.payload("data/constants", &format!("{name}_constants_config.json"))?;
        Ok(Program {
            model,
            weights,
            constants,
        })
    }

    fn payload(&mut self, dir: &str, config: &str) -> Result<BTreeMap<String, Weight>, ErrorKind> {
        let cfg_path = format!("{dir}/{config}");
        let full_cfg = format!("{}{cfg_path}", self.prefix);
        if !self.names.contains(&full_cfg) {
            // Programs without constants may omit the config; weights need theirs
            // only when something refers to them (checked at lookup).
            return Ok(BTreeMap::new());
        }
        let cfg: PayloadConfig = self.json(&cfg_path)?;
        let mut out = BTreeMap::new();
        for (key, entry) in cfg.config {
            if entry.use_pickle {
                return Err(ErrorKind::OldLayout(format!(
                    "`{key}` in {full_cfg} is pickled, which pare cannot read without Python; \
                     re-save with torch >= 2.9 using plain tensors, or export to ONNX"
                )));
            }
            if entry.path_name.contains("..") || entry.path_name.starts_with('/') {
                return Err(ErrorKind::Weight {
                    name: key,
                    msg: format!("invalid file name `{}`", entry.path_name),
                });
            }
            let bytes = self
                .read(&format!("{dir}/{}", entry.path_name))
                .map_err(|e| match e {
                    ErrorKind::Missing(f) => ErrorKind::Weight {
                        name: key.clone(),
                        msg: format!("its file `{f}` is missing from the archive"),
                    },
                    other => other,
                })?;
            let w = weight_from_storage(&entry.tensor_meta, &bytes).map_err(|msg| {
                ErrorKind::Weight {
                    name: key.clone(),
                    msg: format!("{msg} (file {dir}/{})", entry.path_name),
                }
            })?;
            out.insert(key, w);
        }
        Ok(out)
    }
}
