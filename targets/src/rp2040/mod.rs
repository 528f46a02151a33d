//! The RP2040 target's firmware side: device profiles, the Arm cross build, QEMU emulation
//! of a Cortex-M0 and exact instruction counts.

pub mod count;
pub mod device;
pub mod emulate;
pub mod firmware;
pub mod firmware_error;
pub mod size;
pub mod toolchain;

pub use count::{count_instructions, count_run};
pub use device::{Core, Device, FitError, Footprint, Headroom, UnknownDevice, DEVICES};
pub use emulate::{run_host, run_qemu, RunOutput};
pub use firmware::{build_firmware, build_host, Built, ModelSources, SourceFile};
pub use firmware_error::FirmwareError;
pub use size::ImageSizes;
