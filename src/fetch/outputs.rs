//! Which output each URL gets, as curl pairs them: every `-o FILE` and `-O` on the command line
//! is taken in the order written and given to the URLs in their order, wherever the URLs stand
//! (`-O URL1 -o - URL2` names URL1 after itself and writes URL2 to stdout). URLs left over go to
//! stdout, or are named after themselves with `--remote-name-all`. No file is touched here.

use std::path::PathBuf;

/// The output chosen for one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// `-o FILE` (`-` = stdout).
    Path(PathBuf),
    /// `-O`: named after the URL (or its Content-Disposition with `-J`).
    RemoteName,
    /// Nothing asked for: the body goes to stdout.
    Stdout,
}

/// `-o` values and `-O` occurrences with their clap argument indices, merged in command-line
/// order. `outputs` are `(index, path)`, `remote_names` the indices of each `-O`.
pub(super) fn in_command_line_order(
    outputs: Vec<(usize, PathBuf)>,
    remote_names: Vec<usize>,
) -> Vec<OutputSpec> {
    let mut all: Vec<(usize, OutputSpec)> = outputs
        .into_iter()
        .map(|(i, p)| (i, OutputSpec::Path(p)))
        .chain(
            remote_names
                .into_iter()
                .map(|i| (i, OutputSpec::RemoteName)),
        )
        .collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, spec)| spec).collect()
}

/// The output of URL number `index`: its paired spec, else `-O` for all (`--remote-name-all`,
/// or `-J` without any `-O`, which has always named every URL), else stdout.
pub(super) fn output_for(ordered: &[OutputSpec], index: usize, name_all: bool) -> OutputSpec {
    match ordered.get(index) {
        Some(spec) => spec.clone(),
        None if name_all => OutputSpec::RemoteName,
        None => OutputSpec::Stdout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_pair_with_urls_in_command_line_order() {
        let ordered = in_command_line_order(
            vec![(5, PathBuf::from("-")), (12, PathBuf::from("b"))],
            vec![2, 9],
        );
        assert_eq!(
            ordered,
            [
                OutputSpec::RemoteName,
                OutputSpec::Path("-".into()),
                OutputSpec::RemoteName,
                OutputSpec::Path("b".into()),
            ]
        );
        assert_eq!(output_for(&ordered, 1, false), OutputSpec::Path("-".into()));
        assert_eq!(output_for(&ordered, 4, false), OutputSpec::Stdout);
        assert_eq!(output_for(&ordered, 4, true), OutputSpec::RemoteName);
        assert_eq!(output_for(&[], 0, false), OutputSpec::Stdout);
    }
}
