//! The parent ↔ worker wire format: length-prefixed frames on the worker's stdin and
//! stdout. A request is `format code, u32 length, bytes`; a reply is `outcome code,
//! u32 length, UTF-8 detail`.

use crate::format::Format;
use std::io::{self, Read, Write};

/// Cases larger than this are not sent (no seed comes near it).
pub const MAX_FRAME: usize = 256 << 20;

/// What one case came to, as the worker reports it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Read, verified, inferred and interpreted.
    Ran = 0,
    /// Read, verified and inferred; not interpreted (too many MACs or elements).
    Checked = 1,
    /// Rejected with an error: the expected answer to a broken file.
    CleanError = 2,
    /// A reader accepted the file but the graph fails the verifier: a reader bug.
    Invalid = 3,
    /// A panic, caught in the worker.
    Panic = 4,
}

impl Outcome {
    fn from_code(c: u8) -> Option<Outcome> {
        [
            Outcome::Ran,
            Outcome::Checked,
            Outcome::CleanError,
            Outcome::Invalid,
            Outcome::Panic,
        ]
        .get(c as usize)
        .copied()
    }
}

fn write_frame(w: &mut impl Write, code: u8, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&n| n as usize <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    w.write_all(&[code])?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(body)?;
    w.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes"),
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Some((head[0], body)))
}

pub fn write_request(w: &mut impl Write, format: Format, bytes: &[u8]) -> io::Result<()> {
    write_frame(w, format.code(), bytes)
}

pub fn read_request(r: &mut impl Read) -> io::Result<Option<(Format, Vec<u8>)>> {
    let Some((code, body)) = read_frame(r)? else {
        return Ok(None);
    };
    let format = Format::from_code(code)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("format code {code}")))?;
    Ok(Some((format, body)))
}

pub fn write_reply(w: &mut impl Write, outcome: Outcome, detail: &str) -> io::Result<()> {
    write_frame(w, outcome as u8, detail.as_bytes())
}

pub fn read_reply(r: &mut impl Read) -> io::Result<Option<(Outcome, String)>> {
    let Some((code, body)) = read_frame(r)? else {
        return Ok(None);
    };
    let outcome = Outcome::from_code(code).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, format!("outcome code {code}"))
    })?;
    Ok(Some((outcome, String::from_utf8_lossy(&body).into_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_request(&mut buf, Format::Pt2, b"abc").unwrap();
        write_reply(&mut buf, Outcome::Invalid, "why").unwrap();
        let mut r = &buf[..];
        assert_eq!(
            read_request(&mut r).unwrap(),
            Some((Format::Pt2, b"abc".to_vec()))
        );
        assert_eq!(
            read_reply(&mut r).unwrap(),
            Some((Outcome::Invalid, "why".into()))
        );
        assert_eq!(read_reply(&mut r).unwrap(), None);
    }

    #[test]
    fn a_frame_claiming_too_many_bytes_is_refused_before_allocating() {
        let mut buf = vec![0u8];
        buf.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(read_request(&mut &buf[..]).is_err());
    }
}
