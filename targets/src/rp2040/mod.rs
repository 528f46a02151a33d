//! The RP2040 target: a quantized (int8) graph as plain C99 — one kernel call
//! per layer, constants in flash, activations in one arena sized by the static
//! memory plan — bit-exact with pare's integer interpreter.
//!
//! Pipeline (one file each):
//! * `lower`: bind batch 1, strip the entry quantize / exit dequantize nodes
//!   (their parameters become the API's scales and zero points), check that
//!   every node is an integer node with a C kernel;
//! * `kernels/`: node → layer (params struct + call), constants precomputed
//!   with `pare_ir::quant` (multipliers, tables), the interpreter's geometry;
//! * `storage`: each activation's place (arena offset or caller buffer);
//! * `header`, `source`: NAME.h (the documented API), NAME.c (layers and the
//!   float wrapper), NAME_weights.c (const arrays, `data`);
//! * `emit`: the whole; `c/pare_kernels.{h,c}`: the kernels, emitted verbatim.
//!
//! Firmware side: `device` (profiles and fit checks), `toolchain`, `firmware`
//! (the arm-none-eabi bare-metal build and a host build of the same code),
//! `emulate` (QEMU `-M microbit` with semihosting), `count` (exact instruction
//! counts from QEMU's translation/execution logs), `size` (`arm-none-eabi-size`).
//!
//! ```text
//! let out = pare_targets::rp2040::emit(&quantized, &EmitOptions::default())?;
//! for (file, text) in out.files() { ... }   // or out.write_to(dir)
//! ```

mod cgen;
pub mod count;
mod data;
pub mod device;
mod emit;
pub mod emulate;
mod error;
pub mod firmware;
pub mod firmware_error;
mod fit;
mod header;
mod kernels;
mod layer;
mod lower;
pub mod size;
mod source;
mod storage;
pub mod toolchain;

pub use data::{CType, ConstArray, DataKind};
pub use emit::{emit, plan_options, EmitOptions, Emitted, LayerInfo};
pub use error::Rp2040Error;
pub use kernels::{packs_4bit_weights, PaletteShape, WeightEncoding, WeightStorage};
pub use lower::{lower, IoQuant, Lowered};

/// pare_kernels.h, written verbatim next to every model (one copy serves all).
pub const KERNELS_H: &str = include_str!("c/pare_kernels.h");
/// pare_kernels.c, written verbatim next to every model.
pub const KERNELS_C: &str = include_str!("c/pare_kernels.c");

pub use count::{count_instructions, count_run, profile_instructions, InstructionProfile};
pub use device::{Core, Device, FitError, Footprint, Headroom, UnknownDevice, DEVICES};
pub use emulate::{run_host, run_qemu, RunOutput};
pub use firmware::{build_firmware, build_host, Built, ModelSources, SourceFile};
pub use firmware_error::FirmwareError;
pub use fit::{no_int4, planned_fit, PlannedFitError};
pub use size::ImageSizes;
