//! `mentor`: the Mentor client (all of it lives in the `mentor_tui` library, so the tests and
//! the benchmark can drive its screen).

fn main() -> std::process::ExitCode {
    mentor_tui::main()
}
