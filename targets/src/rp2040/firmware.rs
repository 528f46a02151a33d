//! Builds the bare-metal firmware that runs a generated model on samples embedded in the
//! image (`arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -Os`, for QEMU's `-M microbit`),
//! and the same C for the host, whose outputs the emulated run must reproduce.

use super::device::{Device, Footprint, Headroom};
use super::firmware_error::FirmwareError;
use super::size::{parse_size, ImageSizes};
use super::toolchain::{ARM_GCC, ARM_SIZE, HOST_CC};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One generated source file (`NAME.h`, `NAME.c`, `NAME_weights.c`, kernels, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// A plain file name: `.c` and `.S`/`.s` files are compiled, `.h` files included.
    pub name: String,
    pub contents: Vec<u8>,
}

/// A generated model: its C name (`NAME_invoke`, `NAME_INPUT_SIZE`, ...) and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSources {
    pub name: String,
    pub files: Vec<SourceFile>,
}

/// A built firmware image and what `arm-none-eabi-size` measured of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub elf: PathBuf,
    pub sizes: ImageSizes,
    /// The model's share: the image less the test harness (`.vectors`, `.harness*`).
    pub footprint: Footprint,
    pub device: Device,
    pub headroom: Headroom,
    /// Number of input samples embedded in the image.
    pub samples: usize,
}

impl Built {
    /// The model's code: `.text` (kernels, graph, the libc/libgcc routines they call).
    pub fn model_code(&self) -> u64 {
        self.sizes.section(".text")
    }
}

/// The firmware's own files, written beside the model's.
const ASSETS: &[(&str, &str)] = &[
    ("fw_main.c", include_str!("firmware/fw_main.c")),
    ("fw_platform.h", include_str!("firmware/fw_platform.h")),
    ("fw_semihost.c", include_str!("firmware/fw_semihost.c")),
    ("fw_startup.c", include_str!("firmware/fw_startup.c")),
    ("fw_host.c", include_str!("firmware/fw_host.c")),
    ("fw_link.ld", include_str!("firmware/fw_link.ld")),
];
const ARM_FILES: &[&str] = &["fw_main.c", "fw_semihost.c", "fw_startup.c", "fw_samples.c"];
const HOST_FILES: &[&str] = &["fw_main.c", "fw_host.c", "fw_samples.c"];

const ARM_FLAGS: &[&str] = &[
    "-mcpu=cortex-m0plus",
    "-mthumb",
    "-Os",
    "-g",
    "-ffunction-sections",
    "-fdata-sections",
];
/// The generated model must be clean C99 (issue 6); the harness may use GNU C.
const MODEL_C_FLAGS: &[&str] = &["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"];
/// Copy loops stay loops in the harness, so libc's memcpy counts only for the model.
const HARNESS_C_FLAGS: &[&str] = &[
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fno-tree-loop-distribute-patterns",
];

/// Builds the firmware for `device` in `workdir` (sources in `src/`, objects and
/// `firmware.elf` in `arm/`), measures it with `arm-none-eabi-size` and checks that the
/// model's share fits the device with its stack reserve.
pub fn build_firmware(
    model: &ModelSources,
    samples: &[Vec<i8>],
    device: &Device,
    workdir: &Path,
) -> Result<Built, FirmwareError> {
    if !device.core.is_cortex_m() {
        return Err(FirmwareError::NotArm {
            device: device.name,
            core: device.core.name(),
        });
    }
    let model_c = write_sources(model, samples, workdir)?;
    let out = workdir.join("arm");
    mkdir(&out.join("obj"))?;
    let mut objects = Vec::new();
    for (file, flags) in model_c
        .iter()
        .map(|f| (f.as_str(), MODEL_C_FLAGS))
        .chain(ARM_FILES.iter().map(|&f| (f, HARNESS_C_FLAGS)))
    {
        // Objects are named `obj/STEM.o`: fw_link.ld places sections by these names.
        let obj = format!("obj/{}.o", stem(file));
        let lang_flags: &[&str] = if is_asm(file) { &[] } else { flags };
        ARM_GCC.run(
            ARM_GCC
                .command()
                .current_dir(&out)
                .args(ARM_FLAGS)
                .args(lang_flags)
                .arg("-I../src")
                .arg("-c")
                .arg(format!("../src/{file}"))
                .arg("-o")
                .arg(&obj),
            format!("compiling {file} with arm-none-eabi-gcc"),
        )?;
        objects.push(obj);
    }
    ARM_GCC.run(
        ARM_GCC
            .command()
            .current_dir(&out)
            .args(["-mcpu=cortex-m0plus", "-mthumb", "-nostartfiles"])
            .arg("--specs=nano.specs")
            .args(["-Wl,--gc-sections", "-T", "../src/fw_link.ld"])
            .arg(format!("-Wl,--defsym=__ram_bytes={}", device.ram_bytes))
            .arg("-Wl,-Map=firmware.map")
            .args(&objects)
            .args(["-o", "firmware.elf"]),
        "linking firmware.elf with arm-none-eabi-gcc",
    )?;
    let elf = out.join("firmware.elf");
    let sizes = measure(&elf)?;
    let footprint = model_footprint(&sizes);
    let headroom = device.check_fit(&footprint)?;
    Ok(Built {
        elf,
        sizes,
        footprint,
        device: *device,
        headroom,
        samples: samples.len(),
    })
}

/// Builds the same model, samples and firmware main for the host with gcc (`host/firmware`
/// in `workdir`), `-fsanitize=address,undefined` when `sanitize`. It takes the firmware's
/// arguments (`run`, `count N`) on its command line and prints what the emulated image does.
pub fn build_host(
    model: &ModelSources,
    samples: &[Vec<i8>],
    workdir: &Path,
    sanitize: bool,
) -> Result<PathBuf, FirmwareError> {
    let model_c = write_sources(model, samples, workdir)?;
    let out = workdir.join("host");
    mkdir(&out)?;
    let mut objects = Vec::new();
    for (file, flags) in model_c
        .iter()
        .map(|f| (f.as_str(), MODEL_C_FLAGS))
        .chain(HOST_FILES.iter().map(|&f| (f, HARNESS_C_FLAGS)))
    {
        if is_asm(file) {
            // Arm assembly has no host build.
            return Err(FirmwareError::BadFileName(format!(
                "{file} (assembly cannot be built for the host)"
            )));
        }
        let obj = format!("{}.o", stem(file));
        let mut cmd = HOST_CC.command();
        cmd.current_dir(&out)
            .args(["-O2", "-g"])
            .args(flags)
            .arg("-I../src")
            .arg("-c")
            .arg(format!("../src/{file}"))
            .arg("-o")
            .arg(&obj);
        if sanitize {
            cmd.arg("-fsanitize=address,undefined")
                .arg("-fno-sanitize-recover=all");
        }
        HOST_CC.run(&mut cmd, format!("compiling {file} with the host gcc"))?;
        objects.push(obj);
    }
    let mut cmd = HOST_CC.command();
    cmd.current_dir(&out)
        .args(&objects)
        .args(["-o", "firmware"]);
    if sanitize {
        cmd.arg("-fsanitize=address,undefined");
    }
    HOST_CC.run(&mut cmd, "linking the host firmware with gcc")?;
    Ok(out.join("firmware"))
}

/// Runs `arm-none-eabi-size` twice (totals and sections) on `elf`.
pub fn measure(elf: &Path) -> Result<ImageSizes, FirmwareError> {
    let what = format!("arm-none-eabi-size {}", elf.display());
    let berkeley = ARM_SIZE.run(ARM_SIZE.command().args(["-B", "-d"]).arg(elf), &what)?;
    let sysv = ARM_SIZE.run(ARM_SIZE.command().args(["-A", "-d"]).arg(elf), &what)?;
    parse_size(&berkeley, &sysv)
}

/// The model's share of an image linked with fw_link.ld: everything but the harness.
pub fn model_footprint(s: &ImageSizes) -> Footprint {
    let data = s.section(".data");
    Footprint {
        flash: s.section(".text") + s.section(".weights") + s.section(".ARM.exidx") + data,
        weights: s.section(".weights"),
        arena: s.section(".arena"),
        static_ram: data + s.section(".bss"),
    }
}

/// Writes the model's files, the firmware's and the glue between them into `workdir/src`.
/// Returns the model's files to compile.
fn write_sources(
    model: &ModelSources,
    samples: &[Vec<i8>],
    workdir: &Path,
) -> Result<Vec<String>, FirmwareError> {
    if !is_c_identifier(&model.name) {
        return Err(FirmwareError::BadName(model.name.clone()));
    }
    let src = workdir.join("src");
    mkdir(&src)?;
    let mut compiled = Vec::new();
    for f in &model.files {
        let n = &f.name;
        let plain = !n.is_empty()
            && !n.starts_with("fw_")
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        let kind = n.rsplit_once('.').map(|(_, ext)| ext);
        if !plain || !matches!(kind, Some("c" | "h" | "s" | "S")) {
            return Err(FirmwareError::BadFileName(n.clone()));
        }
        write(&src.join(n), &f.contents)?;
        if kind != Some("h") {
            if compiled.iter().any(|c: &String| stem(c) == stem(n)) {
                return Err(FirmwareError::BadFileName(format!(
                    "{n} (another file has the same stem, so the same object name)"
                )));
            }
            compiled.push(n.clone());
        }
    }
    for (name, text) in ASSETS {
        write(&src.join(name), text.as_bytes())?;
    }
    write(&src.join("fw_model.h"), model_glue(&model.name).as_bytes())?;
    let (header, table) = samples_glue(samples)?;
    write(&src.join("fw_samples.h"), header.as_bytes())?;
    write(&src.join("fw_samples.c"), table.as_bytes())?;
    Ok(compiled)
}

/// `fw_model.h`: the model's names under the ones the firmware main uses.
fn model_glue(name: &str) -> String {
    let up = name.to_ascii_uppercase();
    format!(
        "/* fw_model.h - generated by pare: binds the firmware to the model `{name}`. */\n\
         #ifndef FW_MODEL_H\n#define FW_MODEL_H\n#include \"{name}.h\"\n\
         #define FW_INVOKE {name}_invoke\n\
         #define FW_INPUT_SIZE {up}_INPUT_SIZE\n\
         #define FW_OUTPUT_SIZE {up}_OUTPUT_SIZE\n\
         #define FW_ARENA_BYTES {up}_ARENA_BYTES\n#endif\n"
    )
}

/// `fw_samples.h` and `fw_samples.c`: the input samples as a const table in flash.
fn samples_glue(samples: &[Vec<i8>]) -> Result<(String, String), FirmwareError> {
    let first = samples.first().map_or(0, Vec::len);
    if let Some((index, s)) = samples.iter().enumerate().find(|(_, s)| s.len() != first) {
        return Err(FirmwareError::RaggedSamples {
            index,
            len: s.len(),
            first,
        });
    }
    let header = format!(
        "/* fw_samples.h - generated by pare: the input samples embedded in the image. */\n\
         #ifndef FW_SAMPLES_H\n#define FW_SAMPLES_H\n#include <stdint.h>\n\
         #define FW_SAMPLE_COUNT {}\n\
         extern const int8_t fw_samples[][FW_INPUT_SIZE];\n#endif\n",
        samples.len()
    );
    let mut c = String::from(
        "/* fw_samples.c - generated by pare: the input samples embedded in the image. */\n\
         #include \"fw_model.h\"\n#include \"fw_samples.h\"\n\n",
    );
    if samples.is_empty() {
        c.push_str("const int8_t fw_samples[1][FW_INPUT_SIZE] = {{0}};\n");
        return Ok((header, c));
    }
    let _ = writeln!(
        c,
        "_Static_assert({first} == FW_INPUT_SIZE, \"the samples have {first} bytes, not the model's input size\");\n\
         const int8_t fw_samples[{}][FW_INPUT_SIZE] = {{",
        samples.len()
    );
    for s in samples {
        c.push_str("  {");
        for (i, v) in s.iter().enumerate() {
            if i % 24 == 0 {
                c.push_str("\n   ");
            }
            let _ = write!(c, " {v},");
        }
        c.push_str("\n  },\n");
    }
    c.push_str("};\n");
    Ok((header, c))
}

fn is_c_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_asm(file: &str) -> bool {
    file.ends_with(".s") || file.ends_with(".S")
}

fn stem(file: &str) -> &str {
    file.rsplit_once('.').map_or(file, |(s, _)| s)
}

fn mkdir(dir: &Path) -> Result<(), FirmwareError> {
    std::fs::create_dir_all(dir).map_err(|source| FirmwareError::Io {
        what: "cannot create directory",
        path: dir.into(),
        source,
    })
}

fn write(path: &Path, contents: &[u8]) -> Result<(), FirmwareError> {
    std::fs::write(path, contents).map_err(|source| FirmwareError::Io {
        what: "cannot write",
        path: path.into(),
        source,
    })
}
