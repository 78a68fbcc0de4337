//! The axum peer: `/vibe-check` public, `/deploy-history` behind the introspection
//! middleware.

use axum::routing::get;
use axum::{Extension, Json, Router, middleware};
use bench_peers::{DeployHistory, Introspector, Principal, Settings, Vibe, require_read};

#[tokio::main]
async fn main() {
    let settings = Settings::from_env();
    let bind = settings.bind.clone();
    let introspector = Introspector::discover(settings).await;
    let protected = Router::new()
        .route(
            "/deploy-history",
            get(
                |Extension(Principal(user)): Extension<Principal>| async move {
                    Json(DeployHistory::for_user(&user))
                },
            ),
        )
        .layer(middleware::from_fn_with_state(introspector, require_read));
    let app = Router::new()
        .route("/vibe-check", get(|| async { Json(Vibe::draw()) }))
        .merge(protected);
    let listener = tokio::net::TcpListener::bind(&bind).await.expect("listen");
    println!("PEER_READY http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.expect("serve");
}
