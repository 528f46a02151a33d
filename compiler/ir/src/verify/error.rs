//! The verifier's typed report: which rule a violation breaks, which node, value
//! or weight it is about, and a message that reads on its own.

use crate::{NodeId, ValueId, WeightId};
use std::fmt;

/// A verifier rule, by its stable id (the tag printed in brackets and written in
/// `; verify-error: RULE` filetests). The rules are listed in [`super`]'s docs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Rule {
    Ids,
    Def,
    Unique,
    Dominance,
    Outputs,
    Arity,
    Types,
    Weights,
    Quant,
}

impl Rule {
    /// Every rule, in the order the verifier checks them.
    pub const ALL: [Rule; 9] = [
        Rule::Ids,
        Rule::Def,
        Rule::Unique,
        Rule::Dominance,
        Rule::Outputs,
        Rule::Arity,
        Rule::Types,
        Rule::Weights,
        Rule::Quant,
    ];

    /// The stable id: `ids`, `def`, `unique`, `dominance`, `outputs`, `arity`,
    /// `types`, `weights`, `quant`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::Ids => "ids",
            Rule::Def => "def",
            Rule::Unique => "unique",
            Rule::Dominance => "dominance",
            Rule::Outputs => "outputs",
            Rule::Arity => "arity",
            Rule::Types => "types",
            Rule::Weights => "weights",
            Rule::Quant => "quant",
        }
    }

    /// The rule with id `id`, if there is one.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// What a violation is about. Ids may themselves be the broken part (out of
/// range), so the printable label is kept beside them rather than looked up.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Entity {
    /// The graph as a whole (its input or output list).
    Graph,
    /// A node; `label` is ``` `name` (op)``` or `#id (op)`, or `#id` when the id
    /// is out of range.
    Node { id: NodeId, label: String },
    /// A value; `label` is `%id`.
    Value { id: ValueId, label: String },
    /// A stored weight; `label` is `weight id`.
    Weight { id: WeightId, label: String },
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entity::Graph => f.write_str("graph"),
            Entity::Node { label, .. } => write!(f, "node {label}"),
            Entity::Value { label, .. } | Entity::Weight { label, .. } => f.write_str(label),
        }
    }
}

/// One broken rule. `message` is complete on its own (it names the entity), so
/// Display is `[rule] message`, as the verifier has always printed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Violation {
    pub rule: Rule,
    pub entity: Entity,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.rule, self.message)
    }
}

/// Every violation found, in the order checked; Display prints one per line.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyError {
    pub errors: Vec<Violation>,
}

impl VerifyError {
    /// Whether some violation breaks `rule`.
    pub fn breaks(&self, rule: Rule) -> bool {
        self.errors.iter().any(|v| v.rule == rule)
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifyError {}
