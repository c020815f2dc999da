//! Running one connector's cases: settings, quiet panics, the tally and the failure report.

use super::*;

fn settings() -> (u32, u64) {
    let cases = match std::env::var("O2O_FUZZ_CASES") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("O2O_FUZZ_CASES={text}: not a number of cases")),
        Err(_) => DEFAULT_CASES,
    };
    let seed = match std::env::var("O2O_FUZZ_SEED") {
        Ok(text) if text.trim() == "random" => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default(),
        Ok(text) => {
            let text = text.trim();
            match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            }
            .unwrap_or_else(|_| panic!("O2O_FUZZ_SEED={text}: not a number or `random`"))
        }
        Err(_) => DEFAULT_SEED,
    };
    (cases, seed)
}

thread_local! {
    /// Whether this thread's panics are a case's (caught by proptest, reported once at the end).
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where this thread last panicked, with the workspace's frames of its backtrace.
    static LAST_PANIC: RefCell<Option<(String, Backtrace)>> = const { RefCell::new(None) };
}

/// Keeps the panics of cases (hundreds while shrinking) out of the output, and remembers where
/// the last one happened for the report.
fn quiet_case_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let location = info.location().map(ToString::to_string).unwrap_or_default();
                let trace = Backtrace::force_capture();
                LAST_PANIC.with(|last| *last.borrow_mut() = Some((location, trace)));
            } else {
                default(info);
            }
        }));
    });
}

/// Where the last case panicked: its location and the backtrace frames of this workspace.
fn last_panic() -> Option<String> {
    let (location, trace) = LAST_PANIC.with(|last| last.borrow_mut().take())?;
    let mut out = format!("panicked at {location}\n");
    let mut keep_next = false;
    for line in trace.to_string().lines() {
        let frame = line.trim_start();
        if keep_next && frame.starts_with("at ") {
            let _ = writeln!(out, "        {frame}");
        }
        keep_next = frame.split_once(": ").is_some_and(|(n, f)| {
            n.parse::<u32>().is_ok()
                && (f.starts_with("o2o")
                    || (f.starts_with("fuzz::") && !f.starts_with("fuzz::run::quiet")))
        });
        if keep_next {
            let _ = writeln!(out, "    {frame}");
        }
    }
    Some(out)
}

pub(crate) fn fuzz<C: Connector>(spec: &'static Spec) {
    let (cases, seed) = settings();
    quiet_case_panics();
    let fixture = Fixture::<C>::load(spec);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let config = Config {
        cases,
        // Nothing written into the repository: the seed reproduces a failure.
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        // One stream per connector, all from the one seed.
        rng_seed: RngSeed::Fixed(seed ^ fnv1a(spec.id)),
        max_shrink_time: 120_000,
        ..Config::default()
    };
    let tally: RefCell<BTreeMap<String, u64>> = RefCell::new(BTreeMap::new());
    let started = Instant::now();
    let mut runner = TestRunner::new(config);
    QUIET.with(|quiet| quiet.set(true));
    let result = runner.run(&case_strategy(spec), |case| {
        let built = fixture.build(&case);
        let label = runtime.block_on(check(&fixture, &built))?;
        *tally.borrow_mut().entry(label).or_default() += 1;
        Ok(())
    });
    let elapsed = started.elapsed();
    match result {
        Ok(()) => {
            QUIET.with(|quiet| quiet.set(false));
            let tally = tally.into_inner();
            let total: u64 = tally.values().sum();
            let mut line = format!(
                "fuzz {}: {total} cases in {:.1} s (seed {seed:#x}):",
                spec.id,
                elapsed.as_secs_f64()
            );
            for (label, n) in &tally {
                let _ = write!(line, " {label} {n};");
            }
            println!("{line}");
            assert!(
                total >= u64::from(cases),
                "{total} cases run, {cases} asked"
            );
        }
        Err(TestError::Fail(reason, case)) => {
            // The minimal case once more, to say where it panics (if it does).
            let built = fixture.build(&case);
            let again = std::panic::catch_unwind(AssertUnwindSafe(|| {
                runtime.block_on(check(&fixture, &built))
            }));
            let location = again.err().and_then(|_| last_panic()).unwrap_or_default();
            QUIET.with(|quiet| quiet.set(false));
            panic!(
                "{}{location}",
                failure_report(&fixture, &built, &case, &reason, cases, seed)
            )
        }
        Err(TestError::Abort(reason)) => {
            QUIET.with(|quiet| quiet.set(false));
            panic!("fuzz {}: aborted: {reason}", spec.id)
        }
    }
}

/// FNV-1a of `text`: a stable number per connector.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The minimal failing case, the request it makes, and how to run it again.
fn failure_report<C: Connector>(
    fixture: &Fixture<C>,
    built: &Built,
    case: &Case,
    reason: &impl std::fmt::Display,
    cases: u32,
    seed: u64,
) -> String {
    let req = &built.request;
    let mut report = format!(
        "fuzz {}: {reason}\n\nreproduce: O2O_FUZZ_SEED={seed:#x} O2O_FUZZ_CASES={cases} \
         cargo test{} --test fuzz {} -- --nocapture\n\nminimal case (sample {}): {case:#?}\n\n\
         request:\n  method: {:?}\n  path tenant: {:?}\n  query: {:?}\n  received at: {:?}\n",
        fixture.spec.id,
        if cfg!(debug_assertions) {
            ""
        } else {
            " --release"
        },
        fixture.spec.id.replace('-', "_"),
        built.sample,
        req.method,
        req.path_tenant,
        req.query,
        req.received_at,
    );
    for (name, value) in req.headers.iter() {
        let _ = writeln!(report, "  header {name}: {value:?}");
    }
    let _ = writeln!(report, "  body: b\"{}\"", req.body.escape_ascii());
    report
}
