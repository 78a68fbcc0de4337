//! Logging shim, as in embassy-net: call sites use `info!`, `warn!`, `error!`, and
//! feature `log` decides whether they reach the `log` crate (linux-tap) or nothing (the
//! board, which has no log output). Without `log` a call expands to nothing, so its
//! arguments cost neither code nor task memory; a binding used only in a log line
//! takes a leading `_`.
#![allow(unused_macros)]

macro_rules! log_or_nothing {
    ($level:ident, $($arguments:tt)*) => {{
        #[cfg(feature = "log")]
        ::log::$level!($($arguments)*);
    }};
}

macro_rules! info {
    ($($arguments:tt)*) => { log_or_nothing!(info, $($arguments)*) };
}

macro_rules! warn {
    ($($arguments:tt)*) => { log_or_nothing!(warn, $($arguments)*) };
}

macro_rules! error {
    ($($arguments:tt)*) => { log_or_nothing!(error, $($arguments)*) };
}
