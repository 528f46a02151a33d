//! Device profiles (`--device rp2040|rp2350|esp32|cortex-m4|cortex-m7`): memories, core, clock
//! and stack reserve, and the check that a measured image fits one with room to spare.

use std::fmt;

/// The CPU core of a device profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Core {
    CortexM0Plus,
    CortexM33,
    CortexM4F,
    CortexM7F,
    XtensaLx6,
}

impl Core {
    /// The core's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Core::CortexM0Plus => "Arm Cortex-M0+",
            Core::CortexM33 => "Arm Cortex-M33",
            Core::CortexM4F => "Arm Cortex-M4F",
            Core::CortexM7F => "Arm Cortex-M7F",
            Core::XtensaLx6 => "Xtensa LX6",
        }
    }

    /// Whether arm-none-eabi-gcc builds for it. Every Arm M-profile core runs the ARMv6-M
    /// (Cortex-M0+) instruction set the emulated firmware is built with.
    pub fn is_cortex_m(self) -> bool {
        !matches!(self, Core::XtensaLx6)
    }
}

/// A device profile: a representative part and what a model image may use of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    /// The `--device` name.
    pub name: &'static str,
    /// The part (and board) the figures are taken from.
    pub part: &'static str,
    pub core: Core,
    pub clock_hz: u32,
    /// RAM that static data, the arena and the stack share.
    pub ram_bytes: u64,
    /// Flash that code, constants and `.data` initializers share.
    pub flash_bytes: u64,
    /// RAM kept free for the stack (the application's and the model's frames).
    pub stack_reserve: u64,
    /// What a user should know about these figures.
    pub note: &'static str,
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// The known profiles, the default (`rp2040`) first.
pub const DEVICES: &[Device] = &[
    Device {
        name: "rp2040",
        part: "RP2040 (Raspberry Pi Pico, 2 MiB QSPI flash)",
        core: Core::CortexM0Plus,
        clock_hz: 133_000_000,
        ram_bytes: 264 * KIB,
        flash_bytes: 2 * MIB,
        stack_reserve: 8 * KIB,
        note: "two cores without FPU or SIMD; flash is executed in place through a 16 KiB cache",
    },
    Device {
        name: "rp2350",
        part: "RP2350 (Raspberry Pi Pico 2, 4 MiB QSPI flash)",
        core: Core::CortexM33,
        clock_hz: 150_000_000,
        ram_bytes: 520 * KIB,
        flash_bytes: 4 * MIB,
        stack_reserve: 8 * KIB,
        note: "Cortex-M33 cores with DSP extension and single-precision FPU",
    },
    Device {
        name: "esp32",
        part: "ESP32 (ESP32-DevKitC, 4 MiB flash)",
        core: Core::XtensaLx6,
        clock_hz: 240_000_000,
        ram_bytes: 320 * KIB,
        flash_bytes: 4 * MIB,
        stack_reserve: 8 * KIB,
        note: "RAM is the 320 KiB data RAM; ESP-IDF places at most 160 KiB of it statically",
    },
    Device {
        name: "cortex-m4",
        part: "nRF52840 (Arduino Nano 33 BLE)",
        core: Core::CortexM4F,
        clock_hz: 64_000_000,
        ram_bytes: 256 * KIB,
        flash_bytes: MIB,
        stack_reserve: 8 * KIB,
        note: "the board TensorFlow Lite Micro's examples target",
    },
    Device {
        name: "cortex-m7",
        part: "STM32F746 (32F746G-DISCOVERY)",
        core: Core::CortexM7F,
        clock_hz: 216_000_000,
        ram_bytes: 320 * KIB,
        flash_bytes: MIB,
        stack_reserve: 8 * KIB,
        note: "RAM counts DTCM and SRAM1/2, contiguous on this part",
    },
];

/// `--device NAME` named no profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device `{name}`: known devices are {}", known_names())]
pub struct UnknownDevice {
    pub name: String,
}

fn known_names() -> String {
    DEVICES
        .iter()
        .map(|d| d.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an image needs of a device, from `arm-none-eabi-size` on the built image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Footprint {
    /// Flash: code, constants and `.data` initializers (text + data).
    pub flash: u64,
    /// Of `flash`, the model's weights.
    pub weights: u64,
    /// RAM: the model's arena.
    pub arena: u64,
    /// RAM: `.data` and `.bss` besides the arena.
    pub static_ram: u64,
}

/// What is left of a device once an image and its stack reserve are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headroom {
    /// RAM used: arena + static data + stack reserve.
    pub ram_used: u64,
    pub ram_free: u64,
    pub flash_used: u64,
    pub flash_free: u64,
}

/// The image does not fit the device; the message names each overflow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct FitError {
    pub device: Device,
    pub footprint: Footprint,
}

impl Device {
    /// The profile named `name`.
    pub fn by_name(name: &str) -> Result<&'static Device, UnknownDevice> {
        DEVICES
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| UnknownDevice { name: name.into() })
    }

    /// RAM the footprint needs on this device: arena, static data and the stack reserve.
    pub fn ram_needed(&self, f: &Footprint) -> u64 {
        f.arena + f.static_ram + self.stack_reserve
    }

    /// The headroom left by `f`, or an error naming what overflows.
    pub fn check_fit(&self, f: &Footprint) -> Result<Headroom, FitError> {
        let ram = self.ram_needed(f);
        if ram > self.ram_bytes || f.flash > self.flash_bytes {
            return Err(FitError {
                device: *self,
                footprint: *f,
            });
        }
        Ok(Headroom {
            ram_used: ram,
            ram_free: self.ram_bytes - ram,
            flash_used: f.flash,
            flash_free: self.flash_bytes - f.flash,
        })
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}, {} at {} MHz, {} RAM, {} flash, {} stack reserve",
            self.name,
            self.part,
            self.core.name(),
            self.clock_hz / 1_000_000,
            bytes(self.ram_bytes),
            bytes(self.flash_bytes),
            bytes(self.stack_reserve)
        )
    }
}

impl FitError {
    fn message(&self) -> String {
        let (d, f) = (&self.device, &self.footprint);
        let mut parts = Vec::new();
        let ram = d.ram_needed(f);
        if ram > d.ram_bytes {
            let mut terms = vec![format!("arena {}", f.arena)];
            if f.static_ram > 0 {
                terms.push(format!("static data {}", f.static_ram));
            }
            terms.push(format!("stack reserve {}", d.stack_reserve));
            parts.push(format!(
                "RAM {ram} bytes ({}: {}) does not fit {}'s RAM of {} bytes ({}), {} over",
                bytes(ram),
                terms.join(" + "),
                d.name,
                d.ram_bytes,
                bytes(d.ram_bytes),
                over(ram - d.ram_bytes)
            ));
        }
        if f.flash > d.flash_bytes {
            let split = if f.weights > 0 {
                format!(
                    ": weights {} bytes + code and other data {} bytes",
                    f.weights,
                    f.flash.saturating_sub(f.weights)
                )
            } else {
                String::new()
            };
            parts.push(format!(
                "flash image {} bytes ({}{split}) does not fit {}'s flash of {} bytes ({}), {} over",
                f.flash,
                bytes(f.flash),
                d.name,
                d.flash_bytes,
                bytes(d.flash_bytes),
                over(f.flash - d.flash_bytes)
            ));
        }
        parts.join("; ")
    }
}

/// `1536 bytes (1.5 KiB)`: an overflow in bytes and for people.
pub fn over(n: u64) -> String {
    format!("{n} bytes ({})", bytes(n))
}

/// Bytes for people: whole KiB/MiB when exact, else KiB to 0.1 and MiB to 0.01; bytes when small.
pub fn bytes(n: u64) -> String {
    if n < KIB {
        format!("{n} B")
    } else if n < MIB {
        in_unit(n, KIB, "KiB", 1)
    } else {
        in_unit(n, MIB, "MiB", 2)
    }
}

fn in_unit(n: u64, unit: u64, name: &str, decimals: usize) -> String {
    if n.is_multiple_of(unit) {
        format!("{} {name}", n / unit)
    } else {
        format!("{:.*} {name}", decimals, n as f64 / unit as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp2040() -> &'static Device {
        Device::by_name("rp2040").unwrap()
    }

    #[test]
    fn headroom_when_it_fits() {
        let f = Footprint {
            flash: 100 * KIB,
            weights: 80 * KIB,
            arena: 20 * KIB,
            static_ram: 1000,
        };
        let h = rp2040().check_fit(&f).unwrap();
        assert_eq!(h.ram_used, 20 * KIB + 1000 + 8 * KIB);
        assert_eq!(h.ram_free, 264 * KIB - h.ram_used);
        assert_eq!(h.flash_free, 2 * MIB - 100 * KIB);
    }

    #[test]
    fn exactly_full_fits() {
        let f = Footprint {
            flash: 2 * MIB,
            weights: 0,
            arena: 256 * KIB,
            static_ram: 0,
        };
        let h = rp2040().check_fit(&f).unwrap();
        assert_eq!((h.ram_free, h.flash_free), (0, 0));
    }

    #[test]
    fn arena_overflow_names_the_terms() {
        let f = Footprint {
            flash: 10 * KIB,
            weights: 0,
            arena: 300 * KIB,
            static_ram: 0,
        };
        let e = rp2040().check_fit(&f).unwrap_err().to_string();
        assert_eq!(
            e,
            "RAM 315392 bytes (308 KiB: arena 307200 + stack reserve 8192) does not fit rp2040's RAM of 270336 bytes (264 KiB), 45056 bytes (44 KiB) over"
        );
    }

    #[test]
    fn both_overflows_are_reported() {
        let f = Footprint {
            flash: 3 * MIB,
            weights: 3 * MIB - 10 * KIB,
            arena: 257 * KIB,
            static_ram: 512,
        };
        let e = rp2040().check_fit(&f).unwrap_err().to_string();
        assert!(e.contains("RAM 271872 bytes (265.5 KiB: arena 263168 + static data 512 + stack reserve 8192) does not fit rp2040's RAM of 270336 bytes (264 KiB), 1536 bytes (1.5 KiB) over"), "{e}");
        assert!(e.contains("flash image 3145728 bytes (3 MiB: weights 3135488 bytes + code and other data 10240 bytes) does not fit rp2040's flash of 2097152 bytes (2 MiB), 1048576 bytes (1 MiB) over"), "{e}");
    }

    #[test]
    fn one_byte_over_fails() {
        let d = Device::by_name("cortex-m4").unwrap();
        let f = Footprint {
            flash: MIB + 1,
            ..Footprint::default()
        };
        let e = d.check_fit(&f).unwrap_err().to_string();
        assert_eq!(
            e,
            "flash image 1048577 bytes (1.00 MiB) does not fit cortex-m4's flash of 1048576 bytes (1 MiB), 1 bytes (1 B) over"
        );
    }

    #[test]
    fn unknown_device_lists_the_known_ones() {
        let e = Device::by_name("pdp11").unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown device `pdp11`: known devices are rp2040, rp2350, esp32, cortex-m4, cortex-m7"
        );
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in DEVICES.iter().enumerate() {
            assert!(
                DEVICES[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }
}
