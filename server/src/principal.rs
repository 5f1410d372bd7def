//! [`Principal`]: the caller acting for a tenant, as the domain sees it. How a request proves
//! to be one is the HTTP layer's business ([`crate::http::auth`]).

use sealdrop_zendesk::session::ConfirmedRole;
use sealdrop_zendesk::Subdomain;

use crate::db::{CreatedBy, Tenant};
use crate::widget::WebOrigin;

/// A caller acting for a tenant.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Authenticated with a tenant API token (`Authorization: Bearer sdt_…`).
    TenantToken(Tenant),
    /// A Zendesk agent's session (`Authorization: Bearer sda_…`) whose role the tenant allows,
    /// confirmed through the tenant's grant when the request arrived ([`crate::agents`]).
    Agent {
        /// The agent's tenant.
        tenant: Tenant,
        /// Its Zendesk subdomain.
        subdomain: Subdomain,
        /// The Zendesk user id.
        user_id: u64,
        /// The confirmed role.
        role: ConfirmedRole,
    },
    /// The Help Center widget: the tenant's public widget key from one of its Help Center
    /// origins ([`crate::widget`]). The key is public, so it can do nothing but create a Help
    /// Center package.
    Widget {
        /// The widget key's tenant.
        tenant: Tenant,
        /// The Help Center origin the request came from.
        origin: WebOrigin,
    },
}

impl Principal {
    /// The tenant this caller acts for.
    pub fn tenant(&self) -> &Tenant {
        match self {
            Self::TenantToken(tenant)
            | Self::Agent { tenant, .. }
            | Self::Widget { tenant, .. } => tenant,
        }
    }

    /// How packages it creates are recorded (`packages.created_by`, the audit log's `by`).
    pub fn created_by(&self) -> CreatedBy {
        match self {
            Self::TenantToken(_) => CreatedBy::TenantToken,
            Self::Agent { .. } => CreatedBy::Agent,
            Self::Widget { .. } => CreatedBy::Widget,
        }
    }

    /// Who it is in the audit log of a tenant's settings: `tenant_token` or `agent:{id}`.
    pub fn audit_name(&self) -> String {
        match self {
            Self::Agent { user_id, .. } => format!("agent:{user_id}"),
            other => other.created_by().as_str().to_owned(),
        }
    }
}
