//! `completions` and `man`: generated from the one clap definition.

use super::emit;
use crate::cli::Cli;
use clap::CommandFactory;

/// The completion script clap generates, repaired and extended:
/// - bash: clap_complete names its case arms `aws__subcmd__cred…` but sets `cmd` to
///   `aws__cred…` (the `-` in the name), so only the first word completed; the arms are
///   renamed to what is set. A wrapper completes `--profile` with the files' profile names.
/// - fish: `--profile` completes with the profile names too.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "aws-cred", &mut buffer);
    let mut script = String::from_utf8_lossy(&buffer).into_owned();
    match shell {
        clap_complete::Shell::Bash => {
            script = script.replace("aws__subcmd__cred", "aws__cred");
            script.push_str(BASH_PROFILES);
        }
        clap_complete::Shell::Fish => script.push_str(FISH_PROFILES),
        _ => {}
    }
    emit(&script)
}

/// bash: `--profile` completes with the profile names; everything else as generated.
const BASH_PROFILES: &str = r#"
_aws_cred_profiles() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [[ "$prev" == "--profile" ]]; then
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(aws-cred completions --list-profiles 2>/dev/null)" -- "$cur"))
        return 0
    fi
    _aws__cred "$@"
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _aws_cred_profiles -o nosort -o bashdefault -o default aws-cred
else
    complete -F _aws_cred_profiles -o bashdefault -o default aws-cred
fi
"#;

/// fish: `--profile` completes with the profile names.
const FISH_PROFILES: &str =
    "complete -c aws-cred -l profile -x -a '(aws-cred completions --list-profiles 2>/dev/null)'\n";

/// `completions --list-profiles`: every profile name of both files, sorted, one a line.
pub async fn list_profiles(ctx: &crate::os::Context) -> anyhow::Result<()> {
    let profiles =
        crate::profile::Profiles::load_scoped(ctx, None, crate::profile::Scope::All).await?;
    let mut text = String::new();
    for name in profiles.names() {
        if name.chars().any(char::is_control) {
            continue;
        }
        text.push_str(name);
        text.push('\n');
    }
    emit(&text)
}

/// One page for the whole tool: clap_mangen renders the top level; each subcommand gets a
/// section with its description, options and examples.
pub fn man() -> anyhow::Result<()> {
    let mut page = Vec::new();
    let cli = Cli::command();
    clap_mangen::Man::new(cli.clone()).render(&mut page)?;
    let mut text = String::from_utf8(page)?;
    for sub in cli.get_subcommands() {
        text.push_str(&subcommand_section(sub));
    }
    emit(&text)
}

/// Escape text for roff: backslashes, hyphens, and control characters at line starts.
fn roff(text: &str) -> String {
    text.lines()
        .map(|line| {
            let escaped = line.replace('\\', "\\e").replace('-', "\\-");
            if escaped.starts_with('.') || escaped.starts_with('\'') {
                format!("\\&{escaped}")
            } else {
                escaped
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn subcommand_section(sub: &clap::Command) -> String {
    let mut out = format!(".SH \"AWS\\-CRED {}\"\n", sub.get_name().to_uppercase());
    if let Some(about) = sub.get_long_about().or(sub.get_about()) {
        out.push_str(&format!("{}\n", roff(&about.to_string())));
    }
    for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let mut head = String::new();
        if let Some(long) = arg.get_long() {
            head.push_str(&format!("\\fB\\-\\-{}\\fR", roff(long)));
        }
        if let Some(short) = arg.get_short() {
            head.push_str(&format!(", \\fB\\-{short}\\fR"));
        }
        let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
        if takes_value {
            let name = arg
                .get_value_names()
                .and_then(|names| names.first().map(|n| n.to_string()))
                .unwrap_or_else(|| id.to_uppercase());
            if !head.is_empty() {
                head.push(' ');
            }
            head.push_str(&format!("\\fI{}\\fR", roff(&name)));
        }
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| roff(&h.to_string()))
            .unwrap_or_default();
        out.push_str(&format!(".TP\n{head}\n{help}\n"));
    }
    if let Some(after) = sub.get_after_help() {
        out.push_str(&format!(".PP\n.nf\n{}\n.fi\n", roff(&after.to_string())));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes_what_troff_would_interpret() {
        assert_eq!(roff(".hidden"), "\\&.hidden");
        assert_eq!(roff("a-b \\ c"), "a\\-b \\e c");
    }

    #[test]
    fn every_subcommand_has_a_section_with_examples() {
        let cli = Cli::command();
        for sub in cli.get_subcommands() {
            let section = subcommand_section(sub);
            assert!(section.starts_with(".SH \"AWS\\-CRED "), "{section}");
        }
        let export = cli.find_subcommand("export").unwrap();
        let section = subcommand_section(export);
        assert!(section.contains("\\fB\\-\\-format\\fR"), "{section}");
        assert!(section.contains("credential_process"), "{section}");
    }
}
