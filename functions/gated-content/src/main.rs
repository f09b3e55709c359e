//! gated-content: a session and a content request in, only what the session may read out.

use gatehouse::app::{GateApp, exit_on_error};
use lambda_http::{run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let app: &'static GateApp = Box::leak(Box::new(exit_on_error(GateApp::init("gated-content").await)));
    run(service_fn(move |req| async move { Ok::<_, std::convert::Infallible>(app.handle(req).await) })).await
}
