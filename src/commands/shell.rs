//! `completions` and `man`: generated from the one clap definition.

use super::emit;
use crate::cli::Cli;
use clap::CommandFactory;

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "aws-cred", &mut buffer);
    emit(&String::from_utf8_lossy(&buffer))
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
