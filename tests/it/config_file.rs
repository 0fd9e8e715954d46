//! The reference config file at the top of the repository is exactly what the code generates.

#[test]
fn config_toml_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let on_disk = std::fs::read_to_string(path).unwrap();
    let generated = hearth::config::schema::render_reference();
    assert!(
        on_disk == generated,
        "config.toml is out of date: run `cargo run -- print-default-config > config.toml`"
    );
}

#[test]
fn the_reference_file_is_itself_a_valid_config() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = hearth::config::Overrides {
        config_file: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml").into()),
        data_dir: Some(dir.path().join("data")),
        ignore_environment: true,
        ..Default::default()
    };
    hearth::config::Config::load(&overrides).unwrap();
}

#[test]
fn check_config_lists_every_problem_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"localhost\"\nbogus = 1\n[jobs]\nworkers = 0\n",
    )
    .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"));
    // Only the variable under test: the runner's own HEARTH_* variables would be reported too.
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("HEARTH_")) {
        command.env_remove(name);
    }
    let out = command
        .args(["check-config", "--config"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("HEARTH_TLS__MODE", "bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "4 problems",
        "server.listen",
        "server.bogus",
        "jobs.workers",
        "HEARTH_TLS__MODE",
    ] {
        assert!(err.contains(needle), "missing {needle} in:\n{err}");
    }
}
