//! `prune-structured`: removes the least important channel classes of every
//! dependency group (see [`analyze`]) and cuts them out of the graph.

pub mod analyze;
pub mod data_importance;
pub mod groups;
pub mod importance;
pub mod refit;
pub mod select;
pub mod surgery;
pub mod tags;

use super::report::{GroupReport, PruneReport};
use crate::registry::{OptionSpec, OptionType, Options};
use crate::{Changed, Pass, PassCx, PassError};
use importance::Norm;
use pare_ir::Graph;
use select::Scope;

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "ratio",
        ty: OptionType::Float,
        default: None,
        help: "fraction of each group's channels to remove, in [0, 1)",
    },
    OptionSpec {
        name: "importance",
        ty: OptionType::Choice(&["l1", "l2", "act", "recon"]),
        default: Some("l2"),
        help: "how channels are ranked: L1 or L2 norm of the weights they remove, mean |activation| (act), or the output error their removal alone causes in the layers reading them (recon); act and recon read calib",
    },
    OptionSpec {
        name: "refit",
        ty: OptionType::Bool,
        default: Some("false"),
        help: "re-fit every layer after a cut by least squares on calib, to reproduce the original model's outputs there",
    },
    crate::ptq::calib::CALIB,
    crate::ptq::calib::BATCH,
    super::SAMPLES,
    OptionSpec {
        name: "scope",
        ty: OptionType::Choice(&["group", "global"]),
        default: Some("group"),
        help: "the ratio applies to each dependency group, or to all channels ranked together (each group normalized by its mean)",
    },
    OptionSpec {
        name: "multiple",
        ty: OptionType::Int,
        default: Some("1"),
        help: "round each group's kept channel count up to a multiple of this (for target kernels)",
    },
    OptionSpec {
        name: "keep",
        ty: OptionType::Names,
        default: None,
        help: "layers (node names, `;`-separated) whose output channels are kept",
    },
];

/// The pass. See the module docs.
#[derive(Clone, Debug)]
pub struct PruneStructured {
    /// Calibration data (act, recon, refit).
    pub data: Option<crate::ptq::calib::DataOptions>,
    pub refit: bool,
    pub ratio: f64,
    pub importance: &'static str,
    pub scope: Scope,
    pub multiple: usize,
    pub keep: Vec<String>,
}

impl PruneStructured {
    pub fn from_options(o: &Options) -> Result<PruneStructured, PassError> {
        let ratio = o.float("ratio")?;
        if !(0.0..1.0).contains(&ratio) {
            return Err(PassError::BadOption {
                pass: "prune-structured".into(),
                option: "ratio".into(),
                value: ratio.to_string(),
                expected: "a fraction in [0, 1)".into(),
            });
        }
        let multiple = o.count("multiple")?.max(1);
        let mut data = crate::ptq::calib::DataOptions::from_options(o)?;
        if let Some(d) = &mut data {
            d.samples = Some(o.count("samples")?);
        }
        Ok(PruneStructured {
            data,
            refit: o.bool("refit")?,
            ratio,
            importance: o.word("importance")?,
            scope: match o.word("scope")? {
                "global" => Scope::Global,
                _ => Scope::Group,
            },
            multiple,
            keep: o.names("keep"),
        })
    }
}

const NAME: &str = "prune-structured";

fn analysis_err(e: impl std::error::Error + Send + Sync + 'static) -> PassError {
    PassError::Analysis {
        pass: NAME,
        source: Box::new(e),
    }
}

impl Pass for PruneStructured {
    fn name(&self) -> &'static str {
        NAME
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        if g.values().any(|(_, v)| v.ty.quant.is_some()) {
            return Err(PassError::Config {
                pass: NAME,
                msg: "the graph is already quantized: prune the float model (pruning runs before quantization)".into(),
            });
        }
        for k in &self.keep {
            let layers: Vec<String> = g
                .order()
                .iter()
                .filter(|&&n| {
                    matches!(
                        g.node(n).op,
                        pare_ir::Op::Conv { .. }
                            | pare_ir::Op::ConvTranspose { .. }
                            | pare_ir::Op::Gemm { .. }
                            | pare_ir::Op::MatMul {}
                    )
                })
                .map(|&n| analyze::label(g, n))
                .collect();
            if !g.order().iter().any(|&n| analyze::label(g, n) == *k) {
                let mut known = layers;
                known.truncate(12);
                return Err(PassError::Config {
                    pass: NAME,
                    msg: format!(
                        "protected layer `{k}` is not a node of the model (its layers include: {})",
                        known.join(", ")
                    ),
                });
            }
        }
        let a = pare_ir::analysis::with_symbols_bound(g, 1).map_err(analysis_err)?;
        let mut an = analyze::analyze(&a).map_err(analysis_err)?;
        for k in &self.keep {
            an.protect_layer(&a, k);
        }
        let groups = groups::groups(&an, a.order());
        let needs_data = self.refit || matches!(self.importance, "act" | "recon");
        let batches = if needs_data {
            let d = crate::ptq::calib::needs_data(
                &self.data,
                NAME,
                "importance=act or recon, or refit,",
            )?;
            let n = d.samples.unwrap_or(2048);
            d.open(g, NAME)?.take(n).map_err(|e| PassError::Analysis {
                pass: NAME,
                source: e,
            })?
        } else {
            Vec::new()
        };
        let score = match self.importance {
            "act" => data_importance::activation(g, &an, &batches).map_err(analysis_err)?,
            "recon" if self.refit => {
                data_importance::compensated(g, &an, &batches).map_err(analysis_err)?
            }
            "recon" => data_importance::reconstruction(g, &an, &batches).map_err(analysis_err)?,
            "l1" => importance::magnitude(g, &an, Norm::L1).map_err(analysis_err)?,
            _ => importance::magnitude(g, &an, Norm::L2).map_err(analysis_err)?,
        };
        let removed = select::select(&groups, &score, self.ratio, self.multiple, self.scope);
        let report = PruneReport {
            kind: "structured",
            importance: self.importance,
            ratio: self.ratio,
            scope: match self.scope {
                Scope::Group => "group",
                Scope::Global => "global",
            },
            refit: self.refit,
            refitted: Vec::new(),
            groups: groups
                .iter()
                .map(|gr| GroupReport {
                    layers: gr.layers.iter().map(|&n| analyze::label(&a, n)).collect(),
                    classes_before: gr.classes.len(),
                    classes_after: gr.classes.iter().filter(|c| !removed.contains(c)).count(),
                    channels_per_class: gr.channels_per_class,
                    blocked: gr.blocked.len(),
                    reason: gr.blocked.values().next().cloned(),
                })
                .collect(),
        };
        for gr in &report.groups {
            let msg = match (&gr.reason, gr.classes_before - gr.classes_after) {
                (Some(why), 0) => format!("{}: kept, {why}", gr.layers.join(" + ")),
                (_, k) if gr.channels_per_class > 1 => format!(
                    "{}: removed {k} of {} blocks of {} channels (coupled: attention heads, conv groups)",
                    gr.layers.join(" + "),
                    gr.classes_before,
                    gr.channels_per_class
                ),
                (_, k) => format!(
                    "{}: removed {k} of {} channels",
                    gr.layers.join(" + "),
                    gr.classes_before
                ),
            };
            cx.note(NAME, msg);
        }
        if removed.is_empty() {
            cx.prune.push(report);
            return Ok(Changed::No);
        }
        let mut out = g.clone();
        let cut = surgery::apply(&mut out, &a, &an, &removed).map_err(analysis_err)?;
        crate::util::reinfer(&mut out, NAME)?;
        let mut report = report;
        if self.refit {
            let (done, skipped) =
                refit::refit(g, &mut out, &cut, &batches).map_err(|msg| PassError::Config {
                    pass: NAME,
                    msg: format!("least-squares refit: {msg}"),
                })?;
            cx.note(
                NAME,
                format!(
                    "refit {} layer(s) by least squares on {} calibration batch(es)",
                    done.len(),
                    batches.len()
                ),
            );
            for s in &skipped {
                cx.note(NAME, format!("{}: not refitted, {}", s.layer, s.why));
            }
            report.refitted = done;
        }
        cx.prune.push(report);
        *g = out;
        Ok(Changed::Yes)
    }
}
