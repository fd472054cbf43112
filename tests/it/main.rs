//! The one integration test binary: every command through the real binary,
//! interactive sessions through a pseudo-terminal.

mod util;

mod check;
mod cluster;
mod conformance;
mod errors;
mod faults;
mod forward;
mod interactive;
mod kind;
mod kubeconfig;
mod kubectl;
mod layers;
mod load;
mod manifests;
mod objects;
mod proxy;
mod report;
mod ron;
mod safety;
mod scenarios;
mod script;
mod stdlib;
mod sweep;
mod watch;
