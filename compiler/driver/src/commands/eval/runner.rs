//! Runs one model on `[b, ...]` batches of samples, whatever its batch dim: one
//! call when the batch dim is symbolic, one call per `k` samples when it is fixed
//! at `k` (batch-1 exports run sample by sample). Outputs always come back as
//! `[b, ...]`. Models with several inputs run on the batches the shared data
//! binding assembles (already of the model's batch size).

use anyhow::{bail, Context, Result};
use pare_ir::interp::RunOptions;
use pare_ir::{DType, Dim, Graph, Tensor, TensorType};
use pare_npy::Dataset;
use std::path::{Path, PathBuf};

/// The one place a model is executed: quantized nodes run as `exec` says
/// (bit-exact integer kernels unless fake-quant was asked for).
fn run_model(
    g: &Graph,
    inputs: &[Tensor],
    exec: &RunOptions,
) -> Result<Vec<Tensor>, pare_ir::interp::InterpError> {
    pare_ir::interp::run_with(g, inputs, exec, &mut |_, _| {})
}

/// A loaded model and how it takes batches.
pub struct Runner {
    pub graph: Graph,
    pub path: PathBuf,
    input: String,
    input_ty: TensorType,
    /// `Some(k)` when the model's batch dim is fixed at `k`.
    fixed_batch: Option<usize>,
    /// How quantized nodes run.
    pub exec: RunOptions,
}

impl Runner {
    pub fn new(graph: Graph, path: &Path) -> Result<Runner> {
        let where_ = path.display();
        let Some(&input) = graph.inputs.first() else {
            bail!("{where_}: the model has no inputs; pare eval feeds samples to one");
        };
        let value = graph.value(input);
        let fixed_batch = match value.ty.shape.first() {
            None if graph.inputs.len() > 1 => None,
            None => bail!(
                "{where_}: model input `{}` is a scalar ({}); pare eval feeds samples along a batch dim",
                value.name,
                value.ty
            ),
            Some(Dim::Sym(_)) => None,
            Some(Dim::Fixed(0)) => bail!(
                "{where_}: model input `{}` has a batch dim of 0 ({})",
                value.name,
                value.ty
            ),
            Some(Dim::Fixed(k)) => Some(usize::try_from(*k).context("batch dim too large")?),
        };
        Ok(Runner {
            input: value.name.clone(),
            input_ty: value.ty.clone(),
            fixed_batch,
            path: path.to_path_buf(),
            graph,
            exec: RunOptions::default(),
        })
    }

    /// The names of the model's inputs, in order.
    pub fn input_names(&self) -> Vec<&str> {
        self.graph
            .inputs
            .iter()
            .map(|&v| self.graph.value(v).name.as_str())
            .collect()
    }

    /// Runs one batch of every input (as the shared data binding assembles
    /// them, in `order`'s input order): the model's own inputs are picked by
    /// name, so a reference whose inputs come in another order runs too.
    pub fn run_inputs(&self, order: &[&str], batch: &[Tensor]) -> Result<Vec<Tensor>> {
        let inputs = self
            .graph
            .inputs
            .iter()
            .map(|&v| {
                let value = self.graph.value(v);
                let i = order
                    .iter()
                    .position(|n| *n == value.name)
                    .with_context(|| {
                        format!(
                            "{}: model input `{}` {} gets no data (the data binds {})",
                            self.path.display(),
                            value.name,
                            value.ty,
                            order.join(", ")
                        )
                    })?;
                let t = &batch[i];
                Ok(if t.dtype() == value.ty.dtype {
                    t.clone()
                } else {
                    t.cast(value.ty.dtype)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        run_model(&self.graph, &inputs, &self.exec)
            .with_context(|| format!("running {}", self.path.display()))
    }

    /// Rank of one sample: the input's rank less the batch dim.
    pub fn sample_rank(&self) -> usize {
        self.input_ty.shape.len() - 1
    }

    pub fn fixed_batch(&self) -> Option<usize> {
        self.fixed_batch
    }

    /// The input, for messages: ``model input `input` f32[batch,1,8,8]``.
    pub fn describe_input(&self) -> String {
        format!("model input `{}` {}", self.input, self.input_ty)
    }

    /// Checks that the data's samples fit the input (fixed dims equal; float
    /// data of another width is converted, anything else must match).
    pub fn check_samples(&self, data: &Dataset) -> Result<()> {
        let dims = &self.input_ty.shape[1..];
        let sample = data.sample_shape();
        let fits = dims.len() == sample.len()
            && dims.iter().zip(sample).all(|(d, &s)| match d {
                Dim::Fixed(n) => *n == s as u64,
                Dim::Sym(_) => true,
            });
        if !fits {
            bail!(
                "{}: samples of `{}` have shape {sample:?}, but {} takes samples of shape [{}]",
                self.path.display(),
                data.name(),
                self.describe_input(),
                dims.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        let want = self.input_ty.dtype;
        if data.dtype() != want && !(data.dtype().is_float() && want.is_float()) {
            bail!(
                "{}: `{}` holds {} data, but {} takes {want}",
                self.path.display(),
                data.name(),
                data.dtype(),
                self.describe_input()
            );
        }
        Ok(())
    }

    /// Runs a `[b, ...]` batch; every output comes back with `b` first.
    pub fn run(&self, batch: &Tensor) -> Result<Vec<Tensor>> {
        let x = if batch.dtype() == self.input_ty.dtype {
            batch.clone()
        } else {
            batch.cast(self.input_ty.dtype)
        };
        let b = x.shape()[0];
        let outputs = match self.fixed_batch {
            None => self.run_once(&x)?,
            Some(k) => {
                if !b.is_multiple_of(k) {
                    bail!(
                        "{}: {} has a fixed batch of {k}; a batch of {b} samples does not divide into it",
                        self.path.display(),
                        self.describe_input()
                    );
                }
                let chunks: Vec<Vec<Tensor>> = (0..b / k)
                    .map(|i| self.run_once(&rows(&x, i * k, k)?))
                    .collect::<Result<_>>()?;
                concat_rows(chunks)?
            }
        };
        for (&v, t) in self.graph.outputs.iter().zip(&outputs) {
            if t.shape().first() != Some(&b) {
                bail!(
                    "{}: output `{}` has shape {:?}; pare eval needs the batch dim ({b}) first",
                    self.path.display(),
                    self.graph.value(v).name,
                    t.shape()
                );
            }
        }
        Ok(outputs)
    }

    fn run_once(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        run_model(&self.graph, std::slice::from_ref(x), &self.exec)
            .with_context(|| format!("running {}", self.path.display()))
    }

    /// The name of output `i`.
    pub fn output_name(&self, i: usize) -> &str {
        &self.graph.value(self.graph.outputs[i]).name
    }
}

/// `n` rows of `t` from row `start` (rows along axis 0).
fn rows(t: &Tensor, start: usize, n: usize) -> Result<Tensor> {
    let row: usize = t.shape()[1..].iter().product();
    let mut shape = t.shape().to_vec();
    shape[0] = n;
    Ok(pare_ir::with_data!(t.data(), v => Tensor::from_vec(
        shape,
        v[start * row..(start + n) * row].to_vec()
    ))?)
}

/// Joins per-chunk outputs along axis 0.
fn concat_rows(chunks: Vec<Vec<Tensor>>) -> Result<Vec<Tensor>> {
    let Some(first) = chunks.first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(first.len());
    for i in 0..first.len() {
        let parts: Vec<&Tensor> = chunks.iter().map(|c| &c[i]).collect();
        let dtype: DType = parts[0].dtype();
        let mut shape = parts[0].shape().to_vec();
        if shape.is_empty() {
            bail!("output {i} is a scalar; pare eval needs a batch dim first");
        }
        shape[0] = parts.iter().map(|p| p.shape()[0]).sum();
        let bytes: Vec<u8> = parts.iter().flat_map(|p| p.to_le_bytes()).collect();
        out.push(Tensor::from_le_bytes(dtype, shape, &bytes)?);
    }
    Ok(out)
}
