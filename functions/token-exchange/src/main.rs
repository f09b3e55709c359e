//! token-exchange: `POST /token` with a Stytch session in, a 15-minute InsForge token out.

use gatehouse::app::{TokenApp, exit_on_error};
use lambda_http::{run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let app: &'static TokenApp = Box::leak(Box::new(exit_on_error(TokenApp::init("token-exchange").await)));
    run(service_fn(move |req| async move { Ok::<_, std::convert::Infallible>(app.handle(req).await) })).await
}
