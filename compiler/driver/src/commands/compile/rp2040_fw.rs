//! The firmware figures of `pare compile --target rp2040`: the generated C cross-built
//! with the bare-metal harness (`arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -Os`),
//! sized with `arm-none-eabi-size` against the `--device` profile, and one inference
//! on a zero input counted under QEMU. Without the cross toolchain the figures are
//! reported as not measured, with the reason; they are never estimated.

use super::CompileArgs;
use anyhow::{anyhow, bail, Result};
use pare_targets::rp2040::toolchain::{ARM_GCC, ARM_SIZE, QEMU};
use pare_targets::rp2040::{
    build_firmware, profile_instructions, Core, Device, Emitted, FirmwareError, Footprint,
    Headroom, InstructionProfile,
};
use std::time::Duration;

/// Bounds each of the three counting runs under QEMU.
const COUNT_TIMEOUT: Duration = Duration::from_secs(300);

/// What the cross build measured, or why it did not run.
pub enum Firmware {
    Measured(Measured),
    /// The cross toolchain is missing here (or the device is not an Arm core): the reason.
    NotMeasured {
        device: Device,
        reason: String,
    },
}

/// Sizes of the built image (the model's share) and the emulated instruction count.
pub struct Measured {
    pub device: Device,
    pub footprint: Footprint,
    pub headroom: Headroom,
    /// Instructions of one inference on QEMU's Cortex-M0 (in all and by function), or why
    /// they were not counted.
    pub instructions: std::result::Result<InstructionProfile, String>,
}

/// The `--device` profile (default `rp2040`).
pub fn device_of(a: &CompileArgs) -> Result<&'static Device> {
    Device::by_name(a.device.as_deref().unwrap_or("rp2040")).map_err(|e| anyhow!("--device: {e}"))
}

/// The planned fit check of the target (before cross-building): a failure is final.
pub fn planned_fit(e: &Emitted, device: &Device) -> Result<()> {
    Ok(pare_targets::rp2040::planned_fit(e, device)?)
}

/// What the report says about counts on a device whose core is not the emulated one.
pub fn core_note(device: &Device) -> Option<String> {
    (device.core != Core::CortexM0Plus).then(|| {
        format!(
            "{} is an {}: the image is built for the Cortex-M0+ (ARMv6-M, which it also runs) and the instructions are counted on QEMU's Cortex-M0; a build for its own core would be smaller and faster",
            device.name,
            device.core.name()
        )
    })
}

/// Builds and measures the firmware of `e` for `device` in a temporary directory. An image
/// that does not fit the device is an error; a missing toolchain is reported, not an error.
/// `emulate` false skips counting instructions under QEMU (reported as not measured).
pub fn measure_firmware(e: &Emitted, device: &Device, emulate: bool) -> Result<Firmware> {
    let not_measured = |reason: String| {
        Ok(Firmware::NotMeasured {
            device: *device,
            reason,
        })
    };
    for tool in [ARM_GCC, ARM_SIZE] {
        if let Err(err) = tool.check() {
            return not_measured(err.to_string());
        }
    }
    let dir = tempfile::tempdir()?;
    // PARE_FIRMWARE_DIR keeps the firmware build (sources, objects, firmware.elf) there,
    // for profiling the kernels; by default it is built and dropped in a temporary one.
    let workdir = match std::env::var_os("PARE_FIRMWARE_DIR") {
        Some(kept) => std::path::PathBuf::from(kept),
        None => dir.path().to_path_buf(),
    };
    // One all-zero sample: the instruction count is taken on it.
    let input: usize = e.lowered.inputs.iter().map(|io| io.elements()).sum();
    let built = match build_firmware(&e.sources(), &[vec![0; input]], device, &workdir) {
        Ok(b) => b,
        Err(FirmwareError::DoesNotFit(fit)) => {
            bail!("the model does not fit {}: {fit}", device.name)
        }
        Err(err @ (FirmwareError::ToolMissing { .. } | FirmwareError::NotArm { .. })) => {
            return not_measured(err.to_string())
        }
        Err(err) => bail!("building the {} firmware: {err}", device.name),
    };
    let instructions = match QEMU.check() {
        _ if !emulate => Err("not counted: --no-emulate was given".to_string()),
        Err(err) => Err(err.to_string()),
        Ok(()) => match profile_instructions(&built, COUNT_TIMEOUT) {
            Ok(p) => Ok(p),
            Err(err @ FirmwareError::ToolMissing { .. }) => Err(err.to_string()),
            Err(err) => bail!("counting instructions under QEMU: {err}"),
        },
    };
    Ok(Firmware::Measured(Measured {
        device: *device,
        footprint: built.footprint,
        headroom: built.headroom,
        instructions,
    }))
}
