//! reconcile: on a schedule (or by hand), find drift between the published rules and the identity
//! provider and repair it. Input `{"dryRun": bool, "cursor"?: string}`; output the run's report.

use gatehouse::app::{ReconcileApp, exit_on_error};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let app: &'static ReconcileApp = Box::leak(Box::new(exit_on_error(ReconcileApp::init("reconcile").await)));
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let (payload, ctx) = event.into_parts();
        // A failed run reaches the invoker as `{errorType: "bad_request" | "upstream_unavailable"…, errorMessage}`.
        app.handle(payload, ctx.deadline, &ctx.request_id)
            .await
            .map_err(|e| Diagnostic { error_type: e.code().into(), error_message: e.to_string() })
    }))
    .await
}
