//! Calibration data: a source of batches of graph inputs that can be read more
//! than once (once per pass), never held in memory whole.

use super::BoxError;
use pare_ir::Tensor;

/// The batches of one pass over the data.
pub type Batches<'a, E> = Box<dyn Iterator<Item = Result<Vec<Tensor>, E>> + 'a>;

/// A calibration data set. Each [`CalibData::open`] starts a new pass that must
/// yield the same batches in the same order (calibration checks the counts).
/// A batch is one tensor per graph input, in order, with the samples along
/// dimension 0.
pub trait CalibData {
    type Error: Into<BoxError>;

    /// Samples in one pass, if known (for progress reports only).
    fn len_hint(&self) -> Option<usize> {
        None
    }

    /// Starts a pass over the data.
    fn open(&mut self) -> Result<Batches<'_, Self::Error>, Self::Error>;
}

/// Batches held in memory (tests, small data sets); each pass clones one batch
/// at a time.
#[derive(Clone, Copy, Debug)]
pub struct InMemory<'a>(pub &'a [Vec<Tensor>]);

impl CalibData for InMemory<'_> {
    type Error = std::convert::Infallible;

    fn len_hint(&self) -> Option<usize> {
        Some(self.0.iter().map(|b| batch_samples(b)).sum())
    }

    fn open(&mut self) -> Result<Batches<'_, Self::Error>, Self::Error> {
        Ok(Box::new(self.0.iter().map(|b| Ok(b.clone()))))
    }
}

/// A closure that opens a pass, for sources whose iterator owns what it reads
/// (a file reader, a generator).
pub struct FnData<F> {
    pub open: F,
    pub len: Option<usize>,
}

impl<F> std::fmt::Debug for FnData<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnData").field("len", &self.len).finish()
    }
}

impl<F, I, E> CalibData for FnData<F>
where
    F: FnMut() -> Result<I, E>,
    I: Iterator<Item = Result<Vec<Tensor>, E>> + 'static,
    E: Into<BoxError>,
{
    type Error = E;

    fn len_hint(&self) -> Option<usize> {
        self.len
    }

    fn open(&mut self) -> Result<Batches<'_, E>, E> {
        Ok(Box::new((self.open)()?))
    }
}

/// Samples in a batch: dimension 0 of its first input of rank ≥ 1 (a batch of
/// scalars is one sample).
pub fn batch_samples(batch: &[Tensor]) -> usize {
    batch
        .iter()
        .find(|t| t.rank() >= 1)
        .map_or(1, |t| t.shape()[0])
}

/// Keeps the first `keep` samples of a batch of `n`: every input whose
/// dimension 0 is `n` is cut along it; the others are shared by all samples.
pub(crate) fn take_samples(
    batch: Vec<Tensor>,
    n: usize,
    keep: usize,
) -> Result<Vec<Tensor>, pare_ir::IrError> {
    batch
        .into_iter()
        .map(|t| {
            if t.rank() == 0 || t.shape()[0] != n {
                return Ok(t);
            }
            let row = t.shape()[1..].iter().product::<usize>();
            let mut shape = t.shape().to_vec();
            shape[0] = keep;
            let data = pare_ir::with_data!(t.data(), v => pare_ir::Element::wrap(v[..keep * row].to_vec()));
            Tensor::new(shape, data)
        })
        .collect()
}
