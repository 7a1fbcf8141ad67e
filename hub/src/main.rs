//! The `hub` binary: everything lives in the library; see `hub::cli`.

fn main() -> std::process::ExitCode {
    hub::cli::main()
}
