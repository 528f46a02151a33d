//! What the RP2040 target can hold, decided before any toolchain runs: which
//! layers may keep 4-bit weights (its kernels' capability, offered to the
//! mixed-precision chooser) and the planned fit of an emitted model on a
//! device (const data vs flash, arena + stack reserve vs RAM), beside the
//! measured check of [`Device::check_fit`].

use super::device::{bytes, over, Device};
use super::{packs_4bit_weights, Emitted};
use pare_ir::{Graph, Node};

/// Why a layer of the float graph cannot have 4-bit weights on this target
/// (`None`: it can). The product kernels (convolutions, fully connected) read
/// packed 4-bit codes; a depthwise conv's weights are widened for its kernel,
/// so 4 bits would save no flash there and only lose accuracy.
pub fn no_int4(g: &Graph, n: &Node) -> Option<String> {
    (!packs_4bit_weights(g, n)).then(|| {
        format!(
            "{} layers keep int8 weights: the rp2040 C kernels keep 4-bit codes packed only for convolutions (not depthwise) and fully connected layers (Gemm, MatMul by a constant)",
            n.op.name()
        )
    })
}

/// A model whose planned sizes already overflow the device.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the model does not fit {device}: {}{hint}", problems.join("; "))]
pub struct PlannedFitError {
    pub device: &'static str,
    /// Each overflow, in words (flash, then RAM).
    pub problems: Vec<String>,
    hint: &'static str,
}

/// The fit check that needs no toolchain, made before cross-building: the
/// const data of NAME_weights.c alone against the device's flash, and the
/// planned arena with the stack reserve against its RAM. Both are lower
/// bounds of what the image needs, so a failure here is final; a pass is
/// confirmed by the measured image.
pub fn planned_fit(e: &Emitted, device: &Device) -> Result<(), PlannedFitError> {
    let mut problems = Vec::new();
    let data = e.const_bytes();
    if data > device.flash_bytes {
        problems.push(format!(
            "its constant data alone is {data} bytes ({}: weights and biases {} bytes + tables {} bytes in {}_weights.c), over {}'s flash of {} bytes ({}) by {} before any code",
            bytes(data),
            e.weight_bytes,
            e.table_bytes,
            e.name,
            device.name,
            device.flash_bytes,
            bytes(device.flash_bytes),
            over(data - device.flash_bytes)
        ));
    }
    let ram = e.plan.arena_bytes + device.stack_reserve;
    if ram > device.ram_bytes {
        problems.push(format!(
            "its arena of {} bytes (the static memory plan; lower bound {}) + stack reserve {} = {ram} bytes ({}) is over {}'s RAM of {} bytes ({}) by {}",
            e.plan.arena_bytes,
            e.plan.lower_bound,
            device.stack_reserve,
            bytes(ram),
            device.name,
            device.ram_bytes,
            bytes(device.ram_bytes),
            over(ram - device.ram_bytes)
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let hint = if data > device.flash_bytes {
        " (planned from the generated C, before cross-building; --quantize mixed --size-budget BYTES stores conv and fully connected weights in 4 bits where they cost least)"
    } else {
        " (planned from the generated C, before cross-building)"
    };
    Err(PlannedFitError {
        device: device.name,
        problems,
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rp2040::{emit, EmitOptions};
    use pare_passes::quantize::calibrate::{calibrate, CalibOptions, InMemory};
    use pare_passes::quantize::{quantize_int, IntOptions};

    const NET: &str = "graph @g(%x \"x\": f32[1,2,4,4]) -> (f32[1,3]) {
  $dw \"dw\": f32[2,1,3,3] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9]
  $w \"w\": f32[3,32] = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.18, 0.19, 0.2, 0.21, 0.22, 0.23, 0.24, 0.25, 0.26, 0.27, 0.28, 0.29, 0.3, 0.31, 0.32, -0.01, -0.02, -0.03, -0.04, -0.05, -0.06, -0.07, -0.08, -0.09, -0.1, -0.11, -0.12, -0.13, -0.14, -0.15, -0.16, -0.17, -0.18, -0.19, -0.2, -0.21, -0.22, -0.23, -0.24, -0.25, -0.26, -0.27, -0.28, -0.29, -0.3, -0.31, -0.32, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5]
  $b \"b\": f32[3] = [0.1, 0.0, -0.1]
  $shape \"shape\": i64[2] = [1, 32]
  %d \"d\": f32[1,2,4,4] = conv(%x, $dw) {auto_pad=\"NOTSET\", kernel_shape=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=2}
  %f \"f\": f32[1,32] = reshape(%d, $shape) {allowzero=false}
  %y \"y\": f32[1,3] = gemm(%f, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
";

    fn float() -> Graph {
        pare_ir::text::parse(NET).unwrap()
    }

    #[test]
    fn depthwise_convs_keep_int8_and_products_may_take_4_bits() {
        let g = float();
        let why: Vec<(String, Option<String>)> = g
            .nodes()
            .filter(|(_, n)| matches!(n.op.name(), "conv" | "gemm"))
            .map(|(_, n)| (n.op.name().to_string(), no_int4(&g, n)))
            .collect();
        assert_eq!(why.len(), 2);
        assert!(
            why[0].1.as_deref().unwrap().contains("not depthwise"),
            "{why:?}"
        );
        assert_eq!(why[1].1, None);
    }

    #[test]
    fn planned_fit_names_each_overflow() {
        let mut g = float();
        let x: Vec<f32> = (0..32).map(|i| (i as f32 / 31.0) - 0.5).collect();
        let batch = vec![vec![pare_ir::Tensor::from_vec(vec![1, 2, 4, 4], x).unwrap()]];
        let cal = calibrate(
            &g,
            &mut InMemory(&batch),
            &CalibOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        quantize_int(&mut g, &cal, &IntOptions::default()).unwrap();
        let e = emit(&g, &EmitOptions::default()).unwrap();
        let rp2040 = Device::by_name("rp2040").unwrap();
        assert_eq!(planned_fit(&e, rp2040), Ok(()));
        let tiny = Device {
            flash_bytes: 16,
            ram_bytes: 64,
            ..*rp2040
        };
        let err = planned_fit(&e, &tiny).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        let msg = err.to_string();
        assert!(
            msg.starts_with("the model does not fit rp2040: its constant data alone is "),
            "{msg}"
        );
        assert!(msg.contains("--quantize mixed --size-budget"), "{msg}");
        assert!(msg.contains("is over rp2040's RAM of 64 bytes"), "{msg}");
    }
}
