//! Reads `arm-none-eabi-size` output: totals in Berkeley form (`-B -d`) and sections in
//! System V form (`-A -d`). Image sizes are always read from the built image, never estimated.

use super::firmware_error::FirmwareError;

/// One allocated or debug section as `size -A` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub size: u64,
    pub addr: u64,
}

/// The sizes of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSizes {
    /// Berkeley `text`: code and read-only data (weights included), in flash.
    pub text: u64,
    /// Berkeley `data`: initialized variables, in RAM with their initializers in flash.
    pub data: u64,
    /// Berkeley `bss`: zeroed variables (the arena included), in RAM.
    pub bss: u64,
    /// Every section `size -A` lists, in its order.
    pub sections: Vec<Section>,
}

impl ImageSizes {
    /// Flash bytes: text + data (the initializers of `.data`).
    pub fn flash(&self) -> u64 {
        self.text + self.data
    }

    /// Static RAM bytes: data + bss (the stack is not included).
    pub fn ram(&self) -> u64 {
        self.data + self.bss
    }

    /// The size of section `name`, 0 when the image has none.
    pub fn section(&self, name: &str) -> u64 {
        self.sections
            .iter()
            .find(|s| s.name == name)
            .map_or(0, |s| s.size)
    }
}

/// Parses `arm-none-eabi-size -B -d FILE` (totals) and `arm-none-eabi-size -A -d FILE`
/// (sections) for one file.
pub fn parse_size(berkeley: &str, sysv: &str) -> Result<ImageSizes, FirmwareError> {
    let (text, data, bss) = parse_berkeley(berkeley)?;
    Ok(ImageSizes {
        text,
        data,
        bss,
        sections: parse_sysv(sysv)?,
    })
}

fn bad(reason: impl Into<String>, output: &str) -> FirmwareError {
    FirmwareError::SizeOutput {
        reason: reason.into(),
        output: output.into(),
    }
}

/// `   text\t   data\t    bss\t    dec\t    hex\tfilename` then one row per file.
fn parse_berkeley(out: &str) -> Result<(u64, u64, u64), FirmwareError> {
    let mut lines = out.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| bad("empty output", out))?
        .split_whitespace()
        .collect();
    if header.get(..3) != Some(&["text", "data", "bss"][..]) {
        return Err(bad("the header is not `text data bss ...`", out));
    }
    let row: Vec<&str> = lines
        .next()
        .ok_or_else(|| bad("no row after the header", out))?
        .split_whitespace()
        .collect();
    if lines.next().is_some() {
        return Err(bad("more than one file listed", out));
    }
    let num = |i: usize, what: &str| -> Result<u64, FirmwareError> {
        row.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("`{what}` is not a decimal number"), out))
    };
    let (text, data, bss, dec) = (
        num(0, "text")?,
        num(1, "data")?,
        num(2, "bss")?,
        num(3, "dec")?,
    );
    if text + data + bss != dec {
        return Err(bad("text + data + bss differs from dec", out));
    }
    Ok((text, data, bss))
}

/// `FILE  :` / `section  size  addr` / one row per section / `Total  N`.
fn parse_sysv(out: &str) -> Result<Vec<Section>, FirmwareError> {
    let mut lines = out.lines().map(str::trim).filter(|l| !l.is_empty());
    if !lines.next().is_some_and(|l| l.ends_with(':')) {
        return Err(bad("the first line is not `FILE  :`", out));
    }
    if lines
        .next()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        != Some(vec!["section", "size", "addr"])
    {
        return Err(bad("the header is not `section size addr`", out));
    }
    let mut sections = Vec::new();
    for line in lines {
        let cols: Vec<&str> = line.split_whitespace().collect();
        match cols[..] {
            ["Total", total] => {
                let sum: u64 = sections.iter().map(|s: &Section| s.size).sum();
                if total.parse() != Ok(sum) {
                    return Err(bad("`Total` differs from the sum of the sections", out));
                }
                return Ok(sections);
            }
            [name, size, addr] => {
                let (Ok(size), Ok(addr)) = (size.parse(), addr.parse()) else {
                    return Err(bad(format!("section row `{line}` is not decimal"), out));
                };
                sections.push(Section {
                    name: name.into(),
                    size,
                    addr,
                });
            }
            _ => return Err(bad(format!("unexpected row `{line}`"), out)),
        }
    }
    Err(bad("no `Total` row", out))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Verbatim from arm-none-eabi-size 2.40 (Debian's binutils-arm-none-eabi) on a firmware.
    const BERKELEY: &str = "   text\t   data\t    bss\t    dec\t    hex\tfilename\n   \
                            1248\t      0\t    160\t   1408\t    580\tfirmware.elf\n";
    const SYSV: &str = "firmware.elf  :\n\
        section             size        addr\n\
        .vectors              64           0\n\
        .text                124          64\n\
        .weights              64         192\n\
        .harness             996         256\n\
        .data                  0   536870912\n\
        .arena                64   536870912\n\
        .harness_bss          96   536870976\n\
        .bss                   0   536871072\n\
        .comment              38           0\n\
        .ARM.attributes       44           0\n\
        Total               1490\n\n\n";

    #[test]
    fn reads_both_forms() {
        let s = parse_size(BERKELEY, SYSV).unwrap();
        assert_eq!((s.text, s.data, s.bss), (1248, 0, 160));
        assert_eq!((s.flash(), s.ram()), (1248, 160));
        assert_eq!(s.section(".weights"), 64);
        assert_eq!(s.section(".missing"), 0);
        assert_eq!(
            s.sections[5],
            Section {
                name: ".arena".into(),
                size: 64,
                addr: 0x2000_0000
            }
        );
        assert_eq!(s.sections.len(), 10);
    }

    #[test]
    fn rejects_what_is_not_size_output() {
        let e = parse_size("hello\n", SYSV).unwrap_err().to_string();
        assert!(e.contains("the header is not `text data bss ...`"), "{e}");
        let e = parse_size(&BERKELEY.replace("1408", "1409"), SYSV).unwrap_err();
        assert!(e.to_string().contains("differs from dec"), "{e}");
        let e = parse_size(BERKELEY, &SYSV.replace("1490", "1491")).unwrap_err();
        assert!(e.to_string().contains("`Total` differs"), "{e}");
        let e = parse_size(BERKELEY, &SYSV.replace("Total               1490\n", ""));
        assert!(e.unwrap_err().to_string().contains("no `Total` row"));
        let two = format!("{BERKELEY}   1\t2\t3\t6\t6\tother.elf\n");
        assert!(parse_size(&two, SYSV).is_err());
    }
}
