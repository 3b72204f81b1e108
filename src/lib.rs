//! Keyward: an API key service. A server-rendered backoffice where System
//! Administrators manage their organization's API keys, and the
//! authentication of requests made with those keys.

pub mod api;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod routing;
pub mod secret_file;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
