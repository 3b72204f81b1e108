//! `keyward`: parse the command line, start logging, run the subcommand.

use std::process::ExitCode;

use clap::Parser as _;
use keyward::cli::{Cli, Command, KeysCommand, OrgsCommand, UsersCommand};
use keyward::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    keyward::telemetry::init("info");
    let database = cli.database;
    let result = actix_web::rt::System::new().block_on(async move {
        match cli.command {
            None => commands::serve(cli.serve, database).await,
            Some(Command::Serve(args)) => commands::serve(args, database).await,
            Some(Command::Migrate) => commands::migrate_only(database).await,
            Some(Command::Users(UsersCommand::Create(args))) => commands::create_user(args, database).await,
            Some(Command::Users(UsersCommand::ResetTwoFactor(args))) => {
                commands::reset_two_factor(args, database).await
            }
            Some(Command::Users(UsersCommand::List(args))) => commands::list_users(args, database).await,
            Some(Command::Users(UsersCommand::Disable(args))) => {
                commands::set_user_disabled(args, true, database).await
            }
            Some(Command::Users(UsersCommand::Enable(args))) => {
                commands::set_user_disabled(args, false, database).await
            }
            Some(Command::Users(UsersCommand::SetRole(args))) => commands::set_user_role(args, database).await,
            Some(Command::Users(UsersCommand::ResetPassword(args))) => commands::reset_password(args, database).await,
            Some(Command::Orgs(OrgsCommand::Create(args))) => commands::create_org(args, database).await,
            Some(Command::Orgs(OrgsCommand::BootstrapKeys(args))) => commands::bootstrap_keys(args, database).await,
            Some(Command::Keys(KeysCommand::Create(args))) => commands::create_key(args, database).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("keyward: {message}");
            ExitCode::FAILURE
        }
    }
}
