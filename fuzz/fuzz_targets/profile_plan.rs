//! Any bytes as ~/.aws/config and ~/.aws/credentials: loading and planning never panic.
#![no_main]

use aws_cred::chain::plan::plan;
use aws_cred::profile::Profiles;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // First line names the selected profile; the rest splits at a NUL into the two files.
    let (selected, rest) = text.split_once('\n').unwrap_or(("default", text));
    let (config, credentials) = rest.split_once('\0').unwrap_or((rest, ""));
    if let Ok(profiles) = runtime().block_on(Profiles::parse(config, credentials, selected)) {
        let _ = plan(&profiles);
    }
});
