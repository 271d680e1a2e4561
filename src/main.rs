//! The `loadlab` binary: the command line natively, the web app on wasm32 (built by Trunk).

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(loadlab::cli::main_with(&args));
}

#[cfg(target_arch = "wasm32")]
fn main() {
    loadlab::web::start();
}
