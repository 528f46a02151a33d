//! `dce`: dead-code elimination. Removes nodes none of whose outputs reaches a
//! graph output. Unused weights are dropped when the pipeline compacts the graph.

use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::Graph;

#[derive(Debug, Default)]
pub struct Dce;

impl Pass for Dce {
    fn name(&self) -> &'static str {
        "dce"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        // Walk the order backwards: a node is live when one of its outputs is
        // needed, and then all its inputs are needed. A multi-output node stays
        // whole when any one output is needed.
        let mut needed = vec![false; g.value_count()];
        for &o in &g.outputs {
            needed[o.index()] = true;
        }
        let mut dead = std::collections::BTreeSet::new();
        for &id in g.order().iter().rev() {
            let node = g.node(id);
            if node.outputs.iter().any(|o| needed[o.index()]) {
                for i in node.present_inputs() {
                    needed[i.index()] = true;
                }
            } else {
                dead.insert(id);
            }
        }
        if dead.is_empty() {
            return Ok(Changed::No);
        }
        cx.note(self.name(), format!("dead nodes removed: {}", dead.len()));
        // One order rewrite instead of a removal per node (each is O(nodes)).
        let keep: Vec<_> = g
            .order()
            .iter()
            .copied()
            .filter(|n| !dead.contains(n))
            .collect();
        g.set_order(keep);
        Ok(Changed::Yes)
    }
}
