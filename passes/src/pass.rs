//! The `Pass` trait and what every pass shares: its result (`Changed`), its
//! context (`PassCx`: options and a log for reports) and its error type.

use pare_ir::infer::InferError;
use pare_ir::verify::VerifyError;
use pare_ir::{Graph, NodeId};
use std::error::Error as StdError;

/// Whether a pass modified the graph. Fixpoint iteration stops on `No`; node
/// counts are never compared (a pass may rewrite without changing the count).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Changed {
    Yes,
    No,
}

impl Changed {
    pub fn from_bool(b: bool) -> Changed {
        if b {
            Changed::Yes
        } else {
            Changed::No
        }
    }

    pub fn is_yes(self) -> bool {
        self == Changed::Yes
    }
}

impl std::ops::BitOr for Changed {
    type Output = Changed;
    fn bitor(self, rhs: Changed) -> Changed {
        Changed::from_bool(self.is_yes() || rhs.is_yes())
    }
}

impl std::ops::BitOrAssign for Changed {
    fn bitor_assign(&mut self, rhs: Changed) {
        *self = *self | rhs;
    }
}

/// A graph rewrite. Passes keep the node order topological and the types of the
/// values they create correct; the manager re-infers and verifies after them.
pub trait Pass {
    fn name(&self) -> &'static str;
    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError>;
}

/// Options shared by all passes and the manager.
#[derive(Clone, Debug)]
pub struct PassOptions {
    /// Run the verifier after every changed pass. On in debug builds and tests.
    pub verify: bool,
    /// Constant folding never creates a weight larger than this many bytes unless
    /// it is no larger than the weights it replaces (so `Expand` or
    /// `ConstantOfShape` do not blow a tiny model up into megabytes).
    pub fold_size_limit: usize,
    /// Upper bound on rounds of a fixpoint group; exceeding it is an error (a pass
    /// that always reports `Changed::Yes` is a bug, not a reason to loop forever).
    pub max_iterations: usize,
}

impl Default for PassOptions {
    fn default() -> PassOptions {
        PassOptions {
            verify: cfg!(debug_assertions),
            fold_size_limit: 1 << 20,
            max_iterations: 32,
        }
    }
}

/// One thing a pass did, for reports (`removed 3 nodes`, `folded bn into conv`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LogEntry {
    pub pass: &'static str,
    pub message: String,
}

/// The context a pass runs in: options, a log of what passes did, and what
/// the quantization passes measured (for reports and for the passes after
/// them: bias correction compares against the float graph quantize kept).
#[derive(Clone, Default)]
pub struct PassCx {
    pub options: PassOptions,
    pub log: Vec<LogEntry>,
    pub quant: crate::quantize::QuantState,
    /// What pruning passes did, in order (for the compile report).
    pub prune: Vec<crate::prune::PruneReport>,
    /// Told `(what, done, total)` as long passes read data (the CLI draws a
    /// progress bar on stderr); passes run the same without it.
    pub progress: Option<ProgressHook>,
}

/// See [`PassCx::progress`].
pub type ProgressHook = std::sync::Arc<dyn Fn(&str, usize, Option<usize>) + Send + Sync>;

impl std::fmt::Debug for PassCx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassCx")
            .field("options", &self.options)
            .field("log", &self.log)
            .field("quant", &self.quant)
            .field("prune", &self.prune)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl PassCx {
    pub fn new(options: PassOptions) -> PassCx {
        PassCx {
            options,
            log: Vec::new(),
            quant: crate::quantize::QuantState::default(),
            prune: Vec::new(),
            progress: None,
        }
    }

    /// Records what `pass` did.
    pub fn note(&mut self, pass: &'static str, message: impl Into<String>) {
        self.log.push(LogEntry {
            pass,
            message: message.into(),
        });
    }
}

/// A pass or pipeline failure, naming the pass and, where there is one, the node.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("pass `{pass}`, node `{node}`: {source}")]
    Node {
        pass: &'static str,
        node: String,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    #[error("pass `{pass}`, node `{node}`: {msg}")]
    NodeMsg {
        pass: &'static str,
        node: String,
        msg: String,
    },
    #[error("pass `{pass}`: {source}")]
    Analysis {
        pass: &'static str,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// Type inference failed on the graph `pass` left (or `<input>`).
    #[error("type inference failed after pass `{pass}`: {source}")]
    Infer {
        pass: String,
        #[source]
        source: InferError,
    },
    /// The verifier rejected the graph `pass` left; `source` lists every
    /// violation with its rule and entity.
    #[error("graph does not verify after pass `{pass}`: {source}")]
    Verify {
        pass: String,
        #[source]
        source: VerifyError,
    },
    #[error("pipeline `{pipeline}` did not reach a fixpoint within {iterations} rounds (still changing: {changing})")]
    NoFixpoint {
        pipeline: String,
        iterations: usize,
        changing: String,
    },
    #[error("unknown pass `{name}` (known passes: {known})")]
    UnknownPass { name: String, known: String },
    #[error("unknown pipeline `{name}` (known pipelines: {known})")]
    UnknownPipeline { name: String, known: String },
    #[error("pass spec `{spec}`: {msg}")]
    BadSpec { spec: String, msg: String },
    #[error("pass `{pass}` has no option `{option}` (its options: {known})")]
    UnknownOption {
        pass: String,
        option: String,
        known: String,
    },
    #[error("pass `{pass}`, option `{option}`: `{value}` is not valid; expected {expected}")]
    BadOption {
        pass: String,
        option: String,
        value: String,
        expected: String,
    },
    /// A pass cannot run as configured or on this graph (a missing option, a
    /// graph already quantized, no float reference for bias correction).
    #[error("pass `{pass}`: {msg}")]
    Config { pass: &'static str, msg: String },
}

impl PassError {
    /// Wraps an error raised while rewriting `node`.
    pub fn node(
        pass: &'static str,
        g: &Graph,
        node: NodeId,
        source: impl StdError + Send + Sync + 'static,
    ) -> PassError {
        PassError::Node {
            pass,
            node: node_label(g, node),
            source: Box::new(source),
        }
    }

    /// A message about `node`.
    pub fn node_msg(
        pass: &'static str,
        g: &Graph,
        node: NodeId,
        msg: impl Into<String>,
    ) -> PassError {
        PassError::NodeMsg {
            pass,
            node: node_label(g, node),
            msg: msg.into(),
        }
    }
}

/// `name (op)` or `#id (op)` for unnamed nodes.
pub(crate) fn node_label(g: &Graph, node: NodeId) -> String {
    let n = g.node(node);
    if n.name.is_empty() {
        // Unnamed nodes (pare-made, or from a .pir without node names) are best
        // recognized by the value they define.
        match n.outputs.first().map(|&o| &g.value(o).name) {
            Some(out) if !out.is_empty() => format!("{} defining \"{out}\"", n.op.name()),
            _ => format!("#{} ({})", node.0, n.op.name()),
        }
    } else {
        format!("{} ({})", n.name, n.op.name())
    }
}
