//! What the planner may assume and decide: alignment, where graph inputs and
//! outputs live, which schedule to use, whether element-wise ops run in place, and the
//! workspace a node's kernel needs while it runs.

use pare_ir::NodeId;
use std::collections::BTreeMap;

/// Where the graph's inputs (or outputs) live while the model runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum IoPlacement {
    /// In the arena: the runtime copies the input in (or reads the output out),
    /// so the buffer is planned like any activation.
    #[default]
    Arena,
    /// In memory the caller owns (the pointers passed to `invoke`): not planned.
    /// An external input is read-only: nothing is ever computed in place over it.
    External,
}

/// The order the nodes run in.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ScheduleKind {
    /// The graph's own topological order.
    #[default]
    GraphOrder,
    /// [`super::memory_greedy_order`]: at each step the ready node that grows
    /// the live bytes least.
    MemoryGreedy,
    /// Plans with both orders and keeps the smaller arena (the graph order on a
    /// tie, so the result only changes when it helps).
    Best,
}

/// Which nodes may write their output over their input.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum InPlace {
    /// Every node gets a buffer of its own (views still share, see
    /// [`super::is_view_op`]).
    Off,
    /// The unary element-wise ops of [`super::in_place_op`] write over input 0
    /// when that buffer dies at this step. Kernels for those ops must accept
    /// `out == in` (read element `i`, then write element `i`).
    #[default]
    UnaryElementwise,
}

/// Options of [`super::plan_memory`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// Alignment of every buffer offset in bytes: a power of two (16 by default,
    /// enough for any Cortex-M load and for 128-bit SIMD on hosts). Buffer
    /// footprints are rounded up to it, and so is the arena.
    pub alignment: u64,
    pub inputs: IoPlacement,
    pub outputs: IoPlacement,
    pub schedule: ScheduleKind,
    pub in_place: InPlace,
    /// Workspace bytes a node's kernel needs while it runs (an im2col column, a padded
    /// plane): a buffer live at that node's step only, planned with the activations so
    /// the arena (and its lower bound) include it.
    pub scratch: BTreeMap<NodeId, u64>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            alignment: 16,
            inputs: IoPlacement::Arena,
            outputs: IoPlacement::Arena,
            schedule: ScheduleKind::GraphOrder,
            in_place: InPlace::UnaryElementwise,
            scratch: BTreeMap::new(),
        }
    }
}
