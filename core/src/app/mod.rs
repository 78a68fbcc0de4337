//! The Push Advisor API: routes, handlers, pages and the OpenAPI document.
