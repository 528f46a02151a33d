//! Cleanup passes: the declutter stage every model goes through after import.

mod dce;
mod fold_affine;
mod fold_batchnorm;
mod fold_constants;
mod fold_into_producer;
mod fold_shapes;
mod fuse_matmul_bias;
mod remove_identity;

pub use dce::Dce;
pub use fold_affine::FoldAffine;
pub use fold_batchnorm::FoldBatchNorm;
pub use fold_constants::FoldConstants;
pub use fold_shapes::FoldShapes;
pub use fuse_matmul_bias::FuseMatmulBias;
pub use remove_identity::RemoveIdentity;
