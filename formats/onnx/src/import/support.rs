//! Which ONNX operators pare imports, and the first opset from which each means
//! what pare reads it as: the op table's ONNX column (see [`pare_ir::ops::OnnxForm`]),
//! plus the operators the importer expands into other ops.

/// Operators with no row of their own: `Constant` becomes a weight, `Sum` and
/// `Mean` chains of `Add` (and a division).
const EXPANDED: &[(&str, i64)] = &[("Constant", 1), ("Sum", 8), ("Mean", 8)];

/// The first default-domain opset from which pare imports `op_type`, if it does.
pub(crate) fn since_version(op_type: &str) -> Option<i64> {
    if let Some((_, info)) = pare_ir::ops::by_onnx_name(op_type) {
        return info.onnx.map(|o| o.since);
    }
    EXPANDED
        .iter()
        .find(|(name, _)| *name == op_type)
        .map(|&(_, since)| since)
}
