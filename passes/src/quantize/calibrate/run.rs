//! The calibration driver: runs the float graph over the data twice (ranges,
//! then histograms), feeding every float value to its observer, then chooses ranges.

use super::source::{batch_samples, take_samples};
use super::{CalibData, CalibError, CalibOptions, Calibration, Observer, Phase, Progress};
use pare_ir::{Graph, Tensor, TensorData, ValueId};
use std::cell::Cell;
use std::collections::BTreeMap;

/// Calibrates `g` on `data`: pass 1 records each float value's count, min and
/// max; pass 2 (skipped for min-max) fills fixed-size histograms over the
/// pass-1 ranges; then each value's range is chosen with `opts.method`. The
/// observed values are the graph's float inputs and every float node output.
/// Memory is the graph's own working set plus `O(bins)` per observed value:
/// nothing is kept of a batch once it has been observed.
///
/// `progress` receives a report after every batch and every chosen range.
pub fn calibrate<D: CalibData + ?Sized>(
    g: &Graph,
    data: &mut D,
    opts: &CalibOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Calibration, CalibError> {
    opts.validate()?;
    let mut observers = plan(g);
    let total = match (opts.max_samples, data.len_hint()) {
        (Some(m), Some(n)) => Some(m.min(n)),
        (m, n) => m.or(n),
    };

    let samples = one_pass(
        g,
        data,
        Phase::Range,
        opts.max_samples,
        total,
        &mut observers,
        progress,
        Observer::record_range,
    )?;
    if samples == 0 {
        return Err(CalibError::Empty);
    }

    if opts.method.needs_histogram() {
        for o in observers.iter_mut().flatten() {
            o.start_histogram(opts.bins);
        }
        let again = one_pass(
            g,
            data,
            Phase::Histogram,
            Some(samples),
            Some(samples),
            &mut observers,
            progress,
            Observer::record_histogram,
        )?;
        if again != samples {
            return Err(CalibError::Inconsistent {
                what: format!("{samples} samples in the range pass, {again} in the histogram pass"),
            });
        }
        for (i, o) in observers.iter().enumerate() {
            if let Some(o) = o.as_ref().filter(|o| o.histogram_count() != o.count()) {
                return Err(CalibError::Inconsistent {
                    what: format!(
                        "value `{}` had {} finite elements in the range pass, {} in the histogram pass",
                        g.value(ValueId::from_index(i)).name,
                        o.count(),
                        o.histogram_count()
                    ),
                });
            }
        }
    }

    let observers: BTreeMap<ValueId, Observer> = observers
        .into_iter()
        .enumerate()
        .filter_map(|(i, o)| Some((ValueId::from_index(i), o?)))
        .collect();
    Calibration::new(observers, opts.method, opts.bits, samples, progress)
}

/// One observer slot per value: present for float graph inputs and float node
/// outputs (integer values are shapes and indices, never quantized).
fn plan(g: &Graph) -> Vec<Option<Observer>> {
    let mut observers = vec![None; g.value_count()];
    let float_values = g
        .inputs
        .iter()
        .copied()
        .chain(g.nodes().flat_map(|(_, n)| n.outputs.iter().copied()));
    for v in float_values {
        if g.ty(v).dtype.is_float() {
            observers[v.index()] = Some(Observer::new());
        }
    }
    observers
}

/// One pass over the data, at most `limit` samples; returns the samples seen.
#[allow(clippy::too_many_arguments)]
fn one_pass<D: CalibData + ?Sized>(
    g: &Graph,
    data: &mut D,
    phase: Phase,
    limit: Option<usize>,
    total: Option<usize>,
    observers: &mut [Option<Observer>],
    progress: &mut dyn FnMut(Progress),
    record: fn(&mut Observer, &[f32]),
) -> Result<usize, CalibError> {
    let source_err = |e: D::Error| CalibError::Source {
        phase,
        source: e.into(),
    };
    let mut batches = data.open().map_err(source_err)?;
    let mut done = 0;
    progress(Progress { phase, done, total });
    let mut index = 0;
    while limit.is_none_or(|l| done < l) {
        let Some(batch) = batches.next() else {
            break;
        };
        let mut batch = batch.map_err(source_err)?;
        let mut n = batch_samples(&batch);
        if let Some(keep) = limit.map(|l| l - done).filter(|&k| k < n) {
            batch = take_samples(batch, n, keep).map_err(|e| CalibError::Run {
                phase,
                batch: index,
                source: e.into(),
            })?;
            n = keep;
        }
        // The first NaN of the range pass: (value, flat index in its tensor).
        let nan: Cell<Option<(ValueId, usize, usize)>> = Cell::new(None);
        let mut observe = |v: ValueId, t: &Tensor| {
            if let Some(obs) = observers.get_mut(v.index()).and_then(Option::as_mut) {
                with_f32(t, |xs| {
                    if phase == Phase::Range && nan.get().is_none() {
                        nan.set(xs.iter().position(|x| x.is_nan()).map(|i| (v, i, xs.len())));
                    }
                    record(obs, xs)
                });
            }
        };
        for (&v, t) in g.inputs.iter().zip(&batch) {
            observe(v, t);
        }
        if nan.get().is_none() {
            pare_ir::interp::run_observed(g, &batch, &mut observe).map_err(|e| {
                CalibError::Run {
                    phase,
                    batch: index,
                    source: e,
                }
            })?;
        }
        if let Some((v, i, len)) = nan.get() {
            return Err(nan_error(g, v, i, len, done, n));
        }
        done += n;
        index += 1;
        progress(Progress { phase, done, total });
    }
    Ok(done)
}

/// The error for a NaN at flat index `i` of value `v` (`len` elements) in the
/// batch of samples `done..done + n`: NaN has no place in a range, and in the
/// data (or computed from it by the float model) it is almost surely a mistake
/// the user wants to hear about. A graph input's dim 0 is the sample axis, so
/// its sample is exact; an intermediate value names the batch's samples.
fn nan_error(g: &Graph, v: ValueId, i: usize, len: usize, done: usize, n: usize) -> CalibError {
    let name = g.value(v).name.clone();
    if g.inputs.contains(&v) {
        let per = (len / n.max(1)).max(1);
        CalibError::NotANumber {
            value: name,
            what: format!(
                "model input holds NaN in calibration sample {} (element {} of the sample)",
                done + i / per,
                i % per
            ),
        }
    } else {
        let samples = if n == 1 {
            format!("sample {done}")
        } else {
            format!("samples {}..{}", done, done + n)
        };
        CalibError::NotANumber {
            value: name,
            what: format!(
                "the float model computes NaN here on calibration {samples} (element {i}); check the data against the range the model expects"
            ),
        }
    }
}

/// Calls `f` with the elements of a float tensor as f32 (other dtypes: not at all).
fn with_f32(t: &Tensor, f: impl FnOnce(&[f32])) {
    match t.data() {
        TensorData::F32(v) => f(v),
        TensorData::F16(_) | TensorData::F64(_) => f(&t.to_f32_vec()),
        _ => {}
    }
}
