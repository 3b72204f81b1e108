//! The permission catalogue: named permissions in groups, each an action and
//! a resource filter, loaded from TOML and offered as checkboxes.

use super::ValidationError;
use super::scope::{Action, ResourceFilter, Scope};

/// The catalogue shipped with Keyward (`src/domain/permissions.toml`).
pub const DEFAULT_CATALOGUE: &str = include_str!("permissions.toml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub name: String,
    pub scope: Scope,
}

impl Permission {
    /// The form value of its checkbox: `ACTION:FILTER`.
    pub fn value(&self) -> String {
        self.scope.to_pair()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionGroup {
    pub name: String,
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalogue {
    pub groups: Vec<PermissionGroup>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    #[serde(default)]
    group: Vec<GroupFile>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    name: String,
    permissions: Vec<PermissionFile>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionFile {
    name: String,
    action: String,
    resource: String,
}

impl Catalogue {
    /// Parses a catalogue, saying which entry is wrong.
    pub fn parse(toml_text: &str) -> Result<Self, ValidationError> {
        let file: CatalogueFile = toml::from_str(toml_text)
            .map_err(|e| ValidationError::new(format!("the permission catalogue is not valid TOML: {e}")))?;
        let mut groups = Vec::new();
        for group in file.group {
            let mut permissions = Vec::new();
            for p in group.permissions {
                let context = |e: ValidationError| {
                    ValidationError::new(format!("permission \"{}\" in group \"{}\": {e}", p.name, group.name))
                };
                let scope = Scope {
                    action: Action::parse(&p.action).map_err(context)?,
                    filter: ResourceFilter::parse(&p.resource).map_err(context)?,
                };
                permissions.push(Permission {
                    name: p.name.clone(),
                    scope,
                });
            }
            groups.push(PermissionGroup {
                name: group.name,
                permissions,
            });
        }
        Ok(Self { groups })
    }

    pub fn default_catalogue() -> Self {
        Self::parse(DEFAULT_CATALOGUE).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_parses() {
        let catalogue = Catalogue::parse(DEFAULT_CATALOGUE).expect("valid");
        assert!(catalogue.groups.len() >= 10);
        let assets = catalogue
            .groups
            .iter()
            .find(|g| g.name == "Assets")
            .expect("assets group");
        assert_eq!(assets.permissions[0].name, "Search Assets");
        assert_eq!(assets.permissions[0].value(), "read:assets");
    }

    #[test]
    fn a_bad_entry_is_named() {
        let error = Catalogue::parse(
            "[[group]]\nname = \"G\"\npermissions = [{ name = \"P\", action = \"delete\", resource = \"x\" }]",
        )
        .expect_err("invalid");
        assert!(error.0.contains("permission \"P\" in group \"G\""), "{error}");
    }
}
