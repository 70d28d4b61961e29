//! The client's calls for routes, policies and access audits (`RouteService`, `PolicyService`, sacon's
//! `AccessService`), plus the two edits the console and CLI make to a policy's allowed users: grant a user
//! (read, add once, write) and take a user out of every policy that names it.

use super::client::Client;
use super::error::ConnectError;
use super::wire::{self, paths};

impl Client {
    /// Every policy of `namespace` (an id; empty: every policy the caller may read), by name.
    pub async fn list_policies(&self, namespace: &str) -> Result<Vec<wire::Policy>, ConnectError> {
        let resp: wire::ListPoliciesResponse = self
            .call(
                paths::LIST_POLICIES,
                &wire::ListPoliciesRequest {
                    namespace: namespace.to_string(),
                    ..Default::default()
                },
            )
            .await?;
        Ok(resp.policies)
    }

    pub async fn get_policy(&self, id: &str) -> Result<wire::Policy, ConnectError> {
        let resp: wire::GetPolicyResponse = self
            .call(paths::GET_POLICY, &wire::GetPolicyRequest { id: id.into() })
            .await?;
        resp.policy
            .ok_or_else(|| ConnectError::internal("the server answered without the policy"))
    }

    /// Creates the policy (no id) or replaces the one with its id.
    pub async fn set_policy(&self, policy: wire::Policy) -> Result<wire::Policy, ConnectError> {
        let resp: wire::SetPolicyResponse = self
            .call(
                paths::SET_POLICY,
                &wire::SetPolicyRequest {
                    policy: Some(policy),
                },
            )
            .await?;
        resp.policy
            .ok_or_else(|| ConnectError::internal("the server answered without the policy"))
    }

    /// Deletes a policy; with `from_routes`, also takes it off the routes that name it (else they refuse).
    pub async fn delete_policy(&self, id: &str, from_routes: bool) -> Result<(), ConnectError> {
        let _: wire::DeletePolicyResponse = self
            .call(
                paths::DELETE_POLICY,
                &wire::DeletePolicyRequest {
                    id: id.into(),
                    remove_from_any_assigned_routes: from_routes,
                },
            )
            .await?;
        Ok(())
    }

    /// Every route of `namespace` (an id; empty: every route the caller may read), by name.
    pub async fn list_routes(&self, namespace: &str) -> Result<Vec<wire::Route>, ConnectError> {
        let resp: wire::ListRoutesResponse = self
            .call(
                paths::LIST_ROUTES,
                &wire::ListRoutesRequest {
                    namespace: namespace.to_string(),
                    ..Default::default()
                },
            )
            .await?;
        Ok(resp.routes)
    }

    pub async fn get_route(&self, id: &str) -> Result<wire::Route, ConnectError> {
        let resp: wire::GetRouteResponse = self
            .call(paths::GET_ROUTE, &wire::GetRouteRequest { id: id.into() })
            .await?;
        resp.route
            .ok_or_else(|| ConnectError::internal("the server answered without the route"))
    }

    /// Creates the route (no id) or replaces the one with its id.
    pub async fn set_route(&self, route: wire::Route) -> Result<wire::Route, ConnectError> {
        let resp: wire::SetRouteResponse = self
            .call(
                paths::SET_ROUTE,
                &wire::SetRouteRequest { route: Some(route) },
            )
            .await?;
        resp.route
            .ok_or_else(|| ConnectError::internal("the server answered without the route"))
    }

    pub async fn delete_route(&self, id: &str) -> Result<(), ConnectError> {
        let _: wire::DeleteRouteResponse = self
            .call(
                paths::DELETE_ROUTE,
                &wire::DeleteRouteRequest { id: id.into() },
            )
            .await?;
        Ok(())
    }

    /// What `/verify` would answer for `jwt` at `url`, and why, without counting it as a use.
    pub async fn check_access(
        &self,
        jwt: &str,
        url: &str,
    ) -> Result<wire::CheckAccessResponse, ConnectError> {
        self.call(
            paths::CHECK_ACCESS,
            &wire::CheckAccessRequest {
                jwt: jwt.to_string(),
                url: url.to_string(),
            },
        )
        .await
    }

    /// What each account can reach: every route of its namespace and below, allowed or not, and by which policy.
    pub async fn account_reach(
        &self,
        ids: &[String],
    ) -> Result<Vec<wire::AccountReach>, ConnectError> {
        let resp: wire::ListAccountReachResponse = self
            .call(
                paths::LIST_ACCOUNT_REACH,
                &wire::ListAccountReachRequest {
                    service_account_ids: ids.to_vec(),
                },
            )
            .await?;
        Ok(resp.accounts)
    }

    /// The allowed-users entries of the policies in `namespace` (and below; empty: all) that answer to nothing.
    pub async fn list_dangling(
        &self,
        namespace: &str,
    ) -> Result<Vec<wire::Dangling>, ConnectError> {
        let resp: wire::ListDanglingResponse = self
            .call(
                paths::LIST_DANGLING,
                &wire::ListDanglingRequest {
                    namespace: namespace.to_string(),
                },
            )
            .await?;
        Ok(resp.dangling)
    }

    /// Adds `user_id` to the policy's allowed users (once); the policy as stored.
    pub async fn grant_user(
        &self,
        policy_id: &str,
        user_id: &str,
    ) -> Result<wire::Policy, ConnectError> {
        let mut policy = self.get_policy(policy_id).await?;
        if !policy.allowed_users.iter().any(|u| u == user_id) {
            policy.allowed_users.push(user_id.to_string());
            return self.set_policy(policy).await;
        }
        Ok(policy)
    }

    /// Takes `user_id` out of every policy the caller may read that names it; the names of those changed.
    pub async fn remove_user_from_policies(
        &self,
        user_id: &str,
    ) -> Result<Vec<String>, ConnectError> {
        let mut changed = Vec::new();
        for mut policy in self.list_policies("").await? {
            if policy.allowed_users.iter().any(|u| u == user_id) {
                policy.allowed_users.retain(|u| u != user_id);
                let name = policy.name.clone();
                self.set_policy(policy).await?;
                changed.push(name);
            }
        }
        Ok(changed)
    }
}
