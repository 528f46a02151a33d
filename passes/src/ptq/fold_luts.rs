//! `fold-luts`: removes quantized element-wise nodes whose lookup table maps
//! every code to itself (a Relu after a producer that already saturates there).

use crate::quantize::fold_luts::fold_identity_luts;
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::Graph;

const PASS: &str = "fold-luts";

/// See the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub struct FoldLuts;

impl Pass for FoldLuts {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let removed = fold_identity_luts(g);
        for name in &removed {
            let what = if name.is_empty() {
                "an unnamed node".to_string()
            } else {
                format!("`{name}`")
            };
            cx.note(PASS, format!("removed {what}: its table is the identity"));
        }
        Ok(Changed::from_bool(!removed.is_empty()))
    }
}
