//! The emitter: lower the quantized graph, plan its memory, build one layer per
//! scheduled node and render NAME.h, NAME.c and NAME_weights.c.

use super::cgen::is_c_identifier;
use super::data::{ConstData, DataKind};
use super::kernels::{self, WeightStorage};
use super::layer::NodeCx;
use super::lower::{lower, Lowered};
use super::storage::Storage;
use super::{header, source, Rp2040Error, KERNELS_C, KERNELS_H};
use crate::plan::{
    external_groups, plan_memory, InPlace, IoPlacement, MemoryPlan, PlanOptions, ScheduleKind,
};
use pare_ir::quant::Rounding;
use pare_ir::Graph;
use std::path::Path;

/// What to emit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmitOptions {
    /// The C name of the model: file names (`NAME.h`, …), function prefix
    /// (`NAME_invoke`) and macro prefix (upper case). A C identifier.
    pub name: String,
    /// Requantization rounding, the interpreter's setting to match.
    pub rounding: Rounding,
    /// What the model is (its file, say), for the files' comments; the graph's
    /// name when `None`.
    pub model: Option<String>,
    /// Store every weight the IR keeps as a palette as one, even where the dense
    /// (or sparse) layout is smaller (an 8-bit palette never is): for tests and
    /// measurements of the palette kernels.
    pub force_palette: bool,
}

impl Default for EmitOptions {
    fn default() -> EmitOptions {
        EmitOptions {
            name: "model".to_string(),
            rounding: Rounding::default(),
            model: None,
            force_palette: false,
        }
    }
}

/// One generated layer, for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// Position in the schedule.
    pub index: usize,
    pub node: String,
    pub op: &'static str,
    /// The C function called (`memcpy`, or `none` for a view of its input).
    pub kernel: &'static str,
    /// Multiply-accumulates (`pare_ir::analysis::macs_of_node`).
    pub macs: u64,
    /// Input and output value names and shapes.
    pub inputs: Vec<(String, Vec<usize>)>,
    pub outputs: Vec<(String, Vec<usize>)>,
    /// How a conv's or fully connected layer's weights are stored (dense, sparse
    /// or palette, bytes, density), and a depthwise conv's when a palette; `None`
    /// for the other kernels.
    pub weights: Option<WeightStorage>,
}

/// The generated C of one model, with what it was made from.
#[derive(Clone, Debug)]
pub struct Emitted {
    pub name: String,
    /// NAME.h
    pub header: String,
    /// NAME.c
    pub source: String,
    /// NAME_weights.c
    pub weights: String,
    /// The static memory plan the layers use (inputs and outputs external).
    pub plan: MemoryPlan,
    /// The integer graph the C reproduces (run it with the integer interpreter
    /// for reference outputs) and the model's input/output quantization.
    pub lowered: Lowered,
    pub layers: Vec<LayerInfo>,
    /// Bytes of the const arrays holding weights and biases.
    pub weight_bytes: u64,
    /// Bytes of the const arrays pare derived (multipliers, shifts, tables, maps).
    pub table_bytes: u64,
}

impl Emitted {
    /// Every file to write, by name, in a fixed order: NAME.h, NAME.c,
    /// NAME_weights.c, pare_kernels.h, pare_kernels.c.
    pub fn files(&self) -> Vec<(String, &str)> {
        vec![
            (format!("{}.h", self.name), self.header.as_str()),
            (format!("{}.c", self.name), self.source.as_str()),
            (format!("{}_weights.c", self.name), self.weights.as_str()),
            ("pare_kernels.h".to_string(), KERNELS_H),
            ("pare_kernels.c".to_string(), KERNELS_C),
        ]
    }

    /// The C sources to compile (the `.c` files of [`Emitted::files`]).
    pub fn c_files(&self) -> Vec<String> {
        self.files()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.ends_with(".c"))
            .collect()
    }

    /// Writes [`Emitted::files`] into `dir` (created if missing), each file
    /// atomically.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, text) in self.files() {
            pare_ir::fsutil::write_atomic(&dir.join(name), text.as_bytes())?;
        }
        Ok(())
    }

    /// The files as the firmware builder takes them ([`build_firmware`](super::build_firmware)).
    pub fn sources(&self) -> super::ModelSources {
        super::ModelSources {
            name: self.name.clone(),
            files: self
                .files()
                .into_iter()
                .map(|(name, text)| super::SourceFile {
                    name,
                    contents: text.as_bytes().to_vec(),
                })
                .collect(),
        }
    }

    /// Constant data in flash: weights, biases and tables.
    pub fn const_bytes(&self) -> u64 {
        self.weight_bytes + self.table_bytes
    }
}

/// The planner settings of the target for lowered graph `g`: inputs and outputs in
/// the caller's buffers, element-wise tables in place, the smaller of two schedules,
/// and each kernel's workspace (an im2col column, a padded plane) in the arena.
pub fn plan_options(g: &Graph) -> PlanOptions {
    PlanOptions {
        alignment: 16,
        inputs: IoPlacement::External,
        outputs: IoPlacement::External,
        schedule: ScheduleKind::Best,
        in_place: InPlace::UnaryElementwise,
        scratch: g
            .nodes()
            .map(|(id, n)| (id, kernels::scratch_bytes(g, n)))
            .filter(|&(_, bytes)| bytes > 0)
            .collect(),
    }
}

/// Generates the C of quantized graph `g` (from `pare compile --quantize int8`):
/// see the module docs. Deterministic: the same graph and options give the
/// same bytes.
pub fn emit(g: &Graph, opts: &EmitOptions) -> Result<Emitted, Rp2040Error> {
    if !is_c_identifier(&opts.name) {
        return Err(Rp2040Error::BadName(opts.name.clone()));
    }
    let lowered = lower(g)?;
    let pg = &lowered.graph;
    let popts = plan_options(pg);
    let plan = plan_memory(pg, &popts)?;
    let groups = external_groups(pg, &popts)?;
    let storage = Storage::new(pg, &plan, &groups);
    let mut data = ConstData::default();
    let mut layers = Vec::with_capacity(plan.schedule.len());
    let mut infos = Vec::with_capacity(plan.schedule.len());
    let named = |v: pare_ir::ValueId| -> (String, Vec<usize>) {
        let shape = pg
            .ty(v)
            .fixed_shape()
            .unwrap_or_default()
            .into_iter()
            .map(|d| d as usize)
            .collect();
        (pg.value(v).name.clone(), shape)
    };
    for (index, &id) in plan.schedule.iter().enumerate() {
        let node = pg.node(id);
        let mut cx = NodeCx {
            g: pg,
            node,
            node_id: id,
            index,
            model: &opts.name,
            rounding: opts.rounding,
            storage: &storage,
            data: &mut data,
            weight_storage: None,
            force_palette: opts.force_palette,
        };
        let layer = kernels::build(&mut cx)?;
        let weights = cx.weight_storage;
        infos.push(LayerInfo {
            index,
            node: node.name.clone(),
            op: node.op.name(),
            kernel: layer.kernel,
            macs: pare_ir::analysis::macs_of_node(pg, node).unwrap_or(0),
            inputs: node
                .present_inputs()
                .filter(|&v| pg.weight_of(v).is_none())
                .map(named)
                .collect(),
            outputs: node.outputs.iter().map(|&v| named(v)).collect(),
            weights,
        });
        layers.push(layer);
    }
    let model = opts.model.clone().unwrap_or_else(|| pg.name.clone());
    let rounding = match opts.rounding {
        Rounding::Gemmlowp => "gemmlowp (TFLite's default)",
        Rounding::Single => "single (TFLite's single-rounding)",
    };
    let header = header::render(
        &header::HeaderFacts {
            name: &opts.name,
            model: &model,
            arena_bytes: plan.arena_bytes,
            lower_bound: plan.lower_bound,
            rounding,
        },
        &lowered,
    );
    let src = source::render(
        &source::SourceFacts {
            name: &opts.name,
            model: &model,
            rounding,
            plan: &plan,
            lowered: &lowered,
            storage: &storage,
        },
        &layers,
        &infos,
        &data,
    );
    let weights = source::render_weights(&opts.name, &model, &data, four_bit(pg, &plan, &layers));
    Ok(Emitted {
        name: opts.name.clone(),
        header,
        source: src,
        weights,
        weight_bytes: data.bytes(DataKind::Weights),
        table_bytes: data.bytes(DataKind::Tables),
        plan,
        lowered,
        layers: infos,
    })
}

/// How the layers store 4-bit weights: (packed two a byte by the product kernels,
/// `pare_conv2d` and `pare_fully_connected`; widened by any other kernel) — for the
/// weights file's note.
fn four_bit(g: &Graph, plan: &MemoryPlan, layers: &[crate::rp2040::layer::Layer]) -> (bool, bool) {
    let mut out = (false, false);
    for (&id, layer) in plan.schedule.iter().zip(layers) {
        let narrow = g.node(id).present_inputs().any(|v| {
            g.weight_of(v)
                .is_some_and(|w| w.ty.quant.as_ref().is_some_and(|q| q.bits < 8))
        });
        let product = matches!(layer.kernel, "pare_conv2d" | "pare_fully_connected");
        if narrow && product {
            out.0 = true;
        } else if narrow {
            out.1 = true;
        }
    }
    out
}
