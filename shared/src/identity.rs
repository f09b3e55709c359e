//! Where a grant lives: an organization (Stytch B2B org, Descope tenant) or a user (Stytch
//! consumer user, Descope user). Depends on nothing else in the crate.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// Stytch B2B organization (Descope: tenant).
    Organization,
    /// Stytch consumer user (Descope: user).
    User,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub kind: TargetKind,
    pub id: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

