//! Cleanup passes: the declutter stage every model goes through after import.

mod dce;
mod fold_affine;
mod fold_batchnorm;
mod fold_constants;
mod fold_into_producer;
mod fold_shapes;
mod fuse_matmul_bias;
mod keep_reduced_dims;
mod remove_identity;
mod shape_target;

pub use dce::Dce;
pub use fold_affine::FoldAffine;
pub use fold_batchnorm::FoldBatchNorm;
pub use fold_constants::FoldConstants;
pub use fold_shapes::FoldShapes;
pub use fuse_matmul_bias::FuseMatmulBias;
pub use keep_reduced_dims::KeepReducedDims;
pub use remove_identity::RemoveIdentity;
