//! `descope-emulator`: local Descope API stand-in (see README.md).

use std::process::ExitCode;

use descope_emulator::{Config, build_state, router};

#[tokio::main]
async fn main() -> ExitCode {
    let host = std::env::var("DESCOPE_EMULATOR_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("DESCOPE_EMULATOR_PORT").unwrap_or_else(|_| "4300".into());
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("descope emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let state = match build_state(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("descope emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(format!("{host}:{port}")).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("descope emulator: cannot listen on {host}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| format!("{host}:{port}"));
    // DESCOPE_EMULATOR_TLS_CERT/KEY: serve HTTPS (local benchmarks), else plain HTTP.
    if let (Ok(cert), Ok(key)) = (std::env::var("DESCOPE_EMULATOR_TLS_CERT"), std::env::var("DESCOPE_EMULATOR_TLS_KEY")) {
        let acceptor = match emulator_common::tls::acceptor(&cert, &key) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("descope emulator: TLS: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("descope emulator listening on https://{addr} (project {})", config.project_id);
        emulator_common::tls::serve(listener, router(state), acceptor, emulator_common::util::shutdown_signal()).await;
        return ExitCode::SUCCESS;
    }
    println!("descope emulator listening on http://{addr} (project {})", config.project_id);
    match axum::serve(listener, router(state)).with_graceful_shutdown(emulator_common::util::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("descope emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
