//! What a pruning pass did, kept in the pass context for the compile report.

/// One dependency group as pruned.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupReport {
    /// The layers (node names) whose output channels the group removes.
    pub layers: Vec<String>,
    /// Channel classes before and after (a class is one channel of each layer,
    /// or one whole attention head).
    pub classes_before: usize,
    pub classes_after: usize,
    /// Output channels of each layer one class holds (1, or a head's width).
    pub channels_per_class: usize,
    /// Classes that could not be removed, and the first reason.
    pub blocked: usize,
    pub reason: Option<String>,
}

/// One run of a pruning pass.
#[derive(Clone, Debug, PartialEq)]
pub struct PruneReport {
    /// `structured` or `unstructured`.
    pub kind: &'static str,
    /// The importance criterion (`l1`, `l2`, `act`, `recon`).
    pub importance: &'static str,
    pub ratio: f64,
    pub scope: &'static str,
    pub groups: Vec<GroupReport>,
    /// Whether the consumers were re-fitted by least squares.
    pub refit: bool,
    /// The layers refitted.
    pub refitted: Vec<String>,
}
