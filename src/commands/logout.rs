//! `aws-cred logout`: forget the profile's `aws login` session (delete its cache file). The
//! credentials already handed out stay valid until they expire (15 minutes at most).

use super::Setup;
use crate::base::error::Problem;
use crate::login::{self, LoginSession};

pub async fn run(setup: &Setup) -> anyhow::Result<()> {
    let profile = setup.profiles.selected.clone();
    let Some(arn) = setup.profiles.get(&profile, "login_session") else {
        return Err(Problem::usage(format!(
            "profile {profile} has no login_session: there is no login to forget"
        ))
        .hint("name the profile you logged in with: aws-cred logout --profile P")
        .into());
    };
    let session = LoginSession {
        profile: profile.clone(),
        arn: arn.trim().to_string(),
        region: None,
    };
    match login::logout(&setup.ctx, &session).await? {
        Some(path) => eprintln!(
            "logged out of {} (profile {profile}): removed {}\ncredentials already handed out stay valid until they expire (at most 15 minutes)",
            session.arn,
            path.display()
        ),
        None => eprintln!(
            "profile {profile} was not logged in here (no {})",
            login::cache_path(&setup.ctx, &session.arn)?.display()
        ),
    }
    Ok(())
}
