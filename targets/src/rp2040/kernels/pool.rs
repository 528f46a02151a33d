//! MaxPool → `pare_max_pool2d`, AveragePool → `pare_average_pool2d`
//! (pare_ir::interp::int::pool): the interpreter's window geometry and, for the
//! average, one multiplier per possible window count.

use super::geometry::{plane, window_rows};
use crate::rp2040::layer::{c_int, Layer, NodeCx, Params};
use crate::rp2040::Rp2040Error;
use pare_ir::quant::mean_multiplier;
use pare_ir::Op;

pub(super) fn pool(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let (kernel, count_include_pad) = match cx.node.op {
        Op::MaxPool { .. } => {
            if cx.node.outputs.len() > 1 {
                return Err(cx.err("the indices output has no C kernel"));
            }
            ("pare_max_pool2d", false)
        }
        Op::AveragePool {
            count_include_pad, ..
        } => ("pare_average_pool2d", count_include_pad),
        _ => return Err(cx.err("not a pool")),
    };
    let pl = plane(cx, false)?;
    let xs = cx.in_shape(0)?;
    let channels = c_int(cx, xs[1], "channels")?;
    let (si, zi) = cx.act_in(0)?;
    let (so, zo) = cx.act_out(0)?;
    let (mn, sn) = if kernel == "pare_average_pool2d" {
        let ksz = (pl.k_h * pl.k_w) as u64;
        let mult: Vec<(i32, i32)> = (0..=ksz)
            .map(|c| mean_multiplier(si, so, c.max(1)))
            .collect();
        cx.requant_arrays(&mult, "indexed by the window's count")
    } else {
        ("NULL".to_string(), "NULL".to_string())
    };
    let params = window_rows(Params::new("pare_pool2d_params"), channels, &pl)
        .row(&[
            ("pad_top", pl.pad_top),
            ("pad_left", pl.pad_left),
            ("pad_bottom", pl.pad_bottom),
            ("pad_right", pl.pad_right),
        ])
        .row(&[("count_include_pad", i64::from(count_include_pad))])
        .row(&[("in_zero_point", zi), ("out_zero_point", zo)])
        .row(&[("rounding", cx.rounding_macro())])
        .row(&[("multiplier", mn), ("shift", sn)]);
    let operands = vec![cx.operand(0)?];
    cx.single_call(kernel, params, operands, None)
}
