//! `nasarena data list` and `nasarena data check PATH`.

use crate::DataAction;
use anyhow::{Context, Result};
use nasarena_datasets::{check_path, data_dir_from_env, list_available, locate::DATA_DIR_ENV};

/// Runs one `data` action, printing to stdout.
pub fn run(action: DataAction) -> Result<()> {
    match action {
        DataAction::List => {
            let dir = data_dir_from_env();
            println!("{:<22} {:<14} location", "name", "format");
            for entry in list_available(dir.as_deref()) {
                println!("{entry}");
            }
            match dir {
                Some(d) => println!("\ndata folder ({DATA_DIR_ENV}): {}", d.display()),
                None => println!("\nno data folder set; set {DATA_DIR_ENV} to search one"),
            }
            Ok(())
        }
        DataAction::Check { path } => {
            let report =
                check_path(&path).with_context(|| format!("checking {}", path.display()))?;
            print!("{report}");
            Ok(())
        }
    }
}
