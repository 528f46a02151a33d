//! pare-npy: NumPy `.npy`/`.npz` files for pare: whole arrays for `pare run`, and
//! datasets streamed in batches with bounded memory for calibration and `pare eval`.
//!
//! * [`read_npy`], [`read_npz`], [`decode_npy`], [`encode_npy`]: whole arrays
//!   ([`encode_header`] for writers that stream the data).
//! * [`DataSpec`] (`FILE.npz:KEY`, `FILE.npz`, `FILE.npy`, `DIR/`) and [`Dataset`]:
//!   samples along axis 0 of one array, or a folder of `.npy` files in file-name
//!   order, read as `[b, ...]` batches. An `.npz` entry (stored or deflated) is
//!   read as a stream straight from the archive, never whole.
//!
//! Little-endian (or byte-order-free) float, int, uint and bool arrays in C order
//! are read; sizes declared by a header are checked against the file or archive
//! entry before anything is allocated. Errors name the file and the array.

mod array;
mod dataset;
mod error;
mod header;
mod source;
mod spec;

pub use array::{decode_npy, encode_header, encode_npy, read_npy, read_npz};
pub use dataset::{files_with_ext, npz_keys, Batches, Dataset, OpenOptions};
pub use error::{ErrorKind, NpyError};
pub use header::{descr_of, dtype_of, Header};
pub use spec::DataSpec;
