//! Dependency groups: the channel classes that belong to the same set of
//! layers (the residual chain c1 + c3 + the depthwise conv after it, one
//! attention block's heads, one FFN's hidden units) form one group; ratios
//! apply per group, and the report lists each with what blocks it.

use super::analyze::Analysis;
use pare_ir::NodeId;
use std::collections::BTreeMap;

/// One dependency group.
#[derive(Clone, Debug)]
pub struct Group {
    /// The layers whose output channels the group's classes are, in graph order.
    pub layers: Vec<NodeId>,
    /// Its classes (ascending); each removes one channel of every layer (or a
    /// whole head, when the layers' channels are coupled in blocks).
    pub classes: Vec<u32>,
    /// Classes that cannot be removed, with the reason.
    pub blocked: BTreeMap<u32, String>,
    /// Source channels per class (the same for every class of a group when
    /// channels are single; more when a class is a whole head).
    pub channels_per_class: usize,
}

impl Group {
    /// Classes that may be removed.
    pub fn prunable(&self) -> impl Iterator<Item = u32> + '_ {
        self.classes
            .iter()
            .copied()
            .filter(|c| !self.blocked.contains_key(c))
    }

    /// The reason to show when nothing in the group can be removed.
    pub fn reason(&self) -> Option<&str> {
        if self.prunable().next().is_none() {
            self.blocked.values().next().map(String::as_str)
        } else {
            None
        }
    }
}

/// Groups the analysis's classes by the layers they span.
pub fn groups(an: &Analysis, order: &[NodeId]) -> Vec<Group> {
    let pos: BTreeMap<NodeId, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let blocked = an.blocked();
    let mut by_layers: BTreeMap<Vec<usize>, Group> = BTreeMap::new();
    for (class, members) in an.members() {
        let mut layers: Vec<NodeId> = members.iter().map(|s| s.node).collect();
        layers.sort_by_key(|n| pos.get(n).copied().unwrap_or(usize::MAX));
        let count = members.len() / layers.len().max(1);
        layers.dedup();
        let key: Vec<usize> = layers.iter().map(|n| n.index()).collect();
        let g = by_layers.entry(key).or_insert_with(|| Group {
            layers: layers.clone(),
            classes: Vec::new(),
            blocked: BTreeMap::new(),
            channels_per_class: members.len() / layers.len().max(1),
        });
        g.channels_per_class = g.channels_per_class.max(count);
        g.classes.push(class);
        if let Some(why) = blocked.get(&class) {
            g.blocked.insert(class, why.clone());
        }
    }
    let mut out: Vec<Group> = by_layers.into_values().collect();
    out.sort_by_key(|g| {
        g.layers
            .first()
            .and_then(|n| pos.get(n).copied())
            .unwrap_or(usize::MAX)
    });
    out
}
