//! One module per subcommand; `dispatch` routes the parsed command line.

pub mod compile;
mod convert;
mod eval;
mod inspect;
mod opt;
mod run;

use crate::cli::{Cli, Command};
use anyhow::Result;

pub fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Inspect { model, json } => inspect::inspect(&model, json),
        Command::Run {
            model,
            inputs,
            npz,
            input_shapes,
            out_dir,
            exec,
        } => run::run(
            &model,
            &inputs,
            npz.as_deref(),
            &input_shapes,
            &out_dir,
            &exec.options()?,
        ),
        Command::Eval {
            model,
            data,
            x,
            y,
            reference,
            input_shapes,
            batch,
            limit,
            json,
            exec,
        } => eval::eval(&eval::EvalArgs {
            model: &model,
            data: &data,
            x: x.as_deref(),
            y: y.as_deref(),
            reference: reference.as_deref(),
            input_shapes: &input_shapes,
            batch: usize::try_from(batch)?,
            limit: limit.map(usize::try_from).transpose()?,
            json,
            exec: exec.options()?,
        }),
        Command::Compile {
            model,
            scheme,
            input_shapes,
            calib,
            calib_samples,
            calib_method,
            batch,
            size_budget,
            sensitivity_samples,
            rounding,
            equalize,
            bias_correction,
            target,
            name,
            device,
            no_emulate,
            save_graph,
            output,
            report,
            json,
        } => compile::compile(&compile::CompileArgs {
            model,
            scheme,
            input_shapes,
            calib,
            calib_samples: calib_samples.map(usize::try_from).transpose()?,
            calib_method,
            batch: usize::try_from(batch)?,
            size_budget,
            sensitivity_samples: usize::try_from(sensitivity_samples)?,
            rounding: rounding
                .parse()
                .map_err(|e| anyhow::anyhow!("--rounding: {e}"))?,
            target,
            name,
            device,
            output,
            no_emulate,
            save_graph,
            report,
            json,
            equalize,
            bias_correction,
        }),
        Command::Convert { input, output } => convert::convert(&input, &output),
        Command::Opt {
            input,
            passes,
            pipeline,
            print_after_all,
            list,
            output,
        } => {
            if list {
                return opt::list();
            }
            // clap enforces both unless --list is given.
            let (Some(input), Some(output)) = (input, output) else {
                anyhow::bail!("pare opt needs an input model and -o OUTPUT");
            };
            opt::opt(
                &input,
                &passes,
                pipeline.as_deref(),
                print_after_all,
                &output,
            )
        }
    }
}
