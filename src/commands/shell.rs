//! `completions` and `man`: generated from the one clap definition.

use super::emit;
use crate::base::error::Problem;
use crate::base::text::escape;
use crate::cli::Cli;
use clap::CommandFactory;

/// The completion script clap generates, repaired and extended:
/// - bash: clap_complete names its case arms `aws__subcmd__cred…` but sets `cmd` to
///   `aws__cred…` (the `-` in the name), so only the first word completed; the arms are
///   renamed to what is set. A wrapper completes `--profile` with the files' profile names.
/// - fish: `--profile` completes with the profile names too.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    emit(&completion_script(shell)?)
}

fn completion_script(shell: clap_complete::Shell) -> anyhow::Result<String> {
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "aws-cred", &mut buffer);
    let mut script = String::from_utf8_lossy(&buffer).into_owned();
    match shell {
        clap_complete::Shell::Bash => {
            script = script.replace("aws__subcmd__cred", "aws__cred");
            script.push_str(BASH_PROFILES);
        }
        clap_complete::Shell::Fish => script.push_str(FISH_NAMES),
        clap_complete::Shell::Zsh => script = zsh_with_profiles(&script),
        clap_complete::Shell::PowerShell => script = powershell_with_profiles(&script)?,
        _ => {}
    }
    Ok(script)
}

/// The line of the generated PowerShell completer that filters and sorts what it offers.
const POWERSHELL_FILTER: &str =
    "    $completions.Where{ $_.CompletionText -like \"$wordToComplete*\" } |";

/// PowerShell: `--profile` values and `export`'s profile word complete with the profile names,
/// added just before the generated completer filters what it offers by the typed prefix.
fn powershell_with_profiles(script: &str) -> anyhow::Result<String> {
    if !script.contains(POWERSHELL_FILTER) {
        return Err(Problem::failure(
            "the generated PowerShell completion script changed shape: profile names cannot be added",
        )
        .into());
    }
    // `.Where({ … })` is the same call as the generated `.Where{ … }`, in the form every
    // PowerShell grammar knows (the one that checks this script here included).
    Ok(script.replacen(
        POWERSHELL_FILTER,
        &format!(
            "{POWERSHELL_PROFILES}    $completions.Where({{ $_.CompletionText -like \"$wordToComplete*\" }}) |"
        ),
        1,
    ))
}

/// PowerShell: the word before the cursor is `--profile` (or the command is `export` and the
/// word is not a flag): offer the profile names; after `--sso-session`, the sso-session names;
/// quoted where PowerShell needs it.
const POWERSHELL_PROFILES: &str = r#"    $previous = $commandElements |
        Where-Object { $_.Extent.EndOffset -lt $cursorPosition } |
        Select-Object -Last 1
    $after = if ($previous) { $previous.ToString() } else { '' }
    $wantsProfile = ($after -eq '--profile') -or ($after -eq '--sso-session') -or
        ($command -eq 'aws-cred;export' -and -not $wordToComplete.StartsWith('-'))
    if ($wantsProfile) {
        $list = if ($after -eq '--sso-session') { '--list-sso-sessions' } else { '--list-profiles' }
        $names = @(aws-cred completions $list 2>$null | ForEach-Object {
            $text = $_
            if ($text -match '[\s''"`$;,(){}@#|&<>]') {
                $text = "'" + ($text -replace "'", "''") + "'"
            }
            [CompletionResult]::new($text, $_, [CompletionResultType]::ParameterValue, $_)
        })
        if ($after -eq '--profile' -or $after -eq '--sso-session') {
            $completions = $names
        } else {
            $completions = @($names) + @($completions)
        }
    }

"#;

/// zsh: `--profile` values and `export`'s profile word complete with the profile names (the
/// generated script completes them as files).
fn zsh_with_profiles(script: &str) -> String {
    let mut out = String::with_capacity(script.len() + ZSH_PROFILES.len());
    for line in script.lines() {
        let line = if line.starts_with("'--profile=[") || line.starts_with("'::profile_word -- ") {
            line.replacen(":_default'", ":_aws_cred_profiles'", 1)
        } else if line.starts_with("'--sso-session=[")
            || line.starts_with("'(--all)--sso-session=[")
        {
            line.replacen(":_default'", ":_aws_cred_sso_sessions'", 1)
        } else {
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
        if line == "autoload -U is-at-least" {
            out.push_str(ZSH_PROFILES);
        }
    }
    out
}

/// zsh: the profile and sso-session names, from aws-cred itself.
const ZSH_PROFILES: &str = r#"
(( $+functions[_aws_cred_profiles] )) ||
_aws_cred_profiles() {
    local -a names
    names=(${(f)"$(aws-cred completions --list-profiles 2>/dev/null)"})
    compadd -a names
}
(( $+functions[_aws_cred_sso_sessions] )) ||
_aws_cred_sso_sessions() {
    local -a names
    names=(${(f)"$(aws-cred completions --list-sso-sessions 2>/dev/null)"})
    compadd -a names
}
"#;

/// bash: `--profile` completes with the profile names, `--sso-session` with the sso-session
/// names; everything else as generated.
const BASH_PROFILES: &str = r#"
_aws_cred_profiles() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" list
    case "$prev" in
        --profile) list=--list-profiles ;;
        --sso-session) list=--list-sso-sessions ;;
        *) _aws__cred "$@"; return ;;
    esac
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$(aws-cred completions "$list" 2>/dev/null)" -- "$cur"))
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _aws_cred_profiles -o nosort -o bashdefault -o default aws-cred
else
    complete -F _aws_cred_profiles -o bashdefault -o default aws-cred
fi
"#;

/// fish: `--profile` completes with the profile names, `--sso-session` with the sso-session
/// names.
const FISH_NAMES: &str = "complete -c aws-cred -l profile -x -a '(aws-cred completions --list-profiles 2>/dev/null)'\n\
     complete -c aws-cred -l sso-session -x -a '(aws-cred completions --list-sso-sessions 2>/dev/null)'\n";

/// `completions --list-profiles`: every profile name of both files, sorted, one a line.
pub(crate) async fn list_profiles(ctx: &crate::os::Context) -> anyhow::Result<()> {
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

/// `completions --list-sso-sessions`: the `[sso-session NAME]` names, one a line (names with a
/// control character are left out: a completion could not offer them).
pub(crate) async fn list_sso_sessions(ctx: &crate::os::Context) -> anyhow::Result<()> {
    let profiles =
        crate::profile::Profiles::load_scoped(ctx, None, crate::profile::Scope::All).await?;
    let mut names: Vec<&str> = profiles
        .set
        .sso_sessions()
        .filter(|name| !name.chars().any(char::is_control))
        .collect();
    names.sort_unstable();
    emit(
        &names
            .iter()
            .map(|name| format!("{name}\n"))
            .collect::<String>(),
    )
}

/// `shell-init`: a function that runs `aws-cred export` for this shell and applies what it
/// prints, so no `eval` is typed; `--unset` clears the variables. It also sets
/// `AWS_CRED_PROFILE` (the profile asked for, `default` when none) and `AWS_CRED_EXPIRATION`
/// for prompts. A failure changes nothing in the shell and returns non-zero.
pub(crate) fn init(args: &crate::cli::ShellInitArgs) -> anyhow::Result<()> {
    use crate::cli::InitShell;
    let name = &args.name;
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(crate::base::error::Problem::usage(format!(
            "--name {}: a function name is letters, digits, - and _",
            crate::base::text::escape(name)
        ))
        .into());
    }
    let script = match args.shell {
        InitShell::Bash | InitShell::Zsh => POSIX_INIT,
        InitShell::Fish => FISH_INIT,
        InitShell::Powershell => POWERSHELL_INIT,
    };
    emit(&script.replace("__NAME__", name))
}

const POSIX_INIT: &str = r#"# aws-cred shell-init: `__NAME__ PROFILE` sets that profile's credentials in this shell.
__NAME__() {
    if [ "$1" = "--unset" ]; then
        eval "$(command aws-cred export --unset --format sh)" || return
        unset AWS_CRED_PROFILE AWS_CRED_EXPIRATION
        return 0
    fi
    __aws_cred_lines=""
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
        __aws_cred_profile="$1"
        shift
        __aws_cred_lines="$(command aws-cred export --format sh --profile "$__aws_cred_profile" "$@")" || { unset __aws_cred_lines __aws_cred_profile; return 1; }
    else
        __aws_cred_profile="${AWS_PROFILE:-default}"
        __aws_cred_lines="$(command aws-cred export --format sh "$@")" || { unset __aws_cred_lines __aws_cred_profile; return 1; }
    fi
    eval "$__aws_cred_lines"
    export AWS_CRED_PROFILE="$__aws_cred_profile"
    if [ -n "${AWS_CREDENTIAL_EXPIRATION-}" ]; then
        export AWS_CRED_EXPIRATION="$AWS_CREDENTIAL_EXPIRATION"
    else
        unset AWS_CRED_EXPIRATION
    fi
    unset __aws_cred_lines __aws_cred_profile
}
"#;

const FISH_INIT: &str = r#"# aws-cred shell-init: `__NAME__ PROFILE` sets that profile's credentials in this shell.
function __NAME__
    if test (count $argv) -gt 0; and test "$argv[1]" = "--unset"
        command aws-cred export --unset --format fish | source
        set -e AWS_CRED_PROFILE AWS_CRED_EXPIRATION
        return 0
    end
    set -l profile default
    set -q AWS_PROFILE; and set profile $AWS_PROFILE
    set -l args
    if test (count $argv) -gt 0; and not string match -q -- '-*' $argv[1]
        set profile $argv[1]
        set args --profile $argv[1] $argv[2..-1]
    else
        set args $argv
    end
    set -l lines (command aws-cred export --format fish $args); or return 1
    printf '%s
' $lines | source
    set -gx AWS_CRED_PROFILE $profile
    if set -q AWS_CREDENTIAL_EXPIRATION
        set -gx AWS_CRED_EXPIRATION $AWS_CREDENTIAL_EXPIRATION
    else
        set -e AWS_CRED_EXPIRATION
    end
    return 0
end
"#;

const POWERSHELL_INIT: &str = r#"# aws-cred shell-init: `__NAME__ PROFILE` sets that profile's credentials in this shell.
function __NAME__ {
    if ($args.Count -gt 0 -and $args[0] -eq '--unset') {
        (& aws-cred export --unset --format powershell) -join "`n" | Invoke-Expression
        Remove-Item Env:AWS_CRED_PROFILE, Env:AWS_CRED_EXPIRATION -ErrorAction SilentlyContinue
        return
    }
    $profileName = if ($env:AWS_PROFILE) { $env:AWS_PROFILE } else { 'default' }
    $rest = @($args)
    if ($rest.Count -gt 0 -and -not ([string]$rest[0]).StartsWith('-')) {
        $profileName = [string]$rest[0]
        $rest = @('--profile') + $rest
    }
    $lines = & aws-cred export --format powershell @rest
    if ($LASTEXITCODE -ne 0) { return }
    ($lines -join "`n") | Invoke-Expression
    $env:AWS_CRED_PROFILE = $profileName
    if ($env:AWS_CREDENTIAL_EXPIRATION) { $env:AWS_CRED_EXPIRATION = $env:AWS_CREDENTIAL_EXPIRATION }
    else { Remove-Item Env:AWS_CRED_EXPIRATION -ErrorAction SilentlyContinue }
}
"#;

/// One page for the whole tool: clap_mangen renders the top level; each subcommand gets a
/// section with its description, options and examples.
/// `man`: aws-cred(1) with a section per subcommand, one subcommand's aws-cred-NAME(1), or
/// (`--dir`) every page written into a directory.
pub(crate) fn man(args: &crate::cli::ManArgs) -> anyhow::Result<()> {
    use crate::output::man;
    let cli = Cli::command();
    let main = || man::main_page(&cli);
    if let Some(dir) = &args.dir {
        crate::os::fs::ensure_dir(dir)?;
        let mut pages = vec![main()?];
        for name in man::subcommands(&cli) {
            pages.extend(man::subcommand_page(&cli, &name)?);
        }
        for page in &pages {
            let target = dir.join(&page.file_name);
            let existing = crate::os::fs::existing_metadata(&target)?;
            crate::os::fs::replace_file(
                &target,
                dir,
                page.text.as_bytes(),
                existing.as_ref(),
                crate::os::fs::FileMode::Public,
            )?;
        }
        eprintln!(
            "wrote {} man pages into {} (man aws-cred, man aws-cred-export, ...)",
            pages.len(),
            escape(&dir.display().to_string())
        );
        return Ok(());
    }
    let page = match &args.subcommand {
        None => main()?,
        Some(name) => man::subcommand_page(&cli, name)?.ok_or_else(|| {
            Problem::usage(format!("there is no subcommand {}", escape(name)))
                .hint(format!("one of: {}", man::subcommands(&cli).join(", ")))
        })?,
    };
    emit(&page.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` parses as PowerShell (tree-sitter's grammar; no pwsh runs here), or where not.
    fn powershell_parses(text: &str) -> Result<(), String> {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_powershell::LANGUAGE.into())
            .expect("the PowerShell grammar loads");
        let tree = parser.parse(text, None).expect("a parse tree");
        let root = tree.root_node();
        if !root.has_error() {
            return Ok(());
        }
        let mut cursor = root.walk();
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            if node.is_error() || node.is_missing() {
                let at = node.start_position();
                let line = text.lines().nth(at.row).unwrap_or("");
                return Err(format!("line {}: {line}", at.row + 1));
            }
            stack.extend(node.children(&mut cursor).filter(|n| n.has_error()));
        }
        Err("an error somewhere".into())
    }

    #[test]
    fn the_grammar_check_finds_broken_powershell() {
        assert!(powershell_parses("$Env:A = 'x'\nthrow 'no'\n").is_ok());
        assert!(powershell_parses("if ( { \n").is_err());
        assert!(powershell_parses("$Env:A = 'it's'\n").is_err());
    }

    /// Issue 23, item 7: the PowerShell completer offers profile names after `--profile` and
    /// for `export`'s profile word, and the whole script still parses.
    #[test]
    fn the_powershell_completer_with_profile_names_parses() {
        let script = completion_script(clap_complete::Shell::PowerShell).unwrap();
        powershell_parses(&script).unwrap();
        let added = script.find("$wantsProfile").expect("the profile block");
        let filter = script.find("$completions.Where({").expect("the filter");
        assert!(added < filter);
        assert!(script.contains("aws-cred completions $list"));
        assert!(script.contains("'--list-profiles'") && script.contains("'--list-sso-sessions'"));
        assert!(script.contains("'aws-cred;export'"));
        // Shaped otherwise, the script is refused rather than silently left without names.
        assert!(powershell_with_profiles("Register-ArgumentCompleter {}").is_err());
    }

    /// Every other piece of PowerShell aws-cred prints parses too: the shell-init function,
    /// export lines with awkward values, and the failed-eval statement.
    #[test]
    fn the_powershell_aws_cred_prints_parses() {
        powershell_parses(&POWERSHELL_INIT.replace("__NAME__", "awsc")).unwrap();
        let value = crate::output::quote::powershell("it's $(calc) `n \"x\" ; exit");
        powershell_parses(&format!("$Env:AWS_SESSION_TOKEN = {value}\n")).unwrap();
        powershell_parses(
            crate::output::Format::Powershell
                .failure_statement()
                .unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn every_subcommand_has_a_section_with_examples() {
        let cli = Cli::command();
        for sub in cli.get_subcommands() {
            let section = crate::output::man::subcommand_section(sub);
            assert!(section.starts_with(".SH \"AWS\\-CRED "), "{section}");
        }
        let export = cli.find_subcommand("export").unwrap();
        let section = crate::output::man::subcommand_section(export);
        assert!(section.contains("\\fB\\-\\-format\\fR"), "{section}");
        assert!(section.contains("credential_process"), "{section}");
    }
}
