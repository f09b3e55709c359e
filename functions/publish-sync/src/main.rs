//! publish-sync: a signed Sanity webhook delivery in, the identity provider updated, a status for Sanity out.

use gatehouse::app::{SyncApp, SyncKind, exit_on_error};
use lambda_http::{run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let app: &'static SyncApp = Box::leak(Box::new(exit_on_error(SyncApp::init("publish-sync", SyncKind::Publish).await)));
    run(service_fn(move |req| async move { Ok::<_, std::convert::Infallible>(app.handle(req).await) })).await
}
