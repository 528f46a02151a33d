//! The pass manager: runs a pipeline's steps, re-infers types and verifies after
//! every change, iterates fixpoint groups, and offers a print-after hook.

use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::Graph;

/// One step of a pipeline.
pub enum Step {
    /// Run a pass once.
    Once(Box<dyn Pass>),
    /// Run the passes in order, again and again, until a whole round reports
    /// `Changed::No` for every pass.
    Fixpoint(Vec<Box<dyn Pass>>),
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Once(p) => write!(f, "Once({})", p.name()),
            Step::Fixpoint(ps) => {
                let names: Vec<_> = ps.iter().map(|p| p.name()).collect();
                write!(f, "Fixpoint({})", names.join(","))
            }
        }
    }
}

/// A named list of steps. The graph is compacted at its end so dead nodes and
/// unused weights disappear and ids are canonical.
#[derive(Debug)]
pub struct Pipeline {
    pub name: String,
    pub steps: Vec<Step>,
}

impl Pipeline {
    pub fn new(name: impl Into<String>, steps: Vec<Step>) -> Pipeline {
        Pipeline {
            name: name.into(),
            steps,
        }
    }
}

type PrintHook<'a> = Box<dyn FnMut(&str, &Graph) + 'a>;

/// Runs pipelines. See the module docs.
#[derive(Default)]
pub struct PassManager<'a> {
    print_after: Option<PrintHook<'a>>,
}

impl std::fmt::Debug for PassManager<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassManager")
            .field("print_after", &self.print_after.is_some())
            .finish()
    }
}

impl<'a> PassManager<'a> {
    pub fn new() -> PassManager<'a> {
        PassManager::default()
    }

    /// Calls `hook(pass name, graph)` after every pass run (`--print-after-all`).
    pub fn print_after_all(mut self, hook: impl FnMut(&str, &Graph) + 'a) -> PassManager<'a> {
        self.print_after = Some(Box::new(hook));
        self
    }

    /// Runs `pipeline` on `g`. Returns whether any pass changed the graph.
    pub fn run(
        &mut self,
        pipeline: &mut Pipeline,
        g: &mut Graph,
        cx: &mut PassCx,
    ) -> Result<Changed, PassError> {
        if cx.options.verify {
            // A broken input would otherwise be blamed on the first pass.
            crate::util::verify(g, "<input>")?;
        }
        let mut changed = Changed::No;
        for step in &mut pipeline.steps {
            changed |= match step {
                Step::Once(p) => self.run_pass(p.as_mut(), g, cx)?,
                Step::Fixpoint(ps) => self.run_fixpoint(&pipeline.name, ps, g, cx)?,
            };
        }
        g.compact();
        Ok(changed)
    }

    fn run_fixpoint(
        &mut self,
        pipeline: &str,
        passes: &mut [Box<dyn Pass>],
        g: &mut Graph,
        cx: &mut PassCx,
    ) -> Result<Changed, PassError> {
        let mut any = Changed::No;
        for _ in 0..cx.options.max_iterations {
            let mut round = Changed::No;
            for p in passes.iter_mut() {
                round |= self.run_pass(p.as_mut(), g, cx)?;
            }
            if !round.is_yes() {
                return Ok(any);
            }
            any = Changed::Yes;
        }
        // One more round to name the passes that keep changing things.
        let mut changing = Vec::new();
        for p in passes.iter_mut() {
            if self.run_pass(p.as_mut(), g, cx)?.is_yes() {
                changing.push(p.name());
            }
        }
        if changing.is_empty() {
            return Ok(any);
        }
        Err(PassError::NoFixpoint {
            pipeline: pipeline.to_string(),
            iterations: cx.options.max_iterations,
            changing: changing.join(", "),
        })
    }

    fn run_pass(
        &mut self,
        p: &mut dyn Pass,
        g: &mut Graph,
        cx: &mut PassCx,
    ) -> Result<Changed, PassError> {
        let changed = p.run(g, cx)?;
        if changed.is_yes() {
            crate::util::reinfer(g, p.name())?;
            if cx.options.verify {
                crate::util::verify(g, p.name())?;
            }
        }
        if let Some(hook) = &mut self.print_after {
            hook(p.name(), g);
        }
        Ok(changed)
    }
}
