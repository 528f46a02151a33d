//! Binding data files to a graph's inputs: which dataset (streamed by
//! pare-npy) feeds each input, and the checks that say which input, what it
//! takes and what was given. Fixed inputs live in [`super::fixed_inputs`].

use super::bindings::{Binds, FileBinding, FileKind};
use super::data::DataError;
use super::fixed_inputs::Fixed;
use pare_ir::{DType, Dim, Graph, TensorType};
use pare_npy::{DataSpec, Dataset, OpenOptions};
use std::collections::BTreeMap;

/// One graph input's declared name and type.
#[derive(Clone, Debug)]
pub(crate) struct InputDecl {
    pub name: String,
    pub ty: TensorType,
}

/// How each graph input, in order, gets its batches.
#[derive(Clone, Debug)]
pub(crate) enum Feed {
    /// Read from a dataset, cast to the input's dtype. `whole`: each sample is
    /// the whole input tensor (the array has one more axis than the input),
    /// fed one sample per run, rather than a slice along the input's axis 0.
    Stream {
        data: Box<Dataset>,
        whole: bool,
    },
    /// Generated (the random source); one sample's shape.
    Random(Vec<usize>),
    Fixed(Box<Fixed>),
}

/// The graph's inputs, in order.
pub(crate) fn inputs_of(g: &Graph) -> Vec<InputDecl> {
    g.inputs
        .iter()
        .map(|&v| InputDecl {
            name: g.value(v).name.clone(),
            ty: g.ty(v).clone(),
        })
        .collect()
}

pub(crate) fn names(inputs: &[&InputDecl]) -> String {
    inputs
        .iter()
        .map(|i| format!("{} {}", i.name, i.ty))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Float inputs take any numeric data (converted, as calibration always has);
/// integer and bool inputs take integer or bool data only.
pub(crate) fn check_dtype(decl: &InputDecl, given: DType, what: &str) -> Result<(), String> {
    let want = decl.ty.dtype;
    if given == want || want.is_float() || !given.is_float() {
        return Ok(());
    }
    Err(format!(
        "input `{}` takes {} ({want}), but {what} holds {given} data",
        decl.name, decl.ty
    ))
}

/// The streams of `file` for the inputs in `need`, in `need`'s order;
/// `ignore` names arrays that are not inputs (eval's targets).
pub(crate) fn open_streams(
    file: &FileBinding,
    need: &[&InputDecl],
    fixed: &BTreeMap<String, Fixed>,
    all: &[InputDecl],
    ignore: &[&str],
    spec: &str,
) -> Result<Vec<Dataset>, DataError> {
    let fit = |msg: String| DataError::Fit {
        spec: spec.to_string(),
        msg,
    };
    let read = |e: pare_npy::NpyError| DataError::Read {
        spec: spec.to_string(),
        source: Box::new(e),
    };
    // A folder's files are one sample or a batch each, told apart by rank.
    let opts = |d: &InputDecl| OpenOptions {
        sample_rank: Some(d.ty.rank().saturating_sub(1)),
    };
    // A single array may also hold whole inputs along a new axis 0 (a recurrent
    // state `[layers, batch, hidden]` per sample): `check_streams` decides.
    let any_rank = OpenOptions { sample_rank: None };
    let one = |what: &str| -> Result<&InputDecl, DataError> {
        match need {
            [only] => Ok(*only),
            _ => Err(fit(format!(
                "{what} feeds one input, but {} inputs need data ({}); bind arrays by name \
                 (FILE.npz, or FILE.npz:INPUT=ARRAY;...) or fix inputs (calib-fixed / --calib-fixed NAME=zeros)",
                need.len(),
                names(need)
            ))),
        }
    };
    let path = &file.path;
    let datasets: Vec<Dataset> = match (file.kind, &file.binds) {
        (FileKind::Npy, _) => {
            one("an .npy file")?;
            vec![
                Dataset::open_with(&DataSpec::Npy { path: path.clone() }, &any_rank)
                    .map_err(read)?,
            ]
        }
        (FileKind::Npz, Binds::Key(k)) => {
            one(&format!("array `{k}`"))?;
            let spec = DataSpec::Npz {
                path: path.clone(),
                key: Some(k.clone()),
            };
            vec![Dataset::open_with(&spec, &any_rank).map_err(read)?]
        }
        (FileKind::Npz, binds) => {
            let keys = pare_npy::npz_keys(path).map_err(read)?;
            let chosen =
                choose_keys(binds, &keys, need, fixed, all, ignore, "the archive").map_err(fit)?;
            chosen
                .into_iter()
                .map(|key| {
                    let spec = DataSpec::Npz {
                        path: path.clone(),
                        key: Some(key),
                    };
                    Dataset::open_with(&spec, &any_rank).map_err(read)
                })
                .collect::<Result<_, _>>()?
        }
        (FileKind::Dir, binds) => {
            let npz = pare_npy::files_with_ext(path, "npz").map_err(read)?;
            match npz.first() {
                None => {
                    if !matches!(binds, Binds::ByName) {
                        return Err(fit("array bindings need .npz files".into()));
                    }
                    let d = one("a folder of .npy files")?;
                    vec![
                        Dataset::open_with(&DataSpec::Dir { path: path.clone() }, &opts(d))
                            .map_err(read)?,
                    ]
                }
                Some(first) => {
                    let keys = pare_npy::npz_keys(first).map_err(read)?;
                    let what =
                        format!("{} (the first of the folder's .npz files)", first.display());
                    let chosen =
                        choose_keys(binds, &keys, need, fixed, all, ignore, &what).map_err(fit)?;
                    need.iter()
                        .zip(chosen)
                        .map(|(d, key)| Dataset::open_npz_dir(path, &key, &opts(d)).map_err(read))
                        .collect::<Result<_, _>>()?
                }
            }
        }
    };
    check_streams(need, &datasets).map_err(fit)?;
    Ok(datasets)
}

/// The array key of each input in `need`.
fn choose_keys(
    binds: &Binds,
    keys: &[String],
    need: &[&InputDecl],
    fixed: &BTreeMap<String, Fixed>,
    all: &[InputDecl],
    ignore: &[&str],
    what: &str,
) -> Result<Vec<String>, String> {
    let renamed: &[(String, String)] = match binds {
        Binds::Renamed(p) => p,
        _ => &[],
    };
    for (input, key) in renamed {
        if !all.iter().any(|i| &i.name == input) {
            return Err(format!(
                "`{input}={key}` binds `{input}`, which is not a model input (inputs: {})",
                names(&all.iter().collect::<Vec<_>>())
            ));
        }
        if fixed.contains_key(input) {
            return Err(format!(
                "input `{input}` is both bound to array `{key}` and fixed"
            ));
        }
        if !keys.contains(key) {
            return Err(format!(
                "`{input}={key}`: {what} has no array `{key}` (arrays: {})",
                keys.join(", ")
            ));
        }
    }
    // A one-input model takes an archive's only array, whatever its name.
    if renamed.is_empty() && need.len() == 1 && keys.len() == 1 {
        return Ok(vec![keys[0].clone()]);
    }
    let mut chosen = Vec::with_capacity(need.len());
    let mut missing = Vec::new();
    for d in need {
        match renamed.iter().find(|(i, _)| *i == d.name) {
            Some((_, k)) => chosen.push(k.clone()),
            None if keys.contains(&d.name) => chosen.push(d.name.clone()),
            None => missing.push(*d),
        }
    }
    if !missing.is_empty() {
        let first = &missing[0].name;
        return Err(format!(
            "no data for input{} {}: {what} holds {}; bind each with FILE.npz:{first}=ARRAY (`;` between bindings) \
             or fix it with calib-fixed / --calib-fixed {first}=zeros",
            if missing.len() > 1 { "s" } else { "" },
            names(&missing),
            if keys.is_empty() { "no arrays".to_string() } else { keys.join(", ") }
        ));
    }
    if renamed.is_empty() {
        let extra: Vec<&String> = keys
            .iter()
            // An array named after a fixed input is overridden, not extra.
            .filter(|k| {
                !chosen.contains(k) && !ignore.contains(&k.as_str()) && !fixed.contains_key(*k)
            })
            .collect();
        if !extra.is_empty() {
            let list: Vec<&str> = extra.iter().map(|k| k.as_str()).collect();
            return Err(format!(
                "{what} holds array{} {} that no model input is named after (inputs: {}); \
                 name the arrays to use with FILE.npz:INPUT=ARRAY;...",
                if extra.len() > 1 { "s" } else { "" },
                list.join(", "),
                names(&all.iter().collect::<Vec<_>>())
            ));
        }
    }
    Ok(chosen)
}

/// Whether `ds` holds whole inputs `d` along a new axis 0 (its samples have
/// the input's rank) rather than slices along the input's axis 0.
pub(crate) fn is_whole(d: &InputDecl, ds: &Dataset) -> bool {
    !d.ty.shape.is_empty() && ds.sample_shape().len() == d.ty.rank()
}

/// Every stream fits its input (fixed dims equal, dtype convertible, a
/// symbol's size the same wherever it appears) and all have the same number
/// of samples.
fn check_streams(need: &[&InputDecl], datasets: &[Dataset]) -> Result<(), String> {
    let mut syms: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (d, ds) in need.iter().zip(datasets) {
        let given = ds.sample_shape();
        let want = if is_whole(d, ds) {
            &d.ty.shape[..]
        } else {
            d.ty.shape.get(1..).unwrap_or(&[])
        };
        let expected = || {
            format!(
                "input `{}` takes {} (samples of shape [{}] along axis 0, or whole inputs of shape [{}] along a new axis 0), but `{}` has samples of shape {given:?}",
                d.name,
                d.ty,
                d.ty.shape.get(1..).unwrap_or(&[]).iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","),
                d.ty.shape.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","),
                ds.name()
            )
        };
        if d.ty.shape.is_empty() || want.len() != given.len() {
            return Err(expected());
        }
        for (dim, &n) in want.iter().zip(given) {
            match dim {
                Dim::Fixed(f) if *f != n as u64 => return Err(expected()),
                Dim::Fixed(_) => {}
                Dim::Sym(s) => match syms.get(s) {
                    Some((m, other)) if *m != n => {
                        return Err(format!(
                            "dim `{s}` is {n} in `{}` (input `{}`) but {m} in {other}",
                            ds.name(),
                            d.name
                        ))
                    }
                    Some(_) => {}
                    None => {
                        syms.insert(
                            s.clone(),
                            (n, format!("`{}` (input `{}`)", ds.name(), d.name)),
                        );
                    }
                },
            }
        }
        check_dtype(d, ds.dtype(), &format!("`{}`", ds.name()))?;
        if ds.is_empty() {
            return Err(format!("`{}` has no samples", ds.name()));
        }
    }
    if let Some((first, d0)) = datasets.first().zip(need.first()) {
        for (d, ds) in need.iter().zip(datasets).skip(1) {
            if ds.len() != first.len() {
                return Err(format!(
                    "`{}` (input `{}`) holds {} samples but `{}` (input `{}`) holds {}; every bound array needs the same number of samples along axis 0",
                    first.name(),
                    d0.name,
                    first.len(),
                    ds.name(),
                    d.name,
                    ds.len()
                ));
            }
        }
    }
    Ok(())
}
