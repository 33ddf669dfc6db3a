//! Configuration: Leptos.toml is complete and strict, the README documents
//! every key and variable, and production refuses development conveniences.

use std::collections::BTreeSet;

use admit::config::{Config, Environment, KEYS, PROVIDERS, SECRETS, Settings, env_var_for};

const LEPTOS_TOML: &str = include_str!("../../Leptos.toml");
const README: &str = include_str!("../../README.md");

#[test]
fn leptos_toml_loads_with_every_key_and_refuses_unknown_ones() {
    let settings = Settings::parse(LEPTOS_TOML, |_| None).expect("Leptos.toml is valid");
    assert_eq!(settings.env, Environment::Development);
    assert_eq!(settings.site_addr.to_string(), "127.0.0.1:3000");

    let table: toml::Table = toml::from_str(LEPTOS_TOML).unwrap();
    let in_file: BTreeSet<&str> = table.keys().map(String::as_str).collect();
    let known: BTreeSet<&str> = KEYS.iter().copied().collect();
    assert_eq!(
        in_file, known,
        "Leptos.toml and config::KEYS must list the same keys"
    );

    let typo = format!("{LEPTOS_TOML}\nhold_minuts = 3\n");
    let err = Settings::parse(&typo, |_| None).unwrap_err();
    assert!(
        format!("{err:#}").contains("hold_minuts"),
        "the error names the unknown key: {err:#}"
    );
}

#[test]
fn every_key_can_be_overridden_by_its_admit_variable() {
    let settings = Settings::parse(LEPTOS_TOML, |var| match var {
        "ADMIT_SITE_ADDR" => Some("0.0.0.0:8080".into()),
        "ADMIT_HOLD_MINUTES" => Some("7".into()),
        "ADMIT_WORKER_ENABLED" => Some("false".into()),
        "ADMIT_ENV" => Some("production".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(settings.site_addr.to_string(), "0.0.0.0:8080");
    assert_eq!(settings.hold_minutes, 7);
    assert!(!settings.worker_enabled);
    assert_eq!(settings.env, Environment::Production);

    let bad = Settings::parse(LEPTOS_TOML, |var| {
        (var == "ADMIT_HOLD_MINUTES").then(|| "soon".into())
    });
    assert!(format!("{:#}", bad.unwrap_err()).contains("whole number"));
}

#[test]
fn the_readme_documents_every_key_and_every_admit_variable_the_code_reads() {
    let mut missing = Vec::new();
    for key in KEYS {
        if !README.contains(&format!("`{key}`")) {
            missing.push(format!("key `{key}`"));
        }
        let var = env_var_for(key);
        if !README.contains(&var) {
            missing.push(var);
        }
    }
    // Every ADMIT_* literal anywhere in the sources.
    for var in admit_vars_in(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))) {
        if !README.contains(&var) {
            missing.push(var);
        }
    }
    for (var, _) in SECRETS {
        if !README.contains(var) {
            missing.push((*var).to_owned());
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "README.md does not mention: {missing:?}"
    );
}

fn admit_vars_in(dir: &std::path::Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(admit_vars_in(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices("ADMIT_") {
                let name: String = text[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                // `ADMIT_` alone is the prefix used to build names from keys.
                if name.len() > "ADMIT_".len() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

#[test]
fn production_refuses_to_start_without_secrets_and_names_each_missing_one() {
    let settings = Settings::parse(LEPTOS_TOML, |v| {
        (v == "ADMIT_ENV").then(|| "production".into())
    })
    .unwrap();
    let err = Config::from_settings(settings, |_| None)
        .unwrap_err()
        .to_string();
    for (var, _) in SECRETS {
        assert!(err.contains(var), "the error names {var}: {err}");
    }
    for var in PROVIDERS {
        assert!(
            err.contains(var),
            "production requires {var} (no file mail, no simulated gateway): {err}"
        );
    }
}

#[test]
fn production_with_every_secret_still_refuses_a_test_hooks_build() {
    let settings = Settings::parse(LEPTOS_TOML, |v| {
        (v == "ADMIT_ENV").then(|| "production".into())
    })
    .unwrap();
    let result = Config::from_settings(settings, |v| Some(format!("value-of-{v}")));
    // This test binary is built with test-hooks, which production refuses.
    let err = result
        .expect_err("test-hooks builds never run in production")
        .to_string();
    assert!(err.contains("test-hooks"));
}

#[test]
fn development_generates_missing_secrets_once_with_private_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::parse(LEPTOS_TOML, |_| None).unwrap();
    settings.data_dir = dir.path().to_path_buf();

    let first = Config::from_settings(settings.clone(), |_| None).unwrap();
    let second = Config::from_settings(settings.clone(), |_| None).unwrap();
    assert_eq!(
        first.secrets.session_secret.expose(),
        second.secrets.session_secret.expose(),
        "generated once, then reused"
    );
    assert_ne!(
        first.secrets.session_secret.expose(),
        first.secrets.master_key.expose()
    );
    assert!(first.secrets.master_key.expose().len() >= 64);
    for (_, file) in SECRETS {
        let meta = std::fs::metadata(dir.path().join("secrets").join(file)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "{file} is private"
            );
        }
    }
    // The environment wins over a generated file.
    let from_env = Config::from_settings(settings, |v| {
        (v == "ADMIT_MASTER_KEY").then(|| "from-env".into())
    })
    .unwrap();
    assert_eq!(from_env.secrets.master_key.expose(), "from-env");
    assert!(
        !format!("{from_env:?}").contains("from-env"),
        "Debug never prints secrets"
    );
}
