//! The one table of passes: name, what it does, its typed options, and how to
//! build it from parsed options. `pare opt --list`, `--passes` specs,
//! `pare compile` and filetest headers all go through it; a new pass is one
//! row here.

use super::options::{OptionSpec, Options};
use crate::cleanup::{
    Dce, FoldAffine, FoldBatchNorm, FoldConstants, FoldShapes, FuseMatmulBias, KeepReducedDims,
    RemoveIdentity,
};
use crate::fuse::{FuseActivations, FuseGelu, FuseLayerNorm, FuseSoftmax};
use crate::prune;
use crate::ptq;
use crate::quantize::raise_qdq::RaiseQdq;
use crate::{Pass, PassError};

/// Builds a pass from its parsed options.
pub type Build = fn(&Options) -> Result<Box<dyn Pass>, PassError>;

/// One registered pass.
#[derive(Clone, Copy)]
pub struct PassInfo {
    pub name: &'static str,
    pub help: &'static str,
    pub options: &'static [OptionSpec],
    pub build: Build,
}

impl std::fmt::Debug for PassInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassInfo")
            .field("name", &self.name)
            .field("options", &self.options)
            .finish()
    }
}

fn plain<P: Pass + Default + 'static>(_: &Options) -> Result<Box<dyn Pass>, PassError> {
    Ok(Box::new(P::default()))
}

/// Every pass, sorted by name.
pub const PASSES: &[PassInfo] = &[
    PassInfo {
        name: "bias-correct",
        help: "subtract each quantized layer's mean output error (vs the float graph an earlier quantize kept) from its int32 bias",
        options: ptq::options::BIAS_CORRECT,
        build: |o| Ok(Box::new(ptq::BiasCorrect::from_options(o)?)),
    },
    PassInfo {
        name: "dce",
        help: "remove nodes whose outputs nothing uses",
        options: &[],
        build: plain::<Dce>,
    },
    PassInfo {
        name: "equalize",
        help: "cross-layer equalization of conv/gemm pairs (exact in float) before quantization",
        options: ptq::options::EQUALIZE,
        build: |o| Ok(Box::new(ptq::Equalize::from_options(o)?)),
    },
    PassInfo {
        name: "explicit-qdq",
        help: "int8 in TensorRT's explicit-quantization form: symmetric per-channel int8 weights behind dequantize_linear, a zero-point-0 quantize/dequantize pair on each weighted op's input and on both inputs of residual adds; the graph stays float",
        options: crate::quantize::explicit_qdq::OPTIONS,
        build: |o| Ok(Box::new(crate::quantize::explicit_qdq::ExplicitQdq::from_options(o)?)),
    },
    PassInfo {
        name: "fold-affine",
        help: "fold a Mul/Div/Add/Sub by a per-channel constant into the Conv, ConvTranspose or Gemm before it",
        options: &[],
        build: plain::<FoldAffine>,
    },
    PassInfo {
        name: "fold-batchnorm",
        help: "fold inference-mode BatchNormalization into the Conv, ConvTranspose or Gemm before it",
        options: &[],
        build: plain::<FoldBatchNorm>,
    },
    PassInfo {
        name: "fold-constants",
        help: "evaluate nodes whose inputs are all weights and replace their outputs by weights",
        options: &[],
        build: plain::<FoldConstants>,
    },
    PassInfo {
        name: "fold-luts",
        help: "remove quantized element-wise nodes whose lookup table is the identity",
        options: &[],
        build: plain::<ptq::FoldLuts>,
    },
    PassInfo {
        name: "fold-shapes",
        help: "turn shape computations into constants by shape-value propagation",
        options: &[],
        build: plain::<FoldShapes>,
    },
    PassInfo {
        name: "fp16",
        help: "store float weights as f16 (arithmetic stays f32)",
        options: &[],
        build: plain::<ptq::Fp16>,
    },
    PassInfo {
        name: "fuse-activations",
        help: "fuse written-out SiLU x*sigmoid(x), HardSwish x*clip(x+3,0,6)/6 and HardSigmoid clip(a*x+b,0,1) into one op",
        options: &[],
        build: plain::<FuseActivations>,
    },
    PassInfo {
        name: "fuse-gelu",
        help: "fuse written-out GELU, erf form x*0.5*(1+erf(x/sqrt2)) and tanh form, into one gelu",
        options: &[],
        build: plain::<FuseGelu>,
    },
    PassInfo {
        name: "fuse-layer-norm",
        help: "fuse a written-out LayerNorm (mean, variance, eps, 1/sqrt, scale, shift; TF, PyTorch and Paddle spellings) into one layer_normalization",
        options: &[],
        build: plain::<FuseLayerNorm>,
    },
    PassInfo {
        name: "fuse-matmul-bias",
        help: "fuse Add(MatMul(x, W), b) with constant W and b into one Gemm",
        options: &[],
        build: plain::<FuseMatmulBias>,
    },
    PassInfo {
        name: "fuse-softmax",
        help: "fuse exp(z-max(z))/sum(exp(z-max(z))) over one axis (max subtraction optional) into one softmax",
        options: &[],
        build: plain::<FuseSoftmax>,
    },
    PassInfo {
        name: "keep-reduced-dims",
        help: "reductions without kept dims whose element-wise results are reshaped back to the kept-dims shape keep their dims; the reshapes go",
        options: &[],
        build: plain::<KeepReducedDims>,
    },
    PassInfo {
        name: "lowrank",
        help: "factorize the constant weight of a Gemm or MatMul into two smaller layers (data-aware or plain truncated SVD) where params and MACs both drop",
        options: crate::lowrank::OPTIONS,
        build: |o| Ok(Box::new(crate::lowrank::LowRank::from_options(o)?)),
    },
    PassInfo {
        name: "mixed-precision",
        help: "int8 or int4 weights per layer by measured sensitivity, to fit a byte budget",
        options: ptq::options::MIXED_PRECISION,
        build: |o| Ok(Box::new(ptq::MixedPrecision::from_options(o)?)),
    },
    PassInfo {
        name: "prune-structured",
        help: "remove the least important channels of every dependency group (residual chains, depthwise convs, concat, flatten into gemm, attention heads, FFN units) and cut them out of every layer they touch",
        options: crate::prune::structured::OPTIONS,
        build: |o| Ok(Box::new(crate::prune::PruneStructured::from_options(o)?)),
    },
    PassInfo {
        name: "prune-unstructured",
        help: "zero the smallest-magnitude weights of Conv/ConvTranspose/Gemm/MatMul (global, per layer or N:M) and store them sparse",
        options: prune::unstructured::OPTIONS,
        build: |o| Ok(Box::new(prune::PruneUnstructured::from_options(o)?)),
    },
    PassInfo {
        name: "quantize",
        help: "post-training quantization: calibrate on data and rewrite to integer (or fp16 / weight-only) form",
        options: ptq::options::QUANTIZE,
        build: |o| Ok(Box::new(ptq::Quantize::from_options(o)?)),
    },
    PassInfo {
        name: "raise-qdq",
        help: "raise QDQ ONNX (quantize/dequantize around float ops) back into quantized IR",
        options: &[],
        build: plain::<RaiseQdq>,
    },
    PassInfo {
        name: "remove-identity",
        help: "remove Identity and inference-mode Dropout nodes",
        options: &[],
        build: plain::<RemoveIdentity>,
    },
    PassInfo {
        name: "share",
        help: "weight sharing: k-means clusters each Conv/Gemm/MatMul weight (per tensor, channel or group of rows) and stores it as a palette of codebooks + packed indices where that is smaller",
        options: crate::share::OPTIONS,
        build: |o| Ok(Box::new(crate::share::Share::from_options(o)?)),
    },
    PassInfo {
        name: "sparse-encode",
        help: "store each weight sparse (bitmap + non-zero values) where that is smaller, else dense; values unchanged",
        options: prune::sparse_encode::OPTIONS,
        build: |o| Ok(Box::new(prune::SparseEncode::from_options(o)?)),
    },
];

/// The row of pass `name`.
pub fn pass_info(name: &str) -> Option<&'static PassInfo> {
    PASSES.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_every_row_builds_with_its_defaults_where_it_can() {
        let names: Vec<&str> = PASSES.iter().map(|p| p.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        for p in PASSES {
            let o = Options::parse(p.name, p.options, &[]).unwrap();
            match (p.build)(&o) {
                Ok(pass) => assert_eq!(pass.name(), p.name),
                // Only options without a default may stop a default build.
                Err(e) => assert!(
                    p.options.iter().any(|o| o.default.is_none()),
                    "{}: {e}",
                    p.name
                ),
            }
            for o in p.options {
                assert!(!o.help.is_empty(), "{}.{} has no help", p.name, o.name);
            }
        }
    }
}
